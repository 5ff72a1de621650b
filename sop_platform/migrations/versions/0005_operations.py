"""operations: worker heartbeats; open visits from before 0002 handed to the sweeper

Migration 0002 added ``step_visit.next_check_at`` (the sweeper's work list) without filling it,
so a visit that was open when a database went from 0001 to 0002 would never be swept: it is
set to the visit's entry, and the sweeper works out its warnings, deadline and ladder on its
next pass. (A visit opened after 0002 always has it unless paused, breached or finished.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("beat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("worker_heartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_heartbeat_kind"), ["kind"], unique=False)
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_dead",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text("status = 'dead'"),
            postgresql_where=sa.text("status = 'dead'"),
        )
    # The figures /metrics reads at every scrape, each from an index of its own.
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_sop_status", ["sop_id", "status"], unique=False)
    with op.batch_alter_table("step_visit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_step_visit_open_breached",
            ["case_id"],
            unique=False,
            sqlite_where=sa.text("left_at IS NULL AND breached_at IS NOT NULL"),
            postgresql_where=sa.text("left_at IS NULL AND breached_at IS NOT NULL"),
        )
    op.execute(
        "UPDATE step_visit SET next_check_at = entered_at "
        "WHERE left_at IS NULL AND next_check_at IS NULL AND due_at IS NOT NULL "
        "AND paused_at IS NULL AND breached_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("step_visit", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_step_visit_open_breached",
            sqlite_where=sa.text("left_at IS NULL AND breached_at IS NOT NULL"),
            postgresql_where=sa.text("left_at IS NULL AND breached_at IS NOT NULL"),
        )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_sop_status")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_dead",
            sqlite_where=sa.text("status = 'dead'"),
            postgresql_where=sa.text("status = 'dead'"),
        )
    with op.batch_alter_table("worker_heartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_heartbeat_kind"))
    op.drop_table("worker_heartbeat")
