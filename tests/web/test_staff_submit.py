"""Staff recording a new case (``/kasus/baru``): who sees the form and which SOPs, bad input,
a resent form, the English words, and the reporter's rating on the staff case page."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, func, update
from sqlmodel import col, select

from sop_platform.accounts import add_user
from sop_platform.db import transaction
from sop_platform.engine import CaseEngine, Grant
from sop_platform.models import CaseRow
from tests.web.support import PASSWORD, START, Reports, csrf, post_form, sign_in
from web.context import Web

CIREBON = "helpdesk-siaga-112"
LINK = 'href="/kasus/baru"'
GOOD = {
    "sop": CIREBON,
    "kanal": "whatsapp",
    "f_aplikasi": "dashboard_aplikasi",
    "isi": "Dashboard tidak menampilkan panggilan masuk sejak pukul 08.00",
}


def token_of(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, "the form carries no token"
    return found[1]


def case_count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(CaseRow)).one())


def test_the_call_taker_records_a_case_and_lands_on_its_page(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    sign_in(client, "cirebon.call_taker")
    assert LINK in client.get("/antrean").text
    form = client.get("/kasus/baru")
    assert form.status_code == 200
    # Only the SOP the call taker submits to, with its channels and submission field.
    assert 'name="sop" value="helpdesk-siaga-112"' in form.text
    assert "upik-pengaduan" not in form.text and 'id="in-pilih-sop"' not in form.text
    for channel in ("telepon", "whatsapp", "sms"):
        assert f'<option value="{channel}"' in form.text
    assert 'name="f_aplikasi"' in form.text and 'name="f_teratasi"' not in form.text
    response = post_form(client, "/kasus/baru", {**GOOD, "token": token_of(form.text)})
    assert response.status_code == 303
    case_id = int(response.headers["location"].rsplit("/", 1)[1])
    view = cases.get(case_id)
    assert (view.sop_id, view.channel, view.unit) == (CIREBON, "whatsapp", "diskominfostik")
    assert view.fields == {"aplikasi": "dashboard_aplikasi"}
    assert view.events[0].role == "call_taker"
    with transaction(cases.engine) as session:
        row = session.get(CaseRow, case_id)
        assert row is not None and row.submitted_by_user_id is not None
        assert row.reporter_id is None  # the reporter is the staff member, not a citizen
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and GOOD["isi"] in page.text


def test_a_resent_form_makes_one_case_and_a_reused_token_is_refused(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    sign_in(client, "cirebon.call_taker")
    token = token_of(client.get("/kasus/baru").text)
    before = case_count(cases.engine)
    first = post_form(client, "/kasus/baru", {**GOOD, "token": token})
    again = post_form(client, "/kasus/baru", {**GOOD, "token": token})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert case_count(cases.engine) == before + 1
    other = post_form(client, "/kasus/baru", {**GOOD, "isi": "Laporan lain", "token": token})
    assert other.status_code == 409
    assert case_count(cases.engine) == before + 1


def test_bad_input_is_refused_in_place_with_the_fields_kept(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    sign_in(client, "cirebon.call_taker")
    token = token_of(client.get("/kasus/baru").text)
    before = case_count(cases.engine)
    bad = {**GOOD, "kanal": "jss", "f_aplikasi": "", "isi": "Peta kosong", "token": token}
    response = post_form(client, "/kasus/baru", bad, htmx=True)
    assert response.status_code == 422
    assert "kanal &#39;jss&#39; tidak dilayani" in response.text
    assert "Aplikasi yang mengalami kendala" in response.text and "wajib diisi" in response.text
    assert ">Peta kosong</textarea>" in response.text
    assert f'value="{token}"' in response.text  # the same form, so a retry stays one case
    assert "<html" not in response.text  # the form block only, for htmx
    assert case_count(cases.engine) == before
    fixed = post_form(client, "/kasus/baru", {**GOOD, "token": token}, htmx=True)
    assert fixed.status_code == 200 and fixed.headers["HX-Redirect"].startswith("/kasus/")


def test_who_may_not_record_gets_no_link_and_a_404(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    # A citizen-SOP-only region's staff, the help desk's own handler, a platform role.
    for login in ("yogyakarta.admin_pusat", "cirebon.kasi_egov", "cirebon.admin_daerah"):
        sign_in(client, login)
        assert LINK not in client.get("/antrean").text, login
        assert client.get("/kasus/baru").status_code == 404, login
        before = case_count(cases.engine)
        response = post_form(client, "/kasus/baru", {**GOOD, "token": "t" * 24})
        assert response.status_code == 404, login
        assert case_count(cases.engine) == before


def test_a_call_taker_of_another_unit_or_region_is_not_offered_the_sop(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    # Cirebon's help desk routes every report to diskominfostik: a call taker of dinkes never
    # records there, nor does someone holding the role name in another region.
    add_user(
        cases.engine,
        "ct.dinkes",
        "CT Dinkes",
        PASSWORD,
        [Grant("cirebon", "call_taker", "dinkes")],
        START,
    )
    add_user(
        cases.engine,
        "ct.yogya",
        "CT Yogya",
        PASSWORD,
        [Grant("yogyakarta", "call_taker", "dlh")],
        START,
    )
    for login in ("ct.dinkes", "ct.yogya"):
        client.cookies.clear()
        sign_in(client, login)
        assert LINK not in client.get("/antrean").text, login
        assert client.get(f"/kasus/baru?sop={CIREBON}").status_code == 404, login
        assert post_form(client, "/kasus/baru", {**GOOD, "token": "t" * 24}).status_code == 404


def test_signed_out_the_form_asks_for_sign_in(client: TestClient[Litestar]) -> None:
    response = client.get("/kasus/baru", follow_redirects=False)
    assert response.status_code in (302, 303) and "/masuk" in response.headers["location"]
    csrf(client)


def test_the_form_in_english(client: TestClient[Litestar]) -> None:
    sign_in(client, "cirebon.call_taker")
    post_form(client, "/bahasa", {"lang": "en", "next": "/antrean"})
    assert "Record a new report" in client.get("/antrean").text
    page = client.get("/kasus/baru").text
    for words in (
        "Record a new report",
        "Channel",
        "Report text",
        "Record report",
        "Reporter: you",
    ):
        assert words in page, words


def test_the_staff_case_page_shows_the_reporters_rating(
    client: TestClient[Litestar], app: Litestar, reports: Reports
) -> None:
    web: Web = app.state.web
    case = reports.upik("kebersihan")
    sign_in(client, "yogyakarta.admin_pusat")
    assert "Penilaian pelapor" not in client.get(f"/kasus/{case.id}").text
    with transaction(web.engine) as session:  # closed, as after the SOP's last step
        session.execute(update(CaseRow).where(col(CaseRow.id) == case.id).values(status="done"))
    web.feedback.rate(case.id, 4, "Cepat ditangani, terima kasih")
    page = client.get(f"/kasus/{case.id}").text
    assert "Penilaian pelapor" in page and "<strong>4/5</strong> (baik)" in page
    assert "Cepat ditangani, terima kasih" in page
    post_form(client, "/bahasa", {"lang": "en", "next": "/antrean"})
    page = client.get(f"/kasus/{case.id}").text
    assert "Reporter&#39;s rating" in page and "(good)" in page
