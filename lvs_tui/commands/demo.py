"""`lvs-tui demo`: the dashboard on the simulated fleet (6 IDCs, 42 hosts, scripted faults)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lvs_tui.incidents import IncidentLog


def register(sub: argparse._SubParsersAction) -> None:
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lvs_tui.app import make_app
    from lvs_tui.duty import DutyDesk
    from lvs_tui.sim import Sim, demo_config
    from lvs_tui.state import StateStore
    from lvs_tui.widgets.theming import ThemeError, load_theme

    if args.speed <= 0:
        print(f"--speed {args.speed}: must be > 0", file=sys.stderr)
        return 2
    theme = getattr(args, "theme", None)
    if theme:
        try:
            load_theme(theme)
        except ThemeError as exc:
            print(exc, file=sys.stderr)
            return 2
    from lvs_tui.commands.check import demo_clock

    try:
        start = demo_clock(args)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    cfg = demo_config(args.scale) if args.scale > 1 else None
    sim = Sim(args.scenario, seed=args.seed, speed=args.speed, config=cfg, start=start)
    desk = DutyDesk(sim.config, incidents=_demo_log(), live=False)
    app = make_app(sim.config, [sim], StateStore(), clock=sim.now, desk=desk, theme=theme)
    app.run()
    return 0


def _demo_log() -> IncidentLog | None:
    """The demo keeps its incidents apart from the real log, at a stable path, so that
    `lvs-tui handover --demo` reads them after the console was killed and started again."""
    try:
        from lvs_tui.incidents import IncidentLog, demo_path

        return IncidentLog(demo_path())
    except Exception:
        return None
