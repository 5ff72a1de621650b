"""Alembic migrations on SQLite and PostgreSQL: the migrated schema is the models' schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import sop_platform.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from sop_platform.migrate import alembic_config, upgrade

TABLES = {
    "region",
    "unit",
    "user_account",
    "role_grant",
    "sop_definition",
    "reporter",
    "case",
    "case_event",
    "step_visit",
    "attachment",
}


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_migrated_schema_matches_the_models(db_engine: Engine) -> None:
    # db_engine is already upgraded to head.
    assert _differences(db_engine) == []
    assert set(inspect(db_engine).get_table_names()) >= TABLES
    assert set(SQLModel.metadata.tables) <= set(inspect(db_engine).get_table_names())
    assert _revision(db_engine) == _head()


def test_upgrade_is_idempotent(db_engine: Engine) -> None:
    before = _revision(db_engine)
    upgrade(db_engine)
    upgrade(db_engine)
    assert _revision(db_engine) == before == _head()
    assert _differences(db_engine) == []
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_the_open_visit_index_is_partial(db_engine: Engine) -> None:
    indexes = {ix["name"]: ix for ix in inspect(db_engine).get_indexes("step_visit")}
    assert indexes["ix_step_visit_open_due"]["column_names"] == ["due_at"]
    with db_engine.connect() as connection:
        if db_engine.dialect.name == "sqlite":
            ddl = connection.execute(
                text(
                    "SELECT sql FROM sqlite_master "
                    "WHERE type = 'index' AND name = 'ix_step_visit_open_due'"
                )
            ).scalar_one()
        else:
            ddl = connection.execute(
                text(
                    "SELECT indexdef FROM pg_indexes "
                    "WHERE indexname = 'ix_step_visit_open_due' AND schemaname = current_schema()"
                )
            ).scalar_one()
    normalised = " ".join(ddl.lower().replace("(", " ").replace(")", " ").split())
    assert "where left_at is null" in normalised, ddl
    assert "due_at" in normalised


def test_unique_constraints_hold(db_engine: Engine) -> None:
    uniques = {
        table: {tuple(u["column_names"]) for u in inspect(db_engine).get_unique_constraints(table)}
        | {
            tuple(ix["column_names"])
            for ix in inspect(db_engine).get_indexes(table)
            if ix["unique"]
        }
        for table in ("case", "case_event", "sop_definition", "unit", "user_account")
    }
    assert ("idempotency_key",) in uniques["case"]
    assert ("tracking_number",) in uniques["case"]
    assert ("case_id", "seq") in uniques["case_event"]
    assert ("sop_id", "version") in uniques["sop_definition"]
    assert ("region_id", "key") in uniques["unit"]
    assert ("username",) in uniques["user_account"]
