"""The incident log: a crash-safe SQLite timeline of everything done on duty.

An incident opens when a host leaves ok (unknown is "no data", not trouble) and closes when
it is ok again. Its timeline records every situation change, operator confirmation, text
copied or sent, action run with its output, and the recovery. A write returns only after
the transaction is durable (WAL + synchronous=FULL): an acknowledged event survives
`kill -9` and power loss. After a restart the open incidents, their last situation and
their confirmations are read back, so the console resumes at the runbook step it was on.

Events that happen while a host has no open incident (an ssh session to a healthy host)
are kept too, with no incident id: nothing the operator did is ever dropped.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lvs_tui.situation import Situation, SituationId
from lvs_tui.timeline import DUTY_KINDS, Event, EventKind, Incident  # pure values

# Each entry migrates the schema from version i to i+1 (PRAGMA user_version). Never edit a
# released entry: append a new one, so an old log file is upgraded in place.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            host TEXT NOT NULL,
            opened REAL NOT NULL,
            since REAL,
            closed REAL,
            situation TEXT NOT NULL,
            severity INTEGER NOT NULL,
            worst TEXT NOT NULL,
            worst_severity INTEGER NOT NULL
        )""",
        # At most one open incident per host, enforced by the database itself.
        "CREATE UNIQUE INDEX incidents_open_host ON incidents(host) WHERE closed IS NULL",
        "CREATE INDEX incidents_opened ON incidents(opened)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            incident INTEGER REFERENCES incidents(id),
            host TEXT NOT NULL,
            t REAL NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '',
            data TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX events_incident ON events(incident, id)",
        "CREATE INDEX events_host ON events(host, t)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class IncidentLogError(Exception):
    """The log file cannot be opened or written: one line naming the file."""


def default_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "lvs-tui" / "incidents.db"


def demo_path() -> Path:
    """The demo's own log, apart from the real one, kept so `handover --demo` can read it."""
    return default_path().with_name("demo-incidents.db")


_SITUATION_KEY = tuple[str, int, tuple[str, ...]]
_NUMBER = re.compile(r"\d+(?:\.\d+)*")


def _key(s: Situation) -> _SITUATION_KEY:
    """What makes a situation change worth a timeline event: id, severity, evidence shape."""
    return (s.id.value, int(s.severity), tuple(_NUMBER.sub("#", e) for e in s.evidence))


class IncidentLog:
    """The incident log file. Thread-safe; every write is its own durable transaction."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False, timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise IncidentLogError(f"{self.path}: cannot open the incident log: {exc}") from None
        # host -> (incident id, last recorded situation), resumed from the file.
        self._open: dict[str, tuple[int, _SITUATION_KEY]] = {}
        for inc in self.open_incidents():
            self._open[inc.host] = (inc.id, self._last_situation(inc))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> IncidentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise IncidentLogError(f"{self.path}: schema version {version} is newer than this "
                                   f"lvs-tui understands ({SCHEMA_VERSION}): upgrade lvs-tui")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated meanwhile.
                if self._db.execute("PRAGMA user_version").fetchone()[0] >= target:
                    self._db.execute("ROLLBACK")
                    continue
                for statement in MIGRATIONS[target - 1]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One durable transaction; the caller's event is acknowledged when this returns."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise IncidentLogError(f"{self.path}: cannot write: {exc}") from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise IncidentLogError(f"{self.path}: cannot write: {exc}") from None
                raise

    def _insert(self, db: sqlite3.Connection, incident: int | None, host: str, t: float,
                kind: EventKind, name: str = "", detail: str = "",
                data: dict[str, object] | None = None) -> Event:
        cur = db.execute(
            "INSERT INTO events (incident, host, t, kind, name, detail, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (incident, host, t, kind.value, name, detail,
             json.dumps(data or {}, ensure_ascii=False)))
        return Event(int(cur.lastrowid or 0), incident, host, t, kind, name, detail, data or {})

    # -- writers --------------------------------------------------------------------------
    def observe(self, situation: Situation, now: float,
                note: dict[str, object] | None = None) -> Event | None:
        """Feed one evaluation of a host; returns the event written, if any.

        Opens an incident when the host is in trouble and has none, records a change of
        situation (id, severity or evidence), closes the incident when the host is ok.
        A spell of unknown (no data) is recorded as a change but closes nothing. Evidence
        that only moves a number ("监控数据已中断 7 分钟" -> "8 分钟") is no change: the
        timeline keeps what happened, not a clock.
        """
        host = situation.host
        key = _key(situation)
        current = self._open.get(host)
        data: dict[str, object] = {"severity": int(situation.severity),
                                   "evidence": list(situation.evidence),
                                   "down": list(situation.down_addresses),
                                   "on_alert_page": situation.on_alert_page}
        if current is None:
            if not situation.is_problem:
                return None
            return self._open_incident(situation, key, {**data, **(note or {})}, now)
        incident_id, last = current
        if situation.id is SituationId.OK:
            return self._close_incident(host, incident_id, now)
        if key == last:
            return None
        with self._write() as db:
            event = self._insert(db, incident_id, host, now, EventKind.SITUATION,
                                 situation.id.value, "；".join(situation.evidence), data)
            db.execute("UPDATE incidents SET situation = ?, severity = ? WHERE id = ?",
                       (situation.id.value, int(situation.severity), incident_id))
            if situation.is_problem:
                db.execute("UPDATE incidents SET worst = ?, worst_severity = ? "
                           "WHERE id = ? AND worst_severity < ?",
                           (situation.id.value, int(situation.severity), incident_id,
                            int(situation.severity)))
        self._open[host] = (incident_id, key)
        return event

    def _open_incident(self, s: Situation, key: _SITUATION_KEY, data: dict[str, object],
                       now: float) -> Event:
        with self._write() as db:
            # Another console on the same file may have opened it meanwhile: join that one.
            row = db.execute("SELECT id FROM incidents WHERE host = ? AND closed IS NULL",
                             (s.host,)).fetchone()
            if row is not None:
                incident_id, kind = int(row[0]), EventKind.SITUATION
            else:
                cur = db.execute(
                    "INSERT INTO incidents (host, opened, since, situation, severity, worst, "
                    "worst_severity) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (s.host, now, s.since, s.id.value, int(s.severity), s.id.value,
                     int(s.severity)))
                incident_id, kind = int(cur.lastrowid or 0), EventKind.OPENED
            event = self._insert(db, incident_id, s.host, now, kind, s.id.value,
                                 "；".join(s.evidence), data)
        self._open[s.host] = (incident_id, key)
        return event

    def retire(self, hosts: frozenset[str], now: float) -> tuple[Event, ...]:
        """Close the open incidents of hosts no longer in the config (`hosts`): otherwise
        they stay open forever, since no evaluation will ever see those hosts ok."""
        gone = sorted(h for h in self._open if h not in hosts)
        return tuple(self._close_incident(h, self._open[h][0], now, EventKind.RETIRED,
                                          "removed from the config") for h in gone)

    def _close_incident(self, host: str, incident_id: int, now: float,
                        kind: EventKind = EventKind.RECOVERED, detail: str = "") -> Event:
        with self._write() as db:
            event = self._insert(db, incident_id, host, now, kind, "ok" if not detail else
                                 kind.value, detail)
            db.execute("UPDATE incidents SET closed = ? WHERE id = ?", (now, incident_id))
        del self._open[host]
        return event

    def confirm(self, host: str, name: str, now: float, note: str = "") -> Event:
        """An operator confirmation from the runbook (reboot_requested, recovered …)."""
        return self._record(host, now, EventKind.CONFIRMED, name, note)

    def record_text(self, host: str, kind: str, text: str, how: str, now: float,
                    to: str = "") -> Event:
        """A generated text copied or sent (`how`: copied | sent | send_failed …)."""
        data: dict[str, object] = {"how": how}
        if to:
            data["to"] = to
        return self._record(host, now, EventKind.TEXT, kind, text, data)

    def record_action(self, host: str, action: str, output: str, now: float,
                      ok: bool | None = None) -> Event:
        """An action run from the host view, with its output (ssh, diagnostics …)."""
        data: dict[str, object] = {} if ok is None else {"ok": ok}
        return self._record(host, now, EventKind.ACTION, action, output, data)

    def record(self, host: str, now: float, kind: EventKind, name: str = "", detail: str = "",
               data: dict[str, object] | None = None) -> Event:
        """Any other event (acknowledgements, maintenance, silences, flapping), attached to
        the host's open incident if it has one; `host` "" for a fleet-wide one."""
        return self._record(host, now, kind, name, detail, data)

    def _record(self, host: str, now: float, kind: EventKind, name: str, detail: str,
                data: dict[str, object] | None = None) -> Event:
        current = self._open.get(host)
        with self._write() as db:
            return self._insert(db, current[0] if current else None, host, now, kind, name,
                                detail, data)

    # -- readers --------------------------------------------------------------------------
    def confirmations(self, host: str) -> tuple[tuple[str, float], ...]:
        """(name, epoch) of the host's open incident, oldest first: the runbook's input."""
        current = self._open.get(host)
        if current is None:
            return ()
        with self._lock:
            rows = self._db.execute(
                "SELECT name, t FROM events WHERE incident = ? AND kind = ? ORDER BY id",
                (current[0], EventKind.CONFIRMED.value)).fetchall()
        return tuple((str(n), float(t)) for n, t in rows)

    def confirmation_events(self, host: str | None = None) -> tuple[Event, ...]:
        """The confirmations (with their notes) of the open incidents, or of one host's,
        oldest first: one query for the duty service's memory."""
        if host is not None:
            current = self._open.get(host)
            if current is None:
                return ()
            return self._events("WHERE incident = ? AND kind = ? ORDER BY id",
                                (current[0], EventKind.CONFIRMED.value))
        return self._events("WHERE kind = ? AND incident IN (SELECT id FROM incidents WHERE "
                            "closed IS NULL) ORDER BY id", (EventKind.CONFIRMED.value,))

    def last_actions(self, actions: tuple[str, ...]) -> dict[tuple[str, str], Event]:
        """The newest output of each of `actions` on every host: (host, action) -> event."""
        marks = ", ".join("?" for _ in actions)
        found = self._events(
            f"WHERE id IN (SELECT max(id) FROM events WHERE kind = ? AND name IN ({marks}) "
            "GROUP BY host, name)", (EventKind.ACTION.value, *actions))
        return {(e.host, e.name): e for e in found}

    def duty_events(self, after: int = 0) -> tuple[Event, ...]:
        """Acknowledgements, maintenance windows and silences after event id `after`, in
        order: what the duty state is folded from (and caught up on, every second)."""
        marks = ", ".join("?" for _ in DUTY_KINDS)
        return self._events(f"WHERE id > ? AND kind IN ({marks}) ORDER BY id",
                            (after, *(k.value for k in DUTY_KINDS)))

    def open_incident_id(self, host: str) -> int | None:
        current = self._open.get(host)
        return current[0] if current else None

    def open_incident(self, host: str) -> Incident | None:
        current = self._open.get(host)
        return self.incident(current[0]) if current else None

    def open_incidents(self) -> tuple[Incident, ...]:
        return self._incidents("WHERE closed IS NULL ORDER BY opened", ())

    def incidents(self, since: float | None = None, open_only: bool = False
                  ) -> tuple[Incident, ...]:
        """Incidents open now or active after `since` (opened, or closed after it)."""
        args: tuple[float, ...]
        if open_only:
            where, args = "WHERE closed IS NULL", ()
        elif since is not None:
            where, args = "WHERE closed IS NULL OR closed >= ?", (since,)
        else:
            where, args = "", ()
        return self._incidents(f"{where} ORDER BY opened", args)

    def incident(self, incident_id: int) -> Incident | None:
        found = self._incidents("WHERE id = ?", (incident_id,))
        return found[0] if found else None

    def _incidents(self, clause: str, args: tuple[object, ...]) -> tuple[Incident, ...]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, host, opened, since, closed, situation, severity, worst, "
                f"worst_severity FROM incidents {clause}", args).fetchall()
        return tuple(Incident(*row) for row in rows)

    def timeline(self, incident_id: int) -> tuple[Event, ...]:
        return self._events("WHERE incident = ? ORDER BY id", (incident_id,))

    def host_events(self, host: str, since: float | None = None) -> tuple[Event, ...]:
        """Everything recorded for a host, inside incidents or not."""
        return self._events("WHERE host = ? AND t >= ? ORDER BY id",
                            (host, since if since is not None else float("-inf")))

    def last_action(self, host: str, action: str) -> Event | None:
        """The newest output of an action on a host (traceroute for the network handoff)."""
        found = self._events("WHERE host = ? AND kind = ? AND name = ? ORDER BY id DESC "
                             "LIMIT 1", (host, EventKind.ACTION.value, action))
        return found[0] if found else None

    def _events(self, clause: str, args: tuple[object, ...]) -> tuple[Event, ...]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, incident, host, t, kind, name, detail, data FROM events {clause}",
                args).fetchall()
        return tuple(Event(i, inc, h, t, EventKind(k), n, d, json.loads(data or "{}"))
                     for i, inc, h, t, k, n, d, data in rows)

    def _last_situation(self, inc: Incident) -> _SITUATION_KEY:
        found = self._events("WHERE incident = ? AND kind IN (?, ?) ORDER BY id DESC LIMIT 1",
                             (inc.id, EventKind.OPENED.value, EventKind.SITUATION.value))
        if not found:
            return (inc.situation, inc.severity, ())
        evidence = (found[0].data or {}).get("evidence", [])
        return (found[0].name, found[0].severity or inc.severity,
                tuple(_NUMBER.sub("#", str(e)) for e in evidence)
                if isinstance(evidence, list) else ())
