"""Table parameters as rows, so search by parameter is a query, not a scan of every body.

Glue users find tables by parameters (``classification``, ``UPDATED_BY_CRAWLER``,
``DEPRECATED_BY_CRAWLER``...). Each (database, table, key) gets one row; the key is indexed,
the value is compared after the key narrows the rows (values can be long: a btree on them
would fail on Postgres above ~2.7 kB). Existing tables are backfilled from their JSON bodies.

Revision ID: 0002_table_parameters
Revises: 0001_baseline
Create Date: 2026-11-24
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002_table_parameters"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

#: Rows per INSERT during the backfill, so one statement stays bounded on big catalogs.
BACKFILL_CHUNK = 1000


def upgrade() -> None:
    params = op.create_table(
        "lg_table_parameters",
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_lg_table_parameters_key", "lg_table_parameters", ["key"])
    tables = sa.table("lg_tables", sa.column("database", sa.String), sa.column("name", sa.String),
                      sa.column("body", sa.Text))
    conn = op.get_bind()
    rows: list[dict[str, str]] = []
    for db, name, body in conn.execute(sa.select(tables.c.database, tables.c.name, tables.c.body)):
        for key, value in (json.loads(body).get("parameters") or {}).items():
            rows.append({"database": db, "name": name, "key": key, "value": str(value)})
        if len(rows) >= BACKFILL_CHUNK:
            conn.execute(params.insert(), rows)
            rows = []
    if rows:
        conn.execute(params.insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_lg_table_parameters_key", table_name="lg_table_parameters")
    op.drop_table("lg_table_parameters")
