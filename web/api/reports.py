"""``GET /api/v1/reports/conformance``: the SOP conformance report as JSON, for the same readers
as the report page — the region's compliance officer (``kepatuhan``) and administrator
(``admin_daerah``), signed in or through a key holding ``kepatuhan``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from sop_platform.reports import ReportError, ReportFilter, conformance_report
from sop_platform.reports.filters import MIN_CASES_TO_RANK
from sop_platform.roles import ADMIN_DAERAH, KEPATUHAN
from web.api.access import Caller
from web.api.cases import KEY_OR_SESSION, region_or_404
from web.api.errors import ApiProblem, ErrorDetail, bad_input, responses
from web.context import blocking, web_of

REPORT_ROLES = (KEPATUHAN, ADMIN_DAERAH)
DATE_HELP = "a day as YYYY-MM-DD, in the region's time zone"


def _day(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_input(name, f"not a date; {DATE_HELP}") from None


@get(
    "/reports/conformance",
    summary="The SOP conformance report of one SOP in one region, for a period",
    tags=["reports"],
    security=KEY_OR_SESSION,
    responses=responses(400, 401, 403, 404),
)
async def conformance(
    state: State,
    caller: NamedDependency[Caller],
    region: Annotated[str, QueryParameter(min_length=1, max_length=64)],
    sop: Annotated[str, QueryParameter(min_length=1, max_length=100)],
    since: Annotated[str, QueryParameter(format="date", max_length=10, description=DATE_HELP)],
    until: Annotated[str, QueryParameter(format="date", max_length=10, description=DATE_HELP)],
    version: Annotated[str | None, QueryParameter(max_length=50)] = None,
    unit: Annotated[str | None, QueryParameter(max_length=64)] = None,
    channel: Annotated[str | None, QueryParameter(max_length=64)] = None,
    min_cases: Annotated[int, QueryParameter(ge=1, le=10_000)] = MIN_CASES_TO_RANK,
) -> dict[str, Any]:
    """Every figure of the report page (steps, whole case, late cases, pauses, trend, monthly
    unit ranking, statistics), as ``ConformanceReport.to_dict()`` gives it."""
    web = web_of(state)
    first, last = _day("since", since), _day("until", until)
    region_or_404(web, region)
    if not any(g.region == region and g.role in REPORT_ROLES for g in caller.actor.grants):
        raise ApiProblem(
            403,
            "forbidden",
            f"Laporan kepatuhan {region} hanya untuk petugas kepatuhan atau administrator daerah.",
            f"The conformance reports of {region} are for its compliance officer or administrator.",
        )
    flt = ReportFilter(
        region=region,
        sop_id=sop,
        since=first,
        until=last,
        version=version,
        unit=unit,
        channel=channel,
        min_cases=min_cases,
    )

    def run() -> dict[str, Any]:
        try:
            found = conformance_report(web.engine, web.registry, flt, web.clock.now())
        except ReportError as err:
            raise ApiProblem(
                400, details=[ErrorDetail(message=p) for p in str(err).split("; ")]
            ) from None
        return found.to_dict()

    return await blocking(run)


ROUTES = [conformance]
