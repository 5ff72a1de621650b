"""The administration pages: only a region's administrator, only for that region; every change
lands in the audit log, which the administrator browses and exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from sop_platform import apikeys
from sop_platform.accounts import authenticate
from sop_platform.models import AuditEntry, SopDefinitionRow, UnitRow
from sop_platform.timekeeping import VirtualClock
from tests.web.support import PASSWORD, csrf, post_form, sign_in

ADMIN = "yogyakarta.admin_daerah"
JAMBI_ADMIN = "jambi.admin_daerah"


def signed_in(client: TestClient[Litestar], username: str = ADMIN) -> TestClient[Litestar]:
    assert sign_in(client, username).status_code == 303
    return client


def create_user(
    client: TestClient[Litestar], username: str, full_name: str, role: str, unit: str = ""
) -> Any:
    """Posts the new-user form of Yogyakarta's administration page."""
    form = {"username": username, "full_name": full_name, "role": role, "unit": unit}
    return post_form(client, "/admin/yogyakarta/pengguna", form)


def audit(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry)))


def test_only_administrators_see_the_link_and_the_pages(
    client: TestClient[Litestar], other_client: TestClient[Litestar]
) -> None:
    signed_in(client, "yogyakarta.admin_opd")
    assert 'href="/admin"' not in client.get("/antrean").text
    assert client.get("/admin", follow_redirects=False).status_code == 404
    assert client.get("/admin/yogyakarta/pengguna").status_code == 404
    signed_in(other_client)
    assert 'href="/admin"' in other_client.get("/antrean").text
    first = other_client.get("/admin", follow_redirects=False)
    assert first.headers["location"] == "/admin/yogyakarta/pengguna"


def test_another_regions_pages_are_not_found(client: TestClient[Litestar]) -> None:
    signed_in(client)
    for url in (
        "/admin/jambi/pengguna",
        "/admin/jambi/audit",
        "/admin/jambi/audit.csv",
        "/admin/atlantis/unit",
    ):
        assert client.get(url).status_code == 404, url
    response = post_form(client, "/admin/jambi/unit/biro_umum/status", {"aktif": "0"})
    assert response.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient[Litestar]) -> None:
    response = client.get("/admin/yogyakarta/pengguna", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/masuk")


def test_create_a_user_shows_the_password_once_and_logs_it(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    signed_in(client)
    page = client.get("/admin/yogyakarta/pengguna")
    assert "yogyakarta.admin_opd" in page.text
    assert "jambi.admin_koordinator" not in page.text  # another region's staff
    response = create_user(client, "siti.dlh", "Siti DLH", "admin_opd", "dlh")
    assert response.status_code == 200
    found = re.search(r'id="sandi-baru">([^<]+)<', response.text)
    assert found, "the generated password is shown"
    password = found.group(1).strip()
    assert authenticate(web_engine, "siti.dlh", password) is not None
    assert password not in response.headers.get("location", "")
    [entry] = audit(web_engine)
    assert (entry.action, entry.actor_name) == ("user.create", "Administrator Daerah (demo)")
    # Shown once: the user's page afterwards does not show it again.
    user_page = client.get(f"/admin/yogyakarta/pengguna/{_user_id(response.text)}")
    assert password not in user_page.text


def _user_id(text: str) -> int:
    found = re.search(r'/admin/yogyakarta/pengguna/(\d+)/sandi"', text)
    assert found
    return int(found.group(1))


def test_a_refused_user_is_explained_and_nothing_is_written(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    signed_in(client)
    response = create_user(client, "baru", "Baru", "admin_opd")
    assert response.status_code == 422
    assert "memerlukan perangkat daerah" in response.text
    assert 'value="baru"' in response.text  # the form keeps what was typed
    assert audit(web_engine) == []
    response = create_user(client, "baru", "Baru", "admin_koordinator")
    assert response.status_code == 422, "a role of Jambi cannot be granted in Yogyakarta"
    assert audit(web_engine) == []


def test_disable_reset_grant_and_revoke_through_the_pages(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    signed_in(client)
    created = create_user(client, "budi", "Budi", "admin_pusat")
    user_id = _user_id(created.text)
    base = f"/admin/yogyakarta/pengguna/{user_id}"
    assert post_form(client, base + "/status", {"aktif": "0"}).status_code == 303
    assert "nonaktif" in client.get(base).text
    reset = post_form(client, base + "/sandi", {})
    password = re.search(r'id="sandi-baru">([^<]+)<', reset.text)
    assert password
    assert post_form(client, base + "/status", {"aktif": "1"}).status_code == 303
    assert authenticate(web_engine, "budi", password.group(1).strip()) is not None
    granted = post_form(client, base + "/peran", {"role": "admin_opd", "unit": "dinkes"})
    assert granted.status_code == 303
    assert (
        post_form(client, base + "/cabut", {"role": "admin_pusat", "unit": ""}).status_code == 303
    )
    refused = post_form(client, base + "/cabut", {"role": "admin_opd", "unit": "dinkes"})
    assert refused.status_code == 422 and "Peran terakhir" in refused.text
    assert [e.action for e in audit(web_engine)] == [
        "user.create",
        "user.disable",
        "user.reset_password",
        "user.enable",
        "role.grant",
        "role.revoke",
    ]


def test_a_disabled_user_is_signed_out_at_once(
    client: TestClient[Litestar], other_client: TestClient[Litestar]
) -> None:
    signed_in(other_client, "dlh.petugas")
    assert other_client.get("/antrean").status_code == 200
    signed_in(client)
    users = client.get("/admin/yogyakarta/pengguna").text
    found = re.search(r'/admin/yogyakarta/pengguna/(\d+)">dlh\.petugas<', users)
    assert found
    post_form(client, f"/admin/yogyakarta/pengguna/{found.group(1)}/status", {"aktif": "0"})
    assert other_client.get("/antrean", follow_redirects=False).status_code == 303
    assert sign_in(other_client, "dlh.petugas", PASSWORD).status_code != 303


def test_units_activation_and_contact(client: TestClient[Litestar], web_engine: Engine) -> None:
    signed_in(client)
    assert "Dinas Lingkungan Hidup" in client.get("/admin/yogyakarta/unit").text
    assert post_form(client, "/admin/yogyakarta/unit/dlh/status", {"aktif": "0"}).status_code == 303
    bad = post_form(client, "/admin/yogyakarta/unit/dinkes/kontak", {"email": "bukan", "phone": ""})
    assert bad.status_code == 422
    good = post_form(
        client,
        "/admin/yogyakarta/unit/dinkes/kontak",
        {"email": "aduan@dinkes.example", "phone": "0274 123 456"},
    )
    assert good.status_code == 303
    with Session(web_engine) as session:
        units = {u.key: u for u in session.exec(select(UnitRow))}
    assert not units["dlh"].active and units["dinkes"].contact_email == "aduan@dinkes.example"
    assert post_form(client, "/admin/yogyakarta/unit/bulan/status", {}).status_code == 404
    assert [e.action for e in audit(web_engine)] == ["unit.deactivate", "unit.contact"]


def test_withdraw_and_publish_a_version_again(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    signed_in(client)
    with Session(web_engine) as session:
        upik = session.exec(
            select(SopDefinitionRow).where(SopDefinitionRow.sop_id == "upik-pengaduan")
        ).one()
    listing = client.get("/admin/yogyakarta/sop").text
    assert "upik-pengaduan" in listing and "lapor" not in listing.split("<tbody>")[1]
    url = f"/admin/yogyakarta/sop/upik-pengaduan/{upik.version}"
    assert post_form(client, url, {"terbit": "0"}).status_code == 303
    assert client.get("/lapor/upik-pengaduan").status_code == 404  # no new reports
    assert post_form(client, url, {"terbit": "1"}).status_code == 303
    assert client.get("/lapor/upik-pengaduan").status_code == 200
    assert post_form(client, "/admin/yogyakarta/sop/lapor/2022", {"terbit": "0"}).status_code == 404
    assert [e.action for e in audit(web_engine)] == ["sop.withdraw", "sop.publish"]


def test_the_audit_log_filters_pages_and_exports(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    signed_in(client)
    for key in ("dlh", "dinkes", "bpbd"):
        post_form(client, f"/admin/yogyakarta/unit/{key}/status", {"aktif": "0"})
    create_user(client, "budi", "Budi", "admin_pusat")
    page = client.get("/admin/yogyakarta/audit")
    assert page.text.index("user.create") < page.text.index("unit.deactivate")  # newest first
    only_units = client.get("/admin/yogyakarta/audit", params={"aksi": "unit."})
    assert "user.create</code>" not in only_units.text
    assert only_units.text.count("unit.deactivate</code>") == 3
    fragment = client.get(
        "/admin/yogyakarta/audit", params={"sasaran": "dinkes"}, headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<div id="audit-list">')
    assert fragment.text.count("unit:dinkes") == 1

    exported = client.get("/admin/yogyakarta/audit.csv", params={"aksi": "unit."})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["target"] for r in rows] == ["unit:dlh", "unit:dinkes", "unit:bpbd"]
    assert rows[0]["actor_name"] == "Administrator Daerah (demo)"
    assert rows[0]["after"] == '{"active": false}'


def test_the_audit_log_pages_by_keyset(client: TestClient[Litestar], web_engine: Engine) -> None:
    signed_in(client)
    with Session(web_engine) as session:
        for i in range(55):
            session.add(
                AuditEntry(
                    at=datetime(2025, 11, 24, tzinfo=UTC),
                    region_id="yogyakarta",
                    actor_name="Admin",
                    action="unit.contact",
                    target=f"unit:u{i:02d}",
                )
            )
        session.commit()
    first = client.get("/admin/yogyakarta/audit").text
    assert "unit:u54" in first and "unit:u04" not in first
    older = re.search(r'href="(/admin/yogyakarta/audit\?after=\d+)"', first)
    assert older
    second = client.get(older.group(1)).text
    assert "unit:u04" in second and "unit:u54" not in second
    assert "Lebih lama" not in second, "the last page has no older page"
    assert "Terbaru" in second


def test_api_keys_are_shown_once_listed_and_revoked(
    client: TestClient[Litestar], web_engine: Engine, web_clock: VirtualClock
) -> None:
    signed_in(client)
    assert "Kunci API" in client.get("/admin/yogyakarta/kunci-api").text
    refused = client.post(
        "/admin/yogyakarta/kunci-api",
        data={"name": "Aplikasi", "roles": ["admin_opd"], "unit": "", "_csrf_token": csrf(client)},
    )
    assert refused.status_code == 422 and "need --unit" in refused.text
    made = client.post(
        "/admin/yogyakarta/kunci-api",
        data={
            "name": "Aplikasi JSS",
            "roles": ["admin_opd", "admin_pusat"],
            "unit": "dinkes",
            "_csrf_token": csrf(client),
        },
    )
    assert made.status_code == 200
    found = re.search(r'<code id="kunci-baru">(sop_[0-9a-f]{8}_[^<]+)</code>', made.text)
    assert found
    key = found.group(1)
    actor = apikeys.authenticate(web_engine, key, web_clock.now())
    assert actor is not None and set(actor.key.roles) == {"admin_opd", "admin_pusat"}
    listing = client.get("/admin/yogyakarta/kunci-api").text
    assert actor.key.prefix in listing and key not in listing
    revoked = post_form(client, f"/admin/yogyakarta/kunci-api/{actor.key.prefix}/cabut", {})
    assert revoked.status_code == 303
    assert apikeys.authenticate(web_engine, key, web_clock.now()) is None
    assert [e.action for e in audit(web_engine)] == ["apikey.create", "apikey.revoke"]
    jambi = apikeys.create(
        web_engine, _catalog(client), name="Jambi", region="jambi", now=web_clock.now()
    )
    other = post_form(client, f"/admin/yogyakarta/kunci-api/{jambi.prefix}/cabut", {})
    assert other.status_code == 404
    assert apikeys.authenticate(web_engine, jambi.key, web_clock.now()) is not None


def _catalog(client: TestClient[Litestar]) -> Any:
    return client.app.state.web.registry.catalog


def test_the_request_id_is_kept_with_the_entry(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    signed_in(client)
    response = client.post(
        "/admin/yogyakarta/unit/dlh/status",
        data={"aktif": "0", "_csrf_token": csrf(client)},
        headers={"X-Request-ID": "req-admin-42"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    [entry] = audit(web_engine)
    assert entry.request_id == "req-admin-42"
