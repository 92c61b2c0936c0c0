"""`lvs-tui notice HOST_OR_IP --kind KIND`: print a duty text for a host, ready to paste."""

from __future__ import annotations

import argparse
import sys

from lvs_tui.board import Board
from lvs_tui.commands.check import add_source_options, collect
from lvs_tui.config import ConfigError
from lvs_tui.probes.route import source_address
from lvs_tui.texts import TextKind, context, render


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notice", help="print a notice or request for a host",
                       description="Print a generated duty text for a host (or the host "
                                   "owning an IP): the incident notice, an update, the "
                                   "recovery notice, the reboot request to 5666, the network "
                                   "handoff or the borrow proposal.")
    p.add_argument("target", metavar="HOST_OR_IP", help="host name, or any address it owns")
    p.add_argument("--kind", default="initial", choices=[k.value for k in TextKind],
                   help="which text (default: initial)")
    p.add_argument("--cause", default="", help="what is known of the cause (e.g. 疑似电源故障)")
    p.add_argument("--progress", default="", help="update: what happened since the last notice")
    add_source_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        got = collect(args)
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    if got is None:
        return 2
    cfg, board = got
    name = args.target.strip()
    if not cfg.fleet.has_host(name):
        owner = cfg.fleet.owner(name)
        if owner is None or not owner.hosts:
            print(f"{name}: neither a host nor an address of this fleet", file=sys.stderr)
            return 1
        name = _charged_host(board, owner.hosts)
    row = board.row(name)
    assert row is not None
    try:
        # --cause / --progress until `--note STEP=TEXT` replaces them
        notes = {k: v for k, v in (("reboot_failed", args.cause), ("progress", args.progress))
                 if v}
        down = row.situation.down_addresses or (row.host.internal, row.host.external)
        ctx = context(cfg, row.situation, row.host, (), board.now, notes=notes,
                      signals=row.signals,
                      sources=tuple(a for a in map(source_address, down) if a))
        print(render(TextKind(args.kind), ctx))
    except ValueError as exc:  # a text that must not be written now (recovered, not ok)
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:  # a team runbook with a broken template
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    return 0


def _charged_host(board: Board, hosts: tuple[str, ...]) -> str:
    """For a VIP: the announcing host in the worst situation (the one the notice is about)."""
    rows = [board.row(h) for h in hosts if board.row(h) is not None]
    return max(rows, key=lambda r: r.situation.severity).host.name
