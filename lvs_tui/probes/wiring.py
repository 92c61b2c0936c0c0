"""Which real collectors a config asks for, each under its supervisor (probes/supervisor.py).
A collector that cannot even be built (a missing backend, a broken module) becomes a source
that only reports itself down: the rest goes on."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable

from lvs_tui.config import Config, VantageKind
from lvs_tui.probes import Source
from lvs_tui.probes.supervisor import Supervised
from lvs_tui.state import SourceState, SourceStatus, StateStore

# (module, factory, source name shown when the factory fails)
FACTORIES: tuple[tuple[str, str, str], ...] = (
    ("lvs_tui.probes.icmp", "icmp_sources", "icmp"),
    ("lvs_tui.probes.zabbix", "zabbix_sources", "zabbix"),
    ("lvs_tui.probes.alert_page", "alert_page_sources", "alert_page"),
)
SLACK = 10.0  # seconds of grace on top of a source's own cycle before it is stale


class BrokenSource:
    """Stands in for a collector that could not start; says why, once."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        self.detail = detail

    async def run(self, store: StateStore) -> None:
        store.set_source(SourceStatus(self.name, SourceState.DOWN, time.time(), self.detail))
        await asyncio.Event().wait()  # nothing to do until cancelled


def real_sources(cfg: Config) -> list[Source]:
    out: list[Source] = []
    for module, factory, name in FACTORIES:
        out.extend(supervised(cfg, s) for s in _build(cfg, module, factory, name))
    return out


def supervised(cfg: Config, source: Source) -> Supervised:
    """The source under a supervisor, with its deadline and the states it writes."""
    return Supervised(source, deadline(cfg, source.name), status_names(cfg, source.name))


def deadline(cfg: Config, name: str) -> float:
    """How long a source may go without completing a cycle before it is shown stale."""
    if name == "zabbix":  # a cycle may log in first: two request budgets
        return cfg.zabbix.interval + 2 * cfg.zabbix.timeout + SLACK
    if name == "alert_page":
        return cfg.duty.alert_interval + cfg.duty.alert_timeout + SLACK
    # the ICMP engines report every round; fping (a vantage) at every summary line and
    # restarts itself after 3 silent intervals + 10 s
    d = cfg.duty
    return 3 * max(d.interval, 1.0) + 10 * d.ping_timeout + 2 * SLACK


def status_names(cfg: Config, name: str) -> tuple[str, ...]:
    """The source states a source writes: the Zabbix source also writes its proxies'."""
    if name == "zabbix":
        return (name, *(f"vantage:{v.id}" for v in cfg.vantages
                        if v.kind is VantageKind.ZABBIX_PROXY))
    return (name,)


def _build(cfg: Config, module: str, factory: str, name: str) -> list[Source]:
    try:
        make: Callable[[Config], list[Source]] = getattr(importlib.import_module(module),
                                                         factory)
        return list(make(cfg))
    except Exception as exc:  # a collector failing to build must not stop the console
        return [BrokenSource(name, f"cannot start: {type(exc).__name__}: {exc}"[:200])]
