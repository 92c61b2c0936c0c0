"""Shared test plumbing.

`require(ok, reason)`: a test that needs root, a namespace lab or a service skips with the
reason on a laptop, but FAILS when the CI variable is set: CI must have everything.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.robot"]  # the local group robot fixture (`robot`)

def require(ok: bool, reason: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but: {reason}")
    pytest.skip(reason)


def is_root() -> bool:
    return os.geteuid() == 0
