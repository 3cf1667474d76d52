"""The federation's durable hub state: nodes, signed tasks, signed results

Revision ID: 0013_federation
Revises: 0008_query_budget (the brief names 0005_totp_s251; chained after this branch's head so
the branch migrates to one head — the lead re-chains at merge time)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_federation"
down_revision = "0012_library"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_node",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(320), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("store_fingerprint", sa.String(64), nullable=True),
    )
    op.create_table(
        "federation_task",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("node_code", sa.String(64), nullable=False),
        sa.Column("requester", sa.String(320), nullable=False),
        sa.Column("signed_task", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("request_id", "node_code", name="uq_federation_task_request_node"),
    )
    op.create_index("ix_federation_task_request_id", "federation_task", ["request_id"])
    op.create_index("ix_federation_task_node_code", "federation_task", ["node_code"])
    op.create_table(
        "federation_result",
        sa.Column("task_id", sa.String(64), sa.ForeignKey("federation_task.task_id"), primary_key=True),
        sa.Column("node_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signed_result", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("federation_result")
    op.drop_index("ix_federation_task_node_code", "federation_task")
    op.drop_index("ix_federation_task_request_id", "federation_task")
    op.drop_table("federation_task")
    op.drop_table("federation_node")
