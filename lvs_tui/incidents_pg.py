"""The incident log on PostgreSQL, shared by every console pointed at it.

Same API as `incidents.IncidentLog` (the `DutyLog` protocol). Every write is one event with
a UUID, applied on the server in one transaction that also resolves the incident by host:
the open incident of a host is unique (a partial unique index), so two consoles seeing the
same outage write one incident with both consoles' observations (each event names its
console). Event ids are handed out under a transaction-wide advisory lock, so they grow in
commit order and a reader of `id > last_seen` never skips one committed late.

Offline first: when the server cannot be reached, writes go to a local SQLite journal
(`journal.Journal`) and the log is `degraded`; the journal is replayed in order when the
server is back. A replayed UUID the server already has is skipped, so replaying twice (or a
write whose COMMIT was cut off, journaled anyway) changes nothing.

Change feed: each insert NOTIFYs `<schema>_events` (a trigger); `wait_changes(timeout)`
blocks on LISTEN from its own connection (the duty service's feed thread, never the UI's)
and `changes(since_id)` reads what is new.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from lvs_tui.incidents import (
    _NUMBER,
    _SITUATION_KEY,
    Claim,
    Event,
    EventKind,
    Incident,
    IncidentLogError,
    _key,
)
from lvs_tui.journal import Journal, Pending
from lvs_tui.situation import Situation, SituationId

if TYPE_CHECKING:
    from lvs_tui.config import LogSettings

# Each entry migrates the schema from version i to i+1 (the schema_version table). Never edit
# a released entry: append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE incidents (
            id bigserial PRIMARY KEY,
            host text NOT NULL,
            opened double precision NOT NULL,
            since double precision,
            closed double precision,
            situation text NOT NULL,
            severity integer NOT NULL,
            worst text NOT NULL,
            worst_severity integer NOT NULL
        )""",
        "CREATE UNIQUE INDEX incidents_open_host ON incidents(host) WHERE closed IS NULL",
        "CREATE INDEX incidents_opened ON incidents(opened)",
        """CREATE TABLE events (
            id bigserial PRIMARY KEY,
            uuid uuid NOT NULL UNIQUE,
            incident bigint REFERENCES incidents(id),
            host text NOT NULL,
            t double precision NOT NULL,
            kind text NOT NULL,
            name text NOT NULL DEFAULT '',
            detail text NOT NULL DEFAULT '',
            data jsonb NOT NULL DEFAULT '{}',
            console text NOT NULL DEFAULT '',
            written timestamptz NOT NULL DEFAULT now()
        )""",
        "CREATE INDEX events_incident ON events(incident, id)",
        "CREATE INDEX events_host ON events(host, t)",
        "CREATE INDEX events_kind_name ON events(kind, name, host)",
        """CREATE TABLE claims (
            incident bigint NOT NULL,
            kind text NOT NULL,
            seq integer NOT NULL,
            console text NOT NULL,
            who text NOT NULL,
            t double precision NOT NULL,
            PRIMARY KEY (incident, kind, seq)
        )""",
        """CREATE FUNCTION notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(TG_TABLE_SCHEMA || '_events', NEW.id::text);
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH ROW "
        "EXECUTE FUNCTION notify_event()",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_EVENT_COLUMNS = "id, incident, host, t, kind, name, detail, data, console"
_INCIDENT_COLUMNS = ("id, host, opened, since, closed, situation, severity, worst, "
                     "worst_severity")
_INC = "_incident"  # data key carrying the incident fields of an observation, not stored
_RETRY = 2.0  # seconds between reconnection attempts while degraded
T = TypeVar("T")


def default_journal(schema: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "lvs-tui" / f"journal-{schema}.db"


@dataclass(frozen=True, slots=True)
class _Op:
    """One event to apply on the server (now, or from the journal later)."""

    uuid: str
    host: str
    t: float
    kind: str
    name: str
    detail: str
    data: dict[str, object]
    console: str


class SharedLog:
    """The incident log on a PostgreSQL schema. Thread-safe; writes never raise for an
    unreachable server (they are journaled), readers do (IncidentLogError, one line)."""

    def __init__(self, conninfo: str, schema: str = "lvs_tui", console: str = "",
                 journal: Path | None = None, connect: dict[str, Any] | None = None) -> None:
        self.conninfo = conninfo
        self.schema = schema
        self.console = console or socket.gethostname()
        self.where = f"{_redacted(conninfo)} schema {schema}"
        self._connect_args = {"connect_timeout": 3, **(connect or {})}
        self._channel = f"{schema}_events"
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._listen: psycopg.Connection[Any] | None = None
        self._next_try = 0.0
        self._closed = False
        self.trouble = ""  # why the server is not used right now ("" when online)
        self._journal = Journal(journal or default_journal(schema))
        self._pending = self._journal.count()
        # host -> (incident id or None while only journaled, last recorded situation)
        self._open: dict[str, tuple[int | None, _SITUATION_KEY]] = {}
        self._cached: dict[str, Incident] = {}  # open incidents, for readers while offline
        self._confirmed: dict[str, tuple[Event, ...]] = {}  # their confirmations, likewise
        self._reconnect(first=True)

    @classmethod
    def from_settings(cls, settings: LogSettings, demo: bool) -> SharedLog:
        """The log `[log]` describes; the demo on its own schema, never the real duty's."""
        from lvs_tui.secret import SecretError, read_secret

        try:
            password = read_secret(settings.password_env, settings.password_file,
                                   "log.password")
        except SecretError as exc:
            raise IncidentLogError(f"incident log: {exc}") from None
        connect: dict[str, Any] = {"connect_timeout": max(1, round(settings.connect_timeout))}
        if password is not None:
            connect["password"] = password
        if settings.sslmode is not None:
            connect["sslmode"] = settings.sslmode.value
        for key in ("sslrootcert", "sslcert", "sslkey"):
            value = getattr(settings, key)
            if value:
                connect[key] = str(Path(value).expanduser())
        schema = f"{settings.schema}_demo" if demo else settings.schema
        # Two demos side by side on one machine are two consoles, not one.
        console = settings.console or (f"{socket.gethostname()}-demo-{os.getpid()}"
                                       if demo else "")
        return cls(settings.url, schema, console, connect=connect)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in (self._conn, self._listen):
                if conn is not None:
                    conn.close()
            self._conn = self._listen = None
            self._journal.close()

    def __enter__(self) -> SharedLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connection and health -------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        """The server is unreachable or the journal still holds events it has not got."""
        return self._conn is None or self._pending > 0

    def _reconnect(self, first: bool = False) -> bool:
        """Connect (at most every _RETRY s), migrate, replay the journal. True if online."""
        with self._lock:
            if self._closed:
                return False
            if self._conn is not None:
                return self._replay()
            now = time.monotonic()
            if not first and now < self._next_try:
                return False
            self._next_try = now + _RETRY
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True, **self._connect_args)
            except psycopg.Error as exc:
                self.trouble = _line(exc)
                return False
            try:
                self._migrate(conn)
                conn.execute(sql.SQL("SET search_path TO {}").format(
                    sql.Identifier(self.schema)))
            except psycopg.OperationalError as exc:
                conn.close()
                self.trouble = _line(exc)
                return False
            except (psycopg.Error, IncidentLogError) as exc:
                conn.close()
                if isinstance(exc, IncidentLogError):
                    raise
                raise IncidentLogError(f"{self.where}: cannot prepare the schema: "
                                       f"{_line(exc)}") from None
            self._conn = conn
            self.trouble = ""
            if self._replay():
                self._resync()
            return self._conn is not None

    def _resync(self) -> None:
        """Resume what this console observed from the server (all of it, once the journal
        is replayed): the open incidents it wrote a situation to, with its last one. Other
        consoles' incidents are theirs to close: a console that sees a host ok never closes
        an outage it did not see."""
        assert self._conn is not None
        try:
            rows = self._conn.execute(
                f"SELECT {_INCIDENT_COLUMNS}, EXISTS (SELECT 1 FROM events e WHERE "
                "e.incident = i.id AND e.console = %s AND e.kind IN (%s, %s)) "
                "FROM incidents i WHERE closed IS NULL ORDER BY opened, id",
                (self.console, EventKind.OPENED.value, EventKind.SITUATION.value)).fetchall()
            found = [(Incident(*row[:-1]), bool(row[-1])) for row in rows]
            self._open = {i.host: (i.id, self._last_situation(i)) for i, mine in found if mine}
            self._cached = {i.host: i for i, _ in found}
        except psycopg.OperationalError as exc:
            self._lost(exc)

    def _lost(self, exc: Exception) -> None:
        """The server went away: drop the connection, retry later."""
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
        self._next_try = 0.0  # it worked until now: the next call may try at once
        self.trouble = _line(exc)

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        schema = sql.Identifier(self.schema)
        with conn.transaction():
            # One console migrates at a time; the others find the work done.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
            # Create only what is missing: a duty role may have been granted a schema made
            # by the DBA without the right to create one (CREATE … IF NOT EXISTS would fail).
            if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                            (self.schema,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(schema))
            if conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,):
                conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
            if version > SCHEMA_VERSION:
                raise IncidentLogError(
                    f"{self.where}: schema version {version} is newer than this lvs-tui "
                    f"understands ({SCHEMA_VERSION}): upgrade lvs-tui")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target - 1]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (target,))

    # -- writing ------------------------------------------------------------------------------
    def _write(self, op: _Op) -> Event:
        """Apply on the server, or journal it durably when the server cannot take it."""
        with self._lock:
            # Twice: a connection that died under us (the server restarted) gets one new try.
            for _ in range(2):
                if not ((self._conn is not None and self._pending == 0) or self._reconnect()):
                    break
                try:
                    return self._apply(op)
                except psycopg.OperationalError as exc:
                    # Whether or not the COMMIT got through, a retry or the journal's
                    # replay is safe: the server skips a UUID it has.
                    self._lost(exc)
                except psycopg.Error as exc:
                    raise IncidentLogError(f"{self.where}: cannot write: {_line(exc)}"
                                           ) from None
            seq = self._journal.append(op.uuid, op.host, op.t, op.kind, op.name, op.detail,
                                       op.data, op.console)
            self._pending += 1
            current = self._open.get(op.host)
            data = {k: v for k, v in op.data.items() if k != _INC}
            return Event(-seq, current[0] if current else None, op.host, op.t,
                         EventKind(op.kind), op.name, op.detail, data, op.console)

    def _replay(self) -> bool:
        """Send the journal to the server in order; True once it is empty."""
        while self._pending > 0 and self._conn is not None:
            batch = self._journal.pending()
            if not batch:
                self._pending = 0
                break
            for p in batch:
                try:
                    self._apply(_op_of(p), replay=True)
                except psycopg.OperationalError as exc:
                    self._lost(exc)
                    return False
                except psycopg.Error as exc:
                    raise IncidentLogError(f"{self.where}: cannot replay the journal "
                                           f"{self._journal.path}: {_line(exc)}") from None
                self._journal.done(p.seq)
                self._pending -= 1
        return self._conn is not None

    def _apply(self, op: _Op, replay: bool = False) -> Event:
        """One event in one transaction, resolving its incident on the server. A replayed
        event belongs to the incident of its own time: an outage another console opened
        after it was written (while this one was offline) is not its to close or join."""
        assert self._conn is not None
        conn = self._conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._channel,))
            row = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE uuid = %s",
                               (op.uuid,)).fetchone()
            if row is not None:  # replayed: the server has it already
                return _event(row)
            found = conn.execute("SELECT id, opened FROM incidents WHERE host = %s AND "
                                 "closed IS NULL", (op.host,)).fetchone()
            incident: int | None = int(found[0]) if found else None
            data = dict(op.data)
            fields = data.pop(_INC, None)
            kind = EventKind(op.kind) if op.kind in EventKind._value2member_map_ else None
            situation = isinstance(fields, dict) and kind in (EventKind.OPENED,
                                                              EventKind.SITUATION)
            if replay and found is not None and float(found[1]) > op.t and not situation:
                # Written offline before this outage began: it belongs to the outage of its
                # own time (if any) and closes nothing.
                then = conn.execute(
                    "SELECT max(id) FROM incidents WHERE host = %s AND opened <= %s AND "
                    "closed >= %s", (op.host, op.t, op.t)).fetchone()
                incident = int(then[0]) if then and then[0] is not None else None
                data["late"] = True
            elif situation:
                assert isinstance(fields, dict)
                incident, kind = self._situation(conn, incident, op, fields)
            elif kind in (EventKind.RECOVERED, EventKind.RETIRED):
                if incident is not None:
                    conn.execute("UPDATE incidents SET closed = %s WHERE id = %s",
                                 (op.t, incident))
                else:  # another console closed it first: the event joins the last one
                    last = conn.execute("SELECT max(id) FROM incidents WHERE host = %s",
                                        (op.host,)).fetchone()
                    incident = int(last[0]) if last and last[0] is not None else None
            new = conn.execute(
                "INSERT INTO events (uuid, incident, host, t, kind, name, detail, data, "
                f"console) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_EVENT_COLUMNS}",
                (op.uuid, incident, op.host, op.t, kind.value if kind else op.kind, op.name,
                 op.detail, Jsonb(data), op.console)).fetchone()
        assert new is not None
        return _event(new)

    def _situation(self, conn: psycopg.Connection[Any], incident: int | None, op: _Op,
                   f: dict[str, Any]) -> tuple[int | None, EventKind]:
        """Open the host's incident or join the open one; record the situation on it."""
        severity, problem = int(f["severity"]), bool(f["problem"])
        if incident is None:
            if not problem:  # nothing open and no trouble: an observation, no incident
                return None, EventKind.SITUATION
            row = conn.execute(
                "INSERT INTO incidents (host, opened, since, situation, severity, worst, "
                "worst_severity) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (op.host, op.t, f.get("since"), op.name, severity, op.name, severity)
            ).fetchone()
            assert row is not None
            return int(row[0]), EventKind.OPENED
        conn.execute("UPDATE incidents SET situation = %s, severity = %s WHERE id = %s",
                     (op.name, severity, incident))
        if problem:
            conn.execute("UPDATE incidents SET worst = %s, worst_severity = %s "
                         "WHERE id = %s AND worst_severity < %s",
                         (op.name, severity, incident, severity))
        return incident, EventKind.SITUATION

    def _op(self, host: str, t: float, kind: EventKind | str, name: str = "",
            detail: str = "", data: dict[str, object] | None = None) -> _Op:
        return _Op(str(uuidlib.uuid4()), host, t, str(kind), name, detail, dict(data or {}),
                   self.console)

    # -- writers (the IncidentLog API) -----------------------------------------------------------
    def observe(self, situation: Situation, now: float,
                note: dict[str, object] | None = None) -> Event | None:
        """As IncidentLog.observe (`note` joins the data of an opening event); the server
        decides whether this opens the host's incident or joins another console's."""
        host = situation.host
        key = _key(situation)
        current = self._open.get(host)
        if current is None and not situation.is_problem:
            return None
        if current is not None and situation.id is SituationId.OK:
            return self._close(host, now, EventKind.RECOVERED)
        if current is not None and key == current[1]:
            return None
        data: dict[str, object] = {
            "severity": int(situation.severity), "evidence": list(situation.evidence),
            "down": list(situation.down_addresses), "on_alert_page": situation.on_alert_page,
            _INC: {"severity": int(situation.severity), "since": situation.since,
                   "problem": situation.is_problem}}
        kind = EventKind.OPENED if current is None else EventKind.SITUATION
        if current is None and note:
            data = {**note, **data}
        event = self._write(self._op(host, now, kind, situation.id.value,
                                     "；".join(situation.evidence), data))
        if event.incident is None and event.id > 0:
            self._forget(host)
            return event
        self._open[host] = (event.incident, key)
        old = self._cached.get(host)
        worst = (old.worst, old.worst_severity) if old else ("", -1)
        if situation.is_problem and int(situation.severity) > worst[1]:
            worst = (situation.id.value, int(situation.severity))
        self._cached[host] = Incident(
            event.incident or -1, host, old.opened if old else now,
            old.since if old else situation.since, None, situation.id.value,
            int(situation.severity), *worst)
        return event

    def _close(self, host: str, now: float, kind: EventKind, detail: str = "") -> Event:
        event = self._write(self._op(host, now, kind, kind.value if detail else "ok", detail))
        self._forget(host)
        return event

    def _forget(self, host: str) -> None:
        """The host's incident closed: nothing of it stays in this console's memory."""
        self._open.pop(host, None)
        self._cached.pop(host, None)
        self._confirmed.pop(host, None)

    def retire(self, hosts: frozenset[str], now: float) -> tuple[Event, ...]:
        """Close the open incidents of hosts no longer in the config. The consoles sharing
        a log are expected to share the fleet too: this closes them for everyone."""
        gone = sorted(h for h in list(self._open) if h not in hosts)  # the feed may pop
        return tuple(self._close(h, now, EventKind.RETIRED, "removed from the config")
                     for h in gone)

    def confirm(self, host: str, name: str, now: float, note: str = "") -> Event:
        event = self._record(host, now, EventKind.CONFIRMED, name, note)
        if host in self._cached:
            self._confirmed[host] = (*self._confirmed.get(host, ()), event)
        return event

    def record_text(self, host: str, kind: str, text: str, how: str, now: float,
                    to: str = "") -> Event:
        data: dict[str, object] = {"how": how}
        if to:
            data["to"] = to
        return self._record(host, now, EventKind.TEXT, kind, text, data)

    def record_action(self, host: str, action: str, output: str, now: float,
                      ok: bool | None = None) -> Event:
        data: dict[str, object] = {} if ok is None else {"ok": ok}
        return self._record(host, now, EventKind.ACTION, action, output, data)

    def record(self, host: str, now: float, kind: EventKind, name: str = "", detail: str = "",
               data: dict[str, object] | None = None) -> Event:
        """Any other event (acknowledgements, maintenance, silences, flapping), on the host's
        open incident if it has one; `host` "" for a fleet-wide one."""
        return self._record(host, now, kind, name, detail, data)

    def _record(self, host: str, now: float, kind: EventKind, name: str, detail: str,
                data: dict[str, object] | None = None) -> Event:
        """Any event kind (acknowledgements, maintenance, silences …): kind as text, data
        as jsonb, on the host's open incident as the server knows it."""
        return self._write(self._op(host, now, kind, name, detail, data))

    def claim_send(self, incident: int, kind: str, seq: int, console: str, who: str,
                   now: float) -> Claim | None:
        """Claim sending notice (incident, kind, seq): None if this console may send it,
        else who claimed it first and when. Offline, nobody can be asked: IncidentLogError
        (the caller decides whether to send unclaimed)."""
        with self._reading() as conn:
            row = conn.execute(
                "INSERT INTO claims (incident, kind, seq, console, who, t) VALUES "
                "(%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                (incident, kind, seq, console, who, now)).fetchone()
            if row is not None:
                return None
            got = conn.execute("SELECT console, who, t FROM claims WHERE incident = %s AND "
                               "kind = %s AND seq = %s", (incident, kind, seq)).fetchone()
        assert got is not None
        return Claim(str(got[0]), str(got[1]), float(got[2]))

    # -- readers ------------------------------------------------------------------------------
    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            if self._conn is None and not self._reconnect():
                raise IncidentLogError(f"{self.where}: unreachable: {self.trouble}")
            assert self._conn is not None
            try:
                yield self._conn
            except psycopg.OperationalError as exc:
                self._lost(exc)
                raise IncidentLogError(f"{self.where}: unreachable: {self.trouble}") from None
            except psycopg.Error as exc:
                raise IncidentLogError(f"{self.where}: {_line(exc)}") from None

    def _events(self, clause: str, args: tuple[object, ...]) -> tuple[Event, ...]:
        with self._reading() as conn:
            rows = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events {clause}",
                                args).fetchall()
        return tuple(_event(r) for r in rows if r[4] in EventKind._value2member_map_)

    def _incidents(self, clause: str, args: tuple[object, ...]) -> tuple[Incident, ...]:
        with self._reading() as conn:
            rows = conn.execute(f"SELECT {_INCIDENT_COLUMNS} FROM incidents {clause}",
                                args).fetchall()
        return tuple(Incident(*row) for row in rows)

    def confirmations(self, host: str) -> tuple[tuple[str, float], ...]:
        return tuple((e.name, e.t) for e in self.confirmation_events(host))

    def confirmation_events(self, host: str | None = None) -> tuple[Event, ...]:
        """As IncidentLog's; offline, what this console last read or confirmed itself."""
        if host is not None:
            found = self._from_server(lambda: self._events(
                "WHERE kind = %s AND incident = (SELECT id FROM incidents WHERE host = %s "
                "AND closed IS NULL) ORDER BY id", (EventKind.CONFIRMED.value, host)))
            if found is None:
                return self._confirmed.get(host, ())
            self._confirmed[host] = found
            return found
        found = self._from_server(lambda: self._events(
            "WHERE kind = %s AND incident IN (SELECT id FROM incidents WHERE closed IS NULL) "
            "ORDER BY id", (EventKind.CONFIRMED.value,)))
        if found is None:
            return tuple(sorted((e for got in self._confirmed.values() for e in got),
                                key=lambda e: e.t))
        grouped: dict[str, tuple[Event, ...]] = {}
        for e in found:
            grouped[e.host] = (*grouped.get(e.host, ()), e)
        self._confirmed = grouped
        return found

    def last_actions(self, actions: tuple[str, ...]) -> dict[tuple[str, str], Event]:
        found = self._events(
            "WHERE id IN (SELECT max(id) FROM events WHERE kind = %s AND name = ANY(%s) "
            "GROUP BY host, name)", (EventKind.ACTION.value, list(actions)))
        return {(e.host, e.name): e for e in found}

    def duty_events(self, after: int = 0) -> tuple[Event, ...]:
        """Acknowledgements, maintenance windows and silences after event id `after`, from
        every console, in order; () while the server is unreachable (the caller keeps
        `after` and catches up later)."""
        from lvs_tui.incidents import DUTY_KINDS

        found = self._from_server(lambda: self._events(
            "WHERE id > %s AND kind = ANY(%s) ORDER BY id",
            (after, [k.value for k in DUTY_KINDS])))
        return found or ()

    def open_incident_id(self, host: str) -> int | None:
        """The id of the host's open incident, from memory (safe on the UI thread): the one
        this console observes, else one another console opened as last read through
        changes() or open_incidents(). None while it is only in the journal."""
        current = self._open.get(host)
        if current is not None:
            return current[0]
        known = self._cached.get(host)
        return known.id if known is not None and known.id > 0 else None

    def _from_server(self, read: Callable[[], T]) -> T | None:
        """`read()` on the server; None when it cannot be reached (the caller answers from
        memory). Any other failure still raises."""
        for _ in range(2):  # a connection that died under the read gets one new try
            if self.degraded and not self._reconnect():
                return None
            try:
                return read()
            except IncidentLogError:
                if self._conn is not None:
                    raise
        return None

    def open_incident(self, host: str) -> Incident | None:
        """The host's open incident on the server (offline: as this console last knew it)."""
        found = self._from_server(
            lambda: self._incidents("WHERE host = %s AND closed IS NULL", (host,)))
        if found is None:
            return self._cached.get(host)
        return found[0] if found else None

    def open_incidents(self) -> tuple[Incident, ...]:
        found = self._from_server(
            lambda: self._incidents("WHERE closed IS NULL ORDER BY opened, id", ()))
        if found is None:
            return tuple(sorted(self._cached.values(), key=lambda i: i.opened))
        self._cached = {i.host: i for i in found}
        return found

    def incidents(self, since: float | None = None, open_only: bool = False
                  ) -> tuple[Incident, ...]:
        args: tuple[float, ...] = ()
        if open_only:
            where = "WHERE closed IS NULL"
        elif since is not None:
            where, args = "WHERE closed IS NULL OR closed >= %s", (since,)
        else:
            where = ""
        return self._incidents(f"{where} ORDER BY opened, id", args)

    def incident(self, incident_id: int) -> Incident | None:
        found = self._incidents("WHERE id = %s", (incident_id,))
        return found[0] if found else None

    def timeline(self, incident_id: int) -> tuple[Event, ...]:
        return self._events("WHERE incident = %s ORDER BY id", (incident_id,))

    def host_events(self, host: str, since: float | None = None) -> tuple[Event, ...]:
        return self._events("WHERE host = %s AND t >= %s ORDER BY id",
                            (host, since if since is not None else float("-inf")))

    def last_action(self, host: str, action: str) -> Event | None:
        found = self._events("WHERE host = %s AND kind = %s AND name = %s ORDER BY id DESC "
                             "LIMIT 1", (host, EventKind.ACTION.value, action))
        return found[0] if found else None

    def _last_situation(self, inc: Incident) -> _SITUATION_KEY:
        assert self._conn is not None
        rows = self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE incident = %s AND console = %s AND "
            "kind IN (%s, %s) ORDER BY id DESC LIMIT 1",
            (inc.id, self.console, EventKind.OPENED.value, EventKind.SITUATION.value)
        ).fetchall()
        found = [_event(r) for r in rows]
        if not found:
            return (inc.situation, inc.severity, ())
        evidence = (found[0].data or {}).get("evidence", [])
        return (found[0].name, found[0].severity or inc.severity,
                tuple(_NUMBER.sub("#", str(e)) for e in evidence)
                if isinstance(evidence, list) else ())

    # -- change feed -------------------------------------------------------------------------------
    def changes(self, since_id: int, limit: int = 1000) -> tuple[Event, ...]:
        """Events with id > since_id, oldest first, from every console; () while the server
        is unreachable (the caller keeps since_id and catches up later)."""
        events = self._from_server(
            lambda: self._events("WHERE id > %s ORDER BY id LIMIT %s", (since_id, limit)))
        if events is None:
            return ()
        for e in events:
            if e.console != self.console:
                self._learn(e)
        return events

    def _learn(self, e: Event) -> None:
        """Follow another console's openings and closings in this console's memory."""
        known = self._cached.get(e.host)
        if e.kind is EventKind.OPENED and e.incident is not None and (
                known is None or known.id != e.incident):
            self._cached[e.host] = Incident(e.incident, e.host, e.t, None, None, e.name,
                                            e.severity or 0, e.name, e.severity or 0)
        elif e.kind in (EventKind.RECOVERED, EventKind.RETIRED):
            # An outage this console observed, closed elsewhere: a trouble this console
            # still sees is then a new incident, not a change of the closed one.
            current = self._open.get(e.host)
            if current is not None and current[0] == e.incident:
                self._forget(e.host)
            if known is not None and known.id == e.incident:
                self._cached.pop(e.host, None)

    def last_event_id(self) -> int:
        """Where a change feed starting now begins (IncidentLogError while offline)."""
        with self._reading() as conn:
            row = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        return int(row[0]) if row else 0

    def wait_changes(self, timeout: float) -> bool:
        """Block up to `timeout` s for a notification of a new event (LISTEN, on a
        connection of its own: call it from one background thread). True when woken by one;
        False on timeout or while the server is unreachable (then it also retries the
        connection and the journal's replay)."""
        deadline = time.monotonic() + timeout
        listen = self._listen
        if self._closed:
            return False
        if listen is None:
            try:
                listen = psycopg.connect(self.conninfo, autocommit=True, **self._connect_args)
                listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                self._listen = listen
            except psycopg.Error as exc:
                self._unreachable(exc)
                time.sleep(max(0.0, min(deadline - time.monotonic(), _RETRY)))
                return False
            self._reconnect()  # back: replay the journal, and the caller reads what it missed
            return True
        try:
            for _ in listen.notifies(timeout=max(0.0, deadline - time.monotonic()),
                                     stop_after=1):
                return True
        except psycopg.Error as exc:  # the server went away (or close() closed it)
            with suppress(psycopg.Error):
                listen.close()
            self._listen = None
            self._unreachable(exc)
            return False
        if self._pending or self._conn is None:
            self._reconnect()  # an idle console comes back (and replays) without a write
        return False

    def _unreachable(self, exc: psycopg.Error) -> None:
        """The feed cannot reach the server: the writer's connection is as good as gone."""
        with self._lock:
            if self._conn is not None:
                self._lost(exc)
            else:
                self.trouble = self.trouble or _line(exc)

def _event(row: tuple[Any, ...]) -> Event:
    i, inc, h, t, k, n, d, data, console = row
    return Event(int(i), None if inc is None else int(inc), h, float(t), EventKind(k), n, d,
                 data if isinstance(data, dict) else {}, console)


def _op_of(p: Pending) -> _Op:
    return _Op(p.uuid, p.host, p.t, p.kind, p.name, p.detail, p.data, p.console)


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _redacted(conninfo: str) -> str:
    """The URL as shown in a message: never a password, even one put in it by mistake."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "postgresql://…"
    host = params.get("host", "localhost")
    port = params.get("port", "5432")
    return f"postgresql://{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}"
