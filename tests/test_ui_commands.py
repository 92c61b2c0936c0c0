"""The dashboard's and demo's user mistakes: one line naming the file/field/value, exit 2,
and no app started (so nothing is probed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvs_tui.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "config.toml.example"


@pytest.fixture(autouse=True)
def _never_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a check regressed, fail instead of starting real sources (network safety)."""
    from lvs_tui.app import LvsApp
    from lvs_tui.commands import dashboard

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the app must not start on a user mistake")

    monkeypatch.setattr(dashboard, "_sources", lambda cfg, store: [])
    monkeypatch.setattr(LvsApp, "run", refuse)


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def test_unknown_key_id_in_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace('# copy_notice = "c"',
                                                       'copy_text = "y"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"{path}: [keys].copy_text: unknown action id; known:")


def test_unknown_theme_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(EXAMPLE), "--theme", "neon"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("--theme: unknown theme 'neon': one of dark, light, high-contrast, "
                   "colorblind or a path to a .tcss theme file")


def test_demo_rejects_bad_speed_and_theme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "0"]) == 2
    assert capsys.readouterr().err.strip() == "--speed 0.0: must be > 0"
    assert main(["demo", "--theme", "/nonexistent/x.tcss"]) == 2
    assert "x.tcss: cannot read theme" in capsys.readouterr().err


def test_missing_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.toml")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
