"""Every real source runs under a supervisor, so a source in trouble says so.

- **Down, then retried.** An exception out of a source's `run` (a bug, an answer nobody
  foresaw) marks each state the source writes `down` with a one-line reason, goes to the
  log as one line (the traceback at debug level only: never on the terminal), and the
  source is started again after a backoff that doubles up to `BACKOFF_MAX` (and starts
  over once a run has lasted that long).
- **Stale, whatever its last word.** A source that has written no state for longer than
  its own deadline (a cycle stuck on a server that never answers) is shown `stale`, with
  its last word in the detail and its age counted from that word, even if that word was
  `ok`. Its next word replaces it. A `down` source is left as it is: it already says its
  data cannot be trusted.

A source's "word" is any `store.set_source` for one of its names: each source writes its
state at the end of every cycle (fping at every summary line), so a new status object is
a completed cycle. The store makes a new object per write, which is what is watched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from lvs_tui.probes import Source
from lvs_tui.state import SourceState, SourceStatus, StateStore

log = logging.getLogger(__name__)

BACKOFF_FIRST = 2.0  # seconds before the first restart
BACKOFF_MAX = 60.0
WATCH_EVERY = 1.0  # seconds between looks at the store
QUIET = (SourceState.DOWN, SourceState.OFF, SourceState.STALE)  # never made stale


def one_line(exc: BaseException, limit: int = 160) -> str:
    """'KeyError: 'name'' on one printable line, however the exception is made."""
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return one_line(exc.exceptions[0], limit)
    said = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {said}" if said else type(exc).__name__
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Supervised:
    """A `Source` that runs another one (see the module doc). Anything else asked of it
    (the Zabbix source's `chart`) is the wrapped source's."""

    def __init__(self, source: Source, deadline: float, names: tuple[str, ...] = (),
                 clock: Callable[[], float] = time.time, backoff: float = BACKOFF_FIRST,
                 backoff_max: float = BACKOFF_MAX, watch_every: float = WATCH_EVERY) -> None:
        self.source = source
        self.name = source.name
        self.deadline = deadline
        self.names = names or (source.name,)
        self.clock = clock
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.watch_every = watch_every
        self.restarts = 0
        self._ours: dict[str, SourceStatus | None] = {}  # the states the supervisor wrote

    def __getattr__(self, attr: str) -> Any:
        if attr == "source":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(attr)
        return getattr(self.source, attr)

    def __repr__(self) -> str:
        return f"Supervised({self.source!r}, deadline={self.deadline:g})"

    async def run(self, store: StateStore) -> None:
        watch = asyncio.create_task(self._watch(store), name=f"watch:{self.name}")
        try:
            await self._keep_running(store)
        finally:
            watch.cancel()

    async def _keep_running(self, store: StateStore) -> None:
        delay = self.backoff
        while True:
            started = time.monotonic()
            try:
                await self.source.run(store)
                why = "stopped"
            except Exception as exc:  # the point: no failure of a source goes further
                why = one_line(exc)
                log.warning("source %s failed: %s", self.name, why)
                log.debug("source %s failed", self.name, exc_info=True)
            if time.monotonic() - started >= self.backoff_max:
                delay = self.backoff  # it ran well for a while: a fresh failure
            self._down(store, f"{why}; retry in {delay:g} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)
            self.restarts += 1

    def _down(self, store: StateStore, why: str) -> None:
        now = self.clock()
        for name in self.names:
            old = store.source(name)
            detail = why if name == self.name else f"{self.name}: {why}"
            self._write(store, SourceStatus(name, SourceState.DOWN, now, detail,
                                            old.last_ok if old else None))

    def _write(self, store: StateStore, status: SourceStatus) -> None:
        store.set_source(status)
        self._ours[status.name] = store.source(status.name)

    async def _watch(self, store: StateStore) -> None:
        """Marks a name stale once it has said nothing for longer than the deadline."""
        started = self.clock()
        heard: dict[str, tuple[SourceStatus | None, float]] = {}  # last word, heard when
        while True:
            await asyncio.sleep(self.watch_every)
            now = self.clock()
            for name in self.names:
                status = store.source(name)
                ours = status is not None and status is self._ours.get(name)
                if not ours and (name not in heard or heard[name][0] is not status):
                    heard[name] = (status, now if name in heard else started)
                word, at = heard.get(name, (None, started))
                if ours or now - at <= self.deadline:
                    continue
                if word is not None and word.state in QUIET:
                    continue
                last = "nothing yet" if word is None else (
                    f"{word.state.value}: {word.detail}" if word.detail else word.state.value)
                self._write(store, SourceStatus(
                    name, SourceState.STALE, at,
                    f"no cycle within {self.deadline:g} s (last: {last})"[:200],
                    word.last_ok if word else None))
