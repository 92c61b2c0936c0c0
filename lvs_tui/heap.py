"""The interpreter's pauses, on the console's terms.

Two things made key presses 5-10x slower than the work they cause at 500 hosts:

* **Full garbage collections** every few seconds, 100-200 ms each: the heap holds ~380k
  tracked objects (the store's hour of metrics, its rings, the config), and Textual's strips
  are reference cycles (each caches itself), so the runtime keeps promoting garbage and then
  walks the whole heap to free it. Here the runtime never starts a full collection on its
  own; the console runs one every `COLLECT_EVERY` seconds, over the objects created since the
  last freeze, and every `REFREEZE_EVERY`-th time over everything, then freezes the
  survivors (`gc.freeze`), so the usual collection skips the long-lived data.
* **The GIL switch interval**: the evaluation thread keeps the GIL up to 5 ms (Python's
  default) each time the UI thread wants it back, which the UI pays at every await while
  drawing. 1 ms keeps the UI's share fair at a negligible switching cost.
"""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass

SWITCH_INTERVAL = 0.001  # s
COLLECT_EVERY = 60.0  # s between scheduled full collections
REFREEZE_EVERY = 10  # every 10th collection also walks (and re-freezes) the frozen heap
NO_AUTOMATIC_FULL = 1_000_000  # gen-2 threshold that the runtime never reaches


@dataclass(frozen=True, slots=True)
class Saved:
    """The interpreter's settings before the console took them over."""

    threshold: tuple[int, int, int]
    switch_interval: float


def take_over() -> Saved:
    saved = Saved(gc.get_threshold(), sys.getswitchinterval())
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.set_threshold(saved.threshold[0], saved.threshold[1], NO_AUTOMATIC_FULL)
    return saved


def give_back(saved: Saved) -> None:
    gc.unfreeze()
    gc.set_threshold(*saved.threshold)
    sys.setswitchinterval(saved.switch_interval)


def collect(round_: int) -> int:
    """Scheduled collection number `round_` (0, 1, …); returns the objects freed. Round 0
    and every REFREEZE_EVERY-th round walk the whole heap and freeze what survives."""
    if round_ % REFREEZE_EVERY:
        return gc.collect()
    gc.unfreeze()
    freed = gc.collect()
    gc.freeze()
    return freed
