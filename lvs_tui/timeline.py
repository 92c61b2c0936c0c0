"""The incident timeline's values: incidents and their events, as the log stores them.

Pure values, apart from the log (`incidents.py`, SQLite), so that the handover and other
pure code read a timeline without importing the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventKind(StrEnum):
    OPENED = "opened"  # name: situation id; detail: evidence
    SITUATION = "situation"  # a change of situation id, severity or evidence
    CONFIRMED = "confirmed"  # name: the runbook confirmation; detail: the operator's note
    TEXT = "text"  # name: text kind (initial, reboot…); data.how: copied | sent | send_failed
    ACTION = "action"  # name: ssh | diagnostics | traceroute | snapshot; detail: output
    RECOVERED = "recovered"  # the host is ok again: the incident closes
    RETIRED = "retired"  # the host left the config: nobody watches it, the incident closes
    # The duty's own state (lvs_tui/duty_state.py folds these; data carries who and what):
    ACK = "ack"  # name: situation acknowledged; detail: note; data: who, severity
    UNACK = "unack"  # an acknowledgement taken back; data: who
    MAINTENANCE = "maintenance"  # name: window id; detail: reason; data: target, hosts …
    MAINTENANCE_END = "maintenance_end"  # name: window id, ended early; data: who
    SILENCE = "silence"  # name: silence id; detail: reason; data: target, vantages …
    SILENCE_END = "silence_end"  # name: silence id; data: who
    FLAPPING = "flapping"  # name: start | stop


# What the duty state is folded from.
DUTY_KINDS = (EventKind.ACK, EventKind.UNACK, EventKind.MAINTENANCE,
              EventKind.MAINTENANCE_END, EventKind.SILENCE, EventKind.SILENCE_END)


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    incident: int | None
    host: str
    t: float
    kind: EventKind
    name: str = ""
    detail: str = ""
    data: dict[str, object] | None = None

    @property
    def severity(self) -> int | None:
        value = (self.data or {}).get("severity")
        return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    host: str
    opened: float
    since: float | None  # when the trouble began, as diagnosis saw it
    closed: float | None
    situation: str  # the current (or, once closed, the last problem) situation id
    severity: int
    worst: str  # the worst situation seen: the cause in the handover
    worst_severity: int

    @property
    def is_open(self) -> bool:
        return self.closed is None

    @property
    def started(self) -> float:
        return self.since if self.since is not None else self.opened

    def duration(self, now: float) -> float:
        return (self.closed if self.closed is not None else now) - self.started
