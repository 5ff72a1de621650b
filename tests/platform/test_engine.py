"""The case engine on SQLite and PostgreSQL: submit, act, refuse, race, crash, SOP versions.

Every test takes ``cases`` (hence ``db_engine``), so it runs once per database. The clock starts on
Monday 24 November 2025, 09:00 WIB (02:00 UTC). Expected deadlines are worked out in comments.

UPIK (upik-pengaduan): verifikasi (admin_opd, 1 x 2 jam, calendar clock) -terima-> penerimaan
(petugas_lapangan, 1 x 2 jam) -ambil-> pengerjaan (1 x 24 jam) -selesai[jawaban]-> selesai;
verifikasi -tolak[alasan]-> tinjauan_pusat (admin_pusat, no limit) -teruskan[jawaban, unit]->
verifikasi in the new unit.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy.orm
import sqlmodel
import yaml
from sqlalchemy import Engine, func
from sqlmodel import select

from rules.evaluator import Evaluator
from rules.loader import Catalog, load_catalog
from sop_platform import registry as registry_module
from sop_platform.accounts import actor_for, add_user
from sop_platform.db import transaction
from sop_platform.engine import (
    Actor,
    CaseEngine,
    CaseView,
    Conflict,
    Grant,
    IdempotencyMismatch,
    InvalidSubmission,
    NewCase,
    NotFound,
    Refused,
    ReporterInfo,
)
from sop_platform.models import CaseEvent, CaseRow, RegionRow, Reporter, SopDefinitionRow, StepVisit
from sop_platform.registry import PublishError, Registry
from sop_platform.timekeeping import VirtualClock
from tests.conftest import DEFINITIONS

WIB = ZoneInfo("Asia/Jakarta")
UPIK = "upik-pengaduan"


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=WIB)


def staff(name: str, role: str, unit: str | None = None, region: str = "yogyakarta") -> Actor:
    return Actor(name, (Grant(region, role, unit),))


ADMIN_DLH = staff("Admin DLH", "admin_opd", "dlh")
ADMIN_PU = staff("Admin PU", "admin_opd", "dpupkp")
PETUGAS_DLH = staff("Petugas DLH", "petugas_lapangan", "dlh")
PETUGAS_PU = staff("Petugas PU", "petugas_lapangan", "dpupkp")
PUSAT = staff("Admin Pusat", "admin_pusat")
NOBODY = Actor("Warga", ())


def upik(kategori: str = "kebersihan", **kw: Any) -> NewCase:
    kw.setdefault("anonymous", True)
    return NewCase(UPIK, "jss", "Sampah menumpuk di Jalan Kaliurang", {"kategori": kategori}, **kw)


def counts(engine: Engine) -> dict[str, int]:
    with transaction(engine) as session:
        return {
            model.__tablename__: int(session.exec(select(func.count()).select_from(model)).one())
            for model in (CaseRow, CaseEvent, StepVisit, Reporter)
        }


def frozen(cases: CaseEngine, case_id: int) -> tuple[Any, ...]:
    """Everything about a case, read now: its row, every event, every visit, and the row counts.

    (A CaseView compares without its history, which it may read lazily: hence this snapshot.)
    """
    view = cases.get(case_id)
    row = tuple(
        (f.name, getattr(view, f.name))
        for f in dataclasses.fields(view)
        if f.name not in ("history", "left_visit", "events", "visits")
    )
    return row, tuple(view.events), tuple(view.visits), counts(cases.engine)


# --- submitting -------------------------------------------------------------------------------


def test_submit_routes_the_unit_and_opens_the_first_visit(
    cases: CaseEngine, registry: Registry, catalog: Catalog
) -> None:
    view = cases.submit(upik("kebersihan"))
    loaded = catalog.get(UPIK)
    assert (view.sop_id, view.sop_version, view.content_hash) == (
        UPIK,
        loaded.sop.version,
        loaded.content_hash,
    )
    assert view.region == "yogyakarta"
    assert view.unit == "dlh"  # kategori == kebersihan -> dlh
    assert (view.step, view.status, view.revision) == ("verifikasi", "open", 1)
    assert view.fields == {"kategori": "kebersihan"}
    assert view.created_at == view.updated_at == wib(2025, 11, 24, 9, 0)
    assert view.closed_at is None
    assert view.tracking_number.startswith("YOG-251124-")
    assert cases.find(view.tracking_number) == view

    (event,) = view.events
    assert (event.seq, event.kind, event.action, event.from_step, event.to_step, event.unit) == (
        1,
        "submit",
        "submit",
        None,
        "verifikasi",
        "dlh",
    )
    assert (event.actor_name, event.role) == ("Anonim", "pelapor")

    (visit,) = view.visits
    assert visit == view.open_visit
    assert (visit.step, visit.role, visit.unit) == ("verifikasi", "admin_opd", "dlh")
    assert visit.entered_at == wib(2025, 11, 24, 9, 0)
    assert visit.left_at is None and visit.outcome is None
    # "1 x 2 jam", calendar clock: Mon 09:00 WIB + 2 h = 11:00 WIB = 04:00 UTC.
    assert visit.due_at == datetime(2025, 11, 24, 4, 0, tzinfo=UTC)
    assert (visit.limit_text, visit.clock) == ("1 x 2 jam", "calendar")
    version = registry.calendar("yogyakarta").version
    assert visit.calendar_version == version
    with transaction(cases.engine) as session:
        assert session.get(RegionRow, "yogyakarta").calendar_version == version  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kategori", "unit"),
    [
        ("infrastruktur", "dpupkp"),
        ("kebersihan", "dlh"),
        ("kesehatan", "dinkes"),
        ("kependudukan", "dukcapil"),
        ("perizinan", "dpmpp"),
        ("lainnya", "diskominfosandi"),
    ],
)
def test_routing_by_kategori(cases: CaseEngine, kategori: str, unit: str) -> None:
    view = cases.submit(upik(kategori))
    assert view.unit == unit
    assert view.visits[0].unit == unit


def test_submit_with_an_office_hours_limit(cases: CaseEngine, clock: VirtualClock) -> None:
    # Bantul "penerimaan": 60 menit, office_hours; Bantul's Friday is 07:30-16:30.
    # Fri 28 Nov 16:00 + 60: 30 on Friday (16:00-16:30), weekend, 30 from Mon 07:30 -> Mon 1 Dec
    # 08:00 WIB = 01:00 UTC.
    clock.set(wib(2025, 11, 28, 16, 0))
    view = cases.submit(
        NewCase(
            "pengaduan-terintegrasi",
            "lapor_bantul",
            "Saluran air tersumbat",
            {"kategori": "lingkungan"},
            anonymous=True,
        )
    )
    assert view.unit == "dlh"
    (visit,) = view.visits
    assert (visit.step, visit.role, visit.unit, visit.clock) == (
        "penerimaan",
        "operator",
        "dlh",
        "office_hours",
    )
    assert visit.due_at == datetime(2025, 12, 1, 1, 0, tzinfo=UTC)
    assert visit.calendar_version == cases.registry.calendar("bantul").version


def test_submit_with_a_working_days_limit(cases: CaseEngine) -> None:
    # Jambi "disposisi_nasional": maksimal 3 hari kerja; Jambi Mon-Thu 07:30-16:00.
    # Received Mon 24 Nov 09:00 (day 0) -> Tue, Wed, Thu -> Thu 27 Nov 16:00 WIB = 09:00 UTC.
    view = cases.submit(
        NewCase(
            "lapor",
            "lapor_web",
            "Jalan provinsi rusak",
            {},
            reporter=ReporterInfo(email="warga@example.id"),
        )
    )
    (visit,) = view.visits
    assert (visit.step, visit.clock) == ("disposisi_nasional", "working_days")
    assert visit.role == "admin_nasional" and visit.unit is None  # an external role has no unit
    assert visit.due_at == datetime(2025, 11, 27, 9, 0, tzinfo=UTC)
    assert view.status == "waiting"


def test_anonymous_submission_stores_no_reporter(cases: CaseEngine) -> None:
    rows = counts(cases.engine)
    # Even if identity is typed in, an anonymous report keeps none of it.
    view = cases.submit(
        upik(reporter=ReporterInfo(name="Siti", email="siti@example.id"), anonymous=True)
    )
    assert view.anonymous
    assert counts(cases.engine)["reporter"] == rows["reporter"] == 0
    assert cases.reporter(view.id) is None
    with transaction(cases.engine) as session:
        assert session.get(CaseRow, view.id).reporter_id is None  # type: ignore[union-attr]
    assert "Siti" not in json.dumps([e.payload for e in view.events]) + view.events[0].actor_name


def test_identified_submission_stores_the_reporter_apart(cases: CaseEngine) -> None:
    who = ReporterInfo(
        name="Siti Aminah",
        nik="3471010101010001",
        email="siti@example.id",
        phone="081234567890",
        extra={"akun_jss": "siti.a"},
    )
    view = cases.submit(upik(reporter=who, anonymous=False, confidential=True))
    assert not view.anonymous and view.confidential
    assert counts(cases.engine)["reporter"] == 1
    rep = cases.reporter(view.id)
    assert rep is not None
    assert (rep.name, rep.nik, rep.email, rep.phone, rep.extra) == (
        "Siti Aminah",
        "3471010101010001",
        "siti@example.id",
        "081234567890",
        {"akun_jss": "siti.a"},
    )
    # The case itself (text, fields, history) carries none of it.
    public = json.dumps(
        [
            view.text,
            view.fields,
            [e.payload for e in view.events],
            [e.actor_name for e in view.events],
        ]
    )
    for secret in ("Siti", "3471010101010001", "siti@example.id", "081234567890"):
        assert secret not in public
    with transaction(cases.engine) as session:
        assert session.get(CaseRow, view.id).reporter_id == rep.id  # type: ignore[union-attr]


def test_reporter_of_an_unknown_case_is_none(cases: CaseEngine) -> None:
    assert cases.reporter(999_999) is None


JAMBI_OK = dict(sop_id="lapor", channel="lapor_web", text="Jalan provinsi rusak", fields={})
CIREBON_OK = dict(
    sop_id="helpdesk-siaga-112",
    channel="telepon",
    text="Aplikasi tidak bisa dibuka",
    fields={"aplikasi": "aplikasi_siaga_112"},
)
CALL_TAKER = staff("Call Taker", "call_taker", "diskominfostik", region="cirebon")


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        (
            NewCase(UPIK, "telepon", "Lampu mati", {"kategori": "infrastruktur"}, anonymous=True),
            "kanal 'telepon' tidak dilayani",
        ),
        (
            NewCase(UPIK, "jss", "Lampu mati", {}, anonymous=True),
            "isian 'Kategori aduan' wajib diisi",
        ),
        (
            NewCase(UPIK, "jss", "Lampu mati", {"kategori": "   "}, anonymous=True),
            "isian 'Kategori aduan' wajib diisi",
        ),
        (
            NewCase(UPIK, "jss", "Lampu mati", {"kategori": "banjir"}, anonymous=True),
            "isian 'kategori' tidak valid: pilih salah satu dari",
        ),
        (
            NewCase(UPIK, "jss", "   ", {"kategori": "infrastruktur"}, anonymous=True),
            "isi laporan kosong",
        ),
        (
            NewCase(UPIK, "jss", "x" * 20_001, {"kategori": "infrastruktur"}, anonymous=True),
            "paling banyak 20000 karakter",
        ),
        (NewCase(**JAMBI_OK, anonymous=True), "tidak menerima laporan anonim"),
        (NewCase(**JAMBI_OK), "identitas pelapor wajib diisi"),
        (NewCase(**JAMBI_OK, reporter=ReporterInfo(name="Budi")), "identitas pelapor wajib diisi"),
        (
            NewCase("jss-data-informasi", "jss", "Minta data", {}, anonymous=True),
            "tidak menerima laporan anonim",
        ),
        (NewCase(**CIREBON_OK), "disampaikan oleh Call Taker"),
        (
            NewCase(
                **CIREBON_OK, submitted_by=staff("Kasi", "kasi_egov", "diskominfostik", "cirebon")
            ),
            "disampaikan oleh Call Taker",
        ),
        (
            NewCase(**CIREBON_OK, submitted_by=staff("CT", "call_taker", "dlh", "yogyakarta")),
            "disampaikan oleh Call Taker",
        ),
        (
            NewCase(**CIREBON_OK, submitted_by=CALL_TAKER, anonymous=True),
            "tidak menerima laporan anonim",
        ),
        (
            NewCase(**CIREBON_OK, submitted_by=CALL_TAKER, confidential=True),
            "tidak menerima laporan rahasia",
        ),
    ],
    ids=[
        "wrong-channel",
        "missing-field",
        "blank-field",
        "invalid-choice",
        "empty-text",
        "text-too-long",
        "anonymous-jambi",
        "no-identity",
        "name-is-not-identity",
        "anonymous-data-informasi",
        "staff-only-no-actor",
        "staff-only-other-role",
        "staff-only-other-region",
        "anonymous-cirebon",
        "confidential-cirebon",
    ],
)
def test_submission_refusals_write_nothing(cases: CaseEngine, new: NewCase, problem: str) -> None:
    rows = counts(cases.engine)
    with pytest.raises(InvalidSubmission) as err:
        cases.submit(new)
    assert any(problem in p for p in err.value.details["problems"]), err.value.details
    assert problem in err.value.message
    assert counts(cases.engine) == rows


def test_every_problem_is_reported_at_once(cases: CaseEngine) -> None:
    with pytest.raises(InvalidSubmission) as err:
        cases.submit(NewCase("lapor", "fax", " ", {"kewenangan": "mungkin"}, anonymous=True))
    problems = err.value.details["problems"]
    assert len(problems) == 4, problems  # channel, empty text, anonymous, invalid choice
    # The same problems in English, one for one, for the English interface and the API.
    english = err.value.details["problems_en"]
    assert len(english) == 4, english
    assert english[0].startswith("channel 'fax' is not served by this SOP")
    assert english[1] == "the report's text is empty"
    assert english[2] == "this SOP takes no anonymous reports"
    assert english[3].startswith("entry 'kewenangan' is not valid")
    assert err.value.message_en.startswith("The report cannot be accepted yet: channel 'fax'")


def test_an_unknown_sop_writes_nothing(cases: CaseEngine) -> None:
    # Note: the engine answers NotFound (not InvalidSubmission) for an SOP that does not exist.
    rows = counts(cases.engine)
    with pytest.raises(NotFound) as err:
        cases.submit(NewCase("tidak-ada", "jss", "Halo", {}, anonymous=True))
    assert "tidak-ada" in err.value.message
    assert counts(cases.engine) == rows


def test_the_accepted_counterparts(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock
) -> None:
    for extra in (
        {"email": "a@example.id"},
        {"phone": "0812"},
        {"nik": "1501"},
        {"extra": {"akun_lapor": "budi"}},
    ):
        view = cases.submit(NewCase(**JAMBI_OK, reporter=ReporterInfo(**extra)))  # type: ignore[arg-type]
        assert view.unit == "diskominfo"
    add_user(
        db_engine,
        "ct",
        "Call Taker Satu",
        "pw",
        [Grant("cirebon", "call_taker", "diskominfostik")],
        clock.now(),
    )
    actor = actor_for(db_engine, "ct")
    view = cases.submit(NewCase(**CIREBON_OK, submitted_by=actor))
    assert view.events[0].actor_name == "Call Taker Satu"
    assert view.events[0].role == "call_taker"
    with transaction(db_engine) as session:
        assert session.get(CaseRow, view.id).submitted_by_user_id == actor.user_id  # type: ignore[union-attr]


# --- idempotency ----------------------------------------------------------------------------------


def test_same_key_same_body_gives_the_same_case(cases: CaseEngine) -> None:
    new = upik(
        idempotency_key="jss-123", anonymous=False, reporter=ReporterInfo(name="Ani", phone="08")
    )
    first = cases.submit(new)
    rows = counts(cases.engine)
    assert rows == {"case": 1, "case_event": 1, "step_visit": 1, "reporter": 1}
    again = cases.submit(new)
    assert again == first
    assert counts(cases.engine) == rows


def test_same_key_other_body_is_a_mismatch(cases: CaseEngine) -> None:
    first = cases.submit(upik(idempotency_key="jss-124"))
    rows = counts(cases.engine)
    other = NewCase(
        UPIK,
        "jss",
        "Teks lain",
        {"kategori": "kebersihan"},
        anonymous=True,
        idempotency_key="jss-124",
    )
    with pytest.raises(IdempotencyMismatch) as err:
        cases.submit(other)
    assert err.value.details["case"] == first.tracking_number
    assert counts(cases.engine) == rows


def test_a_refused_submission_does_not_use_up_its_key(cases: CaseEngine) -> None:
    with pytest.raises(InvalidSubmission):
        cases.submit(NewCase(UPIK, "jss", "Lampu", {}, anonymous=True, idempotency_key="k-1"))
    view = cases.submit(upik(idempotency_key="k-1"))
    assert view.revision == 1


def test_concurrent_submissions_with_one_key_make_one_case(cases: CaseEngine) -> None:
    new = upik(
        idempotency_key="jss-race", anonymous=False, reporter=ReporterInfo(email="r@example.id")
    )
    barrier = threading.Barrier(8)
    results: list[CaseView] = []
    errors: list[BaseException] = []

    def submit() -> None:
        barrier.wait()
        try:
            results.append(cases.submit(new))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(results) == 8
    assert len({r.id for r in results}) == 1
    rows = counts(cases.engine)
    assert (rows["case"], rows["case_event"], rows["step_visit"]) == (1, 1, 1)
    assert rows["reporter"] == 1  # the losers' reporter rows were rolled back with them


# --- acting -------------------------------------------------------------------------------------


@pytest.fixture
def case(cases: CaseEngine) -> CaseView:
    """A UPIK complaint for DLH at verifikasi, submitted Mon 09:00."""
    return cases.submit(upik("kebersihan"))


def _run(
    cases: CaseEngine, case_id: int, steps: list[tuple[Actor, str, dict[str, Any]]]
) -> CaseView:
    view = cases.get(case_id)
    for actor, action, payload in steps:
        view = cases.act(case_id, actor, action, payload)
    return view


TO_END = [
    (ADMIN_DLH, "terima", {}),
    (PETUGAS_DLH, "ambil", {}),
    (PETUGAS_DLH, "selesai", {"jawaban": "Sampah sudah diangkut"}),
]


@pytest.mark.parametrize(
    ("actor", "action", "payload", "reason"),
    [
        (PETUGAS_DLH, "terima", {}, "not_your_role"),
        (PUSAT, "terima", {}, "not_your_role"),
        (NOBODY, "terima", {}, "not_your_role"),
        (
            staff("Admin DLH Bantul", "admin_opd", "dlh", region="bantul"),
            "terima",
            {},
            "not_your_role",
        ),
        (ADMIN_PU, "terima", {}, "out_of_scope"),
        (ADMIN_PU, "tolak", {"alasan": "x"}, "out_of_scope"),
        (ADMIN_DLH, "tolak", {}, "missing_fields"),
        (ADMIN_DLH, "tolak", {"alasan": "   "}, "missing_fields"),
        (ADMIN_DLH, "ambil", {}, "not_at_step"),
        (ADMIN_DLH, "hapus", {}, "not_at_step"),
        (ADMIN_DLH, "terima", {"kategori": "banjir"}, "invalid_field"),
        (ADMIN_DLH, "terima", {"catatan": "entri yang tidak diminta"}, "invalid_field"),
    ],
    ids=[
        "wrong-role",
        "region-staff",
        "no-grants",
        "other-region",
        "out-of-scope",
        "out-of-scope-with-fields",
        "missing-field",
        "blank-field",
        "not-at-step",
        "unknown-action",
        "invalid-value",
        "entry-not-taken",
    ],
)
def test_refused_actions_change_nothing(
    cases: CaseEngine,
    case: CaseView,
    actor: Actor,
    action: str,
    payload: dict[str, Any],
    reason: str,
) -> None:
    before = frozen(cases, case.id)
    with pytest.raises(Refused) as err:
        cases.act(case.id, actor, action, payload)
    assert err.value.details["reason"] == reason
    assert err.value.message
    assert frozen(cases, case.id) == before


def test_refusal_messages_say_why(cases: CaseEngine, case: CaseView) -> None:
    with pytest.raises(Refused) as err:
        cases.act(case.id, ADMIN_DLH, "tolak", {})
    assert err.value.message == "Isian wajib belum diisi: Alasan."
    assert err.value.details["missing"] == ["alasan"]
    with pytest.raises(Refused) as err:
        cases.act(case.id, ADMIN_PU, "terima")
    assert "Dinas Lingkungan Hidup" in err.value.message  # the unit the case belongs to
    with pytest.raises(Refused) as err:
        cases.act(case.id, PETUGAS_DLH, "terima")
    assert "Admin Perangkat Daerah" in err.value.message  # who may do it


def test_closing_needs_an_answer(cases: CaseEngine, case: CaseView) -> None:
    _run(cases, case.id, TO_END[:2])
    before = frozen(cases, case.id)
    with pytest.raises(Refused) as err:
        cases.act(case.id, PETUGAS_DLH, "selesai", {})
    assert (err.value.details["reason"], err.value.details["missing"]) == (
        "missing_fields",
        ["jawaban"],
    )
    assert frozen(cases, case.id) == before


def test_acting_on_an_ended_case_changes_nothing(cases: CaseEngine, case: CaseView) -> None:
    done = _run(cases, case.id, TO_END)
    assert (done.step, done.status) == ("selesai", "done")
    before = frozen(cases, case.id)
    for actor, action in [(PETUGAS_DLH, "selesai"), (ADMIN_DLH, "terima"), (PUSAT, "teruskan")]:
        with pytest.raises(Refused) as err:
            cases.act(case.id, actor, action, {"jawaban": "lagi", "unit": "dlh"})
        assert err.value.details["reason"] == "step_ended"
    assert frozen(cases, case.id) == before


def test_a_stale_revision_changes_nothing(cases: CaseEngine, case: CaseView) -> None:
    assert cases.act(case.id, ADMIN_DLH, "terima", expected_revision=1).revision == 2
    before = frozen(cases, case.id)
    with pytest.raises(Conflict) as err:
        cases.act(case.id, PETUGAS_DLH, "ambil", expected_revision=1)
    assert case.tracking_number in err.value.message
    assert "Admin DLH" in err.value.message  # who changed it last
    assert err.value.details["revision"] == 2
    assert frozen(cases, case.id) == before
    assert cases.act(case.id, PETUGAS_DLH, "ambil", expected_revision=2).revision == 3


def test_an_unknown_case_is_not_found(cases: CaseEngine) -> None:
    for call in (
        lambda: cases.get(424242),
        lambda: cases.act(424242, ADMIN_DLH, "terima"),
        lambda: cases.find("YOG-000000-XXXXXX"),
        lambda: cases.available_actions(424242, ADMIN_DLH),
    ):
        with pytest.raises(NotFound):
            call()


def test_a_successful_act_writes_one_event_and_closes_the_visit(
    cases: CaseEngine, case: CaseView, clock: VirtualClock
) -> None:
    rows = counts(cases.engine)
    clock.set(wib(2025, 11, 24, 10, 30))
    view = cases.act(case.id, ADMIN_DLH, "terima")
    assert counts(cases.engine) == {
        **rows,
        "case_event": rows["case_event"] + 1,
        "step_visit": rows["step_visit"] + 1,
    }
    assert (view.step, view.revision, view.unit, view.status) == ("penerimaan", 2, "dlh", "open")
    assert view.updated_at == wib(2025, 11, 24, 10, 30)
    event = view.events[-1]
    assert len(view.events) == 2
    assert (event.seq, event.kind, event.action, event.role, event.actor_name) == (
        2,
        "transition",
        "terima",
        "admin_opd",
        "Admin DLH",
    )
    assert (event.from_step, event.to_step, event.unit) == ("verifikasi", "penerimaan", "dlh")
    assert event.at == wib(2025, 11, 24, 10, 30)
    first, second = view.visits
    # verifikasi was due 11:00; left 10:30 -> met.
    assert (first.left_at, first.outcome) == (wib(2025, 11, 24, 10, 30), "met")
    assert (second.step, second.role, second.unit) == ("penerimaan", "petugas_lapangan", "dlh")
    assert second.entered_at == wib(2025, 11, 24, 10, 30) and second.left_at is None
    assert second.due_at == wib(2025, 11, 24, 12, 30)  # 10:30 + 1 x 2 jam
    assert view.open_visit == second
    assert view.left_visit == first  # the command says which visit it closed

    # 13:00 is after penerimaan's 12:30 -> breached; pengerjaan due 13:00 + 24 h = Tue 13:00.
    clock.set(wib(2025, 11, 24, 13, 0))
    view = cases.act(case.id, PETUGAS_DLH, "ambil")
    assert view.visits[1].outcome == "breached"
    assert view.visits[2].due_at == wib(2025, 11, 25, 13, 0)
    assert [e.seq for e in view.events] == [1, 2, 3] and view.revision == 3

    # Tue 12:59 < 13:00 -> met; selesai is terminal: done, closed, no open visit.
    clock.set(wib(2025, 11, 25, 12, 59))
    view = cases.act(case.id, PETUGAS_DLH, "selesai", {"jawaban": "Sudah diangkut"})
    assert (view.step, view.status, view.revision) == ("selesai", "done", 4)
    assert view.closed_at == wib(2025, 11, 25, 12, 59)
    assert view.visits[2].outcome == "met"
    last = view.visits[3]
    assert (last.step, last.entered_at, last.left_at, last.due_at, last.outcome) == (
        "selesai",
        wib(2025, 11, 25, 12, 59),
        wib(2025, 11, 25, 12, 59),
        None,
        None,
    )
    assert view.open_visit is None
    # The answer is kept in the event; the case's fields stay the SOP's own (kategori).
    assert view.events[-1].payload["entries"] == {"jawaban": "Sudah diangkut"}
    assert view.fields == {"kategori": "kebersihan"}


@pytest.mark.parametrize(
    ("at", "outcome"),
    [
        (wib(2025, 11, 24, 11, 0, 0), "met"),  # exactly at the due time (11:00) still counts as met
        (wib(2025, 11, 24, 11, 0, 1), "breached"),  # one second later does not
        # One microsecond later neither (the outcome is compared in SQL; SQLite keeps text).
        (wib(2025, 11, 24, 11, 0) + timedelta(microseconds=1), "breached"),
        (wib(2025, 11, 24, 10, 59, 59) + timedelta(microseconds=999_999), "met"),
    ],
)
def test_met_or_breached_at_the_boundary(
    cases: CaseEngine, case: CaseView, clock: VirtualClock, at: datetime, outcome: str
) -> None:
    clock.set(at)
    assert cases.act(case.id, ADMIN_DLH, "terima").visits[0].outcome == outcome


def test_reroute_changes_the_unit(cases: CaseEngine, clock: VirtualClock) -> None:
    view = cases.submit(upik("infrastruktur"))
    assert view.unit == "dpupkp"
    clock.set(wib(2025, 11, 24, 9, 30))
    view = cases.act(view.id, ADMIN_PU, "tolak", {"alasan": "Urusan sampah, bukan jalan"})
    assert (view.step, view.unit) == ("tinjauan_pusat", "dpupkp")
    review = view.visits[-1]
    assert (review.role, review.unit, review.due_at) == (
        "admin_pusat",
        None,
        None,
    )  # region staff, no limit
    clock.set(wib(2025, 11, 24, 10, 0))
    view = cases.act(view.id, PUSAT, "teruskan", {"jawaban": "Diteruskan ke DLH", "unit": "dlh"})
    assert (view.step, view.unit, view.revision) == ("verifikasi", "dlh", 3)
    event = view.events[-1]
    assert (event.kind, event.unit, event.from_step, event.to_step) == (
        "transition",
        "dlh",
        "tinjauan_pusat",
        "verifikasi",
    )
    assert event.payload["entries"]["unit"] == "dlh"
    assert view.visits[1].outcome is None  # tinjauan_pusat had no limit: neither met nor breached
    new_visit = view.visits[-1]
    assert (new_visit.step, new_visit.unit) == ("verifikasi", "dlh")
    assert new_visit.due_at == wib(2025, 11, 24, 12, 0)  # 10:00 + 1 x 2 jam
    # The old unit has lost the case; the new one has it.
    with pytest.raises(Refused) as err:
        cases.act(view.id, ADMIN_PU, "terima")
    assert err.value.details["reason"] == "out_of_scope"
    assert [o.action for o in cases.available_actions(view.id, ADMIN_PU)] == []
    assert cases.act(view.id, ADMIN_DLH, "terima").unit == "dlh"


def test_reroute_to_an_unknown_unit_changes_nothing(cases: CaseEngine, case: CaseView) -> None:
    cases.act(case.id, ADMIN_DLH, "tolak", {"alasan": "Bukan tugas kami"})
    before = frozen(cases, case.id)
    with pytest.raises(Refused) as err:
        cases.act(case.id, PUSAT, "teruskan", {"jawaban": "x", "unit": "atlantis"})
    assert err.value.details["reason"] == "invalid_field"
    assert frozen(cases, case.id) == before


def test_a_stay_action_records_without_moving(cases: CaseEngine, clock: VirtualClock) -> None:
    operator = staff("Operator DLH", "operator", "dlh", region="bantul")
    view = cases.submit(
        NewCase(
            "pengaduan-terintegrasi",
            "lapor_bantul",
            "Saluran tersumbat",
            {"kategori": "lingkungan"},
            anonymous=True,
        )
    )
    before = view.visits
    clock.set(wib(2025, 11, 24, 9, 20))
    view = cases.act(view.id, operator, "jawaban_sementara", {"jawaban": "Sedang kami cek"})
    assert (view.step, view.revision) == ("penerimaan", 2)
    event = view.events[-1]
    assert (event.seq, event.kind, event.from_step, event.to_step) == (
        2,
        "record",
        "penerimaan",
        "penerimaan",
    )
    assert view.visits == before  # same single visit, still open, same due
    assert view.open_visit is not None and view.open_visit.left_at is None


def test_a_report_to_action_reports_without_moving(cases: CaseEngine) -> None:
    desk = staff("Pengelola", "pengelola_pengaduan")
    technician = staff("Petugas Teknis DLH", "petugas_teknis", "dlh")
    view = cases.submit(
        NewCase("jss-pengaduan", "jss", "Pohon tumbang", {"jenis": "pengaduan"}, anonymous=True)
    )
    assert view.unit == "diskominfosandi"
    view = cases.act(view.id, desk, "teruskan", {"unit": "dlh"})
    view = cases.act(view.id, ADMIN_DLH, "terima")
    assert view.step == "tindak_lanjut"
    assert view.events[-1].payload["branch"] == 0  # "jenis == pengaduan"
    before = view.visits
    view = cases.act(view.id, ADMIN_DLH, "progress_report", {"laporan": "Pohon sedang dipotong"})
    event = view.events[-1]
    assert (event.kind, event.from_step, event.to_step) == (
        "report",
        "tindak_lanjut",
        "tindak_lanjut",
    )
    assert event.payload["report_to"] == ["admin_pusat"]
    assert view.step == "tindak_lanjut" and view.visits == before and view.revision == 4
    view = cases.act(view.id, technician, "update_data", {"catatan": "Dua pohon"})
    assert (view.events[-1].kind, view.step, view.revision) == ("record", "tindak_lanjut", 5)
    assert view.visits == before


# --- available actions ----------------------------------------------------------------------------


def _expected(cases: CaseEngine, view: CaseView, actor: Actor) -> set[str]:
    """From the SOP itself: the step's actions one of the actor's roles (in scope) may take."""
    sop = cases.registry.by_hash(view.content_hash).sop
    step = sop.steps[view.step]
    roles = set(actor.roles_for(view.region, view.unit, sop))
    return {
        name for name, action in step.actions.items() if roles & set(sop.action_roles(step, action))
    }


def _offered(cases: CaseEngine, view: CaseView, actor: Actor) -> set[str]:
    return {o.action for o in cases.available_actions(view.id, actor)}


ALL_UPIK = [
    ADMIN_DLH,
    ADMIN_PU,
    PETUGAS_DLH,
    PETUGAS_PU,
    PUSAT,
    NOBODY,
    Actor(
        "DLH, both roles",
        (Grant("yogyakarta", "admin_opd", "dlh"), Grant("yogyakarta", "petugas_lapangan", "dlh")),
    ),
]


def test_available_actions_follow_the_sop(cases: CaseEngine, case: CaseView) -> None:
    paths = {
        "verifikasi": [],
        "penerimaan": [(ADMIN_DLH, "terima", {})],
        "pengerjaan": [(ADMIN_DLH, "terima", {}), (PETUGAS_DLH, "ambil", {})],
        "tinjauan_pusat": [(ADMIN_DLH, "tolak", {"alasan": "x"})],
        "selesai": TO_END,
    }
    expected_names = {
        "verifikasi": {ADMIN_DLH: {"terima", "tolak"}},
        "penerimaan": {PETUGAS_DLH: {"ambil"}},
        "pengerjaan": {PETUGAS_DLH: {"selesai"}},
        "tinjauan_pusat": {PUSAT: {"teruskan", "jawab_dan_tutup"}},
        "selesai": {},
    }
    for step, path in paths.items():
        view = _run(cases, cases.submit(upik("kebersihan")).id, path)
        assert view.step == step
        for actor in ALL_UPIK:
            offered = _offered(cases, view, actor)
            assert offered == _expected(cases, view, actor), (step, actor.name)
            if actor in expected_names[step]:
                assert offered == expected_names[step][actor], (step, actor.name)
            elif actor.name != "DLH, both roles":
                assert offered == set(), (step, actor.name)


def test_offers_say_what_they_need(cases: CaseEngine, case: CaseView) -> None:
    offers = {o.action: o for o in cases.available_actions(case.id, ADMIN_DLH)}
    assert (
        offers["terima"].requires == () and offers["terima"].moves and not offers["terima"].reroute
    )
    assert offers["terima"].label == "Terima aduan"
    assert offers["tolak"].requires == ("alasan",)
    view = cases.act(case.id, ADMIN_DLH, "tolak", {"alasan": "x"})
    offers = {o.action: o for o in cases.available_actions(view.id, PUSAT)}
    assert offers["teruskan"].requires == ("jawaban", "unit") and offers["teruskan"].reroute
    assert offers["jawab_dan_tutup"].requires == ("jawaban",)
    # Every offer is accepted once its entries are given.
    assert (
        cases.act(view.id, PUSAT, "teruskan", {"jawaban": "ke DLH", "unit": "dlh"}).step
        == "verifikasi"
    )


def test_action_level_roles(cases: CaseEngine) -> None:
    # Bantul penerimaan_jawaban: terima_jawaban is the citizen's, tutup the operator's.
    operator = staff("Operator DLH", "operator", "dlh", region="bantul")
    secretary = staff("Sekdin DLH", "sekretaris_dinas", "dlh", region="bantul")
    view = cases.submit(
        NewCase(
            "pengaduan-terintegrasi",
            "lapor_bantul",
            "Bau sampah",
            {"kategori": "lingkungan"},
            anonymous=True,
        )
    )
    view = cases.act(view.id, operator, "jawab_langsung", {"jawaban": "Sudah dijadwalkan"})
    assert view.step == "penerimaan_jawaban"
    assert _offered(cases, view, operator) == {"tutup"} == _expected(cases, view, operator)
    assert _offered(cases, view, secretary) == set()


# --- concurrency ----------------------------------------------------------------------------------


def _race(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results.append(work(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results, errors


@pytest.fixture
def slow_decisions(cases: CaseEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between reading the case and writing it, so that racers really overlap."""
    evaluator: Evaluator = cases.registry.evaluator
    original = evaluator.decide

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.2)
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluator, "decide", slow)


def test_two_actors_with_the_same_revision(
    cases: CaseEngine, case: CaseView, slow_decisions: None
) -> None:
    results, errors = _race(
        2, lambda i: cases.act(case.id, ADMIN_DLH, "terima", expected_revision=1)
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], Conflict), errors
    assert case.tracking_number in errors[0].message
    final = cases.get(case.id)
    assert final.revision == 2 and len(final.events) == 2 and len(final.visits) == 2
    assert final.step == "penerimaan"


def test_two_simultaneous_terima_without_revision(
    cases: CaseEngine, case: CaseView, slow_decisions: None
) -> None:
    results, errors = _race(2, lambda i: cases.act(case.id, ADMIN_DLH, "terima"))
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], Refused) and errors[0].details["reason"] == "not_at_step", errors
    final = cases.get(case.id)
    assert final.revision == 2  # never a lost update
    assert [e.seq for e in final.events] == [1, 2]
    assert (
        len(final.visits) == 2
        and final.open_visit is not None
        and final.open_visit.step == "penerimaan"
    )


def test_concurrent_records_are_all_kept(cases: CaseEngine, slow_decisions: None) -> None:
    operator = staff("Operator DLH", "operator", "dlh", region="bantul")
    view = cases.submit(
        NewCase(
            "pengaduan-terintegrasi",
            "lapor_bantul",
            "Banjir kecil",
            {"kategori": "lingkungan"},
            anonymous=True,
        )
    )
    results, errors = _race(
        5, lambda i: cases.act(view.id, operator, "jawaban_sementara", {"jawaban": f"jawaban {i}"})
    )
    assert errors == [] and len(results) == 5
    final = cases.get(view.id)
    assert final.revision == 6
    assert [e.seq for e in final.events] == [1, 2, 3, 4, 5, 6]
    assert sorted(e.payload["entries"]["jawaban"] for e in final.events[1:]) == [
        f"jawaban {i}" for i in range(5)
    ]


# --- crashes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "session_class", [sqlmodel.Session, sqlalchemy.orm.Session], ids=["sqlmodel", "sqlalchemy"]
)
def test_a_crash_before_commit_leaves_everything_as_it_was(
    cases: CaseEngine,
    case: CaseView,
    monkeypatch: pytest.MonkeyPatch,
    clock: VirtualClock,
    session_class: type,
) -> None:
    before = frozen(cases, case.id)
    clock.set(wib(2025, 11, 24, 10, 0))

    def crash(self: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(session_class, "commit", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        cases.act(case.id, ADMIN_DLH, "terima")
    monkeypatch.undo()
    assert frozen(cases, case.id) == before
    # The lock was released: the same action goes through afterwards.
    assert cases.act(case.id, ADMIN_DLH, "terima", expected_revision=1).revision == 2


def test_a_crash_half_way_through_writing_leaves_everything_as_it_was(
    cases: CaseEngine, case: CaseView, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fails after the old visit was closed, the case row changed and the event added.
    before = frozen(cases, case.id)

    def crash(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(CaseEngine, "_enter", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        cases.act(case.id, ADMIN_DLH, "terima")
    monkeypatch.undo()
    assert frozen(cases, case.id) == before


# --- SOP versions -------------------------------------------------------------------------------


def _upik_raw() -> dict[str, Any]:
    return yaml.safe_load(
        (DEFINITIONS / "yogyakarta" / "upik-pengaduan.yaml").read_text(encoding="utf-8")
    )


def _catalog_with(tmp_path: Path, raw: dict[str, Any]) -> Catalog:
    path = tmp_path / "upik-baru.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    loaded = load_catalog([DEFINITIONS / "yogyakarta" / "region.yaml", path])
    assert loaded.ok, "\n".join(map(str, loaded.problems))
    return loaded


NEW_VERSION = "2099-01-01"


@pytest.fixture
def new_upik(tmp_path: Path) -> Catalog:
    """UPIK as a new version whose step 'pengerjaan' is renamed 'penanganan'."""
    raw = _upik_raw()
    raw["version"] = NEW_VERSION
    raw["title"] = raw["title"] + " (revisi)"
    steps = raw["steps"]
    steps["penanganan"] = steps.pop("pengerjaan")
    for step in steps.values():
        for action in (step.get("actions") or {}).values():
            if action.get("to") == "pengerjaan":
                action["to"] = "penanganan"
    return _catalog_with(tmp_path, raw)


def test_cases_keep_their_sop_version(
    monkeypatch: pytest.MonkeyPatch,
    cases: CaseEngine,
    db_engine: Engine,
    evaluator: Evaluator,
    clock: VirtualClock,
    catalog: Catalog,
    new_upik: Catalog,
) -> None:
    old = catalog.get(UPIK)
    at_work = _run(
        cases, cases.submit(upik()).id, [(ADMIN_DLH, "terima", {}), (PETUGAS_DLH, "ambil", {})]
    )
    waiting = cases.submit(upik())
    assert at_work.step == "pengerjaan"

    # A new registry on the same database that knows only the new version from files.
    assert (UPIK, old.sop.version) not in new_upik.sops
    registry = Registry(db_engine, new_upik, evaluator)
    result = registry.publish(clock.now())
    assert result.added == ((UPIK, NEW_VERSION),)
    engine = CaseEngine(db_engine, registry, clock)

    # The old cases still open, on their old version and hash ...
    for view in (at_work, waiting):
        reopened = engine.get(view.id)
        assert (reopened.sop_version, reopened.content_hash) == (old.sop.version, old.content_hash)
        assert frozen(engine, view.id) == frozen(cases, view.id)
    # ... compiled from the stored copy, since no file holds that version any more.
    stored = registry.by_hash(old.content_hash)
    assert stored.sop.version == old.sop.version and "pengerjaan" in stored.sop.steps
    assert "pengerjaan" not in new_upik.get(UPIK).sop.steps

    # ... and act on the old definition: 'selesai' at the step the new version no longer has.
    assert {o.action for o in engine.available_actions(at_work.id, PETUGAS_DLH)} == {"selesai"}
    done = engine.act(at_work.id, PETUGAS_DLH, "selesai", {"jawaban": "Beres"})
    assert (done.step, done.status, done.sop_version) == ("selesai", "done", old.sop.version)
    engine.act(waiting.id, ADMIN_DLH, "terima")
    moved = engine.act(waiting.id, PETUGAS_DLH, "ambil")
    assert moved.step == "pengerjaan"

    # New cases use the new version.
    fresh = engine.submit(upik())
    new = new_upik.get(UPIK)
    assert (fresh.sop_version, fresh.content_hash) == (NEW_VERSION, new.content_hash)
    fresh = _run(engine, fresh.id, [(ADMIN_DLH, "terima", {}), (PETUGAS_DLH, "ambil", {})])
    assert fresh.step == "penanganan"
    assert engine.act(fresh.id, PETUGAS_DLH, "selesai", {"jawaban": "Beres"}).status == "done"

    # The first registry (seed files, another process in real life) sees the new version as the
    # latest once its short cache of "latest" has expired (made immediate here).
    monkeypatch.setattr(registry_module, "LATEST_TTL", 0.0, raising=False)
    assert cases.registry.latest(UPIK).content_hash == new.content_hash


def test_a_published_version_cannot_change(
    cases: CaseEngine,
    db_engine: Engine,
    evaluator: Evaluator,
    clock: VirtualClock,
    catalog: Catalog,
    tmp_path: Path,
) -> None:
    raw = _upik_raw()
    raw["title"] = raw["title"] + " (diubah tanpa versi baru)"
    changed = _catalog_with(tmp_path, raw)
    old = catalog.get(UPIK)
    assert changed.get(UPIK).sop.version == old.sop.version
    assert changed.get(UPIK).content_hash != old.content_hash
    with pytest.raises(PublishError, match="new version"):
        Registry(db_engine, changed, evaluator).publish(clock.now())
    with transaction(db_engine) as session:
        rows = session.exec(select(SopDefinitionRow).where(SopDefinitionRow.sop_id == UPIK)).all()
    assert [(r.version, r.content_hash) for r in rows] == [(old.sop.version, old.content_hash)]
    # Republishing the same files is a no-op.
    again = cases.registry.publish(clock.now())
    assert again.added == () and (UPIK, old.sop.version) in again.unchanged


def test_unknown_hashes_and_sops(cases: CaseEngine) -> None:
    with pytest.raises(KeyError):
        cases.registry.by_hash("0" * 64)
    with pytest.raises(KeyError):
        cases.registry.latest("tidak-ada")


# --- regressions -----------------------------------------------------------------------------
# Each of these failed on an earlier engine (they were written as strict xfails and then fixed).


@pytest.mark.parametrize(
    "blank",
    [ReporterInfo(email="   "), ReporterInfo(phone=" "), ReporterInfo(extra={"akun_lapor": "  "})],
    ids=["email", "phone", "akun_lapor"],
)
def test_a_blank_identity_is_no_identity(cases: CaseEngine, blank: ReporterInfo) -> None:
    # Was: a whitespace-only identity satisfied identity_any_of and a reporter row of blanks was
    # stored, although blank field values count as missing.
    rows = counts(cases.engine)
    with pytest.raises(InvalidSubmission) as err:
        cases.submit(NewCase(**JAMBI_OK, reporter=blank))  # type: ignore[arg-type]
    assert "identitas pelapor wajib diisi" in err.value.message
    assert counts(cases.engine) == rows


def test_required_entries_must_come_with_the_action(cases: CaseEngine) -> None:
    # Was: a required entry was taken from the case's stored fields, so Admin Pusat's forwarding
    # 'jawaban' let the field officer close the complaint without writing an answer.
    view = cases.submit(upik("infrastruktur"))
    _run(
        cases,
        view.id,
        [
            (ADMIN_PU, "tolak", {"alasan": "Bukan jalan"}),
            (PUSAT, "teruskan", {"jawaban": "Diteruskan ke DLH", "unit": "dlh"}),
            (ADMIN_DLH, "terima", {}),
            (PETUGAS_DLH, "ambil", {}),
        ],
    )
    before = frozen(cases, view.id)
    with pytest.raises(Refused) as err:  # a fresh case refuses exactly this (missing_fields)
        cases.act(view.id, PETUGAS_DLH, "selesai", {})
    assert (err.value.details["reason"], err.value.details["missing"]) == (
        "missing_fields",
        ["jawaban"],
    )
    assert frozen(cases, view.id) == before


def test_each_progress_report_needs_its_own_text(cases: CaseEngine) -> None:
    # Was: a second progress report without 'laporan' was accepted, re-using the first one's text.
    view = cases.submit(
        NewCase("jss-pengaduan", "jss", "Pohon tumbang", {"jenis": "pengaduan"}, anonymous=True)
    )
    _run(
        cases,
        view.id,
        [
            (staff("Pengelola", "pengelola_pengaduan"), "teruskan", {"unit": "dlh"}),
            (ADMIN_DLH, "terima", {}),
            (ADMIN_DLH, "progress_report", {"laporan": "Hari 1: pohon dipotong"}),
        ],
    )
    with pytest.raises(Refused) as err:
        cases.act(view.id, ADMIN_DLH, "progress_report", {})
    assert err.value.details["reason"] == "missing_fields"


def test_a_second_reroute_needs_its_own_unit(cases: CaseEngine) -> None:
    # Was: the unit of the first reroute, kept on the case, passed the check and the second
    # 'teruskan' without a unit failed later with "Perangkat daerah '' tidak dikenal".
    view = cases.submit(upik("infrastruktur"))
    _run(
        cases,
        view.id,
        [
            (ADMIN_PU, "tolak", {"alasan": "Bukan jalan"}),
            (PUSAT, "teruskan", {"jawaban": "Ke DLH", "unit": "dlh"}),
            (ADMIN_DLH, "tolak", {"alasan": "Bukan sampah"}),
        ],
    )
    with pytest.raises(Refused) as err:
        cases.act(view.id, PUSAT, "teruskan", {"jawaban": "Ke DLH lagi"})
    assert (err.value.details["reason"], err.value.details["missing"]) == (
        "missing_fields",
        ["unit"],
    )
