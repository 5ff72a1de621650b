"""The work queue and the case page: scope, urgency, keyset pages, actions, refusals, conflicts.

UPIK (upik-pengaduan): kategori kebersihan routes to dlh, kesehatan to dinkes. verifikasi
(admin_opd, 1 x 2 jam) -terima-> penerimaan (petugas_lapangan) ...; -tolak[alasan]->
tinjauan_pusat (admin_pusat) -teruskan[jawaban, unit]-> verifikasi in the chosen unit.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, event

from sop_platform.engine import CaseEngine, NewCase, Refused, ReporterInfo
from sop_platform.timekeeping import VirtualClock
from tests.web.support import (
    ADMIN_PUSAT,
    DINKES_ADMIN,
    Reports,
    post_form,
    sign_in,
)


def tracking_numbers(text: str) -> list[str]:
    return re.findall(r'<a href="/kasus/\d+">([A-Z0-9-]+)</a>', text)


def test_queue_shows_only_the_cases_of_my_unit(
    client: TestClient[Litestar], other_client: TestClient[Litestar], reports: Reports
) -> None:
    dlh = reports.upik("kebersihan")
    dinkes = reports.upik("kesehatan", "Puskesmas tutup saat jam layanan")
    sign_in(client, "dlh.admin_opd")
    page = client.get("/antrean").text
    assert tracking_numbers(page) == [dlh.tracking_number]
    assert "Dinas Lingkungan Hidup" in page
    assert "Pengelolaan pengaduan melalui Unit Pengelolaan Informasi" in page
    assert "Menerima aduan masuk dari pelapor" in page  # the step's title

    sign_in(other_client, DINKES_ADMIN)
    assert tracking_numbers(other_client.get("/antrean").text) == [dinkes.tracking_number]


def test_region_staff_see_the_steps_waiting_on_them_in_every_unit(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    from sop_platform.accounts import actor_for

    first = reports.upik("kebersihan")
    reports.upik("kesehatan")
    sign_in(client, ADMIN_PUSAT)
    assert tracking_numbers(client.get("/antrean").text) == []  # verifikasi is admin_opd's
    dlh_admin = actor_for(cases.engine, "dlh.admin_opd")
    cases.act(first.id, dlh_admin, "tolak", {"alasan": "Bukan kewenangan DLH"})
    assert tracking_numbers(client.get("/antrean").text) == [first.tracking_number]


def test_queue_is_sorted_by_urgency_and_marks_breaches(
    client: TestClient[Litestar], reports: Reports, web_clock: VirtualClock
) -> None:
    older = reports.upik("kebersihan", "Laporan pertama")
    web_clock.advance(timedelta(minutes=30))
    newer = reports.upik("kebersihan", "Laporan kedua")
    sign_in(client, "dlh.admin_opd")
    page = client.get("/antrean").text
    assert tracking_numbers(page) == [older.tracking_number, newer.tracking_number]
    assert "1 j 30 m lagi" in page  # 1 x 2 jam, entered 30 minutes ago
    assert ">terlambat" not in page  # (the countdown script's words are in data-late)
    web_clock.advance(timedelta(hours=2))  # older is now 30 minutes late, newer 0
    page = client.get("/antrean").text
    assert "terlambat 30 m" in page
    assert page.count('class="breached"') == 1
    assert re.search(r'<strong class="late" data-due="[^"]+">terlambat 30 m</strong>', page)


def test_keyset_pages_cover_every_case_once_and_never_use_offset(
    make_app: object,
    reports: Reports,
    web_clock: VirtualClock,
    web_engine: Engine,
) -> None:
    made = []
    for i in range(5):
        made.append(reports.upik("kebersihan", f"Laporan {i}").tracking_number)
        web_clock.advance(timedelta(minutes=1))
    statements: list[tuple[str, Any]] = []

    def record(conn: object, cursor: object, statement: str, parameters: Any, *rest: Any) -> None:
        statements.append((statement, parameters))

    event.listen(web_engine, "before_cursor_execute", record)
    try:
        with TestClient(make_app(page_size=2)) as client:  # type: ignore[operator]
            sign_in(client, "dlh.admin_opd")
            seen: list[str] = []
            url: str | None = "/antrean"
            pages = 0
            while url:
                page = client.get(url).text
                seen += tracking_numbers(page)
                found = re.search(r'<a href="(/antrean\?[^"]*after=[^"]+)"[^>]*rel="next"', page)
                url = html.unescape(found.group(1)) if found else None
                pages += 1
            assert pages == 3
            assert seen == made
    finally:
        event.remove(web_engine, "before_cursor_execute", record)
    queue_queries = [(s, p) for s, p in statements if "step_visit" in s and "ORDER BY" in s]
    assert len(queue_queries) >= 3
    # SQLite's dialect always writes "LIMIT ? OFFSET ?": the offset is bound to 0 on every page.
    for statement, parameters in queue_queries:
        assert "LIMIT ? OFFSET ?" in statement
        assert parameters[-1] == 0


def test_a_malformed_cursor_means_the_first_page(
    client: TestClient[Litestar], reports: Reports
) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    for after in ("nonsense", "2025-13-01~x", "2025-11-24T09:00:00~5"):
        page = client.get("/antrean", params={"after": after})
        assert page.status_code == 200
        assert tracking_numbers(page.text) == [case.tracking_number]


def test_queue_filters_by_sop_and_status(client: TestClient[Litestar], reports: Reports) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    page = client.get("/antrean", params={"sop": "upik-pengaduan", "status": "open"}).text
    assert tracking_numbers(page) == [case.tracking_number]
    assert '<option value="upik-pengaduan" selected>' in page
    assert tracking_numbers(client.get("/antrean", params={"status": "waiting"}).text) == []
    other = client.get("/antrean", params={"sop": "jss-pengaduan"}).text
    assert tracking_numbers(other) == []


def test_htmx_gets_the_list_fragment_that_polls(
    client: TestClient[Litestar], reports: Reports
) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    fragment = client.get("/antrean?status=open", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="queue-list"')
    assert 'hx-trigger="every 30s"' in fragment
    assert 'hx-get="/antrean?status=open"' in fragment
    assert case.tracking_number in fragment


def test_case_page_is_404_outside_my_scope_and_for_guessed_ids(
    client: TestClient[Litestar], reports: Reports
) -> None:
    dinkes = reports.upik("kesehatan")
    dlh = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    assert client.get(f"/kasus/{dlh.id}").status_code == 200
    hidden = client.get(f"/kasus/{dinkes.id}")
    guessed = client.get("/kasus/999999")
    assert hidden.status_code == guessed.status_code == 404
    # Nothing tells them apart (but the path, echoed by the language switch).
    assert hidden.text.replace(f"/kasus/{dinkes.id}", "/kasus/N") == guessed.text.replace(
        "/kasus/999999", "/kasus/N"
    )
    assert dinkes.tracking_number not in hidden.text
    assert client.get("/kasus/abc").status_code == 404
    # Acting on it is refused the same way, and nothing changes.
    refused = post_form(
        client, f"/kasus/{dinkes.id}/tindakan", {"action": "terima", "revision": "1"}
    )
    assert refused.status_code == 404


def test_case_page_shows_text_fields_reporter_timeline_and_my_actions(
    client: TestClient[Litestar], reports: Reports
) -> None:
    case = reports.upik("kebersihan", "Sampah menumpuk <b>tiga hari</b>")
    sign_in(client, "dlh.admin_opd")
    page = client.get(f"/kasus/{case.id}").text
    assert "Sampah menumpuk &lt;b&gt;tiga hari&lt;/b&gt;" in page  # escaped
    assert "Kategori aduan" in page and "kebersihan" in page
    assert "Budi Santoso" in page and "budi@example.org" in page
    assert "Laporan masuk" in page  # the submit event
    assert "1 x 2 jam" in page  # the visit's limit as the SOP writes it
    # Exactly the engine's offers: terima (no entries) and tolak (alasan required).
    assert re.findall(r'name="action" value="(\w+)"', page) == ["terima", "tolak"]
    assert '<textarea id="in-tolak-alasan" name="f_alasan" rows="3" required>' in page
    assert f'name="revision" value="{case.revision}"' in page


def test_reporter_is_hidden_for_anonymous_and_confidential_reports(
    client: TestClient[Litestar], reports: Reports
) -> None:
    anonymous = reports.upik("kebersihan", anonymous=True)
    confidential = reports.upik("kebersihan", confidential=True, name="Siti Rahma")
    sign_in(client, "yogyakarta.admin_pusat")  # not responsible for the verification step
    page = client.get(f"/kasus/{anonymous.id}").text
    assert "Laporan anonim" in page
    page = client.get(f"/kasus/{confidential.id}").text
    assert "Laporan rahasia" in page
    assert "Siti Rahma" not in page and "budi@example.org" not in page


def test_acting_through_the_form_moves_the_case(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    response = post_form(
        client, f"/kasus/{case.id}/tindakan", {"action": "terima", "revision": str(case.revision)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/kasus/{case.id}?ok=1"
    after = cases.get(case.id)
    assert after.step == "penerimaan"
    page = client.get(response.headers["location"]).text
    assert "Tindakan dicatat." in page
    assert "Terima aduan" in page  # the event, by its action's label
    assert re.findall(r'name="action" value="(\w+)"', page) == []  # nothing left for admin_opd


def test_acting_with_htmx_swaps_the_case_body(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    response = post_form(
        client,
        f"/kasus/{case.id}/tindakan",
        {"action": "tolak", "revision": str(case.revision), "f_alasan": "Bukan wewenang DLH"},
        htmx=True,
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="case-body" ')
    assert "Tindakan dicatat." in response.text
    assert "Bukan wewenang DLH" in response.text
    assert cases.get(case.id).step == "tinjauan_pusat"


def test_a_refused_action_shows_the_engines_reason_in_place(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    from sop_platform.accounts import actor_for

    case = reports.upik("kebersihan")
    with pytest.raises(Refused) as refused:
        cases.act(case.id, actor_for(cases.engine, "dlh.admin_opd"), "tolak", {})
    reason = refused.value.message
    assert "wajib" in reason
    sign_in(client, "dlh.admin_opd")
    data = {"action": "tolak", "revision": str(case.revision), "f_alasan": "  "}
    plain = post_form(client, f"/kasus/{case.id}/tindakan", data)
    assert plain.status_code == 422
    assert html.escape(reason) in plain.text
    assert '<p class="alert" role="alert" id="err-tolak">' in plain.text
    swapped = post_form(client, f"/kasus/{case.id}/tindakan", data, htmx=True)
    assert swapped.status_code == 422
    assert "<html" not in swapped.text and html.escape(reason) in swapped.text
    assert cases.get(case.id).step == "verifikasi"  # nothing written
    # An action this step does not have: the engine's reason too, at the top.
    other = post_form(client, f"/kasus/{case.id}/tindakan", {"action": "ambil", "revision": "1"})
    assert other.status_code == 422
    assert '<p class="alert" role="alert">' in other.text


def test_a_stale_revision_gets_the_conflict_message(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    from sop_platform.accounts import actor_for

    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    # Someone else acts first (the page still shows revision 1).
    cases.act(case.id, actor_for(cases.engine, "dlh.admin_opd"), "terima")
    response = post_form(
        client,
        f"/kasus/{case.id}/tindakan",
        {"action": "tolak", "revision": str(case.revision), "f_alasan": "x"},
        htmx=True,
    )
    assert response.status_code == 409
    assert "baru saja diubah oleh Admin DLH" in response.text
    assert f'name="revision" value="{case.revision}"' not in response.text
    assert cases.get(case.id).step == "penerimaan"


def test_reroute_offers_a_unit_select_and_moves_the_case(
    client: TestClient[Litestar],
    other_client: TestClient[Litestar],
    reports: Reports,
    cases: CaseEngine,
) -> None:
    from sop_platform.accounts import actor_for

    case = reports.upik("kebersihan")
    rejected = cases.act(
        case.id, actor_for(cases.engine, "dlh.admin_opd"), "tolak", {"alasan": "Salah OPD"}
    )
    sign_in(client, ADMIN_PUSAT)
    page = client.get(f"/kasus/{case.id}").text
    assert re.findall(r'name="action" value="(\w+)"', page) == ["teruskan", "jawab_dan_tutup"]
    assert '<select id="in-teruskan-unit" name="f_unit" required>' in page
    assert '<option value="dinkes">Dinas Kesehatan</option>' in page
    response = post_form(
        client,
        f"/kasus/{case.id}/tindakan",
        {
            "action": "teruskan",
            "revision": str(rejected.revision),
            "f_jawaban": "Diteruskan ke Dinas Kesehatan",
            "f_unit": "dinkes",
        },
    )
    assert response.status_code == 303
    moved = cases.get(case.id)
    assert (moved.step, moved.unit) == ("verifikasi", "dinkes")
    sign_in(other_client, DINKES_ADMIN)
    assert tracking_numbers(other_client.get("/antrean").text) == [case.tracking_number]


def test_losing_the_case_by_acting_goes_back_to_the_queue(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    """JSS IV: a unit without the data passes the request on (alihkan) and loses sight of it."""
    request = cases.submit(
        NewCase(
            sop_id="jss-data-informasi",
            channel="jss",
            text="Mohon data kualitas udara 2025",
            fields={"kelompok_data": "lingkungan", "data_diminta": "Kualitas udara"},
            reporter=ReporterInfo(extra={"akun_jss": "budi01"}),
        )
    )
    assert request.unit == "dlh"
    sign_in(client, "dlh.admin_opd")
    form = {
        "action": "alihkan",
        "revision": str(request.revision),
        "f_alasan": "Data dipegang Dinas Kesehatan",
        "f_unit": "dinkes",
    }
    response = post_form(client, f"/kasus/{request.id}/tindakan", form)
    assert response.status_code == 303
    assert response.headers["location"] == "/antrean?pindah=1"
    assert "kasus ini kini di luar wewenang Anda" in client.get("/antrean?pindah=1").text
    assert client.get(f"/kasus/{request.id}").status_code == 404
    assert cases.get(request.id).unit == "dinkes"


def test_losing_the_case_with_htmx_redirects_the_browser(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    request = cases.submit(
        NewCase(
            sop_id="jss-data-informasi",
            channel="jss",
            text="Mohon data kualitas air",
            fields={"kelompok_data": "lingkungan", "data_diminta": "Kualitas air"},
            reporter=ReporterInfo(extra={"akun_jss": "budi01"}),
        )
    )
    sign_in(client, "dlh.admin_opd")
    form = {"action": "alihkan", "revision": "1", "f_alasan": "Bukan DLH", "f_unit": "dinkes"}
    response = post_form(client, f"/kasus/{request.id}/tindakan", form, htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/antrean?pindah=1"
