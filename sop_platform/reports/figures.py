"""The conformance report's figures, each one SQL aggregate over stored, indexed columns.

Nothing here loads the period's cases into Python: counts, shares, medians and 90th percentiles
are computed by the database (window functions, portable to SQLite and PostgreSQL), and only
the already-grouped rows and short lists (worst overruns, late cases) come back.

Percentiles are nearest-rank: of ``n`` sorted values, the median is the ``ceil(n/2)``-th and the
90th percentile the ``ceil(9n/10)``-th, so every figure is a time some visit actually took.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
)

from sop_platform.models import (
    CaseRow,
    ObligationClock,
    ObligationEvent,
    StepVisit,
    VisitPause,
)
from sop_platform.reports.filters import Scope, month_bounds, week_starts

C = CaseRow.__table__  # type: ignore[attr-defined]
V = StepVisit.__table__  # type: ignore[attr-defined]
P = VisitPause.__table__  # type: ignore[attr-defined]
OC = ObligationClock.__table__  # type: ignore[attr-defined]
OE = ObligationEvent.__table__  # type: ignore[attr-defined]

WORST_PER_STEP = 3
LATE_LISTED = 50
PAUSES_LISTED = 200


def case_conditions(
    scope: Scope,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    with_unit: bool = True,
) -> list[ColumnElement[bool]]:
    """The cases a report is about: region, SOP, versions, submitted in the period, unit,
    channel. Served by ``ix_case_sop (sop_id, created_at)``."""
    flt = scope.filter
    out: list[ColumnElement[bool]] = [
        C.c.sop_id == flt.sop_id,
        C.c.created_at >= (start or scope.start),
        C.c.created_at < (end or scope.end),
        C.c.region_id == flt.region,
    ]
    if flt.version is not None:
        out.append(C.c.sop_version == flt.version)
    if flt.unit is not None and with_unit:
        out.append(C.c.unit_key == flt.unit)
    if flt.channel is not None:
        out.append(C.c.channel == flt.channel)
    return out


def _nearest_rank(value: Any, rn: Any, n: Any, numerator: int, denominator: int) -> Any:
    """The value at rank ceil(numerator/denominator * n), as an aggregate over ranked rows."""
    rank = (n * numerator + (denominator - 1)) // denominator
    return func.min(case((rn >= rank, value)))


def _percentiles(source: Any, key: str, prefix: str, **ranks: tuple[int, int]) -> Any:
    """Per ``key`` group of ``source``: the time taken at each named rank (numerator,
    denominator), by nearest rank over the measured rows; CTEs ``{prefix}ranked`` and
    ``{prefix}pct``."""
    group, minutes = source.c[key], source.c.elapsed_minutes
    ranked = (
        select(
            group,
            minutes.label("e"),
            func.row_number().over(partition_by=group, order_by=minutes).label("rn"),
            func.count().over(partition_by=group).label("n"),
        )
        .where(minutes.is_not(None))
        .cte(f"{prefix}ranked")
    )
    e, rn, n = ranked.c.e, ranked.c.rn, ranked.c.n
    return (
        select(
            ranked.c[key],
            *(_nearest_rank(e, rn, n, *rank).label(name) for name, rank in ranks.items()),
        )
        .group_by(ranked.c[key])
        .cte(f"{prefix}pct")
    )


def _count_and_first(
    conn: Connection,
    joined: Any,
    where: tuple[Any, ...],
    columns: Sequence[Any],
    order_by: Sequence[Any],
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """How many rows ``joined`` has under ``where``, and the first ``limit`` of them."""
    total = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    rows = conn.execute(
        select(*columns).select_from(joined).where(*where).order_by(*order_by).limit(limit)
    ).mappings()
    return int(total), [dict(r) for r in rows]


def step_figures_statement(scope: Scope) -> Select[Any]:
    """Per step: visits, open, met, breached, measured, paused, median and p90 time taken."""
    visits = (
        select(V.c.step, V.c.left_at, V.c.outcome, V.c.elapsed_minutes, V.c.paused_minutes)
        .select_from(V.join(C, C.c.id == V.c.case_id))
        .where(*case_conditions(scope))
        .cte("visits")
    )
    counts = (
        select(
            visits.c.step,
            func.count().label("visits"),
            func.count(case((visits.c.left_at.is_(None), 1))).label("open"),
            func.count(case((visits.c.outcome == "met", 1))).label("met"),
            func.count(case((visits.c.outcome == "breached", 1))).label("breached"),
            func.count(visits.c.elapsed_minutes).label("measured"),
            func.count(case((visits.c.paused_minutes > 0, 1))).label("paused_visits"),
            func.coalesce(func.sum(visits.c.paused_minutes), 0.0).label("paused_minutes"),
        )
        .group_by(visits.c.step)
        .cte("counts")
    )
    pct = _percentiles(visits, "step", "", median=(1, 2), p90=(9, 10))
    return (
        select(counts, pct.c.median, pct.c.p90)
        .select_from(counts.outerjoin(pct, pct.c.step == counts.c.step))
        .order_by(counts.c.step)
    )


def step_figures(conn: Connection, scope: Scope) -> dict[str, dict[str, Any]]:
    return {
        row["step"]: dict(row) for row in conn.execute(step_figures_statement(scope)).mappings()
    }


def worst_overruns(conn: Connection, scope: Scope) -> dict[str, list[dict[str, Any]]]:
    """The ``WORST_PER_STEP`` largest overruns of each step (breached visits only)."""
    ranked = (
        select(
            V.c.step,
            V.c.overrun_minutes,
            V.c.entered_at,
            V.c.left_at,
            V.c.due_at,
            V.c.unit_key,
            C.c.tracking_number,
            func.row_number()
            .over(
                partition_by=V.c.step,
                order_by=(V.c.overrun_minutes.desc(), V.c.id),
            )
            .label("rn"),
        )
        .select_from(V.join(C, C.c.id == V.c.case_id))
        .where(*case_conditions(scope), V.c.outcome == "breached")
        .subquery()
    )
    out: dict[str, list[dict[str, Any]]] = {}
    rows = conn.execute(
        select(ranked).where(ranked.c.rn <= WORST_PER_STEP).order_by(ranked.c.step, ranked.c.rn)
    ).mappings()
    for row in rows:
        item = dict(row)
        item.pop("rn")
        out.setdefault(item.pop("step"), []).append(item)
    return out


def pauses(conn: Connection, scope: Scope) -> tuple[int, list[dict[str, Any]]]:
    """The pauses of the period's visits (how many, and the first ``PAUSES_LISTED``)."""
    where = (*case_conditions(scope),)
    joined = P.join(V, V.c.id == P.c.visit_id).join(C, C.c.id == V.c.case_id)
    columns = (
        C.c.tracking_number,
        V.c.step,
        P.c.reason,
        P.c.paused_at,
        P.c.resumed_at,
        P.c.shifted_minutes,
    )
    return _count_and_first(conn, joined, where, columns, (P.c.paused_at, P.c.id), PAUSES_LISTED)


def whole_case(conn: Connection, scope: Scope, total_minutes: float | None) -> dict[str, Any]:
    """Closed cases: time from submission to closing as the sum of their visits' own-clock
    times (pauses excluded), its median and p90, and how many stayed within the SOP's total."""
    conds = case_conditions(scope)
    submitted, closed = conn.execute(
        select(func.count(), func.count(C.c.closed_at)).where(*conds)
    ).one()
    per_case = (
        select(
            C.c.id.label("case_id"),
            func.sum(V.c.elapsed_minutes).label("t"),
            func.count().label("visits"),
            func.count(V.c.elapsed_minutes).label("measured"),
        )
        .select_from(C.join(V, V.c.case_id == C.c.id))
        .where(*conds, C.c.closed_at.is_not(None))
        .group_by(C.c.id)
        .cte("per_case")
    )
    complete = (
        select(
            per_case.c.t,
            func.row_number().over(order_by=per_case.c.t).label("rn"),
            func.count().over().label("n"),
        )
        .where(per_case.c.measured == per_case.c.visits)
        .cte("complete")
    )
    within = (
        func.count(case((complete.c.t <= total_minutes, 1)))
        if total_minutes is not None
        else literal(None)
    )
    row = (
        conn.execute(
            select(
                func.count().label("measured"),
                _nearest_rank(complete.c.t, complete.c.rn, complete.c.n, 1, 2).label("median"),
                _nearest_rank(complete.c.t, complete.c.rn, complete.c.n, 9, 10).label("p90"),
                func.max(complete.c.t).label("longest"),
                within.label("within_total"),
            )
        )
        .mappings()
        .one()
    )
    return {"submitted": int(submitted), "closed": int(closed), **dict(row)}


def open_late(conn: Connection, scope: Scope, now: datetime) -> tuple[int, list[dict[str, Any]]]:
    """Open visits already past their deadline (served by ``ix_step_visit_open_due``)."""
    where = (
        *case_conditions(scope),
        V.c.left_at.is_(None),
        V.c.due_at.is_not(None),
        V.c.due_at < now,
    )
    joined = V.join(C, C.c.id == V.c.case_id)
    columns = (
        C.c.tracking_number,
        V.c.step,
        V.c.unit_key,
        V.c.entered_at,
        V.c.due_at,
        V.c.clock,
        V.c.paused_at,
        V.c.escalation_level,
    )
    return _count_and_first(conn, joined, where, columns, (V.c.due_at, V.c.id), LATE_LISTED)


def _bucket(column: Any, bounds: Sequence[datetime]) -> Any:
    """The index of the interval ``column`` falls in (bounds ascending, first one included)."""
    if len(bounds) < 2:
        return literal(0)
    whens = [(column < b, i) for i, b in enumerate(bounds[1:])]
    return case(*whens, else_=len(bounds) - 1)


def weekly_trend(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Per week of submission: cases submitted, and their visits met and breached."""
    mondays = week_starts(scope.filter.since, scope.filter.until)
    bounds = [scope.local_midnight(d) for d in mondays]
    # grouped by the output name: PostgreSQL cannot match two copies of an expression whose
    # bound parameters differ, and both databases accept the alias
    week = _bucket(C.c.created_at, bounds).label("wk")
    cases: dict[int, int] = dict(
        conn.execute(
            select(week, func.count()).where(*case_conditions(scope)).group_by(literal_column("wk"))
        ).all()
    )
    vweek = _bucket(C.c.created_at, bounds).label("wk")
    outcomes = {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            select(
                vweek,
                func.count(case((V.c.outcome == "met", 1))),
                func.count(case((V.c.outcome == "breached", 1))),
            )
            .select_from(V.join(C, C.c.id == V.c.case_id))
            .where(*case_conditions(scope))
            .group_by(literal_column("wk"))
        ).all()
    }
    return [
        {
            "week": monday.isoformat(),
            "cases": int(cases.get(i, 0)),
            "met": int(outcomes.get(i, (0, 0))[0]),
            "breached": int(outcomes.get(i, (0, 0))[1]),
        }
        for i, monday in enumerate(mondays)
    ]


def unit_month(conn: Connection, scope: Scope, first: date, last: date) -> list[dict[str, Any]]:
    """Per unit, for cases submitted in one month: cases, visits at the unit's steps with a
    deadline, met, breached, median time taken. The unit is the one the visit was assigned
    to (the unit filter does not apply: a ranking compares units)."""
    start = scope.local_midnight(first)
    end = scope.local_midnight(date.fromordinal(last.toordinal() + 1))
    base = (
        select(
            V.c.unit_key.label("unit"),
            V.c.case_id,
            V.c.outcome,
            V.c.elapsed_minutes,
        )
        .select_from(V.join(C, C.c.id == V.c.case_id))
        .where(
            *case_conditions(scope, start=start, end=end, with_unit=False),
            V.c.unit_key.is_not(None),
            V.c.outcome.is_not(None),
        )
        .cte("unit_visits")
    )
    counts = (
        select(
            base.c.unit,
            func.count(func.distinct(base.c.case_id)).label("cases"),
            func.count().label("visits"),
            func.count(case((base.c.outcome == "met", 1))).label("met"),
            func.count(case((base.c.outcome == "breached", 1))).label("breached"),
        )
        .group_by(base.c.unit)
        .cte("unit_counts")
    )
    pct = _percentiles(base, "unit", "unit_", median=(1, 2))
    rows = conn.execute(
        select(counts, pct.c.median)
        .select_from(counts.outerjoin(pct, pct.c.unit == counts.c.unit))
        .order_by(counts.c.unit)
    ).mappings()
    return [dict(r) for r in rows]


def monthly_units(conn: Connection, scope: Scope) -> list[tuple[date, date, list[dict[str, Any]]]]:
    return [
        (first, last, unit_month(conn, scope, first, last))
        for first, last in month_bounds(scope.filter.since, scope.filter.until)
    ]


def grouped_counts(conn: Connection, scope: Scope, column: Any) -> list[dict[str, Any]]:
    """Cases per value of ``column``: submitted, closed, done (answered)."""
    key = column.label("grp")
    rows = conn.execute(
        select(
            key,
            func.count().label("cases"),
            func.count(C.c.closed_at).label("closed"),
            func.count(case((C.c.status == "done", 1))).label("done"),
        )
        .where(*case_conditions(scope))
        .group_by(literal_column("grp"))
        .order_by(func.count().desc(), literal_column("grp"))
    ).mappings()
    return [{"key": r["grp"], **{k: r[k] for k in ("cases", "closed", "done")}} for r in rows]


def category_column(name: str) -> Any:
    return C.c.fields[name].as_string()


def obligations(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Recurring obligations of the SOP: fulfilments and misses recorded in the period."""
    flt = scope.filter
    conds: list[ColumnElement[bool]] = [
        OC.c.region_id == flt.region,
        OC.c.sop_id == flt.sop_id,
        OE.c.at >= scope.start,
        OE.c.at < scope.end,
    ]
    if flt.unit is not None:
        conds.append(OC.c.unit_key == flt.unit)
    rows = conn.execute(
        select(
            OC.c.obligation,
            OC.c.unit_key.label("unit"),
            func.count(case((OE.c.kind == "fulfilled", 1))).label("fulfilled"),
            func.count(case((OE.c.kind == "missed", 1))).label("missed"),
        )
        .select_from(OE.join(OC, OC.c.id == OE.c.clock_id))
        .where(and_(*conds))
        .group_by(OC.c.obligation, OC.c.unit_key)
        .order_by(OC.c.obligation, OC.c.unit_key)
    ).mappings()
    return [dict(r) for r in rows]


def unmeasured_closed(engine: Engine) -> int:
    """Closed visits without a stored time (closed before the figures were recorded)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(V.c.left_at.is_not(None), V.c.elapsed_minutes.is_(None))
            ).scalar_one()
        )
