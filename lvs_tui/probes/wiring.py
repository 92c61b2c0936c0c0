"""Which real collectors a config asks for. A collector that cannot even be built (a missing
backend, a broken module) becomes a source that only reports itself down: the rest goes on."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable

from lvs_tui.config import Config
from lvs_tui.probes import Source
from lvs_tui.state import SourceState, SourceStatus, StateStore

# (module, factory, source name shown when the factory fails)
FACTORIES: tuple[tuple[str, str, str], ...] = (
    ("lvs_tui.probes.icmp", "icmp_sources", "icmp"),
    ("lvs_tui.probes.zabbix", "zabbix_sources", "zabbix"),
    ("lvs_tui.probes.alert_page", "alert_page_sources", "alert_page"),
)


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
        out.extend(_build(cfg, module, factory, name))
    return out


def _build(cfg: Config, module: str, factory: str, name: str) -> list[Source]:
    try:
        make: Callable[[Config], list[Source]] = getattr(importlib.import_module(module),
                                                         factory)
        return list(make(cfg))
    except Exception as exc:  # a collector failing to build must not stop the console
        return [BrokenSource(name, f"cannot start: {type(exc).__name__}: {exc}"[:200])]
