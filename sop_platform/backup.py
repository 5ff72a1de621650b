"""``sop backup`` / ``sop restore`` for the SQLite database (PostgreSQL: ``pg_dump``, see
docs/deployment.md).

A backup is taken with SQLite's online backup API in one step: it copies a consistent snapshot
(one read transaction) while the app, the sweeper and the delivery worker go on writing — in WAL
mode readers never block writers, nor writers readers. It is written next to the target, checked
(``PRAGMA integrity_check``), made a single self-contained file (journal mode DELETE) and only
then renamed into place, so a half-written backup never carries the final name.

A restore first checks that the file is a SQLite database of this platform (the tables, an
Alembic revision this code knows, integrity). It refuses to replace a database that holds cases
or is in use (a WAL file present, or a worker heartbeat in the last minute) unless ``--force``
is given; then it keeps a backup of what it replaces. It writes through the same backup API, so
it never leaves a torn file even if something still has the database open.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_HEADER = b"SQLite format 3\x00"
REQUIRED_TABLES = ("alembic_version", "case", "case_event", "step_visit", "sop_definition")
IN_USE_SECONDS = 60


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Snapshot:
    """What a backup file holds."""

    path: Path
    revision: str
    cases: int
    events: int
    size: int
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.path}: revision {self.revision}, {self.cases} cases, {self.events} events, "
            f"{self.size / 1e6:.1f} MB" + (f", {self.seconds:.2f} s" if self.seconds else "")
        )


def sqlite_path(url: str) -> Path:
    """The file a SQLite URL names; BackupError for PostgreSQL (use pg_dump) and the rest."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            "the database is PostgreSQL: back it up with pg_dump (consistent while the app "
            "runs), e.g. `pg_dump --format=custom --file sop.dump sop`, and restore with "
            "`pg_restore --clean --if-exists --no-owner --dbname sop sop.dump` "
            "(see docs/deployment.md, Backups)"
        )
    if backend != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"sop backup needs a SQLite file database, not '{url}'")
    return Path(parsed.database)


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from sop_platform.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def inspect_file(path: Path) -> Snapshot:
    """Check that ``path`` is an intact SQLite database of this platform; say what it holds."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_HEADER:
            raise BackupError(f"{path}: not a SQLite database")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise BackupError(f"{path}: cannot be opened: {err}") from err
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise BackupError(
                f"{path}: not a database of this platform (no table {', '.join(missing)})"
            )
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{path}: damaged: {check}")
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision is None:
            raise BackupError(f"{path}: has no schema revision")
        if revision[0] not in _known_revisions():
            raise BackupError(
                f"{path}: schema revision {revision[0]} is unknown to this version of the "
                "platform (a backup from a newer one?)"
            )
        cases = conn.execute('SELECT count(*) FROM "case"').fetchone()[0]
        events = conn.execute("SELECT count(*) FROM case_event").fetchone()[0]
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path}: not a readable database: {err}") from err
    finally:
        conn.close()
    return Snapshot(path, revision[0], cases, events, path.stat().st_size)


def backup(url: str, target: Path) -> Snapshot:
    """Copy the database ``url`` names to ``target``, consistently, while it is in use."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"{source_path}: no such database")
    target = Path(target)
    if target.resolve() == source_path.resolve():
        raise BackupError("the backup file must not be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    source = sqlite3.connect(source_path, timeout=30)
    destination = sqlite3.connect(partial)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        source.backup(destination)  # every page in one step: one snapshot
        destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        destination.commit()
    except sqlite3.Error as err:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {source_path} failed: {err}") from err
    finally:
        destination.close()
        source.close()
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    try:
        inspect_file(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    snapshot = inspect_file(target)
    return Snapshot(
        target,
        snapshot.revision,
        snapshot.cases,
        snapshot.events,
        snapshot.size,
        time.perf_counter() - started,
    )


def in_use(path: Path) -> list[str]:
    """Signs that processes have the database open: why restoring over it is risky."""
    reasons: list[str] = []
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        reasons.append(f"{wal.name} exists (a process has the database open)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT name, beat_at FROM worker_heartbeat").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        rows = []
    now = datetime.now(UTC)
    for name, beat_at in rows:
        moment = datetime.fromisoformat(str(beat_at))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if (now - moment).total_seconds() < IN_USE_SECONDS:
            reasons.append(f"worker {name} was alive {int((now - moment).total_seconds())} s ago")
    return reasons


def restore(source: Path, url: str, *, force: bool = False) -> tuple[Snapshot, Path | None]:
    """Replace the database ``url`` names with the backup ``source``.

    Returns what was restored and where the replaced database was saved (if there was one).
    """
    snapshot = inspect_file(Path(source))
    target = sqlite_path(url)
    kept: Path | None = None
    if target.exists() and target.stat().st_size > 0:
        reasons = in_use(target)
        try:
            holds = inspect_file(target).cases
        except BackupError:
            holds = 0
        if holds:
            reasons.append(f"it holds {holds} cases")
        if reasons and not force:
            raise BackupError(
                f"refusing to replace {target}: "
                + "; ".join(reasons)
                + ". Stop the app, the sweeper and the delivery worker, then run again with "
                "--force (the current database is kept as a backup first)"
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        try:
            backup(f"sqlite:///{target}", kept)
        except BackupError:
            kept = None  # not a readable database: nothing worth keeping
    target.parent.mkdir(parents=True, exist_ok=True)
    reader = sqlite3.connect(f"file:{snapshot.path}?mode=ro", uri=True)
    writer = sqlite3.connect(target, timeout=30)
    try:
        writer.execute("PRAGMA busy_timeout=30000")
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode=WAL")
        writer.commit()
    except sqlite3.Error as err:
        raise BackupError(f"restore into {target} failed: {err}") from err
    finally:
        writer.close()
        reader.close()
    return inspect_file(target), kept


# --- the `sop backup` and `sop restore` commands ------------------------------------------------


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "backup", help="copy the SQLite database to FILE, consistently, while the platform runs"
    )
    p.add_argument("file", type=Path, help="where to write the backup")
    p.set_defaults(func=cmd_backup)
    p = subparsers.add_parser(
        "restore", help="replace the SQLite database with a backup made by `sop backup`"
    )
    p.add_argument("file", type=Path, help="the backup file")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a database that holds cases or looks in use (it is backed up first)",
    )
    p.set_defaults(func=cmd_restore)


def _url() -> str:
    from sop_platform import config as settings

    try:
        return settings.load().database_url
    except settings.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err


def cmd_backup(args: argparse.Namespace) -> int:
    try:
        made = backup(_url(), args.file)
    except BackupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"backup written: {made.line()}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from sop_platform.telemetry import head_revision

    try:
        restored, kept = restore(args.file, _url(), force=args.force)
    except BackupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if kept is not None:
        print(f"the replaced database was kept as {kept}")
    print(f"restored: {restored.line()}")
    if restored.revision != head_revision():
        print(
            f"the backup is at revision {restored.revision}: run `sop db upgrade` before starting"
        )
    return 0
