"""The SLA sweeper: warnings, breaches, the escalation ladder and missed recurring obligations.

It finds work by index range scans — open visits whose ``next_check_at`` has come, obligation
clocks whose ``due_at`` has come — so its cost grows with what is due, not with all cases. Each
visit (and each obligation) is handled in its own transaction with its row claimed, on PostgreSQL
with ``FOR UPDATE SKIP LOCKED`` so that several sweepers share the work and each happening is
recorded exactly once; its events and notifications are written in that same transaction. On
SQLite run one sweeper (``BEGIN IMMEDIATE`` serialises writers anyway).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from rules.limits import Clock as ClockKind
from rules.model import RoleKind, Sop
from sop_platform.db import is_sqlite, transaction
from sop_platform.deadlines import next_check, rung_times, span, warning_times
from sop_platform.models import (
    CaseEvent,
    CaseRow,
    EscalationTask,
    ObligationClock,
    ObligationEvent,
    StepVisit,
    VisitPause,
)
from sop_platform.outbox import enqueue
from sop_platform.registry import Registry
from sop_platform.telemetry import Heartbeat
from sop_platform.timekeeping import Clock, WorkingCalendar

log = logging.getLogger(__name__)

_VISITS = StepVisit.__table__  # type: ignore[attr-defined]
_CASES = CaseRow.__table__  # type: ignore[attr-defined]
_EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
_TASKS = EscalationTask.__table__  # type: ignore[attr-defined]
_CLOCKS = ObligationClock.__table__  # type: ignore[attr-defined]
_OB_EVENTS = ObligationEvent.__table__  # type: ignore[attr-defined]
_PAUSES = VisitPause.__table__  # type: ignore[attr-defined]

SYSTEM = "Sistem (pemantau batas waktu)"


@dataclass
class SweepResult:
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    obligations_missed: int = 0

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.warnings + other.warnings,
            self.breaches + other.breaches,
            self.escalations + other.escalations,
            self.obligations_missed + other.obligations_missed,
        )

    @property
    def total(self) -> int:
        return self.warnings + self.breaches + self.escalations + self.obligations_missed


def paused_minutes(
    conn: Connection, visit_id: int, calendar: WorkingCalendar, clock: ClockKind
) -> float:
    """Minutes a visit's clock stood still, as that clock counts them (finished pauses only)."""
    rows = conn.execute(
        select(_PAUSES.c.paused_at, _PAUSES.c.resumed_at).where(
            _PAUSES.c.visit_id == visit_id, _PAUSES.c.resumed_at.is_not(None)
        )
    ).all()
    return sum(calendar.elapsed_minutes(a, b, clock) for a, b in rows)


class Sweeper:
    def __init__(self, engine: Engine, registry: Registry, clock: Clock, batch: int = 500) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.batch = batch

    def tick(self) -> SweepResult:
        """Handle everything due now (up to ``batch`` visits and obligations)."""
        result = SweepResult()
        for _ in range(self.batch):
            step = self._one_visit()
            if step is None:
                break
            result += step
        for _ in range(self.batch):
            missed = self._one_obligation()
            if missed is None:
                break
            result += missed
        return result

    # --- visits ---------------------------------------------------------------------------

    def _claim(self, conn: Connection, query: Any) -> Any:
        if not is_sqlite(self.engine):
            query = query.with_for_update(skip_locked=True)
        return conn.execute(query).mappings().first()

    def _one_visit(self) -> SweepResult | None:
        now = self.clock.now()
        # The visit and its case are claimed together: a clerk's command locks the case first,
        # so taking both at once (skipping the pair if either is locked) cannot deadlock with it.
        query = (
            select(_VISITS.c.id, _CASES.c.id.label("case_row"))
            .join(_CASES, _CASES.c.id == _VISITS.c.case_id)
            .where(
                _VISITS.c.left_at.is_(None),
                _VISITS.c.paused_at.is_(None),
                _VISITS.c.next_check_at <= now,
            )
            .order_by(_VISITS.c.next_check_at)
            .limit(1)
        )
        if not is_sqlite(self.engine):
            query = query.with_for_update(skip_locked=True, of=[_VISITS, _CASES])
        with transaction(self.engine) as session:
            conn = session.connection()
            claimed = conn.execute(query).first()
            if claimed is None:
                return None
            visit = conn.execute(select(_VISITS).where(_VISITS.c.id == claimed[0])).mappings().one()
            case = conn.execute(select(_CASES).where(_CASES.c.id == claimed[1])).mappings().one()
            return self._handle_visit(conn, dict(visit), dict(case), now)

    def _handle_visit(
        self, conn: Connection, visit: dict[str, Any], case: dict[str, Any], now: datetime
    ) -> SweepResult:
        compiled = self.registry.by_hash(case["content_hash"], conn=conn)
        sop = compiled.sop
        region = case["region_id"]
        calendar = self.registry.calendar(region)
        step = sop.steps.get(visit["step"])
        result = SweepResult()
        due = visit["due_at"]
        if step is None or due is None:  # an obsolete step, or nothing to watch
            self._set_visit(conn, visit["id"], next_check_at=None)
            return result
        params = self._params(sop, case, visit, step.title)
        audience = {"role": visit["role"], "unit": visit["unit_key"]}
        events: list[tuple[str, dict[str, Any]]] = []
        # Warnings: only the latest one passed, if several came due at once.
        paused = (
            paused_minutes(conn, visit["id"], calendar, step.effective_clock)
            if step.limit is not None and step.limit.minutes is None
            else 0.0
        )
        warnings = warning_times(sop, step, visit["entered_at"], due, calendar, paused)
        passed = [i for i, (_, when) in enumerate(warnings) if when <= now and when < due]
        sent = visit["warnings_sent"]
        if passed and passed[-1] >= sent and now < due:
            pct = warnings[passed[-1]][0]
            enqueue(
                conn,
                now=now,
                region=region,
                kind="warning",
                audience="role",
                params={**params, "percent": f"{pct:g}"},
                case_id=case["id"],
                dedupe_key=f"warning:{visit['id']}:{passed[-1]}",
                **audience,
            )
            events.append(("warning", {"percent": pct, "due_at": due.isoformat()}))
            sent = passed[-1] + 1
            result.warnings += 1
        breached_at = visit["breached_at"]
        if breached_at is None and now >= due:
            breached_at = now
            enqueue(
                conn,
                now=now,
                region=region,
                kind="breach",
                audience="role",
                params=params,
                case_id=case["id"],
                dedupe_key=f"breach:{visit['id']}",
                **audience,
            )
            events.append(("breach", {"due_at": due.isoformat(), "limit": visit["limit_text"]}))
            result.breaches += 1
        level = visit["escalation_level"]
        rungs = rung_times(sop, due)
        assert sop.escalation is not None or not rungs
        while level < len(rungs) and rungs[level] <= now:
            rung = sop.escalation.ladder[level]  # type: ignore[union-attr]
            level += 1
            for role in rung.to:
                unit = case["unit_key"] if sop.roles[role].kind is RoleKind.unit_staff else None
                conn.execute(
                    insert(_TASKS),
                    {
                        "case_id": case["id"],
                        "visit_id": visit["id"],
                        "region_id": region,
                        "level": level,
                        "role": role,
                        "unit_key": unit,
                        "step": visit["step"],
                        "created_at": now,
                        "resolved_at": None,
                    },
                )
                enqueue(
                    conn,
                    now=now,
                    region=region,
                    kind="escalation",
                    audience="role",
                    params={**params, "level": level},
                    role=role,
                    unit=unit,
                    case_id=case["id"],
                    dedupe_key=f"escalation:{visit['id']}:{level}:{role}",
                )
            events.append(("escalation", {"level": level, "to": list(rung.to)}))
            result.escalations += 1
        self._set_visit(
            conn,
            visit["id"],
            warnings_sent=sent,
            breached_at=breached_at,
            escalation_level=level,
            next_check_at=next_check(
                sop,
                step,
                entered_at=visit["entered_at"],
                due_at=due,
                warnings_sent=sent,
                breached=breached_at is not None,
                escalation_level=level,
                calendar=calendar,
            ),
        )
        if events:
            self._events(conn, case, visit["step"], events, now)
        return result

    def _params(
        self, sop: Sop, case: dict[str, Any], visit: dict[str, Any], title: str
    ) -> dict[str, Any]:
        region = self.registry.region(case["region_id"])
        unit = region.units.get(case["unit_key"] or "")
        return {
            "tracking": case["tracking_number"],
            "sop_title": sop.title,
            "step_title": title,
            "due_local": self.registry.local_text(visit["due_at"], case["region_id"]),
            "limit": visit["limit_text"] or "-",
            "unit_name": unit.name if unit else region.name,
        }

    @staticmethod
    def _set_visit(conn: Connection, visit_id: int, **values: Any) -> None:
        conn.execute(update(_VISITS).where(_VISITS.c.id == visit_id).values(**values))

    @staticmethod
    def _events(
        conn: Connection,
        case: dict[str, Any],
        step: str,
        events: list[tuple[str, dict[str, Any]]],
        now: datetime,
    ) -> None:
        """System events bump the case's revision: a clerk holding an older one reloads first."""
        revision = case["revision"]
        for kind, payload in events:
            revision += 1
            conn.execute(
                insert(_EVENTS),
                {
                    "case_id": case["id"],
                    "seq": revision,
                    "at": now,
                    "kind": kind,
                    "actor_user_id": None,
                    "actor_name": SYSTEM,
                    "role": None,
                    "action": None,
                    "from_step": step,
                    "to_step": step,
                    "unit_key": case["unit_key"],
                    "payload": payload,
                },
            )
        conn.execute(
            update(_CASES)
            .where(_CASES.c.id == case["id"])
            .values(revision=revision, updated_at=now)
        )

    # --- obligations ----------------------------------------------------------------------

    def _one_obligation(self) -> SweepResult | None:
        now = self.clock.now()
        query = select(_CLOCKS).where(_CLOCKS.c.due_at <= now).order_by(_CLOCKS.c.due_at).limit(1)
        with transaction(self.engine) as session:
            conn = session.connection()
            row = self._claim(conn, query)
            if row is None:
                return None
            # Read through this transaction: a version published after this sweeper started is
            # in the database, not in its catalog (and a second transaction would wait on SQLite).
            compiled = self.registry.latest_in(conn, row["sop_id"])
            sop = compiled.sop if compiled else None
            obligation = sop.obligations.get(row["obligation"]) if sop else None
            if sop is None or obligation is None:  # withdrawn: stop watching it
                conn.execute(
                    update(_CLOCKS).where(_CLOCKS.c.id == row["id"]).values(due_at=_FAR_FUTURE)
                )
                return SweepResult()
            conn.execute(
                insert(_OB_EVENTS),
                {
                    "clock_id": row["id"],
                    "at": now,
                    "kind": "missed",
                    "period_due_at": row["due_at"],
                    "actor_name": SYSTEM,
                    "note": None,
                },
            )
            conn.execute(
                update(_CLOCKS)
                .where(_CLOCKS.c.id == row["id"])
                .values(due_at=row["due_at"] + span(obligation.every), misses=row["misses"] + 1)
            )
            region = self.registry.region(row["region_id"])
            unit = region.units.get(row["unit_key"] or "")
            params = {
                "obligation_title": obligation.title,
                "unit_name": unit.name if unit else region.name,
                "due_local": self.registry.local_text(row["due_at"], row["region_id"]),
            }
            key = f"obligation:{row['id']}:{row['due_at'].isoformat()}"
            enqueue(
                conn,
                now=now,
                region=row["region_id"],
                kind="obligation_missed",
                audience="role",
                role=obligation.by,
                unit=row["unit_key"],
                params=params,
                dedupe_key=f"{key}:{obligation.by}",
            )
            for role in obligation.escalate_to:
                enqueue(
                    conn,
                    now=now,
                    region=row["region_id"],
                    kind="obligation_missed",
                    audience="role",
                    role=role,
                    params=params,
                    dedupe_key=f"{key}:{role}",
                )
            return SweepResult(obligations_missed=1)


_FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)


def run_forever(
    sweeper: Sweeper,
    stop: threading.Event,
    interval: float = 1.0,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set; errors are logged, not fatal.
    After each pass the ``heartbeat`` (if any) records that the sweeper is alive."""
    while not stop.is_set():
        try:
            result = sweeper.tick()
            if result.total:
                log.info("sweep: %s", result)
            if heartbeat is not None:
                heartbeat.beat()
        except Exception as err:
            log.exception("sweep failed; trying again")
            if heartbeat is not None:
                heartbeat.beat(ok=False, error=repr(err))
        stop.wait(interval)
