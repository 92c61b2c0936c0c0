"""The dashboard on the real sources of --config (what `lvs-tui` runs without a command)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when run: the CLI starts without loading the console
    from lvs_tui.config import Config
    from lvs_tui.incidents import DutyLog
    from lvs_tui.probes import Source

from lvs_tui.commands.common import complain


def run(args: argparse.Namespace) -> int:
    from lvs_tui.app import make_app
    from lvs_tui.commands.common import console_errors, load_config
    from lvs_tui.duty import DutyDesk
    from lvs_tui.state import StateStore

    cfg = load_config(args)
    if cfg is None:
        return 2
    errors = console_errors(cfg, getattr(args, "theme", None))
    for line in errors:
        complain(line)
    if errors:
        return 2
    theme = getattr(args, "theme", None) or cfg.duty.theme
    store = StateStore()
    desk = DutyDesk(cfg, incidents=_incident_log(cfg), live=True)
    app = make_app(cfg, _sources(cfg), store, desk=desk, theme=theme)
    app.run()
    return 0


def _sources(cfg: Config) -> list[Source]:
    try:
        from lvs_tui.probes.wiring import real_sources

        return real_sources(cfg)
    except Exception as exc:  # wiring itself missing: run with none, the header says so
        complain(f"warning: no sources: {exc}")
        return []


def _incident_log(cfg: Config) -> DutyLog | None:
    """The config's log ([log] url: the shared one); in memory, said so, if it cannot open."""
    from lvs_tui.incidents import IncidentLogError, open_log

    try:
        return open_log(cfg.log, demo=False)
    except IncidentLogError as exc:
        complain(f"warning: incident log unavailable, confirmations kept in memory: {exc}")
        return None
