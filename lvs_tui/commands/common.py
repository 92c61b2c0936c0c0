"""What several commands share: loading the config and reporting its errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lvs_tui.config import Config, ConfigError, default_path, load
from lvs_tui.plain import one_line


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", type=Path, default=None,
                        help="config file (default: $XDG_CONFIG_HOME/lvs-tui/config.toml)")


def complain(line: object) -> None:
    """An error or warning on stderr, on one line whatever it quotes (a file name with a
    newline, an argument with an escape sequence)."""
    print(one_line(line), file=sys.stderr)


def load_config(args: argparse.Namespace) -> Config | None:
    """The config named by --config (or the default); prints one line per error on failure."""
    try:
        return load(args.config or default_path())
    except ConfigError as exc:
        for line in exc.lines:
            complain(line)
        return None


def console_errors(cfg: Config, theme: str | None = None) -> list[str]:
    """What the dashboard would refuse to start with, one line each: bindings of [keys] it
    cannot use and a theme it cannot load. `validate` asks the same question."""
    from lvs_tui.app import check_keys
    from lvs_tui.widgets.theming import ThemeError, load_theme

    errors = [f"{cfg.path}: {line}" for line in check_keys(cfg.keys)]
    try:
        load_theme(theme or cfg.duty.theme)
    except ThemeError as exc:
        errors.append(f"--theme: {exc}" if theme else f"{cfg.path}: duty.theme: {exc}")
    return [one_line(line) for line in errors]
