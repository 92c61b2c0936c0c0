"""ssh, diagnostics and traceroute against a real sshd behind a jump host (lab/sshd.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.sshd import DEAD, GATEWAY, JUMP, TARGET, SshLab, available
from lvs_tui.actions import (
    ActionError,
    Outcome,
    SshOptions,
    TraceSettings,
    check_address,
    check_jump,
    diagnostics,
    login_argv,
    remote_traceroute,
    remote_traceroute_command,
    run_command,
    ssh_argv,
    traceroute,
    traceroute_argv,
)
from lvs_tui.config import Vantage, VantageKind
from lvs_tui.fleet import Host, Mode
from lvs_tui.incidents import EventKind, IncidentLog
from tests.conftest import require

TARGET_HOST = Host("lab-target", "lab", Mode.SINGLE, internal=TARGET, external="10.231.9.9")
DEAD_HOST = Host("lab-dead", "lab", Mode.SINGLE, internal=DEAD, external="10.231.9.8")


@pytest.fixture(scope="module")
def lab() -> Iterator[SshLab]:
    ok, reason = available()
    require(ok, reason)
    with SshLab() as lab:
        yield lab


def opts(lab: SshLab, jump: str = JUMP, timeout: int = 3) -> SshOptions:
    return SshOptions(jump=jump, user="root", config_file=str(lab.ssh_config),
                      connect_timeout=timeout, command=lab.in_client("ssh"))


# -- argv and validation (no lab needed) ---------------------------------------------------


def test_argv_is_options_then_double_dash_then_address() -> None:
    argv = ssh_argv(SshOptions(jump="ops@jump.example.com:2222", user="root"), "192.0.2.11",
                    "uptime")
    assert argv[:3] == ["ssh", "-J", "ops@jump.example.com:2222"]
    assert argv[-3:] == ["--", "192.0.2.11", "uptime"]
    assert "BatchMode=yes" in argv
    assert "BatchMode=yes" not in login_argv(SshOptions(), TARGET_HOST)


@pytest.mark.parametrize("bad", ["-oProxyCommand=touch /tmp/x", "a b", "host;reboot", "$(id)",
                                 "a..b", ""])
def test_hostile_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ActionError, match="is not a host name or IP address"):
        check_address(bad)


def test_hostile_users_and_jumps_are_refused() -> None:
    with pytest.raises(ActionError, match="ssh user: 'root;id'"):
        ssh_argv(SshOptions(user="root;id"), "192.0.2.1")
    with pytest.raises(ActionError, match="jump host"):
        check_jump("a,b")
    with pytest.raises(ActionError, match="bad port"):
        check_jump("jump:99999")
    assert check_jump("[2001:db8::1]:22") == "[2001:db8::1]:22"
    with pytest.raises(ActionError, match="is not an IP address"):
        traceroute_argv("example.com")


def test_remote_traceroute_text_is_our_constant_plus_an_ip() -> None:
    text = remote_traceroute_command("2001:db8:0::1")
    assert text.endswith("tracepath -n -m 20 2001:db8::1; fi")


def test_parse_diagnostics_picks_the_facts() -> None:
    from lvs_tui.actions import CommandResult, parse_diagnostics

    out = ("### ip -br link\nlo UNKNOWN\nbond0 UP\neth2@bond1 DOWN\n"
           "### ping gateway 10.0.0.1\n3 packets transmitted, 0 received, 100% packet loss\n"
           "### keepalived\nactive\nKeepalived_vrrp: (VI_1) Entering BACKUP STATE\n"
           "Keepalived_vrrp: (VI_1) Entering MASTER STATE\n")
    d = parse_diagnostics(CommandResult(("ssh",), 0.0, 1.0, Outcome.OK, 0, out))
    assert d.links_down == ("eth2",) and d.gateway_ok is False and d.vrrp_state == "MASTER"
    assert d.summary == "网口 down：eth2；网关 10.0.0.1 不通；keepalived MASTER"


async def test_missing_program_and_timeout_kill_the_group() -> None:
    r = await run_command(["/nonexistent/ssh"], 1)
    assert r.outcome is Outcome.NOT_FOUND and "not installed" in r.status
    t0 = time.monotonic()
    r = await run_command(["sh", "-c", "sleep 30 & sleep 30; echo never"], 0.5)
    assert r.outcome is Outcome.TIMEOUT and time.monotonic() - t0 < 5
    assert "never" not in r.output


# -- the real sshd ------------------------------------------------------------------------


async def test_diagnostics_through_the_jump_host(lab: SshLab, tmp_path: Path) -> None:
    d = await diagnostics(opts(lab), TARGET_HOST, timeout=30)
    assert d.result.ok, d.result.text
    assert "bond0" in d.sections["ip -br link"]
    assert "10.231.2.2/24" in d.sections["ip -br addr"]
    assert f"default via {GATEWAY}" in d.sections["ip route"]
    assert set(d.links_down) == {"bond1", "bond1p"}
    assert d.gateway == GATEWAY and d.gateway_ok is True
    assert "ipvsadm -Ln" in d.sections and "keepalived" in d.sections
    assert d.summary == f"网口 down：bond1、bond1p；网关 {GATEWAY} 可达"
    with IncidentLog(tmp_path / "i.db") as log:
        log.record_action(TARGET_HOST.name, "diagnostics", d.text, time.time(), ok=True)
        e = log.last_action(TARGET_HOST.name, "diagnostics")
        assert e is not None and e.kind is EventKind.ACTION and "bond1" in e.detail


async def test_without_the_jump_host_the_target_is_unreachable(lab: SshLab) -> None:
    d = await diagnostics(opts(lab, jump=""), TARGET_HOST, timeout=15)
    assert d.result.outcome is Outcome.FAILED and d.result.returncode == 255
    assert d.summary.startswith("诊断失败：exit 255")


async def test_a_host_that_times_out(lab: SshLab) -> None:
    t0 = time.monotonic()
    d = await diagnostics(opts(lab, timeout=2), DEAD_HOST, timeout=20)
    assert d.result.outcome is Outcome.FAILED and d.result.returncode == 255
    assert "timed out" in d.result.output
    assert time.monotonic() - t0 < 10
    # the overall timeout wins when it is shorter than ssh's own
    d = await diagnostics(opts(lab, timeout=10), DEAD_HOST, timeout=1.5)
    assert d.result.outcome is Outcome.TIMEOUT
    assert d.summary.startswith("诊断失败：timed out")


def test_interactive_ssh_argv_logs_in(lab: SshLab) -> None:
    argv = login_argv(opts(lab), TARGET_HOST)
    # no terminal here: the shell reads the session from stdin
    r = subprocess.run(argv, input="echo lvs-tui-was-here; ip -br addr show bond0; exit\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "lvs-tui-was-here" in r.stdout and TARGET in r.stdout


async def test_traceroute_local_and_from_remote_vantage(lab: SshLab) -> None:
    s = TraceSettings(max_hops=3, wait=1)
    local = await traceroute(JUMP, s, command=lab.in_client("traceroute"))
    assert local.ok, local.text
    assert JUMP in local.output.split("\n", 1)[1]
    # a vantage behind the jump host, and the jump host itself as a vantage (no -J loop)
    vantage = Vantage("lab-t", VantageKind.SSH_FPING, "实验", ssh_host=TARGET, ssh_user="root")
    remote = await remote_traceroute(opts(lab), vantage, JUMP, s)
    assert remote.ok, remote.text
    assert f" 1  {JUMP}" in remote.output
    vantage = Vantage("lab-j", VantageKind.SSH_FPING, "实验", ssh_host=JUMP, ssh_user="root")
    remote = await remote_traceroute(opts(lab), vantage, TARGET, s)
    assert remote.ok, remote.text
    assert f" 1  {TARGET}" in remote.output


def test_an_ssh_run_is_a_login_probe_for_diagnosis() -> None:
    """ssh's 255 or a timeout = login failed; any other exit = we got in. The live desk
    puts it in the store, where diagnosis reads it; the demo's desk never does."""
    from lvs_tui.actions import login_result
    from lvs_tui.duty import DutyDesk
    from lvs_tui.sim import demo_config
    from lvs_tui.state import LoginState, StateStore

    assert login_result(255, False, 1.0).state is LoginState.FAILED
    assert login_result(None, True, 1.0).state is LoginState.FAILED
    assert login_result(0, False, 1.0).state is LoginState.OK
    assert login_result(1, False, 1.0).state is LoginState.OK  # remote command failed
    cfg = demo_config()
    for live, expected in ((True, LoginState.FAILED), (False, None)):
        desk = DutyDesk(cfg, live=live)
        desk.store = StateStore()
        desk.record_login("lvs-cernet-01", 255, False, 5.0)
        got = desk.store.login("lvs-cernet-01")
        assert (got.state if got else None) is expected
