"""Citizen pages beyond the plain report: photos, the secret link, the reporter's own steps,
questions and ratings."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from sop_platform.accounts import actor_for
from sop_platform.cases import Actor, Grant
from sop_platform.engine import CaseEngine
from sop_platform.models import Attachment, CaseRow, CitizenRating
from tests.web.support import SECRET, Reports, csrf, post_form
from web.citizen import tracking_key

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x07" * 2048
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _form(client: TestClient[Litestar], url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    return {"token": token.group(1), "_csrf_token": csrf(client)}


def _multipart(
    client: TestClient[Litestar],
    sop_id: str,
    data: dict[str, str],
    photos: list[tuple[str, bytes, str]],
    headers: dict[str, str] | None = None,
) -> Any:
    files = [("foto", photo) for photo in photos]
    return client.post(
        f"/lapor/{sop_id}", data=data, files=files, headers=headers or {}, follow_redirects=False
    )


def _sent(response: Any) -> tuple[str, str]:
    assert response.status_code == 303, response.text
    _prefix, tracking, key = response.headers["location"].split("?")[0].rsplit("/", 2)
    return tracking, key


UPIK_REPORT = {"f_kategori": "infrastruktur", "isi": "Jalan berlubang di Jalan Kaliurang km 5"}


def test_a_report_carries_its_photos(
    client: TestClient[Litestar], cases: CaseEngine, web_engine: Engine
) -> None:
    form = {**_form(client, "/lapor/upik-pengaduan"), **UPIK_REPORT, "anonim": "1"}
    photos = [("lubang.jpg", JPEG, "image/jpeg"), ("peta.png", PNG, "image/png")]
    response = _multipart(client, "upik-pengaduan", form, photos)
    tracking, key = _sent(response)
    case = cases.find(tracking)
    with Session(web_engine) as session:
        rows = session.exec(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert sorted((r.filename, r.content_type, r.size) for r in rows) == [
        ("lubang.jpg", "image/jpeg", len(JPEG)),
        ("peta.png", "image/png", len(PNG)),
    ]
    sent_page = client.get(response.headers["location"]).text
    assert "Foto terlampir: 2" in sent_page
    owner = client.get(f"/lacak/{tracking}/{key}").text
    assert "lubang.jpg" in owner and "peta.png" in owner
    # Sending the same form again (a retry) makes neither a second case nor a second photo.
    again = _multipart(client, "upik-pengaduan", form, photos)
    assert _sent(again) == (tracking, key)
    assert _count(web_engine, Attachment) == 2
    # The public tracking page (number only) shows no file names.
    assert "lubang.jpg" not in client.get(f"/lacak/{tracking}").text
    # The reporter opens their own photo with the secret link, and only their own.
    first = min(r.id for r in rows if r.filename == "lubang.jpg")
    photo = client.get(f"/lacak/{tracking}/{key}/foto/{first}")
    assert photo.status_code == 200 and photo.content == JPEG
    assert photo.headers["content-type"] == "image/jpeg"
    assert client.get(f"/lacak/{tracking}/{'k' * 20}/foto/{first}").status_code == 404
    other_form = {**_form(client, "/lapor/upik-pengaduan"), **UPIK_REPORT, "anonim": "1"}
    other, other_key = _sent(_multipart(client, "upik-pengaduan", other_form, []))
    assert client.get(f"/lacak/{other}/{other_key}/foto/{first}").status_code == 404
    assert client.get(f"/lacak/{tracking}/{key}/foto/999999").status_code == 404


def test_a_file_that_is_not_a_photo_stops_the_report(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    form = {**_form(client, "/lapor/upik-pengaduan"), **UPIK_REPORT}
    fake = [("foto.jpg", b"MZ\x90\x00 not an image at all", "image/jpeg")]
    response = _multipart(client, "upik-pengaduan", form, fake)
    assert response.status_code == 422
    assert "berkas &#39;foto.jpg&#39; bukan foto JPEG, PNG atau WebP" in response.text
    assert "Jalan berlubang di Jalan Kaliurang km 5" in response.text  # the text is kept
    assert "Pilih ulang foto Anda" in response.text
    assert _count(web_engine, CaseRow) == 0
    assert _count(web_engine, Attachment) == 0
    big = [("besar.jpg", JPEG + b"\x00" * (5 * 1024 * 1024), "image/jpeg")]
    too_large = _multipart(client, "upik-pengaduan", form, big)
    assert too_large.status_code == 422
    assert "lebih besar dari 5 MB" in too_large.text
    four = [(f"{i}.jpg", JPEG + bytes([i]), "image/jpeg") for i in range(4)]
    assert "paling banyak 3 foto" in _multipart(client, "upik-pengaduan", form, four).text
    assert _count(web_engine, CaseRow) == 0


def test_htmx_gets_a_redirect_header_or_the_form_with_the_error(
    client: TestClient[Litestar],
) -> None:
    htmx = {"HX-Request": "true"}
    form = {**_form(client, "/lapor/upik-pengaduan"), **UPIK_REPORT}
    bad = _multipart(client, "upik-pengaduan", {**form, "isi": " "}, [], headers=htmx)
    assert bad.status_code == 422
    assert bad.text.lstrip().startswith('<form id="report-form"')  # the block, not the page
    assert "isi laporan kosong" in bad.text
    good = _multipart(client, "upik-pengaduan", form, [], headers=htmx)
    assert good.status_code == 200
    assert re.fullmatch(
        r"/lapor/terkirim/YOG-\d{6}-[A-Z0-9]{6}/[\w-]{20}", good.headers["hx-redirect"]
    )


def test_the_secret_link_is_the_only_way_in(client: TestClient[Litestar], reports: Reports) -> None:
    case = reports.upik("kebersihan")
    number = case.tracking_number
    key = tracking_key(SECRET, number)
    assert len(key) == 20
    assert client.get(f"/lacak/{number}/{key}").status_code == 200
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert client.get(f"/lacak/{number}/{wrong}").status_code == 404
    assert client.get(f"/lapor/terkirim/{number}/{wrong}").status_code == 404
    # Another case's key does not open this case.
    other = reports.upik("kesehatan")
    assert (
        client.get(f"/lacak/{number}/{tracking_key(SECRET, other.tracking_number)}").status_code
        == 404
    )
    # Without the key there is no rating form, only the hint where to find it.
    public = client.get(f"/lacak/{number}").text
    assert 'id="rating-form"' not in public
    assert "buka tautan rahasia" in public


def _close_upik(cases: CaseEngine, case_id: int) -> None:
    admin = actor_for(cases.engine, "dlh.admin_opd")
    petugas = actor_for(cases.engine, "dlh.petugas")
    cases.act(case_id, admin, "terima")
    cases.act(case_id, petugas, "ambil")
    cases.act(case_id, petugas, "selesai", {"jawaban": "Sampah sudah diangkut."})


def test_the_reporter_rates_a_closed_case_once(
    client: TestClient[Litestar], reports: Reports, cases: CaseEngine, web_engine: Engine
) -> None:
    case = reports.upik("kebersihan")
    base = f"/lacak/{case.tracking_number}/{tracking_key(SECRET, case.tracking_number)}"
    early = client.get(base).text
    assert 'id="rating-form"' not in early
    assert "Penilaian dapat diberikan setelah laporan selesai ditangani." in early
    refused = post_form(client, f"{base}/nilai", {"nilai": "5"})
    assert refused.status_code == 422 and "belum selesai" in refused.text
    _close_upik(cases, case.id)
    page = client.get(base).text
    assert 'id="rating-form"' in page
    assert "Sampah sudah diangkut." in page  # the answer, shown above the history
    bad = post_form(client, f"{base}/nilai", {"nilai": "9"}, htmx=True)
    assert bad.status_code == 422
    assert "Nilai harus antara 1 dan 5." in bad.text
    assert bad.text.lstrip().startswith('<section id="penilaian"')
    assert _count(web_engine, CitizenRating) == 0
    done = post_form(client, f"{base}/nilai", {"nilai": "4", "komentar": "Cepat ditangani"})
    assert done.status_code == 303 and done.headers["location"] == f"{base}#penilaian"
    shown = client.get(base).text
    assert "Penilaian Anda: 4 dari 5" in shown and "Cepat ditangani" in shown
    assert 'id="rating-form"' not in shown
    twice = post_form(client, f"{base}/nilai", {"nilai": "1"})
    assert twice.status_code == 422 and "sudah dinilai" in twice.text
    with Session(web_engine) as session:
        (rating,) = session.exec(select(CitizenRating)).all()
    assert (rating.case_id, rating.score, rating.comment) == (case.id, 4, "Cepat ditangani")
    # A wrong key rates nothing.
    wrong = f"/lacak/{case.tracking_number}/{'x' * 20}/nilai"
    assert post_form(client, wrong, {"nilai": "5"}).status_code == 404


def test_a_question_is_a_first_class_entry(client: TestClient[Litestar], cases: CaseEngine) -> None:
    home = client.get("/").text
    assert 'href="/tanya"' in home
    ask = client.get("/tanya").text
    assert 'href="/lapor/jss-pengaduan?f_jenis=pertanyaan"' in ask
    assert 'href="/lapor/jss-pengaduan?f_jenis=saran"' in ask
    assert "upik-pengaduan" not in ask  # UPIK takes complaints only
    page = client.get("/lapor/jss-pengaduan?f_jenis=pertanyaan").text
    assert "<h1>Ajukan pertanyaan</h1>" in page
    assert '<option value="pertanyaan" selected>' in page
    form = {
        **_form(client, "/lapor/jss-pengaduan?f_jenis=pertanyaan"),
        "f_jenis": "pertanyaan",
        "isi": "Kapan pendaftaran PPDB SMP negeri dibuka?",
        "anonim": "1",
    }
    tracking, _key = _sent(_multipart(client, "jss-pengaduan", form, []))
    case = cases.find(tracking)
    assert (case.sop_id, case.fields["jenis"], case.step) == (
        "jss-pengaduan",
        "pertanyaan",
        "penerusan",
    )
    # A category can be chosen on the service list and arrives chosen.
    listing = client.get("/lapor").text
    assert 'href="/lapor/upik-pengaduan?f_kategori=kebersihan"' in listing
    chosen = client.get("/lapor/upik-pengaduan?f_kategori=kebersihan").text
    assert '<option value="kebersihan" selected>' in chosen


def test_the_reporter_takes_the_step_the_sop_gives_them(
    client: TestClient[Litestar], cases: CaseEngine
) -> None:
    # Bantul row 6: the citizen receives the answer and may confirm it.
    form = {
        **_form(client, "/lapor/pengaduan-terintegrasi"),
        "f_kategori": "kesehatan",
        "isi": "Jam berapa Puskesmas Sewon I buka hari Sabtu?",
        "anonim": "1",
    }
    tracking, key = _sent(_multipart(client, "pengaduan-terintegrasi", form, []))
    case = cases.find(tracking)
    base = f"/lacak/{tracking}/{key}"
    assert 'action="' + base + '/tindakan"' not in client.get(base).text  # not their turn yet
    refused = post_form(client, f"{base}/tindakan", {"action": "terima_jawaban"})
    assert refused.status_code == 422
    operator = Actor("Operator Dinkes", (Grant("bantul", "operator", "dinkes"),))
    cases.act(case.id, operator, "jawab_langsung", {"jawaban": "Buka pukul 07.30-12.00."})
    page = client.get(base).text
    assert "Giliran Anda" in page and "Jawaban diterima" in page
    revision = re.search(r'name="revision" value="(\d+)"', page)
    assert revision
    done = post_form(
        client, f"{base}/tindakan", {"action": "terima_jawaban", "revision": revision.group(1)}
    )
    assert done.status_code == 303
    assert cases.find(tracking).status == "done"
    # The public page never offers the step; the same post without the key is not found.
    assert "Giliran Anda" not in client.get(f"/lacak/{tracking}").text
    assert (
        post_form(client, f"/lacak/{tracking}/{'y' * 20}/tindakan", {"action": "x"}).status_code
        == 404
    )


def test_a_body_past_the_limit_is_refused_with_the_limits_named(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    from sop_platform.attachments import MAX_PHOTO_BYTES, MAX_PHOTOS, size_text
    from web.citizen import MAX_REPORT_BODY

    form = {**_form(client, "/lapor/upik-pengaduan"), **UPIK_REPORT}
    each = MAX_REPORT_BODY // MAX_PHOTOS + 1
    photos = [(f"{i}.jpg", JPEG + bytes([i]) * each, "image/jpeg") for i in range(MAX_PHOTOS)]
    response = _multipart(client, "upik-pengaduan", form, photos)
    assert response.status_code == 413
    named = f"paling banyak {MAX_PHOTOS} foto, masing-masing paling besar "
    assert named + size_text(MAX_PHOTO_BYTES) in response.text
    assert _count(web_engine, CaseRow) == 0


def test_photos_that_cannot_be_stored_leave_the_report_standing(
    client: TestClient[Litestar],
    app: Litestar,
    cases: CaseEngine,
    web_engine: Engine,
    monkeypatch: Any,
) -> None:
    store = app.state.web.attachments

    def disk_full(case_id: int, files: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "save", disk_full)
    form = {**_form(client, "/lapor/upik-pengaduan"), **UPIK_REPORT, "anonim": "1"}
    response = _multipart(client, "upik-pengaduan", form, [("a.jpg", JPEG, "image/jpeg")])
    tracking, _key = _sent(response)
    assert response.headers["location"].endswith("?foto=gagal")
    assert cases.find(tracking).text == UPIK_REPORT["isi"]
    page = client.get(response.headers["location"]).text
    assert "Laporan diterima, tetapi foto tidak dapat disimpan." in page
    assert _count(web_engine, Attachment) == 0
