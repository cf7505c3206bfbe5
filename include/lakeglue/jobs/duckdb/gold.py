"""Gold on DuckDB: business aggregates from the same SQL files (Trino dialect) Spark runs, over the catalog.

Each referenced catalog table becomes a view named as ``jobs.spark.gold`` names its temp
views (``<db>__<table>``), the SQL goes through the one translator (:func:`lakeglue.sql.translate`,
the query layer's, so types and values are Trino's: integer sums are bigint, not DuckDB's
HUGEINT), and the result is written as a new table version.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

from lakeglue.jobs.commit import plan_table_version, register_table
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb.catalog_io import read_table
from lakeglue.jobs.duckdb.types import quote_ident
from lakeglue.jobs.duckdb.writer import write_parquet
from lakeglue.jobs.faults import fault_point
from lakeglue.jobs.gated_reads import read_one_version, ungated_reason, with_source_versions
from lakeglue.jobs.locks import holds_writer_locks
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.settings import SQL_DIR
from lakeglue.sql import translate
from lakeglue.sql_dialect import referenced_tables

if TYPE_CHECKING:
    import duckdb


@holds_writer_locks("gold")
def run_gold(con: duckdb.DuckDBPyConnection, ctx: JobContext) -> JobMetrics:
    import duckdb

    started = time.monotonic()
    metrics = JobMetrics("gold", ctx.spec.name, ctx.batch_id)
    gold_db = ctx.spec.database_for("gold")
    silver_db = ctx.spec.database_for("silver")
    for table, table_spec in ctx.spec.gold.items():
        sql = (SQL_DIR / table_spec.sql).read_text()
        result = TableMetrics(table=f"{gold_db}.{table}")
        versions: dict[str, int] = {}
        for database, name in referenced_tables(sql):
            db = database or silver_db
            if ctx.gated_reads:  # the view is over the files listed now: one version, kept in the view
                relation, versions[f"{db}.{name}"] = read_one_version(
                    ctx, db, name, partial(read_table, con, ctx.catalog, ctx.lake, db, name))
            else:
                relation = read_table(con, ctx.catalog, ctx.lake, db, name)
            view = quote_ident(f"{db}__{name}")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {relation.sql}")
            counted = con.execute(f"SELECT count(*) FROM {view}").fetchone()
            result.rows_read += int(counted[0]) if counted else 0
        blocked = ungated_reason(ctx, versions) if ctx.gated_reads else None
        if blocked is not None:
            result.skipped_reason = blocked
            metrics.tables.append(result)
            continue
        duck_sql = translate(sql, "duckdb", ctx.catalog, database=silver_db, relation=lambda d, n: f"{d}__{n}")
        try:
            con.sql(duck_sql)  # binds it: SQL DuckDB cannot run fails here, before anything is written
        except duckdb.Error as exc:
            raise ValueError(f"gold.{table} ({table_spec.sql}): DuckDB cannot run the translated SQL: {exc}\n"
                             f"-- SQL run by duckdb:\n{duck_sql}") from exc
        pending = plan_table_version(ctx.lake, "gold", table)
        written = write_parquet(con, duck_sql, ctx.lake.engine_path(pending.staged), table_spec.partition_by)
        fault_point(f"gold.{table}.before_commit")
        ctx.lake.commit(pending.staged, pending.final)
        fault_point(f"gold.{table}.before_catalog_swap")
        register_table(ctx.catalog, ctx.lake, gold_db, table, list(written.columns), pending.final,
                       partition_keys=list(written.partition_keys),
                       parameters=with_source_versions({"sql": table_spec.sql}, versions) if ctx.gated_reads
                       else {"sql": table_spec.sql})
        result.rows_written = written.rows
        result.location = pending.final
        metrics.tables.append(result)
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics
