"""Loading and validating SOP definition files: every problem with ``file:line:col`` and a hint.

``load_catalog(paths)`` reads region files (``region.yaml``) and SOP files, checks each against the
model (unknown keys, missing fields, types, limits, conditions) and then checks the whole graph
(references, reachability, dead ends, missing or overlapping branches, the declared total time).
It never stops at the first problem.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from rules import expr as ex
from rules.limits import Clock, Limit, Unit
from rules.model import (
    PLATFORM_ROLE_IDS,
    Action,
    CaseField,
    FieldType,
    Region,
    RoleKind,
    Sop,
    Step,
)
from rules.source import Located, Problem, load_located

# Fields every SOP may use without declaring them.
BUILTIN_FIELDS: dict[str, CaseField] = {
    "unit": CaseField(type=FieldType.unit, label="Perangkat daerah"),
    "alasan": CaseField(type=FieldType.text, label="Alasan"),
    "jawaban": CaseField(type=FieldType.text, label="Jawaban"),
    "catatan": CaseField(type=FieldType.text, label="Catatan"),
    "laporan": CaseField(type=FieldType.text, label="Laporan"),
}


@dataclass(frozen=True)
class LoadedSop:
    """A validated SOP with where it came from and the hash of its content."""

    sop: Sop
    path: str
    content_hash: str
    raw: dict[str, Any]


@dataclass
class Catalog:
    """Everything loaded from a set of paths."""

    regions: dict[str, Region] = field(default_factory=dict)
    region_paths: dict[str, str] = field(default_factory=dict)
    sops: dict[tuple[str, str], LoadedSop] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def latest(self) -> dict[str, LoadedSop]:
        """The newest version of each SOP id (versions compare as text: use ISO dates)."""
        out: dict[str, LoadedSop] = {}
        for (sop_id, version), loaded in sorted(self.sops.items()):
            if sop_id not in out or version > out[sop_id].sop.version:
                out[sop_id] = loaded
        return out

    def get(self, sop_id: str, version: str | None = None) -> LoadedSop:
        if version is None:
            return self.latest()[sop_id]
        return self.sops[(sop_id, version)]


def content_hash(data: Any) -> str:
    """Hash of a definition's meaning: formatting and comments do not change it."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def known(choices: Iterable[str]) -> str:
    names = sorted(choices)
    return "known: " + ", ".join(names) if names else "none are declared"


def _hint(name: str, choices: Iterable[str]) -> str:
    return suggest(name, choices) or known(choices)


# --- pydantic errors → located problems -----------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated/Optional wrappers to get at the model or container type."""
    while True:
        origin = get_origin(annotation)
        if origin is None:
            return annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        if origin in (list, dict):
            return annotation
        if not args:
            return annotation
        annotation = args[0]


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        origin = get_origin(current)
        if origin is list:
            current = get_args(current)[0]
            continue
        if origin is dict:
            current = get_args(current)[1]
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
            continue
        return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _pydantic_problems(
    located: Located, model: type[BaseModel], err: ValidationError
) -> list[Problem]:
    problems: list[Problem] = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind = e["type"]
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            allowed = list(parent.model_fields) if parent else []
            problems.append(
                located.problem(
                    loc,
                    f"unknown key '{loc[-1]}'{_where(loc[:-1])}",
                    _hint(str(loc[-1]), allowed),
                    key=True,
                )
            )
        elif kind == "missing":
            problems.append(
                located.problem(loc[:-1], f"missing required key '{loc[-1]}'{_where(loc[:-1])}")
            )
        elif loc and loc[-1] == "[key]":
            problems.append(
                located.problem(
                    loc[:-1],
                    f"'{loc[-2]}' is not a valid name",
                    "use lower-case letters, digits and '_', starting with a letter",
                    key=True,
                )
            )
        elif kind == "string_pattern_mismatch":
            problems.append(
                located.problem(
                    loc,
                    f"{_where(loc, lead=False)}: '{e['input']}' is not valid",
                    _pattern_hint(str(e.get("ctx", {}).get("pattern", ""))),
                )
            )
        else:
            msg = e["msg"].removeprefix("Value error, ")
            problems.append(located.problem(loc, f"{_where(loc, lead=False)}: {msg}"))
    return problems


def _pattern_hint(pattern: str) -> str:
    if "senin" in pattern:
        return "use senin, selasa, rabu, kamis, jumat, sabtu or minggu"
    if ":" in pattern:
        return "write a time as HH:MM, e.g. 08:00"
    if r"\d{4}" in pattern:
        return "write a date as YYYY-MM-DD"
    if "kota" in pattern:
        return "use kota, kabupaten or provinsi"
    return "use lower-case letters, digits and '_', starting with a letter"


def _where(loc: Sequence[str | int], lead: bool = True) -> str:
    if not loc:
        return "" if lead else "file"
    names = {
        "steps": "step",
        "actions": "action",
        "roles": "role",
        "fields": "field",
        "units": "unit",
        "obligations": "obligation",
        "branches": "branch",
        "routing": "route",
    }
    parts: list[str] = []
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, str) and part in names and i + 1 < len(loc):
            nxt = loc[i + 1]
            parts.append(
                f"{names[part]} '{nxt}'" if isinstance(nxt, str) else f"{names[part]} {nxt + 1}"
            )
            i += 2
            continue
        parts.append(f"'{part}'" if isinstance(part, str) else f"item {part + 1}")
        i += 1
    text = ", ".join(parts)
    return f" in {text}" if lead else text


# --- loading --------------------------------------------------------------------------------


def _files(paths: Sequence[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                f for f in sorted(p.rglob("*.yaml")) if "scenarios" not in f.relative_to(p).parts
            )
        else:
            out.append(p)
    return out


def _parse(located: Located, model: type[BaseModel]) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(located.data), []
    except ValidationError as err:
        return None, _pydantic_problems(located, model, err)


def load_catalog(paths: Sequence[Path | str], *, extra_regions: Iterable[Region] = ()) -> Catalog:
    """Load region and SOP files below ``paths``; collect every problem found."""
    catalog = Catalog()
    for region in extra_regions:
        catalog.regions[region.region] = region
    files = _files(paths)
    sop_sources: list[Located] = []
    for f in files:
        if not f.exists():
            catalog.problems.append(Problem(str(f), 1, 1, "no such file or directory"))
            continue
        located, problems = load_located(f)
        catalog.problems.extend(problems)
        if located is None:
            continue
        if not isinstance(located.data, dict):
            catalog.problems.append(
                located.problem((), "expected a mapping of keys at the top level")
            )
            continue
        if "sop" in located.data:
            sop_sources.append(located)
        elif "region" in located.data:
            region, problems = _parse(located, Region)
            catalog.problems.extend(problems)
            if region is not None:
                if region.region in catalog.region_paths:
                    catalog.problems.append(
                        located.problem(
                            ("region",),
                            f"region '{region.region}' is "
                            f"already defined in {catalog.region_paths[region.region]}",
                        )
                    )
                catalog.regions[region.region] = region
                catalog.region_paths[region.region] = str(f)
        else:
            catalog.problems.append(
                located.problem(
                    (), "not an SOP file (no 'sop:' key) nor a region file (no 'region:' key)"
                )
            )
    for located in sop_sources:
        _load_sop(catalog, located)
    return catalog


def _load_sop(catalog: Catalog, located: Located) -> None:
    problems_before = len(catalog.problems)
    sop, problems = _parse(located, Sop)
    catalog.problems.extend(problems)
    if sop is None:
        return
    region = catalog.regions.get(sop.region)
    if region is None:
        catalog.problems.append(
            located.problem(
                ("region",), f"unknown region '{sop.region}'", _hint(sop.region, catalog.regions)
            )
        )
    catalog.problems.extend(check_sop(sop, region, located))
    digest = content_hash(located.data)
    key = (sop.sop, sop.version)
    if key in catalog.sops:
        other = catalog.sops[key]
        if other.content_hash != digest:
            catalog.problems.append(
                located.problem(
                    ("version",),
                    f"SOP '{sop.sop}' version '{sop.version}' is also defined in {other.path} "
                    "with different content",
                    "give the changed SOP a new version",
                )
            )
        return
    if len(catalog.problems) == problems_before:
        catalog.sops[key] = LoadedSop(sop, located.file, digest, located.data)


# --- whole-SOP checks -----------------------------------------------------------------------


def check_sop(sop: Sop, region: Region | None, src: Located) -> list[Problem]:
    """Graph and reference checks on one parsed SOP (the model has checked the shapes)."""
    out: list[Problem] = []
    roles = sop.roles
    steps = sop.steps
    fields = {**BUILTIN_FIELDS, **sop.fields}
    unit_ids = list(region.units) if region else None
    domains = sop.domains(unit_ids)
    if region is not None:
        domains["unit"] = ex.Domain("choice", tuple(region.units))

    def role_ref(path: tuple[str | int, ...], name: str) -> None:
        if name not in roles:
            out.append(src.problem(path, f"unknown role '{name}'", _hint(name, roles)))

    def step_ref(path: tuple[str | int, ...], name: str) -> None:
        if name not in steps:
            out.append(src.problem(path, f"unknown step '{name}'", _hint(name, steps)))

    def field_ref(path: tuple[str | int, ...], name: str) -> bool:
        if name not in fields:
            out.append(
                src.problem(
                    path,
                    f"unknown field '{name}'",
                    suggest(name, fields) or "declare it under 'fields:'",
                )
            )
            return False
        return True

    for rid in roles:
        if rid in PLATFORM_ROLE_IDS:
            out.append(
                src.problem(
                    ("roles", rid),
                    f"role '{rid}' is a platform role (not a role of an SOP)",
                    "give the SOP's role another name",
                )
            )

    def condition(path: tuple[str | int, ...], cond: ex.Expr) -> None:
        for atom in ex.atoms(cond):
            if not field_ref(path, atom.field):
                continue
            f = fields[atom.field]
            values = atom.values if isinstance(atom, ex.In) else (atom.value,)
            for v in values:
                msg = _literal_problem(atom.field, f, v, unit_ids)
                if msg:
                    out.append(src.problem(path, msg[0], msg[1]))
            if (
                isinstance(atom, ex.Cmp)
                and atom.op in ("<", "<=", ">", ">=")
                and f.type is not FieldType.number
            ):
                out.append(
                    src.problem(
                        path,
                        f"'{atom.op}' compares numbers, but field '{atom.field}' is {f.type.value}",
                        "use == or in [...]",
                    )
                )

    # Fields.
    for name, f in sop.fields.items():
        if f.type is FieldType.choice and not f.options:
            out.append(
                src.problem(
                    ("fields", name),
                    f"field '{name}' is a choice but lists no options",
                    "add 'options: [...]'",
                )
            )
        if f.type is not FieldType.choice and f.options:
            out.append(
                src.problem(
                    ("fields", name, "options"),
                    f"field '{name}' has options but is of type {f.type.value}",
                    "set 'type: choice'",
                )
            )
    # Submission.
    role_ref(("submission", "by"), sop.submission.by)
    if region is not None:
        for i, ch in enumerate(sop.submission.channels):
            if ch not in region.channels:
                out.append(
                    src.problem(
                        ("submission", "channels", i),
                        f"unknown channel '{ch}' for region '{region.region}'",
                        _hint(ch, region.channels),
                    )
                )
    # Start.
    if sop.start not in steps:
        step_ref(("start",), sop.start)
    elif steps[sop.start].terminal:
        out.append(src.problem(("start",), f"the start step '{sop.start}' is an end step"))
    # Steps and actions.
    for sid, step in steps.items():
        base: tuple[str | int, ...] = ("steps", sid)
        if step.by is not None:
            role_ref((*base, "by"), step.by)
        for i, r in enumerate(step.informs):
            role_ref((*base, "informs", i), r)
        if step.pauses and step.limit is None:
            out.append(
                src.problem(
                    (*base, "pauses"),
                    f"step '{sid}' declares pause reasons but has no limit to pause",
                    "add a limit or remove 'pauses'",
                )
            )
        out.extend(_clock_problems(step, src, base))
        if step.terminal:
            if step.actions:
                out.append(
                    src.problem(
                        (*base, "actions"),
                        f"step '{sid}' ends the case (status "
                        f"{step.status.value}) but declares actions",
                        "remove the actions or change the status",
                    )
                )
            continue
        if step.by is None:
            out.append(
                src.problem(base, f"step '{sid}' has no responsible role", "add 'by: <role>'")
            )
        moving = [a for a in step.actions.values() if a.to or a.branches]
        if not moving:
            out.append(
                src.problem(
                    base,
                    f"step '{sid}' has no way out: no action moves the case on",
                    "add an action with 'to:', or set 'status: done' to end here",
                )
            )
        for aid, action in step.actions.items():
            out.extend(
                _action_problems(
                    sop,
                    sid,
                    step,
                    aid,
                    action,
                    src,
                    role_ref,
                    step_ref,
                    field_ref,
                    condition,
                    domains,
                )
            )
    out.extend(_graph_problems(sop, src))
    # Routing.
    if sop.routing:
        out.extend(
            _branch_set_problems(
                [(("routing", i), r.when, r.otherwise) for i, r in enumerate(sop.routing)],
                ("routing",),
                ("routing rule", "routing rules"),
                domains,
                src,
                condition,
                known_fields={n for n, f in sop.fields.items() if f.required},
            )
        )
        if region is not None:
            for i, route in enumerate(sop.routing):
                if route.unit not in region.units:
                    out.append(
                        src.problem(
                            ("routing", i, "unit"),
                            f"unknown unit '{route.unit}'",
                            _hint(route.unit, region.units),
                        )
                    )
    # Obligations.
    for oid, ob in sop.obligations.items():
        role_ref(("obligations", oid, "by"), ob.by)
        for i, r in enumerate(ob.escalate_to):
            role_ref(("obligations", oid, "escalate_to", i), r)
        if ob.every.unit is not Unit.day:
            out.append(
                src.problem(
                    ("obligations", oid, "every"),
                    "an obligation repeats in days or weeks",
                    "write e.g. '1 minggu' or '7 hari'",
                )
            )
    # Escalation and interventions.
    if sop.escalation is not None:
        previous = -1
        for i, rung in enumerate(sop.escalation.ladder):
            for j, r in enumerate(rung.to):
                role_ref(("escalation", "ladder", i, "to", j), r)
            minutes = _minutes(rung.after)
            if minutes <= previous:
                out.append(
                    src.problem(
                        ("escalation", "ladder", i, "after"),
                        "each rung of the ladder must come later than the one before",
                        "order the rungs by their 'after'",
                    )
                )
            previous = minutes
        if sorted(set(sop.escalation.warn_at)) != list(sop.escalation.warn_at):
            out.append(
                src.problem(
                    ("escalation", "warn_at"),
                    "warnings must be listed from the earliest, each once",
                    "e.g. [50%, 80%]",
                )
            )
        if not any(s.limit for s in steps.values()):
            out.append(
                src.problem(("escalation",), "escalation is declared but no step has a limit")
            )
    if sop.interventions is not None:
        for i, r in enumerate(sop.interventions.by):
            role_ref(("interventions", "by", i), r)
    # Declared total.
    out.extend(_total_problems(sop, src))
    return out


def _literal_problem(
    name: str, f: CaseField, v: Any, unit_ids: list[str] | None
) -> tuple[str, str] | None:
    if f.type is FieldType.choice and v not in f.options:
        return (f"'{v}' is not an option of field '{name}'", _hint(str(v), map(str, f.options)))
    if f.type is FieldType.number and (isinstance(v, bool) or not isinstance(v, int | float)):
        return (f"field '{name}' is a number, but '{v}' is not", "write a number without quotes")
    if f.type is FieldType.boolean and not isinstance(v, bool):
        return (f"field '{name}' is true/false, but '{v}' is not", "write true or false")
    if f.type is FieldType.unit and unit_ids is not None and v not in unit_ids:
        return (f"unknown unit '{v}'", _hint(str(v), unit_ids))
    if f.type in (FieldType.text, FieldType.date) and not isinstance(v, str):
        return (f"field '{name}' is text, but '{v}' is not", "quote the value")
    return None


def _clock_problems(step: Step, src: Located, base: tuple[str | int, ...]) -> list[Problem]:
    if step.limit is None:
        if step.clock is not None:
            return [src.problem((*base, "clock"), "a clock is set but the step has no limit")]
        return []
    if step.clock is Clock.working_days and step.limit.unit is not Unit.day:
        return [
            src.problem(
                (*base, "clock"),
                f"limit '{step.limit.text}' is in minutes but the clock counts working days",
                "write the limit in 'hari kerja', or use office_hours",
            )
        ]
    if step.clock is Clock.office_hours and step.limit.unit is not Unit.minute:
        return [
            src.problem(
                (*base, "clock"),
                f"limit '{step.limit.text}' is in days but the clock counts office minutes",
                "use clock: working_days, or write the limit in menit/jam",
            )
        ]
    if step.limit.working_days and step.clock is Clock.calendar:
        return [
            src.problem(
                (*base, "clock"),
                f"limit '{step.limit.text}' is in working days but the clock is calendar",
                "remove 'clock:' or write the limit in 'hari'",
            )
        ]
    return []


def _action_problems(
    sop: Sop,
    sid: str,
    step: Step,
    aid: str,
    action: Action,
    src: Located,
    role_ref: Any,
    step_ref: Any,
    field_ref: Any,
    condition: Any,
    domains: dict[str, ex.Domain],
) -> list[Problem]:
    out: list[Problem] = []
    base: tuple[str | int, ...] = ("steps", sid, "actions", aid)
    for i, r in enumerate(action.by):
        role_ref((*base, "by", i), r)
    for i, r in enumerate(action.report_to):
        role_ref((*base, "report_to", i), r)
    for i, name in enumerate(action.requires):
        field_ref((*base, "requires", i), name)
    for i, name in enumerate(action.accepts):
        field_ref((*base, "accepts", i), name)
    if action.when is not None:
        condition((*base, "when"), action.when)
    moves = bool(action.to) + bool(action.branches)
    stays = action.stay or bool(action.report_to)
    if moves > 1:
        out.append(
            src.problem(base, f"action '{aid}' has both 'to' and 'branches'", "keep one of them")
        )
    if moves and stays:
        out.append(
            src.problem(
                base,
                f"action '{aid}' both moves the case and stays",
                "a progress report (report_to/stay) does not take 'to' or 'branches'",
            )
        )
    if not moves and not stays:
        out.append(
            src.problem(
                base,
                f"action '{aid}' goes nowhere",
                "add 'to: <step>', 'branches:', or 'stay: true' for a recorded activity",
            )
        )
    if action.to:
        step_ref((*base, "to"), action.to)
    if not sop.action_roles(step, action):
        out.append(src.problem(base, f"action '{aid}' has no role that may take it", "add 'by:'"))
    for i, b in enumerate(action.branches):
        step_ref((*base, "branches", i, "to"), b.to)
    if action.branches:
        known_fields = set(action.requires) | {n for n, f in sop.fields.items() if f.required}
        if action.reroute:
            known_fields.add("unit")
        out.extend(
            _branch_set_problems(
                [
                    ((*base, "branches", i), b.when, b.otherwise)
                    for i, b in enumerate(action.branches)
                ],
                (*base, "branches"),
                ("branch", "branches"),
                domains,
                src,
                condition,
                known_fields=known_fields,
            )
        )
    return out


def _branch_set_problems(
    items: list[tuple[tuple[str | int, ...], ex.Expr | None, bool]],
    base: tuple[str | int, ...],
    nouns: tuple[str, str],
    domains: dict[str, ex.Domain],
    src: Located,
    condition: Any,
    known_fields: set[str],
) -> list[Problem]:
    """Checks on an ordered set of guarded alternatives: well-formed, unambiguous, complete."""
    noun, plural = nouns
    out: list[Problem] = []
    guarded: list[tuple[tuple[str | int, ...], ex.Expr]] = []
    has_otherwise = False
    for i, (path, when, otherwise) in enumerate(items):
        if when is not None and otherwise:
            out.append(
                src.problem(path, f"a {noun} has both 'when' and 'otherwise'", "keep one of them")
            )
        elif when is None and not otherwise:
            out.append(
                src.problem(path, f"a {noun} needs 'when: <condition>' or 'otherwise: true'")
            )
        if otherwise:
            if has_otherwise:
                out.append(src.problem(path, f"more than one 'otherwise' {noun}"))
            elif i != len(items) - 1:
                out.append(src.problem(path, f"the 'otherwise' {noun} must be the last one"))
            has_otherwise = True
        if when is not None:
            condition((*path, "when"), when)
            for name in sorted(ex.fields_of(when) - known_fields):
                out.append(
                    src.problem(
                        (*path, "when"),
                        f"field '{name}' may be empty when this {noun} is decided",
                        "add it to the action's 'requires', or mark the field 'required: true'",
                    )
                )
            guarded.append((path, when))
    for j, (path_b, when_b) in enumerate(guarded):
        for path_a, when_a in guarded[:j]:
            if ex.overlap(when_a, when_b, domains):
                line_a = src.where(path_a)[0]
                out.append(
                    src.problem(
                        (*path_b, "when"),
                        f"ambiguous: this {noun} and the one on line "
                        f"{line_a} can both hold for the same case",
                        f"'{ex.to_text(when_a)}' overlaps '{ex.to_text(when_b)}'",
                    )
                )
    if guarded and not has_otherwise:
        missing = ex.uncovered([w for _, w in guarded], domains)
        if missing is None:
            out.append(
                src.problem(
                    base,
                    f"cannot show that the {plural} cover every case",
                    "add a last one with 'otherwise: true'",
                )
            )
        elif missing:
            shown = "; ".join(", ".join(f"{k} = {v}" for k, v in m.items()) for m in missing[:3])
            out.append(
                src.problem(
                    base,
                    f"a {noun} is missing for: {shown}",
                    "add one for these values or a last one with 'otherwise: true'",
                )
            )
    return out


def _graph_problems(sop: Sop, src: Located) -> list[Problem]:
    out: list[Problem] = []
    if sop.start not in sop.steps:
        return out
    edges = {sid: _targets(step) & set(sop.steps) for sid, step in sop.steps.items()}
    seen = _reach(sop.start, edges)
    for sid in sop.steps:
        if sid not in seen:
            out.append(
                src.problem(
                    ("steps", sid),
                    f"step '{sid}' cannot be reached from the start '{sop.start}'",
                    "an action must lead to it, or remove it",
                )
            )
    terminal = {sid for sid, s in sop.steps.items() if s.terminal}
    if not terminal:
        out.append(
            src.problem(
                ("steps",),
                "no step ends the case",
                "give an end step 'status: done' (or rejected/cancelled)",
            )
        )
        return out
    for sid in seen:
        step = sop.steps[sid]
        if not step.terminal and edges[sid] and not (_reach(sid, edges) & terminal):
            out.append(
                src.problem(
                    ("steps", sid),
                    f"from step '{sid}' the case can never end",
                    "every path must reach a step with status done/rejected/cancelled",
                )
            )
    return out


def _targets(step: Step) -> set[str]:
    out: set[str] = set()
    for action in step.actions.values():
        if action.to:
            out.add(action.to)
        out.update(b.to for b in action.branches)
    return out


def _reach(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _minutes(limit: Limit) -> int:
    return limit.amount if limit.unit is Unit.minute else limit.amount * 24 * 60


def _total_problems(sop: Sop, src: Located) -> list[Problem]:
    if sop.total_limit is None:
        return []
    if sop.total_limit.unit is not Unit.minute:
        return [
            src.problem(
                ("total_limit",),
                "a declared total is checked in minutes",
                "write it as '<n> menit'",
            )
        ]
    parts = [("submission", sop.submission.limit)] + [
        (sid, s.limit) for sid, s in sop.steps.items()
    ]
    total = 0
    for name, limit in parts:
        if limit is None:
            continue
        if limit.minutes is None:
            return [
                src.problem(
                    ("total_limit",),
                    f"cannot add up the total: the limit of '{name}' is in days",
                    "write every limit in menit/jam",
                )
            ]
        total += limit.minutes
    declared = sop.total_limit.minutes
    if total != declared:
        return [
            src.problem(
                ("total_limit",),
                f"the step limits add up to {total} menit, but the SOP declares {declared} menit",
                "correct a step's limit or the total",
            )
        ]
    return []


def citizen_roles(sop: Sop) -> set[str]:
    return {rid for rid, r in sop.roles.items() if r.kind is RoleKind.citizen}
