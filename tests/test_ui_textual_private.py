"""The private Textual names the console leans on (lvs_tui/widgets/textual_private.py) are
still there, and each names a test that exists and pins what it does. A Textual upgrade
that moves one fails here first, with the reason and the test to look at."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from textual.app import App
from textual.scroll_view import ScrollView
from textual.widget import Widget

from lvs_tui.widgets import textual_private
from lvs_tui.widgets.textual_private import PRIVATE, Private

ROOT = Path(__file__).resolve().parent.parent


def _instance(owner: type) -> object:
    """Attributes set in __init__ are checked on an instance."""
    if owner is App:
        return App()
    if issubclass(owner, ScrollView):
        return ScrollView()
    return Widget()


@pytest.mark.parametrize("p", PRIVATE, ids=lambda p: p.name)
def test_each_private_name_exists_in_this_textual(p: Private) -> None:
    assert hasattr(p.owner, p.name) or hasattr(_instance(p.owner), p.name), (
        f"Textual no longer has {p.owner.__name__}.{p.name} ({p.why}); "
        f"see lvs_tui/widgets/textual_private.py and {p.pinned_by}")


@pytest.mark.parametrize("p", PRIVATE, ids=lambda p: p.name)
def test_each_private_name_is_pinned_by_a_test_that_exists(p: Private) -> None:
    path, _, name = p.pinned_by.partition("::")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    tests = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert name in tests, p.pinned_by


def test_size_updated_still_takes_the_layout_flag() -> None:
    """OnePass passes `layout=False` by name: the parameter must still exist."""
    params = inspect.signature(Widget._size_updated).parameters
    assert list(params)[1:5] == ["size", "virtual_size", "container_size", "layout"]


def test_no_private_textual_name_outside_the_shim_module() -> None:
    """The names of PRIVATE appear nowhere else in lvs_tui/: one file to change."""
    names = {p.name for p in PRIVATE}
    shim = Path(textual_private.__file__).resolve()
    found = []
    for path in (ROOT / "lvs_tui").rglob("*.py"):
        if path.resolve() == shim:
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n in text]
    assert found == []
