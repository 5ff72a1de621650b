"""/health, /ready and /metrics, and the request id from the header to the case history."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, text, update

from sop_platform import telemetry
from sop_platform.engine import CaseEngine
from sop_platform.models import CaseEvent, Notification, WorkerHeartbeat
from sop_platform.sweeper import Sweeper
from sop_platform.timekeeping import VirtualClock
from tests.web.support import DINKES_ADMIN, Reports, csrf, sign_in

HEARTBEATS = WorkerHeartbeat.__table__  # type: ignore[attr-defined]
EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
NOTES = Notification.__table__  # type: ignore[attr-defined]


def samples(client: TestClient[Litestar]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_health_answers_without_the_database(client: TestClient[Litestar]) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_ready_needs_the_database_current_migrations_and_a_live_sweeper(
    client: TestClient[Litestar], web_engine: Engine
) -> None:
    response = client.get("/ready")
    assert response.status_code == 503  # no sweeper has ever beaten
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["ok"]
    assert checks["sweeper"] == {"ok": False, "seconds_since_heartbeat": None, "limit": 60.0}

    telemetry.Heartbeat(web_engine, "sweeper").beat()
    telemetry.Heartbeat(web_engine, "delivery").beat()
    response = client.get("/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["delivery"]["seconds_since_heartbeat"] < 60

    # A sweeper silent for five minutes: not ready.
    with web_engine.begin() as conn:
        conn.execute(update(HEARTBEATS).values(beat_at=datetime.now(UTC) - timedelta(minutes=5)))
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["sweeper"]["seconds_since_heartbeat"] >= 299

    # Migrations behind the code: not ready either, and the body says which revision it is at.
    telemetry.Heartbeat(web_engine, "sweeper", name="fresh").beat()
    with web_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["revision"] == "0004"
    assert response.json()["checks"]["sweeper"]["ok"]


def test_ready_says_when_the_database_is_away() -> None:
    from sop_platform.db import make_engine
    from web.observability import readiness

    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    ok, checks = readiness(engine, 60)
    assert not ok and not checks["database"]["ok"] and "127.0.0.1" in checks["database"]["error"]


def test_the_request_id_is_returned_logged_and_kept_in_the_case_history(
    client: TestClient[Litestar],
    reports: Reports,
    web_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/health").headers["x-request-id"] != generated
    bad = "x" * 200
    assert client.get("/health", headers={"X-Request-ID": bad}).headers["x-request-id"] != bad

    case = reports.upik("kesehatan")
    sign_in(client, DINKES_ADMIN)
    with caplog.at_level(logging.INFO, logger="web.access"):
        response = client.post(
            f"/kasus/{case.id}/tindakan",
            data={"action": "terima", "revision": str(case.revision), "_csrf_token": csrf(client)},
            headers={"X-Request-ID": "proxy-7f3a-0001"},
            follow_redirects=False,
        )
    assert response.status_code in (200, 303), response.text
    assert response.headers["x-request-id"] == "proxy-7f3a-0001"
    with web_engine.connect() as conn:
        payload = conn.execute(
            select(EVENTS.c.payload).where(EVENTS.c.case_id == case.id, EVENTS.c.seq == 2)
        ).scalar_one()
    assert payload["request_id"] == "proxy-7f3a-0001"
    access = [r for r in caplog.records if r.name == "web.access"]
    assert any(
        getattr(r, "request_id", None) == "proxy-7f3a-0001" and r.status == response.status_code
        for r in access
    )


def test_metrics_show_requests_cases_breaches_lag_and_notifications(
    client: TestClient[Litestar],
    reports: Reports,
    cases: CaseEngine,
    web_engine: Engine,
    web_clock: VirtualClock,
) -> None:
    before = samples(client)
    health = (
        "sop_http_requests_total",
        (("method", "GET"), ("route", "/health"), ("status", "200")),
    )
    for _ in range(3):
        client.get("/health")
    after = samples(client)
    assert after[health] - before.get(health, 0) == 3
    latency = (
        "sop_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/health")),
    )
    assert after[latency] - before.get(latency, 0) == 3

    for kategori in ("kesehatan", "kesehatan", "kebersihan"):
        reports.upik(kategori)
    open_cases = ("sop_cases", (("sop", "upik-pengaduan"), ("status", "open")))
    assert samples(client)[open_cases] == 3

    # Three hours on, the verifications are overdue: lag until a sweep, then open breaches.
    # (The gauges read the database at the real time; move the cases' clocks back instead.)
    with web_engine.begin() as conn:
        conn.execute(
            text("UPDATE step_visit SET next_check_at = :t, due_at = :t WHERE left_at IS NULL"),
            {"t": datetime.now(UTC) - timedelta(minutes=10)},
        )
    lagging = samples(client)
    assert lagging[("sop_sweeper_lag_seconds", ())] >= 590
    assert ("sop_open_breaches", (("sop", "upik-pengaduan"),)) not in lagging
    web_clock.set(datetime.now(UTC))
    Sweeper(web_engine, cases.registry, web_clock).tick()
    swept = samples(client)
    assert swept[("sop_open_breaches", (("sop", "upik-pengaduan"),))] == 3
    assert swept[("sop_sweeper_lag_seconds", ())] < 590

    with web_engine.connect() as conn:
        due = conn.execute(
            select(NOTES.c.id).where(
                NOTES.c.status == "pending", NOTES.c.next_attempt_at <= datetime.now(UTC)
            )
        ).all()
    assert swept[("sop_notifications_backlog", ())] == len(due) > 0
    with web_engine.begin() as conn:
        conn.execute(update(NOTES).where(NOTES.c.id == due[0].id).values(status="dead"))
    assert samples(client)[("sop_notifications_failed", ())] == 1

    telemetry.Heartbeat(web_engine, "sweeper").beat()
    assert samples(client)[("sop_worker_heartbeat_age_seconds", (("kind", "sweeper"),))] < 60
