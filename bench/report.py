"""Conformance report benchmark: one SOP over a year of step visits (1 M by default).

Bulk-inserts a year of Bantul cases (six office-hours steps and the end step, seven visits a
case) with their stored times, then measures, in the same run: the report's per-step statement,
a hand-written SQL aggregate doing the same grouping (the baseline), the whole report, and each
export (written to a file, as ``sop report -o`` does) with the process's peak memory after it.
Prints the times and the ratio (target: per-step statement <= 1.5 x the hand-written SQL).
Fails only if the two give different figures.
"""

# ruff: noqa: E402

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

# The project root first, and bench/ (where databases.py is) last rather than first, where
# Python puts a script's folder: there bench/queue.py would shadow the standard library's queue
# module, which psycopg imports. (So the imports below follow this; E402 is off for this file.)
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))
sys.path.append(str(_HERE))

from databases import postgres_database, sqlite_database  # bench/databases.py

from rules.loader import load_catalog
from sop_platform.models import CaseRow, StepVisit
from sop_platform.registry import Registry
from sop_platform.reports import ReportFilter, conformance_report, figures
from sop_platform.reports.exports import write_csv, write_pdf, write_xlsx
from sop_platform.reports.filters import resolve

SOP = "pengaduan-terintegrasi"
REGION = "bantul"
YEAR = 2025
STEPS = [
    ("penerimaan", "operator", 60),
    ("pemeriksaan", "sekretaris", 120),
    ("tindak_lanjut", "kepala_bidang", 660),
    ("pemeriksaan_laporan", "sekretaris", 120),
    ("posting_jawaban", "operator", 60),
    ("penerimaan_jawaban", "masyarakat", 30),
]

HAND_SQL = """
WITH v AS (
  SELECT sv.step, sv.left_at, sv.outcome, sv.elapsed_minutes AS e, sv.paused_minutes AS p
  FROM step_visit sv JOIN "case" c ON c.id = sv.case_id
  WHERE c.sop_id = :sop AND c.created_at >= :start AND c.created_at < :end
    AND c.region_id = :region
), r AS (
  SELECT step, e, row_number() OVER (PARTITION BY step ORDER BY e) AS rn,
         count(*) OVER (PARTITION BY step) AS n
  FROM v WHERE e IS NOT NULL
)
SELECT c.step, c.visits, c.open, c.met, c.breached, c.measured, c.paused_visits,
       c.paused_minutes, q.median, q.p90
FROM (SELECT step, count(*) AS visits,
             sum(CASE WHEN left_at IS NULL THEN 1 ELSE 0 END) AS open,
             sum(CASE WHEN outcome = 'met' THEN 1 ELSE 0 END) AS met,
             sum(CASE WHEN outcome = 'breached' THEN 1 ELSE 0 END) AS breached,
             count(e) AS measured,
             sum(CASE WHEN p > 0 THEN 1 ELSE 0 END) AS paused_visits,
             coalesce(sum(p), 0) AS paused_minutes
      FROM v GROUP BY step) c
LEFT JOIN (SELECT step, min(CASE WHEN rn >= (n + 1) / 2 THEN e END) AS median,
                  min(CASE WHEN rn >= (9 * n + 9) / 10 THEN e END) AS p90
           FROM r GROUP BY step) q ON q.step = c.step
ORDER BY c.step
"""


def fill(engine: Engine, registry: Registry, visits: int, seed: int) -> int:
    """Insert ``visits`` step visits (seven per case) spread over the year; return cases."""
    rng = random.Random(seed)
    sop = registry.catalog.get(SOP).sop
    hash_ = registry.catalog.get(SOP).content_hash
    units = sorted(registry.region(REGION).units)
    cases_n = visits // 7
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    span = 364 * 86400
    case_rows: list[dict[str, Any]] = []
    visit_rows: list[dict[str, Any]] = []
    cases_t = CaseRow.__table__  # type: ignore[attr-defined]
    visits_t = StepVisit.__table__  # type: ignore[attr-defined]

    def flush() -> None:
        with engine.begin() as conn:
            if case_rows:
                conn.execute(insert(cases_t), case_rows)
            if visit_rows:
                conn.execute(insert(visits_t), visit_rows)
        case_rows.clear()
        visit_rows.clear()

    for cid in range(1, cases_n + 1):
        created = start + timedelta(seconds=rng.randrange(span))
        unit = rng.choice(units)
        at = created
        for step, role, limit in STEPS:
            took = rng.expovariate(1 / (limit * 0.8))
            left = at + timedelta(minutes=took)
            due = at + timedelta(minutes=limit)
            breached = took > limit
            visit_rows.append(
                {
                    "case_id": cid, "step": step, "role": role, "unit_key": unit,
                    "entered_at": at, "left_at": left, "due_at": due,
                    "limit_text": f"{limit} menit", "clock": "office_hours",
                    "calendar_version": "bench", "outcome": "breached" if breached else "met",
                    "warnings_sent": 0, "escalation_level": 0,
                    "elapsed_minutes": round(took, 4), "paused_minutes": 0.0,
                    "overrun_minutes": round(took - limit, 4) if breached else 0.0,
                }
            )  # fmt: skip
            at = left
        visit_rows.append(
            {
                "case_id": cid, "step": "selesai", "role": None, "unit_key": None,
                "entered_at": at, "left_at": at, "due_at": None, "limit_text": None,
                "clock": None, "calendar_version": None, "outcome": None,
                "warnings_sent": 0, "escalation_level": 0, "elapsed_minutes": 0.0,
                "paused_minutes": None, "overrun_minutes": None,
            }
        )  # fmt: skip
        case_rows.append(
            {
                "id": cid, "tracking_number": f"BTL-BENCH-{cid:08d}", "region_id": REGION,
                "sop_id": SOP, "sop_version": sop.version, "content_hash": hash_,
                "step": "selesai", "status": "done", "unit_key": unit,
                "channel": rng.choice(["lapor_bantul", "lapor_sp4n"]), "text": "bench",
                "fields": {"kategori": rng.choice(["infrastruktur", "kesehatan", "lainnya"])},
                "anonymous": True, "confidential": False, "revision": 8,
                "created_at": created, "updated_at": at, "closed_at": at,
            }
        )  # fmt: skip
        if len(visit_rows) >= 14_000:
            flush()
    flush()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text('ANALYZE "case"'))
            conn.execute(text("ANALYZE step_visit"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return cases_n


def _max_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best(fn: Any, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run(label: str, engine: Engine, visits: int, repeats: int, seed: int) -> bool:
    catalog = load_catalog([Path(__file__).resolve().parent.parent / "sop_definitions"])
    registry = Registry(engine, catalog)
    registry.publish(datetime(YEAR, 1, 1, tzinfo=UTC))
    t0 = time.perf_counter()
    cases = fill(engine, registry, visits, seed)
    print(f"\n{label}: {cases:,} cases, {cases * 7:,} visits inserted in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    flt = ReportFilter(REGION, SOP, date(YEAR, 1, 1), date(YEAR, 12, 31))
    scope = resolve(registry, flt)
    params = {"sop": SOP, "start": scope.start, "end": scope.end, "region": REGION}

    def ours() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            found = figures.step_figures(conn, scope)
        return [tuple(found[k].values()) for k in sorted(found)]

    def hand() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(HAND_SQL), params).all()]

    hand_t, hand_rows = best(hand, repeats)
    ours_t, ours_rows = best(ours, repeats)
    same = [tuple(float(x) if isinstance(x, int | float) else x for x in r) for r in ours_rows] == [
        tuple(float(x) if isinstance(x, int | float) else x for x in r) for r in hand_rows
    ]
    now = datetime(YEAR + 1, 1, 1, tzinfo=UTC)
    report_t, report = best(lambda: conformance_report(engine, registry, flt, now), 1)
    ratio = ours_t / hand_t
    print(f"  hand-written SQL, per-step grouping   {hand_t * 1000:9.1f} ms")
    print(f"  report's per-step statement           {ours_t * 1000:9.1f} ms   ratio {ratio:.2f} "
          f"(target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")  # fmt: skip
    print(f"  whole report (all figures, {len(report.months)} months)  {report_t * 1000:9.1f} ms   "
          f"{report_t / hand_t:.1f} x the per-step SQL")  # fmt: skip
    print(f"  peak memory before the exports        {_max_rss_mb():9.0f} MB")
    with tempfile.TemporaryDirectory(prefix="sop-bench-export-") as tmp:
        for fmt in ("csv", "xlsx", "pdf"):
            path = Path(tmp) / f"report.{fmt}"
            t0 = time.perf_counter()
            if fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as text_file:
                    write_csv(engine, registry, flt, text_file)
            else:
                with path.open("wb") as binary_file:
                    if fmt == "xlsx":
                        write_xlsx(report, engine, registry, flt, binary_file)
                    else:
                        write_pdf(report, binary_file)
            took = time.perf_counter() - t0
            size = path.stat().st_size / 1e6
            print(f"  export {fmt:4}                           {took:9.2f} s   {size:.1f} MB"
                  f"   peak memory {_max_rss_mb():.0f} MB")  # fmt: skip
    if not same:
        print("  ERROR: the report and the hand-written SQL disagree", file=sys.stderr)
    return same


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 000 visits instead of 1 M")
    parser.add_argument("--visits", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    visits = args.visits or (100_000 if args.quick else 1_000_000)
    print("load average:", ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    database = postgres_database(args.postgres) if args.postgres else sqlite_database()
    with database as (label, engine):
        ok = run(label, engine, visits, args.repeats, args.seed)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
