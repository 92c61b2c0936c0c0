"""Sending: the webhook against a local HTTP server, email against a tiny local SMTP server."""

from __future__ import annotations

import base64
import email
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from lvs_tui.fleet import Contact, Fleet, Host, Idc, Mode, Role, Vip
from lvs_tui.incidents import IncidentLog
from lvs_tui.sending import (
    MailSender,
    Outcome,
    SendSettings,
    SmtpSecurity,
    WebhookSender,
    admin_emails,
    record_sent,
)
from tests.robot import Robot


def on(url_env: str = "LVS_TUI_TEST_WEBHOOK", **kw: object) -> SendSettings:
    return SendSettings(enabled=True, webhook_url_env=url_env, timeout=2.0, **kw)  # type: ignore[arg-type]


async def test_off_by_default_and_confirm_required(robot: tuple[str, Robot],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url, bot = robot
    monkeypatch.setenv("LVS_TUI_TEST_WEBHOOK", url)
    r = await WebhookSender(SendSettings(webhook_url_env="LVS_TUI_TEST_WEBHOOK")).send(
        "x", confirmed=True)
    assert r.outcome is Outcome.REFUSED and "sending is off" in r.detail
    r = await WebhookSender(on()).send("x", confirmed=False)
    assert r.outcome is Outcome.REFUSED and "confirm" in r.detail
    assert bot.bodies == []


async def test_sent_body_is_the_robot_format(robot: tuple[str, Robot],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url, bot = robot
    monkeypatch.setenv("LVS_TUI_TEST_WEBHOOK", url)
    r = await WebhookSender(on()).send("@朱兴 通报一起事件", True, ["13800000002"])
    assert r.ok and r.detail == "webhook: sent"
    assert bot.bodies == [{"msgtype": "text", "text": {
        "content": "@朱兴 通报一起事件", "mentioned_mobile_list": ["13800000002"]}}]
    assert bot.paths == ["/cgi-bin/webhook/send?key=SECRETKEY"]


@pytest.mark.parametrize(("status", "answer", "outcome", "detail"), [
    (200, '{"errcode": 93000, "errmsg": "invalid webhook url"}', Outcome.FAILED,
     "webhook: errcode 93000: invalid webhook url"),
    (200, '{"errcode": 45009, "errmsg": "api freq out of limit"}', Outcome.RATE_LIMITED,
     "webhook: rate limited by the server: api freq out of limit"),
    (502, "bad gateway", Outcome.FAILED, "webhook: HTTP 502"),
    (200, "<html>proxy login</html>", Outcome.FAILED,
     "webhook: the answer is not the robot's JSON"),
])
async def test_errors_are_read_from_the_body(robot: tuple[str, Robot],
                                             monkeypatch: pytest.MonkeyPatch, status: int,
                                             answer: str, outcome: Outcome, detail: str) -> None:
    url, bot = robot
    monkeypatch.setenv("LVS_TUI_TEST_WEBHOOK", url)
    bot.status, bot.answer = status, answer
    r = await WebhookSender(on()).send("x", True)
    assert (r.outcome, r.detail) == (outcome, detail)
    assert "SECRETKEY" not in r.detail


async def test_twenty_a_minute(robot: tuple[str, Robot],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    url, bot = robot
    monkeypatch.setenv("LVS_TUI_TEST_WEBHOOK", url)
    now = 1000.0
    sender = WebhookSender(on(), clock=lambda: now)
    for i in range(20):
        now = 1000.0 + i
        assert (await sender.send(f"m{i}", True)).ok
    now = 1030.0
    r = await sender.send("m20", True)
    assert r.outcome is Outcome.RATE_LIMITED
    assert r.detail == "20 messages a minute reached: next in 30 s"
    assert len(bot.bodies) == 20  # the 21st never left the machine
    now = 1060.5  # the first send left the window
    assert (await sender.send("m21", True)).ok


async def test_secret_from_file_or_a_clear_error(robot: tuple[str, Robot], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url, bot = robot
    monkeypatch.delenv("LVS_TUI_TEST_WEBHOOK", raising=False)
    r = await WebhookSender(on()).send("x", True)
    assert r.outcome is Outcome.REFUSED
    assert r.detail == "sending.webhook_url_env: $LVS_TUI_TEST_WEBHOOK is not set"
    secret = tmp_path / "webhook"
    secret.write_text(url + "\n")
    r = await WebhookSender(on(url_env="", webhook_url_file=str(secret))).send("x", True)
    assert r.ok and len(bot.bodies) == 1


async def test_unreachable_robot_fails_without_leaking_the_key() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LVS_TUI_TEST_WEBHOOK", f"http://127.0.0.1:{port}/send?key=SECRETKEY")
        r = await WebhookSender(on()).send("x", True)
    assert r.outcome is Outcome.FAILED and r.detail == "webhook: ConnectError"


# -- a tiny SMTP server (stdlib sockets) ----------------------------------------------------


@dataclass
class Mailbox:
    auth: list[str] = field(default_factory=list)
    mail_from: list[str] = field(default_factory=list)
    rcpt: list[str] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    box = Mailbox()

    class Handler(socketserver.StreamRequestHandler):
        def say(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.say("220 lab ESMTP")
            while line := self.rfile.readline():
                cmd = line.decode().strip()
                verb = cmd.split(" ")[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.say("250-lab\r\n250-AUTH PLAIN\r\n250 8BITMIME")
                elif verb == "AUTH":
                    box.auth.append(base64.b64decode(cmd.split(" ")[2]).decode())
                    self.say("235 ok")
                elif verb == "MAIL":
                    box.mail_from.append(cmd)
                    self.say("250 ok")
                elif verb == "RCPT":
                    addr = cmd.split(":", 1)[1].strip("<> ")
                    if addr in box.refuse:
                        self.say("550 no such user")
                        continue
                    box.rcpt.append(addr)
                    self.say("250 ok")
                elif verb == "DATA":
                    self.say("354 go")
                    chunks = []
                    while (part := self.rfile.readline()) not in (b".\r\n", b""):
                        chunks.append(part)
                    box.data.append(b"".join(chunks))
                    self.say("250 queued")
                elif verb == "QUIT":
                    self.say("221 bye")
                    return
                else:
                    self.say("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1], box
    server.shutdown()
    server.server_close()


def mail_settings(port: int, **kw: object) -> SendSettings:
    return SendSettings(enabled=True, smtp_host="127.0.0.1", smtp_port=port,  # type: ignore[arg-type]
                        smtp_security=SmtpSecurity.NONE, mail_from="lvs-duty@example.com",
                        timeout=5.0, **kw)


async def test_email_to_the_admins_with_password_from_env(
        smtp: tuple[int, Mailbox], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    port, box = smtp
    monkeypatch.setenv("LVS_TUI_TEST_SMTP_PW", "s3cret")
    sender = MailSender(mail_settings(port, smtp_user="duty",
                                      smtp_password_env="LVS_TUI_TEST_SMTP_PW"))
    to = ("www-admin@example.com", "api-admin@example.com")
    r = await sender.send(to, "【故障通报】赛尔机房 LVS 宕机",
                          "各位管理员：赛尔所有 VIP 单机运行风险", True)
    assert r.ok and r.to == "邮件 www-admin@example.com, api-admin@example.com"
    assert box.auth == ["\x00duty\x00s3cret"]
    assert box.rcpt == list(to)
    msg = email.message_from_bytes(box.data[0])
    assert str(make_header(decode_header(msg["Subject"]))) == "【故障通报】赛尔机房 LVS 宕机"
    assert "单机运行风险" in msg.get_payload(decode=True).decode()  # type: ignore[union-attr]
    with IncidentLog(tmp_path / "i.db") as log:
        e = record_sent(log, "lvs-cernet-01", "initial", "各位管理员…", r)
        assert e is not None and e.data == {"how": "sent", "to": r.to}


async def test_email_refused_recipient_and_missing_settings(smtp: tuple[int, Mailbox]) -> None:
    port, box = smtp
    box.refuse.add("gone@example.com")
    r = await MailSender(mail_settings(port)).send(["gone@example.com"], "s", "b", True)
    assert r.outcome is Outcome.FAILED
    assert r.detail == "email: gone@example.com refused: 550 no such user"
    r = await MailSender(mail_settings(port)).send(["a@b.c\r\nBcc: x@y.z"], "s", "b", True)
    assert r.outcome is Outcome.REFUSED and "is not an email address" in r.detail
    r = await MailSender(SendSettings(enabled=True)).send(["a@b.c"], "s", "b", True)
    assert r.detail == "email: sending.smtp_host is not set"
    r = await MailSender(mail_settings(port, smtp_user="u")).send(["a@b.c"], "s", "b", True)
    assert r.outcome is Outcome.REFUSED and r.detail.startswith("sending.smtp_password:")
    assert box.data == []


def test_admin_emails_from_the_fleet() -> None:
    host = Host("h1", "a", Mode.SINGLE, "192.0.2.1", "192.0.2.2", admins=("ops",))
    fleet = Fleet((Idc("a", "A", "x"),), (host,),
                  (Vip("192.0.2.100", ("h1",), admins=("www", "ops")),),
                  (Contact("ops", Role.ADMIN, "LVS", email="ops@example.com"),
                   Contact("www", Role.ADMIN, "www", email="www@example.com")))
    assert admin_emails(fleet, host) == ("ops@example.com", "www@example.com")
