"""`lvs-tui notice HOST_OR_IP --kind KIND`: print a duty text for a host, ready to paste."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from lvs_tui.board import Board
from lvs_tui.commands.check import add_source_options, collect, duty_desk
from lvs_tui.config import ConfigError
from lvs_tui.duty import DutyDesk
from lvs_tui.texts import TextKind, render


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notice", help="print a notice or request for a host",
                       description="Print a generated duty text for a host (or the host "
                                   "owning an IP): the incident notice, an update, the "
                                   "recovery notice, the reboot request to 5666, the network "
                                   "handoff or the borrow proposal.")
    p.add_argument("target", metavar="HOST_OR_IP", help="host name, or any address it owns")
    p.add_argument("--kind", default="initial", choices=[k.value for k in TextKind],
                   help="which text (default: initial)")
    p.add_argument("--note", action="append", default=[], metavar="STEP=TEXT",
                   help="a confirmation with its note, as the dashboard records it, e.g. "
                        "reboot_failed=电源模块告警 or borrow_stock=亦庄库房 (repeatable); "
                        "added to what the incident log already has")
    p.add_argument("--cause", default="", help="the same as --note reboot_failed=TEXT")
    p.add_argument("--progress", default="", help="the same as --note progress=TEXT")
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
    desk = duty_desk(args, cfg) or DutyDesk(cfg)
    try:
        notes = _notes(args, desk)
        desk.prepare(row)
        ctx = desk.context(row, board.now)
        done = {n for n, _ in ctx.confirmations}
        ctx = replace(ctx, notes={**ctx.notes, **notes}, confirmations=(
            *ctx.confirmations, *((n, board.now) for n in notes if n not in done)))
        print(render(TextKind(args.kind), ctx))
    except NoticeError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ValueError as exc:  # a text that must not be written now (recovered, not ok)
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:  # a team runbook with a broken template
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    finally:
        desk.close()
        if desk.incidents is not None:
            desk.incidents.close()
    return 0


class NoticeError(Exception):
    """A mistake in the arguments: one line."""


def _notes(args: argparse.Namespace, desk: DutyDesk) -> dict[str, str]:
    """--note STEP=TEXT (and the --cause/--progress shorthands) -> confirmation -> note."""
    pairs = [*args.note]
    if args.cause:
        pairs.append(f"reboot_failed={args.cause}")
    if args.progress:
        pairs.append(f"progress={args.progress}")
    known = desk.runbook.confirmations if desk.runbook else {}
    out: dict[str, str] = {}
    for pair in pairs:
        step, sep, text = pair.partition("=")
        step, text = step.strip(), " ".join(text.split())
        if not sep or not step or not text:
            raise NoticeError(f"--note {pair!r}: expected STEP=TEXT, e.g. "
                              "reboot_failed=电源模块告警")
        if step not in known:
            raise NoticeError(f"--note {step!r}: not a confirmation of the runbook; known: "
                              + ", ".join(sorted(known)))
        out[step] = text
    return out


def _charged_host(board: Board, hosts: tuple[str, ...]) -> str:
    """For a VIP: the announcing host in the worst situation (the one the notice is about)."""
    rows = [r for r in map(board.row, hosts) if r is not None]
    return max(rows, key=lambda r: r.situation.severity).host.name
