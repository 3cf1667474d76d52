"""project co-applicants

Revision ID: 0004_coapplicants
Revises: 0003
Create Date: 2026-11-27 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_coapplicants"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_coapplicant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "user_id"),
    )
    with op.batch_alter_table("project_coapplicant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_coapplicant_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_project_coapplicant_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("project_coapplicant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_coapplicant_user_id"))
        batch_op.drop_index(batch_op.f("ix_project_coapplicant_project_id"))
    op.drop_table("project_coapplicant")
