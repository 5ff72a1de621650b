"""Two sweeper processes against one PostgreSQL schema: each happening is recorded exactly once.

PostgreSQL only (``FOR UPDATE SKIP LOCKED``; on SQLite one sweeper runs). The test creates a
private schema, migrates it, publishes a small SOP of its own and submits 200 cases with a
virtual clock set in the past, so that their deadlines have all passed:

* 150 cases submitted two days ago: breach and all three rungs are due;
* 50 cases submitted three hours ago: breach and the first two rungs are due (the third rung
  falls a day after the deadline, still to come).

The units' weekly obligation clocks were started 22 days ago, so three periods have run out for
each of the two units.

Then two separate OS processes (``sys.executable -c``), each with its own engine, registry and a
``SystemClock``, sweep the schema at the same moment until neither finds work. Afterwards: one
breach event per visit, the tasks of each rung once per (visit, level, role), unique
notification dedupe keys with the expected counts, each missed period once, and both processes
did part of the work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from rules.loader import load_catalog
from sop_platform.db import scratch_schema
from sop_platform.engine import CaseEngine, NewCase
from sop_platform.migrate import upgrade
from sop_platform.models import (
    CaseEvent,
    CaseRow,
    EscalationTask,
    Notification,
    ObligationEvent,
    StepVisit,
)
from sop_platform.obligations import start_clocks
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock

pytestmark = pytest.mark.postgres

CASES = CaseRow.__table__  # type: ignore[attr-defined]
EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
VISITS = StepVisit.__table__  # type: ignore[attr-defined]
TASKS = EscalationTask.__table__  # type: ignore[attr-defined]
NOTES = Notification.__table__  # type: ignore[attr-defined]
OB_EVENTS = ObligationEvent.__table__  # type: ignore[attr-defined]

ROOT = Path(__file__).resolve().parents[2]
PG_URL_VAR = "SOP_TEST_DATABASE_URL"
SOP = "uji-sapu"
OLD, RECENT = 150, 50

REGION_YAML = """\
region: ujisapu
name: Pemerintah Kota Uji Sapu
level: kota
units:
  u1: {code: U1, name: Dinas Satu}
  u2: {code: U2, name: Dinas Dua}
channels:
  web: {title: Situs web}
"""

SOP_YAML = """\
sop: uji-sapu
version: "2025-01-01"
region: ujisapu
title: Uji dua penyapu
submission: {by: pelapor, channels: [web]}
fields:
  bidang: {type: choice, required: true, options: [satu, dua]}
roles:
  pelapor: {kind: citizen}
  petugas: {kind: unit_staff}
  kepala_unit: {kind: unit_staff}
  admin_pusat: {kind: region_staff}
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
  warn_at: [50%, 80%]
  ladder:
    - {after: 10 menit, to: [kepala_unit]}
    - {after: 1 jam, to: [admin_pusat]}
    - {after: 1 hari, to: [kepala_daerah, kepala_unit]}
obligations:
  pembaruan_data:
    title: Pembaruan data
    by: kepala_unit
    every: 1 minggu
    escalate_to: [kepala_daerah]
"""

# One sweeper process: wait for the start signal, then tick until two ticks in a row find
# nothing; print what it did as JSON.
CHILD = """
import dataclasses, json, os, sys, time
from rules.loader import load_catalog
from sop_platform.db import make_engine
from sop_platform.registry import Registry
from sop_platform.sweeper import Sweeper, SweepResult
from sop_platform.timekeeping import SystemClock

url, schema, region_file, sop_file, ready, go = sys.argv[1:]
engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
registry = Registry(engine, load_catalog([region_file, sop_file]))
registry.latest("uji-sapu")
sweeper = Sweeper(engine, registry, SystemClock(), batch=50)
with engine.connect():
    pass
open(ready, "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.005)
done, idle, ticks = SweepResult(), 0, 0
started = time.monotonic()
while idle < 2:
    step = sweeper.tick()
    ticks += 1
    done += step
    idle = idle + 1 if step.total == 0 else 0
seconds = time.monotonic() - started
print(json.dumps({**dataclasses.asdict(done), "ticks": ticks, "seconds": seconds}))
"""


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(PG_URL_VAR)
    if not url:
        pytest.skip(f"two sweeper processes need PostgreSQL: set {PG_URL_VAR} (SKIP LOCKED)")
    return url


@pytest.fixture
def schema_engine(pg_url: str) -> Iterator[tuple[str, Engine]]:
    with scratch_schema(pg_url, "t") as (schema, engine):
        upgrade(engine)
        yield schema, engine


def test_two_sweeper_processes_share_the_work_and_record_everything_once(
    pg_url: str, schema_engine: tuple[str, Engine], tmp_path: Path
) -> None:
    schema, engine = schema_engine
    region_file, sop_file = tmp_path / "region.yaml", tmp_path / "uji-sapu.yaml"
    region_file.write_text(REGION_YAML, encoding="utf-8")
    sop_file.write_text(SOP_YAML, encoding="utf-8")
    catalog = load_catalog([region_file, sop_file])
    assert catalog.ok, "\n".join(map(str, catalog.problems))

    real_now = datetime.now(UTC).replace(microsecond=0)
    clock = VirtualClock(real_now - timedelta(days=22))
    registry = Registry(engine, catalog)
    registry.publish(clock.now())
    assert start_clocks(engine, registry, clock.now()) == 2  # due 15, 8 and 1 days ago
    cases = CaseEngine(engine, registry, clock)
    old_ids: list[int] = []
    recent_ids: list[int] = []
    clock.set(real_now - timedelta(days=2))
    for i in range(OLD):
        clock.advance(timedelta(seconds=1))
        bidang = "satu" if i % 2 else "dua"
        old_ids.append(cases.submit(NewCase(SOP, "web", "Laporan lama", {"bidang": bidang})).id)
    clock.set(real_now - timedelta(hours=3))
    for i in range(RECENT):
        clock.advance(timedelta(seconds=1))
        bidang = "satu" if i % 2 else "dua"
        recent_ids.append(cases.submit(NewCase(SOP, "web", "Laporan baru", {"bidang": bidang})).id)

    # Two processes, started together once both are ready.
    go = tmp_path / "go"
    procs, readies = [], []
    for n in (1, 2):
        ready = tmp_path / f"ready-{n}"
        readies.append(ready)
        args = [pg_url, schema, str(region_file), str(sop_file), str(ready), str(go)]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, *args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in readies):
            assert time.monotonic() < deadline, "the sweeper processes did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        go.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    split = ", ".join(
        f"process {n}: {r['breaches']} breaches, {r['escalations']} rungs, "
        f"{r['obligations_missed']} missed periods in {r['ticks']} ticks, {r['seconds']:.2f} s"
        for n, r in enumerate(results, 1)
    )
    print(f"\nwork split between the two sweeper processes: {split}")

    # What the processes say they did adds up to what was due.
    total = Counter[str]()
    for r in results:
        total.update(
            {k: r[k] for k in ("warnings", "breaches", "escalations", "obligations_missed")}
        )
    assert total == {
        "warnings": 0,  # every deadline had passed: no stale warnings
        "breaches": OLD + RECENT,
        "escalations": 3 * OLD + 2 * RECENT,
        "obligations_missed": 3 * 2,
    }
    assert all(r["breaches"] > 0 for r in results), split  # both did part of the work

    # One breach event per visit, none twice.
    with engine.connect() as conn:
        breaches = Counter(
            conn.execute(select(EVENTS.c.case_id).where(EVENTS.c.kind == "breach")).scalars()
        )
        rungs = Counter(
            conn.execute(select(EVENTS.c.case_id).where(EVENTS.c.kind == "escalation")).scalars()
        )
        task_keys = Counter(
            tuple(row)
            for row in conn.execute(select(TASKS.c.visit_id, TASKS.c.level, TASKS.c.role))
        )
        open_visits = {
            v["case_id"]: v
            for v in conn.execute(select(VISITS).where(VISITS.c.left_at.is_(None))).mappings()
        }
        seqs: dict[int, list[int]] = {}
        for case_id, seq in conn.execute(
            select(EVENTS.c.case_id, EVENTS.c.seq).order_by(EVENTS.c.case_id, EVENTS.c.seq)
        ):
            seqs.setdefault(case_id, []).append(seq)
        revisions: dict[int, int] = {
            case_id: revision
            for case_id, revision in conn.execute(select(CASES.c.id, CASES.c.revision))
        }
        missed = Counter(
            tuple(row)
            for row in conn.execute(
                select(OB_EVENTS.c.clock_id, OB_EVENTS.c.period_due_at).where(
                    OB_EVENTS.c.kind == "missed"
                )
            )
        )
        keyed = conn.execute(
            select(func.count()).where(NOTES.c.dedupe_key.is_not(None))
        ).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(NOTES.c.dedupe_key)))).scalar_one()
        kinds = Counter(
            conn.execute(select(NOTES.c.kind).where(NOTES.c.dedupe_key.is_not(None))).scalars()
        )
    assert breaches == dict.fromkeys(old_ids + recent_ids, 1)
    assert rungs == {**dict.fromkeys(old_ids, 3), **dict.fromkeys(recent_ids, 2)}
    assert set(task_keys.values()) == {1}  # each (visit, level, role) once
    assert len(task_keys) == 4 * OLD + 2 * RECENT
    per_visit = Counter(visit_id for visit_id, _, _ in task_keys)
    assert sorted(per_visit[open_visits[c]["id"]] for c in old_ids) == [4] * OLD
    assert sorted(per_visit[open_visits[c]["id"]] for c in recent_ids) == [2] * RECENT
    # Every case's history is 1..n without gaps, and its revision is n.
    for case_id, numbers in seqs.items():
        assert numbers == list(range(1, len(numbers) + 1)), case_id
        assert revisions[case_id] == len(numbers)
    # The visits are left waiting for what is still to come.
    assert {open_visits[c]["escalation_level"] for c in old_ids} == {3}
    assert {open_visits[c]["next_check_at"] for c in old_ids} == {None}
    for c in recent_ids:
        v = open_visits[c]
        assert v["escalation_level"] == 2 and v["breached_at"] is not None
        assert v["next_check_at"] == v["due_at"] + timedelta(days=1)
    # Each missed period once; every notification once per dedupe key, and as many as due.
    assert len(missed) == 6 and set(missed.values()) == {1}
    assert keyed == distinct
    assert kinds == {
        "breach": OLD + RECENT,
        "escalation": 4 * OLD + 2 * RECENT,
        "obligation_missed": 6 * 2,  # the unit's kepala_unit and kepala_daerah
    }
