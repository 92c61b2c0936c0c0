"""CLI commands: one module per command, each with `register(sub)` and `run(args) -> int`.

Exit codes: 0 fine, 1 the answer is "no"/"not ok", 2 a user mistake (config, arguments).
"""

from __future__ import annotations

COMMAND_MODULES: tuple[str, ...] = (
    "validate",
    "init",
    "find",
    "check",
    "notice",
    "incidents", "handover", "snapshot",
    "maintenance",
    "demo",
)
