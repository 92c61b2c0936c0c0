"""The change feed's thread: other consoles' events, handed to a callback as they come.

Runs `log.wait_changes()` / `log.changes()` on a thread of its own (never the UI's): woken by
the shared log's NOTIFY, or every `poll` seconds on a local file. It keeps the last id it
read, so after the server was away it catches up with everything it missed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lvs_tui.incidents import DutyLog, Event, IncidentLogError


class ChangeFeed:
    """`on_events(events)` is called on the feed's thread, oldest first, with the events
    written after `since` (None: after what the log holds when the feed starts)."""

    def __init__(self, log: DutyLog, on_events: Callable[[tuple[Event, ...]], None],
                 since: int | None = None, poll: float = 1.0) -> None:
        self.log = log
        self.on_events = on_events
        self.last = since
        self.poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lvs-log-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.last is None:
                try:
                    self.last = self.log.last_event_id()
                except IncidentLogError:  # offline at start: try again after a while
                    self._stop.wait(self.poll)
                    continue
            try:
                self._drain()
            except IncidentLogError:  # the log refused a read: the header shows the log
                self._stop.wait(self.poll)
                continue
            self.log.wait_changes(self.poll)

    def _drain(self) -> None:
        assert self.last is not None
        while not self._stop.is_set():
            events = self.log.changes(self.last)
            if not events:
                return
            self.last = events[-1].id
            self.on_events(events)
