"""Board -> what the fleet table draws, computed in the evaluation thread (not the UI's).

At 504 hosts this runs every board, so it reuses what did not change: a `LineCache` (owned
by the app, bounded) keeps each host's config-derived cells, each sparkline keyed on its
ring's newest sample and time bucket, and every small cell keyed on the values it shows.
Cells are segments (`Cell`), so the table turns them into screen lines without Rich Text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from lvs_tui.board import PAUSE_EVERY, Board, HostRow, no_pause
from lvs_tui.config import Config, VantageKind
from lvs_tui.duty_state import HostMark
from lvs_tui.fleet import Side
from lvs_tui.signals import AddressSignal, Reach
from lvs_tui.state import Metric, StateStore
from lvs_tui.widgets.cells import (
    Cell,
    Palette,
    age_text,
    buckets,
    duty_situation,
    mode_text,
    number_text,
    reach_text,
    sample_step,
    situation_text,
    spark_cell,
    text_cell,
)
from lvs_tui.widgets.fleet_table import COLUMNS, FleetLine

SPARK_WIDTH = 8
SPARKS = ((Metric.BOND0_IN, "spark-in"), (Metric.BOND1_IN, "spark-in"),  # COLUMNS' order
          (Metric.BOND0_OUT, "spark-out"), (Metric.BOND1_OUT, "spark-out"))
CELL_LIMIT = 8192  # small cells kept between boards (RTT values, ages, states…)


@dataclass(frozen=True, slots=True)
class HostCells:
    """What a host's row shows from the config alone."""

    name: Cell
    name_bold: Cell
    mode: Cell
    services: Cell
    idc: str
    search: str


@dataclass(frozen=True, slots=True)
class Spark:
    newest: float | None  # clock of the ring's newest sample when drawn
    step: float
    bucket: int  # whole steps the window's end was moved past the newest sample
    cell: Cell


class LineCache:
    """Cells reused between boards; everything is dropped when the palette changes.

    Per host and per (host, metric) entries (config cells, sparklines, the last line) are
    bounded by the fleet; small cells by
    CELL_LIMIT (cleared when full: they are rebuilt within one board).
    """

    def __init__(self) -> None:
        self.palette: dict[str, str] = {}
        self.hosts: dict[str, HostCells] = {}
        self.sparks: dict[tuple[str, Metric], Spark] = {}
        self.cells: dict[tuple[object, ...], Cell] = {}
        self.lines: dict[str, FleetLine] = {}

    def use(self, palette: Palette) -> None:
        if dict(palette) != self.palette:
            self.palette = dict(palette)
            self.hosts.clear()
            self.sparks.clear()
            self.cells.clear()
            self.lines.clear()

    def cell(self, key: tuple[object, ...], draw: Callable[[], Text]) -> Cell:
        got = self.cells.get(key)
        if got is None:
            if len(self.cells) >= CELL_LIMIT:
                self.cells.clear()
            got = self.cells[key] = text_cell(draw())
        return got


def local_vantage(cfg: Config) -> str:
    return next((v.id for v in cfg.vantages if v.kind is VantageKind.LOCAL),
                cfg.vantages[0].id if cfg.vantages else "local")


def by_side(row: HostRow) -> dict[Side, list[AddressSignal]]:
    """The row's address signals grouped by side, in one pass."""
    out: dict[Side, list[AddressSignal]] = {side: [] for side in Side}
    for s in row.signals.addresses:
        out[s.side].append(s)
    return out


def side_signal(sigs: Sequence[AddressSignal], local: str) -> AddressSignal | None:
    """A side as seen from here; from elsewhere only when here knows nothing."""
    mine = next((s for s in sigs if s.vantage == local), None)
    if mine is not None and mine.reach is not Reach.UNKNOWN:
        return mine
    return next((s for s in sigs if s.reach is not Reach.UNKNOWN), mine)


def vips_up(sigs: Sequence[AddressSignal], local: str) -> tuple[int, int]:
    """(VIPs answering here, VIPs) of a host's VIP signals."""
    up = {s.address for s in sigs if s.vantage == local and s.reach.answers}
    return len(up), len({s.address for s in sigs})


def fleet_lines(cfg: Config, board: Board, store: StateStore, palette: Palette,
                cache: LineCache | None = None, pause: Callable[[], None] = no_pause
                ) -> tuple[FleetLine, ...]:
    """Every row's line; `pause` is called every few hosts (the caller's yield point)."""
    cache = cache if cache is not None else LineCache()
    cache.use(palette)
    local = local_vantage(cfg)
    lines = []
    for n, r in enumerate(board.rows):
        if n % PAUSE_EVERY == 0:
            pause()
        lines.append(fleet_line(cfg, r, store, cache, board.now, local,
                                board.marks.get(r.host.name)))
    return tuple(lines)


def fleet_line(cfg: Config, row: HostRow, store: StateStore, cache: LineCache, now: float,
               local: str, mark: HostMark | None = None) -> FleetLine:
    h = row.host
    palette = cache.palette
    fixed = cache.hosts.get(h.name) or _host_cells(cfg, row, cache)
    stale = cfg.duty.stale_after
    sigs = row.signals
    sides = by_side(row)
    up, total = vips_up(sides[Side.VIP], local)
    ext_local = next((s for s in sides[Side.EXTERNAL] if s.vantage == local), None)
    rtt_stale = ext_local is not None and ext_local.reach is Reach.UNKNOWN
    age = ext_local.age if ext_local else None
    cpu = sigs.metric(Metric.CPU)
    cpu_stale = bool(sigs.monitoring_stopped)
    situation = row.situation
    sit = cache.cell(("sit", situation.id, situation.severity, situation.scope,
                      situation.on_alert_page, mark_key(mark)),
                     lambda: _situation(row, palette, mark))
    cells = (
        fixed.name_bold if situation.is_problem else fixed.name,
        sit,
        fixed.mode,
        _reach(cache, side_signal(sides[Side.INTERNAL], local), stale),
        _reach(cache, side_signal(sides[Side.EXTERNAL], local), stale),
        cache.cell(("vips", up, total), lambda: Text(f"{up}/{total}", style=(
            palette.get("status-ok", "") if up == total else palette.get("status-major", "")
        ) or "")),
        _number(cache, ext_local.rtt_ms if ext_local else None, "ms", age, rtt_stale, 1),
        _number(cache, ext_local.loss_pct if ext_local else None, "%", age, rtt_stale, 0),
        _number(cache, cpu.value if cpu else None, "%", sigs.monitoring_age, cpu_stale, 0),
        *(_spark(cache, store, h.name, metric, var, now) for metric, var in SPARKS),
        fixed.services,
    )
    old = cache.lines.get(h.name)
    if old is not None and old.cells == cells:
        return old  # the same object: the table sees at once that nothing changed
    line = cache.lines[h.name] = FleetLine(h.name, fixed.idc, situation.is_problem, cells,
                                           fixed.search)
    return line


def _host_cells(cfg: Config, row: HostRow, cache: LineCache) -> HostCells:
    h = row.host
    idc = cfg.fleet.idc(h.idc)
    vips = " ".join(f"{v.address} {v.service}" for v in cfg.fleet.vips_of(h.name))
    services = ",".join(s.value for s in h.services)
    search = " ".join((h.name, h.internal, h.external, vips, h.idc, idc.name, idc.carrier,
                       " ".join(s.value for s in h.services), h.mode.value)).lower()
    cells = HostCells((Segment(h.name),), (Segment(h.name, Style(bold=True)),),
                      text_cell(mode_text(h.mode, cache.palette)), (Segment(services),),
                      idc.name, search)
    cache.hosts[h.name] = cells
    return cells


SITUATION_WIDTH = next(w for key, _, w in COLUMNS if key == "sit")
ALERT_BADGE = " 5666"


def mark_key(mark: HostMark | None) -> tuple[object, ...]:
    if mark is None:
        return ()
    return (mark.maintenance is not None, mark.ack.who if mark.ack else None,
            mark.stale_ack is not None, mark.flapping)


def _situation(row: HostRow, palette: Palette, mark: HostMark | None = None) -> Text:
    sit = situation_text(row.situation, palette)
    if mark is not None:
        sit = duty_situation(sit, mark, palette)
    if row.situation.on_alert_page:  # the flag always shows: the word gives way to it
        sit.truncate(SITUATION_WIDTH - len(ALERT_BADGE))
        sit.rstrip()
        sit.append(ALERT_BADGE, style=palette.get("status-down", "") + " reverse")
    return sit


def _reach(cache: LineCache, sig: AddressSignal | None, stale_after: float) -> Cell:
    if sig is None:
        return cache.cell(("reach",), lambda: reach_text(None, cache.palette, stale_after))
    shown_age = (age_text(sig.age) if sig.reach is Reach.UNKNOWN and sig.age is not None
                 and sig.age > stale_after else None)
    return cache.cell(("reach", sig.reach, shown_age),
                      lambda: reach_text(sig, cache.palette, stale_after))


def _number(cache: LineCache, value: float | None, unit: str, age: float | None,
            stale: bool, digits: int) -> Cell:
    shown = None if value is None else round(value, digits)
    key = ("num", unit, digits, shown, stale and value is not None and age_text(age))
    return cache.cell(key, lambda: number_text(value, unit, cache.palette, age,
                                               stale and value is not None, digits))


def _spark(cache: LineCache, store: StateStore, host: str, metric: Metric, var: str,
           now: float) -> Cell:
    """The host's sparkline, redrawn only when its ring got a sample or time moved a step.

    The window ends half a step after the newest sample and moves in whole steps, so
    samples sit mid-bucket (jitter never shifts them) and an overdue sample shows as a gap.
    """
    newest = store.latest_metric(host, metric)
    clock = newest.clock if newest else None
    old = cache.sparks.get((host, metric))
    if old is not None and old.newest == clock and (
            clock is None or _bucket(clock, old.step, now) == old.bucket):
        return old.cell
    samples = store.metrics(host, metric)
    step = sample_step(samples)
    if clock is None:
        spark = Spark(None, step, 0, spark_cell([None] * SPARK_WIDTH, cache.palette, var))
    else:
        bucket = _bucket(clock, step, now)
        end = clock + step / 2 + bucket * step
        values = buckets(samples, end, SPARK_WIDTH, step)
        spark = Spark(clock, step, bucket, spark_cell(values, cache.palette, var))
    cache.sparks[(host, metric)] = spark
    return spark.cell


def _bucket(newest: float, step: float, now: float) -> int:
    return max(0, math.ceil((now - newest - step / 2) / step))


__all__ = ["LineCache", "by_side", "fleet_lines", "local_vantage", "side_signal", "vips_up"]
