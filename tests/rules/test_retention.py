"""Retention periods as SOPs write them, and when a closed case's personal data expires."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.loader import Catalog
from rules.retention import RetentionError, parse_retention


@pytest.mark.parametrize(
    ("text", "months", "days"),
    [
        ("2 tahun", 24, 0),
        ("6 bulan", 6, 0),
        ("90 hari", 0, 90),
        ("1 (satu) Tahun", 12, 0),
        ("3 months", 3, 0),
    ],
)
def test_periods_read_as_months_and_days(text: str, months: int, days: int) -> None:
    period = parse_retention(text)
    assert (period.months, period.days, period.text) == (months, days, text)


@pytest.mark.parametrize("text", ["selamanya", "0 tahun", "2", "2 jam", ""])
def test_unreadable_periods_say_what_is_accepted(text: str) -> None:
    with pytest.raises(RetentionError, match=r"2 tahun|more than zero|must be text"):
        parse_retention(text)


def test_a_number_without_unit_is_refused() -> None:
    with pytest.raises(RetentionError, match="must be text"):
        parse_retention(2)


def test_years_and_months_count_by_the_calendar() -> None:
    closed = datetime(2024, 2, 29, 10, 0, tzinfo=UTC)
    assert parse_retention("1 tahun").expires(closed) == datetime(2025, 2, 28, 10, 0, tzinfo=UTC)
    assert parse_retention("2 tahun").expires(closed) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    march = datetime(2025, 3, 31, 8, 0, tzinfo=UTC)
    assert parse_retention("1 bulan").expires(march) == datetime(2025, 4, 30, 8, 0, tzinfo=UTC)
    assert parse_retention("11 bulan").expires(march) == datetime(2026, 2, 28, 8, 0, tzinfo=UTC)
    assert parse_retention("30 hari").expires(march) == datetime(2025, 4, 30, 8, 0, tzinfo=UTC)


def test_every_seed_sop_declares_its_retention(catalog: Catalog) -> None:
    for loaded in catalog.latest().values():
        assert loaded.sop.retention is not None, loaded.path
        assert loaded.sop.retention.months == 24
