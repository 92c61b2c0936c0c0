"""The side pane: for the selected host, why, what it puts at risk, what to do, whom to call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.css.styles import RulesMap

from lvs_tui.board import HostRow
from lvs_tui.config import Config
from lvs_tui.duty_state import HostMark
from lvs_tui.fleet import Contact
from lvs_tui.guidance import Guidance
from lvs_tui.situation import Situation
from lvs_tui.widgets.cells import Palette, age_text, color, mode_text, situation_text

MAX_VIPS = 6
SIDE_MIN = 34  # cells: the narrowest side pane (80 columns)
SIDE_ROOM = 40  # cells the pane keeps beside a table it cuts (160 columns: CPU and bonds whole)
SIDE_SHARE = 0.4  # and never more than this share of the screen


def side_width(screen: int, table: int) -> int:
    """The side pane's width on a screen `screen` cells wide beside a fleet table needing
    `table` cells for every column: what the whole table leaves it, at least SIDE_ROOM
    (the table's first columns then show, the rest scroll) and SIDE_MIN, at most
    SIDE_SHARE of the screen."""
    return max(SIDE_MIN, min(int(screen * SIDE_SHARE), max(SIDE_ROOM, screen - table)))


def impact_lines(s: Situation, palette: Palette) -> Text:
    text = Text()
    imp = s.impact
    for vips, glyph, var, what in ((imp.outage, "✖", "status-down", "VIPs down"),
                                   (imp.single_point, "▲", "status-major",
                                    "VIPs at single-point risk (单机运行)")):
        if not vips:
            continue
        text.append(f" {glyph} {len(vips)} {what}\n", style=color(palette, var))
        for v in vips[:MAX_VIPS]:
            text.append(f"   {v.label} {v.healthy}/{v.total}\n")
        if len(vips) > MAX_VIPS:
            text.append(f"   … {len(vips) - MAX_VIPS} more\n", style="dim")
    if imp.peers_total:
        text.append(f" peers healthy {imp.peers_healthy}/{imp.peers_total}")
        if imp.service_unaffected is not None:
            text.append(" · service " + ("unaffected" if imp.service_unaffected else "AFFECTED"))
        text.append("\n")
    if imp.load_note:
        text.append(f" {imp.load_note}\n", style="dim")
    if not text.plain:
        text.append(" none\n", style="dim")
    return text


def step_head(g: Guidance | None, cfg: Config, now: float, palette: Palette) -> Text:
    """The next step's title and whom to call now: the first things the eye needs."""
    text = Text()
    if g is None or g.plan is None:
        text.append(" " + (g.note if g else "runbook not loaded") + "\n",
                    style=color(palette, "status-unknown"))
        return text
    step = g.plan.step
    if step is None:
        text.append(" nothing to do\n", style="dim")
    else:
        text.append(f"▶ {step.title}\n", style="bold")
    contacts = g.plan.contacts_now
    # the operator's own checks call nobody yet: who comes after them, dimmed
    later = () if contacts else g.plan.contacts_then
    when = "office hours" if _office(cfg, now) else "after hours"
    for c in contacts[:3]:
        _contact(text, c, when, palette)
    for c in later[:3]:
        text.append("then ", style="dim")
        _contact(text, c, when, palette, "")
    return text


def _contact(text: Text, c: Contact, when: str, palette: Palette, bold: str = "bold ") -> None:
    text.append(f"☎ {c.name}", style=bold + color(palette, "spark-in"))
    text.append(f"  {c.channel or '-'}", style=color(palette, "spark-in"))
    text.append(f"  ({when})\n", style="dim")


def step_detail(g: Guidance | None) -> Text:
    """The step's own text and the checklist: done, now, remaining."""
    text = Text()
    if g is None or g.plan is None:
        return text
    step = g.plan.step
    if step is not None and step.text:
        text.append(f"{step.text.strip()}\n")
    remaining, done = g.plan.remaining, g.plan.done
    if remaining or done:
        text.append("checklist:\n", style="bold underline")
        for s in done:
            text.append(f" ☑ {s.title}\n", style="dim")
        if step is not None:
            text.append(f" ▶ {step.title}\n", style="bold")
        for s in remaining:
            text.append(f" ☐ {s.title}\n")
    return text


def guidance_lines(g: Guidance | None, cfg: Config, now: float, palette: Palette) -> Text:
    text = step_head(g, cfg, now, palette)
    text.append_text(step_detail(g))
    return text


def _office(cfg: Config, now: float) -> bool:
    return cfg.duty.office.is_office(datetime.fromtimestamp(now, cfg.duty.tz))


def duty_lines(mark: HostMark | None, cfg: Config, now: float, palette: Palette) -> Text:
    """Whose window and until when, who is on it since when, flapping."""
    text = Text()
    if mark is None:
        return text
    tz = cfg.duty.tz
    w = mark.maintenance
    if w is not None:
        until = mark.maintenance_until
        end = datetime.fromtimestamp(until, tz).strftime("%m-%d %H:%M") if until else "?"
        routine = f" · {w.weekly.text}" if w.weekly else ""
        text.append(f"维护中 至 {end}{routine} · {w.who}：{w.reason} ({w.id})\n",
                    style="bold " + color(palette, "status-stale"))
        text.append(" no bell, no notices; the incident opens when the window ends\n",
                    style="dim")
    if mark.ack is not None:
        a = mark.ack
        at = datetime.fromtimestamp(a.t, tz).strftime("%H:%M")
        text.append(f"✓ acknowledged by {a.who} at {at} ({age_text(max(0.0, now - a.t))} ago)",
                    style=color(palette, "status-ok"))
        text.append(f" · {a.note}\n" if a.note else "\n")
    elif mark.stale_ack is not None:
        text.append(f"✓? {mark.stale_ack.who} acknowledged a milder state: worse now, "
                    "acknowledge again (a)\n", style=color(palette, "status-warning"))
    if mark.flapping:
        text.append("⇅ flapping: one incident, one bell, until a quiet window\n",
                    style=color(palette, "status-warning"))
    return text


def side_text(cfg: Config, row: HostRow | None, g: Guidance | None, now: float,
              palette: Palette, keys: Sequence[tuple[str, str]],
              mark: HostMark | None = None) -> Text:
    if row is None:
        return Text("no host selected", style="dim")
    h, s = row.host, row.situation
    idc = cfg.fleet.idc(h.idc)
    text = Text()
    text.append(f"{h.name} ", style="bold")
    text.append_text(mode_text(h.mode, palette))
    text.append(f" {idc.name}\n")
    services = ",".join(x.value for x in h.services)
    text.append(f"{services} · 内网 {h.internal} · 外网 {h.external}\n", style="dim")
    text.append_text(situation_text(s, palette))
    if s.since is not None:
        text.append(f" for {age_text(max(0.0, now - s.since))}")
    if s.on_alert_page:
        text.append(" · on the 5666 page", style=color(palette, "status-down"))
    text.append("\n")
    text.append_text(duty_lines(mark, cfg, now, palette))
    text.append_text(step_head(g, cfg, now, palette))
    if g is not None and g.current_text:
        text.append(f"c copies the {g.current_text} text\n", style="dim")
    if s.is_problem:
        text.append("impact:\n", style="bold underline")
        text.append_text(impact_lines(s, palette))
    if s.evidence:
        text.append("evidence:\n", style="bold underline")
        for e in s.evidence:
            text.append(f" • {e}\n")
    text.append_text(step_detail(g))
    text.append("keys: ", style="bold")
    text.append("  ".join(f"{k} {what}" for k, what in keys), style="dim")
    return text


class SidePane(VerticalScroll):
    # 40 % until the first resize, then `fit`
    DEFAULT_CSS = """
    SidePane { width: 40%; min-width: 28; border-left: vkey $panel; padding: 0 1; }
    SidePane > Static { width: 100%; }
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._shown: tuple[Text, int, int] | None = None  # text, width, pane height

    def compose(self) -> ComposeResult:
        yield Static(id="side-text")

    def fit(self, screen: int, table: int) -> None:
        """Take the width `side_width` gives beside the fleet table (on a resize: the
        layout pass that follows places it)."""
        width = side_width(screen, table)
        if self.styles.width is None or self.styles.width.cells != width:
            self.styles.width = width

    def show(self, text: Text) -> None:
        static = self.query_one("#side-text", Static)
        width, view = static.size.width, self.scrollable_content_region.height
        if not width:
            static.update(text, layout=False)
            static.refresh(layout=True)
            return
        if self._shown == (text, width, view):
            return  # same host, same words: nothing to draw (a filter, `f`, a new board)
        self._shown = (text, width, view)
        # A layout pass reflows and repaints the whole screen (tens of ms, and two more
        # frames for the scrollbars): the text is padded to the pane's height, so moving
        # between hosts whose texts fit changes no height and needs none. Measured once,
        # as Static measures it, before the one update.
        # (a styles object, as Textual's docs say and Widget passes; typed as RulesMap)
        rules = cast("RulesMap", static.styles)
        height = Content.from_rich_text(text).get_height(rules, width)
        if height < view:
            text = text.copy()
            text.append("\n" * (view - height))
            height = view
        static.update(text, layout=False)
        if height != static.size.height:
            static.refresh(layout=True)
