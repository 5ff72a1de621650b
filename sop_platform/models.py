"""Database tables (SQLModel). Only the case changes; definitions are stored as loaded.

Every time is timezone-aware; SQLModel stores it as UTC and returns it in UTC on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
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


class UserAccount(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True, index=True)
    full_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=300)
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


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    storage_path: str = Field(max_length=500)
    uploaded_at: datetime
