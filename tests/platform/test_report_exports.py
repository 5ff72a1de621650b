"""The report's files: CSV rows per visit, the XLSX's sheets and charts, a PDF, the SVG charts."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from rules.evaluator import Evaluator
from sop_platform.registry import Registry
from sop_platform.reports import ConformanceReport, conformance_report
from sop_platform.reports.charts import steps_chart, trend_chart
from sop_platform.reports.exports import VISIT_COLUMNS, write_csv, write_pdf, write_xlsx
from tests.platform.reports_history import NOW, build_history, uji_registry
from tests.platform.test_reports import DECEMBER


@pytest.fixture
def made(
    db_engine: Engine, tmp_path: Path, evaluator: Evaluator
) -> tuple[Registry, dict[str, str], ConformanceReport]:
    registry = uji_registry(db_engine, tmp_path / "defs", evaluator)
    numbers = build_history(db_engine, registry)
    return registry, numbers, conformance_report(db_engine, registry, DECEMBER, NOW)


def test_csv_has_one_row_per_step_visit_with_every_timestamp(
    db_engine: Engine, made: tuple[Registry, dict[str, str], ConformanceReport]
) -> None:
    registry, numbers, _ = made
    out = io.StringIO()
    assert write_csv(db_engine, registry, DECEMBER, out) == 12  # 9 working visits + 3 end steps
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == VISIT_COLUMNS
    a_periksa = next(
        r for r in rows if r["tracking_number"] == numbers["A"] and r["step"] == "periksa"
    )
    assert a_periksa["entered_at"] == "2025-12-02T03:00:00+00:00"  # Tue 10:00 WIB
    assert a_periksa["due_at"] == "2025-12-05T04:00:00+00:00"  # Fri 11:00 WIB after the pause
    assert (a_periksa["elapsed_minutes"], a_periksa["paused_minutes"], a_periksa["pauses"]) == (
        "780.0",
        "180.0",
        "1",
    )
    d = next(r for r in rows if r["tracking_number"] == numbers["D"])
    assert (d["left_at"], d["outcome"], d["elapsed_minutes"]) == ("", "", "")


def test_xlsx_has_summary_step_unit_and_raw_sheets_with_native_charts(
    db_engine: Engine, made: tuple[Registry, dict[str, str], ConformanceReport]
) -> None:
    registry, _, report = made
    out = io.BytesIO()
    write_xlsx(report, db_engine, registry, DECEMBER, out)
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["Ringkasan", "Tahap", "Tren", "Unit", "Statistik", "Kunjungan"]
    steps = list(book["Tahap"].iter_rows(values_only=True))
    assert steps[1][:11] == (
        "periksa",
        "2",
        "1 hari kerja",
        "working_days",
        5,
        1,
        3,
        1,
        0.75,
        120,
        1020,
    )
    assert len(book["Tahap"]._charts) == 1 and len(book["Tren"]._charts) == 1
    units = list(book["Unit"].iter_rows(values_only=True))
    assert "minimal 2 kasus" in units[0][0]
    assert units[2][:5] == ("2025-12", 1, "utara", "Kantor Wilayah Utara", 3)
    assert book["Kunjungan"].max_row == 13  # header and 12 visits


def test_pdf_is_a_paged_document(
    made: tuple[Registry, dict[str, str], ConformanceReport],
) -> None:
    _, _, report = made
    out = io.BytesIO()
    write_pdf(report, out)
    data = out.getvalue()
    assert data.startswith(b"%PDF-")
    counts = re.findall(rb"/Count (\d+)", data)
    assert counts and int(counts[0]) >= 2
    english = io.BytesIO()
    write_pdf(report, english, lang="en")
    assert english.getvalue().startswith(b"%PDF-")


def test_charts_draw_one_bar_pair_per_step_and_week(
    made: tuple[Registry, dict[str, str], ConformanceReport],
) -> None:
    _, _, report = made
    steps = steps_chart(report)
    assert steps.startswith("<svg") and ">periksa<" in steps and ">proses<" in steps
    assert steps.count("<rect") == 2 + 2 * 2  # legend + met/breached per step
    assert "3/75%" in steps
    trend = trend_chart(report, "en")
    assert trend.count("<rect") == 2 + 2 * 5 and ">met<" in trend
