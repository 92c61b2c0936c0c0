"""Collectors: the only code that does network I/O. Each writes into the StateStore.

Every collector is a `Source`: `run(store)` is a coroutine that keeps the store fed until
it is cancelled. Blocking clients (pyzabbix) run in a thread via `asyncio.to_thread`.
A source never raises for a network failure: it records its state with
`store.set_source(...)` and tries again, so one dead source never takes the console down.
"""

from __future__ import annotations

from typing import Protocol

from lvs_tui.state import StateStore


class Source(Protocol):
    name: str

    async def run(self, store: StateStore) -> None:
        """Feed the store until cancelled."""
        ...
