"""The raw visits streamed into the files: the XLSX's sheet written as text holds exactly the
visits (times as UTC dates, numbers as numbers, empty stays empty), the CSV in pieces is the CSV,
text is escaped, and a sheet stops at Excel's row limit."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from rules.evaluator import Evaluator
from sop_platform.registry import Registry
from sop_platform.reports import ConformanceReport, conformance_report, exports
from sop_platform.reports.exports import (
    VISIT_COLUMNS,
    csv_chunks,
    visit_rows,
    write_csv,
    write_xlsx,
)
from tests.platform.reports_history import NOW, build_history, uji_registry
from tests.platform.test_reports import DECEMBER

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@pytest.fixture
def made(
    db_engine: Engine, tmp_path: Path, evaluator: Evaluator
) -> tuple[Registry, ConformanceReport]:
    registry = uji_registry(db_engine, tmp_path / "defs", evaluator)
    build_history(db_engine, registry)
    return registry, conformance_report(db_engine, registry, DECEMBER, NOW)


def _naive_utc(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def test_the_raw_sheet_holds_every_visit_with_its_values(
    db_engine: Engine, made: tuple[Registry, ConformanceReport]
) -> None:
    registry, report = made
    out = io.BytesIO()
    write_xlsx(report, db_engine, registry, DECEMBER, out)
    book = load_workbook(io.BytesIO(out.getvalue()))
    sheet = list(book["Kunjungan"].iter_rows(values_only=True))
    assert sheet[0][:8] == (*VISIT_COLUMNS[:7], "submitted_at (UTC)")
    expected = [
        tuple(_naive_utc(v) for v in row) for row in visit_rows(db_engine, registry, DECEMBER)
    ]
    assert len(sheet) - 1 == len(expected) == 12
    for got, want in zip(sheet[1:], expected, strict=True):
        for name, g, w in zip(VISIT_COLUMNS, got, want, strict=True):
            if isinstance(w, datetime):
                assert isinstance(g, datetime) and abs((g - w).total_seconds()) < 0.001, name
            elif isinstance(w, float):
                assert g == pytest.approx(w), name
            else:
                assert g == w, name
    # The other sheets and both charts are openpyxl's, untouched.
    assert book.sheetnames == ["Ringkasan", "Tahap", "Tren", "Unit", "Statistik", "Kunjungan"]
    assert len(book["Tahap"]._charts) == 1 and len(book["Tren"]._charts) == 1


def test_the_csv_in_pieces_is_the_csv(
    db_engine: Engine, made: tuple[Registry, ConformanceReport]
) -> None:
    registry, _ = made
    whole = io.StringIO()
    assert write_csv(db_engine, registry, DECEMBER, whole) == 12
    pieces = list(csv_chunks(db_engine, registry, DECEMBER, page=5))
    assert len(pieces) == 1 + 3  # the header, then 5 + 5 + 2 rows
    assert "".join(pieces) == whole.getvalue()
    rows = list(csv.reader(io.StringIO(whole.getvalue())))
    assert rows[0] == list(VISIT_COLUMNS) and len(rows) == 13


def _cells(xml: str) -> list[list[tuple[str, str | None, str]]]:
    root = ElementTree.fromstring(f'<sheetData xmlns="{MAIN[1:-1]}">{xml}</sheetData>')
    out = []
    for row in root:
        cells = []
        for c in row:
            text = "".join(c.itertext())
            cells.append((c.get("r", ""), c.get("t"), text))
        out.append(cells)
    return out


def test_sheet_rows_escape_text_skip_empty_cells_and_stop_at_the_row_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    width = len(VISIT_COLUMNS)
    first = ["A&B <x>", 7, None, datetime(2025, 12, 1, 12, 0, tzinfo=UTC), 1.5, "bel\x07l"]
    row = tuple(first + [None] * (width - len(first)))
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    xml = "".join(exports._sheet_rows(iter([row, row, row]), "3"))
    rows = _cells(xml)
    assert len(rows) == 2  # the sheet's limit; the CSV has them all
    assert rows[0] == [
        ("A2", "inlineStr", "A&B <x>"),
        ("B2", None, "7"),
        ("D2", None, repr((datetime(2025, 12, 1, 12, 0) - datetime(1899, 12, 30)).days + 0.5)),
        ("E2", None, "1.5"),
        ("F2", "inlineStr", "bell"),  # a control character XML cannot carry is dropped
    ]
    assert 's="3"' in xml.split("</row>")[0]  # the date cell has the date style


def test_the_xlsx_is_one_valid_zip_with_the_sheet_streamed_in(
    db_engine: Engine, made: tuple[Registry, ConformanceReport]
) -> None:
    registry, report = made
    out = io.BytesIO()
    write_xlsx(report, db_engine, registry, DECEMBER, out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert len(names) == len(set(names))
        raw = z.read("xl/worksheets/sheet6.xml").decode()
    assert raw.count("<row ") == 13 and raw.endswith("</worksheet>")


def test_visits_read_a_few_cases_at_a_time_are_all_the_visits_once_in_case_order(
    db_engine: Engine, made: tuple[Registry, ConformanceReport]
) -> None:
    registry, _ = made
    whole = list(visit_rows(db_engine, registry, DECEMBER))
    assert len(whole) == 12
    for page in (1, 2, 3):
        assert list(visit_rows(db_engine, registry, DECEMBER, page=page)) == whole
    visit_ids = [r[VISIT_COLUMNS.index("visit_id")] for r in whole]
    assert len(set(visit_ids)) == 12
    submitted = [r[VISIT_COLUMNS.index("submitted_at")] for r in whole]
    assert submitted == sorted(submitted)  # case by case, as they came in


def test_sop_report_to_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "SOP_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    sop = [sys.executable, "-m", "sop_platform.cli"]
    subprocess.run([*sop, "publish"], env=env, check=True, capture_output=True)
    args = ["report", "--region", "bantul", "--sop", "pengaduan-terintegrasi", "--month", "2025-11"]
    child = subprocess.Popen(
        [*sop, *args, "--format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader goes away before anything is written (as `| head` does)
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err
