"""The duty runbook as data, and the engine that walks it.

A runbook file (TOML, see docs/runbook.md) lists steps in the order the duty document
gives them. Each step says when it applies (`when`: situation, mode, impact, office hours,
machine age, confirmations so far), which confirmations complete it, whom it needs and what
it offers. `plan()` is a pure function: (situation, host, config, confirmations, now) ->
the current step, the checklist done and remaining, and whom to call now.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

# A module import, not names: texts.py imports this module (TextKind, the one list of kinds,
# and the templates' placeholders live there).
from lvs_tui import texts as _tx
from lvs_tui.config import SHIPPED_RUNBOOK, Config, ConfigError, TableReader, toml_error
from lvs_tui.fleet import Contact, Host, Hours, Mode, Role
from lvs_tui.situation import Scope, Situation, SituationId

ACTIONS = ("copy", "traceroute", "ssh", "diagnostics", "probe_page", "snapshot", "zabbix")
# Placeholders a step's text may use; filled from the host and config by `plan`.
STEP_FIELDS = ("host", "idc", "mode", "internal", "external", "down", "model", "asset_tag",
               "machine", "services", "jump_host", "probe_page", "nics", "os", "healthy")
_CONFIRM = re.compile(r"^[a-z][a-z0-9_]*$")


class MachineAge(StrEnum):
    """Whether a broken machine is worth repairing (duty document: 较新机器 / 老旧机器)."""

    NEW = "new"
    OLD = "old"
    UNKNOWN = "unknown"

    @property
    def zh(self) -> str:
        return {"new": "较新机器", "old": "老旧机器", "unknown": "机龄未知"}[self.value]


@dataclass(frozen=True, slots=True)
class Condition:
    """Every given field must hold; None / empty means "don't care"."""

    situation: frozenset[SituationId] | None = None
    mode: frozenset[Mode] | None = None
    scope: frozenset[Scope] | None = None
    service_unaffected: bool | None = None  # ha/ssl peers carry the load (unknown = False)
    at_risk: bool | None = None  # some VIP is down or single-point
    alert_page: bool | None = None  # the 5666 page names the host
    office: bool | None = None  # office hours now (holidays are not)
    machine: frozenset[MachineAge] | None = None
    services_complex: bool | None = None  # more than one service: hard to migrate
    update_due: bool | None = None  # an update notice is due (notified, interval passed)
    confirmed: tuple[str, ...] = ()  # all of these recorded
    confirmed_any: tuple[str, ...] = ()  # at least one recorded
    not_confirmed: tuple[str, ...] = ()  # none recorded


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    text: str = ""
    role: Role | None = None
    also: tuple[Role, ...] = ()  # further roles to contact at the same time
    actions: tuple[str, ...] = ()  # "copy:initial", "traceroute", "ssh", ...
    confirms: tuple[str, ...] = ()  # any of these recorded completes the step
    texts: tuple[str, ...] = ()  # text kinds this step offers
    when: tuple[Condition, ...] = ()  # any of them; empty = always
    done_when: tuple[Condition, ...] = ()  # done without a confirmation (the console did it)
    due: tuple[Condition, ...] = ()  # not yet actionable unless one holds; empty = now
    until: tuple[str, ...] = ("recovered",)  # once recorded, an undone step is dropped
    repeat: bool = False  # never done for good (progress updates): current whenever due
    # Facts recorded with a note while this step is current (borrow time, progress…): offered
    # again and again (the latest note wins), they never complete the step.
    records: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NoteField:
    """A text field filled from the operator's notes: the note of the first of `sources`
    (confirmation names) that has one; `prompt` is what the console asks when confirming."""

    name: str
    sources: tuple[str, ...]
    prompt: str


@dataclass(frozen=True, slots=True)
class Runbook:
    path: str
    title: str
    language: str
    steps: tuple[Step, ...]
    confirmations: dict[str, str]  # name -> label (also the phrase the notices use)
    texts: dict[str, str]  # text kind or phrase name -> template
    always_confirmable: tuple[str, ...] = ("recovered",)
    new_machine_years: int = 4
    notes: dict[str, NoteField] = field(default_factory=dict)  # field name -> where from

    def note_prompt(self, confirmation: str) -> str:
        """What to ask for when `confirmation` is recorded: the prompt of the first note
        field it feeds; "" when its note feeds no text (a note is still welcome)."""
        return next((f.prompt for f in self.notes.values() if confirmation in f.sources), "")

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def label(self, confirmation: str) -> str:
        return self.confirmations.get(confirmation, confirmation)


@dataclass(frozen=True, slots=True)
class Plan:
    step: Step | None
    done: tuple[Step, ...]
    remaining: tuple[Step, ...]
    contacts_now: tuple[Contact, ...]
    texts: tuple[str, ...]
    confirmable: tuple[str, ...]
    # While the step is the operator's own (no role): the first later step that names
    # someone, and whom it calls — so the side pane says who comes after the checks.
    then: Step | None = None
    contacts_then: tuple[Contact, ...] = ()

    @property
    def role(self) -> Role | None:
        return self.step.role if self.step else None


# -- facts the conditions are evaluated against -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    situation: Situation
    host: Host
    office: bool
    machine: MachineAge
    update_due: bool
    confirmed: frozenset[str] = field(default_factory=frozenset)


def is_office(cfg: Config, now: float) -> bool:
    """Office hours in the duty time zone; holidays and weekends are out of office."""
    return cfg.duty.office.is_office(datetime.fromtimestamp(now, cfg.duty.tz))


def machine_age(host: Host, today: date, new_years: int) -> MachineAge:
    """Under warranty or bought within `new_years` years: worth a repair."""
    hw = host.hardware
    if hw.warranty_end:
        try:
            return MachineAge.NEW if date.fromisoformat(hw.warranty_end) >= today \
                else MachineAge.OLD
        except ValueError:
            pass
    if hw.purchase_year:
        return MachineAge.NEW if today.year - hw.purchase_year <= new_years else MachineAge.OLD
    return MachineAge.UNKNOWN


def update_due(cfg: Config, confirmations: tuple[tuple[str, float], ...], now: float) -> bool:
    """A notice went out and the promised update time has come (runbook: 再次通知)."""
    sent = [t for name, t in confirmations if name in ("notified", "updated")]
    return bool(sent) and now >= max(sent) + cfg.duty.update_every_min * 60


def _holds(c: Condition, f: Facts) -> bool:
    s = f.situation
    checks = (
        c.situation is None or s.id in c.situation,
        c.mode is None or f.host.mode in c.mode,
        c.scope is None or s.scope in c.scope,
        c.service_unaffected is None
        or (s.impact.service_unaffected is True) is c.service_unaffected,
        c.at_risk is None
        or bool(s.impact.outage or s.impact.single_point) is c.at_risk,
        c.alert_page is None or s.on_alert_page is c.alert_page,
        c.office is None or f.office is c.office,
        c.machine is None or f.machine in c.machine,
        c.services_complex is None or (len(f.host.services) > 1) is c.services_complex,
        c.update_due is None or f.update_due is c.update_due,
        all(n in f.confirmed for n in c.confirmed),
        not c.confirmed_any or any(n in f.confirmed for n in c.confirmed_any),
        not any(n in f.confirmed for n in c.not_confirmed),
    )
    return all(checks)


def _any(conds: tuple[Condition, ...], f: Facts, empty: bool) -> bool:
    return any(_holds(c, f) for c in conds) if conds else empty


# -- the engine --------------------------------------------------------------------------------


def contacts_for(cfg: Config, host: Host, role: Role, office: bool) -> tuple[Contact, ...]:
    """Who answers for `role` now: office / after-hours entries, else whoever has the role."""
    if role is Role.ADMIN:
        admins = cfg.fleet.admins_of(host)
        return admins or cfg.fleet.contacts_for(Role.ADMIN)
    everyone = cfg.fleet.contacts_for(role)
    wanted = Hours.OFFICE if office else Hours.AFTER_HOURS
    now = tuple(c for c in everyone if c.hours in (wanted, Hours.ALWAYS))
    return now or everyone


def step_fields(host: Host, cfg: Config, situation: Situation, machine: MachineAge,
                language: str = "zh") -> dict[str, str]:
    """The values of the placeholders a step's title and text may use."""
    hw = host.hardware
    try:
        idc = cfg.fleet.idc(host.idc).name
    except KeyError:
        idc = host.idc
    zh = language.startswith("zh")
    sep = "、" if zh else ", "
    return {
        "host": host.name, "idc": idc, "mode": host.mode.value, "internal": host.internal,
        "external": host.external,
        "down": sep.join(situation.down_addresses or (host.internal, host.external)),
        "model": hw.model or "?", "asset_tag": hw.asset_tag or "?",
        "machine": machine.zh if zh else f"{machine.value} machine",
        "services": "/".join(s.value for s in host.services),
        "jump_host": cfg.duty.jump_host or ("通道机" if zh else "(jump host)"),
        "probe_page": cfg.duty.probe_page or "-",
        "nics": _nics(hw.nics, hw.nic_speed) if hw.nics else "?", "os": hw.os or "?",
        "healthy": str(situation.impact.peers_healthy),
    }


def _nics(count: int, speed: str) -> str:
    words = {"1G": "千兆", "1000M": "千兆", "10G": "万兆"}
    return f"{words.get(speed.upper(), speed)} × {count}"


def plan(runbook: Runbook, situation: Situation, host: Host, cfg: Config,
         confirmations: tuple[tuple[str, float], ...], now: float) -> Plan:
    """Where the operator stands in the runbook, and what to do and whom to call next."""
    office = is_office(cfg, now)
    today = datetime.fromtimestamp(now, cfg.duty.tz).date()
    facts = Facts(situation, host, office,
                  machine_age(host, today, runbook.new_machine_years),
                  update_due(cfg, confirmations, now),
                  frozenset(name for name, _ in confirmations))
    fields = step_fields(host, cfg, situation, facts.machine, runbook.language)
    done: list[Step] = []
    pending: list[Step] = []
    for step in runbook.steps:
        if not _any(step.when, facts, True):
            continue
        finished = not step.repeat and (any(n in facts.confirmed for n in step.confirms)
                                        or _any(step.done_when, facts, False))
        step = replace(step, title=_fill(step.title, fields), text=_fill(step.text, fields))
        if finished:
            done.append(step)
        elif not any(n in facts.confirmed for n in step.until):
            pending.append(step)
    current = next((s for s in pending if _any(s.due, facts, True)), None)
    remaining = tuple(s for s in pending if s is not current)
    then = None
    if current is not None and current.role is None:
        then = next((s for s in remaining if s.role is not None), None)
    return Plan(step=current, done=tuple(done), remaining=remaining,
                contacts_now=_contacts_now(cfg, host, current, office),
                texts=_texts(current, done),
                confirmable=_confirmable(runbook, current, pending, facts.confirmed),
                then=then, contacts_then=_contacts_now(cfg, host, then, office))


def _contacts_now(cfg: Config, host: Host, step: Step | None, office: bool
                  ) -> tuple[Contact, ...]:
    if step is None or step.role is None:
        return ()
    out: dict[str, Contact] = {}
    for role in (step.role, *step.also):
        for c in contacts_for(cfg, host, role, office):
            out.setdefault(c.id, c)
    return tuple(out.values())


def _texts(current: Step | None, done: Iterable[Step]) -> tuple[str, ...]:
    kinds = list(current.texts) if current else []
    for s in done:
        kinds.extend(s.texts)
    return tuple(dict.fromkeys(kinds))


def _confirmable(runbook: Runbook, current: Step | None, pending: list[Step],
                 confirmed: frozenset[str]) -> tuple[str, ...]:
    again = set(current.confirms) if current and current.repeat else set()
    again |= set(current.records) if current else set()
    names = [*current.confirms, *current.records] if current else []
    offered = {n for s in pending for n in s.confirms}
    names.extend(n for n in runbook.always_confirmable if n in offered)
    return tuple(n for n in dict.fromkeys(names) if n not in confirmed or n in again)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str, fields: dict[str, str]) -> str:
    return text.format_map(_Blank(fields)) if "{" in text else text


# -- loading -----------------------------------------------------------------------------------
# The one place this module reads a file (as config.py reads the config): the engine above
# is pure, and callers (the duty service, the commands) load once and pass the Runbook on.


def load_runbook(path: str | Path | None = None) -> Runbook:
    """Read and validate a runbook file (default: the shipped one); ConfigError on mistakes.

    A file with `[runbook] extends = "default"` (or a path) starts from that runbook: its
    steps replace same-id steps, new steps go `after`/`before` a named one or at the end,
    `remove` drops steps, and its tables of texts and confirmations add to the base's.
    """
    return _load(Path(path) if path else SHIPPED_RUNBOOK, depth=0)


def _load(p: Path, depth: int) -> Runbook:
    file = str(p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{file}: no such runbook file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([toml_error(file, exc)]) from None
    errors: list[str] = []
    root = TableReader(file, errors, data, "")
    head = root.table_("runbook")
    extends = head.str_("extends")
    base = None
    if extends:
        if depth > 3:
            head.error("extends", f"{extends!r} nests too deeply")
        else:
            target = SHIPPED_RUNBOOK if extends == "default" \
                else (p.parent / Path(extends).expanduser())
            base = _load(target, depth + 1)
    rb = _read(root, head, file, base)
    if errors:
        raise ConfigError(errors)
    return rb


def _read(root: TableReader, head: TableReader, file: str, base: Runbook | None) -> Runbook:
    title = head.str_("title", base.title if base else "")
    language = head.str_("language", base.language if base else "zh")
    always = head.strs("always_confirmable") or (base.always_confirmable if base
                                                 else ("recovered",))
    years = head.num("new_machine_years", base.new_machine_years if base else 4, 0, 50,
                     integer=True)
    remove = head.strs("remove")
    head.done()
    confirmations = _confirmations(root.table_("confirmations"), base)
    texts = _text_table(root.table_("texts"), base)
    notes = _notes(root.table_("notes"), base, confirmations)
    steps = list(base.steps) if base else []
    for sr in root.tables("steps"):
        steps = _place(sr, _step(sr, confirmations), steps)
    for sid in remove:
        if not any(s.id == sid for s in steps):
            root.errors.append(f"{file}: runbook.remove: {sid!r} is not a step id")
    steps = [s for s in steps if s.id not in remove]
    root.done()
    _check_refs(root, file, steps, confirmations, texts)
    return Runbook(file, title, language, tuple(steps), confirmations, texts, tuple(always),
                   years, notes)


def _notes(r: TableReader, base: Runbook | None,
           confirmations: dict[str, str]) -> dict[str, NoteField]:
    """[notes.FIELD] from = [confirmations…], prompt = "…": which note fills which field."""
    out = dict(base.notes) if base else {}
    for name in list(r.table):
        fr = r.table_(name)
        if name not in _tx.NOTE_FIELDS:
            r.error(name, f"unknown note field (known: {', '.join(_tx.NOTE_FIELDS)})")
            continue
        sources = fr.strs("from")
        for c in sources:
            if c not in confirmations:
                fr.error("from", f"confirmation {c!r} is not declared in [confirmations]")
        out[name] = NoteField(name, sources, fr.str_("prompt", required=True))
        fr.done()
    r.done()
    return out


def _confirmations(r: TableReader, base: Runbook | None) -> dict[str, str]:
    out = dict(base.confirmations) if base else {}
    for name in list(r.table):
        out[name] = r.str_(name, required=True)
        if not _CONFIRM.match(name):
            r.error(name, "a confirmation name is lower-case letters, digits and '_'")
    r.done()
    return out


def _text_table(r: TableReader, base: Runbook | None) -> dict[str, str]:
    """[texts] kinds, and its sub-tables flattened: [texts.phrase] cause -> "phrase.cause"."""
    out = dict(base.texts) if base else {}
    for name in list(r.table):
        if isinstance(r.table[name], dict):
            sub = r.table_(name)
            for key in list(sub.table):
                out[f"{name}.{key}"] = sub.str_(key, required=True)
            sub.done()
        else:
            out[name] = r.str_(name, required=True)
    r.done()
    return out


def _place(r: TableReader, step: Step, steps: list[Step]) -> list[Step]:
    """Same id replaces in place, unless `after`/`before` moves it; new steps go there too,
    else at the end."""
    after, before = r.str_("after"), r.str_("before")
    r.done()
    ids = [s.id for s in steps]
    anchor = after or before
    if step.id in ids and not anchor:
        steps[ids.index(step.id)] = step
        return steps
    steps = [s for s in steps if s.id != step.id]
    ids = [s.id for s in steps]
    if not anchor:
        return [*steps, step]
    if anchor not in ids:
        r.error("after" if after else "before", f"{anchor!r} is not a step id")
        return [*steps, step]
    i = ids.index(anchor) + (1 if after else 0)
    return [*steps[:i], step, *steps[i:]]


def _step(r: TableReader, confirmations: dict[str, str]) -> Step:
    sid = r.str_("id", required=True)
    role = r.enum("role", Role, Role.ADMIN) if "role" in r.table else None
    also = tuple(x for x in (_enum_item(r, "also", v, Role) for v in r.strs("also")) if x)
    return Step(
        id=sid, title=r.str_("title", required=True), text=r.str_("text"),
        role=role, also=also, actions=_actions(r), confirms=r.strs("confirms"),
        texts=tuple(t for t in r.strs("texts") if _known_text(r, t)),
        when=_conditions(r, "when"), done_when=_conditions(r, "done_when"),
        due=_conditions(r, "due"),
        until=r.strs("until") if "until" in r.table else ("recovered",),
        repeat=r.bool_("repeat", False), records=r.strs("records"))


def _enum_item(r: TableReader, key: str, value: str, kind: type[StrEnum]) -> Any:
    try:
        return kind(value)
    except ValueError:
        r.error(key, f"{value!r} is not one of {', '.join(m.value for m in kind)}")
        return None


def _kind_values() -> tuple[str, ...]:
    return tuple(k.value for k in _tx.TextKind)


def _kinds() -> str:
    return ", ".join(_kind_values())


def _known_text(r: TableReader, kind: str) -> bool:
    if kind in _kind_values():
        return True
    r.error("texts", f"{kind!r} is not one of {_kinds()}")
    return False


def _actions(r: TableReader) -> tuple[str, ...]:
    out = []
    for a in r.strs("actions"):
        name, _, arg = a.partition(":")
        if name not in ACTIONS:
            r.error("actions", f"{a!r} is not one of {', '.join(ACTIONS)} (copy:KIND)")
        elif name == "copy" and arg not in _kind_values():
            r.error("actions", f"{a!r}: copy needs a text kind: {_kinds()}")
        else:
            out.append(a)
    return tuple(out)


def _conditions(r: TableReader, key: str) -> tuple[Condition, ...]:
    value = r.raw(key)
    if value is None:
        return ()
    if isinstance(value, dict):
        return (_condition(TableReader(r.file, r.errors, value, r.key(key))),)
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return tuple(_condition(TableReader(r.file, r.errors, v, f"{r.key(key)}[{i}]"))
                     for i, v in enumerate(value))
    r.error(key, f"{value!r} is not a table or an array of tables")
    return ()


def _enum_set(r: TableReader, key: str, kind: type[StrEnum]) -> frozenset[Any] | None:
    if key not in r.table:
        return None
    values = r.strs(key)
    return frozenset(x for x in (_enum_item(r, key, v, kind) for v in values) if x)


def _flag(r: TableReader, key: str) -> bool | None:
    return r.bool_(key, False) if key in r.table else None


def _condition(r: TableReader) -> Condition:
    c = Condition(
        situation=_enum_set(r, "situation", SituationId), mode=_enum_set(r, "mode", Mode),
        scope=_enum_set(r, "scope", Scope), service_unaffected=_flag(r, "service_unaffected"),
        at_risk=_flag(r, "at_risk"), alert_page=_flag(r, "alert_page"),
        office=_flag(r, "office"), machine=_enum_set(r, "machine", MachineAge),
        services_complex=_flag(r, "services_complex"), update_due=_flag(r, "update_due"),
        confirmed=r.strs("confirmed"), confirmed_any=r.strs("confirmed_any"),
        not_confirmed=r.strs("not_confirmed"))
    r.done()
    return c


def _check_refs(root: TableReader, file: str, steps: list[Step], confirmations: dict[str, str],
                texts: dict[str, str]) -> None:
    """Typos in names must fail loudly: a misspelt confirmation would never complete."""
    err = root.errors.append
    seen: set[str] = set()
    for i, s in enumerate(steps):
        where = f"{file}: steps[{i}]"
        if s.id in seen:
            err(f"{where}.id: {s.id!r} is a duplicate")
        seen.add(s.id)
        names = [*s.confirms, *s.until, *s.records]
        for c in (*s.when, *s.done_when, *s.due):
            names.extend((*c.confirmed, *c.confirmed_any, *c.not_confirmed))
        for n in dict.fromkeys(names):
            if n not in confirmations:
                err(f"{where} ({s.id}): confirmation {n!r} is not declared in [confirmations]")
        for key, value in (("title", s.title), ("text", s.text)):
            for name in _placeholders(value):
                if name not in STEP_FIELDS:
                    err(f"{where}.{key}: unknown placeholder {{{name}}} "
                        f"(known: {', '.join(STEP_FIELDS)})")
    for key, allowed in _tx.TEXT_KEYS.items():
        if key not in texts:
            err(f"{file}: texts.{key}: is required")
            continue
        for name in _placeholders(texts[key]):
            if name not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                err(f"{file}: texts.{key}: unknown placeholder {{{name}}} (known: {known})")
    for key in texts:
        if key not in _tx.TEXT_KEYS:
            err(f"{file}: texts.{key}: unknown text (known: {', '.join(_tx.TEXT_KEYS)})")


def _placeholders(template: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        return ["<unbalanced brace>"]
