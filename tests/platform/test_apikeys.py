"""API keys on SQLite and PostgreSQL: shown once, stored hashed, scoped, revoked at once; and the
``sop apikey`` commands."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from rules.loader import Catalog
from sop_platform import apikeys
from sop_platform.apikeys import ApiKeyError
from sop_platform.cases import Grant
from sop_platform.cli import main
from sop_platform.db import make_engine, transaction
from sop_platform.models import ApiKey
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock
from tests.conftest import DEFINITIONS

NOW = datetime(2025, 11, 24, 2, 0, tzinfo=UTC)


def _count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(ApiKey)).one())


def test_a_key_is_stored_only_as_its_hash_and_acts_with_its_grants(
    db_engine: Engine, registry: Registry, catalog: Catalog, clock: VirtualClock
) -> None:
    made = apikeys.create(
        db_engine,
        catalog,
        name="Aplikasi kota",
        region="yogyakarta",
        roles=["admin_opd", "admin_pusat"],
        unit="dinkes",
        now=clock.now(),
    )
    assert re.fullmatch(r"sop_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", made.key)
    assert made.key.startswith(f"sop_{made.prefix}_")
    with transaction(db_engine) as session:
        row = session.exec(select(ApiKey)).one()
        stored = [str(v) for v in row.model_dump().values()]
    assert made.key not in stored and made.key.split("_", 2)[2] not in " ".join(stored)
    assert row.secret_hash == hashlib.sha256(made.key.encode()).hexdigest()

    found = apikeys.authenticate(db_engine, made.key, clock.now())
    assert found is not None
    assert set(found.actor.grants) == {
        Grant("yogyakarta", "admin_opd", "dinkes"),
        Grant("yogyakarta", "admin_pusat", "dinkes"),
    }
    assert found.key.last_used_at is None  # as it was before this use
    assert apikeys.list_keys(db_engine)[0].last_used_at == clock.now()


def test_wrong_revoked_and_malformed_keys_do_not_authenticate(
    db_engine: Engine, registry: Registry, catalog: Catalog, clock: VirtualClock
) -> None:
    made = apikeys.create(
        db_engine, catalog, name="Jembatan LAPOR", region="jambi", now=clock.now()
    )
    forged = made.key[:-4] + ("AAAA" if not made.key.endswith("AAAA") else "BBBB")
    for key in (forged, "", "sop_", made.key + "x", made.prefix, "Bearer " + made.key):
        assert apikeys.authenticate(db_engine, key, clock.now()) is None
    assert apikeys.authenticate(db_engine, made.key, clock.now()) is not None
    clock.advance(timedelta(minutes=5))
    revoked = apikeys.revoke(db_engine, made.prefix, clock.now())
    assert revoked.revoked_at == clock.now() and not revoked.active
    assert apikeys.authenticate(db_engine, made.key, clock.now()) is None
    again = apikeys.revoke(db_engine, made.key, clock.now() + timedelta(hours=1))
    assert again.revoked_at == revoked.revoked_at  # revoking twice changes nothing
    with pytest.raises(ApiKeyError, match="no API key"):
        apikeys.revoke(db_engine, made.prefix, clock.now(), region="yogyakarta")


@pytest.mark.parametrize(
    ("region", "roles", "unit", "message"),
    [
        ("atlantis", [], None, "unknown region 'atlantis'"),
        ("yogyakarta", ["admin_opd2"], "dinkes", "unknown role 'admin_opd2'"),
        ("yogyakarta", ["admin_opd"], None, "need --unit"),
        ("yogyakarta", ["admin_opd"], "dinkes2", "unknown unit 'dinkes2'"),
        ("yogyakarta", ["pelapor"], None, "citizen's role"),
        ("yogyakarta", ["admin_daerah"], None, "platform role"),
    ],
)
def test_bad_grants_are_refused_and_nothing_is_written(
    db_engine: Engine,
    registry: Registry,
    catalog: Catalog,
    clock: VirtualClock,
    region: str,
    roles: list[str],
    unit: str | None,
    message: str,
) -> None:
    with pytest.raises(ApiKeyError, match=re.escape(message)):
        apikeys.create(
            db_engine, catalog, name="x", region=region, roles=roles, unit=unit, now=clock.now()
        )
    assert _count(db_engine) == 0


def test_a_key_needs_a_name(db_engine: Engine, registry: Registry, catalog: Catalog) -> None:
    with pytest.raises(ApiKeyError, match="name"):
        apikeys.create(db_engine, catalog, name="  ", region="jambi", now=NOW)
    assert _count(db_engine) == 0


def test_the_apikey_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SOP_DATABASE_URL", url)
    monkeypatch.setenv("SOP_DEFINITIONS", str(DEFINITIONS))
    monkeypatch.chdir(tmp_path)
    assert main(["publish"]) == 0
    capsys.readouterr()
    code = main(
        ["apikey", "create", "Aplikasi JSS", "--region", "yogyakarta", "--role", "admin_pusat"]
    )
    out = capsys.readouterr().out
    assert code == 0
    key = out.strip().splitlines()[-1]
    prefix = key.split("_")[1]
    engine = make_engine(url)
    try:
        found = apikeys.authenticate(engine, key, NOW)
        assert found is not None and found.actor.grants == (Grant("yogyakarta", "admin_pusat"),)

        assert main(["apikey", "list"]) == 0
        listed = capsys.readouterr().out
        assert prefix in listed and "active" in listed and key not in listed

        assert main(["apikey", "create", "x", "--region", "yogyakarta", "--role", "nope"]) == 1
        assert "unknown role 'nope'" in capsys.readouterr().err
        assert len(apikeys.list_keys(engine)) == 1

        assert main(["apikey", "revoke", prefix]) == 0
        assert "revoked" in capsys.readouterr().out
        assert apikeys.authenticate(engine, key, NOW) is None
        assert main(["apikey", "revoke", "00000000"]) == 1
        assert "no API key" in capsys.readouterr().err
    finally:
        engine.dispose()
