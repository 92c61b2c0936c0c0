"""Fault to verdict: how fast the console shows a killed host down and a restored one ok,
whether random loss ever makes a false down, and what the confirmation bursts cost.

    sudo .venv/bin/python -m benchmarks.detect            # ~20 min: the issue's whole run
    sudo .venv/bin/python -m benchmarks.detect --quick    # 1-minute loss run, 30 s CPU runs

Builds the netns lab (20 hosts, both sides and one VIP each, routed topology: docs/lab.md;
nothing leaves the machine) and runs the real console inside the sealed duty namespace:
the ICMP engine from the lab's config (interval 1 s, ping_timeout 1 s, hysteresis 3) and
the app headless through Textual's pilot (layout and compositing happen, only the terminal
write is skipped). Then:

1. 20 kills and 20 restores, one host at a time, each at a random phase of the probe
   round. Measured from the moment the fault command returned:
   * store: both sides judged down (signals.judge over the store), and after the restore
     every address of the host judged up;
   * screen: the board the app put on screen says HOST DOWN for the host, then ok;
   * reference: a plain `ping -c1 -W1` loop on the host's internal address, in the same
     namespace at the same time: the end of its first failed ping after the kill, of its
     first answered ping after the restore.
2. 30 % random loss (nftables in every host namespace) on all 20 hosts for 10 minutes
   (`--loss-minutes`), the console running: every address's judgement is read every
   100 ms, and every board the app puts on screen is checked. A false down is an address
   judged down, or a host shown other than ok/degraded (lossy).
3. The 10,000-target steady CPU: `benchmarks.ping_sweep --kinds steady` with this tree's
   engine and the reference tree's (`--reference`, default /work/main) alternately, on
   the same lab: the bursts must cost nothing when all is well.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 20
STORE_POLL = 0.01  # seconds between two reads of the store's judgement
# Before the first trial: RTTs read while the app starts up are inflated by its start (the
# engine shares the app's event loop), and each target's timeout decays to its real RTT
# over a few tens of answers (docs/performance.md, Detection). A console runs for hours.
WARM_UP = 45.0
# What a lossy host must never be shown as (unknown is no alarm: it is never down).
ALARMS = frozenset({"host_down", "one_side_down", "path_broken", "vip_unreachable"})
TARGETS = {"kill_store": 2.0, "kill_screen": 2.0, "restore_store": 3.0, "restore_screen": 3.0}


# -- the reference: a plain ping loop ------------------------------------------------------
class PingLoop:
    """`ping -c1 -W1 address` over and over in a thread; each run's end time and result."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.runs: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> PingLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            ok = subprocess.run(["ping", "-n", "-q", "-c1", "-W1", self.address],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                check=False).returncode == 0
            self.runs.append((time.monotonic(), ok))

    def first(self, ok: bool, after: float) -> float | None:
        return next((t - after for t, r in list(self.runs) if t > after and r is ok), None)


# -- the child: the console in lvt-duty ------------------------------------------------------
def _console(config: Path):  # type: ignore[no-untyped-def]
    from lvs_tui.app import make_app
    from lvs_tui.config import parse
    from lvs_tui.probes.icmp import icmp_sources
    from lvs_tui.state import StateStore

    cfg = parse(config.read_text(encoding="utf-8"), str(config))
    store = StateStore()
    app = make_app(cfg, icmp_sources(cfg), store)
    boards: list[tuple[float, dict[str, str]]] = []
    shown = app.apply_view

    def landed(view) -> None:  # type: ignore[no-untyped-def]
        shown(view)
        boards.append((time.monotonic(), {r.host.name: r.situation.id.value
                                          for r in view.board.rows}))

    app.apply_view = landed  # type: ignore[method-assign]
    return cfg, store, app, boards


def _reaches(cfg, store, addresses: tuple[str, ...]) -> set[str]:  # type: ignore[no-untyped-def]
    from lvs_tui.signals import judge, thresholds_for

    th, now = thresholds_for(cfg, "local"), time.time()
    return {judge(store.ping_summary("local", a, th.window, th.hysteresis), now, th, a).reach.value
            for a in addresses}


async def _until(check, within: float = 15.0) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > within:
            raise TimeoutError(f"not within {within:g}s")
        await asyncio.sleep(STORE_POLL)
    return time.monotonic()


def _screen(boards: list[tuple[float, dict[str, str]]], host: str, want: str, after: float
            ) -> float | None:
    return next((t for t, b in list(boards) if t > after and b.get(host) == want), None)


async def _trial(lab, h, cfg, store, boards, rng: random.Random  # type: ignore[no-untyped-def]
                 ) -> tuple[float, ...]:
    """One kill and one restore of host h: (kill → store, screen, ping loop; restore → ...),
    each from the moment the fault command returned."""
    sides = (h.internal, h.external)
    ping = PingLoop(h.internal).start()
    try:
        await asyncio.sleep(1.5 + rng.random())  # a random phase of the probe round
        await asyncio.to_thread(lab.kill_host, h)
        t0 = time.monotonic()
        kill_store = await _until(lambda: _reaches(cfg, store, sides) == {"down"}) - t0
        await _until(lambda: _screen(boards, h.name, "host_down", t0) is not None)
        await _until(lambda: ping.first(False, t0) is not None, within=5)
        kill_screen = (_screen(boards, h.name, "host_down", t0) or 0) - t0
        kill_ping = ping.first(False, t0) or 0
        await asyncio.sleep(1.0 + rng.random())
        await asyncio.to_thread(lab.restore, h)
        t1 = time.monotonic()
        everything = lab.addresses_of(h)
        back_store = await _until(lambda: _reaches(cfg, store, everything) == {"up"}) - t1
        await _until(lambda: _screen(boards, h.name, "ok", t1) is not None)
        await _until(lambda: ping.first(True, t1) is not None, within=5)
        back_screen = (_screen(boards, h.name, "ok", t1) or 0) - t1
        back_ping = ping.first(True, t1) or 0
    finally:
        ping.stop()
    return kill_store, kill_screen, kill_ping, back_store, back_screen, back_ping


async def _trials(config: Path, trials: int, seed: int) -> dict:
    from lab.netns import Lab

    lab = Lab(hosts=HOSTS, vips=1, vips6=0)
    cfg, store, app, boards = _console(config)
    rng = random.Random(seed)
    out: dict[str, list[float]] = {k: [] for k in
                                   ("kill_store", "kill_screen", "kill_ping", "restore_store",
                                    "restore_screen", "restore_ping")}
    everything = lab.addresses()
    async with app.run_test(size=(160, 50)):
        await _until(lambda: _reaches(cfg, store, everything) == {"up"}, within=20)
        await asyncio.sleep(WARM_UP)
        for k in range(trials):
            h = lab.host(1 + k % HOSTS)
            got = await _trial(lab, h, cfg, store, boards, rng)
            for key, value in zip(out, got, strict=True):
                out[key].append(value)
            print(f"trial {k + 1:>2} {h.name}: " + " ".join(
                f"{key} {value:.2f}s" for key, value in zip(out, got, strict=True)),
                file=sys.stderr, flush=True)
        app.exit()
    return out


async def _loss(config: Path, seconds: float) -> dict:
    """The lab is lossy already (the parent made it so): count false downs."""
    from lab.netns import Lab

    lab = Lab(hosts=HOSTS, vips=1, vips6=0)
    cfg, store, app, boards = _console(config)
    everything = lab.addresses()
    downs: dict[str, int] = dict.fromkeys(everything, 0)
    was_down: set[str] = set()
    reads = 0
    async with app.run_test(size=(160, 50)):
        t0 = time.monotonic()
        first_board = len(boards)
        while time.monotonic() - t0 < seconds:
            now_down = {a for a in everything if _reaches(cfg, store, (a,)) == {"down"}}
            for a in now_down - was_down:
                downs[a] += 1
            was_down = now_down
            reads += 1
            await asyncio.sleep(0.1)
        shown = boards[first_board:]
        app.exit()
    alarms = [(t - t0, h, s) for t, b in shown for h, s in b.items() if s in ALARMS]
    regular = [s for a in everything for s in store.pings("local", a)]
    lost = sum(s.lost for s in regular)
    return {"seconds": seconds, "addresses": len(everything), "reads": reads,
            "false_downs": sum(downs.values()),
            "false_down_addresses": sorted(a for a, n in downs.items() if n),
            "boards": len(shown), "screen_alarms": len(alarms), "first_alarms": alarms[:5],
            "loss_pct": 100 * lost / len(regular) if regular else None,
            "shown_lossy": sum(1 for _, b in shown for s in b.values() if s == "degraded")}


# -- the parent ---------------------------------------------------------------------------
def _child(mode: str, config: Path, args: argparse.Namespace) -> dict:
    argv = ["ip", "netns", "exec", "lvt-duty", sys.executable, "-m", "benchmarks.detect",
            "--child", mode, "--config", str(config), "--trials", str(args.trials),
            "--loss-minutes", str(args.loss_minutes), "--seed", str(args.seed)]
    proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    key: str


ROWS = (Row("kill → store: both sides down", "kill_store"),
        Row("kill → screen: HOST DOWN", "kill_screen"),
        Row("kill → ping -c1 -W1 loop fails", "kill_ping"),
        Row("restore → store: all up", "restore_store"),
        Row("restore → screen: ok", "restore_screen"),
        Row("restore → ping -c1 -W1 loop answers", "restore_ping"))


def _trial_table(t: dict[str, list[float]]) -> list[str]:
    head = f"{'':<38} {'n':>3} {'p50 s':>6} {'p95 s':>6} {'max s':>6}  target"
    out = [head, "-" * len(head)]
    for r in ROWS:
        xs = t[r.key]
        target = TARGETS.get(r.key)
        p95 = _pct(xs, 0.95)
        verdict = "" if target is None else \
            f"p95 ≤ {target:.1f} s {'ok' if p95 <= target else 'MISSED'}"
        out.append(f"{r.name:<38} {len(xs):>3} {statistics.median(xs):>6.2f} {p95:>6.2f} "
                   f"{max(xs):>6.2f}  {verdict}")
    return out


def _cpu(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "benchmarks.ping_sweep", "--sizes", "10000", "--kinds",
            "steady", "--steady", str(args.steady), "--no-fping", "--repeat", str(args.repeat)]
    if args.reference:
        argv += ["--reference", args.reference]
    proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    print(proc.stdout, flush=True)
    return [line for line in proc.stdout.splitlines() if "reference" in line]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.detect", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20, help="kills and restores (20)")
    ap.add_argument("--loss-minutes", type=float, default=10.0,
                    help="minutes of the 30 %% loss run (10)")
    ap.add_argument("--quick", action="store_true",
                    help="development: 1-minute loss run, 30 s CPU runs, one repeat")
    ap.add_argument("--steady", type=float, default=60.0, help="seconds per CPU run (60)")
    ap.add_argument("--repeat", type=int, default=2, help="CPU runs per tree, alternating")
    ap.add_argument("--reference", default="/work/main",
                    help="checkout whose engine is today's CPU reference ('' to skip)")
    ap.add_argument("--skip", default="", help="comma-separated: trials,loss,cpu")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--child", choices=["trials", "loss"], help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.loss_minutes, args.steady, args.repeat = min(args.loss_minutes, 1.0), 30.0, 1
    if args.child == "trials":
        print(json.dumps(asyncio.run(_trials(Path(args.config), args.trials, args.seed))))
        return 0
    if args.child == "loss":
        print(json.dumps(asyncio.run(_loss(Path(args.config), args.loss_minutes * 60))))
        return 0
    if os.geteuid() != 0:
        print("detect: needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 2
    skip = set(filter(None, args.skip.split(",")))
    report: list[str] = []
    if not {"trials", "loss"} <= skip:
        report += _lab_runs(args, skip)
    if "cpu" not in skip:
        report += ["", "10,000 targets, steady 1 Hz (benchmarks.ping_sweep):", *_cpu(args)]
    print("\n".join(report))
    return 0


def _lab_runs(args: argparse.Namespace, skip: set[str]) -> list[str]:
    from lab.netns import Lab, down, exclusive

    report: list[str] = []
    with exclusive(), tempfile.TemporaryDirectory() as tmp:
        lab = Lab(hosts=HOSTS, vips=1, vips6=0).up()
        config = lab.write_config(Path(tmp) / "lab.toml")
        os.chmod(tmp, 0o755)
        try:
            if "trials" not in skip:
                t = _child("trials", config, args)
                report += [f"{HOSTS} hosts, interval 1 s, hysteresis 3, {args.trials} kills "
                           f"and {args.trials} restores:", *_trial_table(t)]
            if "loss" not in skip:
                for h in lab.all_hosts:
                    lab.make_lossy(h, 30)
                r = _child("loss", config, args)
                lab.restore()
                ok = r["false_downs"] == 0 and r["screen_alarms"] == 0
                report += ["", f"30 % random loss on all {HOSTS} hosts ({r['addresses']} "
                           f"addresses), {r['seconds'] / 60:g} min: measured loss "
                           f"{r['loss_pct']:.1f} %; false downs {r['false_downs']} "
                           f"(addresses judged down, {r['reads']} reads); screen alarms "
                           f"{r['screen_alarms']} of {r['boards']} boards (hosts shown lossy: "
                           f"{r['shown_lossy']} host-boards); "
                           f"{'ok' if ok else 'FAIL'} target 0"]
                if not ok:
                    report.append(f"  first: {r['first_alarms']} {r['false_down_addresses']}")
        finally:
            down()
    return report


if __name__ == "__main__":
    sys.exit(main())
