"""Baseline: the four catalog tables as the foundation created them with ``create_all``.

A catalog made before migrations existed is stamped at this revision (see
:mod:`lakeglue.catalog.migrate`), so this script only ever runs on an empty database.
Objects are JSON bodies keyed by name; the relational side indexes what is looked up.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lg_databases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "lg_tables",
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "lg_table_versions",
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "lg_partitions",
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("table_name", sa.String(255), primary_key=True),
        sa.Column("values_key", sa.String(1024), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("lg_partitions", "lg_table_versions", "lg_tables", "lg_databases"):
        op.drop_table(table)
