"""Bronze on DuckDB: raw files → Parquet with lineage columns, bad records quarantined with the reason.

The same contract as ``jobs.spark.bronze``: only the files the ledger gives to this batch
are read; text formats land as strings (JSON nesting kept, leaves as text); every row
carries ``_source_file`` (the file it came from, spelled as Spark spells it), ``_line``,
``_ingested_at`` and ``_batch_id``; the batch is written to staging, moved to a fresh
attempt directory and only then registered as the batch's partition, so a rerun replaces
exactly its own partition and a killed job leaves the previous table as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeglue.catalog.model import Table
from lakeglue.jobs.commit import plan_batch_attempt, register_batch_partition
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb import csv_reader, jdbc_source
from lakeglue.jobs.duckdb.catalog_io import parquet_scan
from lakeglue.jobs.duckdb.choices import parquet_choice
from lakeglue.jobs.duckdb.json_lines import TextColumn, lines_sql, parse_sql, spark_file_uri
from lakeglue.jobs.duckdb.types import parse_hive_type, quote_ident, quote_literal, values_sql
from lakeglue.jobs.duckdb.writer import write_parquet, write_quarantine
from lakeglue.jobs.faults import fault_point
from lakeglue.jobs.locks import holds_writer_locks
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.jobs.plans import claim_bronze_files
from lakeglue.jobs.quarantine import quarantine_dir, replace_quarantine
from lakeglue.pipelines.spec import BronzeTableSpec

if TYPE_CHECKING:
    import duckdb

BATCH_KEY = "_batch_id"
LINEAGE = ("_source_file", "_line", "_ingested_at", BATCH_KEY)
#: Longest JSON line accepted (DuckDB's default is 2 MB; a record can legitimately be bigger). Each
#: file scan holds a read buffer of twice this, so it is kept well below the memory limit.
MAX_LINE_BYTES = 8 << 20
_STAGE = "__lg_bronze"
_FILES = "__lg_files"


@holds_writer_locks("bronze")
def run_bronze(con: duckdb.DuckDBPyConnection, ctx: JobContext) -> JobMetrics:
    started = time.monotonic()
    metrics = JobMetrics("bronze", ctx.spec.name, ctx.batch_id)
    for table, table_spec in ctx.spec.bronze.items():
        metrics.tables.append(_bronze_table(con, ctx, table, table_spec))
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics


def _sources(ctx: JobContext, paths: list[str]) -> list[tuple[str, str]]:
    """Per file: what DuckDB opens (a local path, or an ``s3://`` URL) and what ``_source_file`` says."""
    return [(ctx.lake.engine_path(p), spark_file_uri(p, ctx.lake.protocol)) for p in paths]


def _bronze_table(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str,
                  table_spec: BronzeTableSpec) -> TableMetrics:
    result = TableMetrics(table=f"{ctx.spec.database_for('bronze')}.{table}")
    if table_spec.format == "jdbc":
        return jdbc_source.bronze_jdbc_table(con, ctx, table, table_spec, result, _commit_batch)
    claimed = claim_bronze_files(ctx, table, result)
    if claimed is None:
        return result
    raw, source, entries = claimed.raw, claimed.source, claimed.entries
    files = _sources(ctx, [e.path for e in entries])
    _stage_files(con, files, raw)
    parsed = _read(con, raw, table, table_spec, files, ctx.lake.fs)
    data_columns = [n for n in con.sql(parsed).columns if n not in ("_file", "_line", "_reject_reason", "_raw")]
    output = [(c, f"s.{quote_ident(c)}") for c in data_columns] + [("_source_file", "f.uri"), ("_line", "s._line")]
    lineage = Lineage(output=_with_partition_keys(output, raw),
                      source_file="f.uri", join=f"JOIN {_FILES} AS f ON s._file = f.file_id")
    _commit_batch(con, ctx, table, table_spec, parsed, result, {"source_table": raw.qualified_name}, lineage)
    ctx.ledger.mark_done(source, ctx.batch_id)
    return result


@dataclass(frozen=True)
class Lineage:
    """How staged rows (alias ``s``) become bronze rows: the output expressions (data columns,
    ``_source_file``, ``_line``), the expression of the source file, and the join that brings it.

    File formats stage a small file id per row and join the file's URI (and the partition values
    taken from its path) once per file here, instead of carrying the URI through every row.
    """

    output: list[str]
    source_file: str = "s._source_file"
    join: str = ""


def _stage_files(con: duckdb.DuckDBPyConnection, files: list[tuple[str, str]], raw: Table) -> None:
    """``__lg_files``: per file its id (its index), what DuckDB opens, its URI and its partition values."""
    rows = [(i, path, uri) for i, (path, uri) in enumerate(files)]
    keys = "".join(f", regexp_extract(uri, {quote_literal(f'/{k.name}=([^/]+)/')}, 1) AS {quote_ident(f'__pk{n}')}"
                   for n, k in enumerate(raw.partition_keys))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_FILES} AS SELECT *{keys} FROM "
                f"({values_sql(rows, ('INTEGER', 'VARCHAR', 'VARCHAR'))}) AS f(file_id, path, uri)")


def _commit_batch(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str, table_spec: BronzeTableSpec,
                  parsed: str, result: TableMetrics, parameters: dict[str, str],
                  lineage: Lineage | None = None) -> None:
    """Quarantine the rejects, write the good rows as this batch's partition, swap the catalog.

    ``parsed`` has the output columns (or, with ``lineage``, what it needs), ``_reject_reason`` and
    ``_raw``; only those rows are staged — constant lineage columns are added when writing.
    """
    assert ctx.started_at is not None
    ingested = quote_literal(ctx.started_at.strftime("%Y-%m-%d %H:%M:%S.%f+00"))
    if lineage is None:
        lineage = Lineage(output=[f"s.{quote_ident(c)}" for c in con.sql(parsed).columns
                                  if c not in ("_reject_reason", "_raw")])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS {parsed}")
    con.execute("DROP TABLE IF EXISTS __lg_lines")  # parsed: the raw lines' memory is no longer needed
    try:
        counts = con.execute(f"SELECT count(*) FILTER (WHERE _reject_reason IS NULL), "
                             f"count(*) FILTER (WHERE _reject_reason IS NOT NULL) FROM {_STAGE}").fetchone()
        assert counts is not None
        result.rows_written, result.rows_quarantined = int(counts[0]), int(counts[1])
        result.rows_read = result.rows_written + result.rows_quarantined
        _write_quarantine(con, ctx, table, lineage)
        pending = plan_batch_attempt(ctx.lake, "bronze", table)
        written = write_parquet(
            con, f"SELECT {', '.join(lineage.output)}, CAST({ingested} AS TIMESTAMPTZ) AS _ingested_at "
                 f"FROM {_STAGE} AS s {lineage.join} WHERE s._reject_reason IS NULL",
            ctx.lake.engine_path(f"{pending.staged}/{BATCH_KEY}={ctx.batch_id}"), naive_timestamp="timestamp_ntz")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_STAGE}")
        con.execute(f"DROP TABLE IF EXISTS {_FILES}")
    fault_point(f"bronze.{table}.before_commit")
    ctx.lake.commit(pending.staged, pending.final)
    fault_point(f"bronze.{table}.before_catalog_swap")
    choice_params = {f"choice.{c}": ",".join(v) for c, v in table_spec.choices.items()}
    register_batch_partition(
        ctx.catalog, ctx.lake, ctx.spec.database_for("bronze"), table, list(written.columns),
        table_root=ctx.lake.path("curated", "bronze", table), attempt_dir=pending.final, batch_key=BATCH_KEY,
        batch_id=ctx.batch_id, parameters={**parameters, "source_format": table_spec.format, **choice_params},
        replace_all=ctx.full_refresh)
    result.location = pending.final


def _with_partition_keys(output: list[tuple[str, str]], raw: Table) -> list[str]:
    """The (name, expression) columns, with partition values from the file path as Spark's
    ``regexp_extract`` gives them ('' when absent), computed once per file (:func:`_stage_files`)."""
    columns = [name for name, _ in output]
    select = [f"{expr} AS {quote_ident(name)}" for name, expr in output]
    for n, key in enumerate(raw.partition_keys):
        expr = f"f.{quote_ident(f'__pk{n}')} AS {quote_ident(key.name)}"
        if key.name in columns:  # withColumn replaces a same-named column in place
            select[columns.index(key.name)] = expr
        else:
            select.append(expr)
    return select


def _read(con: duckdb.DuckDBPyConnection, raw: Table, table: str, table_spec: BronzeTableSpec,
          files: list[tuple[str, str]], fs: Any) -> str:
    """SQL of rows with the data columns, ``_file`` (id in ``__lg_files``), ``_line``, ``_reject_reason``, ``_raw``."""
    if table_spec.format == "json":
        columns = [TextColumn(c.name, parse_hive_type(c.type).as_text()) for c in raw.columns]
        if not columns:
            columns = [TextColumn("value", parse_hive_type("string"))]
        # Lines are numbered by one ordered scan per file (the one statement that needs insertion order);
        # parsing them is then free to run in parallel.
        con.execute("SET preserve_insertion_order = true")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE __lg_lines AS "
                        f"{lines_sql([p for p, _ in files], MAX_LINE_BYTES)}")
        finally:
            con.execute("SET preserve_insertion_order = false")
        return parse_sql("SELECT * FROM __lg_lines", columns, table_spec.choices)
    if table_spec.format == "csv":
        return csv_reader.read_csv_sql(con, raw, table, table_spec, files, _FILES)
    return _parquet_sql(con, files, table_spec.choices, fs)


def _parquet_sql(con: duckdb.DuckDBPyConnection, files: list[tuple[str, str]], choices: dict[str, list[str]],
                 fs: Any) -> str:
    """Parquet keeps its types; files that disagree on a declared choice column are read per group."""
    from lakeglue.jobs.parquet_footers import parquet_choice_types

    groups: dict[tuple[str, ...], list[str]] = {}
    for path, _ in files:
        groups.setdefault(parquet_choice_types(path, choices, fs), []).append(path)
    selects = []
    for key, group in sorted(groups.items()):
        replaced = {name: parquet_choice(name, physical, variants)
                    for (name, variants), physical in zip(sorted(choices.items()), key, strict=True)
                    if physical != "absent"}
        scan = parquet_scan(group, with_file=True)
        if replaced:
            replace = ", ".join(f"{expr} AS {quote_ident(n)}" for n, expr in replaced.items())
            selects.append(f"SELECT * REPLACE ({replace}) FROM {scan}")
        else:
            selects.append(f"SELECT * FROM {scan}")
    data = " UNION ALL BY NAME ".join(f"({s})" for s in selects)
    return (f"SELECT d.* EXCLUDE (__file), f.file_id AS _file, CAST(NULL AS INTEGER) AS _line, "
            f"CAST(NULL AS VARCHAR) AS _reject_reason, CAST(NULL AS VARCHAR) AS _raw "
            f"FROM ({data}) AS d JOIN {_FILES} AS f ON d.__file = f.path")


def _write_quarantine(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str, lineage: Lineage) -> None:
    final = quarantine_dir(ctx.lake, ctx.spec.name, "bronze", table, ctx.batch_id)
    staged = ctx.lake.new_staging_path(f"quarantine-bronze-{table}")
    write_quarantine(con, f"SELECT {lineage.source_file} AS source_file, s._line AS line, "
                          f"s._reject_reason AS reason, s._raw AS raw, 'bronze' AS layer, "
                          f"{quote_literal(table)} AS \"table\", {quote_literal(ctx.batch_id)} AS batch_id "
                          f"FROM {_STAGE} AS s {lineage.join} WHERE s._reject_reason IS NOT NULL "
                          f"ORDER BY source_file, line", staged, ctx.lake.fs)
    replace_quarantine(ctx.lake, staged, final)
