"""What operators watch, without HTTP: request ids, JSON logs, worker heartbeats, figures.

* :data:`REQUEST_ID` is set by whoever starts a unit of work (the web app per request); the
  engine copies it into each case event's payload (:func:`traced`) and the JSON log lines carry
  it, so one request can be followed from the access log into the case history.
* :class:`JsonFormatter` writes one JSON object per log line.
* :class:`Heartbeat` lets the sweeper and delivery workers say they are alive (table
  ``worker_heartbeat``); ``/ready`` and the metrics read it.
* :func:`figures` computes the gauges exported at ``/metrics`` from the database, each from an
  indexed query, so every app process reports the same numbers.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import time
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from sop_platform.models import CaseRow, Notification, StepVisit, WorkerHeartbeat

REQUEST_ID: ContextVar[str | None] = ContextVar("sop_request_id", default=None)

log = logging.getLogger(__name__)


def traced(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the current request id added (unchanged outside a request)."""
    request_id = REQUEST_ID.get()
    if request_id is None:
        return payload
    return {**payload, "request_id": request_id}


# --- logs ---------------------------------------------------------------------------------------

# Attributes every record has, and uvicorn's coloured copy of its message: not extras.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, ensure_ascii=False, default=str)


class _RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to text log lines too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Send every log line to standard error, as text or JSON (journald keeps either)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(_RequestIdFilter())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # The app writes its own access line (with the request id and the route): not uvicorn's too.
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False


# --- heartbeats ---------------------------------------------------------------------------------

HEARTBEATS = WorkerHeartbeat.__table__  # type: ignore[attr-defined]
FORGET_AFTER = timedelta(days=7)


@dataclass
class Heartbeat:
    """One worker's row in ``worker_heartbeat``, written at most every ``every`` seconds."""

    engine: Engine
    kind: str  # sweeper / delivery
    every: float = 5.0
    name: str = field(default="")
    _last: float = field(default=float("-inf"), repr=False)
    _started: datetime = field(default_factory=lambda: datetime.now(UTC), repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{self.kind}@{socket.gethostname()}:{os.getpid()}"

    def beat(self, ok: bool = True, error: str | None = None, *, force: bool = False) -> None:
        """Record that a pass ended (never raises: a failed beat is only logged)."""
        moment = time.monotonic()
        if not force and ok and moment - self._last < self.every:
            return
        first = self._last == float("-inf")
        self._last = moment
        now = datetime.now(UTC)
        values = {
            "name": self.name,
            "kind": self.kind,
            "host": socket.gethostname()[:100],
            "pid": os.getpid(),
            "started_at": self._started,
            "beat_at": now,
            "ok": ok,
            "last_error": None if ok else (error or "")[:2000],
        }
        changing = {k: values[k] for k in ("beat_at", "ok", "last_error", "pid", "started_at")}
        try:
            with self.engine.begin() as conn:
                insert = (
                    postgresql.insert(HEARTBEATS)
                    if conn.dialect.name == "postgresql"
                    else sqlite.insert(HEARTBEATS)
                )
                conn.execute(
                    insert.values(**values).on_conflict_do_update(
                        index_elements=["name"], set_=changing
                    )
                )
                if first:  # one row per process ever started: forget the long-gone ones
                    conn.execute(
                        HEARTBEATS.delete().where(HEARTBEATS.c.beat_at < now - FORGET_AFTER)
                    )
        except Exception:
            log.warning("could not write the %s heartbeat", self.kind, exc_info=True)


def heartbeat_ages(engine: Engine, now: datetime | None = None) -> dict[str, float]:
    """Seconds since the freshest heartbeat of each worker kind."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(HEARTBEATS.c.kind, func.max(HEARTBEATS.c.beat_at)).group_by(HEARTBEATS.c.kind)
        ).all()
    return {kind: max(0.0, (now - _aware(at)).total_seconds()) for kind, at in rows if at}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- figures for /metrics -----------------------------------------------------------------------

CASES = CaseRow.__table__  # type: ignore[attr-defined]
VISITS = StepVisit.__table__  # type: ignore[attr-defined]
NOTES = Notification.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Figures:
    """The platform's state as the database holds it at one moment."""

    cases: Mapping[tuple[str, str], int]  # (sop_id, status) -> count
    open_breaches: Mapping[str, int]  # sop_id -> open visits past their deadline
    sweeper_lag: float  # seconds the oldest due check has waited (0: nothing overdue)
    heartbeat_age: Mapping[str, float]  # worker kind -> seconds since its last beat
    notifications_backlog: int  # pending and due now
    notifications_retrying: int  # pending after at least one failed attempt
    notifications_dead: int  # given up after the last retry


def figures(engine: Engine, now: datetime | None = None) -> Figures:
    """Read the gauges; every query is an index range or an index-only count."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        cases = {
            (sop, status): n
            for sop, status, n in conn.execute(
                select(CASES.c.sop_id, CASES.c.status, func.count()).group_by(
                    CASES.c.sop_id, CASES.c.status
                )
            ).all()
        }
        # The open visits past their deadline (a partial index of just those), each case's SOP
        # looked up by its key: a join would let PostgreSQL's planner, which misjudges how many
        # rows the partial index holds, hash the whole case table instead.
        sop_of = select(CASES.c.sop_id).where(CASES.c.id == VISITS.c.case_id).scalar_subquery()
        late = (
            select(sop_of.label("sop"))
            .where(VISITS.c.left_at.is_(None), VISITS.c.breached_at.is_not(None))
            .subquery()
        )
        breaches = {
            sop: n
            for sop, n in conn.execute(select(late.c.sop, func.count()).group_by(late.c.sop)).all()
        }
        oldest = conn.execute(
            select(func.min(VISITS.c.next_check_at)).where(
                VISITS.c.left_at.is_(None), VISITS.c.next_check_at <= now
            )
        ).scalar_one_or_none()
        # Both from one pass over the pending notifications (their partial index).
        backlog, retrying = conn.execute(
            select(
                func.count(case((NOTES.c.next_attempt_at <= now, 1))),
                func.count(case((NOTES.c.attempts > 0, 1))),
            ).where(NOTES.c.status == "pending")
        ).one()
        dead = conn.execute(
            select(func.count()).select_from(NOTES).where(NOTES.c.status == "dead")
        ).scalar_one()
    lag = max(0.0, (now - _aware(oldest)).total_seconds()) if oldest else 0.0
    return Figures(
        cases=cases,
        open_breaches=breaches,
        sweeper_lag=lag,
        heartbeat_age=heartbeat_ages(engine, now),
        notifications_backlog=int(backlog),
        notifications_retrying=int(retrying),
        notifications_dead=int(dead),
    )


@functools.cache
def head_revision() -> str | None:
    """The newest migration shipped with this code (read once: the files do not change)."""
    from alembic.script import ScriptDirectory

    from sop_platform.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrations_current(engine: Engine) -> tuple[bool, str | None, str | None]:
    """Whether the database is at the newest migration: (current?, its revision, the head)."""
    from alembic.migration import MigrationContext

    head = head_revision()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current == head, current, head


def database_answers(engine: Engine) -> str | None:
    """``None`` when the database answers, else why not (one line)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:
        return str(getattr(err, "orig", None) or err).strip().splitlines()[0][:300]
    return None
