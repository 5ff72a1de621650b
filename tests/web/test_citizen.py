"""Citizen pages: choose a service, report (once, however often the form is sent), track."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from sop_platform.accounts import actor_for
from sop_platform.engine import CaseEngine
from sop_platform.models import CaseRow, Reporter
from tests.web.support import Reports, post_form


def report_form(client: TestClient[Litestar], sop_id: str = "upik-pengaduan") -> dict[str, str]:
    page = client.get(f"/lapor/{sop_id}")
    assert page.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    return {"token": token.group(1)}


def sent(response: Any) -> tuple[str, str]:
    """The tracking number and secret key from the redirect after a report."""
    assert response.status_code == 303, response.text
    prefix, tracking, key = response.headers["location"].rsplit("/", 2)
    assert prefix == "/lapor/terkirim"
    return tracking, key.split("?")[0]


def count_cases(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(CaseRow)).one())


def test_the_service_list_has_the_citizen_sops_only(client: TestClient[Litestar]) -> None:
    page = client.get("/lapor").text
    assert 'href="/lapor/upik-pengaduan"' in page
    assert 'href="/lapor/jss-pengaduan"' in page
    assert "Pemerintah Kota Yogyakarta" in page
    # Cirebon's help desk is submitted by the Call Taker, not by the public.
    assert "helpdesk-siaga-112" not in page
    assert client.get("/lapor/helpdesk-siaga-112").status_code == 404
    assert client.get("/lapor/tidak-ada").status_code == 404


def test_the_form_asks_what_the_sop_needs(client: TestClient[Litestar]) -> None:
    upik = client.get("/lapor/upik-pengaduan").text
    assert '<select id="in-f_kategori" name="f_kategori" required>' in upik
    assert 'name="anonim"' in upik and 'name="rahasia"' in upik
    # JSS IV: identified requests only (akun JSS), no anonymity offered.
    data = client.get("/lapor/jss-data-informasi").text
    assert 'name="anonim"' not in data and 'name="rahasia"' in data
    assert 'name="id_akun_jss"' in data
    assert "Wajib diisi salah satu dari: AKUN JSS." in data
    assert 'name="f_data_diminta"' in data


def test_a_report_gets_a_tracking_number(client: TestClient[Litestar], cases: CaseEngine) -> None:
    form = report_form(client)
    form.update(
        {
            "f_kategori": "kebersihan",
            "isi": "Sampah tidak diangkut seminggu di Jalan Kaliurang",
            "id_nama": "Budi Santoso",
            "id_email": "budi@example.org",
        }
    )
    response = post_form(client, "/lapor/upik-pengaduan", form)
    assert response.status_code == 303
    tracking, key = sent(response)
    assert response.headers["location"] == f"/lapor/terkirim/{tracking}/{key}"
    page = client.get(response.headers["location"]).text
    assert f'<p class="tracking" id="tracking-number">{tracking}</p>' in page
    assert f'href="/lacak/{tracking}/{key}"' in page  # the secret link
    case = cases.find(tracking)
    assert (case.unit, case.channel, case.anonymous) == ("dlh", "jss", False)
    reporter = cases.reporter(case.id)
    assert reporter is not None and reporter.name == "Budi Santoso"


def test_sending_the_same_form_twice_makes_one_case(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    form = report_form(client)
    form.update({"f_kategori": "kesehatan", "isi": "Antrean puskesmas terlalu panjang"})
    before = count_cases(web_engine)
    first = post_form(client, "/lapor/upik-pengaduan", form)
    second = post_form(client, "/lapor/upik-pengaduan", form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count_cases(web_engine) == before + 1
    # The same token with other content is not silently taken as the first report.
    changed = post_form(client, "/lapor/upik-pengaduan", {**form, "isi": "Lain"})
    assert changed.status_code == 409
    assert "Formulir ini sudah dipakai untuk laporan lain" in changed.text
    assert f'value="{form["token"]}"' not in changed.text  # a fresh token for the retry
    assert count_cases(web_engine) == before + 1


def test_an_invalid_report_is_explained_and_kept(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    form = report_form(client)
    form.update({"isi": "   ", "id_nama": "Budi"})
    response = post_form(client, "/lapor/upik-pengaduan", form)
    assert response.status_code == 422
    assert "Laporan belum dapat diterima" in response.text
    assert "isi laporan kosong" in response.text
    assert "Kategori aduan" in response.text
    assert 'value="Budi"' in response.text  # what was typed is kept
    assert count_cases(web_engine) == 0
    # JSS IV needs the JSS account.
    form = report_form(client, "jss-data-informasi")
    form.update(
        {"isi": "Data", "f_kelompok_data": "lingkungan", "f_data_diminta": "Kualitas udara"}
    )
    refused = post_form(client, "/lapor/jss-data-informasi", form)
    assert refused.status_code == 422
    assert "identitas pelapor wajib diisi" in refused.text


def test_an_anonymous_report_keeps_no_identity(
    client: TestClient[Litestar], cases: CaseEngine, web_engine: Engine
) -> None:
    form = report_form(client)
    form.update(
        {
            "f_kategori": "lainnya",
            "isi": "Pungutan liar di loket",
            "anonim": "1",
            "id_nama": "Tidak Disimpan",
        }
    )
    response = post_form(client, "/lapor/upik-pengaduan", form)
    tracking, _key = sent(response)
    case = cases.find(tracking)
    assert case.anonymous and cases.reporter(case.id) is None
    with Session(web_engine) as session:
        names = session.exec(select(Reporter.name)).all()
    assert "Tidak Disimpan" not in names


def test_tracking_shows_progress_but_no_reporter_and_no_staff_names(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine
) -> None:
    case = reports.upik("kebersihan", name="Budi Santoso", email="budi@example.org")
    admin = actor_for(cases.engine, "dlh.admin_opd")
    petugas = actor_for(cases.engine, "dlh.petugas")
    cases.act(case.id, admin, "terima")
    cases.act(case.id, petugas, "ambil")
    cases.act(case.id, petugas, "selesai", {"jawaban": "Sampah sudah diangkut hari ini."})
    response = client.get("/lacak", params={"nomor": case.tracking_number.lower()})
    assert response.status_code == 200  # redirected to /lacak/<NUMBER>
    page = response.text
    assert case.tracking_number in page
    assert "selesai" in page  # status
    assert "Menyelesaikan aduan masuk" in page  # the current step's title
    assert "Sampah sudah diangkut hari ini." in page  # the answer
    assert "Petugas Lapangan, Dinas Lingkungan Hidup" in page  # role and unit, not a name
    for private in ("Budi Santoso", "budi@example.org", "Admin DLH", "Petugas DLH", "(demo)"):
        assert private not in page
    assert "Sampah menumpuk di Jalan Malioboro" not in page  # the report's text is not public


def test_tracking_an_unknown_number(client: TestClient[Litestar]) -> None:
    response = client.get("/lacak/YOG-000000-XXXXXX")
    assert response.status_code == 404
    assert "Nomor pelacakan tidak ditemukan." in response.text
    assert client.get("/lacak/%3Cscript%3E").status_code == 404
    assert client.get("/lapor/terkirim/YOG-000000-XXXXXX").status_code == 404
    assert client.get("/lapor/terkirim/YOG-000000-XXXXXX/abc").status_code == 404
