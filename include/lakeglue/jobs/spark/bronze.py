"""Bronze: raw files → Parquet, with lineage columns, bad records quarantined with the reason.

Bronze keeps every value as the source had it: text formats land as strings (JSON nesting
kept, leaves as text) so nothing is lost to a wrong guess; typing is silver's job. Only
the files the ledger gives to this batch are read (the job bookmark).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lakeglue.catalog.model import Column, Table
from lakeglue.jobs.bookmarks import Bookmarks
from lakeglue.jobs.commit import plan_batch_attempt, register_batch_partition
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.faults import fault_point
from lakeglue.jobs.locks import holds_writer_locks
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.jobs.options import expand_env, sql_literal
from lakeglue.jobs.parquet_footers import parquet_choice_types
from lakeglue.jobs.plans import claim_bronze_files
from lakeglue.jobs.quarantine import quarantine_dir, replace_quarantine
from lakeglue.pipelines.spec import BronzeTableSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

BATCH_KEY = "_batch_id"
#: Up to this many rejected JSON lines, the write pass itself notes where they are (exactly, in
#: bounded memory) and the quarantine pass parses only those lines; above it, every line again.
LOCATED_REJECTS = 4096
LINEAGE = ("_source_file", "_line", "_ingested_at", BATCH_KEY)
#: monotonically_increasing_id() keeps the row's index within its task in the lower 33 bits.
_ROW_IN_TASK = (1 << 33) - 1


@holds_writer_locks("bronze")
def run_bronze(spark: SparkSession, ctx: JobContext) -> JobMetrics:
    started = time.monotonic()
    metrics = JobMetrics("bronze", ctx.spec.name, ctx.batch_id)
    for table, table_spec in ctx.spec.bronze.items():
        metrics.tables.append(_bronze_table(spark, ctx, table, table_spec))
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics


def _bronze_table(spark: SparkSession, ctx: JobContext, table: str, table_spec: BronzeTableSpec) -> TableMetrics:
    from pyspark.sql import functions as F

    result = TableMetrics(table=f"{ctx.spec.database_for('bronze')}.{table}")
    if table_spec.format == "jdbc":
        return _bronze_jdbc_table(spark, ctx, table, table_spec, result)
    claimed = claim_bronze_files(ctx, table, result)
    if claimed is None:
        return result
    raw, source, entries = claimed.raw, claimed.source, claimed.entries
    files = [ctx.lake.uri(e.path) for e in entries]

    parsed = _read(spark, raw, table_spec, files)
    relocate = None
    if table_spec.format == "json":
        def relocate(source_files: list[str], lines: list[int]) -> DataFrame:
            return _read_json_lines(spark, raw, files, table_spec.choices, only=(source_files, lines))
    for key in raw.partition_keys:
        parsed = parsed.withColumn(key.name, F.regexp_extract("_source_file", f"/{key.name}=([^/]+)/", 1))
    if table_spec.format == "csv":
        # Spark refuses a CSV scan that needs only the corrupt-record column (the rejects pass
        # would): both passes read the parsed rows from memory instead.
        parsed = parsed.cache()
    _commit_batch(spark, ctx, table, table_spec, parsed, result, {"source_table": raw.qualified_name}, relocate)
    parsed.unpersist()
    ctx.ledger.mark_done(source, ctx.batch_id)
    return result


def _commit_batch(spark: SparkSession, ctx: JobContext, table: str, table_spec: BronzeTableSpec,
                  parsed: DataFrame, result: TableMetrics, parameters: dict[str, str],
                  relocate: Callable[[list[str], list[int]], DataFrame] | None = None) -> None:
    """Write the good rows as this batch's partition, quarantine the rejects, swap the catalog.

    One pass parses and writes the good rows while an Observation counts every row and every
    reject in the same job (no cache, no count job, no read-back); the rejects are parsed again
    only when there are some. For JSON lines the same Observation notes which files and line
    numbers were rejected (while there are at most ``LOCATED_REJECTS``), and ``relocate`` reads
    back just those lines: the quarantine pass then scans text instead of parsing every line.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    parsed = parsed.withColumn("_ingested_at", F.lit(ctx.started_at).cast("timestamp"))
    seen = Observation(f"bronze-{table}")
    rejected = F.col("_reject_reason").isNotNull()
    located = [] if relocate is None else [
        # exact while the distinct values are at most LOCATED_REJECTS, in memory bounded by it
        F.histogram_numeric(F.when(rejected, F.col("_line")), F.lit(LOCATED_REJECTS)).alias("lines"),
        F.collect_set(F.when(rejected, F.col("_source_file"))).alias("files")]  # at most one per file
    observed = parsed.observe(seen, F.count(F.lit(1)).alias("read"), F.count("_reject_reason").alias("bad"),
                              *located)
    good = observed.filter(F.col("_reject_reason").isNull()).drop("_reject_reason", "_raw")
    pending = plan_batch_attempt(ctx.lake, "bronze", table)
    with _one_task_per_file(spark):
        # Straight into the batch's partition folder (what partitionBy would name it: batch ids are
        # path-safe), as partitionBy(BATCH_KEY) would have to sort every row by that one value first.
        good.write.parquet(ctx.lake.uri(f"{pending.staged}/{BATCH_KEY}={ctx.batch_id}"))
        counts = seen.get
        result.rows_read, result.rows_quarantined = int(counts["read"]), int(counts["bad"])
        result.rows_written = result.rows_read - result.rows_quarantined
        if not result.rows_quarantined:
            bad = parsed.limit(0)
        elif relocate is not None and result.rows_quarantined <= LOCATED_REJECTS:
            # the candidates (rejected files x rejected line numbers) hold every reject; the reason,
            # computed again on them alone, keeps exactly the rejects
            lines = sorted({int(bin_["x"]) for bin_ in counts["lines"]})
            bad = relocate(sorted(counts["files"]), lines)
        else:
            bad = parsed
        _write_quarantine(ctx, table, bad.filter(rejected), expected=result.rows_quarantined)
    fault_point(f"bronze.{table}.before_commit")
    ctx.lake.commit(pending.staged, pending.final)
    columns = [Column(f.name, f.dataType.simpleString()) for f in good.schema.fields if f.name != BATCH_KEY]
    choice_params = {f"choice.{c}": ",".join(v) for c, v in table_spec.choices.items()}
    register_batch_partition(
        ctx.catalog, ctx.lake, ctx.spec.database_for("bronze"), table, columns,
        table_root=ctx.lake.path("curated", "bronze", table), attempt_dir=pending.final, batch_key=BATCH_KEY,
        batch_id=ctx.batch_id, parameters={**parameters, "source_format": table_spec.format, **choice_params},
        replace_all=ctx.full_refresh)
    result.location = pending.final


#: Bigger than any file: with the open cost as large, Spark packs exactly one file per task and
#: never splits one, so a row's index within its task is its line's index within its file.
_WHOLE_FILE_BYTES = str(1 << 50)


@contextmanager
def _one_task_per_file(spark: SparkSession) -> Iterator[None]:
    """Plan scans with one task per input file (JSON line numbers depend on it), then restore."""
    keys = ("spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes")
    before = {k: spark.conf.get(k, None) for k in keys}
    for key in keys:
        spark.conf.set(key, _WHOLE_FILE_BYTES)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _bronze_jdbc_table(spark: SparkSession, ctx: JobContext, table: str, table_spec: BronzeTableSpec,
                       result: TableMetrics) -> TableMetrics:
    """A database table as a source: rows above the bookmark (high-water mark) form the batch."""
    from pyspark.sql import functions as F

    options = expand_env(table_spec.options)
    source = ctx.spec.source_key(table)
    reader_options = {"url": options["url"], "driver": options.get("driver", "org.postgresql.Driver"),
                      **{k: v for k, v in options.items() if k in ("user", "password", "fetchsize")}}
    dbtable = options["dbtable"]
    query = f"SELECT * FROM {dbtable}"
    if table_spec.bookmark_column:
        column = table_spec.bookmark_column

        def current_max() -> str | None:
            row = (spark.read.format("jdbc").options(**reader_options)
                   .option("query", f"SELECT CAST(MAX({column}) AS VARCHAR(64)) AS hwm FROM {dbtable}").load().first())
            return None if row is None else row["hwm"]

        window = Bookmarks(ctx.settings.catalog_url).range_for(source, ctx.batch_id, column, current_max,
                                                               full_refresh=ctx.full_refresh)
        if window.empty:
            result.skipped_reason = f"no rows in {dbtable} with {column} past the bookmark {window.low}"
            return result
        assert window.high is not None  # not empty
        conditions = [f"{column} <= {sql_literal(window.high)}"]
        if window.low is not None:
            conditions.append(f"{column} > {sql_literal(window.low)}")
        query += " WHERE " + " AND ".join(conditions)
    rows = spark.read.format("jdbc").options(**reader_options).option("query", query).load()
    from lakeglue.secrets import redact

    origin = f"{redact(options['url'])}#{dbtable}"  # lineage shows the source, never its password
    parsed = rows.select("*", F.lit(origin).alias("_source_file"), F.lit(None).cast("int").alias("_line"),
                         F.lit(None).cast("string").alias("_reject_reason"), F.lit(None).cast("string").alias("_raw"))
    result.files_read = 1
    _commit_batch(spark, ctx, table, table_spec, parsed, result, {"source_table": origin})
    return result


def _read(spark: SparkSession, raw: Table, table_spec: BronzeTableSpec, files: list[str]) -> DataFrame:
    """Rows with ``_source_file``, ``_line``, ``_reject_reason`` (null when good) and ``_raw``."""
    if table_spec.format == "json":
        return _read_json_lines(spark, raw, files, table_spec.choices)
    if table_spec.format == "csv":
        return _read_csv(spark, raw, table_spec, files)
    return _read_parquet(spark, files, table_spec.choices)


def _text_schema(spark: SparkSession, raw: Table) -> StructType:
    """The raw table's schema with every leaf as string: parse structure, keep values verbatim."""
    from pyspark.sql.types import ArrayType, MapType, StringType, StructField, StructType

    def as_text(dt: DataType) -> DataType:
        if isinstance(dt, StructType):
            return StructType([StructField(f.name, as_text(f.dataType), True) for f in dt.fields])
        if isinstance(dt, ArrayType):
            return ArrayType(as_text(dt.elementType), True)
        if isinstance(dt, MapType):
            return MapType(StringType(), as_text(dt.valueType), True)
        return StringType()

    ddl = ", ".join(f"`{c.name}` {c.type}" for c in raw.columns) or "`value` string"
    schema = spark.createDataFrame([], ddl).schema
    text = as_text(schema)
    assert isinstance(text, StructType)
    return StructType([*text.fields, StructField("_corrupt_record", StringType(), True)])


def _read_json_lines(spark: SparkSession, raw: Table, files: list[str], choices: dict[str, list[str]] | None = None,
                     only: tuple[list[str], list[int]] | None = None) -> DataFrame:
    """Read files as text lines and parse each line, so every bad line keeps its file and number.

    ``only`` (source files, line numbers) keeps just the lines at those numbers in those files,
    before any parsing (numbers count every line of a file, so they do not change).
    """
    from pyspark.sql import functions as F

    choices = choices or {}

    def json_choice(name: str, variants: list[str]) -> Any:
        """One struct field per variant; a value lands in the first variant its JSON token fits."""
        typed = {v: F.from_json("_raw", f"`{name}` {v}")[name] for v in variants if v != "string"}
        fields = []
        taken = F.lit(False)
        for variant in variants:
            if variant == "string":
                value = F.when(~taken, F.col(f"_j.`{name}`"))
            else:
                value = F.when(~taken, typed[variant])
                taken = taken | typed[variant].isNotNull()
            fields.append(value.cast(variant).alias(variant))
        return F.struct(*fields).alias(name)

    # One row per line, read as a stream (no whole-file string, no 2 GB limit per file); "\n" ends a
    # line and one CR before it is dropped, as DuckDB reads them. Each file is its own task (see
    # _one_task_per_file, in force when the job runs), so the row index in the task is the line index.
    value = F.col("value")
    lines = (spark.read.option("lineSep", "\n").text(files)
             .select(F.input_file_name().alias("_source_file"),
                     ((F.monotonically_increasing_id().bitwiseAND(_ROW_IN_TASK)) + 1).cast("int").alias("_line"),
                     F.when(value.endswith("\r"), F.expr("substring(value, 1, length(value) - 1)"))
                     .otherwise(value).alias("_raw"))
             .filter(F.trim(F.col("_raw")) != ""))
    if only is not None:
        # Kept apart from the parse below (a checkpoint, on the executors' disks if need be): else the
        # optimizer merges the callers' reject test into this filter, whose JSON parse then keeps the
        # whole filter out of generated code and every line of every file pays the slow path.
        lines = lines.filter(F.col("_line").isin(only[1]) & F.col("_source_file").isin(only[0])).localCheckpoint()
    schema = _text_schema(spark, raw)
    parsed = lines.withColumn("_j", F.from_json("_raw", schema, {
        "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record", "allowSingleQuotes": "false"}))
    # Jackson stops after the first value; a complete object with nothing after it ends in "}".
    trailing_text = ~F.expr("trim(TRAILING ' \t\r' FROM _raw)").endswith("}")
    reason = (F.when(F.col("_j").isNull() | F.col("_j._corrupt_record").isNotNull() | trailing_text,
                     F.when(F.trim(F.col("_raw")).startswith("{"), F.lit("malformed JSON: not a complete object"))
                     .otherwise(F.lit("not a JSON object"))))
    data_cols = [json_choice(c.name, choices[c.name]) if c.name in choices else F.col(f"_j.`{c.name}`").alias(c.name)
                 for c in raw.columns]
    return parsed.select(*data_cols, "_source_file", "_line", reason.alias("_reject_reason"), "_raw")


def _read_csv(spark: SparkSession, raw: Table, table_spec: BronzeTableSpec, files: list[str]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    names = [c.name for c in raw.columns]
    schema = StructType([StructField(n, StringType(), True) for n in names]
                        + [StructField("_corrupt_record", StringType(), True)])
    header = table_spec.options.get("header", "true" if raw.parameters.get("skip.header.line.count") else "false")
    options = {"header": header, "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record",
               "multiLine": "true", "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false",
               "sep": raw.storage.serde_parameters.get("field.delim", raw.parameters.get("delimiter", ","))}
    options.update({k: v for k, v in table_spec.options.items() if k != "header"})
    df = spark.read.options(**options).schema(schema).csv(files).withColumn("_source_file", F.input_file_name())
    reason = F.when(F.col("_corrupt_record").isNotNull(),
                    F.lit(f"CSV record does not have the {len(names)} fields of the header"))
    data_cols = [text_choice(F.col(f"`{n}`"), table_spec.choices[n]).alias(n) if n in table_spec.choices
                 else F.col(f"`{n}`") for n in names]
    return df.select(*data_cols, "_source_file", F.lit(None).cast("int").alias("_line"),
                     reason.alias("_reject_reason"), F.col("_corrupt_record").alias("_raw"))


def text_choice(value: Any, variants: list[str]) -> Any:
    """Choice over untyped text (CSV): the first variant the text casts to, else ``string``."""
    from pyspark.sql import functions as F

    taken = F.lit(False)
    fields = []
    for variant in variants:
        if variant == "string":
            fields.append(F.when(~taken, value).alias("string"))
        else:
            typed = value.try_cast(variant)
            fields.append(F.when(~taken, typed).alias(variant))
            taken = taken | typed.isNotNull()
    return F.struct(*fields)


def _read_parquet(spark: SparkSession, files: list[str], choices: dict[str, list[str]] | None = None) -> DataFrame:
    """Parquet keeps its types; files that disagree on a declared choice column are read per group."""
    from pyspark.sql import functions as F

    choices = choices or {}
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in files:
        groups.setdefault(parquet_choice_types(path, choices), []).append(path)
    frames = []
    for key, group in sorted(groups.items()):
        try:
            df = spark.read.option("mergeSchema", "true").parquet(*group)
        except Exception as exc:  # Spark's message does not say which files disagree
            if "CANNOT_MERGE" not in str(exc) and "incompatible" not in str(exc).lower():
                raise
            raise ValueError(f"parquet files {group} have incompatible column types ({exc}); declare the column "
                             "under bronze.<table>.choices to keep every variant") from exc
        for (name, variants), physical in zip(sorted(choices.items()), key, strict=True):
            if physical == "absent":
                continue
            df = df.withColumn(name, F.struct(*(
                (F.col(f"`{name}`") if v == physical else F.lit(None)).cast(v).alias(v) for v in variants)))
        frames.append(df)
    df = frames[0]
    for other in frames[1:]:
        df = df.unionByName(other, allowMissingColumns=True)
    return df.select("*", F.input_file_name().alias("_source_file"), F.lit(None).cast("int").alias("_line"),
                     F.lit(None).cast("string").alias("_reject_reason"), F.lit(None).cast("string").alias("_raw"))


def _write_quarantine(ctx: JobContext, table: str, bad: DataFrame, expected: int) -> None:
    """The rejects as one JSON file, in file and line order; repartition(1), not coalesce(1), so
    the parse upstream stays parallel and only the few rejected rows meet in one task. The rows
    written are counted as they are written and must be the ``expected`` rejects of the data pass."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    written = Observation(f"bronze-{table}-quarantine")
    final = quarantine_dir(ctx.lake, ctx.spec.name, "bronze", table, ctx.batch_id)
    staged = ctx.lake.new_staging_path(f"quarantine-bronze-{table}")
    (bad.select(F.col("_source_file").alias("source_file"), F.col("_line").alias("line"),
                F.col("_reject_reason").alias("reason"), F.col("_raw").alias("raw"),
                F.lit("bronze").alias("layer"), F.lit(table).alias("table"), F.lit(ctx.batch_id).alias("batch_id"))
        .observe(written, F.count(F.lit(1)).alias("rows"))
        .repartition(1).sortWithinPartitions("source_file", "line").write.json(ctx.lake.uri(staged)))
    if int(written.get["rows"]) != expected:
        raise RuntimeError(f"bronze.{table}: {expected} rows were rejected while writing the batch but "
                           f"{written.get['rows']} were found again for quarantine; nothing was committed")
    replace_quarantine(ctx.lake, staged, final)
