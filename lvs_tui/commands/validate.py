"""`lvs-tui validate`: check a config, print a one-line summary or every error."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from lvs_tui.commands.common import add_config_option, load_config
from lvs_tui.config import ConfigError, warnings
from lvs_tui.runbook import load_runbook


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a config file",
                       description="Check a config file and the runbook it names: exit 0 with "
                                   "a summary, or 2 with one line per error.")
    add_config_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if cfg is None:
        return 2
    try:
        rb = load_runbook(cfg.runbook)  # a team's own runbook is checked with the config
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    for line in warnings(cfg, datetime.now(cfg.duty.tz).date()):
        print(f"warning: {line}", file=sys.stderr)  # worth fixing, not failing for
    f = cfg.fleet
    print(f"{cfg.path}: ok: {len(f.idcs)} IDCs, {len(f.hosts)} hosts, {len(f.vips)} VIPs, "
          f"{len(f.contacts)} contacts, {len(cfg.vantages)} vantages, "
          f"runbook {len(rb.steps)} steps")
    return 0
