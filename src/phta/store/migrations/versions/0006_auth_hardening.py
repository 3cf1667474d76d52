"""Sign-in hardening: login attempts keep a keyed hash; co-applicants are named by e-mail

Revision ID: 0006_auth_hardening
Revises: 0005_totp_s251

``login_attempt.email`` held whatever was typed into the e-mail field for 24 hours, sometimes a
password. It is replaced by ``account_key``, an HMAC-SHA256 of the identifier under a key in the
data directory (``keys/login-attempts.key``). The migration cannot compute that hash (the key is
not the database's), and the rows only serve throttling for a 24-hour window, so the existing
rows are deleted rather than converted: the plaintext is gone and throttling starts afresh.

``project_coapplicant`` gains ``email`` (the address the lead applicant typed) and its ``user_id``
becomes optional: naming an address that is not a researcher's account is recorded like any
other, so the answer no longer tells the applicant which addresses have accounts. Existing rows
get their user's e-mail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_auth_hardening"
down_revision = "0005_totp_s251"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM login_attempt"))
    with op.batch_alter_table("login_attempt") as batch:
        batch.drop_index("ix_login_attempt_email")
        batch.drop_column("email")
        batch.add_column(sa.Column("account_key", sa.String(length=64), nullable=False))
        batch.create_index("ix_login_attempt_account_key", ["account_key"], unique=False)


    with op.batch_alter_table("project_coapplicant") as batch:
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
    op.execute(
        sa.text(
            "UPDATE project_coapplicant SET email = (SELECT u.email FROM user_account u "
            "WHERE u.id = project_coapplicant.user_id)"
        )
    )
    with op.batch_alter_table("project_coapplicant") as batch:
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch.create_unique_constraint("uq_project_coapplicant_email", ["project_id", "email"])


def downgrade() -> None:
    # Named addresses that are not accounts cannot be kept without an e-mail column.
    op.execute(sa.text("DELETE FROM project_coapplicant WHERE user_id IS NULL"))
    with op.batch_alter_table("project_coapplicant") as batch:
        batch.drop_constraint("uq_project_coapplicant_email", type_="unique")
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("email")
    op.execute(sa.text("DELETE FROM login_attempt"))
    with op.batch_alter_table("login_attempt") as batch:
        batch.drop_index("ix_login_attempt_account_key")
        batch.drop_column("account_key")
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=False))
        batch.create_index("ix_login_attempt_email", ["email"], unique=False)
