"""Time limits as the SOP documents write them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from rules.limits import ACCEPTED_FORMS, Clock, Limit, LimitError, Unit, parse_limit

# (text, amount, unit, working_days): every spelling the seed documents use.
DOCUMENT_FORMS = [
    ("5 menit", 5, Unit.minute, False),
    ("10 menit", 10, Unit.minute, False),
    ("120 menit", 120, Unit.minute, False),
    ("Maksimal 120 Menit", 120, Unit.minute, False),
    ("2 jam", 120, Unit.minute, False),
    ("1 x 2 jam", 120, Unit.minute, False),
    ("1×2 jam", 120, Unit.minute, False),
    ("1 x 24 jam", 1440, Unit.minute, False),
    ("1 hari", 1, Unit.day, False),
    ("1 (satu) hari", 1, Unit.day, False),
    ("3 hari kerja", 3, Unit.day, True),
    ("3 (tiga) hari kerja", 3, Unit.day, True),
    ("1 minggu", 7, Unit.day, False),
]

OTHER_ACCEPTED = [
    ("maks. 2 jam", 120, Unit.minute, False),
    ("maksimum 30 menit", 30, Unit.minute, False),
    ("2 x 1 (satu) jam", 120, Unit.minute, False),
    ("1 (satu) x 24 jam", 1440, Unit.minute, False),
    ("1*2 jam", 120, Unit.minute, False),
    ("  5   MENIT ", 5, Unit.minute, False),
    ("3 hari  kerja", 3, Unit.day, True),
    ("2 minggu", 14, Unit.day, False),
    ("15 minutes", 15, Unit.minute, False),
    ("1 hour", 60, Unit.minute, False),
    ("2 hours", 120, Unit.minute, False),
    ("1 day", 1, Unit.day, False),
    ("3 days", 3, Unit.day, False),
    ("5 working days", 5, Unit.day, True),
    ("1 week", 7, Unit.day, False),
]


@pytest.mark.parametrize(("text", "amount", "unit", "working_days"), DOCUMENT_FORMS)
def test_document_forms(text: str, amount: int, unit: Unit, working_days: bool) -> None:
    limit = parse_limit(text)
    assert (limit.amount, limit.unit, limit.working_days) == (amount, unit, working_days)
    assert limit.text == text  # the document's own spelling is kept


@pytest.mark.parametrize(("text", "amount", "unit", "working_days"), OTHER_ACCEPTED)
def test_other_accepted_spellings(text: str, amount: int, unit: Unit, working_days: bool) -> None:
    limit = parse_limit(text)
    assert (limit.amount, limit.unit, limit.working_days) == (amount, unit, working_days)


@pytest.mark.parametrize("text", [t for t, *_ in DOCUMENT_FORMS + OTHER_ACCEPTED])
def test_canonical_round_trips(text: str) -> None:
    limit = parse_limit(text)
    again = parse_limit(limit.canonical())
    assert (again.amount, again.unit, again.working_days) == (
        limit.amount,
        limit.unit,
        limit.working_days,
    )
    assert again.canonical() == limit.canonical()


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Maksimal 120 Menit", "120 menit"),
        ("1 x 24 jam", "1440 menit"),
        ("1 (satu) hari", "1 hari"),
        ("3 (tiga) hari kerja", "3 hari kerja"),
        ("1 minggu", "7 hari"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    assert parse_limit(text).canonical() == canonical


def test_minutes_and_default_clock() -> None:
    assert parse_limit("2 jam").minutes == 120
    assert parse_limit("1 hari").minutes is None
    assert parse_limit("3 hari kerja").minutes is None
    assert parse_limit("2 jam").default_clock() is Clock.calendar
    assert parse_limit("1 hari").default_clock() is Clock.calendar
    assert parse_limit("3 hari kerja").default_clock() is Clock.working_days


def test_limit_is_frozen() -> None:
    limit = parse_limit("5 menit")
    with pytest.raises(ValidationError):
        limit.amount = 6  # type: ignore[misc]
    assert limit == Limit(amount=5, unit=Unit.minute, text="5 menit")


BAD_INPUTS: list[Any] = [
    "",
    "   ",
    "lima menit",
    "5",
    5,
    "0 menit",
    "5 mnt",
    "-5 menit",
    "5 menit kerja",
]
BAD_INPUTS += ["jam 5", "1 x jam", "2,5 jam", True, None, 5.0, ["5 menit"]]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=repr)
def test_bad_inputs_name_the_accepted_forms(bad: Any) -> None:
    with pytest.raises(LimitError) as info:
        parse_limit(bad)
    assert ACCEPTED_FORMS in str(info.value)
    assert "'5 menit'" in str(info.value)
    assert "'3 hari kerja'" in str(info.value)


@pytest.mark.parametrize("bad", ["0 menit", "0 jam", "0 x 24 jam", "0 hari kerja"])
def test_zero_is_refused(bad: str) -> None:
    with pytest.raises(LimitError, match="more than zero"):
        parse_limit(bad)


def test_limit_error_is_a_value_error() -> None:
    # The model turns it into a pydantic error, which needs a ValueError.
    assert issubclass(LimitError, ValueError)
