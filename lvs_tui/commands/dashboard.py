"""The dashboard on the real sources of --config (what `lvs-tui` runs without a command)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when run: the CLI starts without loading the console
    from lvs_tui.config import Config
    from lvs_tui.incidents import IncidentLog
    from lvs_tui.probes import Source


def run(args: argparse.Namespace) -> int:
    from lvs_tui.app import check_keys, make_app
    from lvs_tui.commands.common import load_config
    from lvs_tui.duty import DutyDesk
    from lvs_tui.state import StateStore
    from lvs_tui.widgets.theming import ThemeError, load_theme

    cfg = load_config(args)
    if cfg is None:
        return 2
    errors = check_keys(cfg.keys)
    theme = getattr(args, "theme", None) or cfg.duty.theme
    try:
        load_theme(theme)
    except ThemeError as exc:
        errors.append(f"{cfg.path}: [duty].theme: {exc}" if not getattr(args, "theme", None)
                      else f"--theme: {exc}")
    for line in errors:
        print(f"{cfg.path}: {line}" if line.startswith("[keys]") else line, file=sys.stderr)
    if errors:
        return 2
    store = StateStore()
    desk = DutyDesk(cfg, incidents=_incident_log(), live=True)
    app = make_app(cfg, _sources(cfg), store, desk=desk, theme=theme)
    app.run()
    return 0


def _sources(cfg: Config) -> list[Source]:
    try:
        from lvs_tui.probes.wiring import real_sources

        return real_sources(cfg)
    except Exception as exc:  # wiring itself missing: run with none, the header says so
        print(f"warning: no sources: {exc}", file=sys.stderr)
        return []


def _incident_log() -> IncidentLog | None:
    try:
        from lvs_tui.incidents import IncidentLog

        return IncidentLog()
    except Exception as exc:
        print(f"warning: incident log unavailable, confirmations kept in memory: {exc}",
              file=sys.stderr)
        return None
