"""The console runs the garbage collector's full passes itself and gives the interpreter's
settings back when it exits."""

from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path

from lvs_tui import heap
from tests.test_ui_rig import rig


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def _cycle() -> weakref.ref[Node]:
    return weakref.ref(Node())


def test_rounds_free_cycles_and_freeze_only_on_whole_heap_rounds() -> None:
    saved = heap.take_over()
    try:
        first = _cycle()
        heap.collect(0)  # walks everything, freezes the survivors
        assert first() is None
        frozen = gc.get_freeze_count()
        assert frozen > 0
        second = _cycle()
        heap.collect(1)  # the young heap only: the frozen part stays frozen
        assert second() is None
        assert gc.get_freeze_count() == frozen
        heap.collect(heap.REFREEZE_EVERY)
        assert gc.get_freeze_count() > 0
    finally:
        heap.give_back(saved)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == saved.threshold


async def test_the_app_owns_the_collector_while_it_runs(tmp_path: Path) -> None:
    before = (gc.get_threshold(), sys.getswitchinterval())
    r = rig(tmp_path)
    async with r.app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert gc.get_threshold()[2] == heap.NO_AUTOMATIC_FULL
        assert sys.getswitchinterval() == heap.SWITCH_INTERVAL
        leftover = _cycle()
        r.app._collect_heap()
        assert leftover() is None and r.app.heap_rounds == 1
    assert (gc.get_threshold(), sys.getswitchinterval()) == before
    assert gc.get_freeze_count() == 0
