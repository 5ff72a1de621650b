"""The SOP conformance report: per step, whole case, late cases, unit ranking, statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from rules.limits import Clock as ClockKind
from rules.limits import Unit
from rules.model import FieldType, Sop
from sop_platform.models import StepVisit
from sop_platform.registry import Registry
from sop_platform.reports import figures
from sop_platform.reports.filters import ReportFilter, Scope, resolve

TOP = 10  # UPIK reports the top 10 and the bottom 10 units to the Sekda


def ranking_rule(min_cases: int) -> tuple[str, str]:
    """The ranking rule as printed on the report (Bahasa Indonesia, English)."""
    return (
        f"Unit diperingkat bila menangani minimal {min_cases} kasus yang masuk pada bulan itu. "
        "Urutan: persentase tahap yang selesai tepat waktu (tertinggi dulu), lalu median waktu "
        "per tahap (tercepat dulu), lalu jumlah kasus (terbanyak dulu).",
        f"A unit is ranked when it handled at least {min_cases} cases submitted that month. "
        "Order: share of steps finished on time (highest first), then median time per step "
        "(fastest first), then number of cases (most first).",
    )


@dataclass
class StepRow:
    step: str
    number: str | None
    title: str
    role: str | None
    limit: str | None
    clock: str | None
    visits: int = 0
    open: int = 0
    met: int = 0
    breached: int = 0
    measured: int = 0
    share_met: float | None = None
    median_minutes: float | None = None
    p90_minutes: float | None = None
    paused_visits: int = 0
    paused_minutes: float = 0.0
    worst: list[dict[str, Any]] = field(default_factory=list)
    in_definition: bool = True


@dataclass
class UnitRank:
    unit: str
    name: str
    cases: int
    visits: int
    met: int
    breached: int
    share_met: float | None
    median_minutes: float | None
    rank: int | None = None


@dataclass
class MonthRanking:
    month: str
    first: date
    last: date
    ranked: list[UnitRank]
    unranked: list[UnitRank]

    @property
    def top(self) -> list[UnitRank]:
        return self.ranked[:TOP]

    @property
    def bottom(self) -> list[UnitRank]:
        """The lowest ranks, worst first (empty while every ranked unit is in the top list)."""
        return list(reversed(self.ranked[TOP:]))[:TOP]


@dataclass
class ConformanceReport:
    region: str
    region_name: str
    sop_id: str
    sop_title: str
    versions: list[str]
    version_shown: str
    document: dict[str, Any]
    legal_basis: list[str]
    since: date
    until: date
    unit: str | None
    unit_name: str | None
    channel: str | None
    generated_at: datetime
    timezone: str
    steps: list[StepRow]
    whole_case: dict[str, Any]
    late_total: int
    late: list[dict[str, Any]]
    pauses_total: int
    pauses: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    months: list[MonthRanking]
    min_cases: int
    rule_id: str
    rule_en: str
    statistics: dict[str, Any]
    unmeasured: int

    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain JSON values (ISO dates and times, minutes as numbers)."""
        out = _plain(asdict(self))
        for month, raw in zip(out["months"], self.months, strict=True):
            month["top"] = [_plain(asdict(u)) for u in raw.top]
            month["bottom"] = [_plain(asdict(u)) for u in raw.bottom]
        return dict(out)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def total_minutes(sop: Sop) -> float | None:
    """The SOP's declared total (e.g. Bantul's "1060 menit") in minutes, if it declares one."""
    limit = sop.total_limit
    if limit is None or limit.working_days:
        return None  # a total in working days is not a count of minutes to compare against
    return float(limit.amount * (1440 if limit.unit is Unit.day else 1))


def _share(met: int, breached: int) -> float | None:
    judged = met + breached
    return round(met / judged, 4) if judged else None


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _steps(scope: Scope, found: dict[str, dict[str, Any]], worst: dict[str, Any]) -> list[StepRow]:
    sop = scope.sop
    rows: list[StepRow] = []
    for step_id, step in sop.steps.items():
        if step.terminal:
            continue  # an end step takes no time: its visits are the whole-case view's closings
        role = sop.roles[step.by].title or step.by if step.by and step.by in sop.roles else step.by
        rows.append(
            StepRow(
                step=step_id,
                number=step.number,
                title=step.title,
                role=role,
                limit=step.limit.text if step.limit else None,
                clock=step.effective_clock.value if step.limit else None,
            )
        )
    known = {r.step for r in rows} | {s for s, st in sop.steps.items() if st.terminal}
    for step_id in sorted(set(found) - known):  # a step of an older version
        rows.append(
            StepRow(
                step=step_id,
                number=None,
                title=step_id,
                role=None,
                limit=None,
                clock=None,
                in_definition=False,
            )
        )
    for row in rows:
        got = found.get(row.step)
        if got is None:
            continue
        row.visits = int(got["visits"])
        row.open = int(got["open"])
        row.met = int(got["met"])
        row.breached = int(got["breached"])
        row.measured = int(got["measured"])
        row.share_met = _share(row.met, row.breached)
        row.median_minutes = _rounded(got["median"])
        row.p90_minutes = _rounded(got["p90"])
        row.paused_visits = int(got["paused_visits"])
        row.paused_minutes = round(float(got["paused_minutes"] or 0.0), 2)
        row.worst = worst.get(row.step, [])
    return rows


def _rank(scope: Scope, month: tuple[date, date, list[dict[str, Any]]]) -> MonthRanking:
    first, last, rows = month
    units = scope.region.units
    items = [
        UnitRank(
            unit=r["unit"],
            name=units[r["unit"]].name if r["unit"] in units else r["unit"],
            cases=int(r["cases"]),
            visits=int(r["visits"]),
            met=int(r["met"]),
            breached=int(r["breached"]),
            share_met=_share(int(r["met"]), int(r["breached"])),
            median_minutes=_rounded(r["median"]),
        )
        for r in rows
    ]
    minimum = scope.filter.min_cases
    ranked = sorted(
        (u for u in items if u.cases >= minimum),
        key=lambda u: (
            -(u.share_met if u.share_met is not None else -1.0),
            u.median_minutes if u.median_minutes is not None else float("inf"),
            -u.cases,
            u.unit,
        ),
    )
    for i, unit in enumerate(ranked, start=1):
        unit.rank = i
    unranked = sorted((u for u in items if u.cases < minimum), key=lambda u: (-u.cases, u.unit))
    return MonthRanking(f"{first:%Y-%m}", first, last, ranked, unranked)


def _statistics(conn: Any, scope: Scope) -> dict[str, Any]:
    sop = scope.sop
    categories = [
        name
        for name, f in sop.fields.items()
        if f.type is FieldType.choice and f.required  # what the reporter chose on submitting
    ]
    by_category = {
        name: figures.grouped_counts(conn, scope, figures.category_column(name))
        for name in categories
    }
    questions = [
        {"field": name, **row}
        for name, rows in by_category.items()
        for row in rows
        if row["key"] in ("pertanyaan", "saran")
    ]
    return {
        "by_channel": figures.grouped_counts(conn, scope, figures.C.c.channel),
        "by_category": by_category,
        "by_unit": figures.grouped_counts(conn, scope, figures.C.c.unit_key),
        "by_status": figures.grouped_counts(conn, scope, figures.C.c.status),
        "questions_suggestions": questions,
        "obligations": figures.obligations(conn, scope),
    }


def conformance_report(
    engine: Engine, registry: Registry, flt: ReportFilter, now: datetime
) -> ConformanceReport:
    """Build the report for ``flt`` as the database stands at ``now``.

    Raises :class:`~sop_platform.reports.filters.ReportError` for a filter that does not fit
    the catalog (unknown region, SOP, version, unit or channel; a reversed or too long period).
    """
    scope = resolve(registry, flt)
    sop = scope.sop
    total = total_minutes(sop)
    with engine.connect() as conn:
        found = figures.step_figures(conn, scope)
        worst = figures.worst_overruns(conn, scope)
        whole = figures.whole_case(conn, scope, total)
        late_total, late = figures.open_late(conn, scope, now)
        pauses_total, pauses = figures.pauses(conn, scope)
        trend = figures.weekly_trend(conn, scope)
        months = figures.monthly_units(conn, scope)
        statistics = _statistics(conn, scope)
        unmeasured = sum(
            int(r["visits"]) - int(r["open"]) - int(r["measured"]) for r in found.values()
        )
    calendar = registry.calendar(flt.region)
    for item in late:
        kind = ClockKind(item["clock"]) if item["clock"] else ClockKind.calendar
        item["late_minutes"] = round(calendar.elapsed_minutes(item["due_at"], now, kind), 2)
        item["paused"] = item.pop("paused_at") is not None
    whole_case = {
        **whole,
        "total_limit": sop.total_limit.text if sop.total_limit else None,
        "total_minutes": total,
        "median": _rounded(whole["median"]),
        "p90": _rounded(whole["p90"]),
        "longest": _rounded(whole["longest"]),
        "share_within_total": (
            round(whole["within_total"] / whole["measured"], 4)
            if total is not None and whole["measured"]
            else None
        ),
    }
    rule_id, rule_en = ranking_rule(flt.min_cases)
    doc = sop.document
    return ConformanceReport(
        region=flt.region,
        region_name=scope.region.name,
        sop_id=sop.sop,
        sop_title=sop.title,
        versions=list(scope.versions),
        version_shown=sop.version,
        document={
            "number": doc.number,
            "kind": doc.kind,
            "issued_by": doc.issued_by,
            "approved_by": doc.approved_by,
            "approved_on": doc.approved_on,
            "effective_on": doc.effective_on,
            "annex": doc.annex,
        },
        legal_basis=list(sop.legal_basis),
        since=flt.since,
        until=flt.until,
        unit=flt.unit,
        unit_name=scope.region.units[flt.unit].name if flt.unit else None,
        channel=flt.channel,
        generated_at=now,
        timezone=str(scope.tz),
        steps=_steps(scope, found, worst),
        whole_case=whole_case,
        late_total=late_total,
        late=late,
        pauses_total=pauses_total,
        pauses=pauses,
        trend=trend,
        months=[_rank(scope, m) for m in months],
        min_cases=flt.min_cases,
        rule_id=rule_id,
        rule_en=rule_en,
        statistics=statistics,
        unmeasured=unmeasured,
    )


def fill_missing_times(engine: Engine, registry: Registry, batch: int = 1000) -> int:
    """Store the time taken for closed visits that have none (closed before revision 0007),
    with the same calendar code the engine uses; returns how many were filled."""
    from sop_platform import visit_times
    from sop_platform.db import transaction

    visits = StepVisit.__table__  # type: ignore[attr-defined]
    filled = 0
    while True:
        with transaction(engine) as session:
            conn = session.connection()
            rows = (
                conn.execute(
                    select(visits, figures.C.c.region_id)
                    .join(figures.C, figures.C.c.id == visits.c.case_id)
                    .where(visits.c.left_at.is_not(None), visits.c.elapsed_minutes.is_(None))
                    .order_by(visits.c.id)
                    .limit(batch)
                )
                .mappings()
                .all()
            )
            for row in rows:
                visit_times.record(conn, registry.calendar(row["region_id"]), row)
        filled += len(rows)
        if len(rows) < batch:
            return filled
