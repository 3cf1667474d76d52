"""The front door and the regional portal: assets, partners, pathways, triage rules,
opportunities, challenges, events, enquiries and cases (tasks, messages, documents, history, links)

Revision ID: 0011_frontdoor
Revises: 0005_totp_s251
Create Date: 2026-12-07 21:20:01.910997
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_frontdoor"
down_revision = "0008_query_budget"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fd_asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("expertise", sa.Text(), nullable=False),
        sa.Column("capabilities", sa.Text(), nullable=False),
        sa.Column("sectors", sa.Text(), nullable=False),
        sa.Column("datasets", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("availability", sa.String(length=300), nullable=True),
        sa.Column("contact_route", sa.String(length=300), nullable=False),
        sa.Column("sample_data", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("fd_asset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_asset_kind"), ["kind"], unique=False)

    op.create_table(
        "fd_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_on", sa.String(length=10), nullable=True),
        sa.Column("sample_data", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "fd_opportunity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=60), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("apply_route", sa.String(length=300), nullable=False),
        sa.Column("sandbox_linked", sa.Boolean(), nullable=False),
        sa.Column("closes_on", sa.String(length=10), nullable=True),
        sa.Column("sample_data", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("fd_opportunity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_opportunity_kind"), ["kind"], unique=False)

    op.create_table(
        "fd_partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("contact_route", sa.String(length=300), nullable=False),
        sa.Column("sample_data", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "fd_pathway",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("first_response_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "fd_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("posted_by", sa.String(length=200), nullable=False),
        sa.Column("posted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("closes_on", sa.String(length=10), nullable=True),
        sa.Column("sample_data", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["posted_by_user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "fd_enquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fd_enquiry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_enquiry_user_id"), ["user_id"], unique=False)

    op.create_table(
        "fd_manager_pathway",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pathway_slug", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "pathway_slug"),
    )
    with op.batch_alter_table("fd_manager_pathway", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fd_manager_pathway_pathway_slug"), ["pathway_slug"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_fd_manager_pathway_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "fd_triage_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["saved_by_user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "fd_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enquiry_id", sa.Integer(), nullable=False),
        sa.Column("applicant_user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("pathway_slug", sa.String(length=80), nullable=True),
        sa.Column("manager_user_id", sa.Integer(), nullable=True),
        sa.Column("suggestions", sa.Text(), nullable=False),
        sa.Column("first_response_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_user_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["enquiry_id"],
            ["fd_enquiry.id"],
        ),
        sa.ForeignKeyConstraint(
            ["manager_user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enquiry_id"),
    )
    with op.batch_alter_table("fd_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fd_case_applicant_user_id"), ["applicant_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_fd_case_manager_user_id"), ["manager_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fd_case_status"), ["status"], unique=False)

    op.create_table(
        "fd_challenge_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("responder_kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["fd_challenge.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fd_challenge_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fd_challenge_response_challenge_id"), ["challenge_id"], unique=False
        )

    op.create_table(
        "fd_case_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["fd_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fd_case_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_case_document_case_id"), ["case_id"], unique=False)

    op.create_table(
        "fd_case_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["fd_case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fd_case_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_case_history_case_id"), ["case_id"], unique=False)

    op.create_table(
        "fd_case_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["fd_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fd_case_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_case_link_case_id"), ["case_id"], unique=False)

    op.create_table(
        "fd_case_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=False),
        sa.Column("from_hub", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["fd_case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fd_case_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_case_message_case_id"), ["case_id"], unique=False)

    op.create_table(
        "fd_case_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_on", sa.String(length=10), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["fd_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fd_case_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fd_case_task_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fd_case_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_case_task_case_id"))

    op.drop_table("fd_case_task")
    with op.batch_alter_table("fd_case_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_case_message_case_id"))

    op.drop_table("fd_case_message")
    with op.batch_alter_table("fd_case_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_case_link_case_id"))

    op.drop_table("fd_case_link")
    with op.batch_alter_table("fd_case_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_case_history_case_id"))

    op.drop_table("fd_case_history")
    with op.batch_alter_table("fd_case_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_case_document_case_id"))

    op.drop_table("fd_case_document")
    with op.batch_alter_table("fd_challenge_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_challenge_response_challenge_id"))

    op.drop_table("fd_challenge_response")
    with op.batch_alter_table("fd_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_case_status"))
        batch_op.drop_index(batch_op.f("ix_fd_case_manager_user_id"))
        batch_op.drop_index(batch_op.f("ix_fd_case_applicant_user_id"))

    op.drop_table("fd_case")
    op.drop_table("fd_triage_rules")
    with op.batch_alter_table("fd_manager_pathway", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_manager_pathway_user_id"))
        batch_op.drop_index(batch_op.f("ix_fd_manager_pathway_pathway_slug"))

    op.drop_table("fd_manager_pathway")
    with op.batch_alter_table("fd_enquiry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_enquiry_user_id"))

    op.drop_table("fd_enquiry")
    op.drop_table("fd_challenge")
    op.drop_table("fd_pathway")
    op.drop_table("fd_partner")
    with op.batch_alter_table("fd_opportunity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_opportunity_kind"))

    op.drop_table("fd_opportunity")
    op.drop_table("fd_event")
    with op.batch_alter_table("fd_asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fd_asset_kind"))

    op.drop_table("fd_asset")
