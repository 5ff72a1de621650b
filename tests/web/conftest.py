"""The web application on a SQLite demo database, through Litestar's TestClient.

The demo database (migrated, seed SOPs published, one login per role, plus the extra staff below)
is built once per run and copied for each test. The clock starts on Monday 24 November 2025,
09:00 WIB. Yogyakarta's demo unit staff work for ``dinkes``; the extra accounts give a second
unit (``dlh``) to test scope with.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from rules.evaluator import Evaluator
from rules.loader import Catalog
from sop_platform.accounts import add_user
from sop_platform.db import make_engine
from sop_platform.demo import set_up
from sop_platform.engine import CaseEngine
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock
from tests.web.support import EXTRA_USERS, PASSWORD, SECRET, START, Reports
from web.app import create_app


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Path:
    """A migrated demo database file, built once and copied by each test."""
    path = tmp_path_factory.mktemp("web-demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    set_up(engine, catalog, START)
    for username, (name, grant) in EXTRA_USERS.items():
        add_user(engine, username, name, PASSWORD, [grant], START)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def web_engine(demo_database: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "web.db"
    for suffix in ("", "-wal"):
        source = demo_database.with_name(demo_database.name + suffix)
        if source.exists():
            shutil.copyfile(source, path.with_name(path.name + suffix))
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def web_clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def web_registry(web_engine: Engine, catalog: Catalog, evaluator: Evaluator) -> Registry:
    return Registry(web_engine, catalog, evaluator)


@pytest.fixture
def cases(web_engine: Engine, web_registry: Registry, web_clock: VirtualClock) -> CaseEngine:
    return CaseEngine(web_engine, web_registry, web_clock)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def make_app(
    web_engine: Engine, web_registry: Registry, web_clock: VirtualClock, store_dir: Path
) -> Callable[..., Litestar]:
    def build(**overrides: Any) -> Litestar:
        options: dict[str, Any] = {"secret": SECRET, "store_dir": store_dir}
        options.update(overrides)
        return create_app(web_engine, web_registry, web_clock, **options)

    return build


@pytest.fixture
def app(make_app: Callable[..., Litestar]) -> Litestar:
    return make_app()


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def other_client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    """A second browser on the same app."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def reports(cases: CaseEngine) -> Reports:
    return Reports(cases)
