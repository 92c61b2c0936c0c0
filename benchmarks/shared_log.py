"""Benchmark: 3 consoles × 500 hosts sharing one incident log on PostgreSQL, through the
demo's shift at 10× speed.

    .venv/bin/python benchmarks/shared_log.py [--url postgresql://…] [--speed 10]

Without --url (as root) it starts a throwaway PostgreSQL cluster on loopback (the tests'
tests/pgcluster.py) and removes it at the end. The fleet is the demo's at scale 12 (504
hosts); one simulation feeds the evaluation (every console probes the same fleet), then each
console, in its own thread, feeds every host's situation to its own SharedLog once per wall
second, as the dashboard does, and acts on each new incident like an operator (a
confirmation, a claimed and recorded notice, a diagnostics run). Each console also runs the
change feed (wait_changes + changes, as the duty service's feed thread will).

Prints: events written per second; p95 (and max) of the time from the start of a write on
one console to its read through changes() on another, against the issue's 2 s; and the
database's growth per day of duty at this rate.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lvs_tui.board import EvalMemo, evaluate  # noqa: E402
from lvs_tui.incidents_pg import SharedLog  # noqa: E402
from lvs_tui.sim import Sim, demo_config  # noqa: E402
from lvs_tui.situation import Situation  # noqa: E402
from lvs_tui.state import StateStore  # noqa: E402

TARGET_P95 = 2.0  # seconds: an acknowledgement shows on the other consoles within 2 s
CONSOLES = ("desk", "night", "office")


class Console:
    """One console: its own SharedLog, its write thread's timings, its feed's reads."""

    def __init__(self, name: str, url: str, schema: str, connect: dict[str, object],
                 journal: Path) -> None:
        self.name = name
        self.log = SharedLog(url, schema, console=name, journal=journal, connect=connect)
        self.started: dict[int, float] = {}  # event id -> when its write began
        self.seen: list[tuple[int, float]] = []  # (event id, when the feed read it)
        self.writes = 0
        self.known: set[str] = set()  # hosts whose incident this console acted on

    def write(self, do: object) -> None:
        t = time.monotonic()
        event = do() if callable(do) else None
        if event is not None and event.id > 0:
            self.started[event.id] = t
            self.writes += 1

    def feed(self, stop: threading.Event) -> None:
        last = 0
        while not stop.is_set():
            self.log.wait_changes(0.5)
            for e in self.log.changes(last):
                last = e.id
                if e.console != self.name:
                    self.seen.append((e.id, time.monotonic()))


def act(console: Console, index: int, situations: list[Situation], now: float) -> None:
    """Feed the board to the log; act on new incidents the way an operator would."""
    log = console.log
    for s in situations:
        console.write(lambda s=s: log.observe(s, now))
    for inc in log.open_incidents():
        if inc.host in console.known:
            continue
        console.known.add(inc.host)
        turn = (hash(inc.host) + index) % len(CONSOLES)
        if turn == 0:
            console.write(lambda h=inc.host: log.confirm(h, "reboot_requested", now, "5666"))
        elif turn == 1 and log.claim_send(inc.id, "initial", 1, console.name, "值班员",
                                          now) is None:
            console.write(lambda h=inc.host: log.record_text(h, "initial", "故障通报",
                                                             "sent", now, to="IM"))
        else:
            console.write(lambda h=inc.host: log.record_action(h, "diagnostics",
                                                               "ip -br link\n" * 40, now,
                                                               ok=True))


def schema_size(url: str, connect: dict[str, object], schema: str) -> int:
    with psycopg.connect(url, **connect) as conn:  # type: ignore[arg-type]
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)).fetchone()
    return int(row[0]) if row else 0


def kinds(url: str, connect: dict[str, object], schema: str) -> str:
    with psycopg.connect(url, **connect) as conn:  # type: ignore[arg-type]
        rows = conn.execute(f"SELECT kind, count(*) FROM {schema}.events GROUP BY kind "
                            "ORDER BY count(*) DESC").fetchall()
        incidents = conn.execute(f"SELECT count(*) FROM {schema}.incidents").fetchone()
    return (", ".join(f"{k} {n}" for k, n in rows)
            + f"; {incidents[0] if incidents else 0} incidents")


def run(url: str, connect: dict[str, object], speed: float, minutes: float) -> int:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="lvs-tui-bench-"))
    consoles = [Console(n, url, schema, connect, tmp / f"j-{n}.db") for n in CONSOLES]
    base = schema_size(url, connect, schema)
    cfg = demo_config(12)
    sim = Sim("shift", speed=speed, config=cfg)
    store = StateStore()
    sim.fill(store, 0)
    memo = EvalMemo()
    stop = threading.Event()
    feeds = [threading.Thread(target=c.feed, args=(stop,), daemon=True) for c in consoles]
    for f in feeds:
        f.start()
    sim_seconds = minutes * 60
    done, evaluations = 0, 0
    wall0 = time.monotonic()
    print(f"{len(cfg.fleet.hosts)} hosts, {len(consoles)} consoles, shift at {speed:g}× "
          f"({sim_seconds / speed:.0f} s), schema {schema}", flush=True)
    while done < sim_seconds:
        tick0 = time.monotonic()
        target = min(int(sim.elapsed()), int(sim_seconds))
        for k in range(done + 1, target + 1):
            sim.tick(store, k)
        done = max(done, target)
        now = sim.t0 + done
        situations = [row.situation for row in evaluate(cfg, store, now, memo).rows]
        evaluations += 1
        workers = [threading.Thread(target=act, args=(c, i, situations, now))
                   for i, c in enumerate(consoles)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick0)))
    time.sleep(1.5)  # the feeds read the last writes
    stop.set()
    for f in feeds:
        f.join(2)
    wall = time.monotonic() - wall0
    size = schema_size(url, connect, schema) - base
    by_kind = kinds(url, connect, schema)
    started = {i: t for c in consoles for i, t in c.started.items()}
    lags = sorted(seen - started[i] for c in consoles for i, seen in c.seen if i in started)
    writes = sum(c.writes for c in consoles)
    for c in consoles:
        c.log.close()
    shutil.rmtree(tmp, ignore_errors=True)  # the (empty) journals
    if not lags:
        print("no event crossed consoles: nothing measured")
        return 1
    p95 = lags[int(0.95 * (len(lags) - 1))]
    per_day = size / done * 86400 if done else 0.0
    print(f"evaluations: {evaluations} (one a wall second, {done} simulated s)")
    print(f"events written: {writes} in {wall:.1f} s = {writes / wall:.2f} events/s "
          f"({writes / done * 86400:.0f} per day of duty)")
    print(f"  by kind: {by_kind}")
    print(f"write on one console -> read via changes() on another: {len(lags)} reads, "
          f"median {statistics.median(lags) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
          f"max {lags[-1] * 1000:.1f} ms; p95 / {TARGET_P95:g} s target = "
          f"{p95 / TARGET_P95:.3f}")
    print(f"database growth: {size / 1024:.0f} KiB in {done} simulated s = "
          f"{per_day / 1024 / 1024:.1f} MiB per day of duty")
    return 0 if p95 < TARGET_P95 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="an existing server (password in $PGPASSWORD)")
    ap.add_argument("--speed", type=float, default=10.0)
    ap.add_argument("--minutes", type=float, default=15.0, help="simulated minutes (the "
                    "shift scenario is 15)")
    args = ap.parse_args()
    if args.url:
        return run(args.url, {}, args.speed, args.minutes)
    from tests.pgcluster import Cluster, _bin

    bindir = _bin()
    if bindir is None:
        print("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): pass --url")
        return 2
    cluster = Cluster(bindir)
    try:
        return run(cluster.url, dict(cluster.connect), args.speed, args.minutes)
    finally:
        cluster.remove()


if __name__ == "__main__":
    sys.exit(main())
