"""`lvs-tui maintenance add|list|end` and `lvs-tui silence add|list|end`: the duty's planned
quiet, written to the incident log (a running console shows it within a second or two).

    lvs-tui maintenance add TARGET --for 2h|--until "2026-12-07 06:00" --reason TEXT
    lvs-tui maintenance add TARGET --weekly "Tue 02:00-04:00" --reason TEXT
    lvs-tui maintenance list [--all] [--json]
    lvs-tui maintenance end ID
    lvs-tui silence add VANTAGE|CARRIER|alert_page --for 2h|--until … --reason TEXT

TARGET: a host, any address it owns, a VIP, a peer group or an IDC. A bad input prints one
line naming the value, exits 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

from lvs_tui.commands.common import (
    complain,
    load_config,
    open_duty_log,
)
from lvs_tui.commands.incidents import add_log_options
from lvs_tui.config import Config
from lvs_tui.duty import DutyDesk
from lvs_tui.duty_state import (
    DutyInputError,
    Silence,
    Window,
    parse_duration,
    parse_until,
)


def register(sub: argparse._SubParsersAction) -> None:
    for what in ("maintenance", "silence"):
        window = what == "maintenance"
        p = sub.add_parser(what, help="maintenance windows: planned work stays quiet"
                           if window else "silence a vantage, a carrier or the 5666 page",
                           description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
        verbs = p.add_subparsers(dest="verb", metavar="add|list|end", required=True)
        add = verbs.add_parser("add", help=f"add a {what}")
        add.add_argument("target", metavar="TARGET" if window else "SOURCE")
        add.add_argument("--for", dest="duration", metavar="DURATION",
                         help="2h, 90m, 1d, 1h30m (at most 7 days)")
        add.add_argument("--until", metavar="WHEN", help="'2026-12-07 06:00' (duty time zone)")
        if window:
            add.add_argument("--weekly", default="", metavar="SPEC",
                             help="every week, e.g. 'Tue 02:00-04:00'")
        add.add_argument("--reason", default="", required=False, help="required: what work")
        listing = verbs.add_parser("list", help=f"{what}s in force (and to come)")
        listing.add_argument("--all", action="store_true", help="ended ones too")
        listing.add_argument("--json", action="store_true")
        end = verbs.add_parser("end", help=f"end a {what} now")
        end.add_argument("id", metavar="ID")
        for q in (add, listing, end):
            add_log_options(q)
        p.set_defaults(func=run, what=what)


def open_desk(args: argparse.Namespace) -> DutyDesk | None:
    """The duty service over the incident log the arguments name; None after one line."""
    cfg: Config | None
    if args.demo:
        from lvs_tui.sim import demo_config

        cfg = demo_config()
    else:
        cfg = load_config(args)
    if cfg is None:
        return None
    log = open_duty_log(args, None if args.demo else cfg)
    if log is None:
        return None
    desk = DutyDesk(cfg, incidents=log)
    if desk.log_trouble:
        complain(desk.log_trouble)
        return None
    return desk


def run(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    if desk is None:
        return 2
    try:
        return _run(args, desk, time.time())
    except DutyInputError as exc:
        complain(exc)
        return 2
    finally:
        desk.close()
        if desk.incidents is not None:
            desk.incidents.close()


def _run(args: argparse.Namespace, desk: DutyDesk, now: float) -> int:
    tz = desk.cfg.duty.tz
    window = args.what == "maintenance"
    if args.verb == "add":
        if args.duration and args.until:
            raise DutyInputError("--for and --until: give one end, not both")
        kw: dict[str, float] = {}
        if args.duration:
            kw["seconds"] = parse_duration(args.duration)
        if args.until:
            kw["until"] = parse_until(args.until, tz)
        if window:
            w = desk.add_window(args.target, now, weekly=args.weekly, reason=args.reason, **kw)
            print(_window_line(w, now, desk))
        else:
            s = desk.add_silence(args.target, now, reason=args.reason, **kw)
            print(_silence_line(s, desk))
        return 0
    if args.verb == "end":
        if window:
            print(f"ended: {_window_line(desk.end_window(args.id, now), now, desk)}")
        else:
            print(f"ended: {_silence_line(desk.end_silence(args.id, now), desk)}")
        return 0
    state = desk.duty_state
    items: list[Window] | list[Silence]
    if window:
        items = [w for w in state.windows if args.all or
                 (w.ended is None and (w.end is None or w.end > now))]
    else:
        items = [s for s in state.silences if args.all or s.active(now)]
    if args.json:
        print(json.dumps([_json(x) for x in items], ensure_ascii=False, indent=1))
        return 0
    if not items:
        print(f"no {args.what}" + ("" if window else "s") + " in force")
    for x in items:
        print(_window_line(x, now, desk) if isinstance(x, Window) else _silence_line(x, desk))
    return 0


def _when(t: float | None, desk: DutyDesk) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, desk.cfg.duty.tz).strftime("%Y-%m-%d %H:%M")


def _window_line(w: Window, now: float, desk: DutyDesk) -> str:
    state = "in force" if w.active(now, desk.cfg.duty.tz) else \
        "ended" if w.ended is not None or (w.end is not None and w.end <= now) else "planned"
    routine = f" {w.weekly.text}" if w.weekly else ""
    return (f"{w.id} {w.target} ({len(w.hosts)} host{'s' if len(w.hosts) != 1 else ''}) "
            f"{_when(w.start, desk)} → {_when(w.end, desk)}{routine} {state} · "
            f"{w.who}: {w.reason}")


def _silence_line(s: Silence, desk: DutyDesk) -> str:
    what = "5666 page" if s.alert_page else ",".join(sorted(s.vantages))
    return (f"{s.id} {s.target} ({what}) {_when(s.start, desk)} → {_when(s.end, desk)} · "
            f"{s.who}: {s.reason}")


def _json(x: Window | Silence) -> dict[str, object]:
    if isinstance(x, Window):
        return {"id": x.id, "target": x.target, "hosts": sorted(x.hosts), "start": x.start,
                "end": x.end, "weekly": x.weekly.text if x.weekly else None,
                "reason": x.reason, "who": x.who, "ended": x.ended}
    return {"id": x.id, "target": x.target, "vantages": sorted(x.vantages),
            "alert_page": x.alert_page, "start": x.start, "end": x.end, "reason": x.reason,
            "who": x.who, "ended": x.ended}
