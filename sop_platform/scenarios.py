"""SOP scenario tests: who does what when, on a virtual clock, and what must hold after each step.

A scenario file (``sop_definitions/<region>/scenarios/*.yaml``)::

    scenario: Aduan diterima dan diselesaikan tepat waktu
    sop: upik-pengaduan
    start: "2025-11-24 09:00"            # the region's local time
    submit:
      channel: jss
      text: Sampah menumpuk di Jalan Malioboro
      fields: {kategori: kebersihan}
      anonymous: true
    expect: {step: verifikasi, status: open, unit: dlh, due: "2025-11-24 11:00"}
    steps:
      - after: 30 menit                  # or  at: "2025-11-24 09:30"
        as: admin_opd                    # the role acting (scoped to the case's unit)
        do: terima
        with: {}                         # the entries the action needs
        expect: {step: penerimaan, previous: met, due: "2025-11-24 11:30"}
      - as: pelapor
        do: ambil
        refused: not_your_role           # the engine must refuse, with this reason

``expect`` may check ``step``, ``status``, ``unit``, ``due`` (local time; ``no_due: true`` for
none), ``previous`` (met / breached: the visit just left), ``overdue`` (true when the open step is
past due now), ``fields`` (the case's own fields) and ``entries`` (what the last action recorded).
Every case is read back from the database after every step.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, select

from rules.limits import LimitError, Unit, parse_limit
from rules.loader import Catalog
from rules.source import Located, load_located
from sop_platform import obligations
from sop_platform.db import make_engine, transaction
from sop_platform.engine import (
    Actor,
    CaseEngine,
    CaseView,
    EngineError,
    Grant,
    NewCase,
    ReporterInfo,
)
from sop_platform.migrate import upgrade
from sop_platform.models import EscalationTask, Notification, StepVisit
from sop_platform.registry import Registry
from sop_platform.sweeper import Sweeper
from sop_platform.timekeeping import VirtualClock

_VISITS = StepVisit.__table__  # type: ignore[attr-defined]
_TASKS = EscalationTask.__table__  # type: ignore[attr-defined]
_NOTES = Notification.__table__  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ObligationExpect(_Strict):
    name: str
    unit: str | None = None
    misses: int | None = None
    due: str | None = None


class Expect(_Strict):
    step: str | None = None
    status: str | None = None
    unit: str | None = None
    due: str | None = Field(default=None)
    no_due: bool = Field(False, description="The open step has no time limit.")
    previous: str | None = None
    overdue: bool | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    entries: dict[str, Any] = Field(
        default_factory=dict, description="What the last action recorded (its event's entries)."
    )
    breached: bool | None = Field(None, description="The sweeper recorded the open step's breach.")
    warnings: int | None = Field(None, description="Warnings sent for the open step.")
    escalation_level: int | None = None
    paused: bool | None = None
    escalated_to: list[str] | None = Field(
        None, description="Roles with an open escalation task for this case."
    )
    notifications: dict[str, int] = Field(
        default_factory=dict, description="Notifications written for this case so far, by kind."
    )
    obligation: ObligationExpect | None = None


class SubmitSpec(_Strict):
    channel: str
    text: str
    fields: dict[str, Any] = Field(default_factory=dict)
    anonymous: bool = False
    confidential: bool = False
    reporter: dict[str, str] | None = None
    as_: str | None = Field(default=None, alias="as")
    unit: str | None = None


class InterveneSpec(_Strict):
    kind: str
    reason: str
    unit: str | None = None
    to: str | None = None
    instruction: str | None = None


class StepSpec(_Strict):
    after: str | None = None
    at: str | None = None
    as_: str | None = Field(default=None, alias="as")
    unit: str | None = None
    do: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    sweep: bool = Field(False, description="Run the deadline sweeper at this moment.")
    pause: str | None = Field(None, description="Stop the step's clock for this reason.")
    resume: bool = False
    intervene: InterveneSpec | None = None
    fulfil: str | None = Field(None, description="Record an obligation as met (for `unit`).")
    refused: str | None = None
    expect: Expect | None = None


class ScenarioSpec(_Strict):
    scenario: str
    sop: str
    start: str
    submit: SubmitSpec
    expect: Expect | None = None
    steps: list[StepSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    file: str
    passed: bool
    failure: str = ""

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        text = f"{mark}  {self.file}: {self.name}"
        return f"{text}\n      {self.failure}" if self.failure else text


class ScenarioFailure(AssertionError):
    pass


def scenario_files(paths: Sequence[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*.yaml") if "scenarios" in f.parts))
        elif p.suffix == ".yaml":
            out.append(p)
    return out


class ScenarioRunner:
    """Runs scenario files against one database (a fresh temporary SQLite file by default)."""

    def __init__(self, catalog: Catalog, engine: Engine | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if engine is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sop-scenarios-")
            engine = make_engine(f"sqlite:///{self._tmp.name}/scenarios.db")
            upgrade(engine)
        self.engine = engine
        self.catalog = catalog
        first = catalog.regions[next(iter(catalog.regions))].calendar.timezone
        self.clock = VirtualClock(datetime(2025, 1, 2, 8, 0, tzinfo=_tz(first)))
        self.registry = Registry(engine, catalog)
        self.registry.publish(self.clock.now())
        obligations.start_clocks(engine, self.registry, self.clock.now())
        self.cases = CaseEngine(engine, self.registry, self.clock)

    def close(self) -> None:
        if self._tmp is not None:
            self.engine.dispose()
            self._tmp.cleanup()

    def run_file(self, path: Path | str) -> ScenarioResult:
        located, problems = load_located(path)
        name = Path(path).stem
        if located is None or problems:
            return ScenarioResult(name, str(path), False, "; ".join(map(str, problems)))
        try:
            spec = ScenarioSpec.model_validate(located.data)
        except ValidationError as err:
            first = err.errors()[0]
            line, col = located.where(tuple(first["loc"]))
            return ScenarioResult(name, str(path), False, f"{path}:{line}:{col}: {first['msg']}")
        try:
            self._run(spec, located)
        except ScenarioFailure as failure:
            return ScenarioResult(spec.scenario, str(path), False, str(failure))
        except Exception as exc:
            message = f"{path}: the scenario could not run: {type(exc).__name__}: {exc}"
            return ScenarioResult(spec.scenario, str(path), False, message)
        return ScenarioResult(spec.scenario, str(path), True)

    # --- running --------------------------------------------------------------------------

    def _run(self, spec: ScenarioSpec, src: Located) -> None:
        if spec.sop not in self.catalog.latest():
            raise ScenarioFailure(f"{src.file}:{src.where(('sop',))[0]}: unknown SOP '{spec.sop}'")
        sop = self.catalog.latest()[spec.sop].sop
        region = self.catalog.regions[sop.region]
        tz = _tz(region.calendar.timezone)
        self.clock.set(_local(spec.start, tz, src, ("start",)))
        submitter = None
        if spec.submit.as_:
            submitter = Actor(
                f"{spec.submit.as_} (skenario)",
                (Grant(sop.region, spec.submit.as_, spec.submit.unit),),
            )
        reporter = _reporter(spec.submit.reporter)
        try:
            case = self.cases.submit(
                NewCase(
                    sop_id=spec.sop,
                    channel=spec.submit.channel,
                    text=spec.submit.text,
                    fields=spec.submit.fields,
                    reporter=reporter,
                    anonymous=spec.submit.anonymous,
                    confidential=spec.submit.confidential,
                    submitted_by=submitter,
                )
            )
        except EngineError as err:
            raise ScenarioFailure(
                f"{src.file}:{src.where(('submit',))[0]}: submission refused: {err.message}"
            ) from None
        previous: str | None = None
        if spec.expect:
            self._check(spec.expect, case, previous, tz, src, ("expect",))
        for i, step in enumerate(spec.steps):
            base: tuple[str | int, ...] = ("steps", i)
            if step.after:
                self.clock.advance(_duration(step.after, src, (*base, "after")))
            if step.at:
                self.clock.set(_local(step.at, tz, src, (*base, "at")))
            previous = None
            actor = self._actor(sop.region, step, case)
            if step.sweep:
                Sweeper(self.engine, self.registry, self.clock).tick()
            command = self._command(spec.sop, step, case, actor)
            if command is not None:
                if actor is None:
                    raise ScenarioFailure(
                        f"{src.file}:{src.where(base)[0]}: this step needs 'as: <role>'"
                    )
                before = self.cases.get(case.id)
                try:
                    result = command()
                except EngineError as err:
                    reason = err.details.get("reason", err.code)
                    what = step.do or next(
                        k for k in ("pause", "resume", "intervene", "fulfil") if getattr(step, k)
                    )
                    if step.refused is None:
                        line = src.where((*base, "do") if step.do else base)[0]
                        raise ScenarioFailure(
                            f"{src.file}:{line}: '{what}' by {step.as_} was refused: {err.message}"
                        ) from None
                    if step.refused != reason:
                        line = src.where((*base, "refused"))[0]
                        raise ScenarioFailure(
                            f"{src.file}:{line}: expected refusal '{step.refused}', "
                            f"got '{reason}': {err.message}"
                        ) from None
                    if self.cases.get(case.id).revision != before.revision:
                        raise ScenarioFailure(
                            f"{src.file}: a refused command changed the case"
                        ) from None
                else:
                    if step.refused is not None:
                        line = src.where((*base, "refused"))[0]
                        raise ScenarioFailure(
                            f"{src.file}:{line}: expected a refusal ({step.refused}), but it was "
                            "carried out"
                        )
                    if isinstance(result, CaseView) and result.left_visit is not None:
                        previous = result.left_visit.outcome
            case = self.cases.get(case.id)
            if step.expect:
                self._check(step.expect, case, previous, tz, src, (*base, "expect"))

    def _check_deadlines(
        self, expect: Expect, case: CaseView, tz: Any, src: Located, path: tuple[str | int, ...]
    ) -> None:
        with transaction(self.engine) as session:
            conn = session.connection()
            visit = (
                conn.execute(
                    select(_VISITS).where(_VISITS.c.case_id == case.id, _VISITS.c.left_at.is_(None))
                )
                .mappings()
                .first()
            )
            tasks = (
                conn.execute(
                    select(_TASKS.c.role).where(
                        _TASKS.c.case_id == case.id, _TASKS.c.resolved_at.is_(None)
                    )
                )
                .scalars()
                .all()
            )
            kinds = (
                conn.execute(select(_NOTES.c.kind).where(_NOTES.c.case_id == case.id))
                .scalars()
                .all()
            )
        if expect.breached is not None:
            _fail(
                src,
                path,
                "breached",
                expect.breached,
                bool(visit and visit["breached_at"] is not None),
            )
        if expect.warnings is not None:
            _fail(src, path, "warnings", expect.warnings, visit["warnings_sent"] if visit else 0)
        if expect.escalation_level is not None:
            _fail(
                src,
                path,
                "escalation_level",
                expect.escalation_level,
                visit["escalation_level"] if visit else 0,
            )
        if expect.paused is not None:
            _fail(src, path, "paused", expect.paused, bool(visit and visit["paused_at"]))
        if expect.escalated_to is not None:
            _fail(src, path, "escalated_to", sorted(expect.escalated_to), sorted(set(tasks)))
        for kind, count in expect.notifications.items():
            _fail(src, (*path, "notifications"), kind, count, kinds.count(kind))
        if expect.obligation is not None:
            ob = expect.obligation
            got = obligations.status(self.engine, case.sop_id, ob.name, ob.unit)
            if ob.misses is not None:
                _fail(src, (*path, "obligation"), "misses", ob.misses, got.get("misses"))
            if ob.due is not None:
                due = got.get("due_at")
                text = (
                    due.astimezone(tz).strftime("%Y-%m-%d %H:%M")
                    if isinstance(due, datetime)
                    else None
                )
                _fail(src, (*path, "obligation"), "due", ob.due, text)

    @staticmethod
    def _actor(region: str, step: StepSpec, case: CaseView) -> Actor | None:
        if not step.as_:
            return None
        unit = step.unit or case.unit
        return Actor(f"{step.as_} (skenario)", (Grant(region, step.as_, unit, case_id=case.id),))

    def _command(
        self, sop_id: str, step: StepSpec, case: CaseView, actor: Actor | None
    ) -> Callable[[], object] | None:
        if actor is None:
            return (
                None
                if not (step.do or step.pause or step.resume or step.intervene or step.fulfil)
                else (lambda: None)
            )
        cases = self.cases
        if step.do:
            return lambda: cases.act(case.id, actor, step.do or "", step.with_)
        if step.pause:
            return lambda: cases.pause(case.id, actor, step.pause or "")
        if step.resume:
            return lambda: cases.resume(case.id, actor)
        if step.intervene:
            iv = step.intervene
            return lambda: cases.intervene(
                case.id,
                actor,
                iv.kind,
                iv.reason,
                unit=iv.unit,
                to_step=iv.to,
                instruction=iv.instruction,
            )
        if step.fulfil:
            unit = step.unit or case.unit
            name = step.fulfil
            return lambda: obligations.fulfil(
                self.engine,
                self.registry,
                self.clock.now(),
                sop_id=sop_id,
                obligation=name,
                unit=unit,
                actor=actor,
            )
        return None

    def _check(
        self,
        expect: Expect,
        case: CaseView,
        previous: str | None,
        tz: Any,
        src: Located,
        path: tuple[str | int, ...],
    ) -> None:
        visit = case.open_visit
        due_local = (
            visit.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            if visit and visit.due_at
            else None
        )
        actual: dict[str, Any] = {
            "step": case.step,
            "status": case.status,
            "unit": case.unit,
            "due": due_local,
            "previous": previous,
            "overdue": bool(visit and visit.due_at and self.clock.now() > visit.due_at),
        }
        wanted = expect.model_dump(
            exclude_defaults=True, include={"step", "status", "unit", "due", "previous", "overdue"}
        )
        if expect.no_due:
            wanted["due"] = None
        for key, value in wanted.items():
            if actual[key] != value:
                line, _ = src.where((*path, key))
                raise ScenarioFailure(
                    f"{src.file}:{line}: expected {key} = {value!r}, got {actual[key]!r} "
                    f"(case at step '{case.step}')"
                )
        for key, value in expect.fields.items():
            if case.fields.get(key) != value:
                line, _ = src.where((*path, "fields", key))
                raise ScenarioFailure(
                    f"{src.file}:{line}: expected field {key} = {value!r}, "
                    f"got {case.fields.get(key)!r}"
                )
        self._check_deadlines(expect, case, tz, src, path)
        recorded = self.cases.get(case.id).events[-1].payload.get("entries", {})
        for key, value in expect.entries.items():
            if recorded.get(key) != value:
                line, _ = src.where((*path, "entries", key))
                raise ScenarioFailure(
                    f"{src.file}:{line}: expected the last action to record {key} = {value!r}, "
                    f"got {recorded.get(key)!r}"
                )


def _fail(src: Located, path: tuple[str | int, ...], key: str, wanted: Any, got: Any) -> None:
    if wanted != got:
        line, _ = src.where((*path, key))
        raise ScenarioFailure(f"{src.file}:{line}: expected {key} = {wanted!r}, got {got!r}")


def _reporter(data: dict[str, str] | None) -> ReporterInfo | None:
    if not data:
        return None
    known = {k: data[k] for k in ("name", "nik", "email", "phone") if k in data}
    extra = {k: v for k, v in data.items() if k not in known}
    return ReporterInfo(**known, extra=extra)


def _tz(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _local(text: str, tz: Any, src: Located, path: tuple[str | int, ...]) -> datetime:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError:
        line, col = src.where(path)
        raise ScenarioFailure(
            f"{src.file}:{line}:{col}: write the time as 'YYYY-MM-DD HH:MM'"
        ) from None


def _duration(text: str, src: Located, path: tuple[str | int, ...]) -> timedelta:
    try:
        limit = parse_limit(text)
    except LimitError as err:
        line, col = src.where(path)
        raise ScenarioFailure(f"{src.file}:{line}:{col}: {err}") from None
    if limit.unit is Unit.day:
        return timedelta(days=limit.amount)
    return timedelta(minutes=limit.amount)


def run_scenarios(
    catalog: Catalog, paths: Sequence[Path | str], engine: Engine | None = None
) -> list[ScenarioResult]:
    runner = ScenarioRunner(catalog, engine)
    try:
        return [runner.run_file(f) for f in scenario_files(paths)]
    finally:
        runner.close()
