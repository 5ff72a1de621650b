"""``sop db upgrade`` from the first migration to the newest, with data in the database, on
SQLite and PostgreSQL.

The database is created at revision 0001 and filled with plain SQL, as the platform of that
time wrote it: a region, a unit, a clerk with a role, the published UPIK SOP, a reporter, and
two cases — one closed, one still waiting at its first step with its 1 x 2 jam run out hours
ago. After the upgrade every row is still there with the same values, every column added since
holds NULL or its declared default, the open visit is in the sweeper's work list, and the
platform carries on: publishing finds the SOP unchanged, the sweeper records the missed
deadline once, and the clerk acts on the old case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from rules.loader import Catalog
from sop_platform.accounts import actor_for, hash_password
from sop_platform.db import make_engine, scratch_schema
from sop_platform.engine import CaseEngine
from sop_platform.migrate import upgrade
from sop_platform.registry import Registry
from sop_platform.sweeper import Sweeper
from sop_platform.telemetry import head_revision
from sop_platform.timekeeping import SystemClock
from tests.conftest import PG_URL_VAR

OLD_TABLES = ("region", "unit", "user_account", "role_grant", "sop_definition", "reporter")


@pytest.fixture(params=["sqlite", "postgresql"])
def first_revision(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database at revision 0001."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(engine, "0001")
        yield engine
        engine.dispose()
        return
    import os

    base = os.environ.get(PG_URL_VAR)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_URL_VAR} (set by .ci/run); not set here")
    with scratch_schema(base, "up") as (_schema, engine):
        upgrade(engine, "0001")
        yield engine


def _at(engine: Engine, moment: datetime) -> Any:
    # SQLite keeps naive UTC text; PostgreSQL a timestamptz (given with its zone).
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment


def _fill(engine: Engine, catalog: Catalog, now: datetime) -> dict[str, Any]:
    upik = next(ls for (sid, _v), ls in catalog.sops.items() if sid == "upik-pengaduan")
    region = catalog.regions["yogyakarta"]
    registry = Registry(engine, catalog)  # only for the calendar version the region has now
    submitted = now - timedelta(hours=5)
    closed = now - timedelta(days=2)
    rows: dict[str, Any] = {"submitted": submitted}
    statements = [
        (
            "INSERT INTO region (id, name, level, calendar_version) VALUES (:id, :n, :l, :c)",
            {
                "id": "yogyakarta",
                "n": region.name,
                "l": region.level,
                "c": registry.calendar("yogyakarta").version,
            },
        ),
        (
            "INSERT INTO unit (id, region_id, key, code, name, active) "
            "VALUES (1, 'yogyakarta', 'dinkes', 'DINKES', 'Dinas Kesehatan', :t)",
            {"t": True},
        ),
        (
            "INSERT INTO user_account (id, username, full_name, password_hash, active, created_at) "
            "VALUES (1, 'sari', 'Sari Admin Dinkes', :h, :t, :at)",
            {"h": hash_password("kata-sandi-lama"), "t": True, "at": _at(engine, closed)},
        ),
        (
            "INSERT INTO role_grant (id, user_id, region_id, role, unit_key) "
            "VALUES (1, 1, 'yogyakarta', 'admin_opd', 'dinkes')",
            {},
        ),
        (
            "INSERT INTO sop_definition (id, sop_id, version, content_hash, region_id, title, "
            "raw, published_at) VALUES (1, :s, :v, :h, 'yogyakarta', :t, :raw, :at)",
            {
                "s": upik.sop.sop,
                "v": upik.sop.version,
                "h": upik.content_hash,
                "t": upik.sop.title,
                "raw": json.dumps(upik.raw),
                "at": _at(engine, closed),
            },
        ),
        (
            "INSERT INTO reporter (id, name, nik, email, phone, extra) "
            "VALUES (1, 'Budi Santoso', '3471000000000001', 'budi@example.org', NULL, :x)",
            {"x": json.dumps({"alamat": "Jl. Malioboro 1"})},
        ),
    ]
    for number, (step, status, created, closed_at, revision) in enumerate(
        [
            ("verifikasi", "open", submitted, None, 1),
            ("selesai", "done", closed - timedelta(hours=6), closed, 4),
        ],
        start=1,
    ):
        statements.append(
            (
                'INSERT INTO "case" (id, tracking_number, region_id, sop_id, sop_version, '
                "content_hash, step, status, unit_key, channel, text, fields, anonymous, "
                "confidential, reporter_id, revision, created_at, updated_at, closed_at) VALUES "
                "(:id, :tn, 'yogyakarta', :s, :v, :h, :step, :status, 'dinkes', 'jss', :text, "
                ":fields, :f, :f, 1, :rev, :c, :c, :closed)",
                {
                    "id": number,
                    "tn": f"UPIK-2025-00000{number}",
                    "s": upik.sop.sop,
                    "v": upik.sop.version,
                    "h": upik.content_hash,
                    "step": step,
                    "status": status,
                    "text": f"Aduan lama nomor {number}",
                    "fields": json.dumps({"kategori": "kesehatan"}),
                    "f": False,
                    "rev": revision,
                    "c": _at(engine, created),
                    "closed": _at(engine, closed_at) if closed_at else None,
                },
            )
        )
    history = [  # (case, seq, action, from, to)
        (1, 1, "submit", None, "verifikasi"),
        (2, 1, "submit", None, "verifikasi"),
        (2, 2, "terima", "verifikasi", "penerimaan"),
        (2, 3, "ambil", "penerimaan", "pengerjaan"),
        (2, 4, "selesai", "pengerjaan", "selesai"),
    ]
    for event_id, (case_id, seq, action, source, target) in enumerate(history, start=1):
        statements.append(
            (
                "INSERT INTO case_event (id, case_id, seq, at, kind, actor_name, action, "
                "from_step, to_step, unit_key, payload) VALUES (:id, :c, :seq, :at, :k, "
                "'Sari Admin Dinkes', :a, :fs, :ts, 'dinkes', :p)",
                {
                    "id": event_id,
                    "c": case_id,
                    "seq": seq,
                    "at": _at(engine, submitted if case_id == 1 else closed),
                    "k": "submit" if seq == 1 else "transition",
                    "a": action,
                    "fs": source,
                    "ts": target,
                    "p": json.dumps(
                        {"entries": {"jawaban": "Sudah ditangani"}} if seq == 4 else {}
                    ),
                },
            )
        )
    visits = [  # (case, step, entered, left, due, outcome)
        (1, "verifikasi", submitted, None, submitted + timedelta(hours=2), None),
        (2, "verifikasi", closed - timedelta(hours=6), closed - timedelta(hours=5), None, "met"),
        (2, "penerimaan", closed - timedelta(hours=5), closed - timedelta(hours=4), None, "met"),
        (2, "pengerjaan", closed - timedelta(hours=4), closed, None, "met"),
        (2, "selesai", closed, closed, None, None),
    ]
    for visit_id, (case_id, step, entered, left, due, outcome) in enumerate(visits, start=1):
        statements.append(
            (
                "INSERT INTO step_visit (id, case_id, step, role, unit_key, entered_at, left_at, "
                "due_at, limit_text, clock, calendar_version, outcome) VALUES (:id, :c, :s, "
                "'admin_opd', 'dinkes', :e, :l, :d, :lt, 'calendar', :cv, :o)",
                {
                    "id": visit_id,
                    "c": case_id,
                    "s": step,
                    "e": _at(engine, entered),
                    "l": _at(engine, left) if left else None,
                    "d": _at(engine, due) if due else None,
                    "lt": "1 x 2 jam" if due else None,
                    "cv": registry.calendar("yogyakarta").version,
                    "o": outcome,
                },
            )
        )
    with engine.begin() as conn:
        for sql, params in statements:
            conn.execute(text(sql), params)
        if engine.dialect.name == "postgresql":  # rows given ids by hand: move the sequences on
            for table in (
                "unit",
                "user_account",
                "role_grant",
                "sop_definition",
                "reporter",
                "case",
                "case_event",
                "step_visit",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                )
    return rows


def _snapshot(engine: Engine, tables: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table, columns in tables.items():
            names = ", ".join(f'"{c}"' for c in columns)
            out[table] = [
                tuple(_plain(v) for v in row)
                for row in conn.execute(text(f'SELECT {names} FROM "{table}" ORDER BY 1')).all()
            ]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)  # SQLite hands JSON back as text
        except ValueError:
            return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
    return value


def _default_matches(value: Any, default: str | None) -> bool:
    """The value a pre-existing row got for a new column: NULL, or the server default."""
    if value is None:
        return True
    if default is None:
        return False
    plain = re.sub(r"::[a-z ]+$", "", default.strip()).strip("'\"()").lower()
    if isinstance(value, bool):
        return plain in (("1", "true") if value else ("0", "false"))
    return str(value).lower() == plain


TABLES = (*OLD_TABLES, "case", "case_event", "step_visit")


def test_upgrade_from_the_first_migration_keeps_the_data_and_carries_on(
    first_revision: Engine, catalog: Catalog
) -> None:
    engine = first_revision
    now = SystemClock().now()
    _fill(engine, catalog, now)
    before_columns = {t: [c["name"] for c in inspect(engine).get_columns(t)] for t in TABLES}
    before = _snapshot(engine, before_columns)

    upgrade(engine)

    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
            head_revision()
        )
    assert _snapshot(engine, before_columns) == before  # every old row and value as it was
    after_columns = {t: inspect(engine).get_columns(t) for t in TABLES}
    added = 0
    with engine.connect() as conn:  # one connection at a time: SQLite begins IMMEDIATE
        for table in TABLES:
            for column in after_columns[table]:
                if column["name"] in before_columns[table]:
                    continue
                added += 1
                values = conn.execute(text(f'SELECT "{column["name"]}" FROM "{table}"')).scalars()
                for value in values:
                    if table == "step_visit" and column["name"] == "next_check_at":
                        continue  # filled for open visits, checked below
                    assert _default_matches(value, column.get("default")), (
                        table,
                        column["name"],
                        value,
                        column.get("default"),
                    )
        assert added >= 8  # 0002's visit and account columns at least
        warnings_sent, level = conn.execute(
            text("SELECT warnings_sent, escalation_level FROM step_visit WHERE id = 1")
        ).one()
        assert (warnings_sent, level) == (0, 0)
        checks = dict(
            conn.execute(text("SELECT id, next_check_at FROM step_visit ORDER BY id")).all()  # type: ignore[arg-type]
        )
    assert checks[1] is not None  # the open, overdue visit is in the sweeper's list
    assert all(checks[i] is None for i in (2, 3, 4, 5))

    # The platform carries on with the old data.
    registry = Registry(engine, catalog)
    result = registry.publish(now)
    assert ("upik-pengaduan", catalog.latest()["upik-pengaduan"].sop.version) in result.unchanged
    swept = Sweeper(engine, registry, SystemClock()).tick()
    assert swept.breaches == 1
    assert Sweeper(engine, registry, SystemClock()).tick().breaches == 0  # once only
    cases = CaseEngine(engine, registry, SystemClock())
    old = cases.get(1)
    assert [e.kind for e in old.events][:2] == ["submit", "breach"]
    moved = cases.act(1, actor_for(engine, "sari"), "terima", {}, expected_revision=old.revision)
    assert moved.step == "penerimaan"
    assert cases.get(2).status == "done" and len(cases.get(2).events) == 4
