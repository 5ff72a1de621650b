"""Telemetry on SQLite and PostgreSQL: heartbeats, the figures behind /metrics, request ids in
case events, JSON log lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text, update

from sop_platform import telemetry
from sop_platform.accounts import actor_for, add_user
from sop_platform.engine import CaseEngine, Grant, NewCase
from sop_platform.models import CaseEvent, Notification, WorkerHeartbeat
from sop_platform.sweeper import Sweeper
from sop_platform.timekeeping import VirtualClock

HEARTBEATS = WorkerHeartbeat.__table__  # type: ignore[attr-defined]
EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
NOTES = Notification.__table__  # type: ignore[attr-defined]


def _upik(cases: CaseEngine, kategori: str = "kesehatan") -> int:
    view = cases.submit(
        NewCase("upik-pengaduan", "jss", "Puskesmas tutup", {"kategori": kategori}, anonymous=True)
    )
    return view.id


def test_a_heartbeat_is_one_row_per_process_updated_in_place(db_engine: Engine) -> None:
    beat = telemetry.Heartbeat(db_engine, "sweeper", every=3600)
    beat.beat()
    with db_engine.connect() as conn:
        first = conn.execute(select(HEARTBEATS)).mappings().one()
    beat.beat()  # within `every`: not written again
    beat.beat(ok=False, error="RuntimeError('database away')")  # a failure is always written
    with db_engine.connect() as conn:
        rows = conn.execute(select(HEARTBEATS)).mappings().all()
    assert len(rows) == 1 and rows[0]["name"] == first["name"]
    assert first["ok"] is True and rows[0]["ok"] is False
    assert rows[0]["last_error"] == "RuntimeError('database away')"
    assert rows[0]["beat_at"] >= first["beat_at"]
    telemetry.Heartbeat(db_engine, "delivery").beat()
    ages = telemetry.heartbeat_ages(db_engine)
    assert set(ages) == {"sweeper", "delivery"} and all(0 <= a < 60 for a in ages.values())
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert telemetry.heartbeat_ages(db_engine, later)["sweeper"] >= 299
    # A process that stopped long ago is forgotten when a new one starts beating.
    with db_engine.begin() as conn:
        conn.execute(
            update(HEARTBEATS)
            .where(HEARTBEATS.c.kind == "delivery")
            .values(beat_at=datetime.now(UTC) - timedelta(days=8))
        )
    telemetry.Heartbeat(db_engine, "sweeper", name="sweeper@other:1").beat()
    with db_engine.connect() as conn:
        names = sorted(conn.execute(select(HEARTBEATS.c.name)).scalars())
    assert names == sorted([first["name"], "sweeper@other:1"])


def test_a_failed_heartbeat_write_is_logged_not_raised(
    db_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with db_engine.begin() as conn:
        conn.execute(text("DROP TABLE worker_heartbeat"))
    with caplog.at_level(logging.WARNING, logger="sop_platform.telemetry"):
        telemetry.Heartbeat(db_engine, "sweeper").beat()  # must not raise
    assert "could not write the sweeper heartbeat" in caplog.text


def test_the_figures_follow_cases_breaches_sweeper_lag_and_notifications(
    db_engine: Engine, cases: CaseEngine, clock: VirtualClock, registry: object
) -> None:
    empty = telemetry.figures(db_engine, clock.now())
    assert empty.cases == {} and empty.sweeper_lag == 0 and empty.notifications_backlog == 0
    ids = [_upik(cases) for _ in range(3)]
    now = clock.now()
    figures = telemetry.figures(db_engine, now)
    assert figures.cases == {("upik-pengaduan", "open"): 3}
    assert figures.open_breaches == {}
    with db_engine.connect() as conn:
        pending = conn.execute(
            select(NOTES.c.id).where(NOTES.c.status == "pending", NOTES.c.next_attempt_at <= now)
        ).all()
    assert figures.notifications_backlog == len(pending) > 0
    # Three hours later the 1 x 2 jam verification is overdue; nobody has swept yet.
    later = clock.advance(timedelta(hours=3))
    figures = telemetry.figures(db_engine, later)
    assert figures.sweeper_lag > 0 and figures.open_breaches == {}
    Sweeper(db_engine, cases.registry, clock).tick()
    figures = telemetry.figures(db_engine, later)
    assert figures.open_breaches == {"upik-pengaduan": 3}
    assert figures.sweeper_lag < 60 * 60  # the next checks (ladder rungs) lie ahead or are new
    # A notification given up on, and one being retried.
    with db_engine.begin() as conn:
        first, second = [r.id for r in conn.execute(select(NOTES.c.id).limit(2)).all()]
        conn.execute(update(NOTES).where(NOTES.c.id == first).values(status="dead", attempts=8))
        conn.execute(update(NOTES).where(NOTES.c.id == second).values(status="pending", attempts=2))
    figures = telemetry.figures(db_engine, later)
    assert figures.notifications_dead == 1 and figures.notifications_retrying >= 1
    assert sum(figures.cases.values()) == len(ids)


def test_the_request_id_goes_into_every_case_event_written_under_it(
    db_engine: Engine, cases: CaseEngine, clock: VirtualClock
) -> None:
    add_user(
        db_engine,
        "admin.dinkes",
        "Admin Dinkes",
        "pw-1234567890",
        [Grant("yogyakarta", "admin_opd", "dinkes")],
        clock.now(),
    )
    token = telemetry.REQUEST_ID.set("req-abc-123")
    try:
        case_id = _upik(cases)
        cases.act(case_id, actor_for(db_engine, "admin.dinkes"), "terima", {})
    finally:
        telemetry.REQUEST_ID.reset(token)
    other = _upik(cases)  # outside a request: no id
    with db_engine.connect() as conn:
        rows = conn.execute(
            select(EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.payload).order_by(EVENTS.c.id)
        ).all()
    traced = {(r.case_id, r.seq): r.payload.get("request_id") for r in rows}
    assert traced[(case_id, 1)] == traced[(case_id, 2)] == "req-abc-123"
    assert traced[(other, 1)] is None


def test_json_log_lines_carry_the_request_id_and_extras() -> None:
    formatter = telemetry.JsonFormatter()
    record = logging.LogRecord("web.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.status = 200
    token = telemetry.REQUEST_ID.set("rid-1")
    try:
        line = json.loads(formatter.format(record))
    finally:
        telemetry.REQUEST_ID.reset(token)
    assert line["message"] == "GET /x" and line["request_id"] == "rid-1"
    assert line["level"] == "INFO" and line["logger"] == "web.access" and line["status"] == 200
    assert line["ts"].endswith("+00:00")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(formatter.format(failing))["exception"]


def test_migrations_current_compares_with_the_newest_revision(db_engine: Engine) -> None:
    current, revision, head = telemetry.migrations_current(db_engine)
    assert current and revision == head
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert telemetry.migrations_current(db_engine) == (False, "0001", head)
