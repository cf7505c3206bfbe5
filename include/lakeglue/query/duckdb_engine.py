"""The embedded query engine: catalog tables as DuckDB views over their files, one in-memory DB per query.

Imported only when the duckdb engine is chosen (see :data:`lakeglue.query.base.ENGINES`),
so importing :mod:`lakeglue.query` stays cheap for DAG parsing.

Each referenced catalog table becomes a view ``"db"."table"`` over its files (see
:mod:`lakeglue.query.duckdb_tables`), so the (transpiled) SQL runs unchanged against the
names the catalog knows. The connection is then sandboxed — only the referenced tables'
directories are readable and the configuration is locked — so a query can read exactly
what Athena would let it read (catalog tables), not ``read_csv('/etc/passwd')``, and
cannot write files. CTAS / INSERT INTO are not run here: lakeglue runs their SELECT and
writes the table itself (:mod:`lakeglue.query.writes`).

Memory is bounded: each connection gets ``query_memory_limit`` (default: the jobs'
``duckdb_memory_limit``) and spills larger-than-memory sorts, joins and aggregates to a
per-process folder under ``duckdb_temp_directory``; with a result sink the rows are fetched as
Arrow record batches and handed on one by one, never materialized whole in Python.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from lakeglue.catalog import Catalog
from lakeglue.query.base import BoundQuery, EngineResult, QueryError
from lakeglue.query.duckdb_tables import (
    TableFiles,
    TextProjection,
    catalog_projection,
    empty_view_source,
    list_table_files,
    quote_ident,
    quote_literal,
    reader_sql,
    trino_type,
)
from lakeglue.query.text_tables import UnparsedCounter, is_text_table, literal_path
from lakeglue.settings import Settings
from lakeglue.sql import translate_query
from lakeglue.storage.zones import Lake

if TYPE_CHECKING:
    from lakeglue.query.results import ResultWriter

THREADS = 2
#: Rows per Arrow batch when a result is streamed to its sink.
BATCH_ROWS = 64 * 1024


def spill_directory(settings: Settings) -> str:
    """This process's spill folder: concurrent workers never share (or clean up) each other's files."""
    from lakeglue.jobs.duckdb.session import temp_directory

    path = os.path.join(temp_directory(settings), f"query-{os.getpid()}")
    os.makedirs(path, exist_ok=True)
    return path


def _files_read(profile: dict[str, Any]) -> int | None:
    """Files DuckDB actually opened (after partition pruning), summed over all scans; None if not reported."""
    total: int | None = None
    stack = [profile]
    while stack:
        node = stack.pop()
        read = (node.get("extra_info") or {}).get("Total Files Read")
        if read is not None:
            total = (total or 0) + int(read)
        stack.extend(node.get("children") or [])
    return total


def trino_integers(data: pa.Table, duck_types: list[str]) -> pa.Table:
    """DuckDB sums integers into HUGEINT; Trino returns bigint (and fails on overflow, as this cast does)."""
    for i, duck_type in enumerate(duck_types):
        if duck_type.upper() == "HUGEINT":
            try:
                data = data.set_column(i, data.field(i).name, data.column(i).cast(pa.int64()))
            except pa.ArrowInvalid as exc:
                raise QueryError(f"result column {data.field(i).name!r} does not fit in a bigint: {exc}") from exc
    return data


def trino_integer_schema(schema: pa.Schema, duck_types: list[str]) -> pa.Schema:
    """The schema :func:`trino_integer_batch` produces (HUGEINT columns as int64)."""
    for i, duck_type in enumerate(duck_types):
        if duck_type.upper() == "HUGEINT":
            schema = schema.set(i, schema.field(i).with_type(pa.int64()))
    return schema


def trino_integer_batch(batch: pa.RecordBatch, duck_types: list[str]) -> pa.RecordBatch:
    """:func:`trino_integers` for one streamed batch."""
    if not any(t.upper() == "HUGEINT" for t in duck_types):
        return batch
    schema = trino_integer_schema(batch.schema, duck_types)
    if batch.num_rows == 0:
        return pa.record_batch([pa.array([], type=f.type) for f in schema], schema=schema)
    return trino_integers(pa.Table.from_batches([batch]), duck_types).combine_chunks().to_batches()[0]


class DuckDBEngine:
    """Runs Trino-dialect queries in a fresh, sandboxed in-memory DuckDB per call."""

    name = "duckdb"
    native_writes = False
    #: ``execute`` can stream rows to a :class:`~lakeglue.query.results.ResultWriter` (``sink=``).
    streams_results = True

    def __init__(self, settings: Settings, lake: Lake, catalog: Catalog | None = None) -> None:
        self.settings = settings
        self.lake = lake
        self.catalog = catalog

    @contextmanager
    def connect(self, query: BoundQuery,
                counter: UnparsedCounter | None = None) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[TableFiles]]]:
        """A connection with one view per referenced table, locked down to those tables' directories.

        ``counter`` counts the text-table values that did not parse (see :mod:`lakeglue.query.text_tables`).
        """
        tables = [list_table_files(t, self.catalog) for t in query.tables.values()]
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET threads = {THREADS}")
            limit = self.settings.query_memory_limit or self.settings.duckdb_memory_limit
            con.execute(f"SET memory_limit = {quote_literal(limit)}")
            con.execute(f"SET temp_directory = {quote_literal(spill_directory(self.settings))}")
            for (db, name), tf in zip(query.tables, tables, strict=True):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(db)}")
                source = self.view_source(con, tf, counter)
                con.execute(f"CREATE VIEW {quote_ident(db)}.{quote_ident(name)} AS {source}")
            # a root with glob characters is also allowed as the escaped pattern its files are read through
            allowed = sorted({path.rstrip("/") + "/" for tf in tables for root in tf.roots
                              for path in (root, literal_path(root))})
            con.execute(f"SET allowed_directories = [{', '.join(quote_literal(d) for d in allowed)}]")
            con.execute("SET enable_external_access = false")
            con.execute("PRAGMA enable_profiling = 'no_output'")
            con.execute("SET lock_configuration = true")
            yield con, tables
        finally:
            con.close()

    @staticmethod
    def view_source(con: duckdb.DuckDBPyConnection, tf: TableFiles, counter: UnparsedCounter | None = None) -> str:
        if not tf.files:
            return empty_view_source(tf.table)
        reader = reader_sql(tf)
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"cannot read table {tf.table.qualified_name} at {', '.join(tf.roots)}: {exc}") from exc
        file_columns = {str(row[0]).lower(): (str(row[0]), str(row[1])) for row in described}
        text = TextProjection(tf.table, counter, con) if is_text_table(tf.table) else None  # Parquet: as before
        return f"SELECT {catalog_projection(tf.table, file_columns, text)} FROM {reader}"

    def execute(self, query: BoundQuery, sink: ResultWriter | None = None) -> EngineResult:
        """Run the query; with ``sink`` its rows stream there batch by batch and ``data`` is the sink's
        preview, else ``data`` is the whole result."""
        sql = translate_query(query, "duckdb")
        counter = UnparsedCounter()
        with self.connect(query, counter) as (con, tables):
            try:
                con.execute(sql, list(query.params))
                duck_types = [str(d[1]) for d in con.description or []]
                if sink is None:
                    data = trino_integers(con.to_arrow_table(), duck_types)
                else:
                    reader = con.fetch_record_batch(BATCH_ROWS)
                    sink.open(trino_integer_schema(reader.schema, duck_types))
                    for batch in reader:
                        sink.write(trino_integer_batch(batch, duck_types))
                    data = sink.preview()  # already converted batch by batch
                profile = json.loads(con.get_profiling_information(format="json"))
                unparsed = counter.counts(con)
            except duckdb.Error as exc:
                raise QueryError(f"duckdb could not run the query: {exc}\n-- SQL run by duckdb:\n{sql}") from exc
        stats: dict[str, Any] = {
            # DuckDB does not report bytes read from Parquet, so this is the size of every data file of
            # the referenced tables: an upper bound, like Athena's bytes scanned without partition pruning.
            "bytes_scanned": sum(tf.size for tf in tables),
            # Files DuckDB actually opened after partition pruning / file filters.
            "files_scanned": _files_read(profile),
            "files_total": sum(len(tf.files) for tf in tables),
        }
        if unparsed:  # text-table values that read as NULL because they did not parse as their column's type
            stats["unparsed_values"] = unparsed
        return EngineResult(data=data, types=[trino_type(t) for t in duck_types], engine_sql=sql, stats=stats)

    def explain(self, query: BoundQuery, analyze: bool = False) -> str:
        """DuckDB's plan (with ``analyze``: run it and show files scanned, rows and timings per operator)."""
        sql = translate_query(query, "duckdb")
        with self.connect(query) as (con, _tables):
            try:
                rows = con.execute(f"EXPLAIN {'ANALYZE ' if analyze else ''}{sql}", list(query.params)).fetchall()
            except duckdb.Error as exc:
                raise QueryError(f"duckdb could not explain the query: {exc}\n-- SQL run by duckdb:\n{sql}") from exc
        return "\n".join(str(row[-1]) for row in rows)
