"""Sending the generated texts: a group-robot webhook (WeCom style) and email to the admins.

Off unless the config turns it on, and every send needs the operator's explicit confirm
key (`confirmed=True` from the app). Secrets (the webhook URL carries the robot's key, the
SMTP password) come from environment variables or files, never from the config text, and
never appear in an error message. The robot accepts 20 messages a minute: we count our own
sends and refuse the 21st with the time until the next slot rather than queue it silently.
Every attempt, sent or failed, goes into the incident timeline via `record_sent`.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum

import httpx

from lvs_tui.config import SendSettings, SmtpSecurity
from lvs_tui.fleet import Fleet, Host
from lvs_tui.incidents import Event, IncidentLog
from lvs_tui.secret import SecretError, require_secret

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9.-]+$")
WECOM_RATE_LIMITED = 45009  # WeCom's errcode for "api freq out of limit"


class Outcome(StrEnum):
    SENT = "sent"
    REFUSED = "refused"  # off, not confirmed, not configured: nothing left the machine
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SendResult:
    channel: str  # "webhook" | "email"
    outcome: Outcome
    detail: str  # one line for the status bar
    t: float
    to: str = ""  # who it went to, for the timeline

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


class RateLimit:
    """At most `per_minute` sends in any 60 s window."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until the next send is allowed (0: now)."""
        while self._sent and self._sent[0] <= now - 60.0:
            self._sent.popleft()
        if len(self._sent) < self.per_minute:
            return 0.0
        return self._sent[0] + 60.0 - now

    def take(self, now: float) -> None:
        self._sent.append(now)


def _refused(settings: SendSettings, channel: str, confirmed: bool, now: float
             ) -> SendResult | None:
    if not settings.enabled:
        return SendResult(channel, Outcome.REFUSED, "sending is off (sending.enabled = false)",
                          now)
    if not confirmed:
        return SendResult(channel, Outcome.REFUSED, "not sent: needs the confirm key", now)
    return None


class WebhookSender:
    """A WeCom-style group robot: POST {"msgtype": "text", ...}; success is errcode 0."""

    channel = "webhook"

    def __init__(self, settings: SendSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.limit = RateLimit(settings.rate_per_minute)

    async def send(self, text: str, confirmed: bool, mentioned_mobiles: Sequence[str] = (),
                   to: str = "群机器人") -> SendResult:
        now = self.clock()
        refused = _refused(self.settings, self.channel, confirmed, now)
        if refused:
            return refused
        try:
            url = require_secret(self.settings.webhook_url_env, self.settings.webhook_url_file,
                              "sending.webhook_url")
        except SecretError as exc:
            return SendResult(self.channel, Outcome.REFUSED, str(exc), now)
        wait = self.limit.wait(now)
        if wait > 0:
            return SendResult(self.channel, Outcome.RATE_LIMITED,
                              f"{self.settings.rate_per_minute} messages a minute reached: "
                              f"next in {wait:.0f} s", now, to)
        self.limit.take(now)
        body: dict[str, object] = {"msgtype": "text",
                                   "text": {"content": text,
                                            "mentioned_mobile_list": list(mentioned_mobiles)}}
        outcome, detail = await self._post(url, body)
        return SendResult(self.channel, outcome, detail, now, to)

    async def _post(self, url: str, body: dict[str, object]) -> tuple[Outcome, str]:
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout) as client:
                resp = await client.post(url, json=body)
        except httpx.TimeoutException:
            return Outcome.FAILED, "webhook: timeout"
        except httpx.HTTPError as exc:  # never the URL: it holds the robot's key
            return Outcome.FAILED, f"webhook: {type(exc).__name__}"
        if resp.status_code != 200:
            return Outcome.FAILED, f"webhook: HTTP {resp.status_code}"
        try:
            answer = resp.json()
            code = int(answer.get("errcode", -1))
            message = str(answer.get("errmsg", ""))[:200]
        except (ValueError, AttributeError, TypeError):
            return Outcome.FAILED, "webhook: the answer is not the robot's JSON"
        if code == 0:
            return Outcome.SENT, "webhook: sent"
        if code == WECOM_RATE_LIMITED:
            return Outcome.RATE_LIMITED, f"webhook: rate limited by the server: {message}"
        return Outcome.FAILED, f"webhook: errcode {code}: {message}"


class MailSender:
    """Email over SMTP (smtplib, in a thread), to the business admins."""

    channel = "email"

    def __init__(self, settings: SendSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock

    async def send(self, to: Sequence[str], subject: str, body: str, confirmed: bool
                   ) -> SendResult:
        now = self.clock()
        refused = _refused(self.settings, self.channel, confirmed, now)
        if refused:
            return refused
        why = self._unusable(to)
        if why:
            return SendResult(self.channel, Outcome.REFUSED, f"email: {why}", now)
        s = self.settings
        password = ""
        if s.smtp_user:
            try:
                password = require_secret(s.smtp_password_env, s.smtp_password_file,
                                       "sending.smtp_password")
            except SecretError as exc:
                return SendResult(self.channel, Outcome.REFUSED, str(exc), now)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = s.mail_from, ", ".join(to), subject
        msg["Date"], msg["Message-ID"] = formatdate(now, localtime=True), make_msgid("lvs-tui")
        msg.set_content(body)
        try:
            await asyncio.to_thread(self._deliver, msg, password)
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult(self.channel, Outcome.FAILED, f"email: {_smtp_why(exc)}", now,
                              "邮件 " + ", ".join(to))
        return SendResult(self.channel, Outcome.SENT, f"email: sent to {len(to)}", now,
                          "邮件 " + ", ".join(to))

    def _unusable(self, to: Sequence[str]) -> str:
        s = self.settings
        if not s.smtp_host:
            return "sending.smtp_host is not set"
        if not s.mail_from:
            return "sending.mail_from is not set"
        if not to:
            return "no recipient (no admin has an email address)"
        bad = [a for a in (*to, s.mail_from) if not _EMAIL.match(a)]
        return f"{bad[0]!r} is not an email address" if bad else ""

    def _deliver(self, msg: EmailMessage, password: str) -> None:
        s = self.settings
        if s.smtp_security is SmtpSecurity.SSL:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)
        with smtp:
            if s.smtp_security is SmtpSecurity.STARTTLS:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, password)
            smtp.send_message(msg)


def _smtp_why(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        (addr, (code, text)), *_ = exc.recipients.items()
        return f"{addr} refused: {code} {text.decode(errors='replace')}"[:200]
    if isinstance(exc, smtplib.SMTPResponseException):
        why = exc.smtp_error  # bytes from smtplib, str in typeshed's union
        why = why.decode(errors="replace") if isinstance(why, bytes) else why
        return f"{exc.smtp_code} {why}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]


def admin_emails(fleet: Fleet, host: Host) -> tuple[str, ...]:
    """The business admins of a host and its VIPs, by email, once each."""
    return tuple(dict.fromkeys(c.email for c in fleet.admins_of(host) if c.email))


def record_sent(log: IncidentLog, host: str, kind: str, text: str, result: SendResult
                ) -> Event | None:
    """Put a send attempt in the timeline; a refusal (nothing left the machine) is not one."""
    if result.outcome is Outcome.REFUSED:
        return None
    how = "sent" if result.ok else "send_failed"
    return log.record_text(host, kind, text, how, result.t, to=result.to or result.channel)
