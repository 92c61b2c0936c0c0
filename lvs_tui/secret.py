"""Secrets (API tokens, passwords, webhook keys) come from an environment variable or a file,
never from the config itself; read fresh at each use so a rotated secret needs no restart."""

from __future__ import annotations

import os
from pathlib import Path


class SecretError(Exception):
    """A secret cannot be read: one line naming the config key and the variable or file."""


def read_secret(env: str, file: str, key: str) -> str | None:
    """The secret configured by `<key>_env` / `<key>_file` (the variable wins when set), or
    None when neither is configured. `key` is the config path, e.g. "zabbix.token"."""
    if env:
        value = os.environ.get(env, "").strip()
        if value:
            return value
        if not file:
            raise SecretError(f"{key}_env: ${env} is not set")
    if not file:
        return None
    try:
        value = Path(file).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"{key}_file: {file!r}: {exc.strerror}") from None
    if not value:
        raise SecretError(f"{key}_file: {file!r} is empty")
    return value


def require_secret(env: str, file: str, key: str) -> str:
    """As `read_secret`, but a secret that is not configured at all is an error too."""
    value = read_secret(env, file, key)
    if value is None:
        raise SecretError(f"{key}: not configured (set {key}_env or {key}_file)")
    return value
