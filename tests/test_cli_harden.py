"""Nothing raw reaches the terminal, and bad arguments are one line, exit 2 (issue 19).

The commands run for real through `lvs_tui.cli.main`; what they print is read back as the
terminal would get it.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lvs_tui.cli import Printable, main
from lvs_tui.commands.incidents import parse_when
from lvs_tui.plain import has_control, one_line, printable

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    assert printable("ok 电信\n\tnext") == "ok 电信\n\tnext"
    assert printable("\x1b]0;pwned\x07") == "\\u001b]0;pwned\\u0007"
    assert printable("a\x9bb\u202ec\u2028d") == "a\\u009bb\\u202ec\\u2028d"
    assert printable("\u200d👩\u200d💻") == "\u200d👩\u200d💻"  # a joiner is no instruction
    assert one_line("a\nb\tc\x1b") == "a\\u000ab\\u0009c\\u001b"
    assert one_line(ValueError("x\ny")) == "x\\u000ay"
    assert not has_control(one_line("".join(map(chr, range(0x110))) + "\u202e\u2029"))


def test_an_escaped_json_answer_still_parses_to_the_same_value() -> None:
    value = {"name": "5666\x9b\u202e值班"}
    text = printable(json.dumps(value, ensure_ascii=False))
    assert not has_control(text, frozenset("\n")) and json.loads(text) == value


def test_the_printable_stream_passes_text_and_escapes_the_rest() -> None:
    inner = io.StringIO()
    stream = Printable(inner)
    assert stream.write("a\x1b[2Jb\n") == len("a\x1b[2Jb\n")
    print("c\x07", file=stream)
    assert inner.getvalue() == "a\\u001b[2Jb\nc\\u0007\n"


def test_commands_print_through_it_and_put_the_streams_back(capsys) -> None:
    before = sys.stdout, sys.stderr
    assert main(["find", "--demo", "10.0.0.1\x1b]0;pwned\x07\nforged"]) == 1
    assert (sys.stdout, sys.stderr) == before
    err = capsys.readouterr().err
    assert err == ("10.0.0.1\\u001b]0;pwned\\u0007\\u000aforged: not an address of this "
                   "fleet (42 hosts, 156 VIPs)\n")


def test_an_argument_mistake_is_one_line_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--demo", "--at", "soon\x1b[2J"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("lvs-tui check: error: argument --at: invalid float "
                                       "value: 'soon\\x1b[2J' (see lvs-tui check --help)\n")


@pytest.mark.parametrize(("at", "said"), [
    ("nan", "--at nan: must be a number from 0 up to 2592000"),
    ("inf", "--at inf: must be a number from 0 up to 2592000"),
    ("1e12", "--at 1000000000000.0: must be a number from 0 up to 2592000"),
    ("-1", "--at -1.0: must be a number from 0 up to 2592000"),
])
def test_check_at_out_of_range(at: str, said: str, capsys) -> None:
    assert main(["check", "--demo", "--at", at]) == 2
    assert capsys.readouterr().err == said + "\n"


def test_check_listen_out_of_range(capsys, tmp_path: Path) -> None:
    assert main(["check", "--demo", "--listen", "nan"]) == 2
    assert capsys.readouterr().err == "--listen nan: must be a number above 0 up to 3600\n"


@pytest.mark.parametrize(("since", "said"), [
    ("99999999d", "--since: '99999999d' is out of range: from 2000-01-01 until now"),
    ("0001-01-01", "--since: '0001-01-01' is out of range: from 2000-01-01 until now"),
    ("2027-01-01", "--since: '2027-01-01' is out of range: from 2000-01-01 until now"),
    ("year 1", "--since: 'year 1' is not like 12h, 30m, 2d or '2026-11-25 08:00'"),
    ("9" * 400 + "d", f"--since: '{'9' * 400}d' is not like 12h, 30m, 2d or "
     "'2026-11-25 08:00'"),
    ("12h\n", None),
])
def test_since_out_of_range_or_unreadable(since: str, said: str | None) -> None:
    if said is None:
        assert parse_when(since, NOW, UTC) == NOW - 12 * 3600
        return
    with pytest.raises(ValueError) as exc:
        parse_when(since, NOW, UTC)
    assert str(exc.value) == said


@pytest.mark.parametrize("command", ["handover", "incidents"])
def test_since_out_of_range_exits_2_with_one_line(command: str, tmp_path: Path,
                                                   capsys, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no config: the log needs none
    assert main([command, "--since", "99999999d", "--db", str(tmp_path / "log.db")]) == 2
    assert capsys.readouterr().err == ("--since: '99999999d' is out of range: from "
                                       "2000-01-01 until now\n")


def test_incident_log_strings_are_printed_escaped(tmp_path: Path, capsys,
                                                  monkeypatch) -> None:
    """A host name with an escape sequence in the log (a damaged or hostile file)."""
    from tests.faults.runner import damaged_log

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    db = damaged_log(tmp_path / "log.db", "escape_in_host")
    assert main(["incidents", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "#1 lvs\\u001b]0;pwned\\u0007-01 open" in out and not has_control(out, frozenset("\n"))


def test_demo_refuses_nonsense_speed_and_scale(capsys) -> None:
    assert main(["demo", "--speed", "inf"]) == 2
    assert main(["demo", "--scale", "100000"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "--speed inf: must be > 0 and at most 3600", "--scale 100000: must be from 1 up to 100"]
