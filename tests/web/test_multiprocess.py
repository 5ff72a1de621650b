"""Two app processes and one sweeper process on one PostgreSQL database: nothing lost, nothing
done twice.

PostgreSQL only (it is the multi-process deployment). The test makes a private schema, migrates
it, publishes the seed SOPs, creates two staff accounts of Yogyakarta's Dinas Kesehatan and
submits UPIK complaints (the last few backdated three hours, so their 1 x 2 jam verification has
run out). Then it starts, as separate OS processes with the deployment's own commands,
``sop serve`` twice (ports A and B, one shared session store and secret, workers not in the app)
and ``sop sweep``, and waits until both apps answer ``/ready`` (which needs the sweeper's
heartbeat).

Over HTTP only, a clerk signs in on A and uses the same session on B. Every case is accepted
(``terima``) by two requests at once — one to A, one to B, both with the revision the page
showed — and exactly one of them wins while the other gets 409; then the field officer takes
each case (``ambil``), alternating between A and B. Afterwards every case is at ``pengerjaan``
with events 1, 2, 3 and exactly one of each action; each event carries the request id of the
request that wrote it; the sweeper recorded each backdated breach once; and both apps' /metrics
report the same case figures.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine, select

from rules.loader import load_catalog
from sop_platform.accounts import add_user
from sop_platform.db import scratch_schema
from sop_platform.engine import CaseEngine, Grant, NewCase
from sop_platform.migrate import upgrade
from sop_platform.models import CaseEvent, CaseRow
from sop_platform.obligations import start_clocks
from sop_platform.registry import Registry
from sop_platform.timekeeping import SystemClock, VirtualClock
from tests.conftest import DEFINITIONS, PG_URL_VAR

pytestmark = pytest.mark.postgres

EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
CASES = CaseRow.__table__  # type: ignore[attr-defined]
SECRET = "multi-process-test-secret-" + "k7Qz" * 8
PASSWORD = "kata-sandi-uji-2025"
FRESH, LATE = 24, 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def schema() -> Iterator[tuple[str, Engine]]:
    base = os.environ.get(PG_URL_VAR)
    if not base:
        pytest.skip(f"the multi-process test needs {PG_URL_VAR} (set by .ci/run); not set here")
    with scratch_schema(base, "mp") as made:
        yield made


def _seed(engine: Engine) -> tuple[list[int], list[int]]:
    catalog = load_catalog([DEFINITIONS])
    upgrade(engine)
    registry = Registry(engine, catalog)
    now = SystemClock().now()
    registry.publish(now)
    start_clocks(engine, registry, now)
    add_user(
        engine,
        "dinkes.admin",
        "Admin Dinkes",
        PASSWORD,
        [Grant("yogyakarta", "admin_opd", "dinkes")],
        now,
    )
    add_user(
        engine,
        "dinkes.petugas",
        "Petugas Dinkes",
        PASSWORD,
        [Grant("yogyakarta", "petugas_lapangan", "dinkes")],
        now,
    )

    def complaint(n: int) -> NewCase:
        return NewCase(
            "upik-pengaduan",
            "jss",
            f"Puskesmas {n} tutup",
            {"kategori": "kesehatan"},
            anonymous=True,
        )

    fresh = [
        CaseEngine(engine, registry, SystemClock()).submit(complaint(n)).id for n in range(FRESH)
    ]
    past = VirtualClock(now - timedelta(hours=3))
    late = [CaseEngine(engine, registry, past).submit(complaint(100 + n)).id for n in range(LATE)]
    return fresh, late


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sop_platform.cli", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(urls: list[str], procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    pending = set(urls)
    while pending and time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                pytest.fail(f"{log.name} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        for url in list(pending):
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    pending.discard(url)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    if pending:
        text = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in logs)
        pytest.fail(f"not ready within 60 s: {sorted(pending)}\n{text}")


def _sign_in(client: httpx.Client, username: str) -> None:
    client.get("/masuk")
    token = client.cookies.get("sop_csrf")
    assert token
    response = client.post(
        "/masuk", data={"username": username, "password": PASSWORD, "_csrf_token": token}
    )
    assert response.status_code == 303, response.text[:500]


def _act(
    base: str, cookies: httpx.Cookies, case_id: int, action: str, revision: int, rid: str
) -> int:
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
        token = client.cookies.get("sop_csrf")
        response = client.post(
            f"/kasus/{case_id}/tindakan",
            data={"action": action, "revision": str(revision), "_csrf_token": token or ""},
            headers={"X-Request-ID": rid},
        )
        assert response.headers["x-request-id"] == rid
        return response.status_code


def test_two_app_processes_and_a_sweeper_lose_and_double_nothing(
    schema: tuple[str, Engine], tmp_path: Path
) -> None:
    name, engine = schema
    fresh, late = _seed(engine)
    base_url = os.environ[PG_URL_VAR]
    joiner = "&" if "?" in base_url else "?"
    url = f"{base_url}{joiner}options={quote(f'-csearch_path={name}')}"
    env = {
        **os.environ,
        "SOP_DATABASE_URL": url,
        "SOP_DEFINITIONS": str(DEFINITIONS),
        "SOP_WEB_STORE": str(tmp_path / "store"),
        "SOP_WEB_SECRET": SECRET,
        "SOP_WORKERS_IN_APP": "0",
        "SOP_LOG_FORMAT": "json",
        "SOP_ENV": "production",  # no demo accounts, a real secret: it must start
    }
    ports = [_free_port(), _free_port()]
    apps = [f"http://127.0.0.1:{p}" for p in ports]
    logs = [tmp_path / "app-a.log", tmp_path / "app-b.log", tmp_path / "sweeper.log"]
    procs = [
        _start(["serve", "--port", str(ports[0])], env, logs[0]),
        _start(["serve", "--port", str(ports[1])], env, logs[1]),
        _start(["sweep", "--interval", "0.5"], env, logs[2]),
    ]
    try:
        _wait_ready(apps, procs, logs)
        admin = httpx.Client(base_url=apps[0], timeout=30)
        _sign_in(admin, "dinkes.admin")  # signed in on A; the session is valid on B too
        officer = httpx.Client(base_url=apps[1], timeout=30)
        _sign_in(officer, "dinkes.petugas")  # ... and this one on B, used on A
        everything = fresh + late

        # The sweeper process finds each overdue verification once (and escalates it).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                breaches = conn.execute(
                    select(EVENTS.c.case_id).where(
                        EVENTS.c.kind == "breach", EVENTS.c.case_id.in_(everything)
                    )
                ).all()
            if len(breaches) >= LATE:
                break
            time.sleep(0.3)
        assert sorted(r.case_id for r in breaches) == sorted(late)
        time.sleep(1.5)  # a few more passes: the sweeper has nothing left to add for now
        with engine.connect() as conn:
            seen = dict(
                conn.execute(  # type: ignore[arg-type]
                    select(CASES.c.id, CASES.c.revision).where(CASES.c.id.in_(everything))
                ).all()
            )
        assert all(seen[c] == 1 for c in fresh) and all(seen[c] > 1 for c in late)

        # Each case accepted twice at once, through A and through B: one wins, one is told.
        with ThreadPoolExecutor(max_workers=8) as pool:
            races = {
                case_id: [
                    pool.submit(
                        _act,
                        app,
                        admin.cookies,
                        case_id,
                        "terima",
                        seen[case_id],
                        f"t-{case_id}-{i}",
                    )
                    # every other case, B's request is sent first: neither gets a head start
                    for i, app in (enumerate(apps) if n % 2 else reversed(list(enumerate(apps))))
                ]
                for n, case_id in enumerate(everything)
            }
            outcomes = {case_id: sorted(f.result() for f in fs) for case_id, fs in races.items()}
        assert all(codes in ([303, 409], [200, 409]) for codes in outcomes.values()), outcomes

        with ThreadPoolExecutor(max_workers=4) as pool:
            taken = [
                pool.submit(
                    _act,
                    apps[i % 2],
                    officer.cookies,
                    case_id,
                    "ambil",
                    seen[case_id] + 1,
                    f"a-{case_id}",
                )
                for i, case_id in enumerate(everything)
            ]
            # each process answered its half of these with success
            assert {f.result() for f in taken} <= {200, 303}

        with engine.connect() as conn:
            events = conn.execute(
                select(
                    EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.action, EVENTS.c.kind, EVENTS.c.payload
                )
                .where(EVENTS.c.case_id.in_(everything))
                .order_by(EVENTS.c.case_id, EVENTS.c.seq)
            ).all()
            rows = {
                r.id: r
                for r in conn.execute(
                    select(CASES.c.id, CASES.c.step, CASES.c.revision).where(
                        CASES.c.id.in_(everything)
                    )
                ).all()
            }
        for case_id in everything:
            mine = [e for e in events if e.case_id == case_id and e.action is not None]
            history = [e for e in events if e.case_id == case_id]
            assert [e.seq for e in history] == list(range(1, len(history) + 1)), history
            assert [e.action for e in mine] == ["submit", "terima", "ambil"], mine
            assert rows[case_id].step == "pengerjaan"
            assert rows[case_id].revision == len(history)
            winner = mine[1].payload["request_id"]
            assert winner in (f"t-{case_id}-0", f"t-{case_id}-1")
            assert mine[2].payload["request_id"] == f"a-{case_id}"
        figures = [httpx.get(app + "/metrics", timeout=10).text for app in apps]
        line = f'sop_cases{{sop="upik-pengaduan",status="open"}} {float(len(everything))}'
        assert all(line in text for text in figures), figures[0][:2000]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    # SIGTERM is a clean stop for every service (what systemd sends). uvicorn shuts down
    # gracefully, then re-raises the signal so that its parent sees it (systemd counts a
    # SIGTERM exit as success); the sweeper finishes its pass and exits 0.
    texts = [log.read_text() for log in logs]
    assert [p.returncode for p in procs] == [-signal.SIGTERM, -signal.SIGTERM, 0], texts
    for text in texts[:2]:
        assert '"message": "Finished server process' in text  # JSON lines, and a clean stop
        assert '"logger": "web.access"' in text and '"request_id": "t-' in text


def test_sop_serve_workers_runs_several_processes_whose_request_counts_add_up(
    tmp_path: Path,
) -> None:
    """``sop serve --workers 2`` (SQLite is enough here): two uvicorn worker processes, each built
    by the app factory; /metrics, whichever process answers, counts the requests of both."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "SOP_ENV")}
    env.update(
        {
            "SOP_DATABASE_URL": f"sqlite:///{tmp_path / 'sop.db'}",
            "SOP_DEFINITIONS": str(DEFINITIONS),
            "SOP_WEB_STORE": str(tmp_path / "store"),
            "SOP_LOG_FORMAT": "json",
        }
    )
    env.pop("SOP_WEB_WORKERS", None)
    env.pop("SOP_WORKERS_IN_APP", None)
    log = tmp_path / "serve.log"
    proc = _start(["serve", "--workers", "2", "--port", str(port)], env, log)
    base = f"http://127.0.0.1:{port}"
    answered = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    answered += 1
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answered, log.read_text()[-3000:]
        time.sleep(1.0)  # let the second worker finish starting
        for _ in range(30):
            assert httpx.get(base + "/health", timeout=5).status_code == 200
            answered += 1
        text = httpx.get(base + "/metrics", timeout=10).text
        line = (
            'sop_http_requests_total{method="GET",route="/health",status="200"} '
            f"{float(answered)}"
        )
        assert line in text, [x for x in text.splitlines() if "/health" in x]
        counters = sorted(p.name for p in (tmp_path / "store" / "metrics").glob("counter_*.db"))
        assert len(counters) == 2, counters  # one file per worker process
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = log.read_text()
    assert output.count('"message": "Started server process') == 2
    assert "the sweeper and delivery run as their own services" in output
