"""`lvs-tui init [PATH]`: write a starter config (tomli-w) that validates."""

from __future__ import annotations

import argparse
from pathlib import Path

import tomli_w

from lvs_tui.commands.common import complain
from lvs_tui.config import ConfigError, default_path, parse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="write a starter config",
                       description="Write a starter config for a small fleet; refuses to "
                                   "overwrite an existing file without --force.")
    p.add_argument("path", nargs="?", type=Path, default=None,
                   help="where to write it (default: $XDG_CONFIG_HOME/lvs-tui/config.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=run)


def starter() -> dict:
    """A small but complete fleet in the documentation address ranges."""
    return {
        "duty": {"interval": 1.0, "ping_timeout": 1.0, "hysteresis": 3,
                 "timezone": "Asia/Shanghai", "office_start": "09:00", "office_end": "18:00",
                 "jump_host": "jump.example.com", "ssh_user": "root"},
        "idcs": [{"id": "cernet", "name": "赛尔", "carrier": "CERNET"},
                 {"id": "telecom", "name": "电信", "carrier": "电信"}],
        "hosts": [
            {"name": "lvs-cernet-01", "idc": "cernet", "mode": "single", "group": "cernet",
             "internal": "192.0.2.11", "external": "198.51.100.11", "services": ["LVS"]},
            {"name": "lvs-cernet-02", "idc": "cernet", "mode": "single", "group": "cernet",
             "internal": "192.0.2.12", "external": "198.51.100.12", "services": ["LVS"]},
            {"name": "ha-telecom-01", "idc": "telecom", "mode": "ha", "group": "telecom-ha",
             "internal": "192.0.2.21", "external": "203.0.113.21", "services": ["LVS", "HL"]},
            {"name": "ha-telecom-02", "idc": "telecom", "mode": "ha", "group": "telecom-ha",
             "internal": "192.0.2.22", "external": "203.0.113.22", "services": ["LVS", "HL"]},
        ],
        "vips": [
            {"address": "198.51.100.100", "service": "www", "port": 80,
             "hosts": ["lvs-cernet-01", "lvs-cernet-02"], "admins": ["admin-www"]},
            {"address": "203.0.113.120", "service": "video", "port": 80,
             "hosts": ["ha-telecom-01", "ha-telecom-02"], "admins": ["admin-www"]},
        ],
        "contacts": [
            {"id": "duty5666", "role": "duty_room", "name": "5666 值班室",
             "phone": "010-62675666", "qq": "5666", "mention": "@5666值班"},
            {"id": "im-duty", "role": "im_duty", "name": "IM 组值班", "hours": "office"},
            {"id": "escalation", "role": "escalation", "name": "IM 负责人"},
            {"id": "net-duty", "role": "network_duty", "name": "网络组值班"},
            {"id": "notify-group", "role": "notify_group", "name": "运维故障通报组"},
            {"id": "admin-www", "role": "admin", "name": "www 业务管理员"},
        ],
        "notice": {"mentions": ["duty5666", "admin-www"]},
        "vantages": [{"id": "local", "kind": "local", "name": "本地"}],
    }


def run(args: argparse.Namespace) -> int:
    path: Path = args.path or default_path()
    if path.exists() and not args.force:
        complain(f"{path}: already exists; use --force to overwrite it")
        return 2
    text = tomli_w.dumps(starter())
    try:
        parse(text, str(path))  # never write a starter that would not validate
    except ConfigError as exc:  # pragma: no cover - a bug of ours, not the user's
        raise RuntimeError(exc.lines[0]) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# lvs-tui starter config: see docs/config.md\n" + text, encoding="utf-8")
    except OSError as exc:
        complain(f"{path}: cannot write: {exc.strerror}")
        return 2
    print(f"{path}: written; check it with: lvs-tui validate --config {path}")
    return 0
