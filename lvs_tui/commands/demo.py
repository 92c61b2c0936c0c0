"""`lvs-tui demo`: the dashboard on the simulated fleet (6 IDCs, 42 hosts, scripted faults)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lvs_tui.incidents import DutyLog
import math

MAX_SCALE = 100  # 12 is about 500 hosts; 100 about 4,200


def register(sub: argparse._SubParsersAction) -> None:
    from lvs_tui.commands.common import add_log_url_option
    from lvs_tui.sim import SCENARIOS

    p = sub.add_parser("demo", help="the dashboard on a simulated fleet",
                       description="Run the dashboard on the simulated fleet. Scenario "
                                   "single-host-down kills lvs-cernet-01 at t=60 s; shift "
                                   "(default) plays faults in turn from t=20 s.")
    p.add_argument("--scenario", default="shift", choices=SCENARIOS)
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--theme", default=None, help="dark, light, high-contrast, colorblind "
                                                 "or a .tcss theme file")
    p.add_argument("--scale", type=int, default=1, help="fleet size multiplier (12 ≈ 500 hosts)")
    p.add_argument("--clock", metavar="'YYYY-MM-DD HH:MM'", default=None,
                   help="start the simulated wall clock here (duty time zone), e.g. "
                        "'2026-11-29 03:00': office hours, weekends and holidays as then")
    add_log_url_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lvs_tui.app import make_app
    from lvs_tui.commands.common import complain
    from lvs_tui.duty import DutyDesk
    from lvs_tui.sim import Sim, demo_config
    from lvs_tui.state import StateStore
    from lvs_tui.widgets.theming import ThemeError, load_theme

    if not (math.isfinite(args.speed) and 0 < args.speed <= 3600):
        complain(f"--speed {args.speed}: must be > 0" + (" and at most 3600"
                                                         if args.speed > 0 else ""))
        return 2
    if not 1 <= args.scale <= MAX_SCALE:
        complain(f"--scale {args.scale}: must be from 1 up to {MAX_SCALE}")
        return 2
    theme = getattr(args, "theme", None)
    if theme:
        try:
            load_theme(theme)
        except ThemeError as exc:
            complain(exc)
            return 2
    from lvs_tui.commands.check import demo_clock

    try:
        start = demo_clock(args)
    except ValueError as exc:
        complain(exc)
        return 2
    cfg = demo_config(args.scale) if args.scale > 1 else None
    sim = Sim(args.scenario, seed=args.seed, speed=args.speed, config=cfg, start=start)
    args.demo = True
    log = _demo_log(args)
    if log is None and getattr(args, "log", None):
        return 2  # a --log that cannot be used was said in one line
    desk = DutyDesk(sim.config, incidents=log, live=False)
    app = make_app(sim.config, [sim], StateStore(), clock=sim.now, desk=desk, theme=theme)
    app.run()
    return 0


def _demo_log(args: argparse.Namespace) -> DutyLog | None:
    """The demo keeps its incidents apart from the real log: a stable file, so that
    `lvs-tui handover --demo` reads them after the console was killed and started again,
    or with --log URL the shared log's own demo schema (never the real duty's)."""
    from lvs_tui.commands.common import open_duty_log

    return open_duty_log(args, None)
