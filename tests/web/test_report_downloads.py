"""The report page's downloads as files of any size are sent: the CSV streamed with the right
type and every visit, the XLSX from a temporary file with its length; the page opens on the
previous month and this one."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from litestar import Litestar
from litestar.testing import TestClient
from openpyxl import load_workbook

from sop_platform.engine import CaseEngine
from sop_platform.reports.exports import VISIT_COLUMNS
from sop_platform.timekeeping import VirtualClock
from tests.web.support import Reports, sign_in
from web.reports import default_period


def test_the_page_opens_on_the_previous_month_and_this_one() -> None:
    assert default_period(date(2026, 12, 1)) == (date(2026, 11, 1), date(2026, 12, 31))
    assert default_period(date(2026, 1, 15)) == (date(2025, 12, 1), date(2026, 1, 31))
    assert default_period(date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 3, 31))


def test_csv_is_streamed_and_xlsx_sent_whole_with_its_length(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine, web_clock: VirtualClock
) -> None:
    numbers = [reports.upik("kebersihan", f"Sampah menumpuk {i}").tracking_number for i in range(3)]
    web_clock.advance(timedelta(hours=3))
    sign_in(client, "yogyakarta.kepatuhan")
    today = web_clock.now().date()
    q = f"region=yogyakarta&sop=upik-pengaduan&since={today - timedelta(days=1)}&until={today}"

    got = client.get(f"/laporan/unduh/csv?{q}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert list(rows[0]) == list(VISIT_COLUMNS)
    assert sorted(r["tracking_number"] for r in rows) == sorted(numbers)

    book = client.get(f"/laporan/unduh/xlsx?{q}")
    assert book.status_code == 200
    assert int(book.headers["content-length"]) == len(book.content)
    raw = list(load_workbook(io.BytesIO(book.content))["Kunjungan"].iter_rows(values_only=True))
    assert sorted(r[0] for r in raw[1:]) == sorted(numbers)

    page = client.get("/laporan?region=yogyakarta&sop=upik-pengaduan")
    first, last = default_period(today)
    assert (
        f'value="{first.isoformat()}"' in page.text and f'value="{last.isoformat()}"' in page.text
    )
