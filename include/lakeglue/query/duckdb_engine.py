"""The embedded query engine: catalog tables as DuckDB views over their files, one in-memory DB per query.

Imported only when the duckdb engine is chosen (see :data:`lakeglue.query.base.ENGINES`),
so importing :mod:`lakeglue.query` stays cheap for DAG parsing.

Each referenced catalog table becomes a view ``"db"."table"`` over its storage location,
so the (transpiled) SQL runs unchanged against the names the catalog knows. The
connection is then sandboxed — only the referenced tables' directories are readable and
the configuration is locked — so a query can read exactly what Athena would let it read
(catalog tables), not ``read_csv('/etc/passwd')``, and cannot write files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lakeglue.catalog import Column, Table
from lakeglue.query.base import BoundQuery, EngineResult, QueryError
from lakeglue.query.dialect import to_duckdb
from lakeglue.settings import Settings
from lakeglue.storage.zones import DEFAULT_EXCLUDES, Lake, is_excluded

THREADS = 2
#: Raw (crawled) tables are read best effort; no classification means a Parquet table.
TEXT_CLASSIFICATIONS = ("csv", "json")
READABLE_CLASSIFICATIONS = ("parquet", "", *TEXT_CLASSIFICATIONS)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_type(hive_type: str) -> str:
    """DuckDB spelling of a Hive/Glue type string (``array<struct<a:int>>`` → ``STRUCT(a INT)[]``)."""
    return exp.DataType.build(hive_type, dialect="hive").sql(dialect="duckdb")


def trino_type(duck_type: str) -> str:
    """Trino/Athena spelling of a DuckDB result type, as Athena reports result columns."""
    if duck_type.upper() == "HUGEINT":  # results cast HUGEINT to BIGINT, see _trino_integers
        return "bigint"
    try:
        text = exp.DataType.build(duck_type, dialect="duckdb").sql(dialect="trino").lower()
    except SqlglotError:  # a DuckDB-only type sqlglot cannot parse: report it as DuckDB names it
        return duck_type.lower()
    return text.replace(", ", ",") if text.startswith("decimal") else text


@dataclass(frozen=True)
class TableFiles:
    """Where a catalog table's data lives on local disk and which files are data (litter excluded)."""

    table: Table
    root: str
    files: tuple[tuple[str, int], ...]  # (path, size)

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)


def local_root(table: Table) -> str:
    """Local directory of a table; other schemes need an engine that reads object storage."""
    location = table.location
    if not location:
        raise QueryError(f"table {table.qualified_name} has no storage location in the catalog")
    if location.startswith("file://"):
        location = location.removeprefix("file://")
    elif "://" in location:
        raise QueryError(f"table {table.qualified_name} is stored at {location}; the duckdb engine reads "
                         "local lakes only (object storage is queried through the trino/athena engines)")
    return os.path.abspath(location).rstrip("/") or "/"


def list_table_files(table: Table) -> TableFiles:
    if table.classification not in READABLE_CLASSIFICATIONS:
        raise QueryError(f"table {table.qualified_name} has classification {table.classification!r}; the duckdb "
                         f"engine reads {', '.join(c for c in READABLE_CLASSIFICATIONS if c)} tables")
    root = local_root(table)
    suffix = ".parquet" if table.classification not in TEXT_CLASSIFICATIONS else ""
    found: list[tuple[str, int]] = []
    if os.path.isfile(root):
        found.append((root, os.path.getsize(root)))
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if name.endswith(suffix) and not is_excluded(os.path.relpath(path, root), DEFAULT_EXCLUDES):
                found.append((path, os.path.getsize(path)))
    return TableFiles(table=table, root=root, files=tuple(sorted(found)))


def _struct_literal(columns: tuple[Column, ...]) -> str:
    return "{" + ", ".join(f"{quote_literal(c.name)}: {quote_literal(duckdb_type(c.type))}" for c in columns) + "}"


def reader_sql(tf: TableFiles) -> str:
    """The DuckDB table function reading a table's files; partition keys get their catalog type."""
    table = tf.table
    hive = ", hive_partitioning = false"
    if table.partition_keys:
        hive = f", hive_partitioning = true, hive_types = {_struct_literal(table.partition_keys)}"
    files = "[" + ", ".join(quote_literal(p) for p, _ in tf.files) + "]"
    if table.classification == "csv":
        serde = table.storage.serde_parameters
        delim = serde.get("separatorChar") or serde.get("field.delim") or ","
        options = f", delim = {quote_literal(delim)}"
        header = table.parameters.get("skip.header.line.count")
        if header is not None and table.columns:  # header known: the catalog names and types the columns
            options += f", header = {'true' if header.strip() not in ('', '0') else 'false'}"
            options += f", columns = {_struct_literal(table.columns)}"
        return f"read_csv({files}{options}{hive})"
    if table.classification == "json":
        columns = f", columns = {_struct_literal(table.columns)}" if table.columns else ""
        return f"read_json({files}{columns}{hive})"
    pattern = quote_literal(f"{tf.root}/**/*.parquet")
    return f"read_parquet({pattern}, union_by_name = true{hive})"


def catalog_projection(table: Table, file_columns: dict[str, tuple[str, str]]) -> str:
    """Select exactly the catalog's columns, in catalog order, typed as the catalog says.

    The catalog defines the table, as in Athena: a catalog column missing from the files
    reads as NULL, and file columns the catalog does not list stay hidden — including the
    ``v=<version>`` folder of the table's own location, which hive partitioning would
    otherwise turn into a column. ``file_columns`` maps lower-case name → (name, DuckDB type).
    """
    if not table.all_columns():
        return "*"
    parts = []
    for column in table.all_columns():
        target = duckdb_type(column.type)
        found = file_columns.get(column.name.lower())
        if found is None:
            parts.append(f"CAST(NULL AS {target}) AS {quote_ident(column.name)}")
            continue
        name, file_type = found
        same = exp.DataType.build(file_type, dialect="duckdb").sql(dialect="duckdb") == target
        value = quote_ident(name) if same else f"CAST({quote_ident(name)} AS {target})"
        parts.append(f"{value} AS {quote_ident(column.name)}")
    return ", ".join(parts)


def empty_view_source(table: Table) -> str:
    """A table without data files yet is empty (with its catalog columns), not an error."""
    cols = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {quote_ident(c.name)}" for c in table.all_columns())
    return f"SELECT {cols or 'NULL AS _empty'} WHERE false"


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


def _trino_integers(data: pa.Table, duck_types: list[str]) -> pa.Table:
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

    def __init__(self, settings: Settings, lake: Lake) -> None:
        self.settings = settings
        self.lake = lake

    @contextmanager
    def connect(self, query: BoundQuery) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[TableFiles]]]:
        """A connection with one view per referenced table, locked down to those tables' directories."""
        tables = [list_table_files(t) for t in query.tables.values()]
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET threads = {THREADS}")
            for (db, name), tf in zip(query.tables, tables, strict=True):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(db)}")
                con.execute(f"CREATE VIEW {quote_ident(db)}.{quote_ident(name)} AS {self.view_source(con, tf)}")
            allowed = sorted({tf.root.rstrip("/") + "/" for tf in tables})
            con.execute(f"SET allowed_directories = [{', '.join(quote_literal(d) for d in allowed)}]")
            con.execute("SET enable_external_access = false")
            con.execute("PRAGMA enable_profiling = 'no_output'")
            con.execute("SET lock_configuration = true")
            yield con, tables
        finally:
            con.close()

    @staticmethod
    def view_source(con: duckdb.DuckDBPyConnection, tf: TableFiles) -> str:
        if not tf.files:
            return empty_view_source(tf.table)
        reader = reader_sql(tf)
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"cannot read table {tf.table.qualified_name} at {tf.root}: {exc}") from exc
        file_columns = {str(row[0]).lower(): (str(row[0]), str(row[1])) for row in described}
        return f"SELECT {catalog_projection(tf.table, file_columns)} FROM {reader}"

    def execute(self, query: BoundQuery) -> EngineResult:
        sql = to_duckdb(query)
        with self.connect(query) as (con, tables):
            try:
                con.execute(sql, list(query.params))
                duck_types = [str(d[1]) for d in con.description or []]
                data = con.to_arrow_table()
                profile = json.loads(con.get_profiling_information(format="json"))
            except duckdb.Error as exc:
                raise QueryError(f"duckdb could not run the query: {exc}\n-- SQL run by duckdb:\n{sql}") from exc
        data = _trino_integers(data, duck_types)
        stats = {
            # DuckDB does not report bytes read from Parquet, so this is the size of every data file of
            # the referenced tables: an upper bound, like Athena's bytes scanned without partition pruning.
            "bytes_scanned": sum(tf.size for tf in tables),
            # Files DuckDB actually opened after partition pruning / file filters.
            "files_scanned": _files_read(profile),
            "files_total": sum(len(tf.files) for tf in tables),
        }
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
