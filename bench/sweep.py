"""Cost of one sweep against the number of open step visits, and due-to-breach latency.

The sweeper finds work by a range scan on the partial index ``ix_step_visit_next_check``, so a
sweep should cost what is due, not what is open. For each size (default 10 000, 100 000 and
1 000 000 open visits) the benchmark fills the tables with bulk Core inserts (cases and one open
visit each, checked a month or more ahead; not through the engine), then makes a fixed number
of visits due (default 200, picked at random over the table, fresh ones each time) and times one
``Sweeper.tick()`` that records their breaches. It repeats that a few times and takes the
median; it also times an idle tick (nothing due). The baseline is the smallest size, measured in
the same run on the same database: the ratios largest/smallest should stay near 1 (target
<= 2, flat).

Then, with the largest table in place, a sweeper runs in a background thread
(``run_forever(..., interval=1.0)`` with the system clock) and cases are submitted through the
engine so that their deadlines fall a few seconds ahead; for each, ``breached_at - due_at`` is
the delay between the deadline and the sweep that recorded it (target p99 <= 2 s).

Timings are reported, never asserted; the answers are checked (every due visit breached exactly
once by the measured tick, every latency case breached), and the script exits non-zero if not.

    .venv/bin/python bench/sweep.py             # SQLite (+ PostgreSQL if $SOP_TEST_DATABASE_URL)
    .venv/bin/python bench/sweep.py --quick     # 10 k and 100 k only
    .venv/bin/python bench/sweep.py --sizes 10000,50000 --due 100
    .venv/bin/python bench/sweep.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from databases import fill_rows, postgres_database, sqlite_database  # bench/databases.py
from sqlalchemy import Engine, event, func, select, update

from rules.loader import load_catalog
from sop_platform.db import is_sqlite
from sop_platform.engine import CaseEngine, NewCase
from sop_platform.models import CaseRow, StepVisit
from sop_platform.registry import Registry
from sop_platform.sweeper import Sweeper, run_forever
from sop_platform.timekeeping import SystemClock, VirtualClock

PG_URL_VAR = "SOP_TEST_DATABASE_URL"
SOP_ID = "bench-sapu"
REGION = "benchkota"
TARGET_RATIO = 2.0
TARGET_LATENCY_S = 2.0

REGION_YAML = """\
region: benchkota
name: Pemerintah Kota Bench
level: kota
units:
  u1: {code: U1, name: Dinas Satu}
  u2: {code: U2, name: Dinas Dua}
channels:
  web: {title: Situs web}
"""

# The first rung falls a day after the deadline: a visit breached by the benchmark is not due
# again while it runs, so each measured tick handles exactly the visits made due for it.
SOP_YAML = """\
sop: bench-sapu
version: "2025-01-01"
region: benchkota
title: Benchmark penyapu
submission: {by: pelapor, channels: [web]}
fields:
  bidang: {type: choice, required: true, options: [satu, dua]}
roles:
  pelapor: {kind: citizen}
  petugas: {kind: unit_staff}
  kepala_daerah: {kind: region_staff}
routing:
  - {when: "bidang == satu", unit: u1}
  - {otherwise: true, unit: u2}
start: tangani
steps:
  tangani:
    title: Menangani laporan
    by: petugas
    limit: 100 menit
    actions:
      selesai: {to: selesai}
  selesai:
    title: Selesai
    status: done
escalation:
  ladder:
    - {after: 1 hari, to: [kepala_daerah]}
"""

case_t = CaseRow.__table__  # type: ignore[attr-defined]
visit_t = StepVisit.__table__  # type: ignore[attr-defined]


# --- filling the tables -------------------------------------------------------------------


@dataclass
class Filler:
    """Bulk rows: case ``i`` has the open visit with id ``i`` (ids given, not generated)."""

    engine: Engine
    registry: Registry
    t0: datetime
    filled: int = 0

    def __post_init__(self) -> None:
        compiled = self.registry.latest(SOP_ID)
        self.version = compiled.sop.version
        self.content_hash = compiled.content_hash
        self.calendar_version = self.registry.calendar(REGION).version

    def _rows(self, first: int, last: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        cases, visits = [], []
        for i in range(first, last + 1):
            unit = "u1" if i % 2 else "u2"
            # Checked a month or more ahead, spread over a day, in no order of id.
            check = self.t0 + timedelta(days=30, seconds=(i * 7919) % 86_400)
            cases.append(
                {
                    "id": i,
                    "tracking_number": f"BEN-{i:09d}",
                    "region_id": REGION,
                    "sop_id": SOP_ID,
                    "sop_version": self.version,
                    "content_hash": self.content_hash,
                    "step": "tangani",
                    "status": "open",
                    "unit_key": unit,
                    "channel": "web",
                    "text": "Laporan untuk benchmark",
                    "fields": {"bidang": "satu" if unit == "u1" else "dua"},
                    "anonymous": True,
                    "confidential": False,
                    "revision": 1,
                    "created_at": check - timedelta(days=30),
                    "updated_at": check - timedelta(days=30),
                }
            )
            visits.append(
                {
                    "id": i,
                    "case_id": i,
                    "step": "tangani",
                    "role": "petugas",
                    "unit_key": unit,
                    "entered_at": check - timedelta(minutes=100),
                    "left_at": None,
                    "due_at": check,
                    "limit_text": "100 menit",
                    "clock": "calendar",
                    "calendar_version": self.calendar_version,
                    "outcome": None,
                    "next_check_at": check,
                    "warnings_sent": 0,
                    "breached_at": None,
                    "escalation_level": 0,
                    "paused_at": None,
                    "paused_reason": None,
                }
            )
        return cases, visits

    def grow_to(self, size: int) -> float:
        """Insert visits up to ``size`` in chunks (executemany); return the seconds it took."""
        started = time.perf_counter()
        fill_rows(self.engine, self.filled, size, self._rows, "open visits", unit=" rows")
        self.filled = size
        analysed = time.perf_counter()
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        print(f"  ANALYZE: {time.perf_counter() - analysed:.1f} s")
        return time.perf_counter() - started


# --- one sweep ----------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: int
    fill_s: float
    idle_ms: list[float] = field(default_factory=list)
    due_ms: list[float] = field(default_factory=list)


class QueryPlan:
    """Captures the sweeper's due-visit query as sent, to EXPLAIN it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: tuple[str, Any] | None = None

    def record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM step_visit" in statement and "next_check_at <=" in statement:
            self.seen = (statement, parameters)

    def explain(self) -> list[str]:
        if self.seen is None:
            return ["(the due-visit query was not seen)"]
        statement, parameters = self.seen
        with self.engine.connect() as conn:
            if is_sqlite(self.engine):
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                return [str(r[-1]) for r in rows]
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            return [str(r[0]) for r in rows]


def make_due(engine: Engine, ids: list[int], now: datetime) -> None:
    """Visits ``ids`` reach their deadline a minute before ``now``."""
    due = now - timedelta(minutes=1)
    with engine.begin() as conn:
        conn.execute(
            update(visit_t)
            .where(visit_t.c.id.in_(ids))
            .values(entered_at=due - timedelta(minutes=100), due_at=due, next_check_at=due)
        )


def measure_size(
    engine: Engine,
    registry: Registry,
    filler: Filler,
    size: int,
    due: int,
    repeats: int,
    rng: random.Random,
    used: set[int],
    plan: QueryPlan,
) -> SizeResult:
    result = SizeResult(size, filler.grow_to(size))
    clock = VirtualClock(filler.t0)
    sweeper = Sweeper(engine, registry, clock)
    for _ in range(3):  # warm the connection pool and the statement caches
        sweeper.tick()
    for _ in range(20):
        t = time.perf_counter()
        idle = sweeper.tick()
        result.idle_ms.append((time.perf_counter() - t) * 1000)
        if idle.total:
            raise SystemExit(f"{size:,}: an idle tick found work: {idle}")
    for rep in range(repeats + 1):  # the first is a warm-up, not counted
        ids: list[int] = []
        while len(ids) < due:
            pick = rng.randint(1, size)
            if pick not in used:
                used.add(pick)
                ids.append(pick)
        make_due(engine, ids, filler.t0)
        event.listen(engine, "before_cursor_execute", plan.record)
        try:
            t = time.perf_counter()
            swept = sweeper.tick()
            elapsed = (time.perf_counter() - t) * 1000
        finally:
            event.remove(engine, "before_cursor_execute", plan.record)
        if swept.breaches != due or swept.total != due:
            raise SystemExit(f"{size:,}: the tick recorded {swept}, expected {due} breaches")
        with engine.connect() as conn:
            breached = conn.execute(
                select(func.count())
                .select_from(visit_t)
                .where(visit_t.c.id.in_(ids), visit_t.c.breached_at == filler.t0)
            ).scalar_one()
        if breached != due:
            raise SystemExit(f"{size:,}: {breached} of the {due} due visits were breached")
        if rep:
            result.due_ms.append(elapsed)
    return result


# --- latency ------------------------------------------------------------------------------


def measure_latency(engine: Engine, registry: Registry, n: int, spread_s: float) -> list[float]:
    """Seconds from each deadline to the breach a background sweeper recorded."""
    stop = threading.Event()
    sweeper = Sweeper(engine, registry, SystemClock())
    worker = threading.Thread(target=run_forever, args=(sweeper, stop, 1.0), daemon=True)
    worker.start()
    submit_clock = VirtualClock(datetime.now(UTC))
    cases = CaseEngine(engine, registry, submit_clock)
    start = datetime.now(UTC) + timedelta(seconds=2)
    ids = []
    try:
        for i in range(n):
            due = start + timedelta(seconds=spread_s * i / max(1, n - 1))
            submit_clock.set(due - timedelta(minutes=100))  # 100 minutes: due at `due`
            view = cases.submit(NewCase(SOP_ID, "web", "Laporan latensi", {"bidang": "satu"}))
            ids.append(view.id)
        last_due = start + timedelta(seconds=spread_s)
        wait_until = time.monotonic() + (last_due - datetime.now(UTC)).total_seconds() + 30
        while time.monotonic() < wait_until:
            with engine.connect() as conn:
                pending = conn.execute(
                    select(func.count())
                    .select_from(visit_t)
                    .where(visit_t.c.case_id.in_(ids), visit_t.c.breached_at.is_(None))
                ).scalar_one()
            if not pending:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        worker.join(30)
    with engine.connect() as conn:
        rows = conn.execute(
            select(visit_t.c.due_at, visit_t.c.breached_at).where(visit_t.c.case_id.in_(ids))
        ).all()
    missing = [r for r in rows if r.breached_at is None]
    if len(rows) != n or missing:
        raise SystemExit(f"latency: {len(missing)} of {n} cases were never breached")
    return [(r.breached_at - r.due_at).total_seconds() for r in rows]


# --- reporting ----------------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def report_sizes(results: list[SizeResult], due: int) -> None:
    head = (
        f"{'open visits':>12}{'fill s':>8}{'idle tick ms':>14}"
        f"{f'tick, {due} due ms':>20}{'min':>9}{'max':>9}{'ms/visit':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        med = statistics.median(r.due_ms)
        print(
            f"{r.size:>12,}{r.fill_s:>8.1f}{statistics.median(r.idle_ms):>14.2f}"
            f"{med:>20.1f}{min(r.due_ms):>9.1f}{max(r.due_ms):>9.1f}{med / due:>10.3f}"
        )
    base, top = results[0], results[-1]
    if len(results) > 1:
        ratio = statistics.median(top.due_ms) / statistics.median(base.due_ms)
        idle = statistics.median(top.idle_ms) / statistics.median(base.idle_ms)
        label = f"{top.size:,} / {base.size:,}"
        print(
            f"ratio {label}: tick with {due} due {ratio:.2f}x, idle tick {idle:.2f}x; "
            f"target <= {TARGET_RATIO:.0f}x (flat): {'met' if ratio <= TARGET_RATIO else 'NOT met'}"
        )


def run_backend(
    label: str,
    engine: Engine,
    sizes: list[int],
    due: int,
    repeats: int,
    latency_cases: int,
    latency_spread: float,
    seed: int,
) -> None:
    print(f"\n== {label}")
    with tempfile.TemporaryDirectory(prefix="sop-bench-sop-") as tmp:
        region_file, sop_file = Path(tmp) / "region.yaml", Path(tmp) / "bench-sapu.yaml"
        region_file.write_text(REGION_YAML, encoding="utf-8")
        sop_file.write_text(SOP_YAML, encoding="utf-8")
        catalog = load_catalog([region_file, sop_file])
    if not catalog.ok:
        raise SystemExit(
            "the benchmark SOP has problems:\n" + "\n".join(map(str, catalog.problems))
        )
    t0 = datetime.now(UTC).replace(microsecond=0)
    registry = Registry(engine, catalog)
    registry.publish(t0)
    filler = Filler(engine, registry, t0)
    rng = random.Random(seed)
    used: set[int] = set()
    plan = QueryPlan(engine)
    results: list[SizeResult] = []
    for size in sizes:
        results.append(measure_size(engine, registry, filler, size, due, repeats, rng, used, plan))
    print(f"\nthe sweeper's due-visit query at {sizes[-1]:,} open visits:")
    for line in plan.explain():
        print(f"  {line}")
    print()
    report_sizes(results, due)
    if latency_cases:
        print(
            f"\nlatency: {latency_cases} cases due over {latency_spread:.0f} s, with "
            f"{filler.filled:,} other open visits; sweeper thread run_forever(interval=1.0)"
        )
        lat = measure_latency(engine, registry, latency_cases, latency_spread)
        p99 = pct(lat, 99)
        print(
            f"breached_at - due_at: p50 {pct(lat, 50):.3f} s, p90 {pct(lat, 90):.3f} s, "
            f"p99 {p99:.3f} s, max {max(lat):.3f} s, min {min(lat):.3f} s"
        )
        print(
            f"target p99 <= {TARGET_LATENCY_S:.0f} s: "
            f"{'met' if p99 <= TARGET_LATENCY_S else 'NOT met'} ({p99:.3f} s)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 000 and 100 000 open visits")
    parser.add_argument(
        "--sizes", default=None, help="comma-separated open-visit counts (default 10k,100k,1M)"
    )
    parser.add_argument("--due", type=int, default=200, help="visits due per measured tick")
    parser.add_argument("--repeats", type=int, default=5, help="measured ticks per size")
    parser.add_argument(
        "--latency-cases", type=int, default=100, help="cases for the latency run (0: skip it)"
    )
    parser.add_argument(
        "--latency-spread", type=float, default=10.0, help="seconds over which they fall due"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(PG_URL_VAR) or None,
        help=f"also run on PostgreSQL, in a private schema (default: ${PG_URL_VAR} if set)",
    )
    parser.add_argument(
        "--only", choices=("sqlite", "postgres"), default=None, help="run on one database only"
    )
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    elif args.quick:
        sizes = [10_000, 100_000]
    else:
        sizes = [10_000, 100_000, 1_000_000]
    if sizes[0] < args.due * (args.repeats + 1):
        parser.error(f"the smallest size must hold {args.due * (args.repeats + 1)} due visits")

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
    print(
        f"sizes {', '.join(f'{s:,}' for s in sizes)} open visits; {args.due} due per measured "
        f"tick; median of {args.repeats} ticks (after one warm-up) per size"
    )
    for backend in backends:
        with backend() as (label, engine):
            run_backend(
                label,
                engine,
                sizes,
                args.due,
                args.repeats,
                args.latency_cases,
                args.latency_spread,
                args.seed,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
