"""The databases the benchmarks run on: a temporary SQLite file, or a scratch PostgreSQL schema;
both migrated, both removed afterwards. Each yields a label for the printout and the engine."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from sop_platform.db import make_engine, scratch_schema
from sop_platform.migrate import upgrade


@contextmanager
def sqlite_database() -> Iterator[tuple[str, Engine]]:
    with tempfile.TemporaryDirectory(prefix="sop-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
            yield f"SQLite (file {path.name}, WAL)", engine
        finally:
            engine.dispose()


@contextmanager
def postgres_database(url: str) -> Iterator[tuple[str, Engine]]:
    with scratch_schema(url, "bench") as (schema, engine):
        upgrade(engine)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        yield f"PostgreSQL {version} (schema {schema})", engine
