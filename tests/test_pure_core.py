"""The pure core never does I/O: no UI toolkit, no network clients, no processes.

Diagnosis, the runbook engine and the texts must stay runnable in a test, a thread or a
`check` command without a terminal or a network. The layer contracts in pyproject.toml
(`lint-imports`, run by scripts/test.sh) follow imports transitively; this test reads each
pure module's own imports with `ast` (also `__import__` calls, which the contracts do not
see), fails for a listed module that does not exist, and keeps its list equal to the
contract's.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lvs_tui"
PURE = ("fleet", "config", "state", "situation", "signals", "diagnosis", "runbook", "texts",
        "board", "guidance", "handover", "timeline", "duty_state")
FORBIDDEN = ("textual", "httpx", "pyzabbix", "icmplib", "socket", "subprocess",
             "lvs_tui.probes", "lvs_tui.screens", "lvs_tui.widgets", "lvs_tui.app")


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):  # function-level imports count too
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            names.update(f"lvs_tui.{node.module or a.name}" for a in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names.update(a.value for a in node.args[:1] if isinstance(a, ast.Constant))
    return names


def violations(names: set[str]) -> list[str]:
    return sorted(n for n in names for bad in FORBIDDEN if n == bad or n.startswith(bad + "."))


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_nothing_impure(module: str) -> None:
    path = PACKAGE / f"{module}.py"
    assert path.is_file(), f"lvs_tui/{module}.py is listed as pure but does not exist"
    assert violations(imported(ast.parse(path.read_text(encoding="utf-8")))) == []


def test_the_checker_catches_hidden_imports() -> None:
    tree = ast.parse("def f():\n    import subprocess\n    from textual.app import App\n"
                     "from lvs_tui.probes import icmp\n__import__('socket')\n")
    assert violations(imported(tree)) == ["lvs_tui.probes", "lvs_tui.probes.icmp", "socket",
                                          "subprocess", "textual.app", "textual.app.App"]
    assert violations(imported(ast.parse("import socketserver\nimport textualize\n"))) == []


def test_the_list_is_the_layer_contracts_list() -> None:
    """One list of pure modules: the import-linter contract names the same ones."""
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    pure = next(c for c in contracts if c["name"].startswith("the pure core"))
    assert sorted(pure["source_modules"]) == sorted(f"lvs_tui.{m}" for m in PURE)
