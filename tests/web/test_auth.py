"""Sign-in, sessions, sign-out, the attempt limit, CSRF, and where anonymous requests go."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from tests.web.support import (
    DINKES_ADMIN,
    PASSWORD,
    csrf,
    post_form,
    session_id,
    sign_in,
)
from web.app import CSRF_COOKIE, SESSION_COOKIE
from web.auth import safe_next
from web.ratelimit import LoginLimiter


def test_sign_in_goes_to_the_page_asked_for_and_shows_the_name(
    client: TestClient[Litestar],
) -> None:
    first = client.get("/antrean", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/masuk?next=/antrean"
    page = client.get(first.headers["location"])
    assert "Silakan masuk untuk membuka halaman itu." in page.text

    response = sign_in(client, "dlh.admin_opd", next="/antrean?status=open")
    assert response.status_code == 303
    assert response.headers["location"] == "/antrean?status=open"
    queue = client.get("/antrean")
    assert queue.status_code == 200
    assert "Masuk sebagai <strong>Admin DLH</strong>" in queue.text
    assert "Antrean kerja" in queue.text


def test_wrong_password_is_refused_in_place(client: TestClient[Litestar]) -> None:
    response = sign_in(client, DINKES_ADMIN, password="salah")
    assert response.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in response.text
    assert session_id(client) is None
    unknown = sign_in(client, "tidak.ada", password=PASSWORD)
    assert unknown.status_code == 401
    assert client.get("/antrean", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_site(client: TestClient[Litestar]) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = sign_in(client, DINKES_ADMIN, next=target)
        assert response.headers["location"] == "/antrean"
    assert safe_next("/kasus/3") == "/kasus/3"
    assert safe_next(None) == "/antrean"


def test_session_survives_a_restart_with_the_same_store(
    make_app: Callable[..., Litestar],
) -> None:
    with TestClient(make_app()) as before:
        assert sign_in(before, "dlh.admin_opd").status_code == 303
        cookies = dict(before.cookies)
    assert SESSION_COOKIE in cookies
    # A new application object (a restart) on the same store directory.
    with TestClient(make_app(), cookies=cookies) as after:
        response = after.get("/antrean", follow_redirects=False)
        assert response.status_code == 200
        assert "Admin DLH" in response.text


def test_a_new_store_means_signed_out(
    make_app: Callable[..., Litestar], tmp_path_factory: pytest.TempPathFactory
) -> None:
    with TestClient(make_app()) as before:
        sign_in(before, DINKES_ADMIN)
        cookies = dict(before.cookies)
    elsewhere = tmp_path_factory.mktemp("other-store")
    with TestClient(make_app(store_dir=elsewhere), cookies=cookies) as after:
        assert after.get("/antrean", follow_redirects=False).status_code == 303


def test_session_id_changes_at_sign_in(client: TestClient[Litestar]) -> None:
    # A planted id (session fixation) is never adopted.
    client.cookies.set(SESSION_COOKIE, "a" * 64, domain="testserver.local")
    sign_in(client, DINKES_ADMIN)
    first = session_id(client)
    assert first and first != "a" * 64
    # Signing in again (another user at the same browser) gets a new id; the old one is dead.
    sign_in(client, "dlh.admin_opd")
    second = session_id(client)
    assert second and second != first
    with TestClient(client.app, cookies={SESSION_COOKIE: first}) as stale:
        assert stale.get("/antrean", follow_redirects=False).status_code == 303
    assert "Admin DLH" in client.get("/antrean").text


def test_sign_out_ends_the_session(client: TestClient[Litestar]) -> None:
    sign_in(client, DINKES_ADMIN)
    old = session_id(client)
    response = post_form(client, "/keluar", {})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/masuk")
    assert "Anda sudah keluar." in client.get(response.headers["location"]).text
    assert client.get("/antrean", follow_redirects=False).status_code == 303
    # Replaying the old cookie does not bring the session back.
    with TestClient(client.app, cookies={SESSION_COOKIE: old or ""}) as replay:
        assert replay.get("/antrean", follow_redirects=False).status_code == 303


def test_sign_in_attempts_are_limited_per_user_and_address(
    client: TestClient[Litestar],
) -> None:
    for _ in range(5):
        assert sign_in(client, DINKES_ADMIN, password="salah").status_code == 401
    limited = sign_in(client, DINKES_ADMIN)  # even the right password, for now
    assert limited.status_code == 429
    assert "Terlalu banyak percobaan masuk." in limited.text
    assert session_id(client) is None
    # Another username from the same address is not affected.
    assert sign_in(client, "dlh.admin_opd").status_code == 303


def test_limiter_window_and_reset() -> None:
    now = [1000.0]
    limiter = LoginLimiter(MemoryStore(), attempts=2, window=60, now=lambda: now[0])

    async def run() -> list[bool]:
        out = [await limiter.hit("u", "1.2.3.4") for _ in range(3)]
        now[0] += 61  # the window has passed
        out.append(await limiter.hit("u", "1.2.3.4"))
        await limiter.clear("u", "1.2.3.4")
        out += [await limiter.hit("U ", "1.2.3.4"), await limiter.hit("u", "5.6.7.8")]
        return out

    assert asyncio.run(run()) == [True, True, False, True, True, True]


def test_unsafe_requests_need_the_csrf_token(client: TestClient[Litestar]) -> None:
    csrf(client)
    without = client.post(
        "/masuk", data={"username": DINKES_ADMIN, "password": PASSWORD}, follow_redirects=False
    )
    assert without.status_code == 403
    assert "token keamanan formulir tidak cocok" in without.text
    wrong = client.post(
        "/masuk",
        data={"username": DINKES_ADMIN, "password": PASSWORD, "_csrf_token": "0" * 128},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    # htmx sends the token in a header (hx-headers on <body>): accepted.
    token = client.cookies[CSRF_COOKIE]
    with_header = client.post(
        "/masuk",
        data={"username": DINKES_ADMIN, "password": PASSWORD},
        headers={"x-csrftoken": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert with_header.status_code == 204
    assert with_header.headers["HX-Redirect"] == "/antrean"


def test_htmx_csrf_failure_is_swapped_into_the_message_area(
    client: TestClient[Litestar],
) -> None:
    csrf(client)
    response = client.post("/keluar", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#pesan"
    assert "<html" not in response.text
    assert 'role="alert"' in response.text


def test_layout_carries_the_token_for_htmx_and_forms(client: TestClient[Litestar]) -> None:
    page = client.get("/masuk")
    token = client.cookies[CSRF_COOKIE]
    assert f'hx-headers=\'{{"x-csrftoken": "{token}"}}\'' in page.text
    assert f'name="_csrf_token" value="{token}"' in page.text
    assert '"responseHandling"' in page.text  # htmx swaps 4xx/5xx too


def test_anonymous_page_requests_redirect_and_others_get_401(
    client: TestClient[Litestar],
) -> None:
    page = client.get("/antrean?sop=upik-pengaduan", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/masuk?next=/antrean%3Fsop%3Dupik-pengaduan"
    case = client.get("/kasus/1", follow_redirects=False)
    assert case.headers["location"] == "/masuk?next=/kasus/1"
    htmx = client.get("/antrean", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401
    assert htmx.headers["HX-Retarget"] == "#pesan"
    assert 'href="/masuk"' in htmx.text
    api = client.get("/antrean", headers={"Accept": "application/json"}, follow_redirects=False)
    assert api.status_code == 401
    assert api.json()["status_code"] == 401
    post = post_form(client, "/kasus/1/tindakan", {"action": "terima", "revision": "1"})
    assert post.status_code == 303
    assert post.headers["location"] == "/masuk?next=/antrean"


def test_anonymous_visitors_get_no_session(client: TestClient[Litestar]) -> None:
    for url in ("/", "/lapor", "/lacak", "/masuk"):
        assert client.get(url).status_code == 200
    assert session_id(client) is None


def test_security_headers(client: TestClient[Litestar]) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_short_secret_is_refused(make_app: Callable[..., Litestar]) -> None:
    with pytest.raises(ValueError, match="32 characters"):
        make_app(secret="short")


def test_server_errors_are_logged_and_shown_plainly(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, DINKES_ADMIN)
    web = client.app.state.web

    def broken(case_id: int) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(web.cases, "get", broken)
    with caplog.at_level(logging.ERROR, logger="web"):
        response = client.get("/kasus/1")
    assert response.status_code == 500
    assert "Terjadi kesalahan di server" in response.text
    assert "disk on fire" not in response.text
    assert any("disk on fire" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
