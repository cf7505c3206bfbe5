"""Quality history: one row per rule per run, in the catalog's SQL database.

Kept next to the catalog (same URL, own table) so the catalog UI can show a table's data
quality over time, and so later anomaly rules ("row count dropped 50 % versus the last 7
runs") have the observed values to compare against.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lakeglue.catalog.sql import engine_for
from lakeglue.quality.result import QualityResult, json_safe

metadata = sa.MetaData()

quality_results_t = sa.Table(
    "lg_quality_results", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table", sa.String(512), nullable=False),
    sa.Column("suite", sa.String(255), nullable=False),
    sa.Column("rule", sa.String(255), nullable=False),
    #: Position of the rule in its suite; tells two rules of the same type on the same column apart.
    sa.Column("rule_index", sa.Integer, nullable=False),
    #: Comma-separated for multi-column rules; NULL for table-level rules.
    sa.Column("column", sa.String(1024), nullable=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    #: JSON text, since observed values are numbers, lists or dicts depending on the rule.
    sa.Column("observed_value", sa.Text, nullable=True),
    sa.Column("unexpected_count", sa.BigInteger, nullable=True),
    sa.Column("unexpected_percent", sa.Float, nullable=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lg_quality_results_table_time", "table", "evaluated_at"),
)

def _engine(url: str) -> sa.engine.Engine:
    if not url:
        raise ValueError("quality history needs the catalog's SQL URL (LAKEGLUE_CATALOG_URL is empty)")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = engine_for(url)
    metadata.create_all(engine)  # a cheap existence check; survives a database re-created under the same URL
    return engine


def record_history(result: QualityResult, url: str) -> int:
    """Append one row per rule of ``result``; returns the number of rows written."""
    rows = [{
        "table": result.table, "suite": result.suite, "rule": rule.type, "rule_index": rule.index,
        "column": ",".join(rule.columns) or None, "severity": rule.severity, "success": rule.success,
        "observed_value": None if rule.observed_value is None else json.dumps(json_safe(rule.observed_value)),
        "unexpected_count": rule.unexpected_count, "unexpected_percent": json_safe(rule.unexpected_percent),
        "run_id": result.run_id, "evaluated_at": result.evaluated_at,
    } for rule in result.rules]
    if rows:
        with _engine(url).begin() as conn:
            conn.execute(quality_results_t.insert(), rows)
    return len(rows)


def history(url: str, table: str | None = None) -> list[dict[str, Any]]:
    """Recorded rule results, oldest first; ``table`` is the qualified name (``db.table``)."""
    query = sa.select(quality_results_t).order_by(quality_results_t.c.evaluated_at, quality_results_t.c.id)
    if table is not None:
        query = query.where(quality_results_t.c.table == table)
    with _engine(url).connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_row_dict(dict(row)) for row in rows]


def _row_dict(row: dict[str, Any]) -> dict[str, Any]:
    if row["observed_value"] is not None:
        row["observed_value"] = json.loads(row["observed_value"])
    when: datetime = row["evaluated_at"]
    if when.tzinfo is None:  # SQLite keeps no offset; everything is written in UTC
        row["evaluated_at"] = when.replace(tzinfo=UTC)
    row["success"] = bool(row["success"])
    return row
