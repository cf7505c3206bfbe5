"""Silver: typed, trimmed, deduplicated tables built from bronze by the spec's declarations.

Each column is ``try_cast(<expr> AS <type>)`` where ``expr`` is written in Trino SQL and
transpiled for Spark. A value that is present but cannot be cast, or a null business key,
sends the row to quarantine with the column and value named, instead of becoming a NULL.
Dedupe keeps the latest record per key by the spec's ordering columns. Silver is rebuilt
from all bronze batches and committed as a new table version (atomic catalog swap).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lakeglue.catalog.model import Column
from lakeglue.jobs.commit import plan_table_version, register_table
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.jobs.quarantine import quarantine_dir, replace_quarantine
from lakeglue.jobs.spark.catalog_io import read_table
from lakeglue.pipelines.spec import SilverTableSpec
from lakeglue.sql_dialect import transpile_expression

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, SparkSession

#: Bronze lineage carried into silver so every row can be traced to its file.
CARRIED_LINEAGE = ("_source_file", "_batch_id")
BRONZE_INTERNAL = ("_source_file", "_line", "_ingested_at", "_batch_id")


def run_silver(spark: SparkSession, ctx: JobContext) -> JobMetrics:
    started = time.monotonic()
    metrics = JobMetrics("silver", ctx.spec.name, ctx.batch_id)
    for table, table_spec in ctx.spec.silver.items():
        metrics.tables.append(_silver_table(spark, ctx, table, table_spec))
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics


def _source_expr(name: str, expr: str | None, available: set[str]) -> SparkColumn:
    """The untyped value of a silver column; a declared column absent from bronze is NULL (drift)."""
    from pyspark.sql import functions as F

    if expr:
        return F.expr(transpile_expression(expr, "spark"))
    if name in available:
        return F.col(f"`{name}`")
    return F.lit(None)


def _latest_first(order_by: list[str]) -> list[SparkColumn]:
    from pyspark.sql import functions as F

    return [*(F.col(c).desc_nulls_last() for c in order_by), F.col("_ingested_at").desc(),
            F.col("_source_file").desc(), F.col("_line").desc_nulls_last()]


def _silver_table(spark: SparkSession, ctx: JobContext, table: str, ts: SilverTableSpec) -> TableMetrics:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    silver_db, bronze_db = ctx.spec.database_for("silver"), ctx.spec.database_for("bronze")
    result = TableMetrics(table=f"{silver_db}.{table}")
    if not ctx.catalog.table_exists(bronze_db, ts.from_):
        result.skipped_reason = f"{bronze_db}.{ts.from_} does not exist yet"
        return result
    bronze = read_table(spark, ctx.catalog, bronze_db, ts.from_)
    available = set(bronze.columns)

    def typed(name: str) -> SparkColumn:
        col = ts.columns[name]
        return _source_expr(name, col.expr, available).try_cast(col.type)

    if ts.explode:
        # Dedupe the parent record first: a re-sent order replaces all of its lines.
        parent_key = [k for k in ts.key if k != ts.explode.position]
        ranked = bronze.select("*", *(typed(c).alias(f"__order_{c}") for c in ts.order_by),
                               *(typed(k).alias(f"__key_{k}") for k in parent_key))
        window = Window.partitionBy(*(f"__key_{k}" for k in parent_key)).orderBy(
            *_latest_first([f"__order_{c}" for c in ts.order_by]))
        bronze = (ranked.withColumn("__rn", F.row_number().over(window)).filter("__rn = 1")
                  .drop("__rn", *(c for c in ranked.columns if c.startswith("__"))))
        bronze = bronze.select("*", F.posexplode(ts.explode.column).alias("__pos", ts.explode.alias)) \
                       .withColumn(ts.explode.position, (F.col("__pos") + 1).cast("int")).drop("__pos")
        available = set(bronze.columns)

    declared = list(ts.columns)
    extra = [c for c in bronze.columns if ts.keep_new_columns and c not in ts.columns and not c.startswith("_")
             and c not in {ts.explode.column if ts.explode else "", ts.explode.alias if ts.explode else ""}]
    raw_values = {n: _source_expr(n, ts.columns[n].expr, available) for n in declared}
    problems = [F.when(raw_values[n].isNotNull() & typed(n).isNull(),
                       F.concat(F.lit(f"column {n}: value '"), raw_values[n].cast("string"),
                                F.lit(f"' is not a valid {ts.columns[n].type}")))
                for n in declared]
    problems += [F.when(typed(k).isNull(), F.lit(f"business key column {k} is null")) for k in ts.key]
    staged_rows = bronze.select(
        *(typed(n).alias(n) for n in declared), *(F.col(f"`{c}`") for c in extra),
        *(F.col(c) for c in (*CARRIED_LINEAGE, "_line", "_ingested_at")),
        F.to_json(F.struct(*(F.col(f"`{c}`") for c in bronze.columns if c not in BRONZE_INTERNAL))).alias("__raw"),
        F.concat_ws("; ", *problems).alias("__reason"),
    ).withColumn("__reason", F.when(F.col("__reason") != "", F.col("__reason"))).cache()

    good = staged_rows.filter(F.col("__reason").isNull())
    window = Window.partitionBy(*ts.key).orderBy(*_latest_first(ts.order_by))
    deduped = (good.withColumn("__rn", F.row_number().over(window)).filter("__rn = 1")
               .select(*declared, *extra, *CARRIED_LINEAGE))
    _write_quarantine(ctx, table, staged_rows.filter(F.col("__reason").isNotNull()))

    pending = plan_table_version(ctx.lake, "silver", table)
    writer = deduped.write
    if ts.partition_by:
        writer = writer.partitionBy(*ts.partition_by)
    writer.parquet(ctx.lake.uri(pending.staged))
    ctx.lake.commit(pending.staged, pending.final)

    fields = {f.name: f.dataType.simpleString() for f in deduped.schema.fields}
    register_table(ctx.catalog, ctx.lake, silver_db, table,
                   [Column(n, fields[n]) for n in deduped.columns if n not in ts.partition_by], pending.final,
                   partition_keys=[Column(p, fields[p]) for p in ts.partition_by],
                   parameters={"source_table": f"{bronze_db}.{ts.from_}", "primary_key": ",".join(ts.key)})
    counts = staged_rows.agg(F.count("*").alias("read"),
                             F.sum(F.col("__reason").isNotNull().cast("int")).alias("bad")).first()
    assert counts is not None
    result.rows_read, result.rows_quarantined = int(counts["read"]), int(counts["bad"] or 0)
    result.rows_written = spark.read.parquet(ctx.lake.uri(pending.final)).count()
    result.location = pending.final
    staged_rows.unpersist()
    return result


def _write_quarantine(ctx: JobContext, table: str, bad: DataFrame) -> None:
    """Silver is rebuilt whole, so its quarantine is too (one directory, replaced each run)."""
    from pyspark.sql import functions as F

    final = quarantine_dir(ctx.lake, ctx.spec.name, "silver", table, "all")
    staged = ctx.lake.new_staging_path(f"quarantine-silver-{table}")
    (bad.select(F.col("_source_file").alias("source_file"), F.col("_line").alias("line"),
                F.col("__reason").alias("reason"), F.col("__raw").alias("raw"), F.lit("silver").alias("layer"),
                F.lit(table).alias("table"), F.col("_batch_id").alias("batch_id"))
        .coalesce(1).write.json(ctx.lake.uri(staged)))
    replace_quarantine(ctx.lake, staged, final)
