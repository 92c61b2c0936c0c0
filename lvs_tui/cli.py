"""Entry point `lvs-tui`: the dashboard by default, or one of the commands."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn, TextIO

from lvs_tui import __version__
from lvs_tui.commands import COMMAND_MODULES
from lvs_tui.commands.common import add_config_option
from lvs_tui.plain import one_line, printable


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (not the usage block), exit 2 as before."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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


class Printable(io.TextIOBase):
    """A text stream that writes control characters as visible escapes (`plain.printable`)
    before they reach the terminal: whatever a command prints from a config, an argument, a
    source or the incident log, no escape sequence gets through. Newlines and tabs pass."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, s: str) -> int:
        self.inner.write(printable(s))
        return len(s)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")


@contextlib.contextmanager
def printable_output(on: bool) -> Iterator[None]:
    """stdout and stderr through `Printable` for the commands; the full-screen consoles
    (dashboard, demo) own the terminal and are left alone."""
    if not on:
        yield
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Printable(out), Printable(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    with printable_output(True):  # argparse echoes bad arguments
        args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    console = func is None or args.command == "demo"
    if func is None:
        from lvs_tui.commands.dashboard import run as dashboard

        func = dashboard
    try:
        with printable_output(not console):
            return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lvs-tui check | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
