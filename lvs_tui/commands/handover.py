"""`lvs-tui handover [--since WHEN]`: the shift handover report, ready to paste."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

from lvs_tui.commands.incidents import (
    add_log_options,
    add_since_option,
    open_log,
    optional_config,
    since_arg,
)
from lvs_tui.config import Config, Duty
from lvs_tui.duty_state import DutyState, fold
from lvs_tui.handover import handover_report
from lvs_tui.incidents import IncidentLog

DEFAULT_SHIFT = timedelta(hours=24)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("handover", help="print the shift handover report",
                       description="Print the shift handover report (Chinese, ready to paste): "
                                   "open incidents with their current state and contacts, "
                                   "closed ones with duration and cause. Default: the last 24 h.")
    add_since_option(p)
    add_log_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ok, cfg = optional_config(args)
    if not ok:
        return 2
    duty = cfg.duty if cfg is not None else Duty()
    now = datetime.now().timestamp()
    ok, since = since_arg(args, now, duty.tz, DEFAULT_SHIFT)
    if not ok:
        return 2
    log = open_log(args)
    if log is None:
        return 2
    with log:
        entries = [(i, log.timeline(i.id)) for i in log.incidents(since=since)]
        state = fold_duty(log)
    print(handover_report(entries, now, duty.tz, since, _labels(cfg), state), end="")
    return 0


def fold_duty(log: IncidentLog) -> DutyState:
    """Acknowledgements, windows and silences as the log has them (no config needed)."""
    from lvs_tui.duty import duty_event

    return fold(duty_event(e) for e in log.duty_events())


def _labels(cfg: Config | None) -> dict[str, str]:
    """The runbook's words for its confirmations; the built-in ones if it cannot be read."""
    try:
        from lvs_tui.runbook import load_runbook

        return dict(load_runbook(cfg.runbook if cfg is not None else None).confirmations)
    except Exception:  # a broken runbook must not keep the report from being printed
        return {}
