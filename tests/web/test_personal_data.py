"""Who sees a reporter's identity (UU 27/2022), on the case page and through the engine, for
identified, anonymous and confidential reports; the public tracking page; the reporter's own
data export."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from rules.evaluator import Evaluator
from sop_platform.accounts import actor_for
from sop_platform.cases import Actor, CaseView, Grant
from sop_platform.engine import CaseEngine
from sop_platform.personal_data import reporter_for
from sop_platform.registry import Registry
from sop_platform.retention import RetentionJob
from sop_platform.timekeeping import VirtualClock
from tests.web.support import SECRET, Reports, sign_in
from web.citizen import tracking_key

NAME = "Siti Rahma"
# Viewers of a UPIK report routed to DLH (kategori kebersihan), at the verification step, whose
# responsible role is admin_opd.
VIEWERS = {
    "dlh.admin_opd": "unit staff, responsible for the step",
    "dlh.petugas": "unit staff of the unit, not responsible for the step",
    "yogyakarta.admin_pusat": "region staff, not responsible for the step",
}
#           identified  anonymous  confidential
MATRIX = {
    "dlh.admin_opd": (True, False, True),
    "dlh.petugas": (True, False, False),
    "yogyakarta.admin_pusat": (True, False, False),
}
NO_CASE_PAGE = ("yogyakarta.kepatuhan", "yogyakarta.admin_daerah", "yogyakarta.admin_opd")


@pytest.fixture
def three(reports: Reports) -> tuple[CaseView, CaseView, CaseView]:
    return (
        reports.upik("kebersihan", name=NAME, email="siti@example.org"),
        reports.upik("kebersihan", anonymous=True),
        reports.upik("kebersihan", name=NAME, email="siti@example.org", confidential=True),
    )


@pytest.mark.parametrize("username", list(MATRIX))
def test_the_case_page_shows_the_identity_only_where_the_matrix_says(
    client: TestClient[Litestar],
    three: tuple[CaseView, CaseView, CaseView],
    username: str,
) -> None:
    sign_in(client, username)
    for case, expected in zip(three, MATRIX[username], strict=True):
        page = client.get(f"/kasus/{case.id}")
        assert page.status_code == 200
        assert (NAME in page.text) is expected, (username, VIEWERS[username], case.tracking_number)
        assert ("siti@example.org" in page.text) is expected


@pytest.mark.parametrize("username", NO_CASE_PAGE)
def test_platform_roles_and_other_units_get_no_case_page(
    client: TestClient[Litestar], three: tuple[CaseView, CaseView, CaseView], username: str
) -> None:
    sign_in(client, username)
    for case in three:
        assert client.get(f"/kasus/{case.id}").status_code == 404


def test_the_engine_side_follows_the_same_matrix_and_the_step(
    web_engine: Engine,
    cases: CaseEngine,
    three: tuple[CaseView, CaseView, CaseView],
) -> None:
    for username, row in MATRIX.items():
        actor = actor_for(web_engine, username)
        for case, expected in zip(three, row, strict=True):
            found = reporter_for(cases, actor, case.id)
            assert (found is not None and found.name == NAME) is expected, (username, case.id)
    confidential = three[2]
    admin_opd = actor_for(web_engine, "dlh.admin_opd")
    petugas = actor_for(web_engine, "dlh.petugas")
    vendor = Actor("Pihak luar", (Grant("yogyakarta", "kepatuhan"),))
    assert reporter_for(cases, vendor, confidential.id) is None
    # At the next step the field officer is responsible: the identity moves with the duty.
    cases.act(confidential.id, admin_opd, "terima", {})
    assert reporter_for(cases, petugas, confidential.id) is not None
    assert reporter_for(cases, admin_opd, confidential.id) is None
    cases.act(confidential.id, petugas, "ambil", {})
    cases.act(confidential.id, petugas, "selesai", {"jawaban": "Sudah diangkut"})
    assert reporter_for(cases, petugas, confidential.id) is None, "closed: no one needs it"
    # An identified, closed case still shows it to the unit's staff.
    identified = three[0]
    cases.act(identified.id, admin_opd, "terima", {})
    assert reporter_for(cases, admin_opd, identified.id) is not None


def test_the_public_tracking_page_hides_confidential_reports(
    client: TestClient[Litestar], three: tuple[CaseView, CaseView, CaseView]
) -> None:
    identified, anonymous, confidential = three
    for case in (identified, anonymous):
        page = client.get(f"/lacak/{case.tracking_number}")
        assert page.status_code == 200 and NAME not in page.text
    hidden = client.get(f"/lacak/{confidential.tracking_number}")
    unknown = client.get("/lacak/YOG-00000000-ZZZZZZ")
    assert hidden.status_code == unknown.status_code == 404
    # The same page as for a number that does not exist: nothing tells that it does.
    assert hidden.text.replace(confidential.tracking_number, "N") == unknown.text.replace(
        "YOG-00000000-ZZZZZZ", "N"
    )
    key = tracking_key(SECRET, confidential.tracking_number)
    assert client.get(f"/lacak/{confidential.tracking_number}/{key}").status_code == 200


def test_the_reporter_downloads_what_is_held_about_them(
    client: TestClient[Litestar],
    three: tuple[CaseView, CaseView, CaseView],
) -> None:
    identified, anonymous, _ = three
    number = identified.tracking_number
    key = tracking_key(SECRET, number)
    response = client.get(f"/lacak/{number}/{key}/data")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    data = json.loads(response.text)
    assert data["tracking_number"] == number
    assert data["reporter"]["name"] == NAME and data["reporter"]["email"] == "siti@example.org"
    assert data["report"]["text"] == "Sampah menumpuk di Jalan Malioboro"
    assert data["report"]["fields"] == {"kategori": "kebersihan"}
    assert data["history"][0]["kind"] == "submit"
    assert data["retention"]["period"] == "2 tahun"
    assert data["sent_by_an_application"] is None  # it came through the site, not an API
    assert "Admin" not in json.dumps(data["history"]), "no staff names"
    owner_page = client.get(f"/lacak/{number}/{key}").text
    assert f"/lacak/{number}/{key}/data" in owner_page

    assert client.get(f"/lacak/{number}/{'x' * 20}/data").status_code == 404
    assert client.get(f"/lacak/{number}/data").status_code == 404
    other = tracking_key(SECRET, anonymous.tracking_number)
    assert client.get(f"/lacak/{number}/{other}/data").status_code == 404
    anon = json.loads(client.get(f"/lacak/{anonymous.tracking_number}/{other}/data").text)
    assert anon["reporter"] is None and anon["anonymous"] is True


def test_after_erasure_the_export_holds_no_personal_data(
    client: TestClient[Litestar],
    web_engine: Engine,
    web_registry: Registry,
    web_clock: VirtualClock,
    cases: CaseEngine,
    three: tuple[CaseView, CaseView, CaseView],
    evaluator: Evaluator,
) -> None:
    identified = three[0]
    admin_opd = actor_for(web_engine, "dlh.admin_opd")
    petugas = actor_for(web_engine, "dlh.petugas")
    cases.act(identified.id, admin_opd, "terima", {})
    cases.act(identified.id, petugas, "ambil", {})
    cases.act(identified.id, petugas, "selesai", {"jawaban": "Sudah diangkut, Bu Siti"})
    web_clock.advance(timedelta(days=800))
    assert RetentionJob(web_engine, web_registry, web_clock).run().count == 1
    key = tracking_key(SECRET, identified.tracking_number)
    data = json.loads(client.get(f"/lacak/{identified.tracking_number}/{key}/data").text)
    assert data["reporter"] is None and data["report"]["text"] == ""
    assert "Bu Siti" not in json.dumps(data)
    assert data["retention"]["personal_data_erased_at"] is not None
    assert data["status"] == "done" and data["report"]["fields"] == {"kategori": "kebersihan"}
