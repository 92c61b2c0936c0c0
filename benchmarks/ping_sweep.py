"""ICMP engine vs fping on the same lab targets: one sweep and a steady run at 1 Hz.

    sudo .venv/bin/python -m benchmarks.ping_sweep            # 10,000 and 2,000 targets
    sudo .venv/bin/python -m benchmarks.ping_sweep --steady 10 --sizes 2000   # quicker
    sudo .venv/bin/python -m benchmarks.ping_sweep --topology routed   # via the lab router
    sudo .venv/bin/python -m benchmarks.ping_sweep --sizes 10000 --kinds steady --no-fping \
        --reference /work/main --repeat 2   # this engine vs another checkout's, alternately

Builds the netns lab (50 hosts x 202 addresses; nothing leaves the machine; by default the
DIRECT topology: host ports in lvt-duty, one veth pair each way, no forwarding namespace on
the probe path), runs every
measurement as a child process inside the sealed duty namespace and prints wall time, CPU
seconds, µs of CPU per probe, peak RSS and false deads (every lab target is alive, so each
unanswered probe is a false dead), then the engine/fping ratios and the issue's targets.
The engine measures its own CPU from just before it opens its sockets (imports excluded);
fping's comes from wait4() on its process, start-up included. Both include the kernel's
work for their packets that runs in their context: on veth that is the whole round trip
(softirq on the sending CPU). Work deferred to ksoftirqd is billed to no process: the last
column shows how much ksoftirqd ran meanwhile, machine-wide (RPS is off in the lab).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Run:
    tool: str
    kind: str  # "sweep" | "steady"
    targets: int
    wall: float
    user: float
    sys: float
    probes: int
    rss_mb: float
    false_dead: int  # unanswered probes to live targets
    softirqd: float = 0.0  # CPU s of every ksoftirqd thread meanwhile (machine-wide)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def us_per_probe(self) -> float:
        return self.cpu / self.probes * 1e6 if self.probes else float("nan")

    @property
    def core_pct(self) -> float:
        return self.cpu / self.wall * 100 if self.wall else float("nan")


# -- children (run inside lvt-duty) --------------------------------------------------------
def _cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


async def _engine_child(kind: str, targets: list[str], seconds: float) -> dict:
    from lvs_tui.probes.icmp import IcmpEngine
    from lvs_tui.state import StateStore

    store = StateStore(ping_window=max(int(seconds) + 5, 10))
    engine = IcmpEngine(targets, "bench", interval=1.0, timeout=1.0)
    c0, w0 = _cpu(), time.monotonic()
    if kind == "sweep":
        await engine.sweep(store)
    else:
        task = asyncio.create_task(engine.run(store))
        await asyncio.sleep(seconds)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    wall, c1 = time.monotonic() - w0, _cpu()
    return {"wall": wall, "user": c1[0] - c0[0], "sys": c1[1] - c0[1], "probes": engine.sent,
            "false_dead": engine.lost + engine.errors, "mode": engine.mode,
            "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


# -- parent ----------------------------------------------------------------------------
def _softirqd_cpu() -> float:
    """CPU seconds of the ksoftirqd threads: network work the kernel defers there is billed
    to nobody's process, so the table shows it beside each run (RPS is off in the lab)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(ksoftirqd/" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _measured(measure: Callable[[str, Path, int, float], Run], kind: str, file: Path, n: int,
              seconds: float) -> Run:
    before = _softirqd_cpu()
    run = measure(kind, file, n, seconds)
    return dataclasses.replace(run, softirqd=_softirqd_cpu() - before)


def _engine(kind: str, file: Path, n: int, seconds: float, root: Path = ROOT,
            tool: str = "engine") -> Run:
    """The engine of the checkout at `root` (this one, or the reference's)."""
    argv = ["ip", "netns", "exec", "lvt-duty", sys.executable, "-m", "benchmarks.ping_sweep",
            "--child", kind, "--targets", str(file), "--steady", str(seconds)]
    out = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(root)}).stdout
    d = json.loads(out.strip().splitlines()[-1])
    return Run(tool, kind, n, d["wall"], d["user"], d["sys"], d["probes"],
               d["rss_kb"] / 1024,
               d["false_dead"])


def _fping(kind: str, file: Path, n: int, seconds: float) -> Run:
    count = 1 if kind == "sweep" else max(int(seconds), 1)
    gap = "0" if kind == "sweep" else f"{1000 / n:.3f}"  # spread over the 1 s period
    argv = ["ip", "netns", "exec", "lvt-duty", "fping", "-q", "-r", "0", "-t", "1000",
            "-i", gap, "-p", "1000", "-C" if kind == "sweep" else "-c", str(count),
            "-f", str(file)]
    w0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    err = proc.stderr.read() if proc.stderr else ""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    wall = time.monotonic() - w0
    sent = lost = 0
    for line in err.splitlines():
        if kind == "sweep":
            m = re.match(r"^\S+\s+:\s+(\S+)$", line)
            if m:
                sent += 1
                lost += m.group(1) == "-"
        else:
            m = re.search(r"xmt/rcv/%loss = (\d+)/(\d+)/", line)
            if m:
                sent += int(m.group(1))
                lost += int(m.group(1)) - int(m.group(2))
    return Run("fping", kind, n, wall, usage.ru_utime, usage.ru_stime, sent,
               usage.ru_maxrss / 1024, lost)


def _table(runs: list[Run]) -> str:
    head = (f"{'targets':>8} {'tool':<7} {'run':<7} {'wall s':>8} {'CPU s':>7} "
            f"{'user s':>7} {'sys s':>7} {'µs/probe':>9} {'%core':>6} {'RSS MB':>7} "
            f"{'false dead':>10} {'softirqd s':>10}")
    rows = [head, "-" * len(head)]
    for r in runs:
        rows.append(f"{r.targets:>8} {r.tool:<7} {r.kind:<7} {r.wall:>8.2f} {r.cpu:>7.2f} "
                    f"{r.user:>7.2f} {r.sys:>7.2f} {r.us_per_probe:>9.2f} {r.core_pct:>6.1f} "
                    f"{r.rss_mb:>7.1f} {r.false_dead:>10} {r.softirqd:>10.2f}")
    return "\n".join(rows)


def _reference_verdicts(runs: list[Run]) -> list[str]:
    """This engine against the reference checkout's, per size and kind: summed over the
    repeats (they alternate, so both saw the same neighbours on the machine)."""
    out = []
    for n, kind in sorted({(r.targets, r.kind) for r in runs}):
        ours = [r for r in runs if (r.tool, r.targets, r.kind) == ("engine", n, kind)]
        ref = [r for r in runs if (r.tool, r.targets, r.kind) == ("reference", n, kind)]
        if not ours or not ref:
            continue
        a = sum(r.cpu for r in ours) / sum(r.probes for r in ours) * 1e6
        b = sum(r.cpu for r in ref) / sum(r.probes for r in ref) * 1e6
        core = [f"{r.core_pct:.1f}" for r in ours], [f"{r.core_pct:.1f}" for r in ref]
        out.append(f"{n:>6} {kind:<6}: engine vs reference CPU per probe {a:.2f} / {b:.2f} µs "
                   f"= {a / b:.2f}x ({'ok' if a / b <= 1.10 else 'OVER'} target <= 1.10x); "
                   f"% of a core {', '.join(core[0])} vs {', '.join(core[1])}; "
                   f"false deads {sum(r.false_dead for r in ours)}")
    return out


def _verdicts(runs: list[Run]) -> list[str]:
    out = []
    by = {(r.tool, r.kind, r.targets): r for r in runs}
    for (tool, kind, n), r in sorted(by.items()):
        f = by.get(("fping", kind, n))
        if tool != "engine" or f is None:
            continue
        ratio = r.us_per_probe / f.us_per_probe
        out.append(f"{n:>6} {kind:<6}: engine/fping CPU per probe = {ratio:.2f}x "
                   f"({'ok' if ratio <= 2 else 'OVER'} target <= 2x); wall "
                   f"{r.wall / f.wall:.2f}x; RSS {r.rss_mb / f.rss_mb:.1f}x")
        if n >= 10000:
            out.append(f"{n:>6} {kind:<6}: false deads {r.false_dead} "
                       f"({'ok' if r.false_dead == 0 else 'FAIL'} target 0)")
            if kind == "steady":
                out.append(f"{n:>6} steady: {r.core_pct:.1f}% of one core "
                           f"({'ok' if r.core_pct <= 15 else 'OVER'} target <= 15%)")
                floor = by.get(("fping", "sweep", n))
                if floor is not None:  # what this machine's kernel path costs a C prober
                    out.append(f"{n:>6} steady: at fping's sweep cost ({floor.us_per_probe:.1f}"
                               f" µs/probe), {n} probes/s would be "
                               f"{floor.us_per_probe * n / 1e4:.1f}% of one core")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ping_sweep", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,2000", help="target counts, comma-separated")
    ap.add_argument("--steady", type=float, default=60.0, help="seconds of the 1 Hz run")
    ap.add_argument("--topology", choices=["direct", "routed"], default="direct",
                    help="direct (default): duty linked to every host; routed: via lvt-rtr")
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab up afterwards")
    ap.add_argument("--kinds", default="sweep,steady", help="sweep,steady (both)")
    ap.add_argument("--no-fping", action="store_true", help="measure the engine(s) only")
    ap.add_argument("--reference", help="another checkout: its engine measured alternately")
    ap.add_argument("--repeat", type=int, default=1, help="measurements per tool and kind")
    ap.add_argument("--child", choices=["sweep", "steady"], help=argparse.SUPPRESS)
    ap.add_argument("--targets", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        targets = Path(args.targets).read_text().split()
        print(json.dumps(asyncio.run(_engine_child(args.child, targets, args.steady))))
        return 0
    if os.geteuid() != 0:
        print("ping_sweep: needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 2
    from lab.netns import exclusive

    with exclusive():
        return _bench(args)


def _bench(args: argparse.Namespace) -> int:
    from lab.netns import Lab, Topology, down

    sizes = sorted((int(s) for s in args.sizes.split(",")), reverse=True)
    lab = Lab(hosts=50, vips=198, vips6=2, topology=Topology(args.topology))
    if max(sizes) > len(lab.addresses()):
        print(f"ping_sweep: at most {len(lab.addresses())} targets", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    lab.up()
    print(f"lab: {lab.topology.value}, {lab.hosts} hosts, {len(lab.addresses())} addresses, "
          f"up in {time.monotonic() - t0:.1f}s", flush=True)
    runs: list[Run] = []
    tools: list[Callable[[str, Path, int, float], Run]] = [_engine]
    if args.reference:
        ref = Path(args.reference).resolve()
        tools.append(lambda k, f, n, s: _engine(k, f, n, s, ref, "reference"))
    if not args.no_fping:
        tools.append(_fping)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes:
                file = Path(tmp) / f"targets-{n}.txt"
                file.write_text("\n".join(lab.addresses()[:n]) + "\n")
                _fping("sweep", file, n, 1)  # warm the neighbour caches
                for kind in ("sweep", "steady"):
                    if kind not in args.kinds.split(","):
                        continue
                    for _ in range(args.repeat):
                        for measure in tools:
                            runs.append(_measured(measure, kind, file, n, args.steady))
                            print(_table(runs[-1:]).splitlines()[-1], flush=True)
    finally:
        if not args.keep_lab:
            down()
    print()
    print(_table(runs))
    print()
    print("\n".join(_verdicts(runs) + _reference_verdicts(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
