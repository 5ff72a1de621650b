"""``sop backup`` / ``sop restore`` on SQLite: a backup taken while cases are submitted and acted
on restores to a consistent database holding everything committed before it started.

(PostgreSQL is backed up with pg_dump, which is consistent by design; docs/deployment.md.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from rules.loader import Catalog
from sop_platform.accounts import actor_for, add_user
from sop_platform.backup import BackupError, backup, inspect_file, restore
from sop_platform.cases import Actor
from sop_platform.cli import main
from sop_platform.db import make_engine
from sop_platform.engine import CaseEngine, Grant, NewCase
from sop_platform.migrate import upgrade
from sop_platform.models import CaseEvent, CaseRow, StepVisit
from sop_platform.registry import Registry
from sop_platform.telemetry import Heartbeat
from sop_platform.timekeeping import SystemClock

CASES = CaseRow.__table__  # type: ignore[attr-defined]
EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
VISITS = StepVisit.__table__  # type: ignore[attr-defined]


def _database(path: Path, catalog: Catalog) -> tuple[Engine, Registry]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    registry = Registry(engine, catalog)
    registry.publish(SystemClock().now())
    return engine, registry


def _complaint(n: int) -> NewCase:
    return NewCase("upik-pengaduan", "jss", f"Aduan {n}", {"kategori": "kesehatan"}, anonymous=True)


def _consistent(engine: Engine) -> dict[int, int]:
    """Check every case's history hangs together; return each case's revision."""
    with engine.connect() as conn:
        cases = {r.id: r for r in conn.execute(select(CASES)).all()}
        events = defaultdict(list)
        for e in conn.execute(select(EVENTS).order_by(EVENTS.c.case_id, EVENTS.c.seq)).all():
            events[e.case_id].append(e)
        visits = defaultdict(list)
        for v in conn.execute(select(VISITS).order_by(VISITS.c.id)).all():
            visits[v.case_id].append(v)
    assert set(events) == set(cases) == set(visits)
    for case_id, case in cases.items():
        seqs = [e.seq for e in events[case_id]]
        assert seqs == list(range(1, case.revision + 1)), (case_id, seqs, case.revision)
        moves = [e for e in events[case_id] if e.to_step != e.from_step]
        assert len(visits[case_id]) == len(moves)  # one visit per step entered
        open_visits = [v for v in visits[case_id] if v.left_at is None]
        assert [v.step for v in open_visits] == [case.step]
        assert visits[case_id][-1].step == case.step == events[case_id][-1].to_step
    return {case_id: case.revision for case_id, case in cases.items()}


def _clerk(engine: Engine) -> Actor:
    """The Dinkes administrator who moves cases while the backup runs."""
    add_user(
        engine,
        "admin.dinkes",
        "Admin Dinkes",
        "pw-1234567890",
        [Grant("yogyakarta", "admin_opd", "dinkes")],
        SystemClock().now(),
    )
    return actor_for(engine, "admin.dinkes")


def test_a_backup_under_load_restores_every_committed_case_and_event(
    tmp_path: Path, catalog: Catalog
) -> None:
    engine, registry = _database(tmp_path / "sop.db", catalog)
    clerk = _clerk(engine)
    # (case id, revision it reached, monotonic time the commit returned)
    committed: list[tuple[int, int, float]] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        cases = CaseEngine(make_engine(f"sqlite:///{tmp_path / 'sop.db'}"), registry, SystemClock())
        n = offset
        try:
            while not stop.is_set():
                view = cases.submit(_complaint(n))
                with lock:
                    committed.append((view.id, 1, time.monotonic()))
                if n % 2 == 0:  # half of them accepted straight away
                    cases.act(view.id, clerk, "terima", {})
                    with lock:
                        committed.append((view.id, 2, time.monotonic()))
                n += 2
        except BaseException as err:  # the test fails below with it
            errors.append(err)
        finally:
            cases.engine.dispose()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    with lock:
        before = list(committed)
    started = time.monotonic()
    made = backup(f"sqlite:///{tmp_path / 'sop.db'}", tmp_path / "backups" / "sop-1.db")
    time.sleep(0.5)  # writes go on after the backup
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert made.cases > 0 and before, "the load produced no cases before the backup"
    assert len(committed) > len(before)  # writing went on during and after the backup
    assert not (tmp_path / "backups" / "sop-1.db.partial").exists()

    # Restore it into a fresh place and look inside.
    restored, kept = restore(made.path, f"sqlite:///{tmp_path / 'restored.db'}")
    assert kept is None and restored.cases == made.cases and restored.events == made.events
    restored_engine = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    revisions = _consistent(restored_engine)
    for case_id, revision, at in before:
        assert at < started
        assert revisions.get(case_id, 0) >= revision, (case_id, revision)
    # The live database, after the load, is consistent too and holds more.
    live = _consistent(engine)
    assert len(live) > len(revisions) and all(live[c] >= r for c, r in revisions.items())
    # The restored database works: the engine acts on a restored case.
    cases = CaseEngine(restored_engine, Registry(restored_engine, catalog), SystemClock())
    waiting = next(c for c, r in revisions.items() if r == 1)
    assert (
        cases.act(waiting, actor_for(restored_engine, "admin.dinkes"), "terima", {}).revision == 2
    )
    restored_engine.dispose()
    engine.dispose()


def test_restore_checks_the_file_and_will_not_overwrite_a_live_database(
    tmp_path: Path,
    catalog: Catalog,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, registry = _database(tmp_path / "sop.db", catalog)
    CaseEngine(engine, registry, SystemClock()).submit(_complaint(1))
    url = f"sqlite:///{tmp_path / 'sop.db'}"
    monkeypatch.setenv("SOP_DATABASE_URL", url)
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    assert "1 cases" in capsys.readouterr().out

    # Not a backup: refused before anything is touched.
    (tmp_path / "notes.txt").write_text("not a database")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.close()
    for bad, message in (
        (tmp_path / "missing.db", "no such file"),
        (tmp_path / "notes.txt", "not a SQLite database"),
        (tmp_path / "other.db", "not a database of this platform"),
    ):
        with pytest.raises(BackupError, match=message):
            inspect_file(bad)
        assert main(["restore", str(bad)]) == 1
        assert message in capsys.readouterr().err

    # The live database (open, a worker alive, cases in it) is not replaced without --force.
    CaseEngine(engine, registry, SystemClock()).submit(_complaint(2))
    Heartbeat(engine, "sweeper").beat()
    assert main(["restore", str(tmp_path / "b.db")]) == 1
    err = capsys.readouterr().err
    assert "refusing to replace" in err and "holds 2 cases" in err and "sweeper@" in err
    assert inspect_file(tmp_path / "sop.db").cases == 2  # untouched
    engine.dispose()

    assert main(["restore", str(tmp_path / "b.db"), "--force"]) == 0
    out = capsys.readouterr().out
    assert "kept as" in out and "1 cases" in out
    kept = next(tmp_path.glob("sop.db.before-restore-*"))
    assert inspect_file(kept).cases == 2
    assert inspect_file(tmp_path / "sop.db").cases == 1


def test_backup_of_postgresql_points_to_pg_dump(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", "postgresql+psycopg://sop@db/sop")
    assert main(["backup", "x.dump"]) == 1
    assert "pg_dump --format=custom" in capsys.readouterr().err


@pytest.mark.postgres
def test_pg_dump_under_load_restores_a_consistent_database(
    tmp_path: Path, catalog: Catalog
) -> None:
    """The PostgreSQL procedure of docs/deployment.md: pg_dump while cases are written, then
    pg_restore into an empty database; every case committed before the dump started is there,
    with its whole history."""
    import os
    import shutil
    import subprocess
    import uuid
    from urllib.parse import quote

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from sop_platform.db import scratch_schema
    from tests.conftest import PG_URL_VAR

    base = os.environ.get(PG_URL_VAR)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_URL_VAR} (set by .ci/run); not set here")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore are not installed (Debian: postgresql-client)")
    libpq = make_url(base).set(drivername="postgresql")
    with scratch_schema(base, "dump") as (schema, engine):
        upgrade(engine)
        registry = Registry(engine, catalog)
        registry.publish(SystemClock().now())
        clerk = _clerk(engine)
        committed: list[tuple[int, int, float]] = []
        stop = threading.Event()
        errors: list[BaseException] = []

        def writer() -> None:
            cases = CaseEngine(engine, registry, SystemClock())
            n = 0
            try:
                while not stop.is_set():
                    view = cases.submit(_complaint(n))
                    committed.append((view.id, 1, time.monotonic()))
                    if n % 2 == 0:
                        cases.act(view.id, clerk, "terima", {})
                        committed.append((view.id, 2, time.monotonic()))
                    n += 1
            except BaseException as err:
                errors.append(err)

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(1.0)
        before = list(committed)
        started = time.monotonic()
        dump = tmp_path / "sop.dump"
        subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                f"--schema={schema}",
                f"--file={dump}",
                libpq.render_as_string(hide_password=False),
            ],
            check=True,
        )
        time.sleep(0.3)
        stop.set()
        thread.join(30)
        assert not errors, errors
        assert before and len(committed) > len(before)

        restored_db = f"restore_{uuid.uuid4().hex[:10]}"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{restored_db}"'))
        try:
            target = libpq.set(database=restored_db).render_as_string(hide_password=False)
            subprocess.run(
                ["pg_restore", "--no-owner", f"--dbname={target}", str(dump)], check=True
            )
            url = make_url(base).set(database=restored_db).render_as_string(hide_password=False)
            joiner = "&" if "?" in url else "?"
            restored = make_engine(f"{url}{joiner}options={quote(f'-csearch_path={schema}')}")
            revisions = _consistent(restored)
            for case_id, revision, at in before:
                assert at < started and revisions.get(case_id, 0) >= revision, case_id
            restored.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)'))
            admin.dispose()
