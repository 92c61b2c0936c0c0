"""Board -> what the fleet table draws, computed in the evaluation thread (not the UI's)."""

from __future__ import annotations

from rich.text import Text

from lvs_tui.board import Board, HostRow
from lvs_tui.config import Config, VantageKind
from lvs_tui.fleet import Side
from lvs_tui.signals import AddressSignal, Reach
from lvs_tui.state import Metric, StateStore
from lvs_tui.widgets.cells import (
    Palette,
    buckets,
    mode_text,
    number_text,
    reach_text,
    sample_step,
    situation_text,
    spark_text,
)
from lvs_tui.widgets.fleet_table import FleetLine

SPARK_WIDTH = 8
SPARKS = ((Metric.BOND0_IN, "spark-in"), (Metric.BOND0_OUT, "spark-out"),
          (Metric.BOND1_IN, "spark-in"), (Metric.BOND1_OUT, "spark-out"))


def local_vantage(cfg: Config) -> str:
    return next((v.id for v in cfg.vantages if v.kind is VantageKind.LOCAL),
                cfg.vantages[0].id if cfg.vantages else "local")


def side_signal(row: HostRow, side: Side, local: str) -> AddressSignal | None:
    """The side as seen from here; from elsewhere only when here knows nothing."""
    sigs = row.signals.side(side)
    mine = next((s for s in sigs if s.vantage == local), None)
    if mine is not None and mine.reach is not Reach.UNKNOWN:
        return mine
    return next((s for s in sigs if s.reach is not Reach.UNKNOWN), mine)


def vips_up(row: HostRow, local: str) -> tuple[int, int]:
    vips = {s.address for s in row.signals.side(Side.VIP)}
    up = {s.address for s in row.signals.side(Side.VIP)
          if s.vantage == local and s.reach.answers}
    return len(up), len(vips)


def fleet_lines(cfg: Config, board: Board, store: StateStore, palette: Palette
                ) -> tuple[FleetLine, ...]:
    local = local_vantage(cfg)
    return tuple(fleet_line(cfg, r, store, palette, board.now, local) for r in board.rows)


def fleet_line(cfg: Config, row: HostRow, store: StateStore, palette: Palette, now: float,
               local: str) -> FleetLine:
    h = row.host
    stale = cfg.duty.stale_after
    inner = side_signal(row, Side.INTERNAL, local)
    outer = side_signal(row, Side.EXTERNAL, local)
    up, total = vips_up(row, local)
    vip_style = palette.get("status-ok", "") if up == total else palette.get("status-major", "")
    ext_local = next((s for s in row.signals.side(Side.EXTERNAL) if s.vantage == local), None)
    rtt_stale = ext_local is None or ext_local.reach is Reach.UNKNOWN
    rtt = number_text(ext_local.rtt_ms if ext_local else None, "ms", palette,
                      ext_local.age if ext_local else None, rtt_stale and ext_local is not None)
    loss = number_text(ext_local.loss_pct if ext_local else None, "%", palette,
                       ext_local.age if ext_local else None,
                       rtt_stale and ext_local is not None, digits=0)
    cpu_sample = row.signals.metric(Metric.CPU)
    cpu = number_text(cpu_sample.value if cpu_sample else None, "%", palette,
                      row.signals.monitoring_age, bool(row.signals.monitoring_stopped), digits=0)
    sparks = []
    for metric, var in SPARKS:
        samples = store.metrics(h.name, metric)
        step = sample_step(samples)
        sparks.append(spark_text(buckets(samples, now, SPARK_WIDTH, step), palette, var))
    sit = situation_text(row.situation, palette)
    if row.situation.on_alert_page:
        sit.append(" 5666", style=palette.get("status-down", "") + " reverse")
    name = Text(h.name, style="bold" if row.situation.is_problem else "")
    cells = (name, sit, mode_text(h.mode, palette), reach_text(inner, palette, stale),
             reach_text(outer, palette, stale), Text(f"{up}/{total}", style=vip_style or ""),
             rtt, loss, cpu, *sparks, Text(",".join(s.value for s in h.services)))
    idc = cfg.fleet.idc(h.idc)
    vips = " ".join(f"{v.address} {v.service}" for v in cfg.fleet.vips_of(h.name))
    haystack = " ".join((h.name, h.internal, h.external, vips, h.idc, idc.name, idc.carrier,
                         " ".join(s.value for s in h.services), h.mode.value)).lower()
    return FleetLine(h.name, idc.name, row.situation.is_problem, cells, haystack)
