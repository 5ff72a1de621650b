"""The working calendar, by hand: every expected instant is worked out in the comment beside it.

Pure (no database). Two kinds of calendar are used:

* Yogyakarta's own calendar from ``sop_definitions/yogyakarta/region.yaml`` (through the catalog
  fixture): Senin-Kamis 07:30-15:30, Jumat 07:30-14:00, Asia/Jakarta (WIB = UTC+7), the 2025
  SKB corrections;
* small :class:`Calendar` objects built here, defaults Senin-Jumat 08:00-16:00, Asia/Jakarta.

Dates used (checked against a 2025 calendar): Mon 24 Nov 2025, Tue 25, Wed 26, Thu 27, Fri 28,
Sat 29, Sun 30, Mon 1 Dec, Tue 2 Dec; Wed 24 Dec, Thu 25 Dec (Natal), Fri 26 Dec (cuti bersama),
Mon 29 Dec, Tue 30, Wed 31 Dec; Thu 1 Jan 2026 (Tahun Baru), Fri 2 Jan, Mon 5 Jan, Tue 6 Jan;
Thu 27 Mar 2025, Fri 28 Mar (cuti Nyepi), Sat 29 Mar (Nyepi), Mon 31 Mar + Tue 1 Apr (Idul Fitri),
Wed 2, Thu 3, Fri 4, Mon 7 Apr (cuti bersama), Tue 8 Apr, Wed 9 Apr, Thu 10 Apr.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rules.limits import Clock, parse_limit
from rules.loader import Catalog
from rules.model import Calendar
from sop_platform.timekeeping import VirtualClock, WorkingCalendar

WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WIB)


def cal(**spec: Any) -> WorkingCalendar:
    return WorkingCalendar(Calendar.model_validate(spec))


@pytest.fixture(scope="module")
def jogja(catalog: Catalog) -> WorkingCalendar:
    return WorkingCalendar(catalog.regions["yogyakarta"].calendar)


def due(
    calendar: WorkingCalendar, start: datetime, limit: str, clock: Clock | None = None
) -> datetime:
    parsed = parse_limit(limit)
    result = calendar.due(start, parsed, clock or parsed.default_clock())
    assert result.utcoffset() == timedelta(0), "due times are returned in UTC"
    return result


def test_the_yogyakarta_calendar_is_what_these_tests_assume(jogja: WorkingCalendar) -> None:
    # Guard: if region.yaml changes its hours, the hand-computed values below no longer hold.
    assert jogja.office_hours(date(2025, 11, 24)) == (
        wib(2025, 11, 24, 7, 30),
        wib(2025, 11, 24, 15, 30),
    )
    assert jogja.office_hours(date(2025, 11, 28)) == (
        wib(2025, 11, 28, 7, 30),
        wib(2025, 11, 28, 14, 0),
    )
    assert jogja.tz == WIB


# --- "N hari kerja" ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "limit", "expected"),
    [
        # Before office hours, Mon 06:00: Monday is day 0; 1 working day later = Tue, at closing.
        (wib(2025, 11, 24, 6, 0), "1 hari kerja", wib(2025, 11, 25, 15, 30)),
        # During office hours, Mon 10:00: same, Tue 25 Nov 15:30 WIB.
        (wib(2025, 11, 24, 10, 0), "1 hari kerja", wib(2025, 11, 25, 15, 30)),
        # One minute before closing, Mon 15:29: still received Monday -> Tue 15:30.
        (wib(2025, 11, 24, 15, 29), "1 hari kerja", wib(2025, 11, 25, 15, 30)),
        # At closing, Mon 15:30: office has closed -> received Tue -> due Wed 26 Nov 15:30.
        (wib(2025, 11, 24, 15, 30), "1 hari kerja", wib(2025, 11, 26, 15, 30)),
        # After closing, Mon 19:00: received Tue -> due Wed 26 Nov 15:30.
        (wib(2025, 11, 24, 19, 0), "1 hari kerja", wib(2025, 11, 26, 15, 30)),
        # 3 working days from Mon 10:00: Tue, Wed, Thu -> Thu 27 Nov 15:30.
        (wib(2025, 11, 24, 10, 0), "3 hari kerja", wib(2025, 11, 27, 15, 30)),
        # 3 working days from Tue 10:00: Wed, Thu, Fri -> Fri 28 Nov at the *Friday* closing 14:00.
        (wib(2025, 11, 25, 10, 0), "3 hari kerja", wib(2025, 11, 28, 14, 0)),
        # 3 working days from Wed 10:00: Thu, Fri, (Sat, Sun skipped) Mon -> Mon 1 Dec 15:30.
        (wib(2025, 11, 26, 10, 0), "3 hari kerja", wib(2025, 12, 1, 15, 30)),
        # 3 working days after closing Wed 16:00: received Thu -> Fri, Mon, Tue -> Tue 2 Dec 15:30.
        (wib(2025, 11, 26, 16, 0), "3 hari kerja", wib(2025, 12, 2, 15, 30)),
        # Friday 13:59 (before the Friday closing 14:00): received Fri -> next working day,
        # Mon 1 Dec.
        (wib(2025, 11, 28, 13, 59), "1 hari kerja", wib(2025, 12, 1, 15, 30)),
        # Friday 14:30: after the Friday closing (though before the Mon-Thu closing 15:30):
        # received Mon 1 Dec -> due Tue 2 Dec 15:30.
        (wib(2025, 11, 28, 14, 30), "1 hari kerja", wib(2025, 12, 2, 15, 30)),
        # Friday 17:00 (the docstring's example): received Mon -> due Tue 2 Dec 15:30.
        (wib(2025, 11, 28, 17, 0), "1 hari kerja", wib(2025, 12, 2, 15, 30)),
        # Saturday 10:00: received Mon 1 Dec -> due Tue 2 Dec 15:30.
        (wib(2025, 11, 29, 10, 0), "1 hari kerja", wib(2025, 12, 2, 15, 30)),
        # Sunday 23:59: received Mon 1 Dec -> due Tue 2 Dec 15:30.
        (wib(2025, 11, 30, 23, 59), "1 hari kerja", wib(2025, 12, 2, 15, 30)),
        # Saturday, 3 days: received Mon 1 Dec -> Tue 2, Wed 3, Thu 4 Dec 15:30.
        (wib(2025, 11, 29, 10, 0), "3 hari kerja", wib(2025, 12, 4, 15, 30)),
        # The document spelling "maksimal 3 (tiga) hari kerja" counts the same as "3 hari kerja".
        (wib(2025, 11, 24, 10, 0), "maksimal 3 (tiga) hari kerja", wib(2025, 11, 27, 15, 30)),
    ],
    ids=[
        "before-opening",
        "during",
        "minute-before-closing",
        "at-closing",
        "after-closing",
        "3d-monday",
        "3d-ends-friday",
        "3d-over-weekend",
        "3d-after-closing",
        "friday-before-friday-closing",
        "friday-after-friday-closing",
        "friday-evening",
        "saturday",
        "sunday",
        "3d-saturday",
        "document-spelling",
    ],
)
def test_working_days_due(
    jogja: WorkingCalendar, received: datetime, limit: str, expected: datetime
) -> None:
    assert due(jogja, received, limit) == expected


def test_working_days_on_a_holiday(jogja: WorkingCalendar) -> None:
    # Thu 25 Dec 2025 (Natal) 10:00: not a working day; Fri 26 is cuti bersama, 27-28 weekend ->
    # received Mon 29 Dec. 1 working day -> Tue 30 Dec 15:30 WIB (08:30 UTC).
    received = wib(2025, 12, 25, 10, 0)
    assert jogja.received_day(received) == date(2025, 12, 29)
    assert due(jogja, received, "1 hari kerja") == datetime(2025, 12, 30, 8, 30, tzinfo=UTC)
    # 3 working days from Mon 29 Dec: Tue 30, Wed 31, (Thu 1 Jan holiday) Fri 2 Jan 2026 at the
    # Friday closing 14:00 WIB = 07:00 UTC.
    assert due(jogja, received, "3 hari kerja") == datetime(2026, 1, 2, 7, 0, tzinfo=UTC)


def test_christmas_2025(jogja: WorkingCalendar) -> None:
    assert jogja.holiday_name(date(2025, 12, 25)) is not None  # Hari Raya Natal
    assert jogja.holiday_name(date(2025, 12, 26)) is not None  # Cuti Bersama Natal
    assert not jogja.is_working_day(date(2025, 12, 25))
    assert not jogja.is_working_day(date(2025, 12, 26))
    assert jogja.is_working_day(date(2025, 12, 24))
    assert jogja.is_working_day(date(2025, 12, 29))
    # Wed 24 Dec 10:00, 1 working day: day 0 = Wed 24; next working day skips Thu 25 (Natal),
    # Fri 26 (cuti bersama), Sat 27, Sun 28 -> Mon 29 Dec 15:30.
    assert due(jogja, wib(2025, 12, 24, 10, 0), "1 hari kerja") == wib(2025, 12, 29, 15, 30)
    # Tue 23 Dec 10:00, 3 working days: Wed 24, Mon 29, Tue 30 -> Tue 30 Dec 15:30.
    assert due(jogja, wib(2025, 12, 23, 10, 0), "3 hari kerja") == wib(2025, 12, 30, 15, 30)
    # Wed 24 Dec after closing (16:00): received Mon 29 -> 1 working day -> Tue 30 Dec 15:30.
    assert due(jogja, wib(2025, 12, 24, 16, 0), "1 hari kerja") == wib(2025, 12, 30, 15, 30)
    assert jogja.next_working_day(date(2025, 12, 24)) == date(2025, 12, 29)


def test_idul_fitri_2025(jogja: WorkingCalendar) -> None:
    # 28 Mar cuti Nyepi, 29 Nyepi (Sat), 31 Mar + 1 Apr Idul Fitri, 2, 3, 4, 7 Apr cuti bersama.
    closed = [
        date(2025, 3, 28),
        date(2025, 3, 31),
        date(2025, 4, 1),
        date(2025, 4, 2),
        date(2025, 4, 3),
        date(2025, 4, 4),
        date(2025, 4, 7),
    ]
    for day in closed:
        assert not jogja.is_working_day(day), day
        assert jogja.holiday_name(day), day
    assert jogja.is_working_day(date(2025, 3, 27))
    assert jogja.is_working_day(date(2025, 4, 8))
    assert jogja.next_working_day(date(2025, 3, 27)) == date(2025, 4, 8)
    # Thu 27 Mar 10:00, 1 working day: day 0 = Thu 27; Fri 28 .. Mon 7 Apr are all closed ->
    # Tue 8 Apr 15:30 WIB.
    assert due(jogja, wib(2025, 3, 27, 10, 0), "1 hari kerja") == wib(2025, 4, 8, 15, 30)
    # 3 working days from Thu 27 Mar: Tue 8, Wed 9, Thu 10 Apr -> Thu 10 Apr 15:30.
    assert due(jogja, wib(2025, 3, 27, 10, 0), "3 hari kerja") == wib(2025, 4, 10, 15, 30)
    # Received on Idul Fitri itself (Mon 31 Mar 10:00): counts as received Tue 8 Apr ->
    # 1 working day -> Wed 9 Apr 15:30.
    assert jogja.received_day(wib(2025, 3, 31, 10, 0)) == date(2025, 4, 8)
    assert due(jogja, wib(2025, 3, 31, 10, 0), "1 hari kerja") == wib(2025, 4, 9, 15, 30)
    # Office minutes: Thu 27 Mar 15:00 + 60 office minutes = 30 on Thu (15:00-15:30) + 30 on the
    # next open day, Tue 8 Apr 07:30-08:00 -> Tue 8 Apr 08:00.
    assert due(jogja, wib(2025, 3, 27, 15, 0), "60 menit", Clock.office_hours) == wib(
        2025, 4, 8, 8, 0
    )


def test_year_end(jogja: WorkingCalendar) -> None:
    assert not jogja.is_working_day(date(2026, 1, 1))  # Tahun Baru Masehi
    assert jogja.is_working_day(date(2025, 12, 31))
    assert jogja.is_working_day(date(2026, 1, 2))
    # Wed 31 Dec 10:00, 1 working day: (Thu 1 Jan holiday) -> Fri 2 Jan 2026, Friday closing 14:00.
    assert due(jogja, wib(2025, 12, 31, 10, 0), "1 hari kerja") == wib(2026, 1, 2, 14, 0)
    # 3 working days: Fri 2 Jan, Mon 5 Jan, Tue 6 Jan -> Tue 6 Jan 2026 15:30.
    assert due(jogja, wib(2025, 12, 31, 10, 0), "3 hari kerja") == wib(2026, 1, 6, 15, 30)
    # New Year's Eve 20:00 (after closing): received Fri 2 Jan -> 1 working day -> Mon 5 Jan 15:30.
    assert jogja.received_day(wib(2025, 12, 31, 20, 0)) == date(2026, 1, 2)
    assert due(jogja, wib(2025, 12, 31, 20, 0), "1 hari kerja") == wib(2026, 1, 5, 15, 30)


def test_a_start_given_in_utc_is_read_in_the_regions_time_zone(jogja: WorkingCalendar) -> None:
    # 2025-11-24 23:00 UTC is Tue 25 Nov 06:00 WIB: received Tue (not Mon, the UTC date) ->
    # 1 working day -> Wed 26 Nov 15:30 WIB = 08:30 UTC.
    start = datetime(2025, 11, 24, 23, 0, tzinfo=UTC)
    assert jogja.received_day(start) == date(2025, 11, 25)
    assert due(jogja, start, "1 hari kerja") == datetime(2025, 11, 26, 8, 30, tzinfo=UTC)


# --- office hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "limit", "expected"),
    [
        # Mon 09:00 + 60 office minutes, all inside Monday -> Mon 10:00.
        (wib(2025, 11, 24, 9, 0), "60 menit", wib(2025, 11, 24, 10, 0)),
        # Mon 06:00 (before opening): counting starts 07:30 -> 08:30.
        (wib(2025, 11, 24, 6, 0), "60 menit", wib(2025, 11, 24, 8, 30)),
        # Mon 15:00 + 30: exactly fills the day (15:00-15:30) -> due Mon 15:30, not Tue morning.
        (wib(2025, 11, 24, 15, 0), "30 menit", wib(2025, 11, 24, 15, 30)),
        # Mon 15:00 + 60: 30 on Mon (15:00-15:30), 30 on Tue from 07:30 -> Tue 08:00.
        (wib(2025, 11, 24, 15, 0), "60 menit", wib(2025, 11, 25, 8, 0)),
        # Mon 20:00 (after closing) + 60: from Tue 07:30 -> Tue 08:30.
        (wib(2025, 11, 24, 20, 0), "1 jam", wib(2025, 11, 25, 8, 30)),
        # Fri 13:00 + 120 ("maksimal 120 menit"): Fri closes 14:00 -> 60 on Fri; weekend skipped;
        # 60 more from Mon 1 Dec 07:30 -> Mon 08:30. (With Mon-Thu hours it would be Fri 15:00.)
        (wib(2025, 11, 28, 13, 0), "maksimal 120 menit", wib(2025, 12, 1, 8, 30)),
        # Thu 12:00 + 660 (Bantul's row 5): Thu 12:00-15:30 = 210, Fri 07:30-14:00 = 390 (600 so
        # far), 60 left from Mon 1 Dec 07:30 -> Mon 08:30.
        (wib(2025, 11, 27, 12, 0), "660 menit", wib(2025, 12, 1, 8, 30)),
        # Sat 10:00 + 30: nothing counts at the weekend -> Mon 1 Dec 07:30 + 30 = 08:00.
        (wib(2025, 11, 29, 10, 0), "30 menit", wib(2025, 12, 1, 8, 0)),
        # Mon-Thu day is 480 minutes: Mon 07:30 + 480 -> Mon 15:30 (exactly one full day).
        (wib(2025, 11, 24, 7, 30), "8 jam", wib(2025, 11, 24, 15, 30)),
        # Mon 07:30 + 481 -> the 481st minute is Tue 07:30-07:31 -> Tue 07:31.
        (wib(2025, 11, 24, 7, 30), "481 menit", wib(2025, 11, 25, 7, 31)),
        # Wed 24 Dec 15:00 + 60: 30 on Wed; Thu 25 Natal, Fri 26 cuti, weekend -> Mon 29 Dec 08:00.
        (wib(2025, 12, 24, 15, 0), "60 menit", wib(2025, 12, 29, 8, 0)),
    ],
    ids=[
        "inside-day",
        "before-opening",
        "exact-fit",
        "spans-night",
        "after-closing",
        "friday-hours-and-weekend",
        "660-over-weekend",
        "saturday",
        "full-day",
        "full-day+1",
        "christmas",
    ],
)
def test_office_hours_due(
    jogja: WorkingCalendar, start: datetime, limit: str, expected: datetime
) -> None:
    assert due(jogja, start, limit, Clock.office_hours) == expected


def test_office_hours_and_elapsed_agree(jogja: WorkingCalendar) -> None:
    # Whatever the start, the office minutes elapsed between start and due equal the limit.
    starts = [
        wib(2025, 11, 24, 6, 0),
        wib(2025, 11, 26, 15, 10),
        wib(2025, 11, 28, 13, 45),
        wib(2025, 11, 29, 12, 0),
        wib(2025, 12, 24, 9, 0),
        wib(2025, 3, 27, 12, 0),
    ]
    for start in starts:
        for minutes in (1, 5, 60, 120, 479, 480, 660, 2000):
            end = jogja.due(start, parse_limit(f"{minutes} menit"), Clock.office_hours)
            assert jogja.elapsed_minutes(start, end, Clock.office_hours) == minutes, (
                start,
                minutes,
            )


# --- calendar clock -------------------------------------------------------------------------------


def test_calendar_clock_counts_wall_time(jogja: WorkingCalendar) -> None:
    # "1 x 24 jam" from Fri 28 Nov 20:00: 1440 minutes of wall time, the weekend included ->
    # Sat 29 Nov 20:00 WIB = 13:00 UTC.
    assert due(jogja, wib(2025, 11, 28, 20, 0), "1 x 24 jam") == datetime(
        2025, 11, 29, 13, 0, tzinfo=UTC
    )
    # "5 menit" from Sun 23:58 -> Mon 00:03 (nights and Sundays count).
    assert due(jogja, wib(2025, 11, 30, 23, 58), "5 menit") == wib(2025, 12, 1, 0, 3)
    # "1 x 2 jam" (UPIK verifikasi) from Mon 09:00 -> Mon 11:00.
    assert due(jogja, wib(2025, 11, 24, 9, 0), "1 x 2 jam") == wib(2025, 11, 24, 11, 0)
    # "1 hari" from Wed 24 Dec 10:00: a whole 24-hour day, Natal or not -> Thu 25 Dec 10:00.
    assert due(jogja, wib(2025, 12, 24, 10, 0), "1 hari") == wib(2025, 12, 25, 10, 0)
    # "2 hari" from Wed 31 Dec 10:00 -> Fri 2 Jan 2026 10:00.
    assert due(jogja, wib(2025, 12, 31, 10, 0), "2 hari") == wib(2026, 1, 2, 10, 0)
    # "1 minggu" = 7 days: Mon 24 Nov 09:00 -> Mon 1 Dec 09:00.
    assert due(jogja, wib(2025, 11, 24, 9, 0), "1 minggu") == wib(2025, 12, 1, 9, 0)


def test_default_clocks_follow_the_limit() -> None:
    assert parse_limit("3 hari kerja").default_clock() is Clock.working_days
    assert parse_limit("1 x 24 jam").default_clock() is Clock.calendar
    assert parse_limit("1 hari").default_clock() is Clock.calendar


# --- elapsed time ---------------------------------------------------------------------------------


def test_elapsed_minutes_for_each_clock(jogja: WorkingCalendar) -> None:
    start, end = wib(2025, 11, 28, 13, 0), wib(2025, 12, 1, 8, 30)
    # calendar: Fri 13:00 -> Mon 08:30 = 2 days 19 h 30 min = 67.5 h = 4050 minutes.
    assert jogja.elapsed_minutes(start, end, Clock.calendar) == 4050
    # office_hours: Fri 13:00-14:00 (60) + Mon 07:30-08:30 (60) = 120.
    assert jogja.elapsed_minutes(start, end, Clock.office_hours) == 120
    # working_days counts office minutes too: 120.
    assert jogja.elapsed_minutes(start, end, Clock.working_days) == 120


def test_elapsed_minutes_edges(jogja: WorkingCalendar) -> None:
    monday = wib(2025, 11, 24, 9, 0)
    for clock in Clock:
        assert jogja.elapsed_minutes(monday, monday, clock) == 0  # same instant
        assert jogja.elapsed_minutes(monday, monday - timedelta(hours=1), clock) == 0  # backwards
    # Sat 10:00 -> Mon 09:00: nothing counts at the weekend; Mon 07:30-09:00 = 90.
    assert (
        jogja.elapsed_minutes(wib(2025, 11, 29, 10, 0), wib(2025, 12, 1, 9, 0), Clock.office_hours)
        == 90
    )
    # Mon 16:00 -> Mon 22:00: all after closing -> 0 office minutes, 360 calendar minutes.
    assert (
        jogja.elapsed_minutes(
            wib(2025, 11, 24, 16, 0), wib(2025, 11, 24, 22, 0), Clock.office_hours
        )
        == 0
    )
    assert (
        jogja.elapsed_minutes(wib(2025, 11, 24, 16, 0), wib(2025, 11, 24, 22, 0), Clock.calendar)
        == 360
    )
    # Wed 24 Dec 15:00 -> Mon 29 Dec 08:00: Wed 15:00-15:30 (30), Thu 25 and Fri 26 closed,
    # weekend, Mon 07:30-08:00 (30) = 60.
    assert (
        jogja.elapsed_minutes(wib(2025, 12, 24, 15, 0), wib(2025, 12, 29, 8, 0), Clock.office_hours)
        == 60
    )
    # A whole week, Mon 00:00 -> next Mon 00:00: 4 x 480 (Mon-Thu) + 390 (Fri) = 2310.
    assert jogja.elapsed_minutes(wib(2025, 11, 24), wib(2025, 12, 1), Clock.office_hours) == 2310
    # Seconds count as fractions: Mon 09:00:00 -> 09:00:30 = 0.5 minutes on every clock.
    for clock in Clock:
        assert jogja.elapsed_minutes(monday, monday + timedelta(seconds=30), clock) == 0.5


# --- small calendars built here ------------------------------------------------------------------


def test_a_default_calendar() -> None:
    plain = cal()  # Senin-Jumat 08:00-16:00, Asia/Jakarta, national holidays only
    # Fri 28 Nov 10:00, 1 working day -> Mon 1 Dec 16:00 (no Friday override here).
    assert due(plain, wib(2025, 11, 28, 10, 0), "1 hari kerja") == wib(2025, 12, 1, 16, 0)
    # Fri 13:00 + 120 office minutes: Friday is open until 16:00 -> Fri 15:00.
    assert due(plain, wib(2025, 11, 28, 13, 0), "120 menit", Clock.office_hours) == wib(
        2025, 11, 28, 15, 0
    )
    # National holidays come from the package even without corrections: 25 Dec, 1 Jan.
    assert not plain.is_working_day(date(2025, 12, 25))
    assert not plain.is_working_day(date(2026, 1, 1))


def test_a_six_day_week_with_short_saturdays() -> None:
    six = cal(
        work_week=["senin", "selasa", "rabu", "kamis", "jumat", "sabtu"],
        office_hours_by_day={"sabtu": {"start": "08:00", "end": "12:00"}},
    )
    assert six.is_working_day(date(2025, 11, 29))
    assert not six.is_working_day(date(2025, 11, 30))
    # Fri 10:00, 1 working day -> Sat 29 Nov at the Saturday closing 12:00.
    assert due(six, wib(2025, 11, 28, 10, 0), "1 hari kerja") == wib(2025, 11, 29, 12, 0)
    # Fri 14:00 + 300 office minutes: Fri 14:00-16:00 (120), Sat 08:00 + 180 -> Sat 11:00.
    assert due(six, wib(2025, 11, 28, 14, 0), "300 menit", Clock.office_hours) == wib(
        2025, 11, 29, 11, 0
    )
    # Sat 11:00 + 120: Sat 11:00-12:00 (60), Sunday closed, Mon 08:00 + 60 -> Mon 1 Dec 09:00.
    assert due(six, wib(2025, 11, 29, 11, 0), "120 menit", Clock.office_hours) == wib(
        2025, 12, 1, 9, 0
    )


def test_another_time_zone() -> None:
    papua = cal(timezone="Asia/Jayapura")  # WIT = UTC+9, 08:00-16:00
    # 2025-11-24 07:30 UTC is Mon 16:30 WIT: after closing -> received Tue 25 -> 1 working day ->
    # Wed 26 Nov 16:00 WIT = 07:00 UTC.
    start = datetime(2025, 11, 24, 7, 30, tzinfo=UTC)
    assert papua.received_day(start) == date(2025, 11, 25)
    assert due(papua, start, "1 hari kerja") == datetime(2025, 11, 26, 7, 0, tzinfo=UTC)
    # The same instant is Mon 14:30 WIB in Jakarta: received Mon -> due Tue 25 Nov 16:00 WIB.
    assert due(cal(), start, "1 hari kerja") == wib(2025, 11, 25, 16, 0)
    # Office minutes in WIT: Mon 15:30 WIT + 60 -> 30 on Mon, Tue 08:00 + 30 -> Tue 08:30 WIT.
    assert due(
        papua, datetime(2025, 11, 24, 15, 30, tzinfo=WIT), "60 menit", Clock.office_hours
    ) == datetime(2025, 11, 25, 8, 30, tzinfo=WIT)


def test_local_holidays() -> None:
    local = cal(local_holidays=[{"date": "2025-11-26", "name": "Hari Jadi Kota"}])
    assert local.holiday_name(date(2025, 11, 26)) == "Hari Jadi Kota"
    assert not local.is_working_day(date(2025, 11, 26))
    assert cal().is_working_day(date(2025, 11, 26))
    # Tue 25 Nov 10:00, 1 working day: Wed 26 is the local holiday -> Thu 27 Nov 16:00.
    assert due(local, wib(2025, 11, 25, 10, 0), "1 hari kerja") == wib(2025, 11, 27, 16, 0)
    # Received on the local holiday: counts from Thu 27 -> 1 working day -> Fri 28 Nov 16:00.
    assert due(local, wib(2025, 11, 26, 10, 0), "1 hari kerja") == wib(2025, 11, 28, 16, 0)
    # Office minutes skip it: Tue 15:30 + 60 -> 30 on Tue, Thu 08:00 + 30 -> Thu 27 08:30.
    assert due(local, wib(2025, 11, 25, 15, 30), "60 menit", Clock.office_hours) == wib(
        2025, 11, 27, 8, 30
    )


def test_a_correction_adds_a_day() -> None:
    added = cal(
        corrections={
            2025: {
                "add": [{"date": "2025-11-27", "name": "Cuti Bersama Contoh"}],
                "source": "SKB contoh",
            }
        }
    )
    assert added.holiday_name(date(2025, 11, 27)) == "Cuti Bersama Contoh"
    assert not added.is_working_day(date(2025, 11, 27))
    # Wed 26 Nov 10:00, 1 working day: Thu 27 is added -> Fri 28 Nov 16:00.
    assert due(added, wib(2025, 11, 26, 10, 0), "1 hari kerja") == wib(2025, 11, 28, 16, 0)


def test_a_correction_removes_an_estimated_national_date() -> None:
    plain = cal()
    assert not plain.is_working_day(date(2025, 12, 26))  # the package's cuti bersama Natal
    assert not plain.is_working_day(date(2025, 3, 31))  # the package's (estimated) Idul Fitri
    removed = cal(corrections={2025: {"remove": ["2025-12-26", "2025-03-31"]}})
    assert removed.holiday_name(date(2025, 12, 26)) is None
    assert removed.is_working_day(date(2025, 12, 26))
    assert removed.is_working_day(date(2025, 3, 31))
    assert not removed.is_working_day(date(2025, 12, 25))  # the rest stays
    # Wed 24 Dec 10:00, 1 working day: Thu 25 still Natal, Fri 26 open again -> Fri 26 Dec 16:00
    # (without the correction: Mon 29 Dec 16:00).
    assert due(removed, wib(2025, 12, 24, 10, 0), "1 hari kerja") == wib(2025, 12, 26, 16, 0)
    assert due(plain, wib(2025, 12, 24, 10, 0), "1 hari kerja") == wib(2025, 12, 29, 16, 0)


def test_a_local_holiday_wins_over_a_removed_date() -> None:
    both = cal(
        local_holidays=[{"date": "2025-12-26", "name": "Libur daerah"}],
        corrections={2025: {"remove": ["2025-12-26"]}},
    )
    assert both.holiday_name(date(2025, 12, 26)) == "Libur daerah"
    assert not both.is_working_day(date(2025, 12, 26))


# --- the calendar's version -----------------------------------------------------------------------


def test_the_version_changes_with_the_calendar(catalog: Catalog) -> None:
    base = cal()
    assert base.version == cal().version  # deterministic
    assert len(base.version) == 16
    variants = {
        "hours": cal(office_hours={"start": "07:00", "end": "15:00"}),
        "friday": cal(office_hours_by_day={"jumat": {"start": "07:30", "end": "14:00"}}),
        "week": cal(work_week=["senin", "selasa", "rabu", "kamis", "jumat", "sabtu"]),
        "zone": cal(timezone="Asia/Makassar"),
        "local": cal(local_holidays=[{"date": "2025-11-26", "name": "Hari Jadi"}]),
        "add": cal(corrections={2025: {"add": [{"date": "2025-11-27", "name": "Cuti"}]}}),
        "remove": cal(corrections={2025: {"remove": ["2025-12-26"]}}),
    }
    versions = {name: c.version for name, c in variants.items()}
    assert base.version not in versions.values()
    assert len(set(versions.values())) == len(versions), versions
    # The region files: Yogyakarta and Bantul have different hours, hence different versions;
    # loading the same region twice gives the same version.
    jogja = WorkingCalendar(catalog.regions["yogyakarta"].calendar)
    assert jogja.version == WorkingCalendar(catalog.regions["yogyakarta"].calendar).version
    assert jogja.version != WorkingCalendar(catalog.regions["bantul"].calendar).version


def test_virtual_clock() -> None:
    clock = VirtualClock(wib(2025, 11, 24, 9, 0))
    assert clock.advance(timedelta(hours=2)) == wib(2025, 11, 24, 11, 0)
    clock.set(wib(2025, 12, 1, 8, 0))
    assert clock.now() == wib(2025, 12, 1, 8, 0)
    with pytest.raises(ValueError):
        VirtualClock(datetime(2025, 11, 24, 9, 0))
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 11, 24, 9, 0))
