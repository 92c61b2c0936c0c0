"""`python -m lab up [--hosts N --vips N --vips6 N] [--topology T] [--config PATH]`,
`python -m lab down`, `python -m lab status` (root)."""

from __future__ import annotations

import argparse
import sys

from lab.netns import Lab, LabError, Topology, down, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="create the lab (replaces an existing lvt- lab)")
    up.add_argument("--hosts", type=int, default=4)
    up.add_argument("--vips", type=int, default=3, help="IPv4 VIPs per host")
    up.add_argument("--vips6", type=int, default=1, help="IPv6 VIPs per host")
    up.add_argument("--topology", choices=[t.value for t in Topology], default="routed",
                    help="routed (default: a router between duty and the hosts) or direct "
                         "(host ports in lvt-duty: the ping benchmark's lean path)")
    up.add_argument("--config", help="also write an lvs-tui config describing the lab")
    sub.add_parser("down", help="delete the lab's lvt- namespaces")
    sub.add_parser("status", help="say whether the lab is up")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            lab = Lab(args.hosts, args.vips, args.vips6, Topology(args.topology)).up()
            if args.config:
                lab.write_config(args.config)
                print(f"config: {args.config}")
        elif args.command == "down":
            down()
        print(status())
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
