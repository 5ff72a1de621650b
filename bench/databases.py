"""The databases the benchmarks run on: a temporary SQLite file, or a scratch PostgreSQL schema;
both migrated, both removed afterwards. Each yields a label for the printout and the engine.
Also the bulk fill of case and step-visit rows the benchmarks share."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, insert, text

from sop_platform.db import is_sqlite, make_engine, scratch_schema
from sop_platform.migrate import upgrade
from sop_platform.models import CaseRow, StepVisit

CHUNK = 20_000  # rows per executemany: large enough to be fast, small enough to show progress
Rows = list[dict[str, object]]


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


def fill_rows(
    engine: Engine,
    filled: int,
    size: int,
    rows: Callable[[int, int], tuple[Rows, Rows]],
    what: str,
    unit: str = "",
) -> None:
    """Insert the cases and step visits numbered ``filled + 1`` to ``size`` as ``rows`` makes
    them (first, last), in chunks of ``CHUNK``, printing progress as ``what``; then move
    PostgreSQL's id sequences past the explicit ids."""
    started = time.perf_counter()
    total = size - filled
    while filled < size:
        last = min(size, filled + CHUNK)
        cases, visits = rows(filled + 1, last)
        with engine.begin() as conn:
            conn.execute(insert(CaseRow.__table__), cases)  # type: ignore[attr-defined]
            conn.execute(insert(StepVisit.__table__), visits)  # type: ignore[attr-defined]
        done = last - (size - total)
        filled = last
        elapsed = time.perf_counter() - started
        print(
            f"\r  filling to {size:,} {what}: {done:,}/{total:,}{unit} "
            f"({elapsed:.0f} s, {done / elapsed:,.0f} rows/s)",
            end="",
            flush=True,
        )
    print()
    if not is_sqlite(engine):
        with engine.begin() as conn:
            for table in ("case", "step_visit"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                )
