"""The compliance officer's page (/laporan): filters, the conformance report with its charts, and
its downloads (CSV, XLSX, PDF).

Who: holders of the platform role ``kepatuhan`` of a region, and its ``admin_daerah``; each sees
only their own regions. Another region's report, or someone without either role, gets the same
404 as a page that does not exist.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Stream
from markupsafe import Markup

from sop_platform.cases import Actor
from sop_platform.reports import ConformanceReport, ReportError, ReportFilter, conformance_report
from sop_platform.reports.charts import steps_chart, trend_chart
from sop_platform.reports.exports import csv_chunks, write_pdf, write_xlsx
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


def default_period(today: date) -> tuple[date, date]:
    """The period a page opens with: the previous month and this one. The last whole month is
    what a monthly ranking reports on; a page that showed only this month would be all but
    empty in its first days."""
    first = today.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return previous, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _chosen(web: Web, actor: Actor, q: dict[str, str]) -> Chosen:
    regions = report_regions(actor)
    if not regions:
        raise NotFoundException()
    region = q.get("region") or regions[0]
    if region not in regions:
        raise NotFoundException()  # another region's report: as if it did not exist
    today = web.clock.now().astimezone(web.registry.calendar(region).tz).date()
    first, last = default_period(today)
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


def _file_chunks(f: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """A temporary file's bytes in pieces; the file is closed (and so removed) at the end."""
    try:
        f.seek(0)
        while chunk := f.read(size):
            yield chunk
    finally:
        f.close()


def _download(
    web: Web, actor: Actor, q: dict[str, str], fmt: str, lang: str
) -> Response[bytes] | Stream:
    chosen = _chosen(web, actor, q)
    try:
        flt = _filter(chosen)
        report = conformance_report(web.engine, web.registry, flt, web.clock.now())
    except ReportError as err:
        return Response(str(err).encode(), status_code=422, media_type="text/plain; charset=utf-8")
    name = f"laporan-{flt.sop_id}-{flt.since.isoformat()}-{flt.until.isoformat()}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        # Streamed as it is read: one page of visits in memory, the first bytes at once.
        chunks = (c.encode("utf-8") for c in csv_chunks(web.engine, web.registry, flt))
        # (Litestar adds the charset to a text type itself.)
        return Stream(chunks, media_type="text/csv", headers=headers)
    if fmt == "xlsx":
        # A zip is finished only at its end: made in a temporary file, then sent from it.
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _file_chunks)
        try:
            write_xlsx(report, web.engine, web.registry, flt, spool, lang)
            size = spool.tell()
        except BaseException:
            spool.close()
            raise
        headers["Content-Length"] = str(size)
        return Stream(_file_chunks(spool), media_type=MEDIA[fmt], headers=headers)
    binary = io.BytesIO()
    write_pdf(report, binary, lang)
    return Response(binary.getvalue(), media_type=MEDIA[fmt], headers=headers)


@get("/laporan/unduh/{fmt:str}", name="reports_download")
async def reports_download(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    fmt: FromPath[str],
) -> Response[bytes] | Stream:
    if fmt not in MEDIA:
        raise NotFoundException()
    q = {k: str(v) for k, v in request.query_params.items()}
    return await blocking(_download, web_of(state), actor, q, fmt, lang_of(request))


ROUTES = [reports_page, reports_download]
