"""`lvs-tui check`: one evaluation of the fleet, as a table or JSON, for scripts and cron.

Exit 0 when every host is ok, or its trouble is acknowledged or in a maintenance window;
1 when any other is not (`--strict`: any at all); 2 for a config error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rich.cells import cell_len

from lvs_tui.board import Board, HostRow, evaluate
from lvs_tui.commands.common import add_config_option, load_config
from lvs_tui.config import Config, ConfigError
from lvs_tui.duty import DutyDesk
from lvs_tui.duty_state import HostMark
from lvs_tui.fleet import Contact
from lvs_tui.runbook import Plan, load_runbook, plan
from lvs_tui.sim import SCENARIOS, Sim
from lvs_tui.situation import SituationId
from lvs_tui.state import StateStore

# A fixed simulated start, so `check --demo` answers the same on every run:
# 2026-11-25 20:00 Asia/Shanghai (after office hours).
DEMO_EPOCH = 1795608000.0


def add_source_options(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("--demo", action="store_true", help="evaluate the simulated fleet")
    p.add_argument("--scenario", default="shift", choices=SCENARIOS, metavar="NAME",
                   help="simulated scenario (with --demo): " + ", ".join(SCENARIOS))
    p.add_argument("--at", type=float, default=300.0, metavar="SECONDS",
                   help="simulated seconds since the start (with --demo; default 300)")
    p.add_argument("--seed", type=int, default=1, help="simulation seed (with --demo)")
    add_clock_option(p)
    p.add_argument("--listen", type=float, default=None, metavar="SECONDS",
                   help="with --config: how long to collect before judging "
                        "(default: enough for the hysteresis)")
    p.add_argument("--db", metavar="PATH", type=Path, default=None,
                   help="incident log with the acknowledgements, maintenance windows and "
                        "silences (default: the real one; the demo's with --demo)")


def add_clock_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clock", metavar="'YYYY-MM-DD HH:MM'", default=None,
                   help="with --demo: the simulated wall clock (duty time zone), e.g. "
                        "'2026-11-29 03:00' for a Sunday night drill")


def demo_clock(args: argparse.Namespace) -> float | None:
    """--clock as epoch seconds in the demo's duty time zone; None when not given.
    Raises ValueError with one line naming the value."""
    text = getattr(args, "clock", None)
    if text is None:
        return None
    from lvs_tui.duty_state import DutyInputError, parse_until
    from lvs_tui.sim import demo_config

    try:
        return parse_until(text, demo_config().duty.tz)
    except DutyInputError:
        raise ValueError(f"--clock {text!r}: expected like '2026-11-29 03:00'") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="evaluate the fleet once",
                       description="Evaluate the fleet once and print every host's situation. "
                                   "Exit 0 all ok, 1 any problem, 2 config error.")
    add_source_options(p)
    p.add_argument("--json", action="store_true", help="a JSON list of objects")
    p.add_argument("--all", action="store_true", help="list ok hosts too (table)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 for any problem, acknowledged or in maintenance too")
    p.set_defaults(func=run)


def collect(args: argparse.Namespace) -> tuple[Config, Board] | None:
    """Build the board from the simulator or from the real sources of --config."""
    if args.demo:
        if args.at < 0:
            print(f"--at {args.at:g}: simulated seconds must be >= 0", file=sys.stderr)
            return None
        try:
            clock = demo_clock(args)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return None
        # --clock is the wall clock at the judged moment, --at seconds after the start
        start = DEMO_EPOCH if clock is None else clock - int(args.at)
        sim = Sim(args.scenario, seed=args.seed, start=start)
        store = StateStore()
        sim.fill(store, int(args.at))
        return sim.config, _judge(args, sim.config, store, start + int(args.at))
    cfg = load_config(args)
    if cfg is None:
        return None
    store = StateStore()
    started = time.time()
    asyncio.run(_listen(cfg, store, args.listen or default_listen(cfg)))
    board = _judge(args, cfg, store, time.time())
    if cfg.zabbix.enabled and undecided_rows(board, started) and args.listen is None:
        # An outage older than this check, with monitoring data still recent: one more
        # Zabbix refresh may show the host alive (a value newer than the outage).
        asyncio.run(_listen(cfg, store, cfg.zabbix.interval + cfg.zabbix.timeout))
        board = _judge(args, cfg, store, time.time())
    return cfg, mark_undecided(board, started)


def default_listen(cfg: Config) -> float:
    """Long enough to judge loss over a full window, and for the hysteresis."""
    d = cfg.duty
    return max(d.window, d.hysteresis + 2) * d.interval + d.ping_timeout


UNDECIDED = "原因未定：检查开始时已中断，监控数据仍是新的，一次检查无法断定宕机还是路径不通"


def undecided_rows(board: Board, started: float) -> tuple[str, ...]:
    """Hosts judged host_down whose outage began before the check listened, while their
    monitoring data is still recent: a one-shot check cannot tell a dead host from a
    broken path there (the dashboard can: it sees the monitoring go stale)."""
    return tuple(r.host.name for r in board.rows
                 if r.situation.id is SituationId.HOST_DOWN
                 and r.situation.since is not None and r.situation.since <= started
                 and r.signals.monitoring_stopped is False)


def mark_undecided(board: Board, started: float) -> Board:
    names = set(undecided_rows(board, started))
    if not names:
        return board
    rows = tuple(replace(r, situation=replace(r.situation,
                                              evidence=(UNDECIDED, *r.situation.evidence)))
                 if r.host.name in names else r for r in board.rows)
    return replace(board, rows=rows)


def _judge(args: argparse.Namespace, cfg: Config, store: StateStore, now: float) -> Board:
    """The board with the duty's state of the incident log (silences, acknowledgements,
    maintenance, flapping) when there is one; only read, never written."""
    desk = duty_desk(args, cfg)
    if desk is None:
        return evaluate(cfg, store, now)
    try:
        silenced, page = desk.silenced(now)
        return desk.mark(evaluate(cfg, store, now, None, silenced, page))
    finally:
        desk.close()
        if desk.incidents is not None:
            desk.incidents.close()


def duty_desk(args: argparse.Namespace, cfg: Config) -> DutyDesk | None:
    from lvs_tui.incidents import IncidentLog, IncidentLogError, default_path, demo_path

    path = getattr(args, "db", None) or (demo_path() if args.demo else default_path())
    if not Path(path).exists():
        return None  # no log yet: nothing acknowledged, no window, no silence
    try:
        return DutyDesk(cfg, incidents=IncidentLog(path))
    except IncidentLogError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return None


async def _listen(cfg: Config, store: StateStore, seconds: float) -> None:
    from lvs_tui.probes.wiring import real_sources

    tasks = [asyncio.create_task(s.run(store)) for s in real_sources(cfg)]
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t


def plans(cfg: Config, board: Board, confirmations: dict | None = None) -> dict[str, Plan]:
    rb = load_runbook(cfg.runbook)
    conf = confirmations or {}
    return {r.host.name: plan(rb, r.situation, r.host, cfg, tuple(conf.get(r.host.name, ())),
                              board.now) for r in board.rows}


def as_json(cfg: Config, row: HostRow, p: Plan | None, mark: HostMark | None = None) -> dict:
    s = row.situation
    contact = p.contacts_now[0] if p and p.contacts_now else None
    then = p.contacts_then[0] if p and p.contacts_then else None
    return {
        "host": row.host.name, "idc": row.host.idc, "idc_name": cfg.fleet.idc(row.host.idc).name,
        "mode": row.host.mode.value, "situation": s.id.value, "severity": s.severity.word,
        "scope": s.scope.value if s.scope else None,
        "since": s.since, "down_addresses": list(s.down_addresses),
        "step": p.step.id if p and p.step else None,
        "step_title": p.step.title if p and p.step else None,
        "contact": _contact(contact),
        "then": {"step": p.then.id, "contact": _contact(then)} if p and p.then else None,
        "evidence": list(s.evidence),
        "impact": {"outage": [v.address for v in s.impact.outage],
                   "single_point": [v.address for v in s.impact.single_point],
                   "service_unaffected": s.impact.service_unaffected},
        "on_alert_page": s.on_alert_page,
        "undecided": UNDECIDED in s.evidence,
        **duty_json(mark),
    }


def duty_json(mark: HostMark | None) -> dict[str, object]:
    ack = mark.ack if mark else None
    w = mark.maintenance if mark else None
    return {
        "acknowledged": {"who": ack.who, "t": ack.t, "note": ack.note} if ack else None,
        "maintenance": {"id": w.id, "until": mark.maintenance_until, "reason": w.reason,
                        "who": w.who} if mark and w else None,
        "flapping": bool(mark and mark.flapping),
    }


def run(args: argparse.Namespace) -> int:
    try:
        got = collect(args)
        if got is None:
            return 2
        cfg, board = got
        ps = plans(cfg, board)
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    rows = board.rows
    if args.json:
        print(json.dumps([as_json(cfg, r, ps.get(r.host.name), board.mark(r.host.name))
                          for r in rows], ensure_ascii=False, indent=1))
    else:
        print("\n".join(table(cfg, rows if args.all else _problems(rows), ps, board)))
    counted = [r for r in rows if r.situation.id is not SituationId.OK
               and (args.strict or not ((m := board.mark(r.host.name)) and m.quiet))]
    return 1 if counted else 0


def _contact(c: Contact | None) -> dict | None:
    if c is None:
        return None
    return {"role": c.role.value, "name": c.name, "phone": c.phone, "channel": c.channel}


def _problems(rows: Sequence[HostRow]) -> Sequence[HostRow]:
    return [r for r in rows if r.situation.id is not SituationId.OK]


def table(cfg: Config, rows: Sequence[HostRow], ps: dict[str, Plan],
          board: Board | None = None) -> list[str]:
    if not rows:
        return ["all hosts ok"]
    out = [_line("HOST", "IDC", "MODE", "SITUATION", "SEV", "STEP", "CONTACT")]
    for r in rows:
        p = ps.get(r.host.name)
        c = p.contacts_now[0] if p and p.contacts_now else None
        then = p.contacts_then[0] if p and p.contacts_then else None
        sid = r.situation.id.value + ("?" if UNDECIDED in r.situation.evidence else "")
        out.append(_line(r.host.name, cfg.fleet.idc(r.host.idc).name, r.host.mode.badge,
                         sid, r.situation.severity.word,
                         p.step.id if p and p.step else "-",
                         f"{c.name} {c.phone}" if c else
                         f"then {then.name} {then.phone}" if then else "-"))
        mark = board.mark(r.host.name) if board else None
        if mark and mark.maintenance:
            out.append(f"    ⚑ 维护中 ({mark.maintenance.id}): {mark.maintenance.reason}")
        if mark and mark.ack:
            out.append(f"    ✓ acknowledged by {mark.ack.who}")
        if mark and mark.flapping:
            out.append("    ⇅ flapping")
        out.extend(f"    · {e}" for e in r.situation.evidence)
    return out


WIDTHS = (18, 8, 6, 16, 8, 22)  # the last column runs free


def _line(*cols: str) -> str:
    """Columns padded by terminal cells, not characters: 电信 is four cells wide."""
    padded = [c + " " * max(0, w - cell_len(c)) for c, w in zip(cols, WIDTHS, strict=False)]
    return " ".join([*padded, *cols[len(WIDTHS):]])
