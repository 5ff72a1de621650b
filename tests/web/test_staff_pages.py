"""The queue's filters and search, escalations in the queue and on /eskalasi, the case page's
flowchart, attachments, and the clock and intervention powers.

UPIK (upik-pengaduan): kategori kebersihan routes to dlh, kesehatan to dinkes. verifikasi
(admin_opd, 1 x 2 jam); the ladder's only rung sends a breach to admin_pusat after 1 menit, and
admin_pusat may intervene. penerimaan/pengerjaan (petugas_lapangan); pengerjaan may be paused
for ``menunggu_pihak_ketiga``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from sop_platform.accounts import actor_for
from sop_platform.attachments import Upload, check_photos
from sop_platform.engine import CaseEngine
from sop_platform.registry import Registry
from sop_platform.sweeper import Sweeper
from sop_platform.timekeeping import VirtualClock
from tests.web.support import ADMIN_PUSAT, Reports, post_form, sign_in
from web.context import Web

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40


def numbers(text: str) -> list[str]:
    return re.findall(r'<a href="/kasus/\d+">([A-Z0-9-]+)</a>', text)


def queue_numbers(text: str) -> list[str]:
    """Tracking numbers in the queue table only (the escalation list links cases too)."""
    table = text.split('<table class="queue">', 1)
    return numbers(table[1]) if len(table) == 2 else []


def web_of(app: Litestar) -> Web:
    found: Web = app.state.web
    return found


# --- queue filters and search ----------------------------------------------------------------


def test_queue_filters_by_step_channel_and_period(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine, web_clock: VirtualClock
) -> None:
    admin = actor_for(cases.engine, "dlh.admin_opd")
    monday = reports.upik("kebersihan", "Sampah di Senin")
    web_clock.advance(timedelta(days=1))
    tuesday = reports.upik("kebersihan", "Sampah di Selasa")
    moved = reports.upik("kebersihan", "Sudah diterima")
    cases.act(moved.id, admin, "terima", {})
    sign_in(client, "dlh.petugas")
    assert queue_numbers(client.get("/antrean").text) == [moved.tracking_number]
    sign_in(client, "dlh.admin_opd")
    everything = client.get("/antrean").text
    assert set(queue_numbers(everything)) == {monday.tracking_number, tuesday.tracking_number}
    assert '<option value="verifikasi"' in everything  # the step filter offers my steps
    assert '<option value="jss"' in everything  # and the region's channels

    by_day = client.get("/antrean", params={"dari": "2025-11-25", "sampai": "2025-11-25"}).text
    assert queue_numbers(by_day) == [tuesday.tracking_number]
    until_monday = client.get("/antrean", params={"sampai": "2025-11-24"}).text
    assert queue_numbers(until_monday) == [monday.tracking_number]
    assert queue_numbers(client.get("/antrean", params={"channel": "telepon"}).text) == []
    assert len(queue_numbers(client.get("/antrean", params={"channel": "jss"}).text)) == 2
    assert len(queue_numbers(client.get("/antrean", params={"step": "verifikasi"}).text)) == 2
    # A step that is not mine is dropped, not trusted: the whole queue again.
    assert len(queue_numbers(client.get("/antrean", params={"step": "pengerjaan"}).text)) == 2


def test_a_bad_date_is_said_in_place_and_ignored(
    client: TestClient[Litestar], reports: Reports
) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    page = client.get("/antrean", params={"dari": "24-11-2025"}).text
    assert "Tanggal tidak dapat dibaca" in page
    assert queue_numbers(page) == [case.tracking_number]


def test_search_finds_a_tracking_number_exactly_and_words_in_text_or_fields(
    client: TestClient[Litestar], reports: Reports
) -> None:
    first = reports.upik("kebersihan", "Got mampet di Jalan Kaliurang")
    second = reports.upik("kebersihan", "Lampu taman 100% padam")
    sign_in(client, "dlh.admin_opd")

    def found(q: str) -> list[str]:
        return queue_numbers(client.get("/antrean", params={"q": q}).text)

    assert found(first.tracking_number) == [first.tracking_number]
    assert found(first.tracking_number.lower()) == [first.tracking_number]
    assert found("  jalan   KALIURANG ") == [first.tracking_number]
    assert found("100%") == [second.tracking_number]  # % is a character, not a wildcard
    assert found("_") == []
    assert set(found("kebersihan")) == {first.tracking_number, second.tracking_number}  # field
    assert found("tidak ada") == []


def test_filters_and_page_survive_the_polling_refresh(
    client: TestClient[Litestar], reports: Reports, make_app: object
) -> None:
    for i in range(3):
        reports.upik("kebersihan", f"Laporan {i}")
    sign_in(client, "dlh.admin_opd")
    page = client.get("/antrean", params={"q": "laporan", "channel": "jss"}).text
    poll = re.search(r'<div id="queue-list" hx-get="([^"]+)" hx-trigger="every \d+s"', page)
    assert poll is not None
    url = poll.group(1).replace("&amp;", "&")
    assert "q=laporan" in url and "channel=jss" in url
    fragment = client.get(url, headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<div id="queue-list"')
    assert len(queue_numbers(fragment)) == 3


def test_the_countdown_has_the_servers_time_and_each_deadline(
    client: TestClient[Litestar], reports: Reports, web_clock: VirtualClock
) -> None:
    reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    page = client.get("/antrean").text
    assert f'data-now="{web_clock.now().isoformat()}"' in page
    # 1 x 2 jam from 09:00 WIB: 11:00 WIB, stored and sent in UTC.
    assert 'data-due="2025-11-24T04:00:00+00:00">2 j lagi<' in page
    assert '<script src="/static/countdown.js" defer></script>' in page
    script = client.get("/static/countdown.js")
    assert script.status_code == 200
    assert "data-due" in script.text and "dataset.now" in script.text


# --- escalations -----------------------------------------------------------------------------


def _breach(cases: CaseEngine, web_registry: Registry, web_clock: VirtualClock) -> None:
    web_clock.advance(timedelta(hours=2, minutes=5))
    Sweeper(cases.engine, web_registry, web_clock).tick()


def test_an_escalation_waits_in_admin_pusats_queue_and_page(
    client: TestClient[Litestar],
    reports: Reports,
    cases: CaseEngine,
    web_registry: Registry,
    web_clock: VirtualClock,
) -> None:
    late = reports.upik("kebersihan", "Terlambat diverifikasi")
    sign_in(client, ADMIN_PUSAT)
    assert "Eskalasi untuk Anda" not in client.get("/antrean").text
    _breach(cases, web_registry, web_clock)
    queue = client.get("/antrean").text
    assert "Eskalasi untuk Anda" in queue
    assert f'<a href="/kasus/{late.id}">{late.tracking_number}</a>' in queue
    page = client.get("/eskalasi").text
    assert late.tracking_number in page
    assert "Dinas Lingkungan Hidup" in page
    assert 'name="kind" value="reassign"' in page and 'name="kind" value="instruct"' in page
    # The unit admin whose step is late gets no escalation (the ladder names admin_pusat).
    sign_in(client, "dlh.admin_opd")
    assert "Tidak ada eskalasi" in client.get("/eskalasi").text


def test_one_click_reassign_from_the_escalation_page(
    client: TestClient[Litestar],
    reports: Reports,
    cases: CaseEngine,
    web_registry: Registry,
    web_clock: VirtualClock,
) -> None:
    late = reports.upik("kebersihan")
    _breach(cases, web_registry, web_clock)
    sign_in(client, ADMIN_PUSAT)
    url = f"/kasus/{late.id}/intervensi"
    no_reason = post_form(
        client, url, {"kind": "reassign", "unit": "dinkes", "reason": "", "back": "eskalasi"}
    )
    assert no_reason.status_code == 422
    assert "Alasan intervensi wajib diisi." in no_reason.text
    assert cases.get(late.id).unit == "dlh"
    done = post_form(
        client,
        url,
        {"kind": "reassign", "unit": "dinkes", "reason": "Urusan kesehatan", "back": "eskalasi"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/eskalasi?ok=1"
    assert cases.get(late.id).unit == "dinkes"
    after = client.get("/eskalasi?ok=1").text
    assert "Intervensi dicatat." in after and late.tracking_number not in after  # resolved
    sign_in(client, "yogyakarta.admin_opd")  # dinkes now has it
    assert late.tracking_number in client.get("/antrean").text


def test_an_instruction_is_recorded_on_the_case(
    client: TestClient[Litestar],
    reports: Reports,
    cases: CaseEngine,
    web_registry: Registry,
    web_clock: VirtualClock,
) -> None:
    late = reports.upik("kebersihan")
    _breach(cases, web_registry, web_clock)
    sign_in(client, ADMIN_PUSAT)
    response = post_form(
        client,
        f"/kasus/{late.id}/intervensi",
        {"kind": "instruct", "instruction": "Segera verifikasi", "reason": "Terlambat"},
        htmx=True,
    )
    assert response.status_code == 200
    assert "Segera verifikasi" in response.text  # the timeline, swapped in place
    events = cases.get(late.id).events
    assert events[-1].kind == "intervention"
    assert events[-1].payload["instruction"] == "Segera verifikasi"


def test_unit_staff_cannot_intervene(client: TestClient[Litestar], reports: Reports) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    page = client.get(f"/kasus/{case.id}").text
    assert f'action="/kasus/{case.id}/intervensi"' not in page
    refused = post_form(
        client,
        f"/kasus/{case.id}/intervensi",
        {"kind": "reassign", "unit": "dinkes", "reason": "coba"},
    )
    assert refused.status_code == 422
    assert "Intervensi pada SOP ini hanya oleh: Admin Pusat." in refused.text


# --- the case's clock ------------------------------------------------------------------------


def test_pause_and_resume_where_the_step_allows_it(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    case = reports.upik("kebersihan")
    admin = actor_for(cases.engine, "dlh.admin_opd")
    sign_in(client, "dlh.petugas")
    cases.act(case.id, admin, "terima", {})
    page = client.get(f"/kasus/{case.id}").text
    assert f'action="/kasus/{case.id}/jeda"' not in page  # penerimaan has no pause reasons
    cases.act(case.id, actor_for(cases.engine, "dlh.petugas"), "ambil", {})
    page = client.get(f"/kasus/{case.id}").text
    assert f'action="/kasus/{case.id}/jeda"' in page
    assert '<option value="menunggu_pihak_ketiga">Menunggu pihak ketiga</option>' in page
    bad = post_form(client, f"/kasus/{case.id}/jeda", {"reason": "libur"})
    assert bad.status_code == 422 and "tidak dapat dijeda dengan alasan" in bad.text
    paused = post_form(client, f"/kasus/{case.id}/jeda", {"reason": "menunggu_pihak_ketiga"})
    assert paused.status_code == 303
    assert cases.get(case.id).status == "waiting"
    page = client.get(f"/kasus/{case.id}").text
    assert "Jam berhenti: Menunggu pihak ketiga" in page
    assert f'action="/kasus/{case.id}/jeda"' not in page
    resumed = post_form(client, f"/kasus/{case.id}/lanjut", {"note": "Vendor datang"})
    assert resumed.status_code == 303
    assert cases.get(case.id).status == "open"
    # Someone without the step's role sees no clock buttons and is refused.
    sign_in(client, "dlh.admin_opd")
    assert f'action="/kasus/{case.id}/jeda"' not in client.get(f"/kasus/{case.id}").text


# --- flowchart and attachments ---------------------------------------------------------------


def test_the_case_page_draws_the_sop_with_the_current_step_marked(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    case = reports.upik("kebersihan")
    cases.act(case.id, actor_for(cases.engine, "dlh.admin_opd"), "terima", {})
    sign_in(client, "dlh.petugas")
    page = client.get(f"/kasus/{case.id}").text
    assert '<svg class="flowchart"' in page
    assert '<g class="node step current" data-step="penerimaan">' in page
    assert '<g class="node step visited" data-step="verifikasi">' in page
    assert '<g class="node step" data-step="pengerjaan">' in page
    assert f'href="/sop/upik-pengaduan/{case.sop_version}"' in page


def test_attachments_are_listed_and_downloaded_within_scope_only(
    client: TestClient[Litestar], app: Litestar, reports: Reports, tmp_path: Path
) -> None:
    mine = reports.upik("kebersihan")
    other = reports.upik("kesehatan")
    store = web_of(app).attachments
    [photo] = store.save(mine.id, check_photos([Upload("got.png", PNG)]))
    [theirs] = store.save(other.id, check_photos([Upload("puskesmas.png", PNG + b"x")]))
    sign_in(client, "dlh.admin_opd")
    page = client.get(f"/kasus/{mine.id}").text
    assert f'href="/kasus/{mine.id}/lampiran/{photo.id}"' in page and "got.png" in page
    got = client.get(f"/kasus/{mine.id}/lampiran/{photo.id}")
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert "attachment" in got.headers["content-disposition"]
    # Another case's file through my case's URL, the other case itself, and a guessed id: 404.
    assert client.get(f"/kasus/{mine.id}/lampiran/{theirs.id}").status_code == 404
    assert client.get(f"/kasus/{other.id}/lampiran/{theirs.id}").status_code == 404
    assert client.get(f"/kasus/{mine.id}/lampiran/999999").status_code == 404


def test_force_step_from_the_case_page_needs_a_known_step_and_a_reason(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    case = reports.upik("kebersihan")
    admin = actor_for(cases.engine, "dlh.admin_opd")
    cases.act(case.id, admin, "tolak", {"alasan": "Bukan DLH"})  # to Admin Pusat's review
    sign_in(client, ADMIN_PUSAT)
    page = client.get(f"/kasus/{case.id}").text
    assert '<option value="force_step">' in page and '<option value="penerimaan">' in page
    url = f"/kasus/{case.id}/intervensi"
    unknown = post_form(client, url, {"kind": "force_step", "reason": "Salah tahap"})
    assert unknown.status_code == 422 and "tidak ada dalam SOP ini" in unknown.text
    moved = post_form(
        client, url, {"kind": "force_step", "to_step": "penerimaan", "reason": "Sudah jelas"}
    )
    assert moved.status_code == 303
    assert cases.get(case.id).step == "penerimaan"


def test_the_staff_pages_speak_english_when_asked(
    client: TestClient[Litestar], reports: Reports
) -> None:
    case = reports.upik("kebersihan")
    sign_in(client, ADMIN_PUSAT)
    post_form(client, "/bahasa", {"lang": "en", "next": "/eskalasi"})
    assert "<h1>Escalations</h1>" in client.get("/eskalasi").text
    assert "<h1>SOPs</h1>" in client.get("/sop").text
    sop = client.get("/sop/upik-pengaduan/2023-09-18").text
    assert "Flowchart" in sop and "Actors (pelaksana)" in sop
    queue = client.get("/antrean").text
    assert 'data-left="{} left"' in queue and "Received from" in queue
    assert "Flowchart" in client.get(f"/kasus/{case.id}").text
