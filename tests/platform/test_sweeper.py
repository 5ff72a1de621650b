"""The deadline sweeper on SQLite and PostgreSQL: warnings, breaches, the escalation ladder,
pauses, interventions, recurring obligations and the query plan of the sweep.

Every test runs on a small SOP of its own (written to ``tmp_path``), so the escalation policy is
the test's and not the seed files'. Region ``ujicoba``: Monday-Friday, office hours 08:00-16:00
WIB, units ``u1`` and ``u2``. SOP ``uji-eskalasi``:

* ``tangani`` (petugas, unit staff): ``100 menit`` on the calendar clock; may pause
  (``menunggu_berkas``); ``lanjut`` -> ``tinjau``, ``periksa`` -> ``periksa``, ``selesai``.
* ``tinjau`` (petugas): ``240 menit`` on the office-hours clock; may pause; ``selesai``.
* ``periksa`` (petugas): ``2 hari kerja``; may pause; ``selesai``.
* escalation: warnings at 50% and 80%; rungs 10 minutes after the deadline to ``kepala_unit``
  (unit staff), 1 hour after to ``admin_pusat`` (region staff), 1 day after to ``kepala_daerah``
  and ``kepala_unit``.
* interventions by ``admin_pusat`` and ``kepala_daerah``.
* obligation ``pembaruan_data``: each unit's ``kepala_unit`` every week, escalated to
  ``kepala_daerah``.

The clock starts on Monday 24 November 2025, 09:00 WIB. A case submitted then (bidang ``satu``,
so unit ``u1``) is due at 10:40; its warnings fall at 09:50 (50 of 100 minutes) and 10:20 (80);
its rungs at 10:50, 11:40 and Tuesday 10:40.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, insert, text, update
from sqlmodel import col, select

from rules.evaluator import Evaluator
from rules.loader import Catalog, load_catalog
from sop_platform import sweeper as sweeper_module
from sop_platform.db import is_sqlite, make_engine, transaction
from sop_platform.engine import (
    Actor,
    CaseEngine,
    CaseView,
    Conflict,
    Grant,
    NewCase,
    Refused,
)
from sop_platform.models import (
    CaseEvent,
    CaseRow,
    EscalationTask,
    Notification,
    ObligationClock,
    ObligationEvent,
    StepVisit,
    VisitPause,
)
from sop_platform.obligations import fulfil, start_clocks
from sop_platform.registry import Registry
from sop_platform.sweeper import SYSTEM, Sweeper, SweepResult
from sop_platform.timekeeping import VirtualClock

WIB = ZoneInfo("Asia/Jakarta")
REGION = "ujicoba"
SOP = "uji-eskalasi"

REGION_YAML = """\
region: ujicoba
name: Pemerintah Kota Uji Coba
level: kota
calendar:
  timezone: Asia/Jakarta
  work_week: [senin, selasa, rabu, kamis, jumat]
  office_hours: {start: "08:00", end: "16:00"}
units:
  u1: {code: U1, name: Dinas Satu}
  u2: {code: U2, name: Dinas Dua}
channels:
  web: {title: Situs web}
"""

SOP_YAML = """\
sop: uji-eskalasi
version: "2025-01-01"
region: ujicoba
title: Uji eskalasi
submission: {by: pelapor, channels: [web]}
fields:
  bidang: {type: choice, required: true, options: [satu, dua]}
roles:
  pelapor: {kind: citizen, title: Pelapor}
  petugas: {kind: unit_staff, title: Petugas}
  kepala_unit: {kind: unit_staff, title: Kepala Unit}
  admin_pusat: {kind: region_staff, title: Admin Pusat}
  kepala_daerah: {kind: region_staff, title: Kepala Daerah}
routing:
  - {when: "bidang == satu", unit: u1}
  - {otherwise: true, unit: u2}
start: tangani
steps:
  tangani:
    title: Menangani laporan
    by: petugas
    limit: 100 menit
    pauses: {menunggu_berkas: Menunggu kelengkapan berkas}
    actions:
      lanjut: {to: tinjau}
      periksa: {to: periksa}
      selesai: {to: selesai}
  tinjau:
    title: Meninjau pada jam kerja
    by: petugas
    limit: 240 menit
    clock: office_hours
    pauses: {menunggu_berkas: Menunggu kelengkapan berkas}
    actions:
      selesai: {to: selesai}
  periksa:
    title: Memeriksa dalam hari kerja
    by: petugas
    limit: 2 hari kerja
    pauses: {menunggu_berkas: Menunggu kelengkapan berkas}
    actions:
      selesai: {to: selesai}
  selesai:
    title: Selesai
    status: done
escalation:
  warn_at: [50%, 80%]
  ladder:
    - {after: 10 menit, to: [kepala_unit]}
    - {after: 1 jam, to: [admin_pusat]}
    - {after: 1 hari, to: [kepala_daerah, kepala_unit]}
interventions:
  by: [admin_pusat, kepala_daerah]
obligations:
  pembaruan_data:
    title: Pembaruan data
    by: kepala_unit
    every: 1 minggu
    per_unit: true
    escalate_to: [kepala_daerah]
"""


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=WIB)


def staff(name: str, role: str, unit: str | None = None, region: str = REGION) -> Actor:
    return Actor(name, (Grant(region, role, unit),))


PETUGAS_1 = staff("Petugas Satu", "petugas", "u1")
PETUGAS_2 = staff("Petugas Dua", "petugas", "u2")
KEPALA_1 = staff("Kepala Unit Satu", "kepala_unit", "u1")
KEPALA_2 = staff("Kepala Unit Dua", "kepala_unit", "u2")
PUSAT = staff("Admin Pusat", "admin_pusat")
BUPATI = staff("Kepala Daerah", "kepala_daerah")
PUSAT_LAIN = staff("Admin Pusat kota lain", "admin_pusat", region="yogyakarta")

T0 = wib(2025, 11, 24, 9, 0)  # Monday; the conftest clock starts here
DUE = wib(2025, 11, 24, 10, 40)  # 09:00 + 100 minutes


def write_catalog(tmp_path: Path, sop_yaml: str = SOP_YAML) -> Catalog:
    region_file = tmp_path / "region.yaml"
    sop_file = tmp_path / "uji-eskalasi.yaml"
    region_file.write_text(REGION_YAML, encoding="utf-8")
    sop_file.write_text(sop_yaml, encoding="utf-8")
    return load_catalog([region_file, sop_file])


@pytest.fixture
def uji_catalog(tmp_path: Path) -> Catalog:
    loaded = write_catalog(tmp_path)
    assert loaded.ok, "\n".join(map(str, loaded.problems))
    return loaded


@pytest.fixture
def reg(
    db_engine: Engine, uji_catalog: Catalog, evaluator: Evaluator, clock: VirtualClock
) -> Registry:
    registry = Registry(db_engine, uji_catalog, evaluator)
    registry.publish(clock.now())
    return registry


@pytest.fixture
def eng(db_engine: Engine, reg: Registry, clock: VirtualClock) -> CaseEngine:
    return CaseEngine(db_engine, reg, clock)


@pytest.fixture
def sweeper(db_engine: Engine, reg: Registry, clock: VirtualClock) -> Sweeper:
    return Sweeper(db_engine, reg, clock)


def submit(eng: CaseEngine, bidang: str = "satu") -> CaseView:
    return eng.submit(NewCase(SOP, "web", "Jalan berlubang di depan pasar", {"bidang": bidang}))


def sweep_at(sweeper: Sweeper, clock: VirtualClock, when: datetime) -> SweepResult:
    clock.set(when)
    return sweeper.tick()


def totals(result: SweepResult) -> tuple[int, int, int, int]:
    return (result.warnings, result.breaches, result.escalations, result.obligations_missed)


# --- reading the database -------------------------------------------------------------------


def open_visit(engine: Engine, case_id: int) -> StepVisit:
    with transaction(engine) as s:
        return s.exec(
            select(StepVisit).where(StepVisit.case_id == case_id, col(StepVisit.left_at).is_(None))
        ).one()


def visits(engine: Engine, case_id: int) -> list[StepVisit]:
    with transaction(engine) as s:
        return list(
            s.exec(
                select(StepVisit).where(StepVisit.case_id == case_id).order_by(col(StepVisit.id))
            )
        )


def events(engine: Engine, case_id: int, kind: str | None = None) -> list[CaseEvent]:
    with transaction(engine) as s:
        query = select(CaseEvent).where(CaseEvent.case_id == case_id)
        if kind is not None:
            query = query.where(CaseEvent.kind == kind)
        return list(s.exec(query.order_by(col(CaseEvent.seq))))


def notes(engine: Engine, kind: str, case_id: int | None = None) -> list[Notification]:
    with transaction(engine) as s:
        query = select(Notification).where(Notification.kind == kind)
        if case_id is not None:
            query = query.where(Notification.case_id == case_id)
        return list(s.exec(query.order_by(col(Notification.id))))


def tasks(engine: Engine, case_id: int | None = None) -> list[EscalationTask]:
    with transaction(engine) as s:
        query = select(EscalationTask)
        if case_id is not None:
            query = query.where(EscalationTask.case_id == case_id)
        return list(s.exec(query.order_by(col(EscalationTask.id))))


def case_row(engine: Engine, case_id: int) -> CaseRow:
    with transaction(engine) as s:
        row = s.get(CaseRow, case_id)
        assert row is not None
        return row


def pauses(engine: Engine, case_id: int) -> list[VisitPause]:
    with transaction(engine) as s:
        return list(
            s.exec(
                select(VisitPause).where(VisitPause.case_id == case_id).order_by(col(VisitPause.id))
            )
        )


# --- warnings -------------------------------------------------------------------------------


def test_calendar_warnings_fall_at_their_share_and_not_before(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    visit = open_visit(db_engine, case.id)
    assert visit.due_at == DUE
    assert visit.next_check_at == wib(2025, 11, 24, 9, 50)  # the 50% warning comes first
    # 50% of 100 minutes: 09:50. One second before, nothing.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 9, 49, 59))) == (0, 0, 0, 0)
    assert notes(db_engine, "warning") == []
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 9, 50))) == (1, 0, 0, 0)
    assert totals(sweeper.tick()) == (0, 0, 0, 0)  # the same moment again: nothing new
    # 80%: 10:20.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 19, 59))) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 20))) == (1, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 30))) == (0, 0, 0, 0)

    sent = notes(db_engine, "warning", case.id)
    assert [(n.params["percent"], n.role, n.unit_key, n.audience) for n in sent] == [
        ("50", "petugas", "u1", "role"),
        ("80", "petugas", "u1", "role"),
    ]
    assert [n.dedupe_key for n in sent] == [f"warning:{visit.id}:0", f"warning:{visit.id}:1"]
    warned = events(db_engine, case.id, "warning")
    assert [e.payload["percent"] for e in warned] == [50, 80]
    assert {(e.actor_name, e.actor_user_id, e.from_step, e.to_step) for e in warned} == {
        (SYSTEM, None, "tangani", "tangani")
    }
    after = open_visit(db_engine, case.id)
    assert after.warnings_sent == 2
    assert after.next_check_at == DUE
    assert after.breached_at is None


def test_office_hours_warnings_count_office_minutes_only(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    clock.set(wib(2025, 11, 24, 12, 0))
    case = submit(eng)
    clock.set(wib(2025, 11, 24, 13, 0))
    eng.act(case.id, PETUGAS_1, "lanjut")
    visit = open_visit(db_engine, case.id)
    # tinjau, 240 office minutes from Monday 13:00: 180 on Monday (13:00-16:00) and 60 on
    # Tuesday (08:00-09:00), so due Tuesday 09:00.
    assert visit.step == "tinjau" and visit.clock == "office_hours"
    assert visit.due_at == wib(2025, 11, 25, 9, 0)
    # 50% = 120 office minutes used = 120 left: Tuesday 08:00-09:00 (60) + Monday 15:00-16:00
    # (60), so Monday 15:00. 80% = 48 left: Tuesday 08:12.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 14, 59, 59))) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 15, 0))) == (1, 0, 0, 0)
    # 80% of the wall-clock span (20 hours) would be Tuesday 05:00: not an office minute.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 5, 0))) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 8, 11, 59))) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 8, 12))) == (1, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 8, 59, 59))) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 9, 0))) == (0, 1, 0, 0)
    sent = notes(db_engine, "warning", case.id)
    assert [n.params["percent"] for n in sent] == ["50", "80"]
    assert [n.created_at for n in sent] == [wib(2025, 11, 24, 15, 0), wib(2025, 11, 25, 8, 12)]


# --- breach and the ladder ------------------------------------------------------------------


def test_breach_is_recorded_once_however_often_the_sweeper_runs(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 39, 59)))[1] == 0
    assert open_visit(db_engine, case.id).breached_at is None
    assert sweep_at(sweeper, clock, DUE).breaches == 1
    for when in (DUE, DUE, wib(2025, 11, 24, 10, 45), wib(2025, 11, 24, 10, 49)):
        assert sweep_at(sweeper, clock, when).breaches == 0
    visit = open_visit(db_engine, case.id)
    assert visit.breached_at == DUE
    assert visit.next_check_at == wib(2025, 11, 24, 10, 50)  # the first rung
    (breach,) = events(db_engine, case.id, "breach")
    assert breach.actor_name == SYSTEM and breach.actor_user_id is None and breach.role is None
    assert breach.at == DUE and breach.unit_key == "u1"
    assert breach.payload["limit"] == "100 menit"
    assert datetime.fromisoformat(breach.payload["due_at"]) == DUE
    (note,) = notes(db_engine, "breach", case.id)
    assert (note.role, note.unit_key, note.dedupe_key) == ("petugas", "u1", f"breach:{visit.id}")
    assert note.params["tracking"] == case.tracking_number
    assert note.params["unit_name"] == "Dinas Satu"


def test_ladder_rungs_come_each_at_its_time_once_with_tasks_per_role(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    visit_id = open_visit(db_engine, case.id).id
    assert totals(sweep_at(sweeper, clock, DUE)) == (0, 1, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 49, 59))) == (0, 0, 0, 0)
    assert tasks(db_engine) == []
    # Rung 1, 10 minutes after: kepala_unit of the case's unit.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 50))) == (0, 0, 1, 0)
    assert totals(sweeper.tick()) == (0, 0, 0, 0)
    assert [(t.level, t.role, t.unit_key) for t in tasks(db_engine)] == [(1, "kepala_unit", "u1")]
    # Rung 2, an hour after: admin_pusat (region staff: no unit).
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 11, 39, 59))) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 11, 40))) == (0, 0, 1, 0)
    # Rung 3, a day after: two roles at once.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 10, 39, 59))) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 10, 40))) == (0, 0, 1, 0)
    for when in (wib(2025, 11, 25, 10, 40), wib(2025, 11, 26, 9, 0), wib(2025, 12, 31, 9, 0)):
        assert totals(sweep_at(sweeper, clock, when)) == (0, 0, 0, 0)

    assert [(t.level, t.role, t.unit_key, t.visit_id, t.step) for t in tasks(db_engine)] == [
        (1, "kepala_unit", "u1", visit_id, "tangani"),
        (2, "admin_pusat", None, visit_id, "tangani"),
        (3, "kepala_daerah", None, visit_id, "tangani"),
        (3, "kepala_unit", "u1", visit_id, "tangani"),
    ]
    assert [t.created_at for t in tasks(db_engine)] == [
        wib(2025, 11, 24, 10, 50),
        wib(2025, 11, 24, 11, 40),
        wib(2025, 11, 25, 10, 40),
        wib(2025, 11, 25, 10, 40),
    ]
    assert all(t.resolved_at is None for t in tasks(db_engine))
    escalated = notes(db_engine, "escalation", case.id)
    assert [(n.params["level"], n.role, n.unit_key, n.dedupe_key) for n in escalated] == [
        (1, "kepala_unit", "u1", f"escalation:{visit_id}:1:kepala_unit"),
        (2, "admin_pusat", None, f"escalation:{visit_id}:2:admin_pusat"),
        (3, "kepala_daerah", None, f"escalation:{visit_id}:3:kepala_daerah"),
        (3, "kepala_unit", "u1", f"escalation:{visit_id}:3:kepala_unit"),
    ]
    assert [e.payload for e in events(db_engine, case.id, "escalation")] == [
        {"level": 1, "to": ["kepala_unit"]},
        {"level": 2, "to": ["admin_pusat"]},
        {"level": 3, "to": ["kepala_daerah", "kepala_unit"]},
    ]
    visit = open_visit(db_engine, case.id)
    assert visit.escalation_level == 3
    assert visit.next_check_at is None  # nothing left to do for it


def test_a_sweeper_down_across_both_warnings_sends_only_the_latest(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    visit_id = open_visit(db_engine, case.id).id
    # First look at 10:30: both warnings (09:50, 10:20) have passed, the deadline not yet.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 30))) == (1, 0, 0, 0)
    (warning,) = notes(db_engine, "warning", case.id)
    assert warning.params["percent"] == "80"  # the latest passed, not both
    assert warning.dedupe_key == f"warning:{visit_id}:1"
    assert [e.payload["percent"] for e in events(db_engine, case.id, "warning")] == [80]
    visit = open_visit(db_engine, case.id)
    assert (visit.warnings_sent, visit.next_check_at) == (2, DUE)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 35))) == (0, 0, 0, 0)


def test_a_sweeper_down_for_a_day_records_breach_and_every_due_rung_in_one_go(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    # First look on Tuesday 12:00: both warnings, the deadline (Monday 10:40) and all three
    # rungs (10:50, 11:40, Tuesday 10:40) have passed. The breach and the three rungs are
    # recorded in one go, in order. No warning goes out any more: the sweeper sends a warning
    # only before the deadline (`now < due`; "x% of the time used" would be stale), and a
    # warning never sent is not counted as sent.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 25, 12, 0))) == (0, 1, 3, 0)
    assert totals(sweeper.tick()) == (0, 0, 0, 0)
    assert notes(db_engine, "warning", case.id) == []
    history = events(db_engine, case.id)
    assert [e.kind for e in history] == ["submit", "breach", *["escalation"] * 3]
    assert [e.seq for e in history] == [1, 2, 3, 4, 5]
    assert {e.at for e in history[1:]} == {wib(2025, 11, 25, 12, 0)}
    assert [e.payload.get("level") for e in history[2:]] == [1, 2, 3]
    assert [(t.level, t.role, t.unit_key) for t in tasks(db_engine, case.id)] == [
        (1, "kepala_unit", "u1"),
        (2, "admin_pusat", None),
        (3, "kepala_daerah", None),
        (3, "kepala_unit", "u1"),
    ]
    visit = open_visit(db_engine, case.id)
    assert visit.breached_at == wib(2025, 11, 25, 12, 0)  # when it was recorded
    assert (visit.warnings_sent, visit.escalation_level, visit.next_check_at) == (0, 3, None)
    assert len(notes(db_engine, "breach", case.id)) == 1
    assert len(notes(db_engine, "escalation", case.id)) == 4
    assert case_row(db_engine, case.id).revision == 5


def test_system_events_bump_the_revision_so_a_stale_clerk_gets_a_conflict(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    assert case.revision == 1  # what the clerk's screen holds
    sweep_at(sweeper, clock, wib(2025, 11, 24, 11, 0))  # breach + rung 1
    row = case_row(db_engine, case.id)
    assert row.revision == 3 and row.updated_at == wib(2025, 11, 24, 11, 0)
    with pytest.raises(Conflict) as err:
        eng.act(case.id, PETUGAS_1, "selesai", expected_revision=1)
    assert SYSTEM in err.value.message and err.value.details["revision"] == 3
    assert eng.get(case.id).step == "tangani"  # nothing written
    done = eng.act(case.id, PETUGAS_1, "selesai", expected_revision=3)
    assert done.step == "selesai" and done.revision == 4
    assert [e.seq for e in events(db_engine, case.id)] == [1, 2, 3, 4]
    (left,) = [v for v in visits(db_engine, case.id) if v.step == "tangani"]
    assert left.outcome == "breached"


# --- escalation queues ----------------------------------------------------------------------


def test_open_escalations_are_shown_to_the_right_role_and_unit_only(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    one, two = submit(eng, "satu"), submit(eng, "dua")
    sweep_at(sweeper, clock, wib(2025, 11, 25, 11, 0))  # every rung of both

    def seen(actor: Actor) -> list[tuple[str, int, str]]:
        return sorted(
            (r["tracking_number"], r["level"], r["role"]) for r in eng.open_escalations(actor)
        )

    t1, t2 = one.tracking_number, two.tracking_number
    assert seen(KEPALA_1) == sorted([(t1, 1, "kepala_unit"), (t1, 3, "kepala_unit")])
    assert seen(KEPALA_2) == sorted([(t2, 1, "kepala_unit"), (t2, 3, "kepala_unit")])
    assert seen(PUSAT) == sorted([(t1, 2, "admin_pusat"), (t2, 2, "admin_pusat")])
    assert seen(BUPATI) == sorted([(t1, 3, "kepala_daerah"), (t2, 3, "kepala_daerah")])
    for nobody in (PETUGAS_1, PETUGAS_2, PUSAT_LAIN, staff("Kepala tanpa unit", "kepala_unit")):
        assert seen(nobody) == []
    row = eng.open_escalations(KEPALA_1)[0]
    assert row["sop_id"] == SOP and row["step"] == "tangani" and row["unit_key"] == "u1"

    clock.set(wib(2025, 11, 25, 11, 5))
    eng.act(one.id, PETUGAS_1, "selesai")  # the case leaves the late step
    assert {t.resolved_at for t in tasks(db_engine, one.id)} == {wib(2025, 11, 25, 11, 5)}
    assert {t.resolved_at for t in tasks(db_engine, two.id)} == {None}
    assert seen(KEPALA_1) == []
    assert seen(PUSAT) == [(t2, 2, "admin_pusat")]
    assert seen(BUPATI) == [(t2, 3, "kepala_daerah")]
    assert seen(KEPALA_2) == sorted([(t2, 1, "kepala_unit"), (t2, 3, "kepala_unit")])


# --- pauses ---------------------------------------------------------------------------------


def test_no_breach_while_paused_and_resume_moves_a_calendar_due_by_wall_clock(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    clock.set(wib(2025, 11, 24, 9, 30))
    with pytest.raises(Refused) as err:
        eng.pause(case.id, PETUGAS_1, "libur")
    assert err.value.details["reason"] == "invalid_field"
    with pytest.raises(Refused) as err:
        eng.pause(case.id, PETUGAS_2, "menunggu_berkas")  # another unit's petugas
    assert err.value.details["reason"] == "not_your_role"
    with pytest.raises(Refused):
        eng.resume(case.id, PETUGAS_1)  # not paused
    paused = eng.pause(case.id, PETUGAS_1, "menunggu_berkas", note="KTP belum ada")
    assert paused.status == "waiting"
    with pytest.raises(Refused) as err:
        eng.pause(case.id, PETUGAS_1, "menunggu_berkas")
    assert err.value.details["reason"] == "already_paused"
    visit = open_visit(db_engine, case.id)
    assert visit.paused_at == wib(2025, 11, 24, 9, 30) and visit.next_check_at is None
    # Past the old deadline (10:40) and every rung: nothing while the clock is stopped.
    for when in (DUE, wib(2025, 11, 24, 11, 0), wib(2025, 11, 24, 11, 59)):
        assert totals(sweep_at(sweeper, clock, when)) == (0, 0, 0, 0)
    clock.set(wib(2025, 11, 24, 12, 0))
    resumed = eng.resume(case.id, PETUGAS_1, note="berkas lengkap")
    assert resumed.status == "open"
    # Paused 09:30-12:00 = 150 minutes of wall-clock time: 10:40 + 150 min = 13:10.
    visit = open_visit(db_engine, case.id)
    assert visit.due_at == wib(2025, 11, 24, 13, 10)
    assert visit.paused_at is None and visit.paused_reason is None
    (pause,) = pauses(db_engine, case.id)
    assert (pause.reason, pause.paused_at, pause.resumed_at, pause.shifted_minutes) == (
        "menunggu_berkas",
        wib(2025, 11, 24, 9, 30),
        wib(2025, 11, 24, 12, 0),
        150.0,
    )
    assert (pause.paused_by, pause.resumed_by, pause.visit_id) == (
        "Petugas Satu",
        "Petugas Satu",
        visit.id,
    )
    assert [e.kind for e in events(db_engine, case.id)][-2:] == ["pause", "resume"]
    assert events(db_engine, case.id, "resume")[0].payload["shifted_minutes"] == 150.0
    assert sweep_at(sweeper, clock, wib(2025, 11, 24, 13, 9, 59)).breaches == 0
    assert sweep_at(sweeper, clock, wib(2025, 11, 24, 13, 10)).breaches == 1
    assert open_visit(db_engine, case.id).breached_at == wib(2025, 11, 24, 13, 10)


def test_resume_moves_an_office_hours_due_by_office_minutes_only(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    # Friday 28 November 2025 and Monday 1 December 2025 are ordinary working days.
    clock.set(wib(2025, 11, 28, 13, 0))
    case = submit(eng)
    clock.set(wib(2025, 11, 28, 14, 0))
    eng.act(case.id, PETUGAS_1, "lanjut")
    # tinjau: 240 office minutes from Friday 14:00 = Friday 14:00-16:00 (120) + Monday
    # 08:00-10:00 (120): due Monday 10:00.
    assert open_visit(db_engine, case.id).due_at == wib(2025, 12, 1, 10, 0)
    clock.set(wib(2025, 11, 28, 15, 0))
    eng.pause(case.id, PETUGAS_1, "menunggu_berkas")
    assert sweep_at(sweeper, clock, wib(2025, 12, 1, 10, 30)).breaches == 0  # past the old due
    clock.set(wib(2025, 12, 1, 9, 0))
    eng.resume(case.id, PETUGAS_1)
    # Paused Friday 15:00 -> Monday 09:00. Office minutes in that span: Friday 15:00-16:00 = 60,
    # Saturday and Sunday = 0, Monday 08:00-09:00 = 60; 120 in all. The due moves 120 office
    # minutes on from Monday 10:00: Monday 12:00 (Monday 10:00-12:00 is office time).
    # Check: 180 office minutes were left at the pause (Friday 15:00-16:00 + Monday 08:00-10:00);
    # Monday 09:00 + 180 office minutes = Monday 12:00.
    visit = open_visit(db_engine, case.id)
    assert visit.due_at == wib(2025, 12, 1, 12, 0)
    (pause,) = pauses(db_engine, case.id)
    assert pause.shifted_minutes == 120.0  # in wall-clock minutes; here also 120
    assert sweep_at(sweeper, clock, wib(2025, 12, 1, 11, 59, 59)).breaches == 0
    assert sweep_at(sweeper, clock, wib(2025, 12, 1, 12, 0)).breaches == 1


def test_the_same_weekend_pause_moves_a_calendar_due_by_the_whole_weekend(
    db_engine: Engine, eng: CaseEngine, clock: VirtualClock
) -> None:
    clock.set(wib(2025, 11, 28, 14, 30))
    case = submit(eng)  # tangani, 100 calendar minutes: due Friday 16:10
    assert open_visit(db_engine, case.id).due_at == wib(2025, 11, 28, 16, 10)
    clock.set(wib(2025, 11, 28, 15, 0))
    eng.pause(case.id, PETUGAS_1, "menunggu_berkas")
    clock.set(wib(2025, 12, 1, 9, 0))
    eng.resume(case.id, PETUGAS_1)
    # Friday 15:00 -> Monday 09:00 = 66 hours = 3960 minutes: Friday 16:10 + 66 h = Monday 10:10.
    assert open_visit(db_engine, case.id).due_at == wib(2025, 12, 1, 10, 10)
    assert pauses(db_engine, case.id)[0].shifted_minutes == 3960.0


def test_warnings_after_a_resume_count_only_the_time_used(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)  # 100 minutes; due 10:40
    clock.set(wib(2025, 11, 24, 9, 30))
    eng.pause(case.id, PETUGAS_1, "menunggu_berkas")  # 30 minutes used
    clock.set(wib(2025, 11, 24, 12, 0))
    eng.resume(case.id, PETUGAS_1)  # due 13:10; 70 minutes left
    # 50% used = 50 minutes = 20 more after 12:00: 12:20. 80% = 80 minutes: 12:50.
    assert totals(sweeper.tick()) == (0, 0, 0, 0)  # 30% used: no warning yet
    assert sweep_at(sweeper, clock, wib(2025, 11, 24, 12, 19, 59)).warnings == 0
    assert sweep_at(sweeper, clock, wib(2025, 11, 24, 12, 20)).warnings == 1
    assert sweep_at(sweeper, clock, wib(2025, 11, 24, 12, 49, 59)).warnings == 0
    assert sweep_at(sweeper, clock, wib(2025, 11, 24, 12, 50)).warnings == 1


def test_finishing_a_paused_step_counts_the_pause_and_closes_it(
    db_engine: Engine, eng: CaseEngine, clock: VirtualClock
) -> None:
    case = submit(eng)
    clock.set(wib(2025, 11, 24, 9, 30))
    eng.pause(case.id, PETUGAS_1, "menunggu_berkas")
    clock.set(wib(2025, 11, 24, 12, 0))
    eng.act(case.id, PETUGAS_1, "selesai")  # documents came; the clerk finishes at once
    (left,) = [v for v in visits(db_engine, case.id) if v.step == "tangani"]
    (pause,) = pauses(db_engine, case.id)
    assert (left.outcome, pause.resumed_at) == ("met", wib(2025, 11, 24, 12, 0))


# --- interventions --------------------------------------------------------------------------


def test_only_the_declared_roles_intervene_and_always_with_a_reason(
    db_engine: Engine, eng: CaseEngine, clock: VirtualClock
) -> None:
    case = submit(eng)
    for actor in (PETUGAS_1, KEPALA_1, PUSAT_LAIN, Actor("Warga", ())):
        with pytest.raises(Refused) as err:
            eng.intervene(case.id, actor, "instruct", "Segera", instruction="Tangani hari ini")
        assert err.value.details["reason"] == "not_your_role"
    for blank in ("", "   "):
        with pytest.raises(Refused) as err:
            eng.intervene(case.id, PUSAT, "instruct", blank, instruction="Tangani hari ini")
        assert err.value.details["missing"] == ["alasan"]
    with pytest.raises(Refused):
        eng.intervene(case.id, PUSAT, "instruct", "Segera", instruction=" ")
    with pytest.raises(Refused):
        eng.intervene(case.id, PUSAT, "reassign", "Salah unit", unit="u9")
    with pytest.raises(Refused):
        eng.intervene(case.id, PUSAT, "force_step", "Lompat", to_step="tidak_ada")
    with pytest.raises(Refused):
        eng.intervene(case.id, PUSAT, "ambil_alih", "Saya saja")
    assert [e.kind for e in events(db_engine, case.id)] == ["submit"]  # nothing written
    assert notes(db_engine, "intervention") == []


def test_reassign_moves_case_and_open_visit_and_resolves_the_tasks(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    sweep_at(sweeper, clock, wib(2025, 11, 24, 11, 0))  # breach + rung 1 (kepala_unit u1)
    assert len(eng.open_escalations(KEPALA_1)) == 1
    clock.set(wib(2025, 11, 24, 11, 5))
    view = eng.intervene(case.id, PUSAT, "reassign", "Bukan wewenang Dinas Satu", unit="u2")
    assert view.unit == "u2" and view.step == "tangani"
    visit = open_visit(db_engine, case.id)
    # The same visit, still late (breached_at: when the 11:00 sweep recorded it).
    assert visit.unit_key == "u2" and visit.breached_at == wib(2025, 11, 24, 11, 0)
    assert {t.resolved_at for t in tasks(db_engine, case.id)} == {wib(2025, 11, 24, 11, 5)}
    assert eng.open_escalations(KEPALA_1) == [] and eng.open_escalations(KEPALA_2) == []
    (event_,) = events(db_engine, case.id, "intervention")
    assert (event_.actor_name, event_.role, event_.unit_key) == ("Admin Pusat", "admin_pusat", "u2")
    assert event_.payload["kind"] == "reassign" and event_.payload["from_unit"] == "u1"
    assert event_.payload["unit"] == "u2" and event_.payload["reason"].startswith("Bukan")
    told = [n for n in notes(db_engine, "assignment", case.id) if n.created_at == clock.now()]
    assert [(n.role, n.unit_key) for n in told] == [("petugas", "u2")]
    # Later rungs go to the new unit.
    sweep_at(sweeper, clock, wib(2025, 11, 25, 10, 40))
    assert [(t.level, t.role, t.unit_key) for t in tasks(db_engine, case.id)][1:] == [
        (2, "admin_pusat", None),
        (3, "kepala_daerah", None),
        (3, "kepala_unit", "u2"),
    ]
    assert sorted(r["level"] for r in eng.open_escalations(KEPALA_2)) == [3]
    assert eng.act(case.id, PETUGAS_2, "selesai").step == "selesai"


def test_force_step_closes_the_visit_and_opens_the_new_one(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    case = submit(eng)
    sweep_at(sweeper, clock, wib(2025, 11, 24, 11, 0))
    clock.set(wib(2025, 11, 24, 11, 10))
    view = eng.intervene(case.id, BUPATI, "force_step", "Sudah ditangani", to_step="tinjau")
    assert view.step == "tinjau" and view.status == "open"
    first, second = visits(db_engine, case.id)
    assert (first.step, first.left_at, first.outcome) == (
        "tangani",
        wib(2025, 11, 24, 11, 10),
        "breached",
    )
    # tinjau from Monday 11:10, 240 office minutes: 11:10 + 4 h = 15:10, same day.
    assert (second.step, second.left_at, second.due_at, second.unit_key) == (
        "tinjau",
        None,
        wib(2025, 11, 24, 15, 10),
        "u1",
    )
    assert second.breached_at is None and second.escalation_level == 0
    assert {t.resolved_at for t in tasks(db_engine, case.id)} == {wib(2025, 11, 24, 11, 10)}
    (event_,) = events(db_engine, case.id, "intervention")
    assert (event_.from_step, event_.to_step, event_.role) == ("tangani", "tinjau", "kepala_daerah")
    # The new visit has its own clock: the next sweep finds nothing; at 15:10 a breach.
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 11, 15))) == (0, 0, 0, 0)
    assert sweep_at(sweeper, clock, wib(2025, 11, 24, 15, 10)).breaches == 1


def test_instruct_notifies_the_steps_role(
    db_engine: Engine, eng: CaseEngine, clock: VirtualClock
) -> None:
    case = submit(eng, "dua")
    eng.intervene(case.id, PUSAT, "instruct", "Keluhan berulang", instruction="Tangani hari ini")
    (note,) = notes(db_engine, "intervention", case.id)
    assert (note.role, note.unit_key, note.audience) == ("petugas", "u2", "role")
    assert note.params["reason"] == "Tangani hari ini" and note.params["actor"] == "Admin Pusat"
    (event_,) = events(db_engine, case.id, "intervention")
    assert event_.payload["instruction"] == "Tangani hari ini"
    assert event_.payload["reason"] == "Keluhan berulang"
    assert eng.get(case.id).step == "tangani"  # an instruction does not move the case


# --- obligations ----------------------------------------------------------------------------


def test_obligation_clocks_fulfilment_and_misses(
    db_engine: Engine, reg: Registry, sweeper: Sweeper, clock: VirtualClock
) -> None:
    assert start_clocks(db_engine, reg, T0) == 2  # one per unit
    assert start_clocks(db_engine, reg, T0) == 0
    with transaction(db_engine) as s:
        clocks = {c.unit_key: c for c in s.exec(select(ObligationClock))}
    assert set(clocks) == {"u1", "u2"}
    assert {c.due_at for c in clocks.values()} == {T0 + timedelta(days=7)}

    def fulfil_as(actor: Actor, unit: str, when: datetime) -> datetime:
        return fulfil(
            db_engine, reg, when, sop_id=SOP, obligation="pembaruan_data", unit=unit, actor=actor
        )

    for actor in (PETUGAS_1, KEPALA_2, PUSAT, BUPATI):
        with pytest.raises(Refused):
            fulfil_as(actor, "u1", T0 + timedelta(days=2))
    assert fulfil_as(KEPALA_1, "u1", T0 + timedelta(days=2)) == T0 + timedelta(days=9)

    # Day 7: u2 (never fulfilled) misses; u1 is due on day 9.
    result = sweep_at(sweeper, clock, T0 + timedelta(days=7))
    assert totals(result) == (0, 0, 0, 1)
    assert totals(sweeper.tick()) == (0, 0, 0, 0)
    assert totals(sweep_at(sweeper, clock, T0 + timedelta(days=8))) == (0, 0, 0, 0)
    missed = notes(db_engine, "obligation_missed")
    assert [(n.role, n.unit_key) for n in missed] == [
        ("kepala_unit", "u2"),
        ("kepala_daerah", None),
    ]
    assert missed[0].params["unit_name"] == "Dinas Dua"
    assert missed[0].params["obligation_title"] == "Pembaruan data"
    # Day 9: u1 misses; day 14: u2 misses its second period.
    assert totals(sweep_at(sweeper, clock, T0 + timedelta(days=9))) == (0, 0, 0, 1)
    assert totals(sweep_at(sweeper, clock, T0 + timedelta(days=14))) == (0, 0, 0, 1)
    assert totals(sweep_at(sweeper, clock, T0 + timedelta(days=14))) == (0, 0, 0, 0)

    with transaction(db_engine) as s:
        clocks = {c.unit_key: c for c in s.exec(select(ObligationClock))}
        history = [
            (e.clock_id, e.kind, e.period_due_at, e.actor_name)
            for e in s.exec(select(ObligationEvent).order_by(col(ObligationEvent.id)))
        ]
    u1, u2 = clocks["u1"].id, clocks["u2"].id
    assert history == [
        (u1, "fulfilled", T0 + timedelta(days=7), "Kepala Unit Satu"),
        (u2, "missed", T0 + timedelta(days=7), SYSTEM),
        (u1, "missed", T0 + timedelta(days=9), SYSTEM),
        (u2, "missed", T0 + timedelta(days=14), SYSTEM),
    ]
    assert (clocks["u1"].due_at, clocks["u1"].misses) == (T0 + timedelta(days=16), 1)
    assert (clocks["u2"].due_at, clocks["u2"].misses) == (T0 + timedelta(days=21), 2)
    assert clocks["u1"].last_fulfilled_at == T0 + timedelta(days=2)
    missed = notes(db_engine, "obligation_missed")
    assert len(missed) == 6
    assert len({n.dedupe_key for n in missed}) == 6
    # Fulfilling resets the count of misses in a row.
    fulfil_as(KEPALA_2, "u2", T0 + timedelta(days=15))
    with transaction(db_engine) as s:
        c2 = s.exec(select(ObligationClock).where(ObligationClock.unit_key == "u2")).one()
    assert (c2.misses, c2.due_at) == (0, T0 + timedelta(days=22))


def test_a_sweeper_down_for_weeks_records_each_missed_period_once(
    db_engine: Engine, reg: Registry, sweeper: Sweeper, clock: VirtualClock
) -> None:
    start_clocks(db_engine, reg, T0)
    # Three periods end by day 22 (days 7, 14, 21) for each of the two units.
    assert totals(sweep_at(sweeper, clock, T0 + timedelta(days=22))) == (0, 0, 0, 6)
    assert totals(sweeper.tick()) == (0, 0, 0, 0)
    with transaction(db_engine) as s:
        periods = sorted((e.clock_id, e.period_due_at) for e in s.exec(select(ObligationEvent)))
    assert len(periods) == len(set(periods)) == 6


# --- odd visits -----------------------------------------------------------------------------


def test_a_visit_of_a_step_its_sop_no_longer_has_is_left_alone(
    db_engine: Engine, eng: CaseEngine, sweeper: Sweeper, clock: VirtualClock
) -> None:
    odd, normal = submit(eng), submit(eng)
    with transaction(db_engine) as s:
        s.execute(update(StepVisit).where(col(StepVisit.case_id) == odd.id).values(step="hilang"))
    result = sweep_at(sweeper, clock, wib(2025, 11, 24, 11, 0))
    assert totals(result) == (0, 1, 1, 0)  # the normal case only
    visit = open_visit(db_engine, odd.id)
    assert visit.next_check_at is None and visit.breached_at is None
    assert [e.kind for e in events(db_engine, odd.id)] == ["submit"]
    assert tasks(db_engine, odd.id) == []
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 26, 11, 0))) == (0, 0, 2, 0)
    assert open_visit(db_engine, normal.id).escalation_level == 3


# --- the query plan -------------------------------------------------------------------------


def _bulk_open_visits(engine: Engine, reg: Registry, n: int, when: datetime) -> None:
    """``n`` cases, each with an open visit checked a month or more from ``when`` (Core)."""
    compiled = reg.latest(SOP)
    cases_t = CaseRow.__table__  # type: ignore[attr-defined]
    visits_t = StepVisit.__table__  # type: ignore[attr-defined]
    case_rows = [
        {
            "tracking_number": f"BULK-{i:07d}",
            "region_id": REGION,
            "sop_id": SOP,
            "sop_version": compiled.sop.version,
            "content_hash": compiled.content_hash,
            "step": "tangani",
            "status": "open",
            "unit_key": "u1",
            "channel": "web",
            "text": "isi",
            "fields": {"bidang": "satu"},
            "anonymous": True,
            "confidential": False,
            "revision": 1,
            "created_at": when,
            "updated_at": when,
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        ids = conn.execute(
            insert(cases_t).returning(cases_t.c.id, sort_by_parameter_order=True), case_rows
        ).scalars()
        visit_rows = [
            {
                "case_id": case_id,
                "step": "tangani",
                "role": "petugas",
                "unit_key": "u1",
                "entered_at": when,
                "left_at": None,
                "due_at": when + timedelta(days=30, minutes=i),
                "limit_text": "100 menit",
                "clock": "calendar",
                "calendar_version": "x",
                "next_check_at": when + timedelta(days=30, minutes=i),
                "warnings_sent": 0,
                "escalation_level": 0,
            }
            for i, case_id in enumerate(ids)
        ]
        conn.execute(insert(visits_t), visit_rows)


@pytest.fixture
def captured_sweep_query(db_engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM step_visit" in statement and "next_check_at <=" in statement:
            seen.append((statement, parameters))

    event.listen(db_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db_engine, "before_cursor_execute", record)


def test_the_due_visit_query_uses_the_partial_index(
    db_engine: Engine,
    reg: Registry,
    eng: CaseEngine,
    sweeper: Sweeper,
    clock: VirtualClock,
    captured_sweep_query: list[tuple[str, Any]],
) -> None:
    _bulk_open_visits(db_engine, reg, 5000, T0)
    due = submit(eng)
    with db_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    assert sweep_at(sweeper, clock, DUE).breaches == 1
    assert open_visit(db_engine, due.id).breached_at == DUE
    statement, parameters = captured_sweep_query[0]  # the sweeper's own SQL, as sent
    with db_engine.connect() as conn:
        if is_sqlite(db_engine):
            plan = [
                row[-1]
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
            assert any("ix_step_visit_next_check" in line for line in plan), plan
            assert not any("TEMP B-TREE" in line for line in plan), plan  # no sort
        else:
            plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
            assert any("Index Scan using ix_step_visit_next_check" in line for line in plan), plan
            assert not any("Seq Scan" in line or "Sort" in line for line in plan), plan


# --- known problems -------------------------------------------------------------------------


def test_a_rung_at_the_deadline_itself_comes_with_the_breach(
    tmp_path: Path, db_engine: Engine, evaluator: Evaluator, clock: VirtualClock
) -> None:
    loaded = write_catalog(
        tmp_path,
        SOP_YAML.replace(
            "{after: 10 menit, to: [kepala_unit]}", "{after: 0 menit, to: [kepala_unit]}"
        ),
    )
    assert loaded.ok, "\n".join(map(str, loaded.problems))
    registry = Registry(db_engine, loaded, evaluator)
    registry.publish(clock.now())
    case = submit(CaseEngine(db_engine, registry, clock))
    sweeper = Sweeper(db_engine, registry, clock)
    assert totals(sweep_at(sweeper, clock, wib(2025, 11, 24, 10, 39, 59)))[1:3] == (0, 0)
    assert totals(sweep_at(sweeper, clock, DUE)) == (0, 1, 1, 0)
    assert [(t.level, t.role, t.created_at) for t in tasks(db_engine, case.id)] == [
        (1, "kepala_unit", DUE)
    ]
    assert [e.kind for e in events(db_engine, case.id)][-2:] == ["breach", "escalation"]
    assert open_visit(db_engine, case.id).next_check_at == wib(2025, 11, 24, 11, 40)


def test_a_clerk_acting_while_the_sweeper_handles_the_visit_is_not_deadlocked(
    db_engine: Engine,
    eng: CaseEngine,
    sweeper: Sweeper,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if is_sqlite(db_engine):
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: no row locks to interleave")
    case = submit(eng)
    clock.set(wib(2025, 11, 24, 11, 0))  # breach + rung 1 due
    claimed, go_on = threading.Event(), threading.Event()
    original = sweeper_module.enqueue

    def slow_enqueue(*args: Any, **kwargs: Any) -> None:
        # Called after the claim, before anything referencing the case row is written: the
        # window a real clerk's click can fall into, held open here.
        claimed.set()
        go_on.wait(20)
        original(*args, **kwargs)

    monkeypatch.setattr(sweeper_module, "enqueue", slow_enqueue)
    errors: dict[str, Exception] = {}

    def sweep() -> None:
        try:
            sweeper.tick()
        except Exception as err:
            errors["sweeper"] = err

    def clerk() -> None:
        try:
            eng.act(case.id, PETUGAS_1, "selesai")
        except Exception as err:
            errors["clerk"] = err

    s_thread = threading.Thread(target=sweep)
    c_thread = threading.Thread(target=clerk)
    try:
        s_thread.start()
        assert claimed.wait(20)
        c_thread.start()
        # Wait until the clerk's command waits for a row lock the sweeper holds (the case row:
        # the sweeper claimed the visit and its case together).
        deadline = time.monotonic() + 20
        clerk_waits = False
        while not clerk_waits and time.monotonic() < deadline:
            with db_engine.connect() as conn:
                clerk_waits = bool(
                    conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    ).scalar_one()
                )
            time.sleep(0.02)
        assert clerk_waits, "the clerk never waited for the sweeper's lock"
    finally:
        go_on.set()
        s_thread.join(30)
        c_thread.join(30)
    assert errors == {}
    assert eng.get(case.id).step == "selesai"
    assert len(events(db_engine, case.id, "breach")) == 1


@pytest.fixture
def impatient(db_engine: Engine) -> Iterator[Engine]:
    """The same database; on SQLite with a busy timeout of 0.3 s instead of 30 s, so that a
    transaction waiting for a lock its own process holds fails fast instead of after 30 s."""
    if not is_sqlite(db_engine):
        yield db_engine
        return
    engine = make_engine(str(db_engine.url))

    @event.listens_for(engine, "connect")
    def _short_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=300")

    yield engine
    engine.dispose()


_NESTED = (
    "on SQLite the sweeper opens a second transaction (Registry.by_hash on a content hash its "
    "catalog does not hold) while its own claim transaction holds the write lock (BEGIN "
    "IMMEDIATE): the look-up waits for the busy timeout (30 s) and the tick fails with "
    "'database is locked'. Nothing caches the look-up after a failure, so `sop sweep` on SQLite "
    "never sweeps cases pinned to an SOP version that has left the files, and holds the write "
    "lock for 30 s on every attempt"
)


def test_an_obligation_is_swept_by_a_fresh_sweeper_process(
    db_engine: Engine,
    impatient: Engine,
    reg: Registry,
    uji_catalog: Catalog,
    evaluator: Evaluator,
    clock: VirtualClock,
) -> None:
    # A new process's registry has looked nothing up yet; on SQLite any second transaction
    # opened inside the sweeper's claim would wait for its own write lock.
    start_clocks(db_engine, reg, T0)
    fresh = Registry(impatient, uji_catalog, evaluator)
    result = sweep_at(Sweeper(impatient, fresh, clock), clock, T0 + timedelta(days=7))
    assert result.obligations_missed == 2


def test_a_sweeper_started_before_a_publish_does_not_stop_the_new_sops_clocks(
    tmp_path: Path,
    db_engine: Engine,
    reg: Registry,
    evaluator: Evaluator,
    clock: VirtualClock,
) -> None:
    older = tmp_path / "lama"
    older.mkdir()
    (older / "region.yaml").write_text(REGION_YAML, encoding="utf-8")
    before = load_catalog([older / "region.yaml"])  # the files when the sweeper started
    assert before.ok and not before.sops
    running = Sweeper(db_engine, Registry(db_engine, before, evaluator), clock)
    start_clocks(db_engine, reg, T0)  # `sop publish` with the new SOP, a week earlier
    sweep_at(running, clock, T0 + timedelta(days=7))
    restarted = Sweeper(db_engine, reg, clock)  # restarted with the new files
    start_clocks(db_engine, reg, T0 + timedelta(days=7, minutes=1))
    result = sweep_at(restarted, clock, T0 + timedelta(days=14))
    assert result.obligations_missed == 2  # at least the second week's misses


def test_a_paused_working_day_visit_does_not_hold_up_the_sweep(
    db_engine: Engine, eng: CaseEngine, clock: VirtualClock
) -> None:
    clock.set(wib(2025, 11, 24, 8, 30))
    case = submit(eng)
    clock.set(wib(2025, 11, 24, 9, 0))
    eng.act(case.id, PETUGAS_1, "periksa")
    # periksa, 2 hari kerja from Monday 09:00: due at closing on Wednesday, 16:00.
    assert open_visit(db_engine, case.id).due_at == wib(2025, 11, 26, 16, 0)
    clock.set(wib(2025, 11, 24, 10, 0))
    eng.pause(case.id, PETUGAS_1, "menunggu_berkas")
    clock.set(wib(2025, 11, 25, 10, 0))
    eng.resume(case.id, PETUGAS_1)
    # Paused Monday 10:00-16:00 (360) + Tuesday 08:00-10:00 (120) = 480 office minutes: the due
    # moves a whole office day, to Thursday 16:00. The step's own time: Monday 09:00 to Thursday
    # 16:00 is 420 + 480 + 480 + 480 = 1860 office minutes, less 480 paused = 1380. 50% used =
    # 690 office minutes left before Thursday 16:00: Thursday 08:00-16:00 (480) and Wednesday
    # 12:30-16:00 (210), so Wednesday 12:30. (Counting the pause, 930 left: Wednesday 08:30.)
    assert open_visit(db_engine, case.id).due_at == wib(2025, 11, 27, 16, 0)
    clock.set(wib(2025, 11, 26, 8, 0))
    other = submit(eng)  # tangani from 08:00: its 50% warning is at 08:50
    commits: list[int] = []
    event.listen(db_engine, "commit", lambda _conn: commits.append(1))
    sweeper = Sweeper(db_engine, eng.registry, clock, batch=20)
    result = sweep_at(sweeper, clock, wib(2025, 11, 26, 8, 50))
    sweeper_commits = len(commits)  # before this test's own reads below commit too
    assert [n.case_id for n in notes(db_engine, "warning")] == [other.id]
    assert totals(result) == (1, 0, 0, 0)
    assert open_visit(db_engine, case.id).next_check_at == wib(2025, 11, 26, 12, 30)
    assert sweeper_commits <= 4


def test_a_case_on_a_version_no_longer_in_the_files_is_swept(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    db_engine: Engine,
    impatient: Engine,
    eng: CaseEngine,
    evaluator: Evaluator,
    clock: VirtualClock,
) -> None:
    case = submit(eng)  # on version 2025-01-01
    newer = tmp_path / "baru"
    newer.mkdir()
    catalog = write_catalog(
        newer,
        SOP_YAML.replace('version: "2025-01-01"', 'version: "2025-06-01"').replace(
            "title: Uji eskalasi", "title: Uji eskalasi (revisi)"
        ),
    )
    assert catalog.ok and list(catalog.sops) == [(SOP, "2025-06-01")]
    registry = Registry(impatient, catalog, evaluator)  # a sweeper started after the change
    registry.publish(clock.now())
    result = sweep_at(Sweeper(impatient, registry, clock), clock, DUE)
    assert result.breaches == 1
    assert open_visit(db_engine, case.id).breached_at == DUE
