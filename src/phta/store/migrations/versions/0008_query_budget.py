"""Daily query budgets: queries per actor, purpose and UTC day

Revision ID: 0008_query_budget
Revises: 0005_totp_s251
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_query_budget"
down_revision = "0007_airlock_release"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "query_budget_use",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.UniqueConstraint("actor", "purpose", "day", name="uq_query_budget_use"),
    )


def downgrade() -> None:
    op.drop_table("query_budget_use")
