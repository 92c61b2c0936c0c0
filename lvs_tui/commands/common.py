"""What several commands share: loading the config and reporting its errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lvs_tui.config import Config, ConfigError, default_path, load
from lvs_tui.plain import one_line

if TYPE_CHECKING:
    from lvs_tui.config import LogSettings
    from lvs_tui.incidents import DutyLog


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


def add_log_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", metavar="URL", default=None,
                        help="the shared incident log (postgresql://…; the password from "
                             "PGPASSWORD or ~/.pgpass), instead of the config's [log]")


def log_settings(args: argparse.Namespace, cfg: Config | None) -> LogSettings | None:
    """[log] of the config, or --log URL; None for the embedded SQLite file. Raises
    ValueError (one line) for a --log that is not a PostgreSQL URL."""
    from lvs_tui.config import LogSettings

    url = getattr(args, "log", None)
    if url:
        if not url.startswith(("postgresql://", "postgres://")) or any(
                not c.isprintable() for c in url):
            raise ValueError(f"--log {url!r}: expected postgresql://user@host/database")
        return LogSettings(url=url)
    return cfg.log if cfg is not None else None


def open_duty_log(args: argparse.Namespace, cfg: Config | None) -> DutyLog | None:
    """The incident log the arguments and config name: --db PATH (a SQLite file), else
    --log / [log] url (the shared log; the demo's own schema with --demo), else the default
    file (the demo's with --demo). None after one line on stderr."""
    from lvs_tui.incidents import IncidentLogError, open_log

    path = getattr(args, "db", None)
    demo = bool(getattr(args, "demo", False))
    try:
        settings = None if path is not None else log_settings(args, cfg)
        return open_log(settings, demo, path)
    except (ValueError, IncidentLogError) as exc:
        complain(exc)
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
