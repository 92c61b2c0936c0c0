"""Secrets: the variable wins, the file is the fallback, every failure names the config key."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvs_tui.secret import SecretError, read_secret, require_secret


def test_variable_wins_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "tok"
    f.write_text("from-file\n")
    monkeypatch.setenv("LVT_SECRET_T", " from-env ")
    assert read_secret("LVT_SECRET_T", str(f), "zabbix.token") == "from-env"
    monkeypatch.delenv("LVT_SECRET_T")
    assert read_secret("LVT_SECRET_T", str(f), "zabbix.token") == "from-file"


def test_nothing_configured_is_none_or_an_error() -> None:
    assert read_secret("", "", "zabbix.token") is None
    with pytest.raises(SecretError, match=r"^sending\.webhook_url: not configured "
                       r"\(set sending\.webhook_url_env or sending\.webhook_url_file\)$"):
        require_secret("", "", "sending.webhook_url")


@pytest.mark.parametrize(("setup", "message"), [
    ("unset", "zabbix.password_env: $LVT_SECRET_UNSET is not set"),
    ("missing", "zabbix.password_file: '{f}': No such file or directory"),
    ("empty", "zabbix.password_file: '{f}' is empty"),
])
def test_one_line_errors_name_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      setup: str, message: str) -> None:
    monkeypatch.delenv("LVT_SECRET_UNSET", raising=False)
    f = tmp_path / "pw"
    if setup == "empty":
        f.write_text("  \n")
    env, file = ("LVT_SECRET_UNSET", "") if setup == "unset" else ("", str(f))
    with pytest.raises(SecretError) as err:
        read_secret(env, file, "zabbix.password")
    assert str(err.value) == message.format(f=f)
