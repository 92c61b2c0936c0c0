"""The Zabbix API client: login (token or password), every request inside a hard deadline,
a dead session renewed once, logout, and secrets kept out of every text and log.

Not thread-safe: its one user (`ZabbixSource`) serialises cycles and chart reads.

Deadlines. requests' timeouts bound the connection and each socket read, not a whole
answer: a server that trickles a byte a second never trips them. So each request runs in a
daemon thread that the caller waits for at most the time left in the budget (`begin`);
past it the request is given up (its thread ends alone, its answer dropped) and the call
fails with a one-line reason. While a request given up on still runs, no new one starts
(the next waits for it within its own budget), so a trickling server costs one thread,
not one per cycle. Answers are read up to
`ANSWER_LIMIT` bytes: a huge answer fails the call instead of filling the memory.

Secrets (API token, password, session id) never reach the screen, a log or an exception
text shown to users: details are built from error classes, and pyzabbix's debug log
(which prints whole request bodies) passes through a redacting filter.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar, cast

import requests
from packaging.version import InvalidVersion, Version
from pyzabbix import ZabbixAPI, ZabbixAPIException

from lvs_tui.config import Zabbix
from lvs_tui.secret import SecretError, read_secret

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0  # seconds to open the TCP connection, within the deadline
LOGOUT_TIMEOUT = 2.0
LOGIN_BACKOFF = 300.0  # seconds before a refused password is tried again
ANSWER_LIMIT = 64 * 1024 * 1024  # bytes of one answer at most (100 000 history rows ≈ 8 MB)
REFUSED = "login refused: incorrect user name or password (or user blocked)"
V5_4 = Version("5.4")
V7_0 = Version("7.0")

T = TypeVar("T")


class ZabbixError(Exception):
    """A one-line, secret-free reason shown as the source's detail."""


class AuthKind(StrEnum):
    TOKEN = "token"
    PASSWORD = "password"


@dataclass(frozen=True, slots=True)
class Credentials:
    kind: AuthKind
    user: str
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials({self.kind.value}, user={self.user!r}, secret=***)"


def read_credentials(z: Zabbix) -> Credentials:
    """The token (preferred) or user + password, read fresh at every login."""
    try:
        token = read_secret(z.token_env, z.token_file, "zabbix.token")
        if token:
            return Credentials(AuthKind.TOKEN, "", token)
        password = read_secret(z.password_env, z.password_file, "zabbix.password")
    except SecretError as exc:
        raise ZabbixError(str(exc)) from None
    if z.user and password:
        return Credentials(AuthKind.PASSWORD, z.user, password)
    raise ZabbixError("zabbix: no API token and no user/password configured")


class _Redactor(logging.Filter):
    """Replaces every live secret in pyzabbix's log records with ***."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.logging_in = False  # user.login's answer is the session id, not known yet

    def filter(self, record: logging.LogRecord) -> bool:
        if self.logging_in and str(record.msg).startswith("Response Body"):
            record.msg, record.args = "Response Body: *** (login)", ()
            return True
        live = [s for s in self.secrets if s]
        if live:
            msg = record.getMessage()
            for s in live:
                msg = msg.replace(s, "***")
            record.msg, record.args = msg, ()
        return True


_REDACTOR = _Redactor()
logging.getLogger("pyzabbix.api").addFilter(_REDACTOR)


def _api_error(exc: ZabbixAPIException) -> tuple[str, str]:
    """(kind, one-line detail) of a pyzabbix exception; kind drives re-login."""
    err = exc.error if isinstance(exc.error, dict) else None
    if err is None:
        text = str(exc.args[0]) if exc.args else ""
        if text.startswith("Unable to parse json"):
            return "transport", "malformed JSON from the Zabbix API"
        return "transport", "empty response from the Zabbix API"
    data = str(err.get("data", ""))
    if "Session terminated" in data or "re-login" in data:
        return "session", "session expired"
    if "API token expired" in data:
        return "auth", "API token expired"
    if "Not authorized" in data or "Not authorised" in data:
        return "auth", "not authorised (API token or session rejected)"
    if "Incorrect user name or password" in data:
        return "auth", REFUSED
    code = str(err.get("code"))[:12]
    said = " ".join((data or str(err.get("message", ""))).split())[:160]
    return "api", f"API error {code}: {said}"


def _transport_error(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} from the Zabbix API"
    if isinstance(exc, requests.Timeout):
        return f"Zabbix API timed out (limit {timeout:g} s)"
    if isinstance(exc, requests.ConnectionError):
        return "Zabbix API unreachable (connection failed)"
    return f"Zabbix API request failed ({type(exc).__name__})"


def _bounded_answer(resp: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """A response hook (it runs before requests reads the body): read at most
    ANSWER_LIMIT bytes, so a huge or endless answer fails instead of filling the memory."""
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > ANSWER_LIMIT:
        resp.close()
        raise ZabbixError(f"Zabbix API answer too large ({int(length)} bytes)")
    body = bytearray()
    for chunk in resp.iter_content(1 << 16):
        body += chunk
        if len(body) > ANSWER_LIMIT:
            resp.close()
            raise ZabbixError(f"Zabbix API answer too large (over {ANSWER_LIMIT} bytes)")
    resp._content = bytes(body)  # requests' own cache of the body: .text/.json use it
    return resp


class ZabbixClient:
    """One Zabbix server's API. `begin(seconds)` opens a budget; `call` spends it."""

    def __init__(self, z: Zabbix, session: requests.Session | None = None) -> None:
        self.z = z
        self.session = session or requests.Session()
        self.session.hooks["response"].append(_bounded_answer)
        self.api: ZabbixAPI | None = None
        self.version: Version | None = None
        self.auth_kind: AuthKind | None = None
        self.calls = 0  # requests since `begin`
        self._deadline = 0.0
        self._budget = z.timeout
        self._straggler: threading.Thread | None = None  # a request given up on
        self._refused: tuple[str, float] | None = None  # refused password's digest, when

    def __repr__(self) -> str:
        return f"ZabbixClient(url={self.z.url!r}, auth={self.auth_kind})"

    def begin(self, seconds: float) -> None:
        """Start a budget: every request until the next `begin` ends within `seconds`."""
        self._budget = seconds
        self._deadline = time.monotonic() + seconds
        self.calls = 0

    def at_least(self, version: Version) -> bool:
        return self.version is not None and self.version >= version

    def ensure_login(self) -> None:
        if self.api is None:
            self.login()

    def login(self) -> None:
        """Version check, then token or user.login; on failure no half-made session stays."""
        try:
            self._login_once()
        except BaseException:
            self.api = None
            raise

    def _login_once(self) -> None:
        creds = read_credentials(self.z)
        api = ZabbixAPI(self.z.url, session=self.session, detect_version=False)
        self.api = api
        _REDACTOR.secrets.add(creds.secret)
        said = self.call("apiinfo.version", {})
        try:
            self.version = Version(str(said))
        except InvalidVersion:
            raise ZabbixError(f"not a Zabbix API version: {str(said)[:40]!r}") from None
        api.version = self.version
        if creds.kind is AuthKind.TOKEN:
            api.use_api_token = True
            api.auth = creds.secret
        else:
            api.auth = self._user_login(creds)
            _REDACTOR.secrets.add(api.auth)
        self.auth_kind = creds.kind

    def _user_login(self, creds: Credentials) -> str:
        """user.login, except with a password Zabbix refused lately: retrying it every cycle
        would keep the account blocked (Zabbix blocks after a few failures)."""
        digest = hashlib.sha256(f"{creds.user}\0{creds.secret}".encode()).hexdigest()
        if self._refused and self._refused[0] == digest and (
                time.monotonic() - self._refused[1] < LOGIN_BACKOFF):
            raise ZabbixError(f"{REFUSED}; not retried for {LOGIN_BACKOFF / 60:g} min "
                              "unless the password changes")
        assert self.api is not None
        field_ = "username" if self.at_least(V5_4) else "user"
        self.api.auth = ""
        _REDACTOR.logging_in = True
        try:
            session = self.call("user.login", {field_: creds.user, "password": creds.secret})
        except ZabbixError as exc:
            if str(exc) == REFUSED:
                self._refused = (digest, time.monotonic())
            raise
        finally:
            _REDACTOR.logging_in = False
        if not isinstance(session, str) or not session:
            raise ZabbixError("user.login answered without a session id")
        return session

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """One API request inside the budget; a dead session is renewed once."""
        try:
            return self._request(method, params)
        except ZabbixAPIException as exc:
            kind, detail = _api_error(exc)
            if kind == "session" and self.auth_kind is AuthKind.PASSWORD:
                log.info("zabbix: session expired, logging in again")
                self.login()
                return self._request_or_fail(method, params)
            if kind == "auth":
                self.api = None  # next cycle reads the secret again (it may be rotated)
            raise ZabbixError(detail) from None

    def _request_or_fail(self, method: str, params: dict[str, Any]) -> Any:
        try:
            return self._request(method, params)
        except ZabbixAPIException as exc:
            self.api = None
            raise ZabbixError(_api_error(exc)[1]) from None

    def _request(self, method: str, params: dict[str, Any]) -> Any:
        api = self.api
        assert api is not None
        if self._straggler is not None:  # its socket timeout usually ends it at once
            self._straggler.join(max(0.0, self._deadline - time.monotonic()))
            if self._straggler.is_alive():
                raise ZabbixError("Zabbix API still sending an answer given up at its "
                                  f"deadline of {self._budget:g} s")
            self._straggler = None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ZabbixError(f"deadline of {self._budget:g} s exceeded before {method}")
        # (connect, read) in float seconds, as requests takes it (pyzabbix annotates ints)
        api.timeout = cast(Any, (min(CONNECT_TIMEOUT, remaining), remaining))
        self.calls += 1
        try:
            answer = self._within(remaining, lambda: api.do_request(method, params))
        except TimeoutError:
            raise ZabbixError(f"Zabbix API timed out (limit {self._budget:g} s)") from None
        except requests.RequestException as exc:
            raise ZabbixError(_transport_error(exc, self._budget)) from None
        except (ValueError, KeyError, TypeError, RecursionError):  # pyzabbix reading junk
            raise ZabbixError(f"malformed JSON from the Zabbix API ({method})") from None
        if not isinstance(answer, dict) or "result" not in answer:
            raise ZabbixError(f"malformed JSON from the Zabbix API ({method}: no result)")
        return answer["result"]

    def _within(self, seconds: float, fn: Callable[[], T]) -> T:
        """fn() in a daemon thread, waited for at most `seconds` (see the module doc)."""
        done: Future[T] = Future()

        def work() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # handed to the waiting caller
                done.set_exception(exc)

        worker = threading.Thread(target=work, name="zabbix-request", daemon=True)
        worker.start()
        try:
            return done.result(timeout=seconds)
        except TimeoutError:
            self._straggler = worker
            raise

    def logout(self) -> None:
        """End a password session (tokens have none), within LOGOUT_TIMEOUT."""
        if self.api is None or self.auth_kind is not AuthKind.PASSWORD:
            return
        self.begin(LOGOUT_TIMEOUT)
        try:
            self._request("user.logout", {})
        except (ZabbixError, ZabbixAPIException) as exc:
            log.info("zabbix: logout failed: %s", exc)
        self.api = None
