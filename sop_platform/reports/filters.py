"""What a report is about: region, SOP (one version or all), period, unit, channel; checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rules.model import Region, Sop
from sop_platform.registry import Registry

MAX_PERIOD_DAYS = 800  # two years and a little: enough for a year-on-year look, not unbounded
MIN_CASES_TO_RANK = 5


class ReportError(ValueError):
    """A report request that cannot be answered as asked (nothing is read or written)."""


@dataclass(frozen=True)
class ReportFilter:
    """The report's question. ``since`` and ``until`` are the first and last day, inclusive, in
    the region's own time zone; a case belongs to the period in which it was submitted."""

    region: str
    sop_id: str
    since: date
    until: date
    version: str | None = None
    unit: str | None = None
    channel: str | None = None
    min_cases: int = MIN_CASES_TO_RANK


@dataclass(frozen=True)
class Scope:
    """A checked filter with what the queries need: the definition, the UTC bounds."""

    filter: ReportFilter
    region: Region
    sop: Sop
    versions: tuple[str, ...]
    tz: ZoneInfo
    start: datetime
    end: datetime

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0, 0), self.tz).astimezone(UTC)


def resolve(registry: Registry, flt: ReportFilter) -> Scope:
    """Check every part of the filter against the catalog and the published versions."""
    problems: list[str] = []
    if flt.region not in registry.catalog.regions:
        raise ReportError(f"unknown region '{flt.region}'")
    region = registry.region(flt.region)
    rows = [r for r in registry.published() if r.sop_id == flt.sop_id]
    if not rows or rows[0].region_id != flt.region:
        known = sorted({r.sop_id for r in registry.published() if r.region_id == flt.region})
        raise ReportError(
            f"SOP '{flt.sop_id}' is not published in region '{flt.region}'"
            + (f" (published there: {', '.join(known)})" if known else "")
        )
    versions = sorted(r.version for r in rows)
    chosen = next((r for r in rows if r.version == flt.version), None)
    if flt.version is not None and chosen is None:
        problems.append(
            f"SOP '{flt.sop_id}' has no published version '{flt.version}' "
            f"(versions: {', '.join(versions)})"
        )
    if flt.unit is not None and flt.unit not in region.units:
        problems.append(
            f"unknown unit '{flt.unit}' in region '{flt.region}' "
            f"(units: {', '.join(sorted(region.units))})"
        )
    if flt.until < flt.since:
        problems.append(f"the period ends ({flt.until}) before it starts ({flt.since})")
    elif (flt.until - flt.since).days + 1 > MAX_PERIOD_DAYS:
        problems.append(f"the period is longer than {MAX_PERIOD_DAYS} days")
    if flt.min_cases < 1:
        problems.append("the minimum number of cases to rank a unit must be at least 1")
    row = chosen or max(rows, key=lambda r: r.version)
    sop = registry.by_hash(row.content_hash, row).sop
    if flt.channel is not None:
        channels = set(sop.submission.channels) | set(region.channels)
        if flt.channel not in channels:
            problems.append(
                f"unknown channel '{flt.channel}' (channels: {', '.join(sorted(channels))})"
            )
    if problems:
        raise ReportError("; ".join(problems))
    tz = ZoneInfo(region.calendar.timezone)
    start = datetime.combine(flt.since, time(0, 0), tz).astimezone(UTC)
    end = datetime.combine(flt.until + timedelta(days=1), time(0, 0), tz).astimezone(UTC)
    return Scope(
        filter=flt,
        region=region,
        sop=sop,
        versions=(flt.version,) if flt.version else tuple(versions),
        tz=tz,
        start=start,
        end=end,
    )


def month_bounds(since: date, until: date) -> list[tuple[date, date]]:
    """The calendar months the period touches, each clipped to the period (first, last day)."""
    out: list[tuple[date, date]] = []
    first = since
    while first <= until:
        nxt = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append((first, min(until, nxt - timedelta(days=1))))
        first = nxt
    return out


def week_starts(since: date, until: date) -> list[date]:
    """Mondays of the weeks the period touches (the first may lie before the period)."""
    monday = since - timedelta(days=since.weekday())
    out: list[date] = []
    while monday <= until:
        out.append(monday)
        monday += timedelta(days=7)
    return out
