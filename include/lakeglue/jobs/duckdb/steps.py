"""Custom silver steps on DuckDB: ``fn(rel: DuckDBPyRelation) -> DuckDBPyRelation | pyarrow.Table``.

Rules and placement are shared with Spark (:mod:`lakeglue.jobs.custom_steps`). A returned
relation stays lazy (DuckDB streams and spills it when silver dedupes and writes); a returned
pyarrow.Table is materialised in memory by the step itself and read from there. The last
result becomes a temp view the dedupe query reads; :func:`release` drops it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeglue.jobs.custom_steps import StepError, check_columns, data_columns, label, resolve
from lakeglue.jobs.duckdb.types import quote_ident
from lakeglue.pipelines.spec import SilverTableSpec

if TYPE_CHECKING:
    import duckdb

ENGINE = "duckdb"
RESULT_VIEW = "__lg_silver_steps_result"


def _as_relation(con: duckdb.DuckDBPyConnection, table: str, step: Any, result: Any) -> duckdb.DuckDBPyRelation:
    import duckdb
    import pyarrow as pa

    if isinstance(result, duckdb.DuckDBPyRelation):
        return result
    if isinstance(result, pa.Table):
        return con.from_arrow(result)
    hint = " (call .read_all() for a pyarrow.Table)" if isinstance(result, pa.RecordBatchReader) else ""
    raise StepError(f"{label(table, step)}: duckdb function {step.duckdb!r} returned "
                    f"{type(result).__module__}.{type(result).__name__}, not a DuckDBPyRelation or a "
                    f"pyarrow.Table{hint}")


def apply_steps(con: duckdb.DuckDBPyConnection, table: str, ts: SilverTableSpec, rows_sql: str,
                columns: list[str]) -> tuple[str, list[str]]:
    """Run the table's steps over its typed good rows (``rows_sql``, a parenthesised query).

    Returns what to read the rows from and the silver data columns; without steps, the input.
    The engine's internal ``__`` columns are excluded before the first step sees the rows.
    """
    if not ts.steps:
        return rows_sql, columns
    source = con.sql(f"SELECT * FROM {rows_sql}")
    internal = [c for c in source.columns if c.startswith("__")]
    rel = source.project(f"* EXCLUDE ({', '.join(quote_ident(c) for c in internal)})") if internal else source
    for step in ts.steps:
        function = resolve(table, step, ENGINE)
        rel = _as_relation(con, table, step, function(rel))
        check_columns(table, step, ENGINE, ts, rel.columns)
    rel.create_view(RESULT_VIEW, replace=True)
    try:
        con.execute(f"SELECT * FROM {RESULT_VIEW} LIMIT 0")
    except Exception as exc:
        names = ", ".join(step.name for step in ts.steps)
        raise StepError(f"silver.{table}: the result of step(s) {names} is not readable on the job's connection "
                        f"({exc}); build the returned relation from the relation the step was given") from None
    return RESULT_VIEW, data_columns(rel.columns)


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the steps' result view (its relation may hold an Arrow table in memory)."""
    con.execute(f"DROP VIEW IF EXISTS {RESULT_VIEW}")
