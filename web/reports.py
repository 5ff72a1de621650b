"""The compliance officer's page (/laporan): filters, the conformance report with its charts, and
its downloads (CSV, XLSX, PDF).

Who: holders of the platform role ``kepatuhan`` of a region, and its ``admin_daerah``; each sees
only their own regions. Another region's report, or someone without either role, gets the same
404 as a page that does not exist.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from markupsafe import Markup

from sop_platform.cases import Actor
from sop_platform.reports import ConformanceReport, ReportError, ReportFilter, conformance_report
from sop_platform.reports.charts import steps_chart, trend_chart
from sop_platform.reports.exports import write_csv, write_pdf, write_xlsx
from sop_platform.roles import ADMIN_DAERAH, KEPATUHAN
from web.context import Web, blocking, lang_of, page, web_of

REPORT_ROLES = (KEPATUHAN, ADMIN_DAERAH)
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def report_regions(actor: Actor) -> list[str]:
    """The regions whose reports this actor may read."""
    return sorted({g.region for g in actor.grants if g.role in REPORT_ROLES})


@dataclass
class Chosen:
    region: str
    sop: str
    version: str
    since: str
    until: str
    unit: str
    channel: str
    min_cases: int


def _month(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _chosen(web: Web, actor: Actor, q: dict[str, str]) -> Chosen:
    regions = report_regions(actor)
    if not regions:
        raise NotFoundException()
    region = q.get("region") or regions[0]
    if region not in regions:
        raise NotFoundException()  # another region's report: as if it did not exist
    today = web.clock.now().astimezone(web.registry.calendar(region).tz).date()
    first, last = _month(today)
    try:
        min_cases = int(q.get("min_cases") or 5)
    except ValueError:
        min_cases = 0  # refused with the report's own message
    return Chosen(
        region=region,
        sop=q.get("sop", ""),
        version=q.get("version", ""),
        since=q.get("since") or first.isoformat(),
        until=q.get("until") or last.isoformat(),
        unit=q.get("unit", ""),
        channel=q.get("channel", ""),
        min_cases=min_cases,
    )


def _filter(chosen: Chosen) -> ReportFilter:
    try:
        since, until = date.fromisoformat(chosen.since), date.fromisoformat(chosen.until)
    except ValueError as err:
        raise ReportError(f"a date is not YYYY-MM-DD: {err}") from err
    return ReportFilter(
        region=chosen.region,
        sop_id=chosen.sop,
        since=since,
        until=until,
        version=chosen.version or None,
        unit=chosen.unit or None,
        channel=chosen.channel or None,
        min_cases=chosen.min_cases,
    )


def _build(web: Web, actor: Actor, q: dict[str, str], lang: str) -> dict[str, Any]:
    chosen = _chosen(web, actor, q)
    region = web.registry.region(chosen.region)
    published = [r for r in web.registry.published() if r.region_id == chosen.region]
    sops = sorted({(r.sop_id, r.title) for r in published})
    if not chosen.sop and sops:
        chosen.sop = sops[0][0]
    versions = sorted({r.version for r in published if r.sop_id == chosen.sop})
    report: ConformanceReport | None = None
    error: str | None = None
    charts: dict[str, Markup] = {}
    try:
        report = conformance_report(web.engine, web.registry, _filter(chosen), web.clock.now())
        # our own SVG: numbers and escaped labels only
        charts = {
            "steps": Markup(steps_chart(report, lang)),
            "trend": Markup(trend_chart(report, lang)),
        }
    except ReportError as err:
        error = str(err)
    query = {k: v for k, v in vars(chosen).items() if v not in ("", None)}
    return {
        "regions": [(r, web.registry.region(r).name) for r in report_regions(actor)],
        "sops": sops,
        "versions": versions,
        "units": sorted((k, u.name) for k, u in region.units.items()),
        "channels": sorted(region.channels),
        "chosen": chosen,
        "report": report,
        "error": error,
        "charts": charts,
        "query": query,
    }


@get("/laporan", name="reports")
async def reports_page(
    request: Request[Any, Any, Any], state: State, actor: NamedDependency[Actor]
) -> Any:
    q = {k: str(v) for k, v in request.query_params.items()}
    lang = lang_of(request)
    context = await blocking(_build, web_of(state), actor, q, lang)
    status = 422 if context["error"] else 200
    return page(request, "laporan.html", context, block="hasil", status_code=status)


def _download(web: Web, actor: Actor, q: dict[str, str], fmt: str, lang: str) -> Response[bytes]:
    chosen = _chosen(web, actor, q)
    try:
        flt = _filter(chosen)
        report = conformance_report(web.engine, web.registry, flt, web.clock.now())
    except ReportError as err:
        return Response(str(err).encode(), status_code=422, media_type="text/plain; charset=utf-8")
    if fmt == "csv":
        text = io.StringIO()
        write_csv(web.engine, web.registry, flt, text)
        data = text.getvalue().encode("utf-8")
    else:
        binary = io.BytesIO()
        if fmt == "xlsx":
            write_xlsx(report, web.engine, web.registry, flt, binary, lang)
        else:
            write_pdf(report, binary, lang)
        data = binary.getvalue()
    name = f"laporan-{flt.sop_id}-{flt.since.isoformat()}-{flt.until.isoformat()}.{fmt}"
    return Response(
        data,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@get("/laporan/unduh/{fmt:str}", name="reports_download")
async def reports_download(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    fmt: FromPath[str],
) -> Response[bytes]:
    if fmt not in MEDIA:
        raise NotFoundException()
    q = {k: str(v) for k, v in request.query_params.items()}
    return await blocking(_download, web_of(state), actor, q, fmt, lang_of(request))


ROUTES = [reports_page, reports_download]
