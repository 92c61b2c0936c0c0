"""Themes as TCSS files of variables (`themes/*.tcss`), turned into Textual themes.

A theme file declares Textual's base colours (`$primary`, `$background`, …) and the
semantic ones the widgets use (`$status-down`, `$spark-in`, …). Widgets never hard-code a
colour: CSS uses the variables, Python reads `app.theme_variables`.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from textual.theme import Theme

THEME_DIR = Path(__file__).resolve().parent.parent / "themes"
THEMES = ("dark", "light", "high-contrast", "colorblind")
_DECL = re.compile(r"^\s*\$([a-z][a-z0-9-]*)\s*:\s*([^;]+);", re.MULTILINE)
_BASE = {f.name for f in fields(Theme)} - {"name", "dark", "variables", "luminosity_spread",
                                           "text_alpha", "ansi"}

# What a theme file must define: the widgets rely on every one of them.
SEMANTIC = ("status-down", "status-major", "status-warning", "status-ok", "status-unknown",
            "status-stale", "status-loss", "spark-in", "spark-out", "spark-gap", "mode-single",
            "mode-ha", "mode-ssl", "paused", "row-problem",
            *(f"chart-{i}" for i in range(1, 7)))

# Fallbacks (the dark theme's values) so a partial user theme still parses.
DEFAULTS = {"status-down": "#ff4040", "status-major": "#ff8a3d", "status-warning": "#e8c547",
            "status-ok": "#4caf6e", "status-unknown": "#8a94a3", "status-stale": "#5f6875",
            "status-loss": "#e8c547", "spark-in": "#5fa8e8", "spark-out": "#b48ee0",
            "spark-gap": "#4a525e", "mode-single": "#e0a030", "mode-ha": "#5fa8e8",
            "mode-ssl": "#b48ee0", "paused": "#e8c547", "row-problem": "#2a1618",
            "chart-1": "#4fc1d9", "chart-2": "#c678dd", "chart-3": "#98c379",
            "chart-4": "#61afef", "chart-5": "#e06c9f", "chart-6": "#9aa1ab"}


class ThemeError(Exception):
    """A theme name or file that cannot be used; the message is one line."""


def theme_name(name: str) -> str:
    return f"lvs-{name}"


def parse_theme(name: str, text: str, file: str = "<theme>") -> Theme:
    values = dict(_DECL.findall(text))
    if "primary" not in values:
        raise ThemeError(f"{file}: theme {name!r} has no $primary")
    base = {k: v.strip() for k, v in values.items() if k in _BASE}
    variables = {k: v.strip() for k, v in values.items() if k not in _BASE and k != "dark"}
    dark = values.get("dark", "true").strip().lower() != "false"
    return Theme(name=theme_name(name), dark=dark, variables={**DEFAULTS, **variables}, **base)


def load_theme(name_or_path: str) -> Theme:
    """A shipped theme by name, or a theme file by path."""
    path = Path(name_or_path)
    if path.suffix == ".tcss" or path.exists():
        name = path.stem
    else:
        name = name_or_path
        path = THEME_DIR / f"{name}.tcss"
        if not path.exists():
            raise ThemeError(f"unknown theme {name!r}: one of {', '.join(THEMES)} "
                             "or a path to a .tcss theme file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThemeError(f"{path}: cannot read theme: {exc.strerror}") from None
    return parse_theme(name, text, str(path))


def shipped_themes() -> tuple[Theme, ...]:
    return tuple(load_theme(n) for n in THEMES)
