"""End-to-end command cost of the case engine against hand-written SQLAlchemy Core.

For N cases of ``upik-pengaduan`` (default 300) the benchmark submits a case and takes it to its
terminal step (``terima`` by Admin Perangkat Daerah, ``ambil`` and ``selesai`` by Petugas
Lapangan, the last with a ``jawaban``), timing every command of :class:`CaseEngine`.

Beside it, in the same run and the same database, a bare baseline does by hand the writes each
command must make, one transaction per command, with ``sqlalchemy`` Core statements on the same
tables: a submit inserts the case row, its first event and its first step visit; an action
selects the case (``FOR UPDATE`` on PostgreSQL), updates it, closes the open visit, inserts the
event and inserts the next visit. Engine and baseline cases alternate (who goes first alternates
too), so both see the same table sizes and caches.

It prints p50/p99 per command type and overall, the ratios engine/baseline and the targets
(p50 ratio <= 3x, engine p99 <= 5 ms). Timings are reported, never asserted; only the outcome is
checked (every case must end at its terminal step).

    .venv/bin/python bench/engine.py                        # SQLite file, 300 cases
    .venv/bin/python bench/engine.py --postgres URL         # and PostgreSQL (a private schema)
    .venv/bin/python bench/engine.py --profile              # plus a cProfile of engine commands

``--postgres`` defaults to the environment variable ``SOP_TEST_DATABASE_URL`` when it is set.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from databases import postgres_database, sqlite_database  # bench/databases.py
from sqlalchemy import Engine, bindparam, case, event, insert, select, update

from rules.limits import Unit
from rules.loader import load_catalog
from rules.model import RoleKind, Sop
from sop_platform.db import is_sqlite
from sop_platform.engine import Actor, CaseEngine, Grant, NewCase
from sop_platform.models import CaseEvent, CaseRow, StepVisit
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "sop_definitions"
PG_URL_VAR = "SOP_TEST_DATABASE_URL"

SOP_ID = "upik-pengaduan"
REGION = "yogyakarta"
UNIT = "dpupkp"  # where kategori=infrastruktur is routed
FIELDS = {"kategori": "infrastruktur"}
TEXT = "Lampu penerangan jalan di Jalan Malioboro mati sejak tiga hari yang lalu."
JAWABAN = "Lampu sudah diganti oleh petugas pada hari ini. Terima kasih atas laporannya."
# (command, actor key, payload, step before, step after)
PATH: tuple[tuple[str, str, dict[str, Any], str, str], ...] = (
    ("terima", "admin", {}, "verifikasi", "penerimaan"),
    ("ambil", "petugas", {}, "penerimaan", "pengerjaan"),
    ("selesai", "petugas", {"jawaban": JAWABAN}, "pengerjaan", "selesai"),
)
COMMANDS = ("submit", *(p[0] for p in PATH))
T = TypeVar("T")
TARGET_RATIO_P50 = 3.0
TARGET_P99_MS = 5.0

case_t = CaseRow.__table__  # type: ignore[attr-defined]
event_t = CaseEvent.__table__  # type: ignore[attr-defined]
visit_t = StepVisit.__table__  # type: ignore[attr-defined]


# --- the engine's commands ----------------------------------------------------------------


def _actors() -> dict[str, Actor]:
    return {
        "admin": Actor("Admin DPUPKP", (Grant(REGION, "admin_opd", UNIT),)),
        "petugas": Actor("Petugas DPUPKP", (Grant(REGION, "petugas_lapangan", UNIT),)),
    }


Timings = dict[str, list[int]]


class Recorder:
    """Runs one command; subclasses time it, profile it or count its SQL."""

    def __call__(self, command: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)


class Timer(Recorder):
    def __init__(self) -> None:
        self.timings: Timings = {c: [] for c in COMMANDS}

    def __call__(self, command: str, fn: Callable[..., T], *args: Any) -> T:
        t0 = time.perf_counter_ns()
        out = fn(*args)
        self.timings[command].append(time.perf_counter_ns() - t0)
        return out


class Profiler(Recorder):
    def __init__(self) -> None:
        self.profile = cProfile.Profile()
        self.commands = 0

    def __call__(self, command: str, fn: Callable[..., T], *args: Any) -> T:
        self.profile.enable()
        try:
            return fn(*args)
        finally:
            self.profile.disable()
            self.commands += 1


class SqlCounter(Recorder):
    """SQL statements and commits per command (driver-level BEGIN and pool pre-pings excluded)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements = self.commits = 0
        self.counts: dict[str, tuple[int, int]] = {}

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            self.statements += 1

    def _on_commit(self, _conn: Any) -> None:
        self.commits += 1

    def __call__(self, command: str, fn: Callable[..., T], *args: Any) -> T:
        self.statements = self.commits = 0
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        event.listen(self.engine, "commit", self._on_commit)
        try:
            return fn(*args)
        finally:
            event.remove(self.engine, "before_cursor_execute", self._on_execute)
            event.remove(self.engine, "commit", self._on_commit)
            self.counts[command] = (self.statements, self.commits)


def engine_case(
    cases: CaseEngine, clock: VirtualClock, actors: dict[str, Actor], record: Recorder
) -> None:
    """One case from submission to its terminal step through the case engine."""
    new = NewCase(SOP_ID, "jss", TEXT, dict(FIELDS), anonymous=True)
    clock.advance(timedelta(seconds=1))
    view = record("submit", cases.submit, new)
    for command, who, payload, before, after in PATH:
        if view.step != before:
            raise SystemExit(f"engine: case {view.id} is at {view.step!r}, expected {before!r}")
        clock.advance(timedelta(seconds=1))
        view = record(command, cases.act, view.id, actors[who], command, payload)
        if view.step != after:
            raise SystemExit(f"engine: {command} left case {view.id} at {view.step!r}")


# --- the baseline: the same writes by hand --------------------------------------------------


@dataclass(frozen=True)
class StepInfo:
    status: str
    role: str | None
    unit_scoped: bool
    terminal: bool
    limit_text: str | None
    clock: str | None
    limit: timedelta | None


@dataclass
class Baseline:
    """What the engine writes per command, as plain Core statements in one transaction each.

    The statements are built once and executed with bound parameters, so SQLAlchemy compiles each
    of them once: this is the cheapest honest way to make these writes through SQLAlchemy.
    """

    engine: Engine
    sop: Sop
    content_hash: str
    calendar_version: str
    steps: dict[str, StepInfo] = field(default_factory=dict)
    serial: int = 0

    def __post_init__(self) -> None:
        for sid, step in self.sop.steps.items():
            role_kind = self.sop.roles[step.by].kind if step.by in self.sop.roles else None
            limit = clock = None
            if step.limit is not None and not step.terminal:
                unit = timedelta(days=1) if step.limit.unit is Unit.day else timedelta(minutes=1)
                limit = step.limit.amount * unit
                clock = step.effective_clock.value
            self.steps[sid] = StepInfo(
                step.status.value,
                step.by,
                role_kind is RoleKind.unit_staff,
                step.terminal,
                step.limit.text if step.limit else None,
                clock,
                limit,
            )
        when = case_t.c.updated_at.type
        self.insert_case = insert(case_t)
        self.insert_event = insert(event_t)
        self.insert_visit = insert(visit_t)
        self.select_case = select(case_t).where(case_t.c.id == bindparam("b_id"))
        if not is_sqlite(self.engine):  # SQLite: BEGIN IMMEDIATE already holds the write lock
            self.select_case = self.select_case.with_for_update()
        self.update_case = (
            update(case_t)
            .where(case_t.c.id == bindparam("b_id"))
            .values(
                step=bindparam("b_step"),
                status=bindparam("b_status"),
                fields=bindparam("b_fields", type_=case_t.c.fields.type),
                revision=bindparam("b_revision"),
                updated_at=bindparam("b_now", type_=when),
                closed_at=bindparam("b_closed", type_=when),
            )
        )
        now = bindparam("b_now", type_=when)
        self.close_visit = (
            update(visit_t)
            .where(visit_t.c.case_id == bindparam("b_id"), visit_t.c.left_at.is_(None))
            .values(
                left_at=now,
                outcome=case(
                    (visit_t.c.due_at.is_(None), None),
                    (visit_t.c.due_at >= now, "met"),
                    else_="breached",
                ),
            )
        )

    def _visit(self, case_id: int, step_id: str, unit: str | None, now: datetime) -> dict[str, Any]:
        info = self.steps[step_id]
        return {
            "case_id": case_id,
            "step": step_id,
            "role": info.role,
            "unit_key": unit if info.unit_scoped else None,
            "entered_at": now,
            "left_at": now if info.terminal else None,
            "due_at": now + info.limit if info.limit is not None else None,
            "limit_text": info.limit_text,
            "clock": info.clock,
            "calendar_version": self.calendar_version if info.limit is not None else None,
        }

    def submit(self, now: datetime) -> int:
        self.serial += 1
        sop, start = self.sop, self.sop.start
        with self.engine.begin() as conn:
            case_id = conn.execute(
                self.insert_case,
                {
                    "tracking_number": f"BASE-{now:%y%m%d}-{self.serial:06d}",
                    "region_id": sop.region,
                    "sop_id": sop.sop,
                    "sop_version": sop.version,
                    "content_hash": self.content_hash,
                    "step": start,
                    "status": self.steps[start].status,
                    "unit_key": UNIT,
                    "channel": "jss",
                    "text": TEXT,
                    "fields": dict(FIELDS),
                    "anonymous": True,
                    "confidential": False,
                    "revision": 1,
                    "created_at": now,
                    "updated_at": now,
                },
            ).inserted_primary_key[0]
            conn.execute(
                self.insert_event,
                {
                    "case_id": case_id,
                    "seq": 1,
                    "at": now,
                    "kind": "submit",
                    "actor_name": "Anonim",
                    "role": sop.submission.by,
                    "action": "submit",
                    "from_step": None,
                    "to_step": start,
                    "unit_key": UNIT,
                    "payload": {"fields": dict(FIELDS), "informs": []},
                },
            )
            conn.execute(self.insert_visit, self._visit(case_id, start, UNIT, now))
        return int(case_id)

    def act(
        self,
        case_id: int,
        actor: str,
        role: str,
        action: str,
        payload: dict[str, Any],
        to: str,
        now: datetime,
    ) -> str:
        info = self.steps[to]
        with self.engine.begin() as conn:
            row = conn.execute(self.select_case, {"b_id": case_id}).one()
            revision = row.revision + 1
            conn.execute(
                self.update_case,
                {
                    "b_id": case_id,
                    "b_step": to,
                    "b_status": info.status,
                    "b_fields": {**row.fields, **payload},
                    "b_revision": revision,
                    "b_now": now,
                    "b_closed": now if info.terminal else None,
                },
            )
            conn.execute(self.close_visit, {"b_id": case_id, "b_now": now})
            conn.execute(
                self.insert_event,
                {
                    "case_id": case_id,
                    "seq": revision,
                    "at": now,
                    "kind": "transition",
                    "actor_name": actor,
                    "role": role,
                    "action": action,
                    "from_step": row.step,
                    "to_step": to,
                    "unit_key": row.unit_key,
                    "payload": {"entries": payload},
                },
            )
            conn.execute(self.insert_visit, self._visit(case_id, to, row.unit_key, now))
        return to


ROLES = {"admin": "admin_opd", "petugas": "petugas_lapangan"}


def baseline_case(base: Baseline, clock: VirtualClock, record: Recorder) -> None:
    now = clock.advance(timedelta(seconds=1))
    case_id = record("submit", base.submit, now)
    for command, who, payload, _before, after in PATH:
        now = clock.advance(timedelta(seconds=1))
        step = record(command, base.act, case_id, who, ROLES[who], command, payload, after, now)
        if step != after:
            raise SystemExit(f"baseline: case {case_id} at {step!r}, expected {after!r}")


# --- running and reporting ------------------------------------------------------------------


def pct_ms(values: Sequence[int], p: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in milliseconds."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k] / 1e6


def _short(path: str) -> str:
    for marker in ("site-packages/",):
        if marker in path:
            return path.split(marker, 1)[1]
    root = str(ROOT) + "/"
    return path[len(root) :] if path.startswith(root) else path


def print_profile(profiler: cProfile.Profile, commands: int, top: int = 25) -> None:
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in raw.values())
    print(
        f"cProfile of {commands} engine commands: {total * 1000:.0f} ms in total, "
        f"{total / commands * 1e6:.0f} µs per command with the profiler's overhead"
    )

    def where(key: tuple[str, int, str]) -> str:
        file, line, name = key
        if file == "~":
            return name
        return f"{_short(file)}:{line}({name})"

    ours = (str(ROOT / "rules") + "/", str(ROOT / "sop_platform") + "/", "site-packages/durable/")
    sections = (
        ("cumulative time (with callees)", 3, False),
        ("own time (without callees)", 2, False),
        ("cumulative time, the project's code and durable_rules only", 3, True),
    )
    for title, column, only_ours in sections:
        entries = [kv for kv in raw.items() if not only_ours or any(o in kv[0][0] for o in ours)]
        print(f"\ntop {top} by {title}:")
        print(f"{'calls':>9}{'own ms':>9}{'cum ms':>9}{'cum %':>7}{'cum µs/cmd':>11}  function")
        ranked = sorted(entries, key=lambda kv: kv[1][column], reverse=True)[:top]
        for key, (_cc, nc, tt, ct, _callers) in ranked:
            print(
                f"{nc:>9}{tt * 1000:>9.1f}{ct * 1000:>9.1f}{ct / total * 100:>7.1f}"
                f"{ct / commands * 1e6:>11.0f}  {where(key)}"
            )


def run_backend(label: str, engine: Engine, n_cases: int, warmup: int, profile_cases: int) -> None:
    catalog = load_catalog([DEFINITIONS])
    if not catalog.ok:
        raise SystemExit("the seed catalog has problems:\n" + "\n".join(map(str, catalog.problems)))
    clock = VirtualClock(datetime(2025, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta")))  # Monday
    registry = Registry(engine, catalog)
    registry.publish(clock.now())
    cases = CaseEngine(engine, registry, clock)
    compiled = registry.latest(SOP_ID)
    base = Baseline(
        engine, compiled.sop, compiled.content_hash, registry.calendar(compiled.sop.region).version
    )
    actors = _actors()

    for _ in range(warmup):
        engine_case(cases, clock, actors, Recorder())
        baseline_case(base, clock, Recorder())

    eng, bare = Timer(), Timer()
    for i in range(n_cases):
        if i % 2 == 0:
            engine_case(cases, clock, actors, eng)
            baseline_case(base, clock, bare)
        else:
            baseline_case(base, clock, bare)
            engine_case(cases, clock, actors, eng)

    # Statements per command, counted on one more case of each (not timed).
    eng_sql, bare_sql = SqlCounter(engine), SqlCounter(engine)
    engine_case(cases, clock, actors, eng_sql)
    baseline_case(base, clock, bare_sql)

    with engine.connect() as conn:
        done = (
            conn.execute(select(case_t.c.tracking_number).where(case_t.c.step == "selesai"))
            .scalars()
            .all()
        )
    expected = 2 * (warmup + n_cases + 1)
    if len(done) != expected:
        raise SystemExit(f"{label}: {len(done)} cases ended at 'selesai', expected {expected}")

    report(label, n_cases, eng.timings, bare.timings, eng_sql.counts, bare_sql.counts)

    if profile_cases:
        profiler = Profiler()
        for _ in range(profile_cases):
            engine_case(cases, clock, actors, profiler)
        print()
        print_profile(profiler.profile, profiler.commands)


def report(
    label: str,
    n_cases: int,
    eng: Timings,
    bare: Timings,
    eng_sql: dict[str, tuple[int, int]],
    bare_sql: dict[str, tuple[int, int]],
) -> None:
    print(f"\n== {label}: {n_cases} cases x {len(COMMANDS)} commands, engine and baseline")
    head = (
        f"{'command':<10}{'engine p50':>12}{'p99':>8}{'mean':>8}"
        f"{'baseline p50':>14}{'p99':>8}{'mean':>8}{'ratio p50':>11}{'ratio p99':>11}"
    )
    print(head + "   (ms)")
    print("-" * len(head))
    rows = [(c, eng[c], bare[c]) for c in COMMANDS]
    rows.append(
        ("all", [t for c in COMMANDS for t in eng[c]], [t for c in COMMANDS for t in bare[c]])
    )
    for name, e, b in rows:
        e50, e99, b50, b99 = pct_ms(e, 50), pct_ms(e, 99), pct_ms(b, 50), pct_ms(b, 99)
        print(
            f"{name:<10}{e50:>12.3f}{e99:>8.3f}{statistics.fmean(e) / 1e6:>8.3f}"
            f"{b50:>14.3f}{b99:>8.3f}{statistics.fmean(b) / 1e6:>8.3f}"
            f"{e50 / b50:>10.2f}x{e99 / b99:>10.2f}x"
        )
    all_e, all_b = rows[-1][1], rows[-1][2]
    ratio = pct_ms(all_e, 50) / pct_ms(all_b, 50)
    worst = max(COMMANDS, key=lambda c: pct_ms(eng[c], 50) / pct_ms(bare[c], 50))
    worst_ratio = pct_ms(eng[worst], 50) / pct_ms(bare[worst], 50)
    p99 = pct_ms(all_e, 99)
    print(
        f"target p50 ratio <= {TARGET_RATIO_P50:.0f}x (all commands): "
        f"{'met' if ratio <= TARGET_RATIO_P50 else 'NOT met'} ({ratio:.2f}x; "
        f"worst command {worst} {worst_ratio:.2f}x)"
    )
    print(
        f"target engine p99 <= {TARGET_P99_MS:.0f} ms (all commands): "
        f"{'met' if p99 <= TARGET_P99_MS else 'NOT met'} ({p99:.3f} ms)"
    )
    total_s = sum(all_e) / 1e9
    print(f"engine throughput, one client: {len(all_e) / total_s:,.0f} commands/s")
    print("SQL per command, engine vs baseline (statements / transactions committed;")
    print("  BEGIN and pool pre-ping not counted):")
    for c in COMMANDS:
        (es, ec), (bs, bc) = eng_sql[c], bare_sql[c]
        print(f"  {c:<10} engine {es:>2} / {ec}   baseline {bs:>2} / {bc}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=None, help="cases per backend (default 300)")
    parser.add_argument("--quick", action="store_true", help="a short run (40 cases)")
    parser.add_argument("--warmup", type=int, default=None, help="unmeasured cases first")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(PG_URL_VAR) or None,
        help=f"also run on PostgreSQL, in a private schema (default: ${PG_URL_VAR} if set)",
    )
    parser.add_argument(
        "--only", choices=("sqlite", "postgres"), default=None, help="run on one database only"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile top-25 of the engine's commands"
    )
    parser.add_argument(
        "--profile-cases", type=int, default=100, help="cases run under the profiler (default 100)"
    )
    args = parser.parse_args(argv)
    n_cases = args.cases or (40 if args.quick else 300)
    warmup = args.warmup if args.warmup is not None else max(5, min(30, n_cases // 10))
    profile_cases = args.profile_cases if args.profile else 0

    backends: list[Callable[[], Any]] = []
    if args.only in (None, "sqlite"):
        backends.append(sqlite_database)
    if args.only in (None, "postgres"):
        if args.postgres:
            backends.append(lambda: postgres_database(args.postgres))
        elif args.only == "postgres":
            parser.error(f"--only postgres needs --postgres URL or ${PG_URL_VAR}")
        else:
            print(f"(PostgreSQL skipped: pass --postgres URL or set ${PG_URL_VAR})")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} CPUs, load average {load} (other work on the machine skews timings)"
    )
    for backend in backends:
        with backend() as (label, engine):
            run_backend(label, engine, n_cases, warmup, profile_cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
