"""The shared log's local journal: events written while PostgreSQL is unreachable.

A SQLite file in the state dir (WAL, synchronous=FULL): an event is acknowledged only once
it is on disk here, so `kill -9` loses nothing. Each entry keeps its UUID; the shared log
replays the entries in order when the server is back and deletes each one after the server
has it. A replay cut short is simply replayed again: the server ignores a UUID it has.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from lvs_tui.incidents import IncidentLogError


@dataclass(frozen=True, slots=True)
class Pending:
    """One event waiting for the server, as the shared log will apply it."""

    seq: int
    uuid: str
    host: str
    t: float
    kind: str
    name: str
    detail: str
    data: dict[str, object]
    console: str


class Journal:
    """Append, list in order, delete after replay. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                       timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "uuid TEXT NOT NULL UNIQUE, host TEXT NOT NULL, t REAL NOT NULL, "
                "kind TEXT NOT NULL, name TEXT NOT NULL, detail TEXT NOT NULL, "
                "data TEXT NOT NULL, console TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as exc:
            raise IncidentLogError(f"{path}: cannot open the local journal: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, uuid: str, host: str, t: float, kind: str, name: str, detail: str,
               data: dict[str, object], console: str) -> int:
        """Durably add one event; returns its place in the journal."""
        try:
            with self._lock:
                cur = self._db.execute(
                    "INSERT INTO pending (uuid, host, t, kind, name, detail, data, console) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (uuid, host, t, kind, name, detail, json.dumps(data, ensure_ascii=False),
                     console))
                return int(cur.lastrowid or 0)
        except sqlite3.Error as exc:
            raise IncidentLogError(f"{self.path}: cannot write the local journal: {exc}"
                                   ) from None

    def pending(self, limit: int = 500) -> tuple[Pending, ...]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, uuid, host, t, kind, name, detail, data, console FROM pending "
                "ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return tuple(Pending(s, u, h, t, k, n, d, json.loads(data), c)
                     for s, u, h, t, k, n, d, data, c in rows)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def done(self, seq: int) -> None:
        """The server has entry `seq`: forget it."""
        with self._lock:
            self._db.execute("DELETE FROM pending WHERE seq = ?", (seq,))
