"""The shared incident log on a real PostgreSQL: several consoles, the change feed, the server
going away mid-shift, one sender per notice, migrations, kill -9, and the [log] config.

The cluster is our own (tests/pgcluster.py), so a test may stop and start it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lvs_tui.config import ConfigError, LogSettings, SslMode, parse
from lvs_tui.incidents import EventKind, IncidentLog, IncidentLogError, open_log
from lvs_tui.incidents_pg import SCHEMA_VERSION, SharedLog
from lvs_tui.situation import Severity, Situation, SituationId
from tests.pgcluster import Cluster, pg_cluster

ROOT = Path(__file__).resolve().parent.parent
DOWN = Situation("a", SituationId.HOST_DOWN, Severity.CRITICAL, ("内外网不通",), since=900.0)
OK = Situation("a", SituationId.OK, Severity.OK)


@pytest.fixture
def pg() -> Cluster:
    return pg_cluster()


@pytest.fixture
def schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def console(pg: Cluster, schema: str, tmp_path: Path) -> Iterator[type[SharedLog]]:
    """console(name) opens the test schema as one console, with its own journal."""
    opened: list[SharedLog] = []

    def make(name: str = "a") -> SharedLog:
        log = SharedLog(pg.url, schema, console=name, journal=tmp_path / f"j-{name}.db",
                        connect=pg.connect)
        opened.append(log)
        return log

    yield make  # type: ignore[misc]
    for log in opened:
        log.close()


def rows(pg: Cluster, schema: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg.url, **pg.connect) as conn:
        conn.execute(f"SET search_path TO {schema}")
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_two_consoles_see_each_others_confirmations_through_the_feed(console) -> None:
    one, two = console("desk"), console("office")
    one.observe(DOWN, 1.0)
    two.observe(DOWN, 1.2)  # the same outage: one incident, both observations
    (inc,) = two.open_incidents()
    assert [(e.kind, e.console) for e in one.timeline(inc.id)] == [
        (EventKind.OPENED, "desk"), (EventKind.SITUATION, "office")]
    seen = two.changes(0)[-1].id
    assert two.wait_changes(0.1)  # the first call connects the LISTEN (and says: read now)
    assert not two.wait_changes(0.2)  # nothing new: a timeout
    woke: list[float] = []

    def feed() -> None:  # what the duty service's feed thread does
        if two.wait_changes(5.0):
            woke.append(time.monotonic())

    thread = threading.Thread(target=feed)
    thread.start()
    time.sleep(0.3)  # the feed is listening
    wrote = time.monotonic()
    one.confirm("a", "reboot_requested", 2.0, note="5666 说电源模块故障")
    thread.join(6)
    assert woke and 0 < woke[0] - wrote < 2.0
    new = two.changes(seen)
    assert [(e.kind, e.name, e.detail, e.console) for e in new] == [
        (EventKind.CONFIRMED, "reboot_requested", "5666 说电源模块故障", "desk")]
    assert two.confirmations("a") == (("reboot_requested", 2.0),)
    assert two.changes(new[-1].id) == ()


def test_the_recovery_seen_by_one_console_closes_the_incident_for_both(console) -> None:
    one, two = console("desk"), console("office")
    one.observe(DOWN, 1.0)
    two.observe(DOWN, 1.1)
    one.observe(OK, 5.0)
    assert two.open_incidents() == ()
    late = two.observe(OK, 6.0)  # the second console's recovery joins the closed incident
    assert late is not None and late.kind is EventKind.RECOVERED
    (inc,) = one.incidents()
    assert inc.closed == 5.0 and late.incident == inc.id
    again = two.observe(DOWN, 10.0)  # a new outage is a new incident
    assert again is not None and again.kind is EventKind.OPENED and again.incident != inc.id


def test_server_stopped_mid_shift_journals_and_converges(console, pg: Cluster,
                                                         schema: str) -> None:
    one, two = console("desk"), console("office")
    one.observe(DOWN, 1.0)
    one.confirm("a", "reboot_requested", 2.0)
    assert not one.degraded
    two.confirmation_events()  # read at start, as the duty service does
    pg.stop()
    try:
        # both keep working: every write is acknowledged (journaled), nothing raises
        e1 = one.confirm("a", "reboot_failed", 3.0, note="电源模块故障")
        # the runbook still finds its step: what the console read or confirmed itself
        assert one.confirmations("a") == (("reboot_requested", 2.0), ("reboot_failed", 3.0))
        assert [e.name for e in two.confirmation_events()] == ["reboot_requested"]
        e2 = two.record_text("a", "reboot", "请重启 a", "copied", 3.5)
        e3 = one.record_action("b", "ssh", "session ended", 4.0)
        assert e1.id < 0 and e2.id < 0 and e3.id < 0  # not on the server yet
        assert one.degraded and two.degraded and one.trouble
        assert [i.host for i in one.open_incidents()] == ["a"]  # as it last knew
        assert one.changes(0) == ()
        with pytest.raises(IncidentLogError, match="unreachable"):
            one.timeline(1)
    finally:
        pg.start()
    time.sleep(2.1)  # past the retry pause
    one.confirm("a", "fault_confirmed", 5.0)  # the first write after: replay, then this
    assert not one.degraded
    assert two.changes(0)  # a read reconnects and replays the second console's journal
    assert not two.degraded
    (inc,) = one.open_incidents()
    # in the order the server got them (office's journal came back last): by time here
    names = [(e.kind.value, e.name) for e in sorted(one.timeline(inc.id), key=lambda e: e.t)]
    assert names == [("opened", "host_down"), ("confirmed", "reboot_requested"),
                     ("confirmed", "reboot_failed"), ("text", "reboot"),
                     ("confirmed", "fault_confirmed")]
    assert [e.name for e in one.host_events("b")] == ["ssh"]
    assert rows(pg, schema, "SELECT count(*), count(DISTINCT uuid) FROM events") == [(6, 6)]


def test_a_journal_replayed_twice_changes_nothing(console, pg: Cluster, schema: str,
                                                 tmp_path: Path) -> None:
    one = console("desk")
    one.observe(DOWN, 1.0)
    pg.stop()
    try:
        for n in range(5):
            one.confirm("a", f"step-{n}", 2.0 + n)
    finally:
        pg.start()
    copy = tmp_path / "copy.db"  # the journal before replay (the WAL holds its entries)
    for suffix in ("", "-wal"):
        source = tmp_path / f"j-desk.db{suffix}"
        if source.exists():
            Path(f"{copy}{suffix}").write_bytes(source.read_bytes())
    time.sleep(2.1)
    assert one.changes(0) and not one.degraded
    before = rows(pg, schema, "SELECT id, uuid FROM events ORDER BY id")
    # as a console killed after the server took its events but before it forgot them
    replayed = SharedLog(pg.url, schema, console="desk", journal=copy, connect=pg.connect)
    assert not replayed.degraded
    replayed.close()
    assert rows(pg, schema, "SELECT id, uuid FROM events ORDER BY id") == before
    assert len(before) == 6


def test_two_consoles_claiming_one_notice_one_wins(console) -> None:
    consoles = [console(f"c{n}") for n in range(4)]
    consoles[0].observe(DOWN, 1.0)
    inc = consoles[0].open_incident("a")
    assert inc is not None
    results: dict[str, object] = {}
    start = threading.Barrier(len(consoles))

    def claim(log: SharedLog) -> None:
        start.wait()
        results[log.console] = log.claim_send(inc.id, "reboot", 1, log.console,
                                              f"值班员{log.console}", 10.0)

    threads = [threading.Thread(target=claim, args=(c,)) for c in consoles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [name for name, r in results.items() if r is None]
    assert len(winners) == 1
    for name, r in results.items():
        if name != winners[0]:
            assert r is not None and r.console == winners[0] and r.who == f"值班员{winners[0]}"
    # the next notice of the same kind is a new claim
    assert consoles[1].claim_send(inc.id, "reboot", 2, "c1", "值班员c1", 20.0) is None


def test_sqlite_log_claims_too(tmp_path: Path) -> None:
    with IncidentLog(tmp_path / "i.db") as one, IncidentLog(tmp_path / "i.db") as two:
        assert one.claim_send(1, "initial", 1, "desk", "张三", 5.0) is None
        got = two.claim_send(1, "initial", 1, "office", "李四", 6.0)
        assert got is not None and (got.console, got.who, got.t) == ("desk", "张三", 5.0)
        e = one.confirm("a", "x", 7.0)
        assert two.changes(0) == (e,) and two.changes(e.id) == ()
        assert not one.degraded


def test_any_event_kind_goes_through_the_generic_path(console, pg: Cluster,
                                                      schema: str) -> None:
    one, two = console("desk"), console("office")
    one.observe(DOWN, 1.0)
    e = one._record("a", 2.0, EventKind.CONFIRMED, "acknowledged", "李四 处理中",
                    {"until": 3600.0, "by": ["李四"]})
    got = two.changes(0)[-1]
    assert got == e and got.data == {"until": 3600.0, "by": ["李四"]}
    # a kind only a newer console knows is stored, and skipped by this console's readers
    with psycopg.connect(pg.url, **pg.connect) as conn:
        conn.execute(f"INSERT INTO {schema}.events (uuid, host, t, kind) VALUES "
                     "(gen_random_uuid(), 'a', 3.0, 'from_the_future')")
    assert [x.id for x in two.changes(0)] == [1, 2]


def test_a_newer_database_is_refused_with_one_line(console, pg: Cluster, schema: str) -> None:
    console("desk").close()
    rows_ = rows(pg, schema, "SELECT max(version) FROM schema_version")
    assert rows_ == [(SCHEMA_VERSION,)]
    with psycopg.connect(pg.url, **pg.connect) as conn:
        conn.execute(f"INSERT INTO {schema}.schema_version VALUES ({SCHEMA_VERSION + 1})")
    with pytest.raises(IncidentLogError) as exc:
        console("office")
    assert "newer than this lvs-tui" in str(exc.value) and "\n" not in str(exc.value)
    assert "lvs-tui-test" not in str(exc.value)  # never the password


def test_factory_reads_the_password_from_the_environment_and_keeps_the_demo_apart(
        pg: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("LVS_TEST_PG_PASSWORD", pg.connect["password"])
    name = f"t_{uuid.uuid4().hex[:8]}"
    settings = LogSettings(url=pg.url, password_env="LVS_TEST_PG_PASSWORD", schema=name,
                           sslmode=SslMode.DISABLE, console="desk")
    real = open_log(settings, demo=False)
    demo = open_log(settings, demo=True)
    try:
        real.observe(DOWN, 1.0)
        assert demo.open_incidents() == () and len(real.open_incidents()) == 1
        assert isinstance(demo, SharedLog) and demo.schema == f"{name}_demo"
        assert real.console == "desk" and demo.console == "desk"
        # a demo with no console name is a console of its own (two demos side by side)
        unnamed = open_log(LogSettings(url=pg.url, password_env="LVS_TEST_PG_PASSWORD",
                                       schema=name), demo=True)
        assert isinstance(unnamed, SharedLog) and unnamed.console.endswith(f"-{os.getpid()}")
        unnamed.close()
    finally:
        real.close()
        demo.close()
    assert isinstance(open_log(LogSettings(), demo=True), IncidentLog)
    monkeypatch.setenv("LVS_TEST_PG_PASSWORD", "wrong")
    with open_log(settings, demo=False) as log:  # wrong password: degraded, never a crash
        assert log.degraded and "password" in log.trouble
        assert log.confirm("a", "x", 1.0).id < 0


def test_log_config_section() -> None:
    base = _config_text()
    cfg = parse(base + '[log]\nurl = "postgresql://duty@db.example:5432/duty"\n'
                'password_env = "PGPASS"\nsslmode = "verify-full"\n')
    assert cfg.log.url.startswith("postgresql://") and cfg.log.sslmode is SslMode.VERIFY_FULL
    assert cfg.log.shared and cfg.log.schema == "lvs_tui"
    assert not parse(base).log.shared
    for bad, says in (
            ('url = "postgresql://duty:hunter2@db/duty"', "log.url: the URL carries a password"),
            ('password = "hunter2"', "log.password: secrets are never written"),
            ('url = "mysql://db"', "log.url: 'mysql://db' is not a postgresql:// URL"),
            ('sslmode = "sometimes"', "log.sslmode: 'sometimes' is not one of"),
            ('schema = "Drop Table"', "log.schema: 'Drop Table' is not a schema name"),
            ('sslrootcert = "/nonexistent/ca.pem"', "log.sslrootcert: '/nonexistent/ca.pem'")):
        with pytest.raises(ConfigError) as exc:
            parse(base + f"[log]\n{bad}\n")
        assert any(says in line for line in exc.value.lines), exc.value.lines
        assert "hunter2" not in str(exc.value)


def _config_text() -> str:
    import tomli_w

    from lvs_tui.sim import demo_document

    return tomli_w.dumps(demo_document())


# A console writing confirmations to the shared log; prints each name once acknowledged.
WRITER = """
import sys
from lvs_tui.incidents_pg import SharedLog
from lvs_tui.situation import Severity, Situation, SituationId
url, schema, journal, password, tag = sys.argv[1:6]
log = SharedLog(url, schema, console=tag, journal=__import__("pathlib").Path(journal),
                connect={"password": password, "connect_timeout": 1})
host = "h" + tag
log.observe(Situation(host, SituationId.HOST_DOWN, Severity.CRITICAL), 1.0)
n = 0
while True:
    n += 1
    log.confirm(host, f"{tag}-{n}", float(n), note="x" * (n % 300))
    sys.stdout.write(f"{tag}-{n}\\n")
    sys.stdout.flush()
"""


def _kill_writers(pg: Cluster, schema: str, tmp_path: Path, rounds: int) -> set[str]:
    acked: set[str] = set()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for r in range(rounds):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, pg.url, schema, str(tmp_path / "journal.db"),
             pg.connect["password"], str(r)], stdout=subprocess.PIPE, env=env, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip(), "writer died before writing"
        acked.add(first.strip())
        time.sleep(0.01 * (r % 5))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        acked |= {x for x in out.split("\n")[:-1] if x.strip()}
    return acked


def test_kill_9_loses_no_acknowledged_event_online_or_journaled(
        pg: Cluster, schema: str, tmp_path: Path) -> None:
    acked = _kill_writers(pg, schema, tmp_path, 8)
    pg.stop()
    try:
        offline = _kill_writers(pg, schema, tmp_path, 6)  # into the journal
    finally:
        pg.start()
    assert offline - acked
    with SharedLog(pg.url, schema, console="check", journal=tmp_path / "journal.db",
                   connect=pg.connect) as log:
        assert not log.degraded  # the journal is replayed on open
        stored = {e.name for e in log.changes(0, limit=100_000)
                  if e.kind is EventKind.CONFIRMED}
    missing = (acked | offline) - stored
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert rows(pg, schema, "SELECT count(*) - count(DISTINCT uuid) FROM events") == [(0,)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_change_feed_thread_hands_other_consoles_events_over(backend: str, tmp_path: Path,
                                                            schema: str) -> None:
    from lvs_tui.feed import ChangeFeed

    def make(name: str) -> IncidentLog | SharedLog:
        if backend == "sqlite":
            return IncidentLog(tmp_path / "i.db")
        pg = pg_cluster()
        return SharedLog(pg.url, schema, console=name, journal=tmp_path / f"j-{name}.db",
                         connect=pg.connect)

    one, two = make("desk"), make("office")
    one.confirm("a", "before", 1.0)  # history: the feed starts after it
    got: list[tuple[str, float]] = []
    arrived = threading.Event()

    def on_events(events: tuple[object, ...]) -> None:
        got.extend((e.name, time.monotonic()) for e in events)  # type: ignore[attr-defined]
        arrived.set()

    feed = ChangeFeed(two, on_events, poll=0.2)
    feed.start()
    try:
        time.sleep(0.5)
        wrote = time.monotonic()
        one.confirm("a", "acknowledged", 2.0)
        assert arrived.wait(3.0)
        assert [name for name, _ in got] == ["acknowledged"]
        assert got[0][1] - wrote < 2.0
    finally:
        feed.stop()
        one.close()
        two.close()


def test_a_console_never_closes_an_outage_it_did_not_see(console) -> None:
    one = console("desk")
    one.observe(DOWN, 1.0)  # the desk's vantage loses the host
    two = console("office")  # started later; its own vantage sees the host fine
    assert two.observe(OK, 2.0) is None
    assert [i.host for i in two.open_incidents()] == ["a"]
    assert two.retire(frozenset(), 3.0) == ()  # nor retires it: not its outage


def test_a_trouble_still_seen_after_another_console_closed_it_is_a_new_incident(
        console) -> None:
    one, two = console("desk"), console("office")
    first = one.observe(DOWN, 1.0)
    two.observe(DOWN, 1.5)
    two.observe(OK, 5.0)  # the office sees it back first and closes it
    assert one.observe(DOWN, 6.0) is None  # unchanged for the desk, which has not read yet
    one.changes(0)  # the feed: the desk reads the close
    again = one.observe(DOWN, 7.0)
    assert first is not None and again is not None
    assert again.kind is EventKind.OPENED and again.incident != first.incident


def test_a_late_recovery_from_the_journal_does_not_close_a_newer_outage(
        console, pg: Cluster) -> None:
    one, two = console("desk"), console("office")
    one.observe(DOWN, 1.0)
    pg.stop()
    try:
        late = one.observe(OK, 10.0)  # journaled while the server is away
        assert late is not None and late.id < 0
    finally:
        pg.start()
    # the office, back first, closes the old outage and sees a new one begin
    time.sleep(2.1)
    two.observe(DOWN, 2.0)
    two.observe(OK, 11.0)
    newer = two.observe(DOWN, 20.0)
    assert newer is not None and newer.kind is EventKind.OPENED
    one.changes(0)  # reconnects, replays the desk's recovery of t=10
    assert not one.degraded
    (still,) = two.open_incidents()
    assert still.id == newer.incident and still.closed is None
    first = one.incidents()[0]
    replayed = [e for e in one.timeline(first.id) if e.console == "desk"]
    assert replayed[-1].kind is EventKind.RECOVERED and replayed[-1].data == {"late": True}


def test_an_idle_console_shows_degraded_once_the_feed_loses_the_server(console,
                                                                       pg: Cluster) -> None:
    one = console("desk")
    assert one.wait_changes(0.1)  # the feed's first call connects its LISTEN
    assert not one.degraded
    pg.stop()
    try:
        deadline = time.monotonic() + 10
        while not one.degraded and time.monotonic() < deadline:
            one.wait_changes(0.5)
        assert one.degraded and one.trouble
    finally:
        pg.start()
    time.sleep(2.1)
    while one.degraded and time.monotonic() < deadline + 10:
        one.wait_changes(0.5)
    assert not one.degraded


def test_duty_events_record_and_notes_across_consoles(console, pg: Cluster,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import lvs_tui.incidents as incidents

    # whatever kinds the duty state folds (acknowledgements, maintenance …): here one we have
    monkeypatch.setattr(incidents, "DUTY_KINDS", (EventKind.ACTION,), raising=False)
    one, two = console("desk"), console("office")
    opened = one.observe(DOWN, 1.0, {"after_maintenance": "w1"})
    assert opened is not None and opened.data is not None
    assert opened.data["after_maintenance"] == "w1" and opened.data["severity"] == 4
    assert one.observe(OK, 2.0, {"ignored": True}) is not None
    one.observe(DOWN, 3.0)
    fleet_wide = one.record("", 4.0, EventKind.ACTION, "silence", "电信 维护",
                            {"vantages": ["zbx-telecom"]})
    on_host = two.record("a", 5.0, EventKind.ACTION, "ack", "李四", {"who": "李四"})
    two.changes(0)  # the feed: the office learns the desk's new incident
    assert fleet_wide.incident is None and on_host.incident == two.open_incident_id("a")
    assert two.open_incident_id("a") == one.open_incident_id("a") is not None
    assert [e.name for e in one.duty_events()] == ["silence", "ack"]
    assert one.duty_events(fleet_wide.id) == (on_host,)
    pg.stop()
    try:
        assert one.duty_events(0) == ()  # offline: nothing new, the caller keeps its place
    finally:
        pg.start()


def test_a_duty_role_on_a_schema_the_dba_made(pg: Cluster, schema: str,
                                              tmp_path: Path) -> None:
    role = f"duty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.url, **pg.connect, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'duty-pw'")
        conn.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {role}")
    url = pg.url.replace("postgres@", f"{role}@")
    with SharedLog(url, schema, console="desk", journal=tmp_path / "j.db",
                   connect={"password": "duty-pw"}) as log:
        assert not log.degraded
        assert log.observe(DOWN, 1.0) is not None
    # a schema it may not create: one line saying why, no traceback, never the password
    with pytest.raises(IncidentLogError) as exc:
        SharedLog(url, f"{schema}_x", console="desk", journal=tmp_path / "j2.db",
                  connect={"password": "duty-pw"})
    assert "permission denied" in str(exc.value) and "\n" not in str(exc.value)
    assert "duty-pw" not in str(exc.value)


# Another console, in its own process, on the demo's log: prints what its feed hands over.
WATCHER = """
import sys, time
from lvs_tui.config import LogSettings
from lvs_tui.feed import ChangeFeed
from lvs_tui.incidents import open_log
log = open_log(LogSettings(url=sys.argv[1], password_env="LVS_TEST_PG_PASSWORD",
                           schema=sys.argv[2]), demo=True)
def show(events):
    for e in events:
        print(e.console, e.kind.value, e.name, e.detail, flush=True)
feed = ChangeFeed(log, show, poll=5.0)
feed.start()
time.sleep(0.5)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_console_in_another_process_sees_an_acknowledgement_within_2_s(
        pg: Cluster, tmp_path: Path) -> None:
    name = f"t_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path),
           "LVS_TEST_PG_PASSWORD": pg.connect["password"]}
    proc = subprocess.Popen([sys.executable, "-c", WATCHER, pg.url, name],
                            stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "ready\n"
        with SharedLog(pg.url, f"{name}_demo", console="desk", journal=tmp_path / "j.db",
                       connect=pg.connect) as desk:
            desk.observe(DOWN, 1.0)
            line = proc.stdout.readline()
            assert line.startswith("desk opened host_down")
            wrote = time.monotonic()
            desk.confirm("a", "acknowledged", 2.0, note="李四 处理中")
            line = proc.stdout.readline()
            assert time.monotonic() - wrote < 2.0  # a poll would take up to 5 s here
            assert line == "desk confirmed acknowledged 李四 处理中\n"
    finally:
        proc.kill()
        proc.wait()


def test_open_incident_id_is_memory_and_follows_the_feed(console, pg: Cluster) -> None:
    one, two = console("desk"), console("office")
    opened = one.observe(DOWN, 1.0)
    assert opened is not None and one.open_incident_id("a") == opened.incident
    assert two.open_incident_id("a") is None  # not read yet: no query behind its back
    two.changes(0)
    assert two.open_incident_id("a") == opened.incident
    pg.stop()
    try:  # memory only: it answers with the server gone
        assert two.open_incident_id("a") == opened.incident
    finally:
        pg.start()
    time.sleep(0.5)
    one.observe(OK, 2.0)
    two.changes(0)
    assert two.open_incident_id("a") is None
