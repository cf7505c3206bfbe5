"""Gold: business aggregates from SQL files (Trino dialect) run with Spark SQL over the catalog.

The SQL goes through the one translator (:func:`lakeglue.sql.translate`), as on DuckDB and in
the query layer, so a gold table has the values and types Trino/Athena would give it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lakeglue.catalog.model import Column
from lakeglue.jobs.commit import plan_table_version, register_table
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.faults import fault_point
from lakeglue.jobs.locks import holds_writer_locks
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.jobs.spark.catalog_io import read_table, table_rows
from lakeglue.settings import SQL_DIR
from lakeglue.sql import translate
from lakeglue.sql_dialect import referenced_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@holds_writer_locks("gold")
def run_gold(spark: SparkSession, ctx: JobContext) -> JobMetrics:
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    started = time.monotonic()
    metrics = JobMetrics("gold", ctx.spec.name, ctx.batch_id)
    gold_db = ctx.spec.database_for("gold")
    for table, table_spec in ctx.spec.gold.items():
        sql = (SQL_DIR / table_spec.sql).read_text()
        result = TableMetrics(table=f"{gold_db}.{table}")
        for database, name in referenced_tables(sql):
            db = database or ctx.spec.database_for("silver")
            df = read_table(spark, ctx.catalog, db, name)
            result.rows_read += table_rows(ctx.catalog, ctx.lake, db, name)
            df.createOrReplaceTempView(f"{db}__{name}")
        spark_sql = translate(sql, "spark", ctx.catalog, database=ctx.spec.database_for("silver"),
                              relation=lambda d, n: f"{d}__{n}")
        frame = spark.sql(spark_sql)
        written = Observation(f"gold-{table}")  # counted as the rows are written, no read-back
        pending = plan_table_version(ctx.lake, "gold", table)
        writer = frame.observe(written, F.count(F.lit(1)).alias("rows")).coalesce(1).write
        if table_spec.partition_by:
            writer = writer.partitionBy(*table_spec.partition_by)
        writer.parquet(ctx.lake.uri(pending.staged))
        fault_point(f"gold.{table}.before_commit")
        ctx.lake.commit(pending.staged, pending.final)
        fault_point(f"gold.{table}.before_catalog_swap")
        fields = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
        register_table(ctx.catalog, ctx.lake, gold_db, table,
                       [Column(n, t) for n, t in fields if n not in table_spec.partition_by], pending.final,
                       partition_keys=[Column(n, t) for n, t in fields if n in table_spec.partition_by],
                       parameters={"sql": table_spec.sql})
        result.rows_written = int(written.get["rows"])
        result.location = pending.final
        metrics.tables.append(result)
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics
