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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

from rules.limits import LimitError, Unit, parse_limit
from rules.loader import Catalog
from rules.source import Located, load_located
from sop_platform.db import make_engine
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
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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


class SubmitSpec(_Strict):
    channel: str
    text: str
    fields: dict[str, Any] = Field(default_factory=dict)
    anonymous: bool = False
    confidential: bool = False
    reporter: dict[str, str] | None = None
    as_: str | None = Field(default=None, alias="as")
    unit: str | None = None


class StepSpec(_Strict):
    after: str | None = None
    at: str | None = None
    as_: str | None = Field(default=None, alias="as")
    unit: str | None = None
    do: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
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
            if step.do:
                if not step.as_:
                    raise ScenarioFailure(
                        f"{src.file}:{src.where(base)[0]}: 'do' needs 'as: <role>'"
                    )
                unit = step.unit or case.unit
                actor = Actor(
                    f"{step.as_} (skenario)",
                    (Grant(sop.region, step.as_, unit, case_id=case.id),),
                )
                before = self.cases.get(case.id)
                try:
                    case = self.cases.act(case.id, actor, step.do, step.with_)
                except EngineError as err:
                    reason = err.details.get("reason", err.code)
                    if step.refused is None:
                        line = src.where((*base, "do"))[0]
                        raise ScenarioFailure(
                            f"{src.file}:{line}: '{step.do}' by {step.as_} was "
                            f"refused: {err.message}"
                        ) from None
                    if step.refused != reason:
                        line = src.where((*base, "refused"))[0]
                        raise ScenarioFailure(
                            f"{src.file}:{line}: expected refusal '{step.refused}', "
                            f"got '{reason}': {err.message}"
                        ) from None
                    after = self.cases.get(case.id)
                    if after.revision != before.revision:
                        raise ScenarioFailure(
                            f"{src.file}: a refused action changed the case"
                        ) from None
                    case = after
                else:
                    if step.refused is not None:
                        line = src.where((*base, "refused"))[0]
                        raise ScenarioFailure(
                            f"{src.file}:{line}: expected '{step.do}' to be refused "
                            f"({step.refused}), but it went to step '{case.step}'"
                        )
                    left = [
                        v
                        for v in case.visits
                        if v.step == before.step and v.left_at == self.clock.now()
                    ]
                    moved = case.visits[-1:] != before.visits[-1:]
                    previous = left[-1].outcome if left and moved else None
            else:
                case = self.cases.get(case.id)
            if step.expect:
                self._check(step.expect, case, previous, tz, src, (*base, "expect"))

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
        wanted = expect.model_dump(exclude_defaults=True, exclude={"fields", "entries", "no_due"})
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
        recorded = self.cases.get(case.id).events[-1].payload.get("entries", {})
        for key, value in expect.entries.items():
            if recorded.get(key) != value:
                line, _ = src.where((*path, "entries", key))
                raise ScenarioFailure(
                    f"{src.file}:{line}: expected the last action to record {key} = {value!r}, "
                    f"got {recorded.get(key)!r}"
                )


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
