"""Cost of one /metrics scrape's database figures against the size of the database.

``sop_platform.telemetry.figures`` computes every ``sop_*`` gauge at scrape time: cases by SOP
and status, open breaches by SOP, the sweeper's lag, heartbeat ages and the notification
backlog, retries and failures. For each size (default 10 000 and 100 000 cases; 40 % open with
one open visit each, 5 % of those past their deadline, the rest closed with three closed visits
each; one notification per case, most sent, some pending, a few given up) the tables are filled
with bulk Core inserts, and ``figures()`` is timed (median of several runs) twice in the same run
on the same database: as migrated, and — the baseline — after dropping the two indexes that
exist only for it (``ix_case_sop_status``, a covering index for cases by SOP and status, and
``ix_step_visit_open_breached``, a partial index of the open visits past their deadline), which
are then made again. Target: at the largest size the indexes make the scrape at least 2 times
faster. The lag and notification figures read partial indexes of what is due or pending, so no
figure reads the closed history row by row. A reading of one case through the engine
(``CaseEngine.get``, what a clerk's case page costs the database) is printed for scale.

Timings are reported, never asserted. The answers are checked (the figures match the rows
inserted) and the script exits non-zero if they do not.

    .venv/bin/python bench/metrics.py            # SQLite (+ PostgreSQL if $SOP_TEST_DATABASE_URL)
    .venv/bin/python bench/metrics.py --sizes 5000,50000 --runs 5
    .venv/bin/python bench/metrics.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

# ruff: noqa: E402

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/ (where databases.py is) goes last on the import path rather than first, where Python
# puts a script's folder: there bench/queue.py would shadow the standard library's queue module,
# which psycopg imports. (So the imports below follow this; E402 is off for this file.)
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.append(str(_HERE))

from databases import postgres_database, sqlite_database  # bench/databases.py
from sqlalchemy import Engine, insert, text

from rules.loader import load_catalog
from sop_platform.definitions import REPO_ROOT
from sop_platform.engine import CaseEngine
from sop_platform.models import CaseRow, Notification, StepVisit
from sop_platform.registry import Registry
from sop_platform.telemetry import figures
from sop_platform.timekeeping import SystemClock

PG_URL_VAR = "SOP_TEST_DATABASE_URL"
TARGET_RATIO = 2.0
METRIC_INDEXES = {
    "ix_case_sop_status": 'CREATE INDEX ix_case_sop_status ON "case" (sop_id, status)',
    "ix_step_visit_open_breached": "CREATE INDEX ix_step_visit_open_breached ON step_visit "
    "(case_id) WHERE left_at IS NULL AND breached_at IS NOT NULL",
}
CHUNK = 10_000
CASES = CaseRow.__table__  # type: ignore[attr-defined]
VISITS = StepVisit.__table__  # type: ignore[attr-defined]
NOTES = Notification.__table__  # type: ignore[attr-defined]


class Filler:
    """Bulk rows for the seed SOPs; remembers what it inserted, to check the figures."""

    def __init__(self, engine: Engine, registry: Registry, now: datetime) -> None:
        self.engine = engine
        self.now = now
        self.sops = [
            (
                loaded.sop.sop,
                loaded.sop.version,
                loaded.content_hash,
                loaded.sop.region,
                loaded.sop.start,
            )
            for loaded in registry.catalog.latest().values()
        ]
        self.filled = 0
        self.visit_id = 0
        self.expected_cases: dict[tuple[str, str], int] = {}
        self.expected_breaches: dict[str, int] = {}
        self.expected_backlog = 0
        self.expected_dead = 0

    def _rows(self, first: int, last: int) -> tuple[list[Any], list[Any], list[Any]]:
        cases, visits, notes = [], [], []
        for i in range(first, last + 1):
            sop, version, content_hash, region, start = self.sops[i % len(self.sops)]
            is_open = i % 5 < 2  # 40 %
            status = "open" if is_open else "done"
            created = self.now - timedelta(days=1 + i % 200, minutes=i % 1440)
            cases.append(
                {
                    "id": i,
                    "tracking_number": f"MET-{i:09d}",
                    "region_id": region,
                    "sop_id": sop,
                    "sop_version": version,
                    "content_hash": content_hash,
                    "step": start if is_open else "selesai",
                    "status": status,
                    "unit_key": None,
                    "channel": "web",
                    "text": "Laporan untuk benchmark",
                    "fields": {},
                    "anonymous": True,
                    "confidential": False,
                    "revision": 1,
                    "created_at": created,
                    "updated_at": created,
                    "closed_at": None if is_open else created + timedelta(hours=5),
                }
            )
            self.expected_cases[(sop, status)] = self.expected_cases.get((sop, status), 0) + 1
            spans = (
                [(created, None)]
                if is_open
                else [
                    (created + timedelta(hours=h), created + timedelta(hours=h + 1))
                    for h in range(3)
                ]
            )
            for entered, left in spans:
                self.visit_id += 1
                breached = is_open and i % 20 == 0  # 5 % of the open ones
                due = entered + timedelta(hours=2)
                visits.append(
                    {
                        "id": self.visit_id,
                        "case_id": i,
                        "step": start,
                        "role": None,
                        "unit_key": None,
                        "entered_at": entered,
                        "left_at": left,
                        "due_at": due,
                        "limit_text": "2 jam",
                        "clock": "calendar",
                        "calendar_version": None,
                        "outcome": None if left is None else "met",
                        # open ones: checked later (a rung still to come), none due now
                        "next_check_at": self.now + timedelta(days=1) if left is None else None,
                        "warnings_sent": 0,
                        "breached_at": due if breached else None,
                        "escalation_level": 0,
                        "paused_at": None,
                        "paused_reason": None,
                    }
                )
                if breached:
                    self.expected_breaches[sop] = self.expected_breaches.get(sop, 0) + 1
            state = "sent" if i % 100 >= 5 else ("dead" if i % 100 == 0 else "pending")
            notes.append(
                {
                    "id": i,
                    "created_at": created,
                    "region_id": region,
                    "case_id": i,
                    "kind": "assignment",
                    "audience": "role",
                    "role": "petugas",
                    "unit_key": None,
                    "params": {},
                    "language": "id",
                    "status": state,
                    "attempts": 8 if state == "dead" else (0 if state == "pending" else 1),
                    "next_attempt_at": created,
                    "last_error": None,
                    "sent_at": None if state != "sent" else created,
                    "dedupe_key": f"bench-{i}",
                }
            )
            self.expected_backlog += state == "pending"
            self.expected_dead += state == "dead"
        return cases, visits, notes

    def grow_to(self, size: int) -> float:
        started = time.perf_counter()
        while self.filled < size:
            last = min(size, self.filled + CHUNK)
            cases, visits, notes = self._rows(self.filled + 1, last)
            with self.engine.begin() as conn:
                conn.execute(insert(CASES), cases)
                conn.execute(insert(VISITS), visits)
                conn.execute(insert(NOTES), notes)
            self.filled = last
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        return time.perf_counter() - started


def _median(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the caches once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _vacuum(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def run(label: str, engine: Engine, sizes: Sequence[int], runs: int) -> bool:
    print(f"\n== {label}")
    catalog = load_catalog([REPO_ROOT / "sop_definitions"])
    registry = Registry(engine, catalog)
    now = datetime.now(UTC)
    registry.publish(now)
    filler = Filler(engine, registry, now)
    ok = True
    print(
        f"{'cases':>9} {'fill s':>7} {'1 case ms':>10} {'no index ms':>12} {'figures ms':>11} "
        f"{'speed-up':>9}  target"
    )
    speedup = 0.0
    for size in sizes:
        fill = filler.grow_to(size)
        _vacuum(engine)
        reader = CaseEngine(engine, registry, SystemClock())
        got = figures(engine, now)
        right = (
            dict(got.cases) == filler.expected_cases
            and dict(got.open_breaches) == filler.expected_breaches
            and got.notifications_backlog == filler.expected_backlog
            and got.notifications_dead == filler.expected_dead
            and got.sweeper_lag == 0
        )
        if not right:
            print(f"  WRONG figures at {size:,} cases: {got}")
            ok = False
        one_case = _median(lambda r=reader, n=size // 2: r.get(n), runs)
        cost = _median(lambda: figures(engine, now), runs)
        _indexes(engine, drop=True)
        unindexed = _median(lambda: figures(engine, now), runs)
        _indexes(engine, drop=False)
        speedup = unindexed / cost
        print(
            f"{size:>9,} {fill:>7.1f} {one_case * 1000:>10.2f} {unindexed * 1000:>12.2f} "
            f"{cost * 1000:>11.2f} {speedup:>8.1f}x"
        )
    met = "met" if speedup >= TARGET_RATIO else "NOT met"
    print(
        f"  at {sizes[-1]:,} cases the indexes speed the scrape up {speedup:.1f}x "
        f"(target >= {TARGET_RATIO:g}x): {met}"
    )
    return ok


def _indexes(engine: Engine, *, drop: bool) -> None:
    with engine.begin() as conn:
        for name, ddl in METRIC_INDEXES.items():
            conn.execute(text(f"DROP INDEX {name}" if drop else ddl))
    _vacuum(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000", help="case counts, ascending")
    parser.add_argument("--runs", type=int, default=9, help="timed scrapes per size")
    parser.add_argument("--postgres", default=os.environ.get(PG_URL_VAR), help="PostgreSQL URL")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print("load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    ok = True
    with sqlite_database() as (label, engine):
        ok &= run(label, engine, sizes, args.runs)
    if args.postgres:
        with postgres_database(args.postgres) as (label, engine):
            ok &= run(label, engine, sizes, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
