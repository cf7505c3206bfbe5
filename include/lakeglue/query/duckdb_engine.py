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
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from lakeglue.catalog import Catalog
from lakeglue.query.base import BoundQuery, EngineResult, QueryError
from lakeglue.query.dialect import to_duckdb
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
from lakeglue.storage.zones import Lake

THREADS = 2


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


class DuckDBEngine:
    """Runs Trino-dialect queries in a fresh, sandboxed in-memory DuckDB per call."""

    name = "duckdb"
    native_writes = False

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

    def execute(self, query: BoundQuery) -> EngineResult:
        sql = to_duckdb(query)
        counter = UnparsedCounter()
        with self.connect(query, counter) as (con, tables):
            try:
                con.execute(sql, list(query.params))
                duck_types = [str(d[1]) for d in con.description or []]
                data = con.to_arrow_table()
                profile = json.loads(con.get_profiling_information(format="json"))
                unparsed = counter.counts(con)
            except duckdb.Error as exc:
                raise QueryError(f"duckdb could not run the query: {exc}\n-- SQL run by duckdb:\n{sql}") from exc
        data = trino_integers(data, duck_types)
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
        sql = to_duckdb(query)
        with self.connect(query) as (con, _tables):
            try:
                rows = con.execute(f"EXPLAIN {'ANALYZE ' if analyze else ''}{sql}", list(query.params)).fetchall()
            except duckdb.Error as exc:
                raise QueryError(f"duckdb could not explain the query: {exc}\n-- SQL run by duckdb:\n{sql}") from exc
        return "\n".join(str(row[-1]) for row in rows)
