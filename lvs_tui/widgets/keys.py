"""Every key of the console, in one table: the one place to add or change a key.

`KEYS` gives each key its id (the name in the config's `[keys]`), default key, action,
where it acts, its word in the footer and its line in the help screen. From it come the
`BINDINGS` of the app and of every screen (`bindings(Where.…)`), so the footer, the help
screen, the side pane's key line and the command palette all show the keys Textual really
uses, remapped or not (`key_display` reads the app's keymap).

A key acting on two screens (`c` on the fleet and in the host view) has a row per screen
with the same id and default key; rows with the same help text are one line of help.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from textual.app import App
from textual.binding import Binding, BindingType


class Where(Enum):
    """Whose `action_<name>` a key runs."""

    APP = "app"  # everywhere (LvsApp)
    FLEET = "fleet"  # the fleet table, when it has the focus (FleetTable)
    MAIN = "main"  # the main screen (MainScreen)
    HOST = "host"  # the host view (HostScreen)
    DUTY = "duty"  # both, about their host (DutyKeys: acknowledge, maintenance)


@dataclass(frozen=True, slots=True)
class Key:
    id: str  # the binding id: the name in the config's [keys]
    key: str  # default key, Textual's name ("slash", "question_mark"); "a,b" for two
    action: str  # Textual action string run on `where`: "pause" calls action_pause
    where: Where
    label: str  # the footer's word
    help: str  # the help screen's line
    footer: bool = True  # shown in the footer
    palette: str = ""  # the command palette's title; "" keeps it out of the palette

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.label, show=self.footer, id=self.id,
                       tooltip=self.help)


CONFIRM = "host view: confirm the numbered runbook step"

# Per screen in footer order (a screen's shown keys, then the app's).
KEYS: tuple[Key, ...] = (
    Key("down", "j", "cursor_down", Where.FLEET, "down", "move down (also ↓)", False),
    Key("up", "k", "cursor_up", Where.FLEET, "up", "move up (also ↑)", False),
    Key("open_host", "enter", "select_cursor", Where.FLEET, "open", "open the host view",
        False),
    Key("filter", "slash", "filter", Where.MAIN, "filter",
        "filter by host, IP, VIP, IDC or service", palette="filter hosts"),
    Key("goto_ip", "g", "goto_ip", Where.MAIN, "go to IP",
        "go to an IP (paste from the 5666 call)", palette="go to IP"),
    Key("pause", "p", "pause", Where.MAIN, "pause", "pause the view (data keeps flowing)",
        palette="pause / resume the view"),
    Key("problems_only", "f", "problems_only", Where.MAIN, "problems", "problems only",
        palette="problems only (toggle)"),
    Key("copy_notice", "c", "copy_notice", Where.MAIN, "copy",
        "copy the current text (notice / request)", palette="copy the current text"),
    Key("show_text", "v", "show_text", Where.MAIN, "show text",
        "show the current text for manual selection", False),
    Key("back", "escape", "back", Where.MAIN, "clear", "back / clear the filter", False),
    Key("acknowledge", "a", "acknowledge", Where.DUTY, "ack",
        "acknowledge the host's problem: I am on it (with a note)"),
    Key("unacknowledge", "A", "unacknowledge", Where.DUTY, "un-ack",
        "take the acknowledgement back", False),
    Key("maintenance", "m", "maintenance", Where.DUTY, "maintenance",
        "a maintenance window for the host (until when, why)", False),
    Key("back", "escape", "back", Where.HOST, "back", "back / clear the filter"),
    Key("copy_notice", "c", "copy_notice", Where.HOST, "copy text",
        "copy the current text (notice / request)"),
    Key("next_text", "n", "next_text", Where.HOST, "next text", "host view: next text kind"),
    Key("traceroute", "t", "traceroute", Where.HOST, "traceroute",
        "host view: traceroute to the unreachable address (attached to the network handoff)"),
    Key("diagnostics", "d", "diagnostics", Where.HOST, "diagnostics",
        "host view: remote diagnostics over ssh (links, routes, gateway, ipvsadm, "
        "keepalived)"),
    Key("send_text", "w", "send_text", Where.HOST, "send",
        "host view: send the shown text (robot / admins' email) after `y`; off unless "
        "[sending] enabled", False),
    Key("show_text", "v", "show_text", Where.HOST, "show text",
        "show the current text for manual selection", False),
    Key("chart_range", "r", "chart_range", Where.HOST, "1h/6h/24h",
        "host view: charts 1 h / 6 h / 24 h"),
    Key("ssh", "s", "ssh", Where.HOST, "ssh",
        "host view: ssh to the host through the jump host (console suspended)"),
    *(Key(f"confirm_{n}", str(n), f"confirm({n})", Where.HOST, f"confirm {n}", CONFIRM, False)
      for n in range(1, 10)),
    Key("quit", "q", "quit", Where.APP, "quit", "quit", palette="quit"),
    Key("help", "question_mark", "help", Where.APP, "help", "this help", palette="help: keys"),
    Key("palette", "colon", "command_palette", Where.APP, "palette",
        "command palette (also ctrl+p)", False),
    Key("next_theme", "f9", "next_theme", Where.APP, "theme", "next theme", False),
)

# The side pane's key line: (id, its word there), in this order.
SIDE_KEYS: tuple[tuple[str, str], ...] = (
    ("open_host", "host view"), ("copy_notice", "copy text"), ("show_text", "show text"),
    ("acknowledge", "ack"), ("maintenance", "maintenance"), ("goto_ip", "go to IP"),
    ("filter", "filter"), ("problems_only", "problems"), ("pause", "pause"), ("help", "help"))

DEFAULT_KEY: dict[str, str] = {k.id: k.key for k in KEYS}
KEY_IDS = frozenset(DEFAULT_KEY)


def _check() -> None:
    """The table's own rules, at import: a mistake here is the developer's, not the user's."""
    for k in KEYS:
        if DEFAULT_KEY[k.id] != k.key:
            raise ValueError(f"keys.KEYS: {k.id} has two default keys")
    for i, _ in SIDE_KEYS:
        if i not in KEY_IDS:
            raise ValueError(f"keys.SIDE_KEYS: unknown id {i}")


_check()


def bindings(where: Where) -> list[BindingType]:
    """The `BINDINGS` of the app, a screen or the fleet table."""
    return [k.binding() for k in KEYS if k.where is where]


def remapped(app: App[Any]) -> Mapping[str, str]:
    """The config's remapped keys, by id: the keymap the app gave Textual (`LvsApp.keymap`)."""
    keymap = getattr(app, "keymap", None)
    return keymap if isinstance(keymap, Mapping) else {}


def key_display(app: App[Any], key_id: str) -> str:
    """How the key bound to `key_id` is shown: the keymap's key if remapped, as the footer
    shows it ("/" for slash, "^x" for ctrl+x); "a/b" for two keys."""
    keys = remapped(app).get(key_id) or DEFAULT_KEY[key_id]
    return "/".join(app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))


def help_rows(app: App[Any]) -> list[tuple[str, str, str]]:
    """The help screen's rows: (keys, ids, what they do); rows with the same help are one."""
    grouped: dict[str, list[str]] = {}
    for k in KEYS:
        ids = grouped.setdefault(k.help, [])
        if k.id not in ids:
            ids.append(k.id)
    rows = []
    for what, ids in grouped.items():
        keys = [key_display(app, i) for i in ids]
        rows.append((_span(keys), ids[0] if len(ids) == 1 else f"{ids[0]}…{ids[-1]}", what))
    return rows


def _span(keys: list[str]) -> str:
    """"1-9" for the digits in a row, else the keys one by one."""
    digits = "".join(keys)
    if len(keys) > 2 and digits.isdigit() and digits in "0123456789":
        return f"{keys[0]}-{keys[-1]}"
    return " ".join(keys)


_side_lines: dict[tuple[type, frozenset[tuple[str, str]]], tuple[tuple[str, str], ...]] = {}


def side_keys(app: App[Any]) -> tuple[tuple[str, str], ...]:
    """The side pane's key line: (key as shown, word). Drawn at every cursor move and board:
    kept per keymap (one in practice), as it costs ~0.2 ms to make."""
    memo = (type(app), frozenset(remapped(app).items()))
    line = _side_lines.get(memo)
    if line is None:
        line = _side_lines[memo] = tuple((key_display(app, i), word) for i, word in SIDE_KEYS)
    return line


def palette_keys(where: Where) -> tuple[Key, ...]:
    """The keys of `where` that the command palette lists, in table order."""
    return tuple(k for k in KEYS if k.where is where and k.palette)


__all__ = ["KEYS", "KEY_IDS", "SIDE_KEYS", "Key", "Where", "bindings", "help_rows",
           "key_display", "palette_keys", "remapped", "side_keys"]
