"""What several commands share: loading the config and reporting its errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lvs_tui.config import Config, ConfigError, default_path, load


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", type=Path, default=None,
                        help="config file (default: $XDG_CONFIG_HOME/lvs-tui/config.toml)")


def load_config(args: argparse.Namespace) -> Config | None:
    """The config named by --config (or the default); prints one line per error on failure."""
    try:
        return load(args.config or default_path())
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return None
