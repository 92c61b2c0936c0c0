"""`lvs-tui incidents [--open] [--since WHEN] [--json]`: the incident log, newest last."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from lvs_tui.commands.common import add_config_option, load_config
from lvs_tui.config import Config, Duty, default_path
from lvs_tui.handover import SITUATION_ZH, duration_zh
from lvs_tui.incidents import IncidentLog, IncidentLogError, demo_path

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhd])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incidents", help="list incidents from the incident log",
                       description="List incidents (open ones, and closed ones since WHEN).")
    p.add_argument("--open", action="store_true", help="only the open incidents")
    add_since_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable, with timelines")
    p.add_argument("--duty", action="store_true",
                   help="the duty's own events instead: acknowledgements, maintenance "
                        "windows, silences and their ends (who, when, what, why)")
    add_log_options(p)
    p.set_defaults(func=run)


def add_since_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="WHEN", default=None,
                   help="12h, 30m, 2d ago, or a local date/time like '2026-11-25 08:00'")


def add_log_options(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("--db", metavar="PATH", type=Path, default=None,
                   help="incident log (default: $XDG_STATE_HOME/lvs-tui/incidents.db)")
    p.add_argument("--demo", action="store_true",
                   help="the demo's incident log (lvs-tui demo), not the real one")


def parse_when(text: str, now: float, tz: tzinfo) -> float:
    """'12h' / '30m' / '2d' ago, or an ISO local date or date-time; ValueError if neither."""
    m = _AGO.match(text.strip())
    if m:
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since: {text!r} is not like 12h, 30m, 2d or "
                         "'2026-11-25 08:00'") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    return local.timestamp()


def optional_config(args: argparse.Namespace) -> tuple[bool, Config | None]:
    """(ok, config): no config at all is fine (the log needs none); a broken one is not.

    ok is False (after printing its errors) when a config exists but is invalid.
    """
    if args.config is None and not default_path().exists():
        return True, None
    cfg = load_config(args)
    return cfg is not None, cfg


def duty_settings(args: argparse.Namespace) -> Duty | None:
    """The config's duty section, the defaults without a config, None if it is invalid."""
    ok, cfg = optional_config(args)
    if not ok:
        return None
    return cfg.duty if cfg is not None else Duty()


def open_log(args: argparse.Namespace) -> IncidentLog | None:
    path = args.db or (demo_path() if getattr(args, "demo", False) else None)
    try:
        return IncidentLog(path)
    except IncidentLogError as exc:
        print(exc, file=sys.stderr)
        return None


def since_arg(args: argparse.Namespace, now: float, tz: tzinfo,
              default: timedelta | None = None) -> tuple[bool, float | None]:
    """(ok, since): prints the one-line error and returns ok=False on a bad --since."""
    if args.since is None:
        return True, (now - default.total_seconds()) if default else None
    try:
        return True, parse_when(args.since, now, tz)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return False, None


def run(args: argparse.Namespace) -> int:
    duty = duty_settings(args)
    if duty is None:
        return 2
    now = datetime.now().timestamp()
    ok, since = since_arg(args, now, duty.tz)
    if not ok:
        return 2
    log = open_log(args)
    if log is None:
        return 2
    with log:
        if args.duty:
            return _duty(log, since, duty, args.json)
        found = log.incidents(since=since, open_only=args.open)
        if args.json:
            print(json.dumps([_json(log, i.id) for i in found], ensure_ascii=False, indent=1))
            return 0
        if not found:
            print("no incidents" + (" open" if args.open else ""))
        for inc in found:
            state = "open" if inc.is_open else "closed"
            start = datetime.fromtimestamp(inc.started, duty.tz)
            print(f"#{inc.id} {inc.host} {state} {start:%Y-%m-%d %H:%M} "
                  f"{duration_zh(inc.duration(now))} "
                  f"{SITUATION_ZH.get(inc.situation, inc.situation)} ({inc.situation}) "
                  f"worst={inc.worst}")
    return 0


def _duty(log: IncidentLog, since: float | None, duty: Duty, as_json: bool) -> int:
    events = [e for e in log.duty_events() if since is None or e.t >= since]
    if as_json:
        print(json.dumps([{"id": e.id, "t": e.t, "kind": e.kind.value, "host": e.host,
                           "incident": e.incident, "name": e.name, "detail": e.detail,
                           "data": e.data} for e in events], ensure_ascii=False, indent=1))
        return 0
    if not events:
        print("no acknowledgements, maintenance windows or silences")
    for e in events:
        data = e.data or {}
        at = datetime.fromtimestamp(e.t, duty.tz)
        target = data.get("target") or e.host
        print(f"{at:%Y-%m-%d %H:%M} {e.kind.value} {e.name} {target} "
              f"by {data.get('who', '?')}" + (f": {e.detail}" if e.detail else ""))
    return 0


def _json(log: IncidentLog, incident_id: int) -> dict[str, object]:
    inc = log.incident(incident_id)
    assert inc is not None
    return {
        "id": inc.id, "host": inc.host, "opened": inc.opened, "since": inc.since,
        "closed": inc.closed, "situation": inc.situation, "severity": inc.severity,
        "worst": inc.worst, "worst_severity": inc.worst_severity,
        "timeline": [{"id": e.id, "t": e.t, "kind": e.kind.value, "name": e.name,
                      "detail": e.detail, "data": e.data} for e in log.timeline(inc.id)],
    }
