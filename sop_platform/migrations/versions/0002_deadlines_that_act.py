"""deadlines that act

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 05:34:30.582037
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "obligation_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sop_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("obligation", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("unit_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_fulfilled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("misses", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region_id", "sop_id", "obligation", "unit_key"),
    )
    with op.batch_alter_table("obligation_clock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_obligation_clock_due_at"), ["due_at"], unique=False)

    op.create_table(
        "obligation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clock_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("period_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clock_id"],
            ["obligation_clock.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("obligation_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_obligation_event_clock_id"), ["clock_id"], unique=False
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("region_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("unit_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_notification_pending",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "escalation_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("unit_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["step_visit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("escalation_task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_escalation_open", ["region_id", "role", "resolved_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_escalation_task_case_id"), ["case_id"], unique=False)

    op.create_table(
        "notification_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attempt_notification_id"), ["notification_id"], unique=False
        )

    op.create_table(
        "visit_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("paused_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("resumed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("paused_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("resumed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("shifted_minutes", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["step_visit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("visit_pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_pause_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_pause_visit_id"), ["visit_id"], unique=False)

    with op.batch_alter_table("step_visit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_check_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("warnings_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("breached_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("paused_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("paused_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_index(
            "ix_step_visit_next_check",
            ["next_check_at"],
            unique=False,
            sqlite_where=sa.text("left_at IS NULL"),
            postgresql_where=sa.text("left_at IS NULL"),
        )

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("phone")
        batch_op.drop_column("email")

    with op.batch_alter_table("step_visit", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_step_visit_next_check",
            sqlite_where=sa.text("left_at IS NULL"),
            postgresql_where=sa.text("left_at IS NULL"),
        )
        batch_op.drop_column("paused_reason")
        batch_op.drop_column("paused_at")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("breached_at")
        batch_op.drop_column("warnings_sent")
        batch_op.drop_column("next_check_at")

    with op.batch_alter_table("visit_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_pause_visit_id"))
        batch_op.drop_index(batch_op.f("ix_visit_pause_case_id"))

    op.drop_table("visit_pause")
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempt_notification_id"))

    op.drop_table("notification_attempt")
    with op.batch_alter_table("escalation_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_task_case_id"))
        batch_op.drop_index("ix_escalation_open")

    op.drop_table("escalation_task")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(batch_op.f("ix_notification_case_id"))

    op.drop_table("notification")
    with op.batch_alter_table("obligation_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligation_event_clock_id"))

    op.drop_table("obligation_event")
    with op.batch_alter_table("obligation_clock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligation_clock_due_at"))

    op.drop_table("obligation_clock")
