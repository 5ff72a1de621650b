"""Response time of the staff work queue (/antrean) against the number of cases in the database.

The tables grow through each size in turn (default 10 000 and 1 000 000 cases) with bulk Core
inserts (not through the engine): UPIK complaints (``upik-pengaduan``, the seed SOP) spread
evenly over Yogyakarta's six units, submitted over the past year on three channels; 70 % closed,
the rest open at verifikasi (half), penerimaan or pengerjaan, their deadlines spread from two
days late to two days ahead. Each case has one step visit.

At each size, one signed-in Admin OPD of ``dinkes`` asks for the queue through the whole app
(Litestar's TestClient: routing, session, CSRF cookie, query, templates) in these ways:

* ``first``: the first page; ``deep``: the page after the middle of their queue (a keyset
  cursor); ``filtered``: channel and a 30-day period; ``step``: step and status;
* ``tracking``: a search for one tracking number; ``words``: a search for a word found in
  about 1 % of the reports (a substring match, see the README).

Baselines, measured in the same run: ``sql`` is the same page's database work alone
(``web.queries.queue_scope`` + ``queue_page`` with the same filters), so page/sql shows what the
web layer adds; and the smallest size, so largest/smallest shows how a page scales with the
table (target: at most 2x for the keyset pages at 1 M / 10 k). Each figure is the median of
``--repeats`` requests after a warm-up. The answers are checked (every page shows rows, a
tracking search finds exactly its case) and the script exits non-zero if not.

    .venv/bin/python bench/queue_page.py            # SQLite (+ PostgreSQL: $SOP_TEST_DATABASE_URL)
    .venv/bin/python bench/queue_page.py --quick    # 10 k and 100 k cases
    .venv/bin/python bench/queue_page.py --sizes 10000,200000 --repeats 10
    .venv/bin/python bench/queue_page.py --only postgres --postgres postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from databases import fill_rows, postgres_database, sqlite_database  # bench/databases.py
from litestar.testing import TestClient
from sqlalchemy import Engine, and_, event, func, select
from sqlmodel import Session

from rules.loader import load_catalog
from sop_platform.accounts import actor_for, add_user
from sop_platform.db import is_sqlite
from sop_platform.engine import Grant
from sop_platform.models import CaseRow, StepVisit
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock
from web.app import CSRF_COOKIE, create_app
from web.queries import Cursor, queue_page, queue_scope

ROOT = Path(__file__).resolve().parent.parent
PG_URL_VAR = "SOP_TEST_DATABASE_URL"
SOP_ID = "upik-pengaduan"
REGION = "yogyakarta"
UNITS = ("dpupkp", "dlh", "dinkes", "dukcapil", "dpmpp", "diskominfosandi")
CHANNELS = ("jss", "web", "telepon")
TARGET_RATIO = 2.0
USER = "bench.admin_opd"
PASSWORD = "bench-password-2025"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
WORDS = [f"kata{i:02d}" for i in range(99)] + ["jembatan"]  # jembatan: 1 % of the reports
WIB = ZoneInfo("Asia/Jakarta")

case_t = CaseRow.__table__  # type: ignore[attr-defined]
visit_t = StepVisit.__table__  # type: ignore[attr-defined]


def tracking(i: int) -> str:
    """A tracking number as the engine writes them, unique per id."""
    chars = []
    for _ in range(6):
        i, r = divmod(i, 32)
        chars.append(ALPHABET[r])
    return "YOG-250101-" + "".join(chars)


@dataclass
class Filler:
    """Bulk rows: case ``i`` has the step visit ``i`` (ids given, not generated)."""

    engine: Engine
    registry: Registry
    now: datetime
    filled: int = 0

    def __post_init__(self) -> None:
        compiled = self.registry.latest(SOP_ID)
        self.version = compiled.sop.version
        self.content_hash = compiled.content_hash
        self.calendar_version = self.registry.calendar(REGION).version

    def _rows(self, first: int, last: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        cases, visits = [], []
        for i in range(first, last + 1):
            unit = UNITS[i % len(UNITS)]
            # A multiplicative hash: its bit fields pick shape, channel and word independently
            # of each other and of the unit.
            h = (i * 2654435761) % 2**32
            # Spread in no order of id: submitted over a year, deadlines +-2 days around now.
            created = self.now - timedelta(seconds=(i * 7919) % (365 * 86_400))
            shape = (h >> 4) % 20
            if shape < 14:
                status, step, role, left, due = "done", "selesai", None, created, None
            else:
                step, role = (
                    ("verifikasi", "admin_opd")
                    if shape < 17
                    else ("penerimaan", "petugas_lapangan")
                    if shape < 19
                    else ("pengerjaan", "petugas_lapangan")
                )
                status, left = "open", None
                due = self.now + timedelta(seconds=(i * 104729) % (4 * 86_400) - 2 * 86_400)
            cases.append(
                {
                    "id": i,
                    "tracking_number": tracking(i),
                    "region_id": REGION,
                    "sop_id": SOP_ID,
                    "sop_version": self.version,
                    "content_hash": self.content_hash,
                    "step": step,
                    "status": status,
                    "unit_key": unit,
                    "channel": CHANNELS[(h >> 12) % len(CHANNELS)],
                    "text": f"Laporan warga nomor {i} tentang {WORDS[(h >> 18) % len(WORDS)]}",
                    "fields": {"kategori": "kesehatan" if unit == "dinkes" else "lainnya"},
                    "anonymous": True,
                    "confidential": False,
                    "revision": 1,
                    "created_at": created,
                    "updated_at": created,
                    "closed_at": left,
                }
            )
            visits.append(
                {
                    "id": i,
                    "case_id": i,
                    "step": "verifikasi" if status == "done" else step,
                    "role": role or "admin_opd",
                    "unit_key": unit,
                    "entered_at": created,
                    "left_at": left,
                    "due_at": due if status == "open" else created + timedelta(hours=2),
                    "limit_text": "1 x 2 jam",
                    "clock": "calendar",
                    "calendar_version": self.calendar_version,
                    "outcome": "met" if status == "done" else None,
                    "next_check_at": None,
                    "warnings_sent": 0,
                    "breached_at": None,
                    "escalation_level": 0,
                    "paused_at": None,
                    "paused_reason": None,
                }
            )
        return cases, visits

    def grow_to(self, size: int) -> float:
        started = time.perf_counter()
        fill_rows(self.engine, self.filled, size, self._rows, "cases")
        self.filled = size
        if is_sqlite(self.engine):
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        # Settle the writes before anything is timed: the first requests after a fill of a
        # million rows otherwise compete with the WAL checkpoint (SQLite) or autovacuum
        # (PostgreSQL) for the disk.
        if is_sqlite(self.engine):
            raw = self.engine.raw_connection()  # outside the engine's BEGIN IMMEDIATE
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()
        else:
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql('VACUUM ANALYZE "case"')
                conn.exec_driver_sql("VACUUM ANALYZE step_visit")
        return time.perf_counter() - started


class QueryPlan:
    """Captures the queue's first keyset query as sent, to EXPLAIN it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: tuple[str, Any] | None = None
        self.armed = False

    def record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.armed and 'FROM step_visit JOIN "case"' in statement and "ORDER BY" in statement:
            self.seen = (statement, parameters)
            self.armed = False

    def explain(self) -> list[str]:
        if self.seen is None:
            return ["(the queue query was not seen)"]
        statement, parameters = self.seen
        with self.engine.connect() as conn:
            if is_sqlite(self.engine):
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                return [str(r[-1]) for r in rows]
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            return [str(r[0]) for r in rows]


@dataclass
class Scenario:
    name: str
    params: dict[str, str]
    check: Callable[[str], bool]


@dataclass
class Result:
    size: int
    fill_s: float
    page_ms: dict[str, float] = field(default_factory=dict)
    sql_ms: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def shown(page: str) -> list[str]:
    return re.findall(r'<a href="/kasus/\d+">([A-Z0-9-]+)</a>', page)


def scenarios(engine: Engine, registry: Registry, now: datetime) -> list[Scenario]:
    """The requests measured, with cursors and search terms taken from the current tables."""
    actor = actor_for(engine, USER)
    with Session(engine) as db:
        scope = queue_scope(db, registry, actor)
    c, v = case_t.c, visit_t.c
    mine = (
        select(v.due_at, c.id)
        .select_from(case_t.join(visit_t, and_(v.case_id == c.id, v.left_at.is_(None))))
        .where(c.unit_key == "dinkes", c.step == "verifikasi", c.status == "open")
    )
    with engine.connect() as conn:
        # Setup only (never measured): the middle of this queue, found by OFFSET once.
        count = conn.execute(select(func.count()).select_from(mine.subquery())).scalar_one()
        middle = conn.execute(mine.order_by(v.due_at, c.id).limit(1).offset(count // 2)).one()
        target = conn.execute(
            select(c.tracking_number)
            .where(c.unit_key == "dinkes", c.step == "verifikasi", c.status == "open")
            .order_by(c.id.desc())
            .limit(1)
        ).scalar_one()
    due = middle[0] if middle[0].tzinfo else middle[0].replace(tzinfo=UTC)
    cursor = Cursor(due, middle[1]).encode()
    week_end = now.astimezone(WIB).date()
    week_start = week_end - timedelta(days=29)
    del scope
    return [
        Scenario("first", {}, lambda p: len(shown(p)) > 0),
        Scenario("deep", {"after": cursor}, lambda p: len(shown(p)) > 0),
        Scenario(
            "filtered",
            {"channel": "jss", "dari": week_start.isoformat(), "sampai": week_end.isoformat()},
            lambda p: True,
        ),
        Scenario("step", {"step": "verifikasi", "status": "open"}, lambda p: len(shown(p)) > 0),
        Scenario("tracking", {"q": target}, lambda p: shown(p) == [target]),
        Scenario("words", {"q": "jembatan"}, lambda p: True),  # as many as the query finds
    ]


def sql_call(
    engine: Engine, registry: Registry, params: dict[str, str], page_size: int
) -> Callable[[], int]:
    """The same page's database work alone, with the filters as the handler turns them."""
    actor = actor_for(engine, USER)
    tz = registry.calendar(REGION).tz

    def day(text_: str | None, plus: int = 0) -> datetime | None:
        if not text_:
            return None
        d = datetime.fromisoformat(text_).date() + timedelta(days=plus)
        return datetime(d.year, d.month, d.day, tzinfo=tz)

    def run() -> int:
        with Session(engine) as db:
            scope = queue_scope(db, registry, actor)
            page = queue_page(
                db,
                scope,
                status=params.get("status"),
                step=params.get("step"),
                channel=params.get("channel"),
                since=day(params.get("dari")),
                until=day(params.get("sampai"), 1),
                search=params.get("q"),
                after=Cursor.decode(params.get("after")),
                limit=page_size,
            )
        return len(page.rows)

    return run


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run_backend(label: str, engine: Engine, sizes: list[int], repeats: int) -> bool:
    print(f"\n== {label}")
    for name in ("web.access", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    catalog = load_catalog([ROOT / "sop_definitions"])
    if not catalog.ok:
        raise SystemExit("the seed catalog has problems:\n" + "\n".join(map(str, catalog.problems)))
    now = datetime.now(UTC).replace(microsecond=0)
    clock = VirtualClock(now)  # frozen: the deadlines stay where the filler put them
    registry = Registry(engine, catalog)
    registry.publish(now)
    add_user(
        engine,
        USER,
        "Admin OPD Dinkes (bench)",
        PASSWORD,
        [Grant(REGION, "admin_opd", "dinkes")],
        now,
    )
    filler = Filler(engine, registry, now)
    plan = QueryPlan(engine)
    event.listen(engine, "before_cursor_execute", plan.record)
    results: list[Result] = []
    ok = True
    page_size = 25
    with tempfile.TemporaryDirectory(prefix="sop-bench-web-") as store:
        app = create_app(
            engine, registry, clock, secret="bench-secret-" + "x" * 40, store_dir=Path(store)
        )
        with TestClient(app) as client:
            client.get("/masuk")
            token = client.cookies.get(CSRF_COOKIE) or ""
            signed = client.post(
                "/masuk",
                data={"username": USER, "password": PASSWORD, "_csrf_token": token},
                follow_redirects=False,
            )
            if signed.status_code != 303:
                raise SystemExit(f"sign-in failed: {signed.status_code}")
            for size in sizes:
                fill_s = filler.grow_to(size)
                result = Result(size, fill_s)
                measured = scenarios(engine, registry, now)
                for sc in measured:  # one untimed round first: caches warm for every scenario
                    client.get("/antrean", params=sc.params)
                for sc in measured:
                    response = client.get("/antrean", params=sc.params)
                    sql = sql_call(engine, registry, sc.params, page_size)
                    rows = len(shown(response.text))
                    # The page must show what its query finds (and the check's own condition).
                    if response.status_code != 200 or rows != sql() or not sc.check(response.text):
                        print(f"  WRONG ANSWER for {sc.name} at {size:,}: {response.status_code}")
                        ok = False
                    result.rows[sc.name] = rows
                    if sc.name == "first":
                        plan.armed = True
                    params = sc.params

                    def request(params: dict[str, str] = params) -> Any:
                        return client.get("/antrean", params=params)

                    result.page_ms[sc.name] = median_ms(request, repeats)
                    result.sql_ms[sc.name] = median_ms(sql, repeats)
                results.append(result)
                print(
                    f"  {size:,} cases: "
                    + ", ".join(f"{k} {v:.1f} ms" for k, v in result.page_ms.items())
                )
    event.remove(engine, "before_cursor_execute", plan.record)
    print(f"\nthe queue's first keyset query at {sizes[-1]:,} cases:")
    for line in plan.explain():
        print(f"  {line}")
    report(results)
    return ok


def report(results: list[Result]) -> None:
    base = results[0]
    names = list(base.page_ms)
    print(
        f"\n{'size':>10} {'scenario':>9} {'rows':>5} {'page ms':>8} {'sql ms':>7} "
        f"{'page/sql':>8} {'page/base':>9}"
    )
    for r in results:
        for n in names:
            print(
                f"{r.size:>10,} {n:>9} {r.rows[n]:>5} {r.page_ms[n]:>8.1f} {r.sql_ms[n]:>7.1f} "
                f"{r.page_ms[n] / r.sql_ms[n]:>8.2f} {r.page_ms[n] / base.page_ms[n]:>9.2f}"
            )
    last = results[-1]
    if len(results) > 1:
        print(f"\ntarget: keyset pages at {last.size:,} / {base.size:,} <= {TARGET_RATIO:.0f}x")
        for n in ("first", "deep", "step"):
            ratio = last.page_ms[n] / base.page_ms[n]
            print(f"  {n:>9}: {ratio:.2f}x {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
        for n in ("filtered", "tracking", "words"):
            print(f"  {n:>9}: {last.page_ms[n] / base.page_ms[n]:.2f}x (reported, no target)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 000 and 100 000 cases")
    parser.add_argument("--sizes", default=None, help="comma-separated case counts")
    parser.add_argument("--repeats", type=int, default=15, help="measured requests per figure")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(PG_URL_VAR) or None,
        help=f"also run on PostgreSQL, in a private schema (default: ${PG_URL_VAR} if set)",
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    elif args.quick:
        sizes = [10_000, 100_000]
    else:
        sizes = [10_000, 1_000_000]
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(
        f"queue benchmark on {platform.node()} ({os.cpu_count()} CPUs), Python "
        f"{platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"sizes {', '.join(f'{s:,}' for s in sizes)}; median of {args.repeats} requests")
    ok = True
    if args.only in (None, "sqlite"):
        with sqlite_database() as (label, engine):
            ok &= run_backend(label, engine, sizes, args.repeats)
    if args.only in (None, "postgres"):
        if args.postgres:
            with postgres_database(args.postgres) as (label, engine):
                ok &= run_backend(label, engine, sizes, args.repeats)
        elif args.only == "postgres":
            raise SystemExit(f"--only postgres needs --postgres URL or ${PG_URL_VAR}")
        else:
            print(f"\n(PostgreSQL skipped: set ${PG_URL_VAR} or pass --postgres URL)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
