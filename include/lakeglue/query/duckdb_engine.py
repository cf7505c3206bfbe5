"""The embedded query engine: catalog tables as DuckDB views over their files, in sandboxed in-memory databases.

Imported only when the duckdb engine is chosen (see :data:`lakeglue.query.base.ENGINES`),
so importing :mod:`lakeglue.query` stays cheap for DAG parsing.

Each referenced catalog table becomes a view ``"db"."table"`` over its files (see
:mod:`lakeglue.query.duckdb_tables`), so the (transpiled) SQL runs unchanged against the
names the catalog knows. The connection is then sandboxed — only the referenced tables'
directories are readable and the configuration is locked — so a query can read exactly
what Athena would let it read (catalog tables), not ``read_csv('/etc/passwd')``, and
cannot write files. A locked database is reused only by a later query with exactly the same
views and allowed directories (:mod:`lakeglue.query.duckdb_pool`). CTAS / INSERT INTO are
not run here: lakeglue runs their SELECT and writes the table itself (:mod:`lakeglue.query.writes`);
an unpartitioned CTAS has DuckDB write its Parquet file into a staging folder (:meth:`DuckDBEngine.write_parquet`).

Memory is bounded: each connection gets ``query_memory_limit`` (default: the jobs'
``duckdb_memory_limit``) and spills larger-than-memory sorts, joins and aggregates to a
per-process folder under ``duckdb_temp_directory``; with a result sink the rows are fetched as
Arrow record batches and handed on one by one, never materialized whole in Python.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from lakeglue.catalog import Catalog
from lakeglue.query import duckdb_pool
from lakeglue.query.base import BoundQuery, EngineResult, QueryError
from lakeglue.query.duckdb_tables import (
    TableFiles,
    TextProjection,
    catalog_projection,
    described_file_columns,
    empty_view_source,
    list_table_files,
    quote_ident,
    quote_literal,
    reader_sql,
    trino_type,
)
from lakeglue.query.text_casts import fuse_text_casts
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


def _written_column(position: int, duck_type: str) -> str:
    """Result column ``position`` (by position: names may repeat before CTAS rejects them) as written."""
    return f"CAST(#{position} AS BIGINT)" if duck_type.upper() == "HUGEINT" else f"#{position}"


@dataclass
class ParquetWrite:
    """What :meth:`DuckDBEngine.write_parquet` wrote: the row count and the SELECT's columns as Trino types."""

    rows: int
    names: list[str]
    types: list[str]
    engine_sql: str
    stats: dict[str, Any] = field(default_factory=dict)


class DuckDBEngine:
    """Runs Trino-dialect queries in sandboxed in-memory DuckDB databases (reused only for the same sandbox)."""

    name = "duckdb"
    native_writes = False
    #: ``execute`` can stream rows to a :class:`~lakeglue.query.results.ResultWriter` (``sink=``).
    streams_results = True
    #: ``write_parquet`` writes a SELECT's rows to a local Parquet file itself (CTAS, see materialize).
    writes_parquet = True

    def __init__(self, settings: Settings, lake: Lake, catalog: Catalog | None = None) -> None:
        self.settings = settings
        self.lake = lake
        self.catalog = catalog

    @contextmanager
    def connect(self, query: BoundQuery, counter: UnparsedCounter | None = None,
                writable: str | None = None) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[TableFiles]]]:
        """A connection with one view per referenced table, locked down to those tables' directories.

        ``counter`` counts the text-table values that did not parse (see :mod:`lakeglue.query.text_tables`).
        ``writable`` is one more directory the connection may use: a write's fresh staging folder.
        """
        tables = [list_table_files(t, self.catalog) for t in query.tables.values()]
        views = [(db, name, tf, self._cacheable_view(tf)) for (db, name), tf in zip(query.tables, tables, strict=True)]
        # a database is reused only for exactly the same sandbox: same views over the same files, same settings
        key = None
        if writable is None and all(cached is not None for *_, cached in views):
            key = (self._settings_key(), tuple((db, name, cached[0]) for db, name, _, cached in views if cached))
        con = duckdb_pool.take(key) if key is not None else None
        if con is None:
            con = self._open(views, tables, counter, writable)
        reusable = False
        try:
            yield con, tables
            reusable = key is not None
        finally:
            if reusable:
                duckdb_pool.give_back(key, con)
            else:
                duckdb_pool.close_later(con)

    def _settings_key(self) -> tuple[str, str]:
        return (self.settings.query_memory_limit or self.settings.duckdb_memory_limit, spill_directory(self.settings))

    @staticmethod
    def _cacheable_view(tf: TableFiles) -> tuple[object, str | None] | None:
        """(cache key, known view SQL or None) of a table whose view depends on its files only; None for raw text
        tables, whose views count unparsed values per query (see :mod:`lakeglue.query.duckdb_pool`)."""
        if is_text_table(tf.table):
            return None
        key = duckdb_pool.view_key(tf, reader_sql(tf) if tf.files else "")
        return key, duckdb_pool.cached_view(key)

    def _open(self, views: list[tuple[str, str, TableFiles, tuple[object, str | None] | None]],
              tables: list[TableFiles], counter: UnparsedCounter | None,
              writable: str | None) -> duckdb.DuckDBPyConnection:
        """A new in-memory database with the views, then locked down to the tables' directories (and ``writable``)."""
        memory_limit, spill = self._settings_key()
        con = duckdb_pool.fresh({"threads": THREADS, "memory_limit": memory_limit, "temp_directory": spill})
        try:
            # the setup runs as one batch: each execute() call costs a round trip through the binding
            setup: list[str] = []
            for db, name, tf, cached in views:
                schema = f"CREATE SCHEMA IF NOT EXISTS {quote_ident(db)}"
                if schema not in setup:
                    setup.append(schema)
                source = cached[1] if cached is not None and cached[1] is not None else None
                if source is None:
                    source = self.view_source(con, tf, counter)
                    if cached is not None:
                        duckdb_pool.remember_view(cached[0], source)
                setup.append(f"CREATE VIEW {quote_ident(db)}.{quote_ident(name)} AS {source}")
            # a root with glob characters is also allowed as the escaped pattern its files are read through
            allowed = {path.rstrip("/") + "/" for tf in tables for root in tf.roots
                       for path in (root, literal_path(root))}
            if writable:
                allowed.add(writable.rstrip("/") + "/")
            setup += [f"SET allowed_directories = [{', '.join(quote_literal(d) for d in sorted(allowed))}]",
                      "SET enable_external_access = false",
                      "PRAGMA enable_profiling = 'no_output'",
                      "SET lock_configuration = true"]
            con.execute(";\n".join(setup))
        except BaseException:
            con.close()
            raise
        return con

    @staticmethod
    def view_source(con: duckdb.DuckDBPyConnection, tf: TableFiles, counter: UnparsedCounter | None = None) -> str:
        if not tf.files:
            return empty_view_source(tf.table)
        reader = reader_sql(tf)
        file_columns = described_file_columns(con, tf, reader)
        text = TextProjection(tf.table, counter, con) if is_text_table(tf.table) else None  # Parquet: as before
        return f"SELECT {catalog_projection(tf.table, file_columns, text)} FROM {reader}"

    def execute(self, query: BoundQuery, sink: ResultWriter | None = None) -> EngineResult:
        """Run the query; with ``sink`` its rows stream there batch by batch and ``data`` is the sink's
        preview, else ``data`` is the whole result.

        The speculative translation runs first: decimal ``+ - *`` inside sums in DuckDB's 64-bit
        arithmetic (TPC-H Q1 2.3x faster, see :func:`lakeglue.sql.semantics.decimal_arithmetic`).
        Where that overflows DuckDB raises instead of answering, and the query runs again with
        Trino's types cast row by row, so the answer (or error) is Trino's either way.
        """
        sql = translate_query(query, "duckdb", speculative=True)
        try:
            return self._execute(query, sql, sink)
        except QueryError as exc:
            if not isinstance(exc.__cause__, duckdb.OutOfRangeException):
                raise
            exact = translate_query(query, "duckdb")
            if exact == sql:
                raise
        if sink is not None:
            sink.restart()  # rows of the speculative run may have been written already
        return self._execute(query, exact, sink)

    def _execute(self, query: BoundQuery, sql: str, sink: ResultWriter | None) -> EngineResult:
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
        stats = self._scan_stats(tables, profile)
        if unparsed:  # text-table values that read as NULL because they did not parse as their column's type
            stats["unparsed_values"] = unparsed
        return EngineResult(data=data, types=[trino_type(t) for t in duck_types], engine_sql=sql, stats=stats)

    def write_parquet(self, query: BoundQuery, path: str, compression: str,
                      check: Callable[[list[str], list[str]], None]) -> ParquetWrite:
        """Run the query and write its rows to the new Parquet file ``path`` with DuckDB's own (parallel) writer.

        Why: fetched as Arrow and written by pyarrow, a CTAS held the whole result in Python and
        encoded it on one thread, twice the time of DuckDB's COPY. ``check`` sees the result's
        names and Trino types before any row is read (CTAS's rules, see materialize.ctas_columns)
        and raises to stop. The connection may read the query's tables and write into ``path``'s
        folder only (a fresh staging folder; the caller commits it). HUGEINT sums are written as
        bigint, failing on overflow, as :func:`trino_integers` does for results. Narrowing decimal
        casts of a text table's columns parse the text once (:mod:`lakeglue.query.text_casts`).
        """
        sql = translate_query(query, "duckdb")
        params = list(query.params)
        counter = UnparsedCounter()
        with self.connect(query, counter, writable=os.path.dirname(path)) as (con, tables):
            try:
                described = con.execute(f"DESCRIBE {sql}", params).fetchall()
                names, duck_types = [str(r[0]) for r in described], [str(r[1]) for r in described]
                check(names, [trino_type(t) for t in duck_types])
                items = ", ".join(f"{_written_column(i + 1, t)} AS {quote_ident(n.lower())}"
                                  for i, (n, t) in enumerate(zip(names, duck_types, strict=True)))
                codec = "uncompressed" if compression == "none" else compression
                source = fuse_text_casts(sql, dict(zip(query.tables, tables, strict=True)), con, counter)
                copied = con.execute(f"COPY (SELECT {items} FROM ({source})) TO {quote_literal(path)} "
                                     f"(FORMAT parquet, COMPRESSION {codec})", params).fetchone()
                profile = json.loads(con.get_profiling_information(format="json"))
                unparsed = counter.counts(con)
            except duckdb.Error as exc:
                raise QueryError(f"duckdb could not run the query: {exc}\n-- SQL run by duckdb:\n{sql}") from exc
        stats = self._scan_stats(tables, profile)
        if unparsed:
            stats["unparsed_values"] = unparsed
        return ParquetWrite(rows=int(copied[0]) if copied else 0, names=names,
                            types=[trino_type(t) for t in duck_types], engine_sql=sql, stats=stats)

    @staticmethod
    def _scan_stats(tables: list[TableFiles], profile: dict[str, Any]) -> dict[str, Any]:
        return {
            # DuckDB does not report bytes read from Parquet, so this is the size of every data file of
            # the referenced tables: an upper bound, like Athena's bytes scanned without partition pruning.
            "bytes_scanned": sum(tf.size for tf in tables),
            # Files DuckDB actually opened after partition pruning / file filters.
            "files_scanned": _files_read(profile),
            "files_total": sum(len(tf.files) for tf in tables),
        }

    def explain(self, query: BoundQuery, analyze: bool = False) -> str:
        """DuckDB's plan (with ``analyze``: run it and show files scanned, rows and timings per operator)."""
        sql = translate_query(query, "duckdb")
        with self.connect(query) as (con, _tables):
            try:
                rows = con.execute(f"EXPLAIN {'ANALYZE ' if analyze else ''}{sql}", list(query.params)).fetchall()
            except duckdb.Error as exc:
                raise QueryError(f"duckdb could not explain the query: {exc}\n-- SQL run by duckdb:\n{sql}") from exc
        return "\n".join(str(row[-1]) for row in rows)
