"""Time limits as the documents write them ("5 menit", "1 x 24 jam", "3 hari kerja").

Every limit parses to a :class:`Limit`: an amount in minutes (calendar or office time) or in days
(calendar days or working days). The canonical written form is ``"<n> menit"``, ``"<n> jam"``,
``"<n> hari"`` or ``"<n> hari kerja"``; the documents' own spellings are accepted too:

* ``1 x 24 jam`` / ``1×2 jam`` (k times n hours),
* ``maksimal 120 menit``, ``1 (satu) hari``, ``3 (tiga) hari kerja``,
* English aliases ``minutes``, ``hours``, ``days``, ``working days``.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Clock(StrEnum):
    """How time is counted for a limit."""

    calendar = "calendar"  # wall-clock time, 24/7 (emergency lines)
    office_hours = "office_hours"  # only within the region's office hours on working days
    working_days = "working_days"  # whole working days on the region's calendar


class Unit(StrEnum):
    minute = "minute"
    day = "day"


class Limit(BaseModel):
    """A parsed time limit: ``amount`` minutes or days, with the text the document used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int
    unit: Unit
    working_days: bool = False
    text: str

    @property
    def minutes(self) -> int | None:
        """The limit in minutes, where it is expressed in minutes (or hours)."""
        return self.amount if self.unit is Unit.minute else None

    def canonical(self) -> str:
        if self.unit is Unit.minute:
            return f"{self.amount} menit"
        return f"{self.amount} hari kerja" if self.working_days else f"{self.amount} hari"

    def default_clock(self) -> Clock:
        return Clock.working_days if self.working_days else Clock.calendar


class LimitError(ValueError):
    """A limit that cannot be read; the message says what forms are accepted."""


_NUMBER_WORDS = r"(?:\s*\([a-z\s]+\))?"  # "3 (tiga)"
_PATTERN = re.compile(
    r"^(?:maks(?:imal|imum)?\.?\s+)?"
    r"(?:(?P<times>\d+)" + _NUMBER_WORDS + r"\s*[x×*]\s*)?"
    r"(?P<amount>\d+)" + _NUMBER_WORDS + r"\s*"
    r"(?P<unit>menit|min|minutes?|jam|hours?|hari\s+kerja|working\s+days?|hari|days?|minggu|weeks?)$"
)

_UNIT_MINUTES = {"menit": 1, "min": 1, "minute": 1, "minutes": 1, "jam": 60, "hour": 60}
_UNIT_MINUTES["hours"] = 60

ACCEPTED_FORMS = "'5 menit', '2 jam', '1 x 24 jam', '1 hari' or '3 hari kerja'"


def parse_limit(text: str | int, *, allow_zero: bool = False) -> Limit:
    """Parse a limit; raise :class:`LimitError` with the accepted forms on failure.

    ``allow_zero`` accepts "0 menit" (a delay such as an escalation rung at the deadline itself).
    """
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise LimitError(f"a limit must be text such as {ACCEPTED_FORMS}")
    if isinstance(text, int):
        raise LimitError(f"'{text}' has no unit; write it as {ACCEPTED_FORMS}")
    raw = text
    norm = re.sub(r"\s+", " ", text.strip().lower())
    match = _PATTERN.match(norm)
    if not match:
        raise LimitError(f"cannot read the time limit '{raw}'; write it as {ACCEPTED_FORMS}")
    times = int(match["times"]) if match["times"] else 1
    amount = int(match["amount"]) * times
    unit = re.sub(r"\s+", " ", match["unit"])
    if amount < 0 or (amount == 0 and not allow_zero):
        raise LimitError(
            f"the time limit '{raw}' must be more than zero; write it as {ACCEPTED_FORMS}"
        )
    if unit in ("hari kerja", "working day", "working days"):
        return Limit(amount=amount, unit=Unit.day, working_days=True, text=raw)
    if unit in ("minggu", "week", "weeks"):
        return Limit(amount=amount * 7, unit=Unit.day, text=raw)
    if unit in ("hari", "day", "days"):
        return Limit(amount=amount, unit=Unit.day, text=raw)
    return Limit(amount=amount * _UNIT_MINUTES[unit], unit=Unit.minute, text=raw)
