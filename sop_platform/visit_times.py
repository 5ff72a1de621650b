"""The time a closed step visit took on its step's own clock, its pauses, and its overrun.

Written once when a visit closes, so that every report figure is an SQL aggregate over stored
columns: office minutes cannot be counted in SQL, and the calendar used here is the one that
computed the visit's deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from rules.limits import Clock as ClockKind
from sop_platform.models import StepVisit, VisitPause
from sop_platform.timekeeping import WorkingCalendar

_VISITS = StepVisit.__table__  # type: ignore[attr-defined]
_PAUSES = VisitPause.__table__  # type: ignore[attr-defined]

_PAUSES_OF = select(_PAUSES.c.paused_at, _PAUSES.c.resumed_at).where(
    _PAUSES.c.visit_id == bindparam("b_visit")
)
_WRITE = (
    update(_VISITS)
    .where(_VISITS.c.id == bindparam("b_visit"))
    .values(
        elapsed_minutes=bindparam("b_elapsed"),
        paused_minutes=bindparam("b_paused"),
        overrun_minutes=bindparam("b_overrun"),
    )
)


def clock_of(visit_clock: str | None) -> ClockKind:
    """The clock a visit counts on: the one stored with it; wall-clock time for a step without
    a limit (nothing to count against, so the plain duration is the honest figure)."""
    return ClockKind(visit_clock) if visit_clock else ClockKind.calendar


def measure(
    calendar: WorkingCalendar,
    *,
    clock: str | None,
    entered_at: datetime,
    left_at: datetime,
    due_at: datetime | None,
    pauses: Iterable[tuple[datetime, datetime | None]],
) -> tuple[float, float, float | None]:
    """``(elapsed, paused, overrun)`` in minutes on the visit's clock.

    ``elapsed`` is entry to exit minus the paused spans; a pause still open when the visit closed
    (a step forced on while paused) ends with the visit. ``overrun`` is the time from the
    deadline (already moved by every pause) to the exit, for a visit that left after it; ``None``
    when the step has no deadline.
    """
    kind = clock_of(clock)
    gross = calendar.elapsed_minutes(entered_at, left_at, kind)
    paused = 0.0
    for start, end in pauses:
        stop = min(end or left_at, left_at)
        paused += calendar.elapsed_minutes(max(start, entered_at), stop, kind)
    elapsed = max(gross - paused, 0.0)
    overrun: float | None = None
    if due_at is not None:
        overrun = calendar.elapsed_minutes(due_at, left_at, kind) if left_at > due_at else 0.0
    return round(elapsed, 4), round(paused, 4), None if overrun is None else round(overrun, 4)


def record(conn: Connection, calendar: WorkingCalendar, visit: Any) -> None:
    """Measure a just-closed visit (a row mapping with the step_visit columns) and store it."""
    pauses = conn.execute(_PAUSES_OF, {"b_visit": visit["id"]}).all()
    elapsed, paused, overrun = measure(
        calendar,
        clock=visit["clock"],
        entered_at=visit["entered_at"],
        left_at=visit["left_at"],
        due_at=visit["due_at"],
        pauses=[(p[0], p[1]) for p in pauses],
    )
    conn.execute(
        _WRITE,
        {"b_visit": visit["id"], "b_elapsed": elapsed, "b_paused": paused, "b_overrun": overrun},
    )
