"""citizen feedback: ratings of answers, questions and suggestions

Questions and suggestions are cases of their SOP (JSS: ``jenis: pertanyaan`` / ``saran``), so
they need no table of their own. This revision adds the reporter's rating of a closed case, and
makes an attachment unique per case and content (a resent form stores its photo once).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizen_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("status_at_rating", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_citizen_rating_score"),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", name="uq_citizen_rating_case"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index("ux_attachment_case_sha256", ["case_id", "sha256"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ux_attachment_case_sha256")
    op.drop_table("citizen_rating")
