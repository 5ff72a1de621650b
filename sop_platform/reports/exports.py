"""The report as files: CSV (one row per step visit), XLSX (openpyxl) and PDF (fpdf2).

The CSV and the XLSX's raw sheet stream the visits from the database in pages; the figures come
from the already computed :class:`ConformanceReport`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.utils import get_column_letter
from sqlalchemy import Engine, and_, func, or_, select

from sop_platform.registry import Registry
from sop_platform.reports import charts, figures
from sop_platform.reports.conformance import ConformanceReport
from sop_platform.reports.filters import ReportFilter, resolve

FORMATS = ("csv", "xlsx", "pdf", "json")
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows less the header

VISIT_COLUMNS = (
    "tracking_number",
    "case_id",
    "sop_id",
    "sop_version",
    "channel",
    "case_unit",
    "case_status",
    "submitted_at",
    "closed_at",
    "visit_id",
    "step",
    "role",
    "visit_unit",
    "entered_at",
    "left_at",
    "due_at",
    "limit_text",
    "clock",
    "calendar_version",
    "outcome",
    "elapsed_minutes",
    "paused_minutes",
    "overrun_minutes",
    "pauses",
    "breached_at",
    "escalation_level",
)

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan Kepatuhan SOP",
        "period": "Periode",
        "generated": "Dibuat",
        "sop": "SOP",
        "version": "Versi",
        "document": "Nomor dokumen",
        "legal": "Dasar hukum",
        "filters": "Saringan",
        "unit": "Unit",
        "channel": "Kanal",
        "all": "semua",
        "steps": "Per tahap",
        "step": "Tahap",
        "limit": "Batas waktu",
        "visits": "Kunjungan",
        "open": "Terbuka",
        "met": "Tepat waktu",
        "breached": "Terlambat",
        "share": "% tepat",
        "median": "Median (menit)",
        "p90": "P90 (menit)",
        "paused": "Jeda (menit)",
        "worst": "Keterlambatan terbesar",
        "overrun": "Lewat (menit)",
        "whole": "Seluruh kasus (masuk sampai selesai)",
        "submitted": "Kasus masuk",
        "closed": "Selesai/ditutup",
        "total": "Total SOP",
        "within": "Dalam total",
        "late": "Kasus terbuka yang sudah terlambat",
        "due": "Batas",
        "late_by": "Terlambat (menit)",
        "ranking": "Peringkat unit per bulan",
        "rank": "Peringkat",
        "cases": "Kasus",
        "unranked": "Belum diperingkat",
        "stats": "Statistik",
        "by_channel": "Menurut kanal",
        "by_category": "Menurut kategori",
        "by_unit": "Menurut unit",
        "by_status": "Menurut status",
        "done": "Dijawab/selesai",
        "questions": "Pertanyaan dan saran",
        "obligations": "Kewajiban berkala",
        "fulfilled": "Dipenuhi",
        "missed": "Terlewat",
        "trend": "Tren mingguan",
        "week": "Minggu",
        "chart_steps": "Tepat waktu vs. terlambat per tahap",
        "page": "Halaman",
        "pauses": "Jeda",
        "minutes_note": "Waktu dihitung pada jam tahap itu sendiri (menit jam kerja untuk batas "
        "jam kerja dan hari kerja), tanpa waktu jeda.",
        "none": "tidak ada",
    },
    "en": {
        "title": "SOP Conformance Report",
        "period": "Period",
        "generated": "Generated",
        "sop": "SOP",
        "version": "Version",
        "document": "Document number",
        "legal": "Legal basis",
        "filters": "Filters",
        "unit": "Unit",
        "channel": "Channel",
        "all": "all",
        "steps": "Per step",
        "step": "Step",
        "limit": "Limit",
        "visits": "Visits",
        "open": "Open",
        "met": "Met",
        "breached": "Breached",
        "share": "% met",
        "median": "Median (min)",
        "p90": "P90 (min)",
        "paused": "Paused (min)",
        "worst": "Worst overruns",
        "overrun": "Over (min)",
        "whole": "Whole case (submitted to closed)",
        "submitted": "Cases submitted",
        "closed": "Closed",
        "total": "SOP total",
        "within": "Within total",
        "late": "Open cases already late",
        "due": "Due",
        "late_by": "Late (min)",
        "ranking": "Monthly unit ranking",
        "rank": "Rank",
        "cases": "Cases",
        "unranked": "Not ranked",
        "stats": "Statistics",
        "by_channel": "By channel",
        "by_category": "By category",
        "by_unit": "By unit",
        "by_status": "By status",
        "done": "Answered/done",
        "questions": "Questions and suggestions",
        "obligations": "Recurring obligations",
        "fulfilled": "Fulfilled",
        "missed": "Missed",
        "trend": "Weekly trend",
        "week": "Week",
        "chart_steps": "Met vs. breached per step",
        "page": "Page",
        "pauses": "Pauses",
        "minutes_note": "Times are counted on each step's own clock (office minutes for "
        "office-hours and working-day limits), paused time excluded.",
        "none": "none",
    },
}


def _words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["id"])


# --- raw visits ---------------------------------------------------------------------------


def visit_rows(
    engine: Engine, registry: Registry, flt: ReportFilter, page: int = 500
) -> Iterator[tuple[Any, ...]]:
    """Every step visit of the report's cases, case by case (in the order they came in) and
    each case's visits in order, read ``page`` cases at a time.

    Each page seeks the next cases on ``ix_case_sop`` (sop, submitted) after the last one read
    and takes their visits through ``ix_step_visit_case``: every page costs the same however
    far into the year it is, only one page is in memory, and no transaction stays open while
    the rows are written out. (Paging on the visit id instead made each page search the
    period's cases again: a year of 1 M visits took 550 s to write as CSV.)"""
    scope = resolve(registry, flt)
    C, V, P = figures.C, figures.V, figures.P
    pause_count = select(func.count()).where(P.c.visit_id == V.c.id).correlate(V).scalar_subquery()
    columns = (
        C.c.tracking_number,
        C.c.id,
        C.c.sop_id,
        C.c.sop_version,
        C.c.channel,
        C.c.unit_key,
        C.c.status,
        C.c.created_at,
        C.c.closed_at,
        V.c.id,
        V.c.step,
        V.c.role,
        V.c.unit_key,
        V.c.entered_at,
        V.c.left_at,
        V.c.due_at,
        V.c.limit_text,
        V.c.clock,
        V.c.calendar_version,
        V.c.outcome,
        V.c.elapsed_minutes,
        V.c.paused_minutes,
        V.c.overrun_minutes,
        pause_count,
        V.c.breached_at,
        V.c.escalation_level,
    )
    conditions = figures.case_conditions(scope)
    last: tuple[datetime, int] | None = None
    while True:
        cases = select(C.c.created_at, C.c.id).where(*conditions)
        if last is not None:
            cases = cases.where(
                or_(C.c.created_at > last[0], and_(C.c.created_at == last[0], C.c.id > last[1]))
            )
        with engine.connect() as conn:
            found = conn.execute(cases.order_by(C.c.created_at, C.c.id).limit(page)).all()
            if not found:
                return
            rows = conn.execute(
                select(*columns)
                .select_from(V.join(C, C.c.id == V.c.case_id))
                .where(V.c.case_id.in_([r[1] for r in found]))
                .order_by(C.c.created_at, C.c.id, V.c.entered_at, V.c.id)
            ).all()
        yield from (tuple(r) for r in rows)
        if len(found) < page:
            return
        last = (found[-1][0], found[-1][1])


_TIME_COLUMNS = tuple(i for i, name in enumerate(VISIT_COLUMNS) if name.endswith("_at"))


def _csv_page(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as the CSV writes them: times in ISO 8601 (UTC); an empty value stays empty (the
    csv module writes ``None`` as nothing)."""
    out: list[list[Any]] = []
    for row in rows:
        values = list(row)
        for i in _TIME_COLUMNS:
            value = values[i]
            if value is not None:
                values[i] = value.isoformat()
        out.append(values)
    return out


def _pages(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    page: list[tuple[Any, ...]] = []
    for row in rows:
        page.append(row)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def csv_chunks(
    engine: Engine, registry: Registry, flt: ReportFilter, page: int = 5000
) -> Iterator[str]:
    """The CSV in pieces of ``page`` rows (the header first), for a streamed download: only one
    page of visits is ever in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(VISIT_COLUMNS)
    yield buffer.getvalue()
    for rows in _pages(visit_rows(engine, registry, flt, page), page):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_page(rows))
        yield buffer.getvalue()


def write_csv(engine: Engine, registry: Registry, flt: ReportFilter, out: IO[str]) -> int:
    """One row per step visit with every timestamp (ISO 8601, UTC); returns the rows written.
    Streamed: the visits are read and written a page at a time."""
    writer = csv.writer(out)
    writer.writerow(VISIT_COLUMNS)
    n = 0
    for rows in _pages(visit_rows(engine, registry, flt), 5000):
        writer.writerows(_csv_page(rows))
        n += len(rows)
    return n


# --- XLSX ---------------------------------------------------------------------------------


_STAND_IN = datetime(2000, 1, 1)
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
_COLUMN_LETTERS = tuple(get_column_letter(i + 1) for i in range(len(VISIT_COLUMNS)))
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    if not value.isprintable():
        value = _NOT_XML.sub("", value)
    if "&" in value or "<" in value or ">" in value:
        return escape(value)
    return value


def _sheet_rows(rows: Iterator[tuple[Any, ...]], date_style: str) -> Iterator[str]:
    """The raw visits as worksheet XML, a page of rows at a time (from row 2, below the header).

    openpyxl spends about 8 microseconds on each cell of a write-only sheet, 26 cells a visit:
    over a year of visits that is minutes, so these rows are written as text. Times are Excel
    serial numbers in UTC (Excel has no time zones; the header says UTC), in the date style
    openpyxl registered for the stand-in row."""
    letters = _COLUMN_LETTERS
    epoch = _EXCEL_EPOCH
    page: list[str] = []
    for n, row in enumerate(rows, start=2):
        if n > XLSX_MAX_ROWS + 1:
            break  # the CSV has them all; a sheet cannot hold more
        cells = [f'<row r="{n}">']
        for letter, value in zip(letters, row, strict=True):
            if value is None:
                continue
            if isinstance(value, str):
                cells.append(
                    f'<c r="{letter}{n}" t="inlineStr"><is><t>{_xml_text(value)}</t></is></c>'
                )
            elif isinstance(value, datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=UTC)
                serial = (value - epoch).total_seconds() / 86400
                cells.append(f'<c r="{letter}{n}" s="{date_style}"><v>{serial!r}</v></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{letter}{n}" t="b"><v>{int(value)}</v></c>')
            else:
                cells.append(f'<c r="{letter}{n}"><v>{value}</v></c>')
        cells.append("</row>")
        page.append("".join(cells))
        if len(page) >= 2000:
            yield "".join(page)
            page = []
    if page:
        yield "".join(page)


def _with_raw_rows(
    shell: io.BytesIO, sheet: str, rows: Iterator[tuple[Any, ...]], out: IO[bytes]
) -> None:
    """Copy the workbook openpyxl wrote to ``out``, the raw sheet's stand-in row replaced by
    the visits, streamed into the zip entry (never the whole sheet in memory)."""
    with (
        zipfile.ZipFile(shell) as source,
        # Level 1 for the raw sheet (the other parts keep openpyxl's): it is mostly repeated
        # markup, and stronger levels cost far more time than they save space.
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename != sheet:
                target.writestr(info, data)
                continue
            xml = data.decode("utf-8")
            head, rest = xml.split('<row r="2">', 1)
            stand_in, tail = rest.split("</row>", 1)
            found = re.search(r' s="(\d+)"', stand_in)
            date_style = found.group(1) if found else "0"
            with target.open(sheet, "w", force_zip64=True) as f:
                f.write(head.encode("utf-8"))
                for chunk in _sheet_rows(rows, date_style):
                    f.write(chunk.encode("utf-8"))
                f.write(tail.encode("utf-8"))


def write_xlsx(
    report: ConformanceReport,
    engine: Engine,
    registry: Registry,
    flt: ReportFilter,
    out: IO[bytes],
    lang: str = "id",
) -> None:
    """Summary, per-step, trend, per-unit and statistics sheets, and the raw visits."""
    w = _words(lang)
    book = Workbook(write_only=True)
    summary = book.create_sheet("Ringkasan" if lang == "id" else "Summary")
    _widths(summary, {"A": 34, "B": 60})
    for line in _summary_lines(report, w):
        summary.append(line)

    steps = book.create_sheet("Tahap" if lang == "id" else "Steps")
    _widths(steps, {"A": 24, "C": 20, "D": 14, "M": 60})
    steps.append(
        [
            w["step"],
            "No.",
            w["limit"],
            "clock",
            w["visits"],
            w["open"],
            w["met"],
            w["breached"],
            w["share"],
            w["median"],
            w["p90"],
            w["paused"],
            w["worst"],
        ]
    )
    for s in report.steps:
        worst = "; ".join(
            f"{x['tracking_number']} +{_minutes(x['overrun_minutes'])}" for x in s.worst
        )
        steps.append(
            [
                s.step,
                s.number,
                s.limit,
                s.clock,
                s.visits,
                s.open,
                s.met,
                s.breached,
                s.share_met,
                s.median_minutes,
                s.p90_minutes,
                s.paused_minutes,
                worst,
            ]
        )
    n_steps = len(report.steps)
    if n_steps:
        chart = BarChart()
        chart.type = "bar"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = w["chart_steps"]
        data = Reference(steps, min_col=7, max_col=8, min_row=1, max_row=n_steps + 1)
        cats = Reference(steps, min_col=1, min_row=2, max_row=n_steps + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart.width, chart.height = 18, 3 + 0.8 * n_steps
        steps.add_chart(chart, f"A{n_steps + 4}")

    trend = book.create_sheet("Tren" if lang == "id" else "Trend")
    trend.append([w["week"], w["cases"], w["met"], w["breached"]])
    for t in report.trend:
        trend.append([t["week"], t["cases"], t["met"], t["breached"]])
    if report.trend:
        line = BarChart()
        line.title = w["trend"]
        data = Reference(trend, min_col=3, max_col=4, min_row=1, max_row=len(report.trend) + 1)
        cats = Reference(trend, min_col=1, min_row=2, max_row=len(report.trend) + 1)
        line.add_data(data, titles_from_data=True)
        line.set_categories(cats)
        line.width, line.height = 24, 8
        trend.add_chart(line, "F2")

    units = book.create_sheet("Unit")
    _widths(units, {"A": 12, "C": 16, "D": 44})
    units.append([report.rule_id if lang == "id" else report.rule_en])
    units.append(
        [
            "bulan/month",
            w["rank"],
            w["unit"],
            "nama",
            w["cases"],
            w["visits"],
            w["met"],
            w["breached"],
            w["share"],
            w["median"],
        ]
    )
    for month in report.months:
        for u in month.ranked + month.unranked:
            units.append(
                [
                    month.month,
                    u.rank if u.rank is not None else w["unranked"],
                    u.unit,
                    u.name,
                    u.cases,
                    u.visits,
                    u.met,
                    u.breached,
                    u.share_met,
                    u.median_minutes,
                ]
            )

    stats = book.create_sheet("Statistik" if lang == "id" else "Statistics")
    _widths(stats, {"A": 30, "B": 16, "C": 16, "D": 16})
    for title, rows in _stat_tables(report, w):
        stats.append([title])
        stats.append(["", w["cases"], w["closed"], w["done"]])
        for r in rows:
            stats.append([r["key"], r["cases"], r["closed"], r["done"]])
        stats.append([])
    stats.append([w["obligations"]])
    stats.append(["", w["unit"], w["fulfilled"], w["missed"]])
    for o in report.statistics["obligations"]:
        stats.append([o["obligation"], o["unit"], o["fulfilled"], o["missed"]])

    raw = book.create_sheet("Kunjungan" if lang == "id" else "Visits")
    # Wide enough for a date and time (Excel shows #### in a narrower column) and the ids.
    _widths(
        raw,
        {
            letter: 20 if name.endswith("_at") or name == "tracking_number" else 15
            for letter, name in zip(_COLUMN_LETTERS, VISIT_COLUMNS, strict=True)
        },
    )
    raw.append(
        [*VISIT_COLUMNS[:7], *(f"{c} (UTC)" if c.endswith("_at") else c for c in VISIT_COLUMNS[7:])]
    )
    # A stand-in row: openpyxl registers its date style, and the rows are put in its place.
    raw.append([_STAND_IN])
    shell = io.BytesIO()
    book.save(shell)
    sheet = f"xl/worksheets/sheet{len(book.worksheets)}.xml"
    _with_raw_rows(shell, sheet, visit_rows(engine, registry, flt), out)


def _widths(sheet: Any, widths: dict[str, float]) -> None:
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width


def _summary_lines(report: ConformanceReport, w: dict[str, str]) -> list[list[Any]]:
    doc = report.document
    whole = report.whole_case
    lines: list[list[Any]] = [
        [w["title"]],
        [report.region_name],
        [w["sop"], f"{report.sop_title} ({report.sop_id})"],
        [w["version"], ", ".join(report.versions)],
        [w["document"], " ".join(x for x in (doc.get("kind"), doc.get("number")) if x) or "-"],
        [w["period"], f"{report.since.isoformat()} - {report.until.isoformat()}"],
        [w["unit"], report.unit_name or w["all"]],
        [w["channel"], report.channel or w["all"]],
        [w["generated"], _local(report.generated_at, report.timezone)],
        [],
        [w["legal"]],
        *[[x] for x in report.legal_basis],
        [],
        [w["whole"]],
        [w["submitted"], whole["submitted"]],
        [w["closed"], whole["closed"]],
        [w["median"], whole["median"]],
        [w["p90"], whole["p90"]],
        [w["total"], whole["total_limit"] or "-"],
        [w["within"], whole["within_total"]],
        [w["late"], report.late_total],
        [],
        [w["minutes_note"]],
    ]
    return lines


def _stat_tables(
    report: ConformanceReport, w: dict[str, str]
) -> list[tuple[str, list[dict[str, Any]]]]:
    st = report.statistics
    tables: list[tuple[str, list[dict[str, Any]]]] = [(w["by_channel"], st["by_channel"])]
    for name, rows in st["by_category"].items():
        tables.append((f"{w['by_category']}: {name}", rows))
    tables.append((w["by_unit"], st["by_unit"]))
    tables.append((w["by_status"], st["by_status"]))
    if st["questions_suggestions"]:
        tables.append((w["questions"], st["questions_suggestions"]))
    return tables


def _stat_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[r["key"], r["cases"], r["closed"], r["done"]] for r in rows] or [["-", 0, 0, 0]]


# --- PDF ----------------------------------------------------------------------------------

_LATIN1 = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "-"}
)


def _latin(text: Any) -> str:
    """The PDF's built-in Helvetica covers Latin-1: fold the few wider characters SOP text uses
    (no font file to ship or install)."""
    s = "" if text is None else str(text)
    return s.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


class _ReportPdf(FPDF):
    def __init__(self, report: ConformanceReport, w: dict[str, str]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report = report
        self.w_ = w
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(14, 14, 14)

    def header(self) -> None:
        self.set_font("Helvetica", "B", 9)
        self.set_text_color(80, 80, 80)
        self.cell(0, 5, _latin(self.report.region_name), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 8)
        self.cell(
            0,
            4,
            _latin(f"{self.w_['title']} - {self.report.sop_title}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.set_draw_color(150, 150, 150)
        self.line(14, self.get_y() + 1, 196, self.get_y() + 1)
        self.ln(4)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        r = self.report
        left = (
            f"{self.w_['period']} {r.since.isoformat()} - {r.until.isoformat()}  |  "
            f"{self.w_['generated']} {_local(r.generated_at, r.timezone)}"
        )
        self.cell(120, 5, _latin(left))
        self.cell(0, 5, f"{self.w_['page']} {self.page_no()}/{{nb}}", align="R")

    def heading(self, text: str, need: float = 30) -> None:
        """A section title, on a new page when less than ``need`` mm would follow it."""
        if self.get_y() + need > self.h - 16:
            self.add_page()
        self.ln(2)
        self.set_font("Helvetica", "B", 11)
        self.cell(0, 7, _latin(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 8)

    def grid(self, head: list[str], rows: list[list[Any]], widths: tuple[int, ...]) -> None:
        self.set_font("Helvetica", "", 7.5)
        style = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
        with self.table(
            col_widths=widths, headings_style=style, line_height=4.2, text_align="LEFT"
        ) as table:
            head_row = table.row()
            for h in head:
                head_row.cell(_latin(h))
            for r in rows:
                row = table.row()
                for v in r:
                    row.cell(_latin("-" if v is None else v))
        self.ln(2)

    def svg(self, svg_text: str) -> None:
        """Embed a chart at about its drawn size (0.3 mm per SVG pixel), never wider than the
        page's text area."""
        px = float(svg_text.split("width='", 1)[1].split("'", 1)[0])
        width = min(px * 0.3, self.w - 28)
        self.image(io.BytesIO(svg_text.encode("utf-8")), w=width)
        self.ln(2)


def _local(when: datetime, timezone: str) -> str:
    local = when.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def _minutes(value: float | None) -> float | None:
    """Minutes as the report prints them: to two decimals, as the medians."""
    return None if value is None else round(float(value), 2)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def write_pdf(report: ConformanceReport, out: IO[bytes], lang: str = "id") -> None:
    """A printable report: the region's header, the SOP's identity, tables, charts, page
    numbers, the period and the generation time on every page."""
    w = _words(lang)
    tz = report.timezone
    pdf = _ReportPdf(report, w)
    pdf.set_title(_latin(f"{w['title']} {report.sop_id}"))
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, _latin(f"{w['title']}: {report.sop_title}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    doc = report.document
    identity = [
        (w["sop"], f"{report.sop_id}, {w['version'].lower()} {', '.join(report.versions)}"),
        (w["document"], " ".join(x for x in (doc.get("kind"), doc.get("number")) if x) or "-"),
        (w["period"], f"{report.since.isoformat()} - {report.until.isoformat()}"),
        (
            w["filters"],
            f"{w['unit']}: {report.unit_name or w['all']}; "
            f"{w['channel']}: {report.channel or w['all']}",
        ),
        (w["generated"], _local(report.generated_at, report.timezone)),
    ]
    for label, value in identity:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(36, 5, _latin(label))
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, _latin(value), new_x="LMARGIN", new_y="NEXT")
    if report.legal_basis:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, _latin(w["legal"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        for item in report.legal_basis:
            pdf.multi_cell(0, 4, _latin(f"- {item}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, _latin(w["minutes_note"]), new_x="LMARGIN", new_y="NEXT")

    pdf.heading(w["steps"])
    pdf.grid(
        [
            w["step"],
            w["limit"],
            w["visits"],
            w["open"],
            w["met"],
            w["breached"],
            w["share"],
            w["median"],
            w["p90"],
            w["paused"],
        ],
        [
            [
                f"{s.number + '. ' if s.number else ''}{s.step}",
                s.limit,
                s.visits,
                s.open,
                s.met,
                s.breached,
                _pct(s.share_met),
                s.median_minutes,
                s.p90_minutes,
                s.paused_minutes,
            ]
            for s in report.steps
        ],
        (36, 22, 17, 14, 15, 16, 13, 17, 16, 16),
    )
    pdf.svg(charts.steps_chart(report, lang))
    worst = [
        [s.step, x["tracking_number"], x["unit_key"], _minutes(x["overrun_minutes"])]
        for s in report.steps
        for x in s.worst
    ]
    if worst:
        pdf.heading(w["worst"])
        pdf.grid([w["step"], "No.", w["unit"], w["overrun"]], worst, (50, 60, 40, 30))

    if report.pauses:
        pdf.heading(f"{w['pauses']} ({report.pauses_total})")
        pdf.grid(
            ["No.", w["step"], "alasan/reason", "dari/from", "sampai/to"],
            [
                [
                    p["tracking_number"],
                    p["step"],
                    p["reason"],
                    _local(p["paused_at"], tz),
                    _local(p["resumed_at"], tz) if p["resumed_at"] else "-",
                ]
                for p in report.pauses
            ],
            (44, 30, 40, 34, 34),
        )

    whole = report.whole_case
    pdf.heading(w["whole"])
    pdf.grid(
        [w["submitted"], w["closed"], w["median"], w["p90"], w["total"], w["within"]],
        [
            [
                whole["submitted"],
                whole["closed"],
                whole["median"],
                whole["p90"],
                whole["total_limit"] or "-",
                whole["within_total"] if whole["total_limit"] else "-",
            ]
        ],
        (30, 30, 30, 30, 30, 30),
    )

    pdf.heading(f"{w['late']} ({report.late_total})")
    if report.late:
        pdf.grid(
            ["No.", w["step"], w["unit"], w["due"], w["late_by"]],
            [
                [
                    x["tracking_number"],
                    x["step"],
                    x["unit_key"],
                    _local(x["due_at"], report.timezone),
                    x["late_minutes"],
                ]
                for x in report.late
            ],
            (50, 40, 30, 36, 26),
        )
    else:
        pdf.cell(0, 5, _latin(w["none"]), new_x="LMARGIN", new_y="NEXT")

    pdf.heading(w["trend"], need=75)
    pdf.svg(charts.trend_chart(report, lang))

    pdf.heading(w["ranking"])
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(
        0,
        4,
        _latin(report.rule_id if lang == "id" else report.rule_en),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for month in report.months:
        rows = [
            [
                u.rank if u.rank is not None else w["unranked"],
                u.name,
                u.cases,
                u.met,
                u.breached,
                _pct(u.share_met),
                u.median_minutes,
            ]
            for u in month.top + month.bottom + month.unranked
        ]
        if rows:
            pdf.heading(month.month)
            pdf.grid(
                [
                    w["rank"],
                    w["unit"],
                    w["cases"],
                    w["met"],
                    w["breached"],
                    w["share"],
                    w["median"],
                ],
                rows,
                (22, 70, 16, 18, 18, 18, 20),
            )

    pdf.heading(w["stats"])
    for title, counted in _stat_tables(report, w):
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(0, 5, _latin(title), new_x="LMARGIN", new_y="NEXT")
        pdf.grid(
            ["", w["cases"], w["closed"], w["done"]],
            _stat_rows(counted),
            (70, 30, 30, 30),
        )
    if report.statistics["obligations"]:
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(0, 5, _latin(w["obligations"]), new_x="LMARGIN", new_y="NEXT")
        pdf.grid(
            ["", w["unit"], w["fulfilled"], w["missed"]],
            [
                [o["obligation"], o["unit"], o["fulfilled"], o["missed"]]
                for o in report.statistics["obligations"]
            ],
            (60, 50, 30, 30),
        )
    out.write(bytes(pdf.output()))
