"""The conformance report against a history whose every figure was worked out by hand.

The history (``reports_history.py``) crosses a local holiday and a pause on a working-day limit
and an office-hours limit. Each test runs on SQLite and PostgreSQL with the same expected
numbers, so both databases give identical figures.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from rules.evaluator import Evaluator
from rules.loader import Catalog
from sop_platform.models import ObligationClock, ObligationEvent, StepVisit
from sop_platform.registry import Registry
from sop_platform.reports import (
    ConformanceReport,
    ReportError,
    ReportFilter,
    conformance_report,
    figures,
    fill_missing_times,
)
from sop_platform.reports.conformance import total_minutes
from sop_platform.reports.filters import resolve
from sop_platform.visit_times import measure
from tests.platform.reports_history import NOW, SOP, build_history, uji_registry, wib

DECEMBER = ReportFilter("uji", SOP, date(2025, 12, 1), date(2025, 12, 31), min_cases=2)


@pytest.fixture
def uji(db_engine: Engine, tmp_path: Path, evaluator: Evaluator) -> tuple[Registry, dict[str, str]]:
    registry = uji_registry(db_engine, tmp_path / "defs", evaluator)
    return registry, build_history(db_engine, registry)


def report(engine: Engine, registry: Registry, **changes: Any) -> ConformanceReport:
    flt = ReportFilter(**{**DECEMBER.__dict__, **changes})
    return conformance_report(engine, registry, flt, NOW)


def test_each_visit_stores_its_time_on_the_steps_own_clock(
    db_engine: Engine, uji: tuple[Registry, dict[str, str]]
) -> None:
    _registry, numbers = uji
    with db_engine.connect() as conn:
        rows = conn.execute(
            select(
                figures.C.c.tracking_number,
                StepVisit.step,
                StepVisit.elapsed_minutes,
                StepVisit.paused_minutes,
                StepVisit.overrun_minutes,
            )
            .join(figures.C, figures.C.c.id == StepVisit.case_id)
            .where(StepVisit.step != "selesai")
        ).all()
    letter = {v: k for k, v in numbers.items()}
    got = {f"{letter[t]}:{s}": (e, p, o) for t, s, e, p, o in rows}
    assert got == {
        "E:periksa": (10.0, 0.0, 0.0),
        "E:proses": (20.0, 0.0, 0.0),
        "B:periksa": (120.0, 0.0, 0.0),
        "B:proses": (45.0, 0.0, 0.0),
        "A:periksa": (780.0, 180.0, 0.0),  # 960 gross over the holiday, 180 paused
        "A:proses": (150.0, 0.0, 90.0),
        "C:periksa": (1020.0, 0.0, 60.0),
        "C:proses": (None, None, None),  # still open
        "D:periksa": (None, None, None),
    }


def test_every_figure_of_the_report_matches_the_hand_computed_values(
    db_engine: Engine, uji: tuple[Registry, dict[str, str]]
) -> None:
    registry, n = uji
    r = report(db_engine, registry)
    assert (r.region_name, r.sop_title, r.versions, r.document["number"]) == (
        "Pemerintah Kota Uji",
        "Layanan Uji",
        ["2025-12-01"],
        "7 Tahun 2025",
    )
    assert r.legal_basis == ["Peraturan Walikota Uji Nomor 1 Tahun 2025"]
    periksa, proses = r.steps
    assert (periksa.step, periksa.limit, periksa.clock, periksa.role) == (
        "periksa",
        "1 hari kerja",
        "working_days",
        "Petugas Wilayah",
    )
    assert (
        periksa.visits,
        periksa.open,
        periksa.met,
        periksa.breached,
        periksa.measured,
        periksa.share_met,
        periksa.median_minutes,  # of 10, 120, 780, 1020: the 2nd
        periksa.p90_minutes,  # the ceil(3.6) = 4th
        periksa.paused_visits,
        periksa.paused_minutes,
    ) == (5, 1, 3, 1, 4, 0.75, 120.0, 1020.0, 1, 180.0)
    assert [(w["tracking_number"], w["overrun_minutes"]) for w in periksa.worst] == [(n["C"], 60.0)]
    assert (
        proses.visits,
        proses.open,
        proses.met,
        proses.breached,
        proses.measured,
        proses.share_met,
        proses.median_minutes,  # of 20, 45, 150
        proses.p90_minutes,
        proses.paused_visits,
    ) == (4, 1, 2, 1, 3, 0.6667, 45.0, 150.0, 0)
    assert [(w["tracking_number"], w["overrun_minutes"]) for w in proses.worst] == [(n["A"], 90.0)]

    whole = r.whole_case
    assert (whole["submitted"], whole["closed"], whole["measured"]) == (5, 3, 3)
    assert (whole["median"], whole["p90"], whole["longest"]) == (165.0, 930.0, 930.0)
    assert whole["total_minutes"] is None and whole["within_total"] is None

    assert r.late_total == 2
    assert [(x["tracking_number"], x["step"], x["late_minutes"]) for x in r.late] == [
        (n["D"], "periksa", 240.0),
        (n["C"], "proses", 120.0),
    ]
    assert r.pauses_total == 1
    (pause,) = r.pauses
    assert (pause["tracking_number"], pause["reason"], pause["shifted_minutes"]) == (
        n["A"],
        "menunggu_data",
        1140.0,  # Thu 16:00 -> Fri 11:00 on the wall clock
    )
    assert r.trend == [
        {"week": "2025-12-01", "cases": 4, "met": 5, "breached": 2},
        {"week": "2025-12-08", "cases": 1, "met": 0, "breached": 0},
        {"week": "2025-12-15", "cases": 0, "met": 0, "breached": 0},
        {"week": "2025-12-22", "cases": 0, "met": 0, "breached": 0},
        {"week": "2025-12-29", "cases": 0, "met": 0, "breached": 0},
    ]
    (month,) = r.months
    assert month.month == "2025-12"
    (utara,) = month.ranked
    assert (utara.unit, utara.rank, utara.cases, utara.visits, utara.met, utara.breached) == (
        "utara",
        1,
        3,
        6,
        5,
        1,
    )
    assert (utara.share_met, utara.median_minutes) == (0.8333, 45.0)  # 3rd of six
    (selatan,) = month.unranked  # one case with a judged visit: fewer than the minimum of 2
    assert (selatan.unit, selatan.rank, selatan.cases, selatan.breached) == ("selatan", None, 1, 1)
    assert "minimal 2 kasus" in r.rule_id and "at least 2 cases" in r.rule_en

    stats = r.statistics
    assert stats["by_channel"] == [
        {"key": "web", "cases": 4, "closed": 3, "done": 3},
        {"key": "sms", "cases": 1, "closed": 0, "done": 0},
    ]
    assert stats["by_category"]["kategori"] == [
        {"key": "pengaduan", "cases": 3, "closed": 2, "done": 2},
        {"key": "pertanyaan", "cases": 2, "closed": 1, "done": 1},
    ]
    assert stats["questions_suggestions"] == [
        {"field": "kategori", "key": "pertanyaan", "cases": 2, "closed": 1, "done": 1}
    ]
    assert stats["by_unit"] == [
        {"key": "utara", "cases": 3, "closed": 3, "done": 3},
        {"key": "selatan", "cases": 2, "closed": 0, "done": 0},
    ]
    assert stats["by_status"] == [
        {"key": "done", "cases": 3, "closed": 3, "done": 3},
        {"key": "open", "cases": 2, "closed": 0, "done": 0},
    ]
    assert r.unmeasured == 0


def test_the_whole_case_view_counts_cases_within_a_declared_total(
    db_engine: Engine, uji: tuple[Registry, dict[str, str]], catalog: Catalog
) -> None:
    registry, _ = uji
    scope = resolve(registry, DECEMBER)
    with db_engine.connect() as conn:
        whole = figures.whole_case(conn, scope, 900.0)
    assert whole["within_total"] == 2  # 30 and 165 minutes; 930 is over
    assert total_minutes(catalog.get("pengaduan-terintegrasi").sop) == 1060.0  # Bantul


def test_filters_by_unit_and_channel(
    db_engine: Engine, uji: tuple[Registry, dict[str, str]]
) -> None:
    registry, _ = uji
    north = report(db_engine, registry, unit="utara")
    assert (north.whole_case["submitted"], north.steps[0].visits, north.late_total) == (3, 3, 0)
    assert north.unit_name == "Kantor Wilayah Utara"
    sms = report(db_engine, registry, channel="sms")
    assert (sms.whole_case["submitted"], sms.steps[0].breached, sms.steps[1].open) == (1, 1, 1)
    first_week = report(db_engine, registry, until=date(2025, 12, 7))
    assert first_week.whole_case["submitted"] == 4
    assert [w["week"] for w in first_week.trend] == ["2025-12-01"]


def test_obligations_met_and_missed(
    db_engine: Engine, uji: tuple[Registry, dict[str, str]]
) -> None:
    registry, _ = uji
    with db_engine.begin() as conn:
        clock_id = conn.execute(
            insert(ObligationClock.__table__).returning(ObligationClock.__table__.c.id),  # type: ignore[attr-defined]
            {
                "region_id": "uji",
                "sop_id": SOP,
                "obligation": "pembaharuan_data",
                "unit_key": "utara",
                "due_at": wib(15, 16),
                "misses": 0,
            },
        ).scalar_one()
        for at, kind in [
            (wib(1, 16), "fulfilled"),
            (wib(8, 16), "missed"),
            (wib(9, 10), "fulfilled"),
        ]:
            conn.execute(
                insert(ObligationEvent.__table__),  # type: ignore[attr-defined]
                {"clock_id": clock_id, "at": at, "kind": kind, "period_due_at": at},
            )
    r = report(db_engine, registry)
    assert r.statistics["obligations"] == [
        {"obligation": "pembaharuan_data", "unit": "utara", "fulfilled": 2, "missed": 1}
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region": "atlantis"}, "unknown region 'atlantis'"),
        ({"sop_id": "upik-pengaduan"}, "is not published in region 'uji'"),
        ({"version": "1999"}, "no published version '1999'"),
        ({"unit": "timur"}, "unknown unit 'timur'"),
        ({"channel": "fax"}, "unknown channel 'fax'"),
        ({"until": date(2025, 11, 1)}, "ends (2025-11-01) before it starts"),
        ({"until": date(2028, 6, 1)}, "longer than"),
        ({"min_cases": 0}, "at least 1"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(
    db_engine: Engine, uji: tuple[Registry, dict[str, str]], changes: dict[str, Any], message: str
) -> None:
    registry, _ = uji
    with pytest.raises(ReportError) as raised:
        report(db_engine, registry, **changes)
    assert message in str(raised.value)


def test_visits_closed_before_the_figures_existed_are_filled_in(
    db_engine: Engine, uji: tuple[Registry, dict[str, str]]
) -> None:
    registry, _ = uji
    before = report(db_engine, registry).to_dict()
    table = StepVisit.__table__  # type: ignore[attr-defined]
    with db_engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.step == "periksa", table.c.left_at.is_not(None))
            .values(elapsed_minutes=None, paused_minutes=None, overrun_minutes=None)
        )
    blank = report(db_engine, registry)
    assert blank.unmeasured == 4 and blank.steps[0].median_minutes is None
    assert blank.steps[0].met == 3  # met / breached still count
    assert fill_missing_times(db_engine, registry, batch=3) == 4
    assert fill_missing_times(db_engine, registry) == 0
    after = report(db_engine, registry).to_dict()
    assert after == before


def test_a_pause_still_open_when_the_visit_closes_ends_with_it() -> None:
    from rules.model import Calendar
    from sop_platform.timekeeping import WorkingCalendar

    calendar = WorkingCalendar(Calendar(office_hours={"start": "08:00", "end": "16:00"}))
    elapsed, paused, overrun = measure(
        calendar,
        clock="office_hours",
        entered_at=wib(1, 8),
        left_at=wib(1, 12),
        due_at=wib(1, 11),
        pauses=[(wib(1, 10), None)],
    )
    assert (elapsed, paused, overrun) == (120.0, 120.0, 60.0)
    # no limit: wall-clock time, no overrun
    assert measure(
        calendar, clock=None, entered_at=wib(1, 8), left_at=wib(2, 8), due_at=None, pauses=[]
    ) == (1440.0, 0.0, None)


def test_to_dict_is_plain_json(db_engine: Engine, uji: tuple[Registry, dict[str, str]]) -> None:
    import json

    registry, _ = uji
    out = report(db_engine, registry).to_dict()
    again = json.loads(json.dumps(out))
    assert again == out
    assert again["months"][0]["top"][0]["unit"] == "utara"
    assert again["generated_at"] == NOW.isoformat()
    assert isinstance(again["steps"][0]["worst"][0]["left_at"], str)
    assert datetime.fromisoformat(again["late"][0]["due_at"])
