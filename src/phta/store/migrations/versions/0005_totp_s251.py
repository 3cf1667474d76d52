"""TOTP replay protection: the last accepted time-step per user

Revision ID: 0005_totp_s251
Revises: 0004_coapplicants

The section 251 exemption from the national data opt-out needs no column: the legal basis of a
request lives in its form (``project.form``), so it is recorded there as the common-law route
``s251_exempt`` with its CAG reference (phta.governance.request_form).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_totp_s251"
down_revision = "0004_coapplicants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("totp_last_step")
