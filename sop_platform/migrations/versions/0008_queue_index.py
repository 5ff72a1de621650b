"""queue index: one step's open visits in deadline order

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 07:20:00

The work queue reads, per step, the open visits by (due_at, case_id) from a keyset cursor and
stops when a page is full. With only the due-date index both databases walked every open visit
of every step in deadline order and looked each case up; at a million cases that cost grew with
the table (bench/queue_page.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_step_visit_open_step",
        "step_visit",
        ["step", "due_at", "case_id"],
        unique=False,
        sqlite_where=sa.text("left_at IS NULL"),
        postgresql_where=sa.text("left_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_step_visit_open_step", table_name="step_visit")
