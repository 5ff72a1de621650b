"""How long a closed case's personal data is kept ("2 tahun", "6 bulan", "90 hari").

UU 27/2022 (Pelindungan Data Pribadi) lets personal data be kept only as long as its purpose
needs; each SOP says for how long after a case is closed. The period is counted in calendar
terms: years and months by the calendar (a case closed on 31 March with "1 bulan" expires on
30 April), days as days.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

RETENTION_FORMS = "'2 tahun', '6 bulan' or '90 hari'"

_PATTERN = re.compile(
    r"^(?P<amount>\d+)(?:\s*\([a-z\s]+\))?\s*(?P<unit>tahun|years?|bulan|months?|hari|days?)$"
)


class RetentionError(ValueError):
    """A retention period that cannot be read."""


class Retention(BaseModel):
    """A retention period: whole months (years are twelve) and days, as written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    months: int = 0
    days: int = 0
    text: str

    def expires(self, closed_at: datetime) -> datetime:
        """The moment after which a case closed at ``closed_at`` keeps no personal data."""
        month_index = closed_at.month - 1 + self.months
        year = closed_at.year + month_index // 12
        month = month_index % 12 + 1
        day = min(closed_at.day, calendar.monthrange(year, month)[1])
        return closed_at.replace(year=year, month=month, day=day) + timedelta(days=self.days)


def parse_retention(text: object) -> Retention:
    if isinstance(text, bool) or not isinstance(text, str):
        raise RetentionError(f"a retention period must be text such as {RETENTION_FORMS}")
    norm = re.sub(r"\s+", " ", text.strip().lower())
    match = _PATTERN.match(norm)
    if not match:
        raise RetentionError(
            f"cannot read the retention period '{text}'; write it as {RETENTION_FORMS}"
        )
    amount = int(match["amount"])
    if amount <= 0:
        raise RetentionError(f"the retention period '{text}' must be more than zero")
    unit = match["unit"]
    if unit in ("tahun", "year", "years"):
        return Retention(months=12 * amount, text=text)
    if unit in ("bulan", "month", "months"):
        return Retention(months=amount, text=text)
    return Retention(days=amount, text=text)
