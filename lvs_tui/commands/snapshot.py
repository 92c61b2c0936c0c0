"""`lvs-tui snapshot [HOST…]`: archive hosts' network config over ssh, once or periodically."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from pathlib import Path

from lvs_tui.actions import ActionError, ssh_options
from lvs_tui.commands.common import add_config_option, complain, load_config
from lvs_tui.config import Config
from lvs_tui.fleet import Host
from lvs_tui.snapshots import snapshot_hosts

_EVERY = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshot", help="archive hosts' network config over ssh",
                       description="Fetch each host's addresses, routes, interface config "
                                   "files, ipvsadm -Sn and keepalived config over ssh (through "
                                   "the jump host) into the local snapshot archive. Without "
                                   "HOST: every host. Exit 1 if any host failed.")
    p.add_argument("hosts", nargs="*", metavar="HOST", help="host names from the config")
    add_config_option(p)
    p.add_argument("--ssh-config", metavar="PATH", default="",
                   help="ssh client config file passed as ssh -F (identities, known hosts)")
    p.add_argument("--every", metavar="DURATION", default=None,
                   help="repeat every DURATION (e.g. 24h, 30m) until interrupted")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=60.0,
                   help="overall time allowed per host (default 60)")
    p.add_argument("--dir", metavar="PATH", type=Path, default=None,
                   help="archive directory (default: $XDG_STATE_HOME/lvs-tui/snapshots)")
    p.set_defaults(func=run)


def parse_every(text: str) -> float:
    m = _EVERY.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--every: {text!r} is not a duration like 30m, 12h or 1d")
    return float(m.group(1)) * _UNIT[m.group(2)]


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if cfg is None:
        return 2
    try:
        every = parse_every(args.every) if args.every else None
        opts = ssh_options(cfg, args.ssh_config)
    except (ValueError, ActionError) as exc:
        complain(exc)
        return 2
    if args.ssh_config and not Path(args.ssh_config).is_file():
        complain(f"--ssh-config: {args.ssh_config!r} does not exist")
        return 2
    hosts = _hosts(cfg, args.hosts)
    if hosts is None:
        return 2
    while True:
        results = asyncio.run(snapshot_hosts(opts, hosts, args.dir, args.timeout))
        for r in results:
            print(r.line, flush=True)
        if every is None:
            return 0 if all(r.ok for r in results) else 1
        time.sleep(every)


def _hosts(cfg: Config, names: list[str]) -> list[Host] | None:
    if not names:
        return list(cfg.fleet.hosts)
    unknown = [n for n in names if not cfg.fleet.has_host(n)]
    for n in unknown:
        complain(f"{cfg.path}: {n!r} is not a host of the fleet")
    return None if unknown else [cfg.fleet.host(n) for n in names]
