"""Bronze: raw files → Parquet, with lineage columns, bad records quarantined with the reason.

Bronze keeps every value as the source had it: text formats land as strings (JSON nesting
kept, leaves as text) so nothing is lost to a wrong guess; typing is silver's job. Only
the files the ledger gives to this batch are read (the job bookmark).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lakeglue import records
from lakeglue.catalog.model import Column, Table
from lakeglue.jobs import progress
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
from lakeglue.jobs.spark import file_probe
from lakeglue.jobs.spark.inputs import BatchInputs, FileReject, literal, prepare_inputs, with_claimed_names
from lakeglue.pipelines.spec import BronzeTableSpec
from lakeglue.records import AccountingError

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

BATCH_KEY = records.BATCH_KEY
#: Up to this many rejected JSON lines, the write pass itself notes where they are (exactly, in
#: bounded memory) and the quarantine pass parses only those lines; above it, every line again.
LOCATED_REJECTS = 4096
LINEAGE = records.LINEAGE_COLUMNS
#: monotonically_increasing_id() keeps the row's index within its task in the lower 33 bits.
_ROW_IN_TASK = (1 << 33) - 1


@holds_writer_locks("bronze")
def run_bronze(spark: SparkSession, ctx: JobContext) -> JobMetrics:
    started = time.monotonic()
    metrics = JobMetrics("bronze", ctx.spec.name, ctx.batch_id)
    with progress.tracking("bronze", ctx.settings.progress_seconds, tables=len(ctx.spec.bronze),
                           engine_status=progress.spark_status(spark)) as tracker:
        for table, table_spec in ctx.spec.bronze.items():
            tracker.start_table(table)
            metrics.tables.append(_bronze_table(spark, ctx, table, table_spec))
            done = metrics.tables[-1]
            tracker.table_done(done.files_read + done.files_quarantined, done.rows_written)
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics


def _bronze_table(spark: SparkSession, ctx: JobContext, table: str, table_spec: BronzeTableSpec) -> TableMetrics:
    result = TableMetrics(table=f"{ctx.spec.database_for('bronze')}.{table}")
    if table_spec.format == "jdbc":
        return _bronze_jdbc_table(spark, ctx, table, table_spec, result)
    claimed = claim_bronze_files(ctx, table, result)
    if claimed is None:
        return result
    raw, source, entries = claimed.raw, claimed.source, claimed.entries
    progress.current().claimed(result.files_read, result.bytes_read)
    encoding = records.table_encoding(raw.parameters, table_spec.options.get("encoding"))
    transcode = encoding if table_spec.format == "json" and file_probe.needs_transcoding(encoding) else None
    inputs = prepare_inputs(spark, ctx.lake, entries, table, transcode_from=transcode)
    undecodable_files: frozenset[str] = frozenset()
    try:
        while True:
            reading = _reading(spark, ctx, raw, table_spec, inputs, undecodable_files)
            if transcode:  # the staged copies are UTF-8
                reading = replace(reading, encoding="UTF-8")
            try:
                progress.current().set_step("reading the files and writing the batch")
                _read_and_commit(spark, ctx, table, table_spec, raw, reading, inputs, len(entries), result)
                break
            except _MixedLineEnds as redo:
                # a CSV file mixing line ends (a lone CR): read again from a copy ending every line
                # in LF (rare, so a second pass)
                inputs.normalize_line_ends(ctx.lake, redo.files)
            except _Undecodable as redo:
                # Spark's CSV reader replaced bytes not valid in the encoding: read again, rejecting
                # the rows of those files that hold a replacement character (rare, so a second pass)
                undecodable_files = undecodable_files | redo.files
            except Exception as exc:
                if not _spark_failure(exc):
                    raise
                # the slow path: one bad file is that file's problem, not the batch's
                if not inputs.probe(ctx.lake, table_spec.format):
                    raise
    finally:
        inputs.cleanup(ctx.lake)
    ctx.ledger.mark_done(source, ctx.batch_id)
    return result


class _Undecodable(Exception):
    def __init__(self, files: frozenset[str]) -> None:
        super().__init__(f"undecodable bytes in {sorted(files)}")
        self.files = files


class _MixedLineEnds(Exception):
    def __init__(self, files: frozenset[str]) -> None:
        super().__init__(f"CR line ends Spark's CSV reader did not split in {sorted(files)}")
        self.files = files


class _ReadFailure(RuntimeError):
    """Reading a file failed outside Spark (a Parquet footer read in Python): probe the files."""


def _spark_failure(exc: BaseException) -> bool:
    """A failure of Spark reading the files (not ours, not an accounting error, not a kill)."""
    if isinstance(exc, AccountingError):
        return False
    if isinstance(exc, _ReadFailure):
        return True
    try:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover - pyspark is there whenever this runs
        return False
    return isinstance(exc, (PySparkException, Py4JJavaError))


@dataclass(frozen=True)
class _Reading:
    """How this batch's files are read: which files, under which names, in which encoding."""

    uris: list[str]
    renamed: dict[str, str]
    encoding: str
    max_record_bytes: int
    null_markers: tuple[str, ...]
    original_names: dict[str, str]
    #: CSV: files whose bytes are not valid in the encoding (rows with U+FFFD there are rejected)
    undecodable_files: frozenset[str] = frozenset()


def _reading(spark: SparkSession, ctx: JobContext, raw: Table, table_spec: BronzeTableSpec, inputs: BatchInputs,
             undecodable_files: frozenset[str]) -> _Reading:
    options = table_spec.options
    markers = options.get("null_markers")
    override = None if markers is None else (json.loads(markers) if markers.startswith("[") else [markers])
    return _Reading(
        uris=inputs.read_uris, renamed=inputs.renamed(spark),
        encoding=records.table_encoding(raw.parameters, options.get("encoding")),
        max_record_bytes=ctx.settings.max_record_bytes,
        null_markers=records.null_markers(raw.parameters, override),
        original_names=records.original_names(raw.parameters), undecodable_files=undecodable_files)


def _read_and_commit(spark: SparkSession, ctx: JobContext, table: str, table_spec: BronzeTableSpec, raw: Table,
                     reading: _Reading, inputs: BatchInputs, files_claimed: int, result: TableMetrics) -> None:
    from pyspark.sql import functions as F

    parsed = _read(spark, raw, table_spec, reading)
    relocate = None
    if table_spec.format == "json" and reading.uris:
        def relocate(source_files: list[str], lines: list[int]) -> DataFrame:
            return _read_json_lines(spark, raw, reading, table_spec.choices, only=(source_files, lines))
    for key in raw.partition_keys:
        parsed = parsed.withColumn(key.name, F.regexp_extract("_source_file", f"/{key.name}=([^/]+)/", 1))
    if table_spec.format == "csv":
        # Spark refuses a CSV scan that needs only the corrupt-record column (the rejects pass
        # would): both passes read the parsed rows from memory instead.
        parsed = parsed.cache()
    try:
        _commit_batch(spark, ctx, table, table_spec, parsed, result, {"source_table": raw.qualified_name},
                      relocate, files=_FileSide(files_claimed, inputs, reading))
    finally:
        parsed.unpersist()


@dataclass(frozen=True)
class _FileSide:
    """What a file-based batch adds to the commit: whole-file rejects and the CSV byte re-check."""

    files_claimed: int
    inputs: BatchInputs
    reading: _Reading


def _commit_batch(spark: SparkSession, ctx: JobContext, table: str, table_spec: BronzeTableSpec,
                  parsed: DataFrame, result: TableMetrics, parameters: dict[str, str],
                  relocate: Callable[[list[str], list[int]], DataFrame] | None = None,
                  files: _FileSide | None = None) -> None:
    """Write the good rows as this batch's partition, quarantine the rejects, swap the catalog.

    One pass parses and writes the good rows while Observations count every row, every reject
    and every row written in the same job (no cache, no count job, no read-back); the rejects are
    parsed again only when there are some. For JSON lines the same Observation notes which files
    and line numbers were rejected (while there are at most ``LOCATED_REJECTS``), and ``relocate``
    reads back just those lines: the quarantine pass then scans text instead of parsing every line.
    The counts must add up (``records.BronzeAccount``) before anything is committed.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    parsed = parsed.withColumn("_ingested_at", F.lit(ctx.started_at).cast("timestamp"))
    seen, kept = Observation(f"bronze-{table}"), Observation(f"bronze-{table}-written")
    rejected = F.col("_reject_reason").isNotNull()
    located = [] if relocate is None else [
        # exact while the distinct values are at most LOCATED_REJECTS, in memory bounded by it
        F.histogram_numeric(F.when(rejected, F.col("_line")), F.lit(LOCATED_REJECTS)).alias("lines"),
        F.collect_set(F.when(rejected, F.col("_source_file"))).alias("files")]  # at most one per file
    suspect = "_suspect" in parsed.columns
    lone_cr = "_lone_cr" in parsed.columns and files is not None and not file_probe.needs_transcoding(
        files.reading.encoding)  # the copy is made by bytes: CR and LF must be the bytes 0x0D and 0x0A
    if lone_cr:  # CSV rows rejected with a CR inside: in which files
        located.append(F.collect_set(F.when(F.col("_lone_cr") & rejected, F.col("_source_file"))).alias("lone_cr"))
    if suspect:  # CSV rows holding U+FFFD: in which files (at most one value per file)
        located.append(F.collect_set(F.when(F.col("_suspect") & ~rejected, F.col("_source_file"))).alias("suspect"))
    observed = parsed.observe(seen, F.count(F.lit(1)).alias("read"), F.count("_reject_reason").alias("bad"),
                              F.count(F.when(rejected & ~F.expr("is_valid_utf8(_raw)"), 1)).alias("bytes"),
                              *located)
    good = (observed.filter(F.col("_reject_reason").isNull())
            .drop("_reject_reason", "_raw", "_suspect", "_size", "_lone_cr")
            .observe(kept, F.count(F.lit(1)).alias("rows")))
    pending = plan_batch_attempt(ctx.lake, "bronze", table)
    try:
        with _one_task_per_file(spark):
            # Straight into the batch's partition folder (what partitionBy would name it: batch ids are
            # path-safe), as partitionBy(BATCH_KEY) would have to sort every row by that one value first.
            good.write.parquet(ctx.lake.uri(f"{pending.staged}/{BATCH_KEY}={ctx.batch_id}"))
            counts = seen.get
            redo = (files.inputs.line_ends_normalizable(set(counts["lone_cr"]))
                    if lone_cr and files is not None else None)
            if redo:
                raise _MixedLineEnds(redo)
            if suspect and files is not None:
                undecodable = _recheck_bytes(ctx, files, set(counts["suspect"]))
                if undecodable:
                    raise _Undecodable(undecodable)
            result.rows_read, result.rows_quarantined = int(counts["read"]), int(counts["bad"])
            result.rows_written = int(kept.get["rows"])
            if not result.rows_quarantined:
                bad = parsed.limit(0)
            elif relocate is not None and result.rows_quarantined <= LOCATED_REJECTS:
                # the candidates (rejected files x rejected line numbers) hold every reject; the reason,
                # computed again on them alone, keeps exactly the rejects
                lines = sorted({int(bin_["x"]) for bin_ in counts["lines"]})
                bad = relocate(sorted(counts["files"]), lines)
            else:
                bad = parsed
            file_rejects = files.inputs.rejected if files is not None else []
            quarantined = _write_quarantine(spark, ctx, table, bad.filter(rejected), file_rejects,
                                            undecodable_bytes=int(counts["bytes"]) > 0)
        result.files_quarantined = len(file_rejects)
        if files is not None:
            result.files_read = files.files_claimed - result.files_quarantined
        records.BronzeAccount(
            files_claimed=files.files_claimed if files is not None else result.files_read,
            files_quarantined=result.files_quarantined, records_read=result.rows_read,
            rows_written=result.rows_written, records_quarantined=quarantined).check(result.table)
    except BaseException:
        if ctx.lake.fs.exists(pending.staged):
            ctx.lake.fs.rm(pending.staged, recursive=True)
        raise
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


def _recheck_bytes(ctx: JobContext, files: _FileSide, suspects: set[str]) -> frozenset[str]:
    """Of the files where Spark's CSV reader produced U+FFFD, those whose bytes really are not valid
    in the encoding (a U+FFFD written in valid UTF-8 is data, not damage). Rare: read in Python."""
    encoding = files.reading.encoding
    found = set()
    for f in files.inputs.files:
        checked = f.source_file not in suspects or f.source_file in files.reading.undecodable_files
        if not checked and file_probe.first_undecodable(ctx.lake.fs, f.probe_path, encoding) is not None:
            found.add(f.source_file)
    return frozenset(found)


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


def _read(spark: SparkSession, raw: Table, table_spec: BronzeTableSpec, reading: _Reading) -> DataFrame:
    """Rows with ``_source_file``, ``_line``, ``_reject_reason`` (null when good) and ``_raw``."""
    if not reading.uris:  # every file of the batch was quarantined whole
        return _no_rows(spark, raw, table_spec)
    if table_spec.format == "json":
        return _read_json_lines(spark, raw, reading, table_spec.choices)
    if table_spec.format == "csv":
        return _read_csv(spark, raw, table_spec, reading)
    return _read_parquet(spark, reading, table_spec.choices)


def _no_rows(spark: SparkSession, raw: Table, table_spec: BronzeTableSpec) -> DataFrame:
    """The frame a batch of no readable files gives: the raw table's columns (as text where bronze
    keeps text), the lineage and reject columns, no rows."""
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    if table_spec.format == "parquet":
        data = spark.createDataFrame([], ", ".join(f"`{c.name}` {c.type}" for c in raw.columns) or "`value` string")
        fields = list(data.schema.fields)
    else:
        fields = [f for f in _text_schema(spark, raw).fields if f.name != "_corrupt_record"]
        if table_spec.format == "csv":
            fields = [StructField(c.name, StringType()) for c in raw.columns]
        fields = [_choice_field(f, table_spec.choices.get(f.name)) for f in fields]
    schema = StructType([*fields, StructField("_source_file", StringType()), StructField("_line", IntegerType()),
                         StructField("_reject_reason", StringType()), StructField("_raw", StringType())])
    return spark.createDataFrame([], schema)


def _choice_field(field: Any, variants: list[str] | None) -> Any:
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    if not variants:
        return field
    return StructField(field.name, StructType([StructField(v, _parse_datatype_string(v)) for v in variants]))


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


def _with_original_keys(dt: DataType, renamed: dict[str, str], prefix: str = "") -> DataType:
    """The same type with every renamed field under its original JSON key (``renamed`` maps the
    dotted path of safe names to the original key; an array's elements share the array's path)."""
    from pyspark.sql.types import ArrayType, MapType, StructField, StructType

    if isinstance(dt, StructType):
        return StructType([StructField(renamed.get(prefix + f.name, f.name),
                                       _with_original_keys(f.dataType, renamed, f"{prefix}{f.name}."), True)
                           for f in dt.fields])
    if isinstance(dt, ArrayType):
        return ArrayType(_with_original_keys(dt.elementType, renamed, prefix), True)
    if isinstance(dt, MapType):
        return MapType(dt.keyType, _with_original_keys(dt.valueType, renamed, prefix), True)
    return dt


#: What a quarantined record over the size limit keeps of its text: a prefix, enough to find it.
RAW_PREFIX_CHARS = 1024
_UTF8 = ("UTF-8",)
#: What a line may hold and still be blank (no record): spaces, tabs, CRs.
_BLANK = " \t\r"
#: Encoding Spark decodes itself (every byte is a character); any other goes through Python's codec.
_SPARK_DECODES = "ISO-8859-1"


def _decoded_lines(lines: DataFrame, encoding: str, limit: int) -> DataFrame:
    """``_value`` (one line as Spark read it: its bytes, unchecked) → ``_text`` (BOM dropped),
    ``_bad`` (undecodable reason or NULL), ``_size`` (bytes) and ``_big`` (over ``limit``).

    UTF-8 is checked, not decoded (Spark keeps the bytes as they were), with string functions on
    the common path; ISO-8859-1 is decoded by Spark; other one-byte-newline encodings by Python.
    Hadoop's line reader (no ``lineSep``) has already removed every line end, CRs included."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    value = F.col("_value")
    if encoding in _UTF8:
        valid = F.expr("is_valid_utf8(_value)")
        lines = lines.withColumn("_valid", valid)
        bom = (F.col("_line") == 1) & value.startswith("\ufeff")
        # Character positions are only safe on valid text.
        text = F.when(F.col("_valid") & bom, F.expr("substring(_value, 2)")).otherwise(value)
        lines = lines.withColumn("_text", text)
        bad = F.when(~F.col("_valid"), F.lit(records.undecodable(encoding)))
    else:
        data = F.col("_bytes")
        lines = lines.withColumn("_bytes", value.cast("binary"))
        if encoding == _SPARK_DECODES:
            lines, bad = lines.withColumn("_text", F.decode(data, encoding)), F.lit(None).cast("string")
        else:
            def decode(raw: bytes | None) -> tuple[str | None, str | None, int | None]:
                if raw is None:
                    return None, None, None
                try:
                    return bytes(raw).decode(encoding), None, None
                except UnicodeDecodeError as exc:
                    return records.escape_bytes(bytes(raw)), records.undecodable(encoding, exc.start), exc.start
            schema = StructType([StructField("text", StringType()), StructField("bad", StringType()),
                                 StructField("at", LongType())])
            decoded = F.udf(lambda raw: decode(raw), schema)(data)  # no hints: a plain Python UDF
            lines = lines.withColumn("_d", decoded).withColumn("_text", F.col("_d.text"))
            bad = F.col("_d.bad")
    size = F.octet_length("_text" if encoding in _UTF8 else "_bytes")  # the line's bytes in the file
    return lines.withColumn("_bad", bad).withColumn("_size", size).withColumn("_big", size > F.lit(limit))


def _read_json_lines(spark: SparkSession, raw: Table, reading: _Reading, choices: dict[str, list[str]] | None = None,
                     only: tuple[list[str], list[int]] | None = None) -> DataFrame:
    """Read files as lines of bytes and parse each line, so every bad line keeps its file and number.

    A line over ``max_record_bytes`` or not valid in the table's encoding is rejected before the
    parse, with its reason; the other lines of the file still land. ``only`` (source files, line
    numbers) keeps just the lines at those numbers in those files, before any parsing (numbers
    count every line of a file, so they do not change).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructType

    choices = choices or {}
    renamed = reading.original_names

    def key(name: str) -> str:
        return renamed.get(name, name).replace("`", "``")

    def json_choice(name: str, variants: list[str]) -> Any:
        """One struct field per variant; a value lands in the first variant its JSON token fits."""
        typed = {v: F.from_json("_json", f"`{key(name)}` {v}")[renamed.get(name, name)]
                 for v in variants if v != "string"}
        fields = []
        taken = F.lit(False)
        for variant in variants:
            if variant == "string":
                value = F.when(~taken, _bare_number(F.col(f"_j.`{name}`")))
            else:
                value = F.when(~taken, typed[variant])
                taken = taken | typed[variant].isNotNull()
            fields.append(value.cast(variant).alias(variant))
        return F.struct(*fields).alias(name)

    # One row per line, read as a stream (no whole-file string, no 2 GB limit per file); Hadoop's
    # line reader (no lineSep: as Glue and Athena read them) ends a line at "\n", "\r\n" or a lone
    # "\r". Each file is its own task (see _one_task_per_file, in force when the job runs), so the
    # row index in the task is the line index.
    lines = (spark.read.text([literal(u) for u in reading.uris])
             .select(with_claimed_names(F.input_file_name(), reading.renamed).alias("_source_file"),
                     ((F.monotonically_increasing_id().bitwiseAND(_ROW_IN_TASK)) + 1).cast("int").alias("_line"),
                     F.col("value").alias("_value")))
    if only is not None:
        # Kept apart from the parse below (a checkpoint, on the executors' disks if need be): else the
        # optimizer merges the callers' reject test into this filter, whose JSON parse then keeps the
        # whole filter out of generated code and every line of every file pays the slow path.
        lines = lines.filter(F.col("_line").isin(only[1]) & F.col("_source_file").isin(only[0])).localCheckpoint()
    # whitespace-only lines (spaces, tabs) are no records, as blank ones are not
    lines = (_decoded_lines(lines, reading.encoding, reading.max_record_bytes)
             .filter(F.expr(f"trim(BOTH '{_BLANK}' FROM _text)") != ""))
    safe = _text_schema(spark, raw)
    schema = _with_original_keys(safe, renamed) if renamed else safe
    assert isinstance(schema, StructType)
    big, bad = F.col("_big"), F.col("_bad")
    parsed = (lines.withColumn("_json", F.when(~big & bad.isNull(), F.col("_text")))
              .withColumn("_j", F.from_json("_json", schema, {
                  "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record", "allowSingleQuotes": "false"})))
    if renamed:  # the original keys were parsed; the columns keep their safe names (same shape)
        parsed = parsed.withColumn("_j", F.col("_j").cast(safe))
    # Jackson stops after the first value; a complete object with nothing after it ends in "}". Text
    # after the object's close ("{...} {...}") shows as a "}" then something no valid JSON puts after
    # one (only inside a string): just those lines are parsed again, as one array element, to be sure.
    trailing_text = ~F.expr("trim(TRAILING ' \t\r' FROM _text)").endswith("}") | (
        F.col("_text").rlike(_AFTER_CLOSE)
        & F.from_json(F.concat(F.lit("["), F.col("_text"), F.lit("]")), "array<string>").isNull())
    reason = (F.when(big, _too_large(F.col("_size"), reading.max_record_bytes)).when(bad.isNotNull(), bad)
              .when(F.col("_j").isNull() | F.col("_j._corrupt_record").isNotNull() | trailing_text,
                    F.when(F.trim(F.col("_text")).startswith("{"), F.lit(records.MALFORMED_JSON))
                    .otherwise(F.lit(records.NOT_OBJECT))))
    raw_text = F.when(big, F.substring("_text", 1, RAW_PREFIX_CHARS)).otherwise(F.col("_text"))
    text_leaves = {f.name for f in safe.fields if isinstance(f.dataType, StringType)}
    data_cols = [json_choice(c.name, choices[c.name]) if c.name in choices
                 else (_bare_number(F.col(f"_j.`{c.name}`")) if c.name in text_leaves
                       else F.col(f"_j.`{c.name}`")).alias(c.name)
                 for c in raw.columns]
    return parsed.select(*data_cols, "_source_file", "_line", reason.alias("_reject_reason"), raw_text.alias("_raw"),
                         F.when(big, F.col("_size")).alias("_size"))


#: A "}" then, past any spaces, a character valid JSON never puts after a closing brace.
_AFTER_CLOSE = r"\}\s*[^\s,\]}]"
#: How Spark's JSON reader gives a bare non-numeric number (NaN, Infinity) read as text: quoted.
_QUOTED_NON_NUMERIC = tuple(f'"{t}"' for t in ("NaN", "Infinity", "+Infinity", "-Infinity", "INF", "+INF", "-INF"))


def _bare_number(value: SparkColumn) -> SparkColumn:
    """A top-level text leaf as bronze keeps it: a bare ``NaN``/``Infinity`` token as its text
    (``NaN``, as DuckDB's bronze stores it, so silver casts it to a double), not quoted. A JSON
    string that really holds the quotes (``"\\"NaN\\""``) shows them escaped in the line: kept."""
    from pyspark.sql import functions as F

    escaped = F.concat(F.lit("\\"), value.substr(F.lit(1), F.length(value) - 1), F.lit('\\"'))
    bare = value.isin(*_QUOTED_NON_NUMERIC) & ~F.col("_text").contains(escaped)
    return F.when(bare, F.regexp_replace(value, '"', "")).otherwise(value)


def _too_large(size: SparkColumn, limit: int) -> SparkColumn:
    """``records.record_too_large(size, limit)`` as a Spark expression."""
    from pyspark.sql import functions as F

    before, after = records.record_too_large(-1, limit).split("-1", 1)
    return F.concat(F.lit(before), size.cast("string"), F.lit(after))


def _read_csv(spark: SparkSession, raw: Table, table_spec: BronzeTableSpec, reading: _Reading) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    names = [c.name for c in raw.columns]
    schema = StructType([StructField(n, StringType(), True) for n in names]
                        + [StructField("_corrupt_record", StringType(), True)])
    header = table_spec.options.get("header", "true" if raw.parameters.get("skip.header.line.count") else "false")
    sep = raw.storage.serde_parameters.get("field.delim", raw.parameters.get("delimiter", ","))
    options = {"header": header, "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record",
               "multiLine": "true", "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false",
               "sep": sep, "encoding": reading.encoding}
    options.update({k: v for k, v in table_spec.options.items() if k not in ("header", *_OUR_OPTIONS)})
    df = (spark.read.options(**options).schema(schema).csv([literal(u) for u in reading.uris])
          .withColumn("_source_file", with_claimed_names(F.input_file_name(), reading.renamed)))
    # a whitespace-only line (spaces, tabs) is no record (Spark makes it a one-field corrupt one)
    corrupt = F.col("_corrupt_record")
    df = df.filter(corrupt.isNull() | (F.expr(f"trim(BOTH '{_BLANK}' FROM _corrupt_record)") != ""))
    markers = list(reading.null_markers)

    def value(name: str) -> Any:
        column = F.col(f"`{name}`")
        return F.when(column.isin(markers), F.lit(None)).otherwise(column) if markers else column

    # Spark's CSV reader replaces bytes not valid in the encoding by U+FFFD, without a word: such rows
    # are flagged, their files' bytes checked once (rare), and then rejected if the bytes were bad.
    everything = F.concat_ws("\x00", *(F.col(f"`{n}`") for n in names), F.col("_corrupt_record"))
    suspect = F.coalesce(everything.contains("\ufffd"), F.lit(False))
    # The record's text as parsed (quotes and the line end are gone): its size is what the limit checks.
    record_text = F.coalesce(F.col("_corrupt_record"), F.concat_ws(sep, *(F.col(f"`{n}`") for n in names)))
    size = F.octet_length(record_text)
    big = size > F.lit(reading.max_record_bytes)
    undecodable = suspect & F.col("_source_file").isin(sorted(reading.undecodable_files))
    reason = (F.when(big, _too_large(size, reading.max_record_bytes))
              .when(undecodable, F.lit(records.undecodable(reading.encoding)))
              .when(F.col("_corrupt_record").isNotNull(),
                    F.lit(records.ragged_csv_record(len(names)))))
    data_cols = [text_choice(value(n), table_spec.choices[n]).alias(n) if n in table_spec.choices
                 else value(n).alias(n) for n in names]
    return df.select(*data_cols, "_source_file", F.lit(None).cast("int").alias("_line"),
                     reason.alias("_reject_reason"),
                     F.when(big, F.substring(record_text, 1, RAW_PREFIX_CHARS))
                     .when(undecodable | F.col("_corrupt_record").isNotNull(), record_text).alias("_raw"),
                     suspect.alias("_suspect"), F.when(big, size).alias("_size"),
                     # a lone CR in a rejected record: Spark's multi-line CSV reader splits lines at
                     # the one separator it detects on the first line ("\n" or "\r\n"), not at a CR
                     F.coalesce(F.col("_corrupt_record").contains("\r"), F.lit(False)).alias("_lone_cr"))


#: Spec options lakeglue reads itself (never passed to Spark's reader).
_OUR_OPTIONS = ("encoding", "null_markers")


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


def _read_parquet(spark: SparkSession, reading: _Reading, choices: dict[str, list[str]] | None = None) -> DataFrame:
    """Parquet keeps its types; files that disagree on a declared choice column are read per group."""
    from pyspark.sql import functions as F

    choices = choices or {}
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in reading.uris:
        try:
            found = parquet_choice_types(path, choices)
        except (OSError, ValueError) as exc:  # pyarrow cannot read the footer: the file's problem
            raise _ReadFailure(f"{path}: {exc}") from exc
        groups.setdefault(found, []).append(path)
    frames = []
    for key, group in sorted(groups.items()):
        try:
            df = spark.read.option("mergeSchema", "true").parquet(*(literal(u) for u in group))
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
    return df.select("*", with_claimed_names(F.input_file_name(), reading.renamed).alias("_source_file"),
                     F.lit(None).cast("int").alias("_line"),
                     F.lit(None).cast("string").alias("_reject_reason"), F.lit(None).cast("string").alias("_raw"))


def _write_quarantine(spark: SparkSession, ctx: JobContext, table: str, bad: DataFrame,
                      file_rejects: list[FileReject], undecodable_bytes: bool = False) -> int:
    """The rejects as one JSON file, in file and line order, whole-file rejects first (line NULL);
    repartition(1), not coalesce(1), so the parse upstream stays parallel and only the few rejected
    rows meet in one task. Returns the record rows written (counted as they are written), which
    the caller's account must find equal to the rejects of the data pass.

    ``undecodable_bytes``: some rejects hold bytes that are not UTF-8 (Spark keeps them as they
    were): their raw text becomes escaped bytes and the reason gets the offset of the first bad
    byte, by a Python function that sees only those rows."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    written = Observation(f"bronze-{table}-quarantine")
    final = quarantine_dir(ctx.lake, ctx.spec.name, "bronze", table, ctx.batch_id)
    staged = ctx.lake.new_staging_path(f"quarantine-bronze-{table}")
    reason, raw = F.col("_reject_reason"), F.col("_raw")
    if undecodable_bytes:
        fixed = _escape_undecodable(raw.cast("binary"), reason)
        broken = ~F.expr("is_valid_utf8(_raw)")
        reason, raw = F.when(broken, fixed["reason"]).otherwise(reason), F.when(broken, fixed["raw"]).otherwise(raw)
    records_df = (bad.select(F.col("_source_file").alias("source_file"), F.col("_line").alias("line"),
                             reason.alias("reason"), raw.alias("raw"), F.lit("bronze").alias("layer"),
                             F.lit(table).alias("table"), F.lit(ctx.batch_id).alias("batch_id"),
                             (F.col("_size") if "_size" in bad.columns else F.lit(None)).cast("long").alias("size"))
                  .observe(written, F.count(F.lit(1)).alias("rows")))
    if file_rejects:
        line_type = records_df.schema["line"].dataType
        schema = StructType([StructField("source_file", StringType()), StructField("line", line_type),
                             StructField("reason", StringType()), StructField("raw", StringType()),
                             StructField("layer", StringType()), StructField("table", StringType()),
                             StructField("batch_id", StringType()), StructField("size", LongType())])
        whole = spark.createDataFrame(
            [(f.source_file, None, records.unreadable_file(f.detail), None, "bronze", table, ctx.batch_id, f.size)
             for f in file_rejects], schema)
        records_df = records_df.unionByName(whole)
    (records_df.repartition(1).sortWithinPartitions(F.col("source_file"), F.col("line").asc_nulls_first())
     .write.json(ctx.lake.uri(staged)))
    replace_quarantine(ctx.lake, staged, final)
    return int(written.get["rows"])


def _escape_undecodable(data: SparkColumn, reason: SparkColumn) -> SparkColumn:
    """struct(reason, raw) for a rejected line whose bytes are not UTF-8: an undecodable line's
    reason gains the offset of its first bad byte (other reasons stay); raw keeps every byte."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    marker = records.undecodable("UTF-8")

    def fix(value: bytes | None, why: str | None) -> tuple[str | None, str | None]:
        if value is None:
            return why, None
        value = bytes(value)
        if why == marker:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                why = records.undecodable("UTF-8", exc.start)
        return why, records.escape_bytes(value)

    schema = StructType([StructField("reason", StringType()), StructField("raw", StringType())])
    return F.udf(lambda value, why: fix(value, why), schema)(data, reason)  # no hints: a plain Python UDF
