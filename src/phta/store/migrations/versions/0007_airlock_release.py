"""Airlock: the protected version of each file, exactly what was released, escalation

Revision ID: 0007_airlock_release
Revises: 0005_totp_s251

``output_file`` keeps the protected version the disclosure rules produced at submission (its
name, SHA-256 and size; the bytes are content-addressed in the blob store) and, on release, the
name and SHA-256 of exactly the bytes released (the file as submitted, or its protected version).
``output_request.escalated_at`` records when a disagreement went to the output-checking lead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_airlock_release"
down_revision = "0006_auth_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("output_file") as batch:
        batch.add_column(sa.Column("protected_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("protected_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("protected_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("released_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("released_sha256", sa.String(64), nullable=True))
    with op.batch_alter_table("output_request") as batch:
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("output_request") as batch:
        batch.drop_column("escalated_at")
    with op.batch_alter_table("output_file") as batch:
        for column in ("released_sha256", "released_name", "protected_size", "protected_sha256", "protected_name"):
            batch.drop_column(column)
