"""The fault corpus of issue 19: every case runs the real CLI and is judged.

Cases are data (`tests/faults/*.toml`): malformed configs, junk arguments, damaged incident
logs, and a fake Zabbix JSON-RPC and 5666 page misbehaving on 127.0.0.1. Each case runs
`lvs_tui.cli.main` in-process (with an alarm for hangs) or, when it could block in C code
(`isolate`), in a subprocess with a timeout. A case goes wrong when it:

- prints a traceback or lets an exception out (traceback),
- does not finish within its time (hang),
- exits with another code than expected, misses the expected line, splits an error over
  lines that should be one, or lets a raw control character out (wrong verdict).

`python -m tests.faults.runner` prints every case and the totals; the test asserts zeros.
Cases marked `xfail = "why"` are known failures of code being changed elsewhere: they run
and are reported, but do not count.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lvs_tui.plain import has_control

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TIMEOUT = 20.0  # seconds a case may take: the slowest honest one (check --listen) takes ~3

BASE = """\
[[idcs]]
id = "lab"
name = "lab"
[[contacts]]
id = "room"
role = "duty_room"
name = "5666"
[[hosts]]
name = "lvs-lab-01"
idc = "lab"
mode = "single"
internal = "127.0.10.1"
external = "127.0.20.1"
"""


class Hang(Exception):
    """The alarm rang: the case did not finish in time."""


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int | None  # None: it hung, or let an exception out
    out: str
    err: str
    crashed: str = ""  # the exception that escaped main, if any
    hung: bool = False


@dataclass(slots=True)
class Verdict:
    case: str
    kind: str  # ok | traceback | hang | wrong
    why: str = ""
    xfail: str = ""


@dataclass(slots=True)
class Case:
    name: str
    argv: list[str]
    exit: list[int]
    expect: str = ""  # a substring of stderr (or stdout with expect_out)
    expect_out: str = ""
    one_line: bool = True  # stderr is at most one line per error
    isolate: bool = False
    xfail: str = ""
    check: Callable[[Outcome], str] | None = None  # extra judgement: "" when right
    env: dict[str, str] = field(default_factory=dict)


# -- running ----------------------------------------------------------------------------------


def run_inprocess(argv: list[str], timeout: float = TIMEOUT) -> Outcome:
    from lvs_tui.cli import main

    out, err = io.StringIO(), io.StringIO()

    def ring(*_: object) -> None:
        raise Hang

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    code: int | None = None
    crashed, hung = "", False
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
    except Hang:
        hung = True
    except BaseException as exc:  # the corpus counts whatever escapes
        crashed = f"{type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return Outcome(code, out.getvalue(), err.getvalue(), crashed, hung)


def run_isolated(argv: list[str], timeout: float = TIMEOUT,
                 env: dict[str, str] | None = None) -> Outcome:
    try:
        r = subprocess.run([sys.executable, "-m", "lvs_tui.cli", *argv], capture_output=True,
                           timeout=timeout, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, _text(exc.stdout), _text(exc.stderr), hung=True)
    return Outcome(r.returncode, _text(r.stdout), _text(r.stderr))


def _text(b: bytes | str | None) -> str:
    if b is None:
        return ""
    return b if isinstance(b, str) else b.decode("utf-8", "replace")


def judge(case: Case, o: Outcome) -> Verdict:
    def v(kind: str, why: str = "") -> Verdict:
        return Verdict(case.name, kind, why, case.xfail)

    if o.hung:
        return v("hang", f"no answer in {TIMEOUT:g} s")
    if o.crashed or "Traceback (most recent call last)" in o.out + o.err:
        return v("traceback", o.crashed or _last_line(o.err))
    if o.code not in case.exit:
        return v("wrong", f"exit {o.code}, expected {case.exit}: {_last_line(o.err)}")
    if case.expect and case.expect not in o.err:
        return v("wrong", f"stderr lacks {case.expect!r}: {o.err.strip()[:300]!r}")
    if case.expect_out and case.expect_out not in o.out:
        return v("wrong", f"stdout lacks {case.expect_out!r}: {o.out.strip()[:300]!r}")
    if has_control(o.out + o.err, frozenset("\n\t")):
        return v("wrong", "a raw control character reached the terminal")
    if case.one_line and case.expect and len(o.err.strip().splitlines()) != 1:
        return v("wrong", f"not one line: {o.err.strip()[:300]!r}")
    if case.check is not None and (why := case.check(o)):
        return v("wrong", why)
    return v("ok")


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def run_case(case: Case) -> Verdict:
    o = run_isolated(case.argv, env=case.env) if case.isolate else run_inprocess(case.argv)
    return judge(case, o)


# -- the corpus -------------------------------------------------------------------------------


def load(name: str) -> list[dict[str, Any]]:
    with (HERE / name).open("rb") as f:
        return list(tomllib.load(f)["case"])


def config_cases(tmp: Path) -> list[Case]:
    """Each malformed config, refused by `validate` and by `check` (config loading) with
    its one line; [keys] and the theme's content only by `validate` (and the dashboard)."""
    cases = []
    for i, c in enumerate(load("configs.toml")):
        path = special_file(tmp, c["special"], i) if "special" in c else tmp / f"c{i}.toml"
        if "special" not in c:
            text = BASE
            for old, new in c.get("replace", []):
                assert old in text, (c["name"], old)
                text = text.replace(old, new)
            path.write_text(text + c.get("append", ""), encoding="utf-8")
        expect = c["expect"].replace("{file}", str(path))
        argvs = [["validate", "--config", str(path)]]
        if not c.get("dashboard_only"):
            argvs.append(["check", "--config", str(path), "--listen", "0.5",
                          "--db", str(tmp / "none.db")])
        for argv in argvs:
            cases.append(Case(f"config {c['name']} ({argv[0]})", argv, [2], expect,
                              one_line=c.get("one_line", True), xfail=c.get("xfail", ""),
                              isolate=c.get("isolate", False)))
    return cases


def special_file(tmp: Path, kind: str, i: int) -> Path:
    """Config files no editor writes: made here, not stored."""
    if kind == "fifo":
        path = tmp / f"fifo{i}"
        os.mkfifo(path)
        return path
    if kind == "dev_zero":
        return Path("/dev/zero")
    if kind == "directory":
        return tmp
    path = tmp / f"special{i}.toml"
    if kind == "newline_name":
        path = tmp / f"a\nb\x1b]0;pwned\x07{i}.toml"
    data = {
        "huge": b"# " + b"x" * (5 * 2**20) + b"\n",
        "deep_arrays": b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "deep_tables": b"x = " + b"{a = " * 50_000 + b"1" + b"}" * 50_000 + b"\n",
        "deep_valid": b"x = " + b"[" * 20 + b"]" * 20 + b"\n",
        "not_utf8": BASE.encode() + b'notes = "\xff\xfe"\n',
        "newline_name": b"[duty\n",
        "binary": bytes(range(256)) * 64,
    }[kind]
    path.write_bytes(data)
    return path


def arg_cases(tmp: Path) -> list[Case]:
    cases = []
    cfg = tmp / "ok.toml"
    cfg.write_text(BASE, encoding="utf-8")
    for c in load("args.toml"):
        argv = [a.replace("{config}", str(cfg)).replace("{tmp}", str(tmp)).replace(
            "{digits}", "9" * 400) for a in c["argv"]]
        cases.append(Case(f"args {c['name']}", argv, c["exit"], c.get("expect", ""),
                          c.get("expect_out", ""), c.get("one_line", True),
                          xfail=c.get("xfail", "")))
    return cases


def log_cases(tmp: Path) -> list[Case]:
    cases = []
    for i, c in enumerate(load("logs.toml")):
        db = damaged_log(tmp / f"log{i}.db", c["damage"])
        for argv in c["argvs"]:
            full = [a.replace("{db}", str(db)) for a in argv]
            cases.append(Case(f"log {c['name']} ({' '.join(argv[:2])})", full, c["exit"],
                              str(db) if c.get("names_file", True) else "",
                              one_line=False, xfail=c.get("xfail", ""),
                              isolate=c.get("isolate", False),
                              env={"XDG_CONFIG_HOME": str(tmp / "noconfig")}))
    return cases


def damaged_log(path: Path, damage: str) -> Path:
    """A real incident log (one incident with its events, one acknowledgement), damaged."""
    import sqlite3

    from lvs_tui.incidents import IncidentLog

    if damage == "fifo":
        os.mkfifo(path)
        return path
    if damage == "garbage":
        path.write_bytes(b"this is not an incident log\n" * 200)
        return path
    IncidentLog(path).close()
    db = sqlite3.connect(path)
    now = time.time()
    with db:
        db.execute("INSERT INTO incidents (id, host, opened, since, closed, situation, "
                   "severity, worst, worst_severity) VALUES (1, 'lvs-lab-01', ?, ?, NULL, "
                   "'host_down', 4, 'host_down', 4)", (now - 600, now - 600))
        db.execute("INSERT INTO events (incident, host, t, kind, name, detail, data) VALUES "
                   "(1, 'lvs-lab-01', ?, 'opened', 'host_down', 'both sides down', '{}')",
                   (now - 600,))
        db.execute("INSERT INTO events (incident, host, t, kind, name, detail, data) VALUES "
                   "(1, 'lvs-lab-01', ?, 'ack', 'host_down', 'on it', "
                   "'{\"who\": \"duty\", \"severity\": 4}')", (now - 500,))
        if damage == "unknown_kind":
            db.execute("INSERT INTO events (incident, host, t, kind, name) VALUES "
                       "(1, 'lvs-lab-01', ?, 'teleported', 'x')", (now - 400,))
        elif damage == "bad_json":
            db.execute("INSERT INTO events (incident, host, t, kind, name, data) VALUES "
                       "(1, 'lvs-lab-01', ?, 'text', 'initial', '{not json')", (now - 400,))
        elif damage == "bad_duty_json":
            db.execute("INSERT INTO events (incident, host, t, kind, name, data) VALUES "
                       "(1, 'lvs-lab-01', ?, 'ack', 'host_down', '[1, 2')", (now - 400,))
        elif damage == "escape_in_host":
            db.execute("UPDATE incidents SET host = 'lvs\x1b]0;pwned\x07-01'")
    db.close()
    if damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3] + b"\x00garbage" * 100)
    return path


# -- sources: a fake Zabbix and 5666 page on 127.0.0.1 ---------------------------------------


@contextlib.contextmanager
def fake_zabbix(fault: str) -> Iterator[str]:
    """tests/test_sources_supervised.py's fake, with the corpus's wrong-typed answers."""
    import copy

    from tests.test_sources_supervised import Fake, start
    from tests.test_zabbix_unit import recording

    rec = copy.deepcopy(recording("6.0"))
    if fault == "types":
        for item in rec["item.get"]:
            item["lastclock"], item["value_type"] = "never", "float"
        for key in ("history.get:0", "history.get:3"):
            for value in rec[key]:
                value["value"] = "N/A"
        rec["problem.get"] = [{"eventid": "2", "objectid": "1", "severity": "high"}]
    elif fault == "future":
        far = str(int(time.time()) + 86400 * 365)
        for item in rec["item.get"]:
            item["lastclock"] = far
        for key in ("history.get:0", "history.get:3"):
            for value in rec[key]:
                value["clock"] = far
    elif fault == "unknown_hosts":  # hosts this config does not know, one with an escape
        for n, item in enumerate(rec["item.get"]):
            for host in item.get("hosts", []):
                host["host"] = f"ghost-{n}\x1b]0;pwned\x07"
    fake = Fake(rec)
    fake.fault = fault if fault not in ("types", "future", "unknown_hosts") else "ok"
    server, url = start(fake)
    try:
        yield url
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def fake_page(fault: str) -> Iterator[str]:
    """A 5666 page that refuses, hangs, trickles, fails or talks nonsense."""
    if fault == "refuse":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nobody listens there now
        yield f"http://127.0.0.1:{port}/"
        return
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with contextlib.suppress(OSError):
                if fault == "hang":
                    release.wait(30)
                    return
                body = {"http503": b"<html>503</html>", "garbage": b"\x00\xff{[<" * 100,
                        "trickle": b"127.0.10.1 " * 1000}[fault]
                self.send_response(503 if fault == "http503" else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if fault == "trickle":
                    for i in range(len(body)):
                        if release.wait(0.05):
                            return
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


Fake = Callable[[], contextlib.AbstractContextManager[str]]  # starts a fake, gives its URL
SourceCase = tuple[Case, Fake, Callable[[str], str]]


def source_cases(tmp: Path) -> list[SourceCase]:
    """(case, the fake to start, its config from the fake's URL): `check` with the fault
    must answer in time, and the host both sides of which answer here stays ok."""
    token = tmp / "token"
    token.write_text("0424bd59b807674191e7d77572075f33\n")
    out = []
    for i, c in enumerate(load("sources.toml")):
        path = tmp / f"source{i}.toml"

        def config(url: str, c: dict[str, Any] = c, path: Path = path) -> str:
            if c["source"] == "zabbix":
                extra = (f'[zabbix]\nurl = "{url}"\ntoken_file = "{token}"\ntimeout = 1.0\n'
                         "interval = 5.0\n")
                duty = "[duty]\ninterval = 0.5\n"
            else:
                extra = ""
                duty = (f'[duty]\ninterval = 0.5\nalert_page = "{url}"\nalert_interval = 1.0\n'
                        "alert_timeout = 0.5\n")
            path.write_text(duty + BASE + extra, encoding="utf-8")
            return str(path)

        fake: Fake = (
            (lambda f=c["fault"]: fake_zabbix(f)) if c["source"] == "zabbix"
            else (lambda f=c["fault"]: fake_page(f)))
        case = Case(f"source {c['source']} {c['fault']}",
                    ["check", "--json", "--listen", "2.5", "--db", str(tmp / "none.db")],
                    [0], "", one_line=False, xfail=c.get("xfail", ""), check=verdict_ok)
        out.append((case, fake, config))
    return out


def verdict_ok(o: Outcome) -> str:
    """The host answers on both sides: whatever the source's fault, it is ok."""
    try:
        rows = json.loads(o.out)
    except json.JSONDecodeError:
        return f"not JSON: {o.out[:200]!r}"
    got = {r["host"]: r["situation"] for r in rows}
    return "" if got == {"lvs-lab-01": "ok"} else f"verdict changed: {got}"


# -- the whole corpus --------------------------------------------------------------------------


def run_all(tmp: Path, say: Callable[[str], None] = print) -> list[Verdict]:
    verdicts = []
    for case in [*config_cases(tmp), *arg_cases(tmp), *log_cases(tmp)]:
        verdicts.append(_report(run_case(case), say))
    return verdicts + run_sources(tmp, say)


def run_sources(tmp: Path, say: Callable[[str], None] = print) -> list[Verdict]:
    """The source faults: each fake on 127.0.0.1, `check` against it. Run it inside a
    namespace with only loopback (`--group sources` under `ip netns exec`, as the test does):
    the fakes and the probes then share that namespace's loopback and nothing else."""
    verdicts = []
    for case, fake, config in source_cases(tmp):
        with fake() as url:
            argv = [*case.argv, "--config", config(url)]
            started = time.monotonic()
            v = judge(case, run_inprocess(argv))
            if v.kind == "ok" and time.monotonic() - started > 8:
                v = Verdict(case.name, "hang", "check took longer than 8 s", case.xfail)
        verdicts.append(_report(v, say))
    return verdicts


def _report(v: Verdict, say: Callable[[str], None]) -> Verdict:
    mark = "ok" if v.kind == "ok" else v.kind.upper()
    if v.xfail:
        mark = f"xfail/{mark}" if v.kind != "ok" else "XPASS"
    say(f"{mark:16} {v.case}" + (f": {v.why}" if v.why else "")
        + (f"  [xfail: {v.xfail}]" if v.xfail else ""))
    return v


def totals(verdicts: list[Verdict]) -> dict[str, int]:
    counted = [v for v in verdicts if not v.xfail]
    return {"cases": len(verdicts),
            "tracebacks": sum(v.kind == "traceback" for v in counted),
            "hangs": sum(v.kind == "hang" for v in counted),
            "wrong verdicts": sum(v.kind == "wrong" for v in counted),
            "known failures (xfail)": sum(v.kind != "ok" for v in verdicts if v.xfail)}


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.faults.runner [--group sources]`: every case (or only the source
    faults), one line each, then the totals; exit 1 on a traceback, hang or wrong verdict."""
    import argparse
    import tempfile

    p = argparse.ArgumentParser(prog="python -m tests.faults.runner")
    p.add_argument("--group", choices=("all", "sources"), default="all")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run = run_sources if args.group == "sources" else run_all
        verdicts = run(Path(tmp))
    t = totals(verdicts)
    print(" · ".join(f"{k}: {n}" for k, n in t.items()))
    return 1 if t["tracebacks"] or t["hangs"] or t["wrong verdicts"] else 0


if __name__ == "__main__":
    sys.exit(main())

