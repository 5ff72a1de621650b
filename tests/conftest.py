"""Shared fixtures: the seed catalog and one evaluator for the whole run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from rules.evaluator import CompiledSop, Evaluator
from rules.loader import Catalog, load_catalog
from sop_platform.db import make_engine, scratch_schema
from sop_platform.engine import CaseEngine
from sop_platform.migrate import upgrade
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "sop_definitions"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    loaded = load_catalog([DEFINITIONS])
    assert loaded.ok, "\n".join(map(str, loaded.problems))
    return loaded


@pytest.fixture(scope="session")
def evaluator() -> Evaluator:
    return Evaluator()


@pytest.fixture(scope="session")
def compiled(catalog: Catalog, evaluator: Evaluator) -> dict[str, CompiledSop]:
    return {sop_id: evaluator.register(loaded) for sop_id, loaded in catalog.latest().items()}


# --- databases: every persistence test runs on SQLite and on PostgreSQL ----------------------

PG_URL_VAR = "SOP_TEST_DATABASE_URL"


def _postgres_url() -> str | None:
    import os

    return os.environ.get(PG_URL_VAR) or None


@pytest.fixture(params=["sqlite", "postgresql"])
def db_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated database: a SQLite file, or a private schema in the test PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    base = _postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL tests need {PG_URL_VAR} (set by .ci/run); not set here")
    with scratch_schema(base, "t") as (_schema, engine):
        upgrade(engine)
        yield engine


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime(2025, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta")))  # a Monday


@pytest.fixture
def registry(
    db_engine: Engine, catalog: Catalog, evaluator: Evaluator, clock: VirtualClock
) -> Registry:
    reg = Registry(db_engine, catalog, evaluator)
    reg.publish(clock.now())
    return reg


@pytest.fixture
def cases(db_engine: Engine, registry: Registry, clock: VirtualClock) -> CaseEngine:
    return CaseEngine(db_engine, registry, clock)
