"""Collectors: the only code that does network I/O. Each writes into the StateStore.

Every collector is a `Source`: `run(store)` is a coroutine that keeps the store fed until
it is cancelled. Blocking clients (pyzabbix) run in a thread via `asyncio.to_thread`.
A source never raises for a network failure: it records its state with
`store.set_source(...)` and tries again, so one dead source never takes the console down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from lvs_tui.state import Metric, MetricSample, StateStore


class Source(Protocol):
    name: str  # the id its health is written under in the store (the header shows it)

    async def run(self, store: StateStore) -> None:
        """Feed the store until cancelled."""
        ...


@runtime_checkable
class ChartSource(Protocol):
    """A source that also reads a metric's longer history for the host view's charts."""

    async def chart(self, host: str, metric: Metric, hours: int) -> Sequence[MetricSample]:
        """Samples of the last `hours`; raises when the history cannot be read."""
        ...
