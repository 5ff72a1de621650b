"""Database tables (SQLModel). Only the case changes; definitions are stored as loaded.

Every time is timezone-aware; SQLModel stores it as UTC and returns it in UTC on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class RegionRow(SQLModel, table=True):
    __tablename__ = "region"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    level: str = Field(max_length=20)
    calendar_version: str = Field(max_length=32, description="Hash of the calendar in force.")


class UnitRow(SQLModel, table=True):
    """A perangkat daerah (OPD) or work unit of a region."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("region_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: str = Field(foreign_key="region.id", index=True, max_length=64)
    key: str = Field(max_length=64, description="The unit's id in the region file (e.g. dinkes).")
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    active: bool = True
    contact_email: str | None = Field(
        default=None, max_length=200, description="The unit's complaint desk (set by the admin)."
    )
    contact_phone: str | None = Field(default=None, max_length=50)


class UserAccount(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True, index=True)
    full_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=200, description="For notifications.")
    phone: str | None = Field(default=None, max_length=50, description="For SMS / WhatsApp.")
    active: bool = True
    created_at: datetime


class RoleGrant(SQLModel, table=True):
    """A user holds an SOP role in a region, optionally only for one unit."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "region_id", "role", "unit_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    region_id: str = Field(foreign_key="region.id", max_length=64)
    role: str = Field(max_length=64, description="A role id as the SOPs name it (e.g. admin_opd).")
    unit_key: str | None = Field(
        default=None, max_length=64, description="For unit staff: the only unit they act for."
    )


class SopDefinitionRow(SQLModel, table=True):
    """An SOP version as loaded; kept as long as any case refers to it."""

    __tablename__ = "sop_definition"
    __table_args__ = (UniqueConstraint("sop_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    sop_id: str = Field(max_length=100, index=True)
    version: str = Field(max_length=50)
    content_hash: str = Field(max_length=64)
    region_id: str = Field(foreign_key="region.id", max_length=64)
    title: str = Field(sa_column=Column(Text, nullable=False))
    raw: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    published_at: datetime
    withdrawn_at: datetime | None = Field(
        default=None,
        description="Set while the version is withdrawn from new cases (its cases keep running).",
    )


class Reporter(SQLModel, table=True):
    """Who reported: kept apart from the case text, never read for anonymous cases."""

    __tablename__ = "reporter"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=200)
    nik: str | None = Field(default=None, max_length=32, description="Nomor Induk Kependudukan.")
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CaseRow(SQLModel, table=True):
    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_queue", "region_id", "status", "step", "unit_key"),
        Index("ix_case_sop", "sop_id", "created_at"),
        # /metrics counts cases by SOP and status at every scrape: from this index alone.
        Index("ix_case_sop_status", "sop_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tracking_number: str = Field(max_length=40, unique=True)
    region_id: str = Field(foreign_key="region.id", max_length=64)
    sop_id: str = Field(max_length=100)
    sop_version: str = Field(max_length=50)
    content_hash: str = Field(
        max_length=64, description="Pins the exact definition the case runs on."
    )
    step: str = Field(max_length=64)
    status: str = Field(max_length=20, description="open / waiting / done / rejected / cancelled.")
    unit_key: str | None = Field(default=None, max_length=64, description="The responsible unit.")
    channel: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    anonymous: bool = False
    confidential: bool = False
    reporter_id: int | None = Field(default=None, foreign_key="reporter.id")
    submitted_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    request_hash: str | None = Field(
        default=None, max_length=64, description="Hash of the submission, to spot a reused key."
    )
    revision: int = Field(
        default=1, description="Bumped by every change; guards against lost updates."
    )
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    personal_data_erased_at: datetime | None = Field(
        default=None, description="When the retention job erased the case's personal data."
    )


class CaseEvent(SQLModel, table=True):
    """Append-only history of a case."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    seq: int
    at: datetime
    kind: str = Field(max_length=20, description="submit / transition / report / record / reroute.")
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    actor_name: str = Field(max_length=200, description="Name at the time (kept if the user goes).")
    role: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    from_step: str | None = Field(default=None, max_length=64)
    to_step: str | None = Field(default=None, max_length=64)
    unit_key: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class StepVisit(SQLModel, table=True):
    """One stay of a case at a step: entered, left, due, and met or breached."""

    __tablename__ = "step_visit"
    __table_args__ = (
        Index(
            "ix_step_visit_open_due",
            "due_at",
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
        Index("ix_step_visit_case", "case_id", "entered_at"),
        # /metrics counts the open visits past their deadline: only those rows are in it.
        Index(
            "ix_step_visit_open_breached",
            "case_id",
            sqlite_where=text("left_at IS NULL AND breached_at IS NOT NULL"),
            postgresql_where=text("left_at IS NULL AND breached_at IS NOT NULL"),
        ),
        # The conformance report groups a period's closed visits by step; this one index lets
        # both databases read the figures from the index alone.
        Index("ix_step_visit_report", "case_id", "step", "outcome", "elapsed_minutes"),
        Index(
            "ix_step_visit_next_check",
            "next_check_at",
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
        # The work queue: one step's open visits in deadline order, read as a keyset range
        # (web/queries.py; migration 0008).
        Index(
            "ix_step_visit_open_step",
            "step",
            "due_at",
            "case_id",
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    step: str = Field(max_length=64)
    role: str | None = Field(default=None, max_length=64)
    unit_key: str | None = Field(default=None, max_length=64)
    entered_at: datetime
    left_at: datetime | None = None
    due_at: datetime | None = None
    limit_text: str | None = Field(default=None, max_length=100, description="As the SOP wrote it.")
    clock: str | None = Field(default=None, max_length=20)
    calendar_version: str | None = Field(
        default=None, max_length=32, description="Calendar used for due_at (history never shifts)."
    )
    outcome: str | None = Field(default=None, max_length=10, description="met / breached.")
    next_check_at: datetime | None = Field(
        default=None,
        description="When the sweeper must look at this visit next (warning, "
        "deadline or escalation rung); none while paused or when nothing is left to do.",
    )
    warnings_sent: int = Field(default=0, description="How many of the SOP's warnings went out.")
    breached_at: datetime | None = Field(
        default=None, description="When the sweeper recorded the missed deadline."
    )
    escalation_level: int = Field(default=0, description="Rungs of the ladder reached so far.")
    paused_at: datetime | None = Field(default=None, description="Set while the clock is stopped.")
    paused_reason: str | None = Field(default=None, max_length=64)
    elapsed_minutes: float | None = Field(
        default=None,
        description="Time taken, written when the visit closes: minutes on the step's own clock "
        "(office minutes for office-hours and working-day limits), pauses excluded.",
    )
    paused_minutes: float | None = Field(
        default=None, description="Minutes the clock stood still, on the same clock (at close)."
    )
    overrun_minutes: float | None = Field(
        default=None,
        description="For a breached visit: minutes past the (pause-shifted) deadline, same clock.",
    )


class VisitPause(SQLModel, table=True):
    """One stop of a step's clock: why, from when to when, and how far the deadline moved."""

    __tablename__ = "visit_pause"

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="step_visit.id", index=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    reason: str = Field(max_length=64)
    paused_at: datetime
    resumed_at: datetime | None = None
    paused_by: str = Field(max_length=200)
    resumed_by: str | None = Field(default=None, max_length=200)
    shifted_minutes: float | None = Field(
        default=None, description="How far the deadline moved, in minutes of wall-clock time."
    )


class EscalationTask(SQLModel, table=True):
    """An escalation waiting in a role's queue until the case leaves the late step."""

    __tablename__ = "escalation_task"
    __table_args__ = (Index("ix_escalation_open", "region_id", "role", "resolved_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    visit_id: int = Field(foreign_key="step_visit.id")
    region_id: str = Field(max_length=64)
    level: int = Field(description="1 for the first rung of the ladder.")
    role: str = Field(max_length=64)
    unit_key: str | None = Field(default=None, max_length=64)
    step: str = Field(max_length=64)
    created_at: datetime
    resolved_at: datetime | None = None


class Notification(SQLModel, table=True):
    """The outbox: written in the same transaction as what it tells; delivered after commit."""

    __tablename__ = "notification"
    __table_args__ = (
        Index(
            "ix_notification_pending",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # /metrics counts the notifications given up on at every scrape.
        Index(
            "ix_notification_dead",
            "created_at",
            sqlite_where=text("status = 'dead'"),
            postgresql_where=text("status = 'dead'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    region_id: str = Field(max_length=64)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    kind: str = Field(max_length=30, description="assignment / warning / breach / escalation / ...")
    audience: str = Field(max_length=20, description="role (staff holding it) or reporter.")
    role: str | None = Field(default=None, max_length=64)
    unit_key: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="id", max_length=5)
    status: str = Field(default="pending", max_length=10, description="pending / sent / dead.")
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = None
    dedupe_key: str | None = Field(
        default=None, max_length=200, unique=True, description="One notification per happening."
    )


class NotificationAttempt(SQLModel, table=True):
    """Every delivery attempt, successful or not."""

    __tablename__ = "notification_attempt"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True)
    at: datetime
    channel: str = Field(max_length=20)
    recipients: int = 0
    ok: bool
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ObligationClock(SQLModel, table=True):
    """A recurring obligation of one unit (or the region): when it is next due."""

    __tablename__ = "obligation_clock"
    __table_args__ = (UniqueConstraint("region_id", "sop_id", "obligation", "unit_key"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: str = Field(max_length=64)
    sop_id: str = Field(max_length=100)
    obligation: str = Field(max_length=64)
    unit_key: str | None = Field(default=None, max_length=64)
    due_at: datetime = Field(index=True)
    last_fulfilled_at: datetime | None = None
    misses: int = Field(default=0, description="Periods missed in a row.")


class ObligationEvent(SQLModel, table=True):
    """Fulfilments and misses of recurring obligations (append-only)."""

    __tablename__ = "obligation_event"

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="obligation_clock.id", index=True)
    at: datetime
    kind: str = Field(max_length=20, description="fulfilled / missed.")
    period_due_at: datetime
    actor_name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class WorkerHeartbeat(SQLModel, table=True):
    """A background worker (sweeper, delivery) saying it is alive; read by /ready and /metrics."""

    __tablename__ = "worker_heartbeat"

    name: str = Field(
        primary_key=True, max_length=200, description="kind@host:pid, one row per process."
    )
    kind: str = Field(max_length=20, index=True, description="sweeper / delivery.")
    host: str = Field(max_length=100)
    pid: int
    started_at: datetime
    beat_at: datetime = Field(description="The end of the worker's latest pass.")
    ok: bool = Field(default=True, description="Whether that pass succeeded.")
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Attachment(SQLModel, table=True):
    """A file that came with a case (a citizen's photo), stored under the uploads directory."""

    __tablename__ = "attachment"
    # The same file sent again with the same case (a resent form) is stored once.
    __table_args__ = (Index("ux_attachment_case_sha256", "case_id", "sha256", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    storage_path: str = Field(
        max_length=500, description="Relative to the uploads directory: <case id>/<sha256>.<ext>."
    )
    uploaded_at: datetime


class CitizenRating(SQLModel, table=True):
    """The reporter's rating of the answer to a closed case: one per case, 1 to 5 stars."""

    __tablename__ = "citizen_rating"
    __table_args__ = (
        UniqueConstraint("case_id", name="uq_citizen_rating_case"),
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_citizen_rating_score"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    score: int = Field(description="1 (very poor) to 5 (very good).")
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status_at_rating: str = Field(
        max_length=20, description="The case's status when rated (done or rejected)."
    )
    created_at: datetime


class AuditEntry(SQLModel, table=True):
    """One administrative change: who, when, in which region, what, before and after.

    Written in the same transaction as the change itself, so there is no change without its
    entry and no entry without its change. Append-only.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_region", "region_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    region_id: str = Field(max_length=64)
    actor_user_id: int | None = Field(
        default=None, description="The administrator's account (none for the platform itself)."
    )
    actor_name: str = Field(
        max_length=200, description="Name of the actor at the time (kept if the account goes)."
    )
    action: str = Field(max_length=40, description="A verb such as user.create or sop.withdraw.")
    target: str = Field(max_length=200, description="What was changed, e.g. user:budi.")
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    request_id: str | None = Field(default=None, max_length=64)


class ApiKey(SQLModel, table=True):
    """A key another system uses on the JSON and Open311 APIs: one region, some of its roles.

    Only a SHA-256 hash of the key is kept; the key itself is shown once, when it is created.
    """

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(
        max_length=16, unique=True, description="The key's visible start, to find it by."
    )
    secret_hash: str = Field(max_length=64, description="SHA-256 (hex) of the whole key.")
    name: str = Field(max_length=200, description="Who uses it, e.g. 'Jembatan SP4N-LAPOR!'.")
    region_id: str = Field(foreign_key="region.id", max_length=64, index=True)
    roles: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="Roles of the region the key acts in; none: it may only submit reports.",
    )
    unit_key: str | None = Field(
        default=None, max_length=64, description="For unit-staff roles: the only unit."
    )
    created_at: datetime
    created_by: str | None = Field(default=None, max_length=200)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="Updated at most once a minute, so use costs no write each time."
    )


class ServiceRequestRow(SQLModel, table=True):
    """Where and with what a report came in through the APIs: location, media, client ids, and
    the Open311 token that finds its case."""

    __tablename__ = "service_request"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    token: str = Field(max_length=64, unique=True, description="Open311 tokens/{token}.")
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    lat: float | None = None
    long: float | None = None
    address: str | None = Field(default=None, max_length=500)
    address_id: str | None = Field(default=None, max_length=100)
    media_url: str | None = Field(default=None, max_length=2000)
    device_id: str | None = Field(default=None, max_length=100)
    account_id: str | None = Field(default=None, max_length=100)
