"""The English switch, static assets, htmx present or missing, and the htmx fetch script."""

from __future__ import annotations

import hashlib
import io
import re
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from sop_platform.accounts import actor_for
from sop_platform.engine import CaseEngine
from tests.web.support import Reports, post_form, sign_in
from web import app as app_module
from web import fetch_htmx, i18n


def test_english_switch_changes_the_interface_not_the_sop(
    client: TestClient[Litestar], reports: Reports
) -> None:
    page = client.get("/lapor").text
    assert '<html lang="id">' in page and "Buat laporan" in page
    response = post_form(client, "/bahasa", {"lang": "en", "next": "/lapor"})
    assert response.status_code == 303
    assert response.headers["location"] == "/lapor"
    page = client.get("/lapor").text
    assert '<html lang="en">' in page
    assert "Make a report" in page and "Buat laporan" not in page
    assert "Pemerintah Kota Yogyakarta" in page  # what the SOP files say stays as written
    # Staff pages too, and the engine's messages come in English.
    case = reports.upik("kebersihan")
    sign_in(client, "dlh.admin_opd")
    queue = client.get("/antrean").text
    assert "Work queue (antrean)" in queue
    assert "2 h left" in queue and "lagi" not in queue
    refused = post_form(client, f"/kasus/{case.id}/tindakan", {"action": "tolak", "revision": "1"})
    assert refused.status_code == 422
    assert "Required entries are missing" in refused.text
    assert "Isian wajib" not in refused.text
    # And back.
    post_form(client, "/bahasa", {"lang": "id", "next": "/antrean"})
    assert "Antrean kerja" in client.get("/antrean").text


def test_an_unknown_language_falls_back_and_next_stays_on_site(
    client: TestClient[Litestar],
) -> None:
    response = post_form(client, "/bahasa", {"lang": "xx", "next": "//evil.example"})
    assert response.headers["location"] == "/"
    assert '<html lang="id">' in client.get("/").text


def test_every_interface_text_exists_in_both_languages() -> None:
    for key, words in i18n._WORDS.items():
        assert len(words) == 2 and all(w.strip() for w in words), key
    assert i18n.duration(i18n.timedelta(days=1, hours=2, minutes=5), "id") == "1 h 2 j"
    assert i18n.duration(i18n.timedelta(seconds=20), "en") == "0 m"


def test_static_files_are_served(client: TestClient[Litestar]) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    assert client.get("/static/../app.py").status_code == 404


def test_pages_include_htmx_only_when_it_is_there(
    make_app: Callable[..., Litestar], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "htmx.min.js"
    monkeypatch.setattr(app_module, "HTMX_FILE", missing)
    with TestClient(make_app()) as client:
        page = client.get("/lapor").text
        # Only the app's own small script (progress for plain forms), no htmx.
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js" defer>']
        assert client.get("/static/app.js").status_code == 200
        # Plain forms still carry the token (language switch, and the report form below).
        assert 'name="_csrf_token"' in page
        form = client.get("/lapor/upik-pengaduan").text
        assert 'method="post" action="/lapor/upik-pengaduan"' in form
    present = tmp_path / "htmx.min.js"
    present.write_text("/* htmx */")
    monkeypatch.setattr(app_module, "HTMX_FILE", present)
    with TestClient(make_app()) as client:
        assert '<script src="/static/vendor/htmx.min.js" defer></script>' in client.get("/").text


def test_acting_works_without_htmx(
    make_app: Callable[..., Litestar],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reports: Reports,
    cases: CaseEngine,
) -> None:
    monkeypatch.setattr(app_module, "HTMX_FILE", tmp_path / "missing.js")
    case = reports.upik("kebersihan")
    with TestClient(make_app()) as client:
        sign_in(client, "dlh.admin_opd")
        form = {"action": "terima", "revision": "1"}
        response = client.post(
            f"/kasus/{case.id}/tindakan",
            data={**form, "_csrf_token": client.cookies["sop_csrf"]},
        )
        assert response.status_code == 200  # followed the redirect to the case page
        assert "Tindakan dicatat." in response.text
    assert cases.get(case.id).step == "penerimaan"
    assert actor_for(cases.engine, "dlh.admin_opd").name == "Admin DLH"


# --- web/fetch_htmx.py, with a stand-in for npm ----------------------------------------------


def fake_npm(tmp_path: Path, content: bytes) -> str:
    """An ``npm`` that 'packs' a tarball holding ``package/dist/htmx.min.js``."""
    tarball = tmp_path / "source.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        info = tarfile.TarInfo(fetch_htmx.MEMBER)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    script = tmp_path / "npm"
    script.write_text(f'#!/bin/sh\ncp "{tarball}" "htmx.org-{fetch_htmx.VERSION}.tgz"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_fetch_writes_the_file_only_when_the_checksum_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"var htmx = {};"
    npm = fake_npm(tmp_path, content)
    target = tmp_path / "vendor" / "htmx.min.js"
    with pytest.raises(ValueError, match="sha256"):
        fetch_htmx.fetch(target, npm=npm)
    assert not target.exists()
    monkeypatch.setattr(fetch_htmx, "SHA256", hashlib.sha256(content).hexdigest())
    data = fetch_htmx.fetch(target, npm=npm)
    fetch_htmx.write(data, target)
    assert target.read_bytes() == content
    assert fetch_htmx.verified(target)


def test_fetch_pins_a_version_and_a_checksum() -> None:
    assert fetch_htmx.VERSION.count(".") == 2
    assert len(fetch_htmx.SHA256) == 64
    assert int(fetch_htmx.SHA256, 16) >= 0
