"""The regional library: dataset records (HDR UK metadata v4), facets, collections, full-text index

Revision ID: 0012_library
Revises: 0008_query_budget (the lead re-chains at merge)

Full text: SQLite gets an FTS5 table (``dataset_fts``, rowid = dataset id) kept in step by
``phta.catalogue.library``; PostgreSQL gets a GIN index on the same tsvector expression that
``phta.catalogue.search`` queries, so no second copy of the text is kept there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_library"
down_revision = "0011_frontdoor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("node", sa.String(100), nullable=True, index=True),
        sa.Column("organisation", sa.String(200), nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("completeness", sa.Integer(), nullable=False),
        sa.Column("population_size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_table(
        "dataset_facet",
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset_record.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("facet", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
    )
    op.create_index("ix_dataset_facet_facet_value", "dataset_facet", ["facet", "value"])
    op.create_table(
        "dataset_collection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dataset_collection_member",
        sa.Column("collection_id", sa.Integer(), sa.ForeignKey("dataset_collection.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset_record.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE dataset_fts USING fts5(title, body, tokenize='porter unicode61')")
    else:
        op.execute("CREATE INDEX ix_dataset_record_fts ON dataset_record USING GIN "
                   "(to_tsvector('english', title || ' ' || search_text))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE dataset_fts")
    op.drop_table("dataset_collection_member")
    op.drop_table("dataset_collection")
    op.drop_index("ix_dataset_facet_facet_value", "dataset_facet")
    op.drop_table("dataset_facet")
    op.drop_table("dataset_record")
