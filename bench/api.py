"""What the JSON API adds to the engine: a submission and a read through ``/api/v1`` (in-process
ASGI client, API key checked on every call) against the same command on the engine directly,
and checking an API key against checking a password (argon2), all measured in the same run.

    .venv/bin/python bench/api.py [--cases N] [--postgres URL]

Timings are only reported. The run fails (exit 1) if an answer is wrong: a submission not
created, a case read back differently, a key or password not accepted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# As a script, Python puts bench/ first on the path, where a benchmark named like a standard
# library module (queue, which Litestar's test client imports) would stand in for it: use the
# repository root instead.
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from litestar.testing import TestClient
from sqlalchemy import Engine

from bench.databases import postgres_database, sqlite_database
from rules.loader import load_catalog
from sop_platform import accounts, apikeys
from sop_platform.cases import Grant, NewCase, ReporterInfo
from sop_platform.engine import CaseEngine
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock
from web.api.limits import Limit
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2025, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
BODY = {
    "sop": "upik-pengaduan",
    "text": "Sampah menumpuk di Jl. Malioboro",
    "fields": {"kategori": "kebersihan"},
    "reporter": {"name": "Budi", "email": "budi@example.org"},
}


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _line(name: str, samples: list[float], base: list[float] | None) -> str:
    med = statistics.median(samples) * 1000
    text = f"  {name:<44} median {med:8.3f} ms   p90 {_p90(samples) * 1000:8.3f} ms"
    if base is not None:
        ratio = statistics.median(samples) / statistics.median(base)
        shown = f"× {ratio:.2f}" if ratio >= 0.01 else f"1/{1 / ratio:,.0f}"
        text += f"   {shown} of the baseline"
    return text


def _p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.9) - 1)]


def run(label: str, engine: Engine, n: int) -> bool:
    catalog = load_catalog([ROOT / "sop_definitions"])
    clock = VirtualClock(START)
    registry = Registry(engine, catalog)
    registry.publish(clock.now())
    cases = CaseEngine(engine, registry, clock)
    key = apikeys.create(
        engine, catalog, name="bench", region="yogyakarta", roles=["admin_pusat"], now=clock.now()
    ).key
    password = "bench-password-2025"
    accounts.add_user(
        engine, "bench", "Bench", password, [Grant("yogyakarta", "admin_pusat")], clock.now()
    )
    ok = True
    with tempfile.TemporaryDirectory() as store:
        app = create_app(
            engine,
            registry,
            clock,
            secret="bench-secret-" + "x" * 40,
            store_dir=Path(store),
            api_limits={"submit": Limit(10**9, 60), "track": Limit(10**9, 60)},
        )
        with TestClient(app) as client:
            headers = {"X-API-Key": key}
            made: list[int] = []

            def direct_submit() -> None:
                view = cases.submit(
                    NewCase(
                        sop_id="upik-pengaduan",
                        channel="jss",
                        text=BODY["text"],  # type: ignore[arg-type]
                        fields={"kategori": "kebersihan"},
                        reporter=ReporterInfo(name="Budi", email="budi@example.org"),
                    )
                )
                made.append(view.id)

            def api_submit() -> None:
                response = client.post("/api/v1/cases", json=BODY, headers=headers)
                if response.status_code != 201:
                    raise SystemExit(f"API submission failed: {response.text}")
                made.append(response.json()["id"])

            def direct_read() -> None:
                cases.get(made[0])

            def api_read() -> None:
                response = client.get(f"/api/v1/cases/{made[0]}", headers=headers)
                if response.status_code != 200 or response.json()["id"] != made[0]:
                    raise SystemExit(f"API read failed: {response.text}")

            samples: dict[str, list[float]] = {k: [] for k in ("ds", "as", "dr", "ar")}
            block = max(1, n // 10)
            for _ in range(0, n, block):  # interleaved blocks: both sides see the same load
                samples["ds"] += _timed(direct_submit, block)
                samples["as"] += _timed(api_submit, block)
                samples["dr"] += _timed(direct_read, block)
                samples["ar"] += _timed(api_read, block)
            if len(set(made)) != len(made) or len(made) != 2 * len(samples["ds"]):
                print("  WRONG: submissions missing or repeated")
                ok = False
            view = cases.get(made[-1])
            if view.fields != {"kategori": "kebersihan"} or view.unit != "dlh":
                print("  WRONG: the last API submission reads back differently")
                ok = False

    key_checks = _timed(lambda: apikeys.authenticate(engine, key, clock.now()), 200)
    password_checks = _timed(lambda: accounts.authenticate(engine, "bench", password), 20)
    if apikeys.authenticate(engine, key, clock.now()) is None:
        print("  WRONG: the key is not accepted")
        ok = False
    if accounts.authenticate(engine, "bench", password) is None:
        print("  WRONG: the password is not accepted")
        ok = False

    print(f"\n{label}")
    print(_line("submit: engine.submit (baseline)", samples["ds"], None))
    print(_line("submit: POST /api/v1/cases with a key", samples["as"], samples["ds"]))
    print(_line("read: engine.get (baseline)", samples["dr"], None))
    print(_line("read: GET /api/v1/cases/{id} with a key", samples["ar"], samples["dr"]))
    print(_line("sign-in: password, argon2 (baseline)", password_checks, None))
    print(_line("API key check (SHA-256, one indexed row)", key_checks, password_checks))
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=200, help="submissions per side")
    parser.add_argument("--postgres", default=os.environ.get("SOP_TEST_DATABASE_URL"))
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; {args.cases} submissions and reads per side")
    ok = True
    with sqlite_database() as (label, engine):
        ok = run(label, engine, args.cases) and ok
    if args.postgres:
        with postgres_database(args.postgres) as (label, engine):
            ok = run(label, engine, args.cases) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
