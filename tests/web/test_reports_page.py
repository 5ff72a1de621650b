"""The compliance officer's report page: scope, filters, the rendered report, the downloads."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from litestar import Litestar
from litestar.testing import TestClient
from openpyxl import load_workbook

from sop_platform.engine import Actor, CaseEngine, Grant
from sop_platform.timekeeping import VirtualClock
from tests.web.support import Reports, sign_in

Q = "region=yogyakarta&sop=upik-pengaduan&since=2025-11-01&until=2025-11-30"
ADMIN_OPD = Actor("Admin Kebersihan", (Grant("yogyakarta", "admin_opd", "dlh"),))


def _one_late_and_one_met(reports: Reports, cases: CaseEngine, clock: VirtualClock) -> None:
    met = reports.upik("kebersihan")  # verifikasi: 1 x 2 jam on the calendar clock
    clock.advance(timedelta(minutes=30))
    cases.act(met.id, ADMIN_OPD, "terima")
    reports.upik("kebersihan", "Lampu jalan mati")
    clock.advance(timedelta(hours=3))  # both are now an hour past their 2 hours


def test_the_officer_sees_the_report_with_charts_and_downloads(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine, web_clock: VirtualClock
) -> None:
    _one_late_and_one_met(reports, cases, web_clock)
    sign_in(client, "yogyakarta.kepatuhan")
    page = client.get(f"/laporan?{Q}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'href="/laporan"' in html  # the navigation offers it to this role
    assert html.count("<svg") == 2
    assert "/laporan/unduh/pdf?" in html and "/laporan/unduh/xlsx?" in html
    # the second at verifikasi and the first at penerimaan (also 1 x 2 jam from 09:30)
    assert "Kasus terbuka yang sudah terlambat (2)" in html
    assert "minimal 5 kasus" in html  # the ranking rule is printed

    pdf = client.get(f"/laporan/unduh/pdf?{Q}")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert "attachment" in pdf.headers["content-disposition"]
    xlsx = client.get(f"/laporan/unduh/xlsx?{Q}")
    steps = list(load_workbook(io.BytesIO(xlsx.content))["Tahap"].iter_rows(values_only=True))
    verifikasi = next(r for r in steps if r[0] == "verifikasi")
    assert verifikasi[4:8] == (2, 1, 1, 0)  # visits, open, met, breached
    rows = list(csv.DictReader(io.StringIO(client.get(f"/laporan/unduh/csv?{Q}").text)))
    assert len(rows) == 3  # verifikasi twice and penerimaan once


def test_htmx_gets_only_the_result_block(client: TestClient[Litestar]) -> None:
    sign_in(client, "yogyakarta.kepatuhan")
    block = client.get(f"/laporan?{Q}", headers={"HX-Request": "true"})
    assert block.status_code == 200
    assert block.text.lstrip().startswith('<section id="hasil"')
    assert "<html" not in block.text


def test_english(client: TestClient[Litestar]) -> None:
    sign_in(client, "yogyakarta.kepatuhan")
    client.cookies.set("lang", "en")
    page = client.get(f"/laporan?{Q}")
    assert "SOP conformance report" in page.text or "Conformance" in page.text


def test_another_regions_report_is_not_found(client: TestClient[Litestar]) -> None:
    sign_in(client, "yogyakarta.kepatuhan")
    assert client.get("/laporan?region=bantul").status_code == 404
    assert (
        client.get("/laporan/unduh/pdf?region=bantul&sop=pengaduan-terintegrasi").status_code == 404
    )


def test_the_regions_administrator_may_read_it_and_others_may_not(
    client: TestClient[Litestar], other_client: TestClient[Litestar]
) -> None:
    sign_in(client, "bantul.admin_daerah")
    page = client.get("/laporan?region=bantul&sop=pengaduan-terintegrasi")
    assert page.status_code == 200 and "1060 menit" in page.text
    sign_in(other_client, "dlh.admin_opd")
    assert other_client.get("/laporan").status_code == 404
    assert 'href="/laporan"' not in other_client.get("/antrean").text


def test_a_bad_filter_is_answered_with_its_reason(client: TestClient[Litestar]) -> None:
    sign_in(client, "yogyakarta.kepatuhan")
    page = client.get(
        "/laporan?region=yogyakarta&sop=upik-pengaduan&since=2025-12-01&until=2025-11-01"
    )
    assert page.status_code == 422
    assert "before it starts" in page.text
    bad = client.get("/laporan/unduh/csv?region=yogyakarta&sop=upik-pengaduan&unit=nowhere")
    assert bad.status_code == 422 and "unknown unit 'nowhere'" in bad.text
