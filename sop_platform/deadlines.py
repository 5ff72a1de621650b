"""When a step visit needs attention: warnings before its deadline, the deadline, rungs after.

* A warning "at 80%" falls where 80% of the time between entering the step and its deadline has
  passed, counted on the step's own clock (office minutes for office-hours and working-day limits).
* Each rung of the escalation ladder falls its ``after`` past the deadline, in wall-clock time.
* ``next_check_at`` of an open visit is the earliest of these still to come; the sweeper finds
  visits by that column (an index range scan) and moves it on after each step it takes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rules.limits import Clock, Limit, Unit
from rules.model import Sop, Step
from sop_platform.timekeeping import WorkingCalendar


def span(limit: Limit) -> timedelta:
    return (
        timedelta(days=limit.amount) if limit.unit is Unit.day else timedelta(minutes=limit.amount)
    )


def warning_times(
    sop: Sop,
    step: Step,
    entered_at: datetime,
    due_at: datetime,
    calendar: WorkingCalendar,
    paused_minutes: float = 0.0,
) -> list[tuple[float, datetime]]:
    """(percent, when) for each warning the SOP declares, earliest first.

    The share is of the step's own time: its limit in minutes (or calendar days); for a
    working-day limit, the office minutes from entry to deadline less those spent paused.
    """
    if sop.escalation is None or not sop.escalation.warn_at or step.limit is None:
        return []
    clock = step.effective_clock
    if step.limit.minutes is not None:
        total: float = step.limit.minutes
    elif clock is Clock.calendar:
        total = step.limit.amount * 24 * 60
    else:
        total = calendar.elapsed_minutes(entered_at, due_at, clock) - paused_minutes
    return [
        (pct, calendar.retreat(due_at, total * (100 - pct) / 100, clock))
        for pct in sop.escalation.warn_at
    ]


def rung_times(sop: Sop, due_at: datetime) -> list[datetime]:
    if sop.escalation is None:
        return []
    return [due_at + span(rung.after) for rung in sop.escalation.ladder]


def next_check(
    sop: Sop,
    step: Step,
    *,
    entered_at: datetime,
    due_at: datetime | None,
    warnings_sent: int,
    breached: bool,
    escalation_level: int,
    calendar: WorkingCalendar,
    paused_minutes: float = 0.0,
) -> datetime | None:
    """The next moment the sweeper has something to do for this visit, if any."""
    if due_at is None:
        return None
    candidates: list[datetime] = []
    if not breached:
        warnings = warning_times(sop, step, entered_at, due_at, calendar, paused_minutes)
        warnings = warnings[warnings_sent:]
        candidates.extend(when for _, when in warnings if when < due_at)
        candidates.append(due_at)
    candidates.extend(rung_times(sop, due_at)[escalation_level:])
    return min(candidates) if candidates else None
