"""Helpers of the web tests: constants, sign-in, CSRF-carrying posts, UPIK reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import TestClient

from sop_platform.demo import DEMO_PASSWORD
from sop_platform.engine import CaseEngine, CaseView, Grant, NewCase, ReporterInfo
from web.app import CSRF_COOKIE, SESSION_COOKIE

WIB = ZoneInfo("Asia/Jakarta")
START = datetime(2025, 11, 24, 9, 0, tzinfo=WIB)  # a Monday
SECRET = "test-secret-" + "x" * 40
PASSWORD = DEMO_PASSWORD
UPIK = "upik-pengaduan"

# Extra staff: a second unit (dlh) for the scope tests.
EXTRA_USERS = {
    "dlh.admin_opd": ("Admin DLH", Grant("yogyakarta", "admin_opd", "dlh")),
    "dlh.petugas": ("Petugas DLH", Grant("yogyakarta", "petugas_lapangan", "dlh")),
}
DINKES_ADMIN = "yogyakarta.admin_opd"  # the demo's admin_opd works for dinkes
ADMIN_PUSAT = "yogyakarta.admin_pusat"


def csrf(client: TestClient[Litestar]) -> str:
    """The CSRF token (from the cookie a GET sets)."""
    token = client.cookies.get(CSRF_COOKIE)
    if token is None:
        client.get("/masuk")
        token = client.cookies.get(CSRF_COOKIE)
    assert token, "no CSRF cookie after a GET"
    return token


def session_id(client: TestClient[Litestar]) -> str | None:
    return client.cookies.get(SESSION_COOKIE)


def sign_in(
    client: TestClient[Litestar], username: str, password: str = PASSWORD, next: str = ""
) -> Any:
    data = {"username": username, "password": password, "_csrf_token": csrf(client)}
    if next:
        data["next"] = next
    return client.post("/masuk", data=data, follow_redirects=False)


def post_form(
    client: TestClient[Litestar], url: str, data: dict[str, str], *, htmx: bool = False
) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        url, data={**data, "_csrf_token": csrf(client)}, headers=headers, follow_redirects=False
    )


@dataclass
class Reports:
    """Submits UPIK complaints straight through the engine (kategori picks the unit)."""

    cases: CaseEngine

    def upik(
        self,
        kategori: str,
        text: str = "Sampah menumpuk di Jalan Malioboro",
        *,
        name: str | None = "Budi Santoso",
        email: str | None = "budi@example.org",
        anonymous: bool = False,
        confidential: bool = False,
    ) -> CaseView:
        reporter = None if anonymous else ReporterInfo(name=name, email=email)
        return self.cases.submit(
            NewCase(
                sop_id=UPIK,
                channel="jss",
                text=text,
                fields={"kategori": kategori},
                reporter=reporter,
                anonymous=anonymous,
                confidential=confidential,
            )
        )
