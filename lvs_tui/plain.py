"""Strings from outside (a config, an argument, a source, a page) made safe to print.

A control character reaching a terminal is an instruction to it: ESC ] 0 ; retitles the
window, ESC [ 2 J clears it, a C1 CSI (U+009B) does the same on some terminals, a bidi
override (U+202E) shows text in an order it is not. `printable` writes each such character
as a visible `\\uXXXX` (which is also a valid JSON escape, so a JSON answer stays
parseable and loses nothing); `one_line` does the same to newlines and tabs too, so an
error line stays one line whatever the file name holds.
"""

from __future__ import annotations

import unicodedata

# Format characters that reorder or hide text; the other Cf ones (soft hyphen, zero-width
# joiner in emoji) are harmless and kept.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")
_KEPT_IN_TEXT = frozenset("\n\t")


def is_control(ch: str) -> bool:
    """A character a terminal would act on instead of show (newline and tab included)."""
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI


def has_control(s: str, allow: frozenset[str] = frozenset()) -> bool:
    return any(is_control(ch) and ch not in allow for ch in s)


def _escape(ch: str) -> str:
    return f"\\u{ord(ch):04x}"


def printable(s: str) -> str:
    """`s` with every control character but newline and tab written as `\\uXXXX`."""
    if not has_control(s, _KEPT_IN_TEXT):
        return s
    return "".join(_escape(ch) if is_control(ch) and ch not in _KEPT_IN_TEXT else ch
                   for ch in s)


def one_line(s: object) -> str:
    """`str(s)` on one line: every control character, newline and tab included, escaped."""
    text = str(s)
    if not has_control(text):
        return text
    return "".join(_escape(ch) if is_control(ch) else ch for ch in text)
