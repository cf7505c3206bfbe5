"""Bronze on DuckDB: raw files → Parquet with lineage columns, bad records quarantined with the reason.

The same contract as ``jobs.spark.bronze``: only the files the ledger gives to this batch
are read; text formats land as strings (JSON nesting kept, leaves as text); every row
carries ``_source_file`` (the file it came from, spelled as Spark spells it), ``_line``,
``_ingested_at`` and ``_batch_id``; the batch is written to staging, moved to a fresh
attempt directory and only then registered as the batch's partition, so a rerun replaces
exactly its own partition and a killed job leaves the previous table as it was.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeglue import records
from lakeglue.catalog.model import Table
from lakeglue.jobs import progress, raw_files
from lakeglue.jobs.commit import plan_batch_attempt, register_batch_partition
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb import csv_reader, jdbc_source, raw_input
from lakeglue.jobs.duckdb.catalog_io import parquet_scan
from lakeglue.jobs.duckdb.choices import parquet_choice
from lakeglue.jobs.duckdb.json_lines import TextColumn, lines_sql, parse_sql
from lakeglue.jobs.duckdb.types import parse_hive_type, quote_ident, quote_literal, values_sql
from lakeglue.jobs.duckdb.writer import write_parquet, write_quarantine
from lakeglue.jobs.faults import fault_point
from lakeglue.jobs.locks import holds_writer_locks
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.jobs.plans import claim_bronze_files
from lakeglue.jobs.quarantine import quarantine_dir, replace_quarantine
from lakeglue.pipelines.spec import BronzeTableSpec
from lakeglue.records import BronzeAccount

if TYPE_CHECKING:
    import duckdb

BATCH_KEY = records.BATCH_KEY
LINEAGE = records.LINEAGE_COLUMNS
#: Longest JSON line accepted (DuckDB's default is 2 MB; a record can legitimately be bigger). Each
#: file scan holds a read buffer of twice this, so it is kept well below the memory limit.
MAX_LINE_BYTES = 8 << 20
_STAGE = "__lg_bronze"
_FILES = "__lg_files"
#: Stage columns that are not data: the file id, line (or, for JSON lines, length and blank flag), verdict, raw text.
_STAGE_INTERNAL = ("_file", "_line", "__len", "__blank", "_reject_reason", "_raw")
#: A JSON line's number: its row in the stage table (filled in file order) less its file's first row.
_ROWID_LINE = "CAST(s.rowid - f.__first + 1 AS INTEGER)"


@holds_writer_locks("bronze")
def run_bronze(con: duckdb.DuckDBPyConnection, ctx: JobContext) -> JobMetrics:
    started = time.monotonic()
    metrics = JobMetrics("bronze", ctx.spec.name, ctx.batch_id)
    with progress.tracking("bronze", ctx.settings.progress_seconds, tables=len(ctx.spec.bronze)) as tracker:
        for table, table_spec in ctx.spec.bronze.items():
            tracker.start_table(table)
            metrics.tables.append(_bronze_table(con, ctx, table, table_spec))
            done = metrics.tables[-1]
            tracker.table_done(done.files_read + done.files_quarantined, done.rows_written)
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics


def _bronze_table(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str,
                  table_spec: BronzeTableSpec) -> TableMetrics:
    result = TableMetrics(table=f"{ctx.spec.database_for('bronze')}.{table}")
    if table_spec.format == "jdbc":
        return jdbc_source.bronze_jdbc_table(con, ctx, table, table_spec, result, _commit_batch)
    claimed = claim_bronze_files(ctx, table, result)
    if claimed is None:
        return result
    raw, source, entries = claimed.raw, claimed.source, claimed.entries
    progress.current().claimed(result.files_read, result.bytes_read)
    encoding = records.table_encoding(raw.parameters, table_spec.options.get("encoding")
                                      or table_spec.options.get("charset"))
    raw_list = raw_input.raw_files_of(ctx, [(e.path, e.size) for e in entries])
    staging = ctx.lake.new_staging_path(f"bronze-input-{table}")
    header = int(table_spec.format == "csv" and csv_reader.reader_options(raw, table, table_spec)["header"] == "true")
    try:
        prepared = raw_input.prepare(ctx, staging, table_spec.format, encoding, raw_list, header_lines=header)
        progress.current().set_step("reading and parsing the files")
        prepared, parsed = _read_robustly(con, ctx, raw, table_spec, encoding, raw_list, prepared, staging, header)
        progress.current().set_step("quarantining rejects and writing the batch")
        staged_columns = con.sql(parsed).columns
        numbered = "__blank" in staged_columns  # JSON lines: numbered by their row in the stage table
        data_columns = [n for n in staged_columns if n not in _STAGE_INTERNAL]
        line = _ROWID_LINE if numbered else "s._line"
        output = [(c, f"s.{quote_ident(c)}") for c in data_columns] + [("_source_file", "f.uri"), ("_line", line)]
        lineage = Lineage(output=_with_partition_keys(output, raw), source_file="f.uri",
                          join=f"JOIN {_FILES} AS f ON s._file = f.file_id", line=line,
                          records="NOT s.__blank" if numbered else "true")
        _commit_batch(con, ctx, table, table_spec, parsed, result, {"source_table": raw.qualified_name}, lineage,
                      prepared=prepared, staged=True)
    finally:
        if ctx.lake.fs.exists(staging):  # stand-ins of raw files: never part of any output
            ctx.lake.fs.rm(staging, recursive=True)
    ctx.ledger.mark_done(source, ctx.batch_id)
    return result


def _read_robustly(con: duckdb.DuckDBPyConnection, ctx: JobContext, raw: Table, table_spec: BronzeTableSpec,
                   encoding: str, raw_list: list[raw_input.RawFile], prepared: raw_input.Prepared,
                   staging: str, header_lines: int) -> tuple[raw_input.Prepared, str]:
    """Read the batch as it is; only if DuckDB fails (or a gzip looks truncated) probe each file in
    Python and read again without the bad files and lines; a file DuckDB still cannot read on its
    own is then quarantined whole with DuckDB's message. One bad file never fails the batch."""
    file_errors = _file_errors()
    retry: tuple[type[Exception], ...] = (*file_errors, _NeedsProbe)
    try:
        return prepared, _read_prepared(con, raw, table_spec, prepared, ctx)
    except retry:
        pass
    prepared = raw_input.prepare(ctx, staging, table_spec.format, encoding, raw_list, probe=True,
                                 header_lines=header_lines)
    try:
        return prepared, _read_prepared(con, raw, table_spec, prepared, ctx)
    except file_errors as exc:
        batch_error = exc
    index, failed = 0, 0
    total = len(prepared.files)
    while index < len(prepared.files):  # one by one: what fails alone is the file's own problem
        alone = raw_input.Prepared(files=[prepared.files[index]], read_from=[prepared.read_from[index]], probed=True)
        try:
            _read_prepared(con, raw, table_spec, alone, ctx)
            index += 1
        except file_errors as exc:
            failed += 1
            prepared = prepared.without(index, f"DuckDB cannot read it: {exc}")
    if failed == total and total > 1:  # not one file's problem: every file fails the same way
        raise batch_error
    return prepared, _read_prepared(con, raw, table_spec, prepared, ctx)


def _file_errors() -> tuple[type[Exception], ...]:
    """DuckDB errors a raw file's content can cause (binder, catalog or parser errors never are)."""
    import duckdb

    return (duckdb.IOException, duckdb.InvalidInputException, duckdb.NotImplementedException,
            duckdb.ConversionException)


def _csv_rejects_need_probe(con: duckdb.DuckDBPyConnection) -> bool:
    """DuckDB's CSV reader keeps a line with bytes not valid UTF-8, or over the line limit, as a reject
    of its own (with a lossy or cut raw text); the probe quarantines such lines with their bytes and
    the rule's own reason instead."""
    row = con.execute("SELECT count(*) FROM __lg_csv_errors WHERE error_type IN "
                      "('INVALID ENCODING', 'INVALID UNICODE', 'LINE SIZE OVER MAXIMUM')").fetchone()
    return bool(row and row[0])


def _csv_lines_suspect(con: duckdb.DuckDBPyConnection, ctx: JobContext, prepared: raw_input.Prepared,
                       limit: int) -> bool:
    """Whether a CSV file may have lost a line without a trace: a gzip that looks truncated (DuckDB
    reads one without an error), or a file larger than the CSV buffer holding a line longer than the
    limit (DuckDB drops a line longer than its buffer without a reject). Only those files (gzip, or
    larger than the buffer) are counted once more as plain lines; small plain files cost nothing."""
    indexes = [i for i, raw in enumerate(prepared.read_from) if not prepared.files[i][0].endswith(".txt") and (
        raw_files.compression_of(raw.path) == "gzip" or raw.size > csv_reader.buffer_size(limit))]
    if not indexes:
        return False
    position = {prepared.files[i][0]: i for i in indexes}
    try:
        counted = con.execute(
            f"SELECT filename, count(*), sum(coalesce(strlen(line), 0)), max(strlen(line)) FROM "
            f"{_plain_lines([prepared.files[i][0] for i in indexes], limit)} GROUP BY filename").fetchall()
    except _file_errors():
        return True
    if any(int(m or 0) > limit for *_, m in counted):
        return True
    read = {position[name]: (int(n), int(b)) for name, n, b, _ in counted}
    return bool(raw_input.truncated_gzips(ctx, prepared, read))


def _plain_lines(paths: list[str], limit: int) -> str:
    listed = "[" + ", ".join(quote_literal(p) for p in paths) + "]"
    return (f"read_csv({listed}, columns = {{'line': 'VARCHAR'}}, delim = chr(0), quote = '', escape = '', "
            f"header = false, auto_detect = false, strict_mode = false, filename = true, "
            f"max_line_size = {int(limit) + 16}, buffer_size = {2 * int(limit) + 64})")


class _NeedsProbe(Exception):
    """The fast read succeeded but a file looks damaged (a truncated gzip): probe the files."""


def _read_prepared(con: duckdb.DuckDBPyConnection, raw: Table, table_spec: BronzeTableSpec,
                   prepared: raw_input.Prepared, ctx: JobContext) -> str:
    """Read the prepared files into the stage table (so every DuckDB error of reading happens here)."""
    limit = ctx.settings.max_record_bytes
    _stage_files(con, prepared.files, raw)
    parsed = _read(con, raw, table_spec, prepared.files, ctx.lake.fs, limit, strict_lines=not prepared.probed)
    if table_spec.format == "json":
        # Lines are read, parsed and stored by one statement, in file order (the one statement that
        # needs insertion order; DuckDB still reads and parses in parallel), so a row's rowid numbers
        # its line and the raw lines are never held as a table of their own beside the parsed rows.
        con.execute("SET preserve_insertion_order = true")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS {parsed}")
        finally:
            con.execute("SET preserve_insertion_order = false")
        _number_lines(con, ctx, prepared, limit)
        return f"SELECT * FROM {_STAGE}"
    if table_spec.format == "csv" and not prepared.probed and (
            _csv_rejects_need_probe(con) or _csv_lines_suspect(con, ctx, prepared, limit)):
        raise _NeedsProbe()
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS {parsed}")
    return f"SELECT * FROM {_STAGE}"


def _number_lines(con: duckdb.DuckDBPyConnection, ctx: JobContext, prepared: raw_input.Prepared,
                  limit: int) -> None:
    """Give ``__lg_files`` each file's first stage row (``__first``: its lines are numbered from it);
    on a first read, ask for a probe when a line is over the limit or a gzip looks truncated."""
    read, first = {}, {}
    longest = 0
    for f, start, n, b, m in con.execute(f"SELECT _file, min(rowid), count(*), sum(coalesce(__len, 0)), max(__len) "
                                         f"FROM {_STAGE} GROUP BY _file").fetchall():
        read[int(f)] = (int(n), int(b))
        first[int(f)] = int(start)
        longest = max(longest, int(m or 0))
    if not prepared.probed and prepared.files and (
            longest > limit or raw_input.truncated_gzips(ctx, prepared, read)):
        raise _NeedsProbe()
    rows = sorted(first.items())
    starts = (values_sql(rows, ("INTEGER", "BIGINT")) if rows else
              "SELECT CAST(NULL AS INTEGER), CAST(NULL AS BIGINT) WHERE false")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_FILES} AS SELECT f.*, s.__first FROM {_FILES} AS f "
                f"LEFT JOIN ({starts}) AS s(file_id, __first) USING (file_id)")


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
    line: str = "s._line"
    #: Which staged rows are records (JSON lines stage blank lines too, to number the lines).
    records: str = "true"


def _stage_files(con: duckdb.DuckDBPyConnection, files: list[tuple[str, str]], raw: Table) -> None:
    """``__lg_files``: per file its id (its index), what DuckDB opens, its URI and its partition values."""
    rows = [(i, path, uri) for i, (path, uri) in enumerate(files)]
    keys = "".join(f", regexp_extract(uri, {quote_literal(f'/{k.name}=([^/]+)/')}, 1) AS {quote_ident(f'__pk{n}')}"
                   for n, k in enumerate(raw.partition_keys))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_FILES} AS SELECT *{keys} FROM "
                f"({values_sql(rows, ('INTEGER', 'VARCHAR', 'VARCHAR'))}) AS f(file_id, path, uri)")


def _commit_batch(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str, table_spec: BronzeTableSpec,
                  parsed: str, result: TableMetrics, parameters: dict[str, str],
                  lineage: Lineage | None = None, prepared: raw_input.Prepared | None = None,
                  staged: bool = False) -> None:
    """Quarantine the rejects, write the good rows as this batch's partition, swap the catalog.

    ``parsed`` has the output columns (or, with ``lineage``, what it needs), ``_reject_reason`` and
    ``_raw``; only those rows are staged — constant lineage columns are added when writing (with
    ``staged`` they already are, in the stage table). ``prepared`` brings the files and lines
    quarantined before parsing.

    Accounting (checked before anything is committed): records read = the staged rows plus the
    lines quarantined before parsing; it must equal the Parquet rows written plus the record-level
    quarantine records written. Whole files quarantined are counted apart (``files_quarantined``);
    their quarantine records are not records read.
    """
    assert ctx.started_at is not None
    ingested = quote_literal(ctx.started_at.strftime("%Y-%m-%d %H:%M:%S.%f+00"))
    if lineage is None:
        lineage = Lineage(output=[f"s.{quote_ident(c)}" for c in con.sql(parsed).columns
                                  if c not in ("_reject_reason", "_raw")])
    if not staged:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS {parsed}")
    prepared = prepared or raw_input.Prepared()
    try:
        row = con.execute(f"SELECT count(*) FROM {_STAGE} AS s WHERE {lineage.records}").fetchone()
        assert row is not None
        result.rows_read = int(row[0]) + prepared.lines_quarantined
        result.files_quarantined = prepared.files_quarantined
        quarantine = _write_quarantine(con, ctx, table, lineage, prepared)
        result.rows_quarantined = quarantine.records - prepared.files_quarantined
        pending = plan_batch_attempt(ctx.lake, "bronze", table)
        written = write_parquet(
            con, f"SELECT {', '.join(lineage.output)}, CAST({ingested} AS TIMESTAMPTZ) AS _ingested_at "
                 f"FROM {_STAGE} AS s {lineage.join} WHERE s._reject_reason IS NULL AND {lineage.records}",
            ctx.lake.engine_path(f"{pending.staged}/{BATCH_KEY}={ctx.batch_id}"), naive_timestamp="timestamp_ntz")
        result.rows_written = written.rows
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_STAGE}")
        con.execute(f"DROP TABLE IF EXISTS {_FILES}")
        con.execute("DROP TABLE IF EXISTS __lg_prepared_rejects")
    BronzeAccount(files_claimed=result.files_read, files_quarantined=result.files_quarantined,
                  records_read=result.rows_read, rows_written=result.rows_written,
                  records_quarantined=result.rows_quarantined).check(result.table)
    result.files_read -= result.files_quarantined  # files read = claimed - quarantined whole (as on Spark)
    replace_quarantine(ctx.lake, quarantine.staged, quarantine.final)
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


def _read(con: duckdb.DuckDBPyConnection, raw: Table, table_spec: BronzeTableSpec,
          files: list[tuple[str, str]], fs: Any, max_record_bytes: int = MAX_LINE_BYTES,
          strict_lines: bool = False) -> str:
    """SQL of rows with the data columns, ``_file`` (id in ``__lg_files``), ``_line``, ``_reject_reason``, ``_raw``.

    ``strict_lines``: JSON lines fail on mixed line ends (see :func:`lines_sql`), so the batch is probed."""
    if table_spec.format == "json":
        columns = [TextColumn(c.name, parse_hive_type(c.type).as_text()) for c in raw.columns]
        if not columns:
            columns = [TextColumn("value", parse_hive_type("string"))]
        # Parsed straight from the line read; the caller stores the rows in file order (see _read_prepared).
        # A line a little over the limit is let through here and caught by its length (the reader's own
        # limit counts differently).
        lines = (lines_sql([p for p, _ in files], max_record_bytes + 16, strict=strict_lines) if files else
                 "SELECT CAST(NULL AS VARCHAR) AS _raw, CAST(NULL AS INTEGER) AS _file WHERE false")
        return parse_sql(lines, columns, table_spec.choices, numbered=False,
                         original_names=_original_names(raw))
    if table_spec.format == "csv":
        markers = table_spec.options.get("null_markers")
        return csv_reader.read_csv_sql(con, raw, raw.name, table_spec, files, _FILES,
                                       null_markers=records.null_markers(
                                           raw.parameters, json.loads(markers) if markers else None),
                                       max_record_bytes=max_record_bytes)
    if not files:
        nothing = ", ".join(f"CAST(NULL AS {parse_hive_type(c.type).to_duckdb()}) AS {quote_ident(c.name)}"
                            for c in raw.columns)
        return (f"SELECT {nothing + ', ' if nothing else ''}CAST(NULL AS INTEGER) AS _file, "
                "CAST(NULL AS INTEGER) AS _line, CAST(NULL AS VARCHAR) AS _reject_reason, "
                "CAST(NULL AS VARCHAR) AS _raw WHERE false")
    return _parquet_sql(con, files, table_spec.choices, fs)


def _original_names(raw: Table) -> dict[str, str]:
    """Raw JSON keys of renamed fields: the table's map, and a top-level column's own parameter
    (``lakeglue.original_name``) where the catalog keeps one."""
    renamed = {c.name: getattr(c, "parameters", {})[records.ORIGINAL_NAME_PARAM] for c in raw.columns
               if records.ORIGINAL_NAME_PARAM in (getattr(c, "parameters", None) or {})}
    return {**renamed, **records.original_names(raw.parameters)}


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


@dataclass(frozen=True)
class _StagedQuarantine:
    staged: str
    final: str
    records: int


def _write_quarantine(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str, lineage: Lineage,
                      prepared: raw_input.Prepared) -> _StagedQuarantine:
    """Stage the batch's quarantine: parse rejects and the files and lines rejected before parsing.
    ``size`` is the record's byte size (the file's for a whole file). Committed by the caller."""
    final = quarantine_dir(ctx.lake, ctx.spec.name, "bronze", table, ctx.batch_id)
    staged = ctx.lake.new_staging_path(f"quarantine-bronze-{table}")
    con.execute("CREATE OR REPLACE TEMP TABLE __lg_prepared_rejects (source_file VARCHAR, line INTEGER, "
                "reason VARCHAR, raw VARCHAR, size BIGINT)")
    if prepared.rejects:  # bound, not inlined: a raw line may hold any character, NUL included
        con.executemany("INSERT INTO __lg_prepared_rejects VALUES (?, ?, ?, ?, ?)",
                        [(r.source_file, r.line, r.reason, r.raw, r.size) for r in prepared.rejects])
    common = f"'bronze' AS layer, {quote_literal(table)} AS \"table\", {quote_literal(ctx.batch_id)} AS batch_id"
    count = write_quarantine(con, f"SELECT * FROM ("
                                  f"SELECT {lineage.source_file} AS source_file, {lineage.line} AS line, "
                                  f"s._reject_reason AS reason, s._raw AS raw, {common}, "
                                  f"CAST(strlen(s._raw) AS BIGINT) AS size "
                                  f"FROM {_STAGE} AS s {lineage.join} WHERE s._reject_reason IS NOT NULL "
                                  f"UNION ALL SELECT source_file, line, reason, raw, {common}, size "
                                  f"FROM __lg_prepared_rejects) ORDER BY source_file, line NULLS FIRST",
                             staged, ctx.lake.fs)
    return _StagedQuarantine(staged, final, count)
