"""The verdicts of diagnosis: what is wrong with a host, how urgent, what it puts at risk.

These ids are an interface (CLI --json, the runbook file's `when` conditions, tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class SituationId(StrEnum):
    UNKNOWN = "unknown"  # not enough data to say anything
    OK = "ok"
    DEGRADED = "degraded"  # loss or latency above thresholds
    VIP_UNREACHABLE = "vip_unreachable"  # one or more VIPs, host itself fine
    ONE_SIDE_DOWN = "one_side_down"  # internal or external side down
    PATH_BROKEN = "path_broken"  # both sides down from here, but the host shows life
    HOST_DOWN = "host_down"  # both sides down everywhere AND monitoring stopped/login failed


class Severity(IntEnum):
    """Ordered: the fleet table sorts by it, worst first."""

    OK = 0
    UNKNOWN = 1
    WARNING = 2
    MAJOR = 3
    CRITICAL = 4

    @property
    def word(self) -> str:
        return self.name.lower()


class Scope(StrEnum):
    """For vip_unreachable: from everywhere, or only from some vantages (carriers)."""

    ALL = "all"
    PARTIAL = "partial"


class ImpactLevel(StrEnum):
    OUTAGE = "outage"  # no healthy host announces the VIP
    SINGLE_POINT = "single_point"  # one left: 单机运行风险
    REDUNDANT = "redundant"  # two or more


@dataclass(frozen=True, slots=True)
class VipImpact:
    address: str
    label: str
    healthy: int  # healthy hosts still announcing it
    total: int
    level: ImpactLevel


@dataclass(frozen=True, slots=True)
class Impact:
    """What losing this host puts at risk, from the topology."""

    vips: tuple[VipImpact, ...] = ()
    peers_healthy: int = 0
    peers_total: int = 0
    service_unaffected: bool | None = None  # ha/ssl: peers carry the load (None: unknown)
    load_note: str = ""  # e.g. "peers CPU max 41%, bond1 max 2.1 Gbps"

    @property
    def outage(self) -> tuple[VipImpact, ...]:
        return tuple(v for v in self.vips if v.level is ImpactLevel.OUTAGE)

    @property
    def single_point(self) -> tuple[VipImpact, ...]:
        return tuple(v for v in self.vips if v.level is ImpactLevel.SINGLE_POINT)


@dataclass(frozen=True, slots=True)
class Situation:
    host: str
    id: SituationId
    severity: Severity
    evidence: tuple[str, ...] = ()  # short human sentences, Chinese, one fact each
    since: float | None = None  # when the trouble began (first silent sample), epoch
    scope: Scope | None = None  # vip_unreachable only
    down_addresses: tuple[str, ...] = ()  # the addresses that are down/unreachable
    impact: Impact = Impact()
    on_alert_page: bool = False  # the 5666 page names one of its addresses
    # host_down corroboration actually observed: "monitoring_stopped", "login_failed"
    signs: frozenset[str] = frozenset()

    @property
    def is_problem(self) -> bool:
        return self.id not in (SituationId.OK, SituationId.UNKNOWN)
