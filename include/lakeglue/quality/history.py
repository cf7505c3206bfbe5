"""Quality history: one row per check per run, in the catalog's SQL database.

Kept next to the catalog (same URL, own table) so the catalog UI can show a table's data
quality over time, and so anomaly rules (``DetectAnomalies "RowCount"``) find the values a
metric had in earlier runs (:func:`metric_series`). The same rows are also published as a
Parquet catalog table for SQL over the lake (:mod:`lakeglue.quality.history_table`).

Columns: ``table`` (qualified), ``suite``, ``rule`` (GX expectation type), ``rule_index``,
``rule_text`` (the compact rule as written, NULL for GX configs), ``column`` (comma-separated;
NULL for table-level checks), ``metric`` (``RowCount``, ``Completeness "email"``; NULL for
checks that measure no single number), ``severity``, ``success``, ``observed_value`` (JSON text),
``unexpected_count``, ``unexpected_percent``, ``run_id``, ``evaluated_at`` (UTC).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lakeglue.catalog.sql import engine_for
from lakeglue.quality.anomaly import observed_number
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
    # Added with compact rules and anomaly detection; older databases get them by _add_missing_columns.
    sa.Column("rule_text", sa.Text, nullable=True),
    sa.Column("metric", sa.String(1024), nullable=True),
    # Added for gated reads: the catalog version (and its location) of the table the run validated.
    sa.Column("table_version", sa.BigInteger, nullable=True),
    sa.Column("location", sa.Text, nullable=True),
    sa.Index("ix_lg_quality_results_table_time", "table", "evaluated_at"),
)

#: Column order of history rows everywhere (SQL table, Parquet mirror, CLI).
HISTORY_COLUMNS = ("table", "suite", "rule", "rule_index", "rule_text", "column", "metric", "severity", "success",
                   "observed_value", "unexpected_count", "unexpected_percent", "run_id", "evaluated_at")


def _engine(url: str) -> sa.engine.Engine:
    if not url:
        raise ValueError("quality history needs the catalog's SQL URL (LAKEGLUE_CATALOG_URL is empty)")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = engine_for(url)
    metadata.create_all(engine)  # a cheap existence check; survives a database re-created under the same URL
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine: sa.engine.Engine) -> None:
    """Bring a history table created by an older lakeglue up to date (nullable columns only)."""
    have = {c["name"] for c in sa.inspect(engine).get_columns(quality_results_t.name)}
    missing = [c for c in quality_results_t.columns if c.name not in have]
    if not missing:
        return
    quote = engine.dialect.identifier_preparer.quote
    for column in missing:
        ddl = (f"ALTER TABLE {quote(quality_results_t.name)} ADD COLUMN {quote(column.name)} "
               f"{column.type.compile(dialect=engine.dialect)}")
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(ddl))
        except sa.exc.DBAPIError:  # another process added it first
            added = {c["name"] for c in sa.inspect(engine).get_columns(quality_results_t.name)}
            if column.name not in added:
                raise


def history_rows(result: QualityResult) -> list[dict[str, Any]]:
    """One row per check of ``result``, keyed by :data:`HISTORY_COLUMNS` (observed value as JSON text)."""
    return [{
        "table": result.table, "suite": result.suite, "rule": rule.type, "rule_index": rule.index,
        "rule_text": rule.rule or None, "column": ",".join(rule.columns) or None, "metric": rule.metric,
        "severity": rule.severity, "success": rule.success,
        "observed_value": None if rule.observed_value is None else json.dumps(json_safe(rule.observed_value)),
        "unexpected_count": rule.unexpected_count, "unexpected_percent": json_safe(rule.unexpected_percent),
        "run_id": result.run_id, "evaluated_at": result.evaluated_at,
    } for rule in result.rules]


def record_history(result: QualityResult, url: str) -> int:
    """Append one row per rule of ``result``; returns the number of rows written."""
    rows = [{**row, "table_version": result.table_version, "location": result.location}
            for row in history_rows(result)]
    if rows:
        with _engine(url).begin() as conn:
            conn.execute(quality_results_t.insert(), rows)
    return len(rows)


def history(url: str, table: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
    """Recorded rule results, oldest first; ``table`` is the qualified name (``db.table``)."""
    query = sa.select(quality_results_t).order_by(quality_results_t.c.evaluated_at, quality_results_t.c.id)
    if table is not None:
        query = query.where(quality_results_t.c.table == table)
    if run_id is not None:
        query = query.where(quality_results_t.c.run_id == run_id)
    with _engine(url).connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_row_dict(dict(row)) for row in rows]


def gate_passed(url: str, table: str, version: int) -> bool:
    """Whether some recorded run validated ``table`` (qualified) at catalog ``version`` with no failed
    ``error`` rule: what a job that must only read gated data checks before it publishes."""
    t = quality_results_t.c
    query = (sa.select(t.run_id, t.success, t.severity)
             .where(t.table == table, t.table_version == version))
    failed: dict[str, bool] = {}
    with _engine(url).connect() as conn:
        for row in conn.execute(query):
            failed[row.run_id] = failed.get(row.run_id, False) or (not row.success and row.severity == "error")
    return any(not bad for bad in failed.values())


def metric_series(url: str, table: str, metric: str, exclude_run_id: str, runs: int) -> list[float]:
    """The metric's value in the last ``runs`` earlier runs on ``table``, most recent first.

    A run counts only if every check measuring the metric passed in it, and never the
    current run (``exclude_run_id``): see :mod:`lakeglue.quality.anomaly` for why.
    """
    t = quality_results_t.c
    query = (sa.select(t.run_id, t.success, t.observed_value)
             .where(t.table == table, t.metric == metric, t.run_id != exclude_run_id)
             .order_by(t.evaluated_at.desc(), t.id.desc()))
    by_run: dict[str, list[tuple[bool, float | None]]] = {}
    with _engine(url).connect() as conn:
        for row in conn.execute(query):
            value = observed_number(json.loads(row.observed_value)) if row.observed_value is not None else None
            by_run.setdefault(row.run_id, []).append((bool(row.success), value))
    series: list[float] = []
    for checks in by_run.values():  # insertion order = most recent run first
        values = [value for ok, value in checks if ok and value is not None]
        if len(values) == len(checks):
            series.append(values[0])
    return series[:runs]


def _row_dict(row: dict[str, Any]) -> dict[str, Any]:
    if row["observed_value"] is not None:
        row["observed_value"] = json.loads(row["observed_value"])
    when: datetime = row["evaluated_at"]
    if when.tzinfo is None:  # SQLite keeps no offset; everything is written in UTC
        row["evaluated_at"] = when.replace(tzinfo=UTC)
    row["success"] = bool(row["success"])
    return row
