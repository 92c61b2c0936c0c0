"""Network-config snapshots: the archive, and fetching over ssh -J from the real sshd lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.sshd import DEAD, GATEWAY, JUMP, TARGET, SshLab, available
from lvs_tui.actions import SshOptions
from lvs_tui.fleet import Host, Mode
from lvs_tui.snapshots import (
    MARK,
    SNAPSHOT_FILES,
    age_text,
    newest_snapshot,
    parse_output,
    save,
    snapshot_host,
    snapshot_hosts,
    snapshot_script,
    snapshots,
)
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
TARGET_HOST = Host("lab-target", "lab", Mode.SINGLE, internal=TARGET, external="10.231.9.9")
DEAD_HOST = Host("lab-dead", "lab", Mode.SINGLE, internal=DEAD, external="10.231.9.8")
KEEPALIVED = "vrrp_instance VI_1 {\n    state MASTER\n    virtual_router_id 51\n}\n"


@pytest.fixture(scope="module")
def lab() -> Iterator[SshLab]:
    ok, reason = available()
    require(ok, reason)
    with SshLab() as lab:
        yield lab


def opts(lab: SshLab) -> SshOptions:
    return SshOptions(jump=JUMP, config_file=str(lab.ssh_config), connect_timeout=2,
                      command=lab.in_client("ssh"))


# -- archive (no lab) -----------------------------------------------------------------------


def test_parse_and_save_round_trip(tmp_path: Path) -> None:
    out = (f"{MARK} cmd ip-addr\n1: lo: <LOOPBACK>\n{MARK} rc 0\n"
           f"{MARK} file /etc/keepalived/keepalived.conf\ndnJycA==\n"
           f"{MARK} file /../../etc/evil\neA==\n{MARK} end\n")
    parsed = parse_output(out)
    assert parsed.complete and parsed.commands == {"ip-addr": "1: lo: <LOOPBACK>\n"}
    assert parsed.exit_codes == {"ip-addr": 0}
    assert parsed.files["/etc/keepalived/keepalived.conf"] == b"vrrp"
    h = Host("h1", "x", Mode.SINGLE, "192.0.2.1", "192.0.2.2")
    first = save(tmp_path, h, parsed, 1_700_000_000.0)
    second = save(tmp_path, h, parsed, 1_700_000_000.0)  # same second: a new version
    assert first.name == "20231114T221320Z" and second.name == "20231114T221320Z-2"
    assert (first / "files/etc/keepalived/keepalived.conf").read_bytes() == b"vrrp"
    assert not (tmp_path / "etc").exists() and not list(first.rglob("evil"))
    assert oct(tmp_path.stat().st_mode & 0o777) == "0o700"
    assert newest_snapshot("h1", tmp_path) == (second, 1_700_000_000.0)
    assert age_text("h1", 1_700_000_000.0 + 3 * 86400 + 5, tmp_path) == "配置快照 3 天前"
    assert age_text("nobody", 0, tmp_path) == "无配置快照"
    for i in range(5):
        save(tmp_path, h, parsed, 1_700_000_100.0 + i, keep=3)
    assert len(snapshots("h1", tmp_path)) == 3


def test_cut_off_output_is_incomplete() -> None:
    assert not parse_output(f"{MARK} cmd ip-addr\n1: lo\n").complete


def test_script_refuses_paths_that_are_not_plain() -> None:
    with pytest.raises(ValueError, match="not an absolute path"):
        snapshot_script(("/etc/x; reboot",))
    with pytest.raises(ValueError):
        snapshot_script(("../etc/passwd",))


# -- the real sshd ------------------------------------------------------------------------


async def test_snapshot_over_jump_host_and_a_dead_host(lab: SshLab, tmp_path: Path) -> None:
    # Config files of our own where the host's /etc has none: the lab shares the filesystem.
    conf = lab.tmp / "keepalived.conf"
    conf.write_text(KEEPALIVED)
    files = (*SNAPSHOT_FILES, str(conf))
    archive = tmp_path / "snap"
    good, dead = await snapshot_hosts(opts(lab), [TARGET_HOST, DEAD_HOST], archive,
                                      timeout=20, files=files)
    assert good.ok, good.error
    assert good.path is not None and good.path.parent == archive / "lab-target"
    assert "10.231.2.2/24" in (good.path / "commands/ip-addr.txt").read_text()
    routes = (good.path / "commands/ip-route.txt").read_text()
    assert f"default via {GATEWAY}" in routes
    assert (good.path / "commands/ipvsadm-Sn.txt").exists()
    assert (good.path / "files" / str(conf).lstrip("/")).read_text() == KEEPALIVED
    meta = json.loads((good.path / "meta.json").read_text())
    assert meta["host"] == "lab-target" and str(conf) in meta["files"]
    assert not dead.ok and "exit 255" in dead.error
    assert newest_snapshot("lab-dead", archive) is None
    # a later failure never hides the last good snapshot
    again = await snapshot_host(opts(lab), Host("lab-target", "lab", Mode.SINGLE, DEAD,
                                                TARGET), archive, timeout=10)
    assert not again.ok
    assert newest_snapshot("lab-target", archive) is not None
    assert newest_snapshot("lab-target", archive)[0] == good.path  # type: ignore[index]


def test_cli_snapshot_in_the_client_namespace(lab: SshLab, tmp_path: Path) -> None:
    cfg = tmp_path / "lab.toml"
    cfg.write_text(f"""
[duty]
jump_host = "{JUMP}"
ssh_user = "root"
[[idcs]]
id = "lab"
name = "实验室"
[[hosts]]
name = "lab-target"
idc = "lab"
mode = "single"
internal = "{TARGET}"
external = "10.231.9.9"
[[hosts]]
name = "lab-dead"
idc = "lab"
mode = "single"
internal = "{DEAD}"
external = "10.231.9.8"
[[contacts]]
id = "duty5666"
role = "duty_room"
name = "5666"
""")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state")}
    base = [*lab.in_client(sys.executable, "-m", "lvs_tui.cli", "snapshot"), "--config",
            str(cfg), "--ssh-config", str(lab.ssh_config), "--timeout", "15"]
    r = subprocess.run([*base, "lab-target"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("lab-target: saved ")
    assert newest_snapshot("lab-target", tmp_path / "state/lvs-tui/snapshots") is not None
    r = subprocess.run(base, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1
    assert "lab-dead: failed: exit 255" in r.stdout and "lab-target: saved" in r.stdout
    r = subprocess.run([*base, "nope"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and r.stderr.strip() == f"{cfg}: 'nope' is not a host of the fleet"


def test_every_durations_and_bad_arguments(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from lvs_tui.cli import main
    from lvs_tui.commands.snapshot import parse_every

    assert parse_every("30m") == 1800 and parse_every("1d") == 86400
    with pytest.raises(ValueError, match="--every: 'often' is not a duration"):
        parse_every("often")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[idcs]]\nid = "a"\nname = "A"\n[[hosts]]\nname = "h"\nidc = "a"\n'
                   'mode = "single"\ninternal = "10.231.9.1"\nexternal = "10.231.9.2"\n'
                   '[[contacts]]\nid = "d"\nrole = "duty_room"\nname = "5666"\n')
    assert main(["snapshot", "--config", str(cfg), "--every", "0m"]) == 2
    assert "--every: '0m'" in capsys.readouterr().err
    assert main(["snapshot", "--config", str(cfg), "--ssh-config", str(tmp_path / "no")]) == 2
    assert "--ssh-config:" in capsys.readouterr().err
    assert main(["snapshot", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
