"""Entry point `lvs-tui`: the dashboard by default, or one of the commands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lvs_tui import __version__
from lvs_tui.commands import COMMAND_MODULES
from lvs_tui.commands.common import add_config_option


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lvs-tui",
        description="Duty console for an LVS load-balancer fleet. Without a command, runs the "
                    "dashboard on the real sources of --config.")
    parser.add_argument("--version", action="version", version=f"lvs-tui {__version__}")
    add_config_option(parser)
    parser.add_argument("--theme", default=None, help="dark, light, high-contrast, colorblind")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"lvs_tui.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        from lvs_tui.commands.dashboard import run as dashboard

        func = dashboard
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lvs-tui check | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
