"""Silver: typed, trimmed, deduplicated tables built from bronze by the spec's declarations.

Each column is ``try_cast(<expr> AS <type>)`` where ``expr`` is written in Trino SQL and
transpiled for Spark. A value that is present but cannot be cast, or a null business key,
sends the row to quarantine with the column and value named, instead of becoming a NULL.
Dedupe keeps the latest record per key by the spec's ordering columns. Silver is rebuilt
from all bronze batches and committed as a new table version (atomic catalog swap).

Accounting (``records.SilverAccount``, checked before the commit): rows read = rows written +
quarantined + duplicates (+ rows a custom filter step drops). An exploded table counts
elements: ``rows_read`` is the elements of the parents that won the parent dedupe, and
``rows_duplicate`` the elements of the new batches' parents that lost it plus element rows that
lost the second dedupe.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lakeglue import records
from lakeglue.catalog.model import Column, Table
from lakeglue.jobs.commit import partition_path, plan_table_version, register_table
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.custom_steps import check_partitions_kept, resolve_all
from lakeglue.jobs.faults import fault_point
from lakeglue.jobs.locks import holds_writer_locks
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.jobs.parquet_footers import parquet_rows_under
from lakeglue.jobs.plans import plan_silver
from lakeglue.jobs.quarantine import quarantine_dir, replace_quarantine
from lakeglue.jobs.spark.catalog_io import read_table
from lakeglue.jobs.spark.steps import apply_steps
from lakeglue.pipelines.spec import ColumnSpec, SilverTableSpec
from lakeglue.sql import translate_expression

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, SparkSession

#: Bronze lineage carried into silver so every row can be traced to its file.
CARRIED_LINEAGE = ("_source_file", "_batch_id")
BRONZE_INTERNAL = ("_source_file", "_line", "_ingested_at", "_batch_id")


@holds_writer_locks("silver")
def run_silver(spark: SparkSession, ctx: JobContext) -> JobMetrics:
    started = time.monotonic()
    metrics = JobMetrics("silver", ctx.spec.name, ctx.batch_id)
    resolve_all(ctx.spec, "spark")  # custom steps: every one has a Spark function that imports, before any write
    for table, table_spec in ctx.spec.silver.items():
        metrics.tables.append(_silver_table(spark, ctx, table, table_spec))
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics


def _source_expr(name: str, expr: str | None, available: Mapping[str, str]) -> SparkColumn:
    """The untyped value of a silver column; a declared column absent from bronze is NULL (drift).

    ``available`` maps bronze columns to their Spark types, which the translator needs to give
    ``expr`` Trino's semantics (as DuckDB silver does with its column types).
    """
    from pyspark.sql import functions as F

    if expr:
        return F.expr(translate_expression(expr, "spark", available))
    if name in available:
        return F.col(f"`{name}`")
    return F.lit(None)


def spark_types(frame: DataFrame) -> dict[str, str]:
    """Column name → Spark type (``simpleString``), in column order."""
    return {f.name: f.dataType.simpleString() for f in frame.schema.fields}


def typed_cast(value: SparkColumn, type_name: str) -> SparkColumn:
    """``try_cast`` to the column's type; a date or timestamp whose year is outside 1..9999 is not
    valid (NULL, so the row is quarantined), as on DuckDB: most tools cannot read such values."""
    from pyspark.sql import functions as F

    typed = value.try_cast(type_name)
    if type_name.strip().lower().startswith(("date", "timestamp")):
        return F.when(F.year(typed).between(1, 9999), typed)
    return typed


@dataclass(frozen=True)
class OutputColumn:
    """One silver output column: its typed value, the raw value it came from, and whether a
    present-but-uncastable raw value sends the row to quarantine."""

    name: str
    typed: SparkColumn
    raw: SparkColumn
    type_label: str
    checked: bool = True


def _column_plan(name: str, spec: ColumnSpec, available: Mapping[str, str], variants: list[str]) -> list[OutputColumn]:
    """How a declared column is computed; choice columns expand per their ``resolve`` rule."""
    from pyspark.sql import functions as F

    if not spec.resolve:
        source = _source_expr(name, spec.expr, available)
        return [OutputColumn(name, typed_cast(source, spec.type), source, spec.type)]
    present = name in available

    def variant(v: str) -> SparkColumn:
        return F.col(f"`{name}`")[v] if present else F.lit(None).cast(v)

    if spec.resolve == "cast":
        return [OutputColumn(name, F.coalesce(*(typed_cast(variant(v), spec.type) for v in variants)),
                             F.coalesce(*(variant(v).cast("string") for v in variants)), spec.type)]
    if spec.resolve == "project":
        if spec.type not in variants:
            raise ValueError(f"column {name}: resolve project:{spec.type} but the choice types are {variants}")
        return [OutputColumn(name, variant(spec.type), variant(spec.type), spec.type, checked=False)]
    if spec.resolve == "make_cols":
        return [OutputColumn(f"{name}_{v}", variant(v), variant(v), v, checked=False) for v in variants]
    struct = F.struct(*(variant(v).alias(v) for v in variants))
    return [OutputColumn(name, struct, struct, "struct", checked=False)]


def _latest_first(order_by: list[str]) -> list[SparkColumn]:
    from pyspark.sql import functions as F

    return [*(F.col(c).desc_nulls_last() for c in order_by), F.col("_ingested_at").desc(),
            F.col("_source_file").desc(), F.col("_line").desc_nulls_last()]


def _silver_table(spark: SparkSession, ctx: JobContext, table: str, ts: SilverTableSpec) -> TableMetrics:
    from pyspark.sql import Observation, Window
    from pyspark.sql import functions as F

    silver_db, bronze_db = ctx.spec.database_for("silver"), ctx.spec.database_for("bronze")
    result = TableMetrics(table=f"{silver_db}.{table}")
    work = plan_silver(ctx, table, ts.from_, result)
    if work is None:
        return result
    current = work.current
    live_batches, new_batches = work.live_batches, work.new_batches
    bronze = read_table(spark, ctx.catalog, bronze_db, ts.from_)
    available = spark_types(bronze)
    # Incremental (dynamic partition overwrite): only partitions the new batches touch are recomputed,
    # from every bronze batch; the others are carried over. Assumes a key never moves between partitions.
    new_rows = F.col("_batch_id").isin(sorted(new_batches))
    affected: list[tuple[Any, ...]] | None = None
    if current is not None and ts.partition_by and not ctx.full_refresh and new_batches != live_batches:
        part_exprs = [typed_cast(_source_expr(p, ts.columns[p].expr, available), ts.columns[p].type)
                      for p in ts.partition_by]
        affected = [tuple(r) for r in bronze.filter(new_rows)
                    .select(*part_exprs).distinct().collect()]
        touched = F.struct(*part_exprs).isin([F.struct(*(F.lit(v) for v in values)) for values in affected])
        # rows of new batches always count, even when their partition value is unusable (→ quarantine)
        bronze = bronze.filter(touched | new_rows)
    partition_json = (F.to_json(F.struct(*(typed_cast(_source_expr(p, ts.columns[p].expr, available),
                                                      ts.columns[p].type).alias(p) for p in ts.partition_by)))
                      if ts.partition_by else F.lit(None).cast("string"))

    def typed(name: str) -> SparkColumn:
        col = ts.columns[name]
        return typed_cast(_source_expr(name, col.expr, available), col.type)

    parent_losers = None
    if ts.explode:
        # Dedupe the parent record first: a re-sent order replaces all of its lines.
        parent_key = [k for k in ts.key if k != ts.explode.position]
        ranked = bronze.select("*", *(typed(c).alias(f"__order_{c}") for c in ts.order_by),
                               *(typed(k).alias(f"__key_{k}") for k in parent_key))
        window = Window.partitionBy(*(f"__key_{k}" for k in parent_key)).orderBy(
            *_latest_first([f"__order_{c}" for c in ts.order_by]))
        # Elements of the parents that lost this dedupe are this table's duplicates (the unit of an
        # exploded table is the element), counted while the window runs.
        parent_losers = Observation(f"silver-{table}-parents")
        elements = F.greatest(F.coalesce(F.size(F.col(ts.explode.column)), F.lit(0)), F.lit(0))
        lost = F.col("__rn") > 1
        parent = (ranked.withColumn("__rn", F.row_number().over(window))
                  .observe(parent_losers, F.sum(F.when(lost, elements)).alias("all"),
                           F.sum(F.when(lost & new_rows, elements)).alias("new"))
                  .filter("__rn = 1")
                  .drop("__rn", *(c for c in ranked.columns if c.startswith("__"))))

        def explode(rows: DataFrame) -> DataFrame:
            assert ts.explode is not None
            return (rows.select("*", F.posexplode(ts.explode.column).alias("__pos", ts.explode.alias))
                    .withColumn(ts.explode.position, (F.col("__pos") + 1).cast("int")).drop("__pos"))

        bronze = explode(parent)
        available = spark_types(bronze)

    choices = ctx.spec.bronze[ts.from_].choices
    outputs = [out for n in ts.columns for out in _column_plan(n, ts.columns[n], available, choices.get(n, []))]
    key_typed = [typed(k) for k in ts.key]
    if ts.explode:
        # Columns of the parent record (order id, status, dates) are typed once per parent, not per element.
        values = [c for out in outputs for c in (out.typed, out.raw)] + key_typed
        parent, values = _per_parent_first(parent, bronze, values, {ts.explode.alias, ts.explode.position})
        outputs = [replace(out, typed=values[2 * i], raw=values[2 * i + 1]) for i, out in enumerate(outputs)]
        key_typed = values[2 * len(outputs):]
        bronze = explode(parent)
    declared = [out.name for out in outputs]
    extra = [c for c in bronze.columns if ts.keep_new_columns and c not in ts.columns and not c.startswith("_")
             and c not in {ts.explode.column if ts.explode else "", ts.explode.alias if ts.explode else ""}]
    problems = [F.when(out.raw.isNotNull() & out.typed.isNull(),
                       F.concat(F.lit(records.invalid_value_parts(out.name, out.type_label)[0]),
                                out.raw.cast("string"),
                                F.lit(records.invalid_value_parts(out.name, out.type_label)[1])))
                for out in outputs if out.checked]
    problems += [F.when(value.isNull(), F.lit(records.null_key(k)))
                 for k, value in zip(ts.key, key_typed, strict=True)]
    row_columns = [*(out.typed.alias(out.name) for out in outputs), *(F.col(f"`{c}`") for c in extra),
                   *(F.col(c) for c in (*CARRIED_LINEAGE, "_line", "_ingested_at")),
                   F.concat_ws("; ", *problems).alias("__reason"), partition_json.alias("__partition")]

    def typed_rows(*more: SparkColumn) -> DataFrame:
        return bronze.select(*row_columns, *more).withColumn(
            "__reason", F.when(F.col("__reason") != "", F.col("__reason")))

    # One pass types, dedupes and writes the good rows; Observations count what was read, what was
    # rejected and what was written in that same job (no cache, no count job, no read-back).
    seen = Observation(f"silver-{table}-read")
    observed = typed_rows().observe(seen, F.count(F.lit(1)).alias("read"), F.count("__reason").alias("bad"))
    good = observed.filter(F.col("__reason").isNull())
    good, data_columns = apply_steps(table, ts, good, [*declared, *extra])  # custom Python steps, if any
    stepped = None
    if ts.steps:  # a step may drop rows on purpose (a filter): counted, so the account still adds up
        stepped = Observation(f"silver-{table}-stepped")
        good = good.observe(stepped, F.count(F.lit(1)).alias("rows"))
    losers = None
    if ts.explode and ts.explode.position in ts.key and not ts.steps:
        # The parent was deduplicated on the other key columns (same expressions) before the explode,
        # and positions are distinct within a parent: the key is unique already, a second window would
        # keep every row. Without the position in the key, or with steps that may rewrite keys, dedupe.
        # Every good row is written, so read - bad counts them (no second observation per row).
        deduped, kept_rows = good.select(*data_columns, *CARRIED_LINEAGE), None
    else:
        window = Window.partitionBy(*ts.key).orderBy(*_latest_first(ts.order_by))
        losers = Observation(f"silver-{table}-duplicates")
        lost = F.col("__rn") > 1
        deduped = (good.withColumn("__rn", F.row_number().over(window))
                   .observe(losers, F.count(F.when(lost, 1)).alias("all"),
                            F.count(F.when(lost & new_rows, 1)).alias("new"))
                   .filter("__rn = 1")
                   .select(*data_columns, *CARRIED_LINEAGE))
        kept_rows = Observation(f"silver-{table}-written")
        deduped = deduped.observe(kept_rows, F.count(F.lit(1)).alias("rows"))
    pending = plan_table_version(ctx.lake, "silver", table)
    writer = deduped.write
    if ts.partition_by:
        writer = writer.partitionBy(*ts.partition_by)
    writer.parquet(ctx.lake.uri(pending.staged))
    result.rows_read, result.rows_quarantined = int(seen.get["read"]), int(seen.get["bad"])
    result.rows_written = (result.rows_read - result.rows_quarantined if kept_rows is None
                           else int(kept_rows.get["rows"]))
    # Duplicates: rows (elements, for an exploded table) that lost a dedupe; the metric counts those
    # of the new bronze batches, the account all of them (a rebuild reads every batch again).
    dropped = result.rows_read - result.rows_quarantined - int(stepped.get["rows"]) if stepped is not None else 0
    # rows_read of an exploded table stays the elements of the parents that won the parent dedupe (as
    # the DuckDB engine counts them); the elements of the losing parents are read too, and the account
    # counts them on both sides.
    duplicates = int(losers.get["all"]) if losers is not None else 0
    result.rows_duplicate = int(losers.get["new"]) if losers is not None else 0
    elements_read = result.rows_read
    if parent_losers is not None:
        duplicates += int(parent_losers.get["all"] or 0)
        elements_read += int(parent_losers.get["all"] or 0)
        result.rows_duplicate += int(parent_losers.get["new"] or 0)
    records.SilverAccount(bronze_rows=elements_read, silver_rows=result.rows_written,
                          quarantined=result.rows_quarantined, duplicates=duplicates,
                          dropped_by_steps=dropped).check(result.table)

    kept = None
    if affected is not None:
        rewritten_json = spark.range(1).select(*(F.to_json(F.struct(*(
            F.lit(v).cast(ts.columns[p].type).alias(p) for p, v in zip(ts.partition_by, values, strict=True))))
            for values in affected)).first()
        kept = sorted(set(rewritten_json or []))
    # The rejects (few) are typed again apart, with their bronze row as JSON for the record.
    raw_json = F.to_json(F.struct(*(F.col(f"`{c}`") for c in bronze.columns
                                    if c not in BRONZE_INTERNAL and not c.startswith("__"))))
    rejects = typed_rows(raw_json.alias("__raw")).filter(F.col("__reason").isNotNull())
    _write_quarantine(spark, ctx, table, rejects if result.rows_quarantined else rejects.limit(0), rewritten=kept)

    if affected is not None and current is not None:
        rewritten = {tuple(str(v) for v in a) for a in affected}
        check_partitions_kept(ctx, table, ts, current, pending.staged, rewritten)
        carried = _carry_unchanged_partitions(ctx, current, pending.staged, rewritten)
        result.rows_written += sum(parquet_rows_under(ctx.lake, d) for d in carried)  # rows of the version
    fault_point(f"silver.{table}.before_commit")
    ctx.lake.commit(pending.staged, pending.final)
    fault_point(f"silver.{table}.before_catalog_swap")

    fields = {f.name: f.dataType.simpleString() for f in deduped.schema.fields}
    register_table(ctx.catalog, ctx.lake, silver_db, table,
                   [Column(n, fields[n]) for n in deduped.columns if n not in ts.partition_by], pending.final,
                   partition_keys=[Column(p, fields[p]) for p in ts.partition_by],
                   parameters={"source_table": f"{bronze_db}.{ts.from_}", "primary_key": ",".join(ts.key),
                               "partitions_rewritten": "all" if affected is None else str(len(affected))})
    result.location = pending.final
    return result


def _per_parent_first(parent: DataFrame, exploded: DataFrame, values: list[SparkColumn],
                      element: set[str]) -> tuple[DataFrame, list[SparkColumn]]:
    """Compute on the parent rows, before the explode, the values that need neither the element
    nor its position and are deterministic (so equal on every element row); the others stay as
    they are. Returns the parent with those values as ``__parent_<i>`` columns and the values
    to use after the explode. Spark would otherwise compute them again for every element."""
    from pyspark.sql import functions as F

    projection = exploded.select(*(v.alias(f"__parent_{i}") for i, v in enumerate(values)))
    analyzed = projection._jdf.queryExecution().analyzed().projectList()
    hoisted, used = [], []
    for i, value in enumerate(values):
        expression = analyzed.apply(i)
        refs = expression.references().toSeq()
        names = {refs.apply(j).name() for j in range(refs.size())}
        if expression.deterministic() and not names & element:
            hoisted.append(value.alias(f"__parent_{i}"))
            used.append(F.col(f"__parent_{i}"))
        else:
            used.append(value)
    return parent.select("*", *hoisted), used


def _carry_unchanged_partitions(ctx: JobContext, current: Table, staged: str,
                               rewritten: set[tuple[str, ...]]) -> list[str]:
    """Link the current version's untouched partitions into the new version (copy-on-write);
    returns the new version's directories that were carried."""
    keys = [k.name for k in current.partition_keys]
    carried = []
    for part in ctx.catalog.get_partitions(current.database, current.name):
        if tuple(part.values) in rewritten:
            continue
        source = ctx.lake.local_path(part.location) if ctx.lake.protocol == "file" else part.location
        target = partition_path(staged, keys, part.values)
        ctx.lake.link_tree(source, target)
        carried.append(target)
    return carried


def _write_quarantine(spark: SparkSession, ctx: JobContext, table: str, bad: DataFrame,
                      rewritten: list[str] | None = None) -> None:
    """Silver's quarantine mirrors the table: rebuilt whole, or — on an incremental run — the
    records of untouched partitions are carried over and those of rewritten ones replaced."""
    from pyspark.sql import functions as F

    final = quarantine_dir(ctx.lake, ctx.spec.name, "silver", table, "all")
    staged = ctx.lake.new_staging_path(f"quarantine-silver-{table}")
    records = bad.select(F.col("_source_file").alias("source_file"), F.col("_line").alias("line"),
                         F.col("__reason").alias("reason"), F.col("__raw").alias("raw"), F.lit("silver").alias("layer"),
                         F.lit(table).alias("table"), F.col("_batch_id").alias("batch_id"),
                         F.col("__partition").alias("partition"))
    if rewritten is not None and ctx.lake.fs.exists(final) and ctx.lake.fs.find(final):
        previous = spark.read.schema(records.schema).json(ctx.lake.uri(final))
        records = records.unionByName(previous.filter(
            F.col("partition").isNull() | ~F.col("partition").isin(rewritten)))
    # repartition(1), not coalesce(1): the typing upstream stays parallel, only the rejects meet in one task
    records.repartition(1).sortWithinPartitions("source_file", "line").write.json(ctx.lake.uri(staged))
    replace_quarantine(ctx.lake, staged, final)
