"""The JSON API and Open311 on SQLite and PostgreSQL: an app per test on a fresh, migrated
database (the root ``db_engine`` fixture) with the seed SOPs published, a few API keys and one
staff login. The clock starts on Monday 24 November 2025, 09:00 WIB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, func, select

from rules.loader import Catalog
from sop_platform import apikeys
from sop_platform.accounts import add_user
from sop_platform.cases import Grant
from sop_platform.db import transaction
from sop_platform.models import CaseEvent, CaseRow, Reporter, ServiceRequestRow, StepVisit
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock
from web.api.limits import Limit
from web.app import create_app

SECRET = "api-test-secret-" + "x" * 40
PASSWORD = "kata-sandi-uji-2025"
UPIK = "upik-pengaduan"
ROOMY = {"submit": Limit(1000, 60), "track": Limit(1000, 60)}


@dataclass(frozen=True)
class Keys:
    """Keys of the test database, by what they may do."""

    pusat: str  # yogyakarta admin_pusat (region-wide)
    dinkes: str  # yogyakarta admin_opd and petugas_lapangan for dinkes
    dlh: str  # yogyakarta admin_opd for dlh
    app: str  # yogyakarta, no roles: submits reports only
    jambi: str  # jambi admin_koordinator
    cirebon: str  # cirebon call_taker for its help-desk unit
    revoked: str

    def header(self, name: str) -> dict[str, str]:
        return {"X-API-Key": getattr(self, name)}


KeyMaker = Callable[..., str]


@pytest.fixture
def make_key(db_engine: Engine, catalog: Catalog, clock: VirtualClock) -> KeyMaker:
    """Creates an API key now: ``make_key(name, region, roles, unit=None)`` gives its text."""

    def make(name: str, region: str, roles: list[str], unit: str | None = None) -> str:
        return apikeys.create(
            db_engine, catalog, name=name, region=region, roles=roles, unit=unit, now=clock.now()
        ).key

    return make


@pytest.fixture
def keys(
    db_engine: Engine, registry: Registry, catalog: Catalog, clock: VirtualClock, make_key: KeyMaker
) -> Keys:
    make = make_key
    cirebon_unit = next(iter(catalog.regions["cirebon"].units))
    revoked = make("lama", "yogyakarta", ["admin_pusat"])
    apikeys.revoke(db_engine, revoked.split("_")[1], clock.now())
    return Keys(
        pusat=make("Admin Pusat", "yogyakarta", ["admin_pusat"]),
        dinkes=make("Dinkes", "yogyakarta", ["admin_opd", "petugas_lapangan"], "dinkes"),
        dlh=make("DLH", "yogyakarta", ["admin_opd"], "dlh"),
        app=make("Aplikasi warga", "yogyakarta", []),
        jambi=make("Koordinator", "jambi", ["admin_koordinator"]),
        cirebon=make("Call taker", "cirebon", ["call_taker"], cirebon_unit),
        revoked=revoked,
    )


@pytest.fixture
def staff_user(db_engine: Engine, registry: Registry, clock: VirtualClock) -> str:
    add_user(
        db_engine,
        "pusat.yk",
        "Admin Pusat Yogya",
        PASSWORD,
        [Grant("yogyakarta", "admin_pusat")],
        clock.now(),
    )
    return "pusat.yk"


@pytest.fixture
def make_app(
    db_engine: Engine, registry: Registry, clock: VirtualClock, tmp_path: Path
) -> Callable[..., Litestar]:
    def build(**overrides: Any) -> Litestar:
        options: dict[str, Any] = {
            "secret": SECRET,
            "store_dir": tmp_path / "store",
            "api_limits": ROOMY,
        }
        options.update(overrides)
        return create_app(db_engine, registry, clock, **options)

    return build


@pytest.fixture
def client(make_app: Callable[..., Litestar], keys: Keys) -> Iterator[TestClient[Litestar]]:
    with TestClient(make_app()) as test_client:
        yield test_client


def counts(engine: Engine) -> dict[str, int]:
    """Rows of every table a submission or an action writes: 'nothing written' is equality."""
    out = {}
    with transaction(engine) as session:
        for table in (CaseRow, CaseEvent, StepVisit, Reporter, ServiceRequestRow):
            out[table.__tablename__] = int(  # type: ignore[attr-defined]
                session.exec(select(func.count()).select_from(table)).one()[0]  # type: ignore[call-overload]
            )
    return out


def report(
    client: TestClient[Litestar],
    kategori: str = "kesehatan",
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Submit a UPIK complaint through the API; the receipt."""
    body = {
        "sop": UPIK,
        "text": "Sampah medis dibuang di selokan dekat puskesmas",
        "fields": {"kategori": kategori},
        "reporter": {"name": "Budi Santoso", "email": "budi@example.org"},
        **extra,
    }
    response = client.post("/api/v1/cases", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    receipt: dict[str, Any] = response.json()
    return receipt
