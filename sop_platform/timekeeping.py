"""Clocks and the region's working calendar: when is a step due, and how much working time passed.

Every deadline computation takes an injected :class:`Clock`; tests and scenarios use
:class:`VirtualClock`. All instants are timezone-aware; the database stores them as UTC.

How limits count (the rules an auditor can check by hand):

* **calendar** - wall-clock time, 24/7: ``due = start + limit`` (emergency lines, "1 x 24 jam").
  A limit in days counts whole 24-hour days.
* **office_hours** - only minutes inside the region's office hours on working days count. A step
  entered outside office hours starts counting at the next opening.
* **working_days** ("N hari kerja") - the day the case is received is day 0; the step is due at the
  close of office on the N-th working day after it. A case received after office closes, or on a
  weekend, holiday or cuti bersama, counts as received at the next working day's opening. So a
  complaint received Monday 10:00 with "1 hari kerja" is due Tuesday at closing time; one received
  Friday 17:00 is due Tuesday at closing time too (received Monday).

Working days follow the region's ``work_week``, minus Indonesian national holidays and cuti bersama
from the ``holidays`` package (``categories=("public", "government")``), corrected per year by the
region's own list (``corrections``: dates to add and estimated dates to remove, since the package
only estimates Islamic dates and the government fixes cuti bersama anew each year), minus the
region's local holidays.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from rules.limits import Clock as ClockKind
from rules.limits import Limit, Unit
from rules.model import Calendar, weekday_index


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that moves only when told to (scenarios, tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a virtual clock needs a timezone-aware start")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("use a timezone-aware time")
        with self._lock:
            self._now = when

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


class WorkingCalendar:
    """A region's working days and office hours, with its version (a hash of everything used)."""

    def __init__(self, calendar: Calendar) -> None:
        self.spec = calendar
        self.tz = ZoneInfo(calendar.timezone)
        self.work_days = frozenset(weekday_index(d) for d in calendar.work_week)
        self._local = {date.fromisoformat(h.date): h.name for h in calendar.local_holidays}
        self._added: dict[date, str] = {}
        self._removed: set[date] = set()
        for correction in calendar.corrections.values():
            for h in correction.add:
                self._added[date.fromisoformat(h.date)] = h.name
            self._removed.update(date.fromisoformat(d) for d in correction.remove)
        payload = json.dumps(
            {"calendar": calendar.model_dump(mode="json"), "holidays": holidays.__version__},
            sort_keys=True,
        )
        self.version = hashlib.sha256(payload.encode()).hexdigest()[:16]

    # --- days -----------------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        if day in self._local:
            return self._local[day]
        if day in self._added:
            return self._added[day]
        if day in self._removed:
            return None
        return _national(day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.work_days and self.holiday_name(day) is None

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        nxt = day + timedelta(days=1)
        for _ in range(400):
            if self.is_working_day(nxt):
                return nxt
            nxt += timedelta(days=1)
        raise ValueError("no working day within 400 days: check the region's work_week")

    def office_hours(self, day: date) -> tuple[datetime, datetime]:
        names = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
        hours = self.spec.office_hours_by_day.get(names[day.weekday()], self.spec.office_hours)
        opening = datetime.combine(day, time.fromisoformat(hours.start), self.tz)
        closing = datetime.combine(day, time.fromisoformat(hours.end), self.tz)
        return opening, closing

    def _office_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Office intervals from ``start`` on (the first one clipped to start)."""
        day = start.astimezone(self.tz).date()
        if not self.is_working_day(day):
            day = self.next_working_day(day)
        for _ in range(4000):
            opening, closing = self.office_hours(day)
            if closing > start:
                yield max(opening, start), closing
            day = self.next_working_day(day)

    # --- deadlines ------------------------------------------------------------------------

    def received_day(self, start: datetime) -> date:
        """The working day a case counts as received on (for working-day limits)."""
        local = start.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local < self.office_hours(day)[1]:
            return day
        return self.next_working_day(day)

    def due(self, start: datetime, limit: Limit, clock: ClockKind) -> datetime:
        """When a step entered at ``start`` with this limit is due."""
        if clock is ClockKind.working_days:
            day = self.received_day(start)
            for _ in range(limit.amount):
                day = self.next_working_day(day)
            return self.office_hours(day)[1].astimezone(UTC)
        if clock is ClockKind.office_hours:
            assert limit.unit is Unit.minute
            remaining = timedelta(minutes=limit.amount)
            for opening, closing in self._office_intervals(start):
                span = closing - opening
                if span >= remaining:
                    return (opening + remaining).astimezone(UTC)
                remaining -= span
            raise ValueError("office hours never add up to the limit")
        if limit.unit is Unit.day:
            return (start + timedelta(days=limit.amount)).astimezone(UTC)
        return (start + timedelta(minutes=limit.amount)).astimezone(UTC)

    def _office_intervals_before(self, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Office intervals before ``end``, latest first (the first one clipped to end)."""
        day = end.astimezone(self.tz).date()
        for _ in range(4000):
            if self.is_working_day(day):
                opening, closing = self.office_hours(day)
                if opening < end:
                    yield opening, min(closing, end)
            day -= timedelta(days=1)

    def advance(self, start: datetime, minutes: float, clock: ClockKind) -> datetime:
        """``start`` moved forward by ``minutes`` as the clock counts them (office minutes for
        office-hours and working-day clocks)."""
        if clock is ClockKind.calendar:
            return (start + timedelta(minutes=minutes)).astimezone(UTC)
        remaining = timedelta(minutes=minutes)
        if remaining <= timedelta(0):
            return start.astimezone(UTC)
        for opening, closing in self._office_intervals(start):
            span = closing - opening
            if span >= remaining:
                return (opening + remaining).astimezone(UTC)
            remaining -= span
        raise ValueError("office hours never add up to the shift")

    def retreat(self, end: datetime, minutes: float, clock: ClockKind) -> datetime:
        """``end`` moved back by ``minutes`` as the clock counts them."""
        if clock is ClockKind.calendar:
            return (end - timedelta(minutes=minutes)).astimezone(UTC)
        remaining = timedelta(minutes=minutes)
        if remaining <= timedelta(0):
            return end.astimezone(UTC)
        for opening, closing in self._office_intervals_before(end):
            span = closing - opening
            if span >= remaining:
                return (closing - remaining).astimezone(UTC)
            remaining -= span
        raise ValueError("office hours never add up to the shift")

    def resumed_due(
        self, due: datetime, paused_at: datetime, resumed_at: datetime, clock: ClockKind
    ) -> datetime:
        """The deadline after a pause: moved by the paused span as the step's clock counts it
        (wall-clock time for calendar limits; office minutes for office-hours and working-day
        limits, so a pause over a weekend moves a working-day deadline by nothing)."""
        return self.advance(due, self.elapsed_minutes(paused_at, resumed_at, clock), clock)

    def elapsed_minutes(self, start: datetime, end: datetime, clock: ClockKind) -> float:
        """Time between two instants as the clock counts it (office minutes for office/working)."""
        if end <= start:
            return 0.0
        if clock is ClockKind.calendar:
            return (end - start).total_seconds() / 60
        total = 0.0
        for opening, closing in self._office_intervals(start):
            if opening >= end:
                break
            total += (min(closing, end) - opening).total_seconds() / 60
        return total


@lru_cache(maxsize=64)
def _national(year: int) -> dict[date, str]:
    found = holidays.country_holidays(
        "ID", years=year, categories=("public", "government"), language="id"
    )
    return dict(found.items())
