"""report figures: time taken, paused and overrun per closed step visit

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 07:10:00

Visits closed before this revision keep NULL in the new columns: their time on an office-hours or
working-day clock needs the region's calendar, which lives in the region files, not in the
database. ``sop report --backfill`` fills them with the engine's own calendar code; until then the
report counts them (met / breached) and says how many have no measured time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("elapsed_minutes", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("paused_minutes", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("overrun_minutes", sa.Float(), nullable=True))
        batch_op.create_index(
            "ix_step_visit_report",
            ["case_id", "step", "outcome", "elapsed_minutes"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("step_visit", schema=None) as batch_op:
        batch_op.drop_index("ix_step_visit_report")
        batch_op.drop_column("overrun_minutes")
        batch_op.drop_column("paused_minutes")
        batch_op.drop_column("elapsed_minutes")
