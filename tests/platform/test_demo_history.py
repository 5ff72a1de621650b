"""The demo history: every seed SOP and step, met and late, open and closed, paused, rated,
obligations met and missed; a report over it adds up; written once; the same from the same seed."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from rules.loader import Catalog
from sop_platform.db import make_engine
from sop_platform.demo import set_up
from sop_platform.demo_history import CASES_PER_SOP, KEY_PREFIX, WEEKS, build_history
from sop_platform.migrate import upgrade
from sop_platform.models import (
    CaseRow,
    CitizenRating,
    EscalationTask,
    ObligationEvent,
    StepVisit,
    VisitPause,
)
from sop_platform.registry import Registry
from sop_platform.reports import ReportFilter, conformance_report
from sop_platform.reports.exports import write_csv

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
C = CaseRow.__table__  # type: ignore[attr-defined]
V = StepVisit.__table__  # type: ignore[attr-defined]


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(conn.execute(query.where(*where)).scalar_one())  # type: ignore[arg-type]


def test_history_covers_every_sop_and_step_and_its_report_adds_up(
    db_engine: Engine, catalog: Catalog
) -> None:
    registry, _ = set_up(db_engine, catalog, NOW, history=True)
    latest = catalog.latest()
    assert len(latest) == 8
    with db_engine.connect() as conn:
        outcomes = conn.execute(
            select(C.c.sop_id, V.c.step, V.c.outcome, func.count())
            .select_from(V.join(C, C.c.id == V.c.case_id))
            .group_by(C.c.sop_id, V.c.step, V.c.outcome)
        ).all()
        submitted = conn.execute(select(func.min(C.c.created_at), func.max(C.c.created_at))).one()
    found: dict[tuple[str, str], dict[str | None, int]] = {}
    for sop_id, step, outcome, n in outcomes:
        found.setdefault((sop_id, step), {})[outcome] = n
    for sop_id, loaded in latest.items():
        sop = loaded.sop
        assert _count(db_engine, C, C.c.sop_id == sop_id) == CASES_PER_SOP, sop_id
        for step_id, step in sop.steps.items():
            seen = found.get((sop_id, step_id))
            assert seen, f"{sop_id}: step {step_id} never reached"
            if step.limit is not None:
                assert seen.get("met", 0) > 0 and seen.get("breached", 0) > 0, (sop_id, step_id)
    lo, hi = (t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in submitted)
    assert NOW - timedelta(weeks=WEEKS) <= lo and hi < NOW
    assert hi - lo > timedelta(weeks=WEEKS - 1)  # spread over the weeks, not bunched

    # Open cases (some already late now), pauses, escalations, ratings, obligations.
    open_visits = V.c.left_at.is_(None)
    assert _count(db_engine, C, C.c.closed_at.is_(None)) > 0
    assert _count(db_engine, C, C.c.closed_at.is_not(None)) > 0
    assert _count(db_engine, V, open_visits, V.c.due_at < NOW) > 0
    assert _count(db_engine, VisitPause.__table__) > 0  # type: ignore[attr-defined]
    assert _count(db_engine, EscalationTask.__table__) > 0  # type: ignore[attr-defined]
    assert _count(db_engine, CitizenRating.__table__) > 0  # type: ignore[attr-defined]
    events = ObligationEvent.__table__  # type: ignore[attr-defined]
    assert _count(db_engine, events, events.c.kind == "fulfilled") > 0
    assert _count(db_engine, events, events.c.kind == "missed") > 0
    # The sweeper recorded every breach of a visit closed late, at or after its deadline.
    assert _count(db_engine, V, V.c.outcome == "breached", V.c.breached_at.is_(None)) == 0
    assert _count(db_engine, V, V.c.breached_at < V.c.due_at) == 0

    since = (NOW - timedelta(weeks=WEEKS, days=1)).date()
    for sop_id, loaded in latest.items():
        flt = ReportFilter(loaded.sop.region, sop_id, since, NOW.date())
        report = conformance_report(db_engine, registry, flt, NOW)
        cases = _count(db_engine, C, C.c.sop_id == sop_id)
        assert report.whole_case["submitted"] == cases
        closed = _count(db_engine, C, C.c.sop_id == sop_id, C.c.closed_at.is_not(None))
        assert report.whole_case["closed"] == closed
        for row in report.steps:
            assert row.visits > 0, (sop_id, row.step)
            assert row.measured == row.visits - row.open, (sop_id, row.step)
            if row.limit is not None:
                assert row.met + row.breached == row.visits - row.open, (sop_id, row.step)
                assert row.share_met == round(row.met / (row.met + row.breached), 4)
        late = _count(
            db_engine,
            V.join(C, C.c.id == V.c.case_id),
            C.c.sop_id == sop_id,
            open_visits,
            V.c.paused_at.is_(None),
            V.c.due_at < NOW,
        )
        assert report.late_total >= late, sop_id  # paused late visits count as late as well
        out = io.StringIO()
        rows = write_csv(db_engine, registry, flt, out)
        assert rows == _count(db_engine, V.join(C, C.c.id == V.c.case_id), C.c.sop_id == sop_id)
        assert sum(w["cases"] for w in report.trend) == cases
        ranked = [u for m in report.months for u in m.ranked]
        if sop_id == "pengaduan-terintegrasi":
            assert ranked, "Bantul's busiest units have enough cases to be ranked"

    # Written once: a second set-up adds no case.
    before = _count(db_engine, C)
    set_up(db_engine, catalog, NOW + timedelta(hours=1), history=True)
    assert _count(db_engine, C) == before
    assert _count(db_engine, C, C.c.idempotency_key.like(f"{KEY_PREFIX}%")) == before


def test_without_history_the_demo_has_no_cases(db_engine: Engine, catalog: Catalog) -> None:
    set_up(db_engine, catalog, NOW)
    assert _count(db_engine, C) == 0


def test_the_same_seed_gives_the_same_history(tmp_path: Path, catalog: Catalog) -> None:
    def history(name: str) -> list[tuple[object, ...]]:
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        upgrade(engine)
        registry = Registry(engine, catalog)
        registry.publish(NOW)
        result = build_history(engine, registry, NOW, cases_per_sop=3, weeks=2)
        assert result.cases == 3 * len(catalog.latest())
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    C.c.sop_id,
                    C.c.channel,
                    C.c.unit_key,
                    V.c.step,
                    V.c.entered_at,
                    V.c.left_at,
                    V.c.outcome,
                )
                .select_from(V.join(C, C.c.id == V.c.case_id))
                .order_by(V.c.id)
            ).all()
        engine.dispose()
        return [tuple(r) for r in rows]

    first = history("a.db")
    assert len(first) > 3 * 8
    assert history("b.db") == first
