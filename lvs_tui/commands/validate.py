"""`lvs-tui validate`: check a config, print a one-line summary or every error."""

from __future__ import annotations

import argparse

from lvs_tui.commands.common import add_config_option, load_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a config file",
                       description="Check a config file: exit 0 with a summary, or 2 with "
                                   "one line per error.")
    add_config_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if cfg is None:
        return 2
    f = cfg.fleet
    print(f"{cfg.path}: ok: {len(f.idcs)} IDCs, {len(f.hosts)} hosts, {len(f.vips)} VIPs, "
          f"{len(f.contacts)} contacts, {len(cfg.vantages)} vantages")
    return 0
