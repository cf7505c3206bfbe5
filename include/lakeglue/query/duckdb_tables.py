"""Catalog tables as DuckDB relations: which files a table has and the SQL that reads them as the catalog says.

The catalog, not the directory tree, defines a table — as in Athena. An unpartitioned
table is every data file under its location; a partitioned table is exactly its
registered partitions, each at its own location. That matters: bronze keeps one
``a-<token>/`` directory per batch attempt and INSERT INTO gives rewritten partitions
new directories, so a glob of the table root would read superseded data twice.

Partition values come from the catalog. When every partition directory ends in
``key=value`` folders that agree with the catalog (everything lakeglue and Spark write),
one ``read_parquet([...], hive_partitioning = true)`` reads them and DuckDB prunes files on
``WHERE dt = …``; otherwise each partition is read on its own with its catalog values as
constants.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import SqlglotError

from lakeglue.catalog import Catalog, Column, Partition, Table
from lakeglue.query.base import QueryError
from lakeglue.query.text_tables import (
    JSON_LINE,
    TEXT_CLASSIFICATIONS,
    ColumnRead,
    UnparsedCounter,
    cast_text,
    check_readable,
    column_formats,
    column_reads,
    counted,
    csv_null_strings,
    duckdb_encoding,
    is_text_table,
    json_field,
    json_lines_reader,
    json_null_markers,
    literal_path,
    safe_value,
)
from lakeglue.records import table_encoding
from lakeglue.storage.zones import DEFAULT_EXCLUDES, is_excluded

if TYPE_CHECKING:
    import duckdb

#: Raw (crawled) text tables are read as text and cast; no classification means a Parquet table.
READABLE_CLASSIFICATIONS = ("parquet", "", *TEXT_CLASSIFICATIONS)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@lru_cache(maxsize=1024)
def duckdb_type(hive_type: str) -> str:
    """DuckDB spelling of a Hive/Glue type string (``array<struct<a:int>>`` → ``STRUCT(a INT)[]``)."""
    return exp.DataType.build(hive_type, dialect="hive").sql(dialect="duckdb")


@lru_cache(maxsize=1024)
def normalized_duckdb_type(duck_type: str) -> str:
    """DuckDB's own spelling, normalized (cached: sqlglot parsing is the bulk of a small query's overhead)."""
    return exp.DataType.build(duck_type, dialect="duckdb").sql(dialect="duckdb")


@lru_cache(maxsize=1024)
def trino_type(duck_type: str) -> str:
    """Trino/Athena spelling of a DuckDB result type, as Athena reports result columns."""
    if duck_type.upper() == "HUGEINT":  # results cast HUGEINT to BIGINT, see duckdb_engine.trino_integers
        return "bigint"
    try:
        text = exp.DataType.build(duck_type, dialect="duckdb").sql(dialect="trino").lower()
    except SqlglotError:  # a DuckDB-only type sqlglot cannot parse: report it as DuckDB names it
        return duck_type.lower()
    return text.replace(", ", ",") if text.startswith("decimal") else text


@dataclass(frozen=True)
class PartitionFiles:
    """One catalog partition and its data files (path, size)."""

    partition: Partition
    root: str
    files: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TableFiles:
    """Where a catalog table's data lives on local disk and which files are data (litter excluded)."""

    table: Table
    #: Directories the query may read: the table location, or every partition location.
    roots: tuple[str, ...]
    files: tuple[tuple[str, int], ...]  # (path, size)
    #: Catalog partitions with their files; empty for an unpartitioned table.
    partitions: tuple[PartitionFiles, ...] = ()

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)


def local_dir(location: str, what: str) -> str:
    """Local directory of a location; other schemes need an engine that reads object storage."""
    if not location:
        raise QueryError(f"{what} has no storage location in the catalog")
    if location.startswith("file://"):
        location = location.removeprefix("file://")
    elif "://" in location:
        raise QueryError(f"{what} is stored at {location}; the duckdb engine reads local lakes only "
                         "(object storage is queried through the trino/athena engines)")
    return os.path.abspath(location).rstrip("/") or "/"


@lru_cache(maxsize=65536)
def _is_litter(relative_path: str) -> bool:
    """Cached: every query lists its tables' files again, and matching each against the glob excludes
    was a third of that listing's time (bench/query.py: 30 partitions)."""
    return is_excluded(relative_path, DEFAULT_EXCLUDES)


def data_files(root: str, classification: str) -> tuple[tuple[str, int], ...]:
    """Data files under ``root`` (or ``root`` itself), sorted, with Spark/Hadoop litter excluded."""
    suffix = ".parquet" if classification not in TEXT_CLASSIFICATIONS else ""
    found: list[tuple[str, int]] = []
    if os.path.isfile(root):
        found.append((root, os.path.getsize(root)))
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if name.endswith(suffix) and not _is_litter(os.path.relpath(path, root)):
                found.append((path, os.path.getsize(path)))
    return tuple(sorted(found))


def list_table_files(table: Table, catalog: Catalog | None) -> TableFiles:
    """The files of ``table``: under its location, or (partitioned) under each catalog partition."""
    check_readable(table)
    if table.classification not in READABLE_CLASSIFICATIONS:
        raise QueryError(f"table {table.qualified_name} has classification {table.classification!r}; the duckdb "
                         f"engine reads {', '.join(c for c in READABLE_CLASSIFICATIONS if c)} tables")
    if not table.partition_keys:
        root = local_dir(table.location, f"table {table.qualified_name}")
        return TableFiles(table=table, roots=(root,), files=data_files(root, table.classification))
    if catalog is None:
        raise QueryError(f"table {table.qualified_name} is partitioned; reading it needs the catalog's partitions")
    parts = []
    for part in catalog.get_partitions(table.database, table.name):
        what = f"partition {'/'.join(part.values)} of {table.qualified_name}"
        root = local_dir(part.location, what)
        parts.append(PartitionFiles(part, root, data_files(root, table.classification)))
    files = tuple(f for p in parts for f in p.files)
    return TableFiles(table=table, roots=tuple(sorted({p.root for p in parts})), files=files, partitions=tuple(parts))


def _struct_literal(columns: tuple[Column, ...]) -> str:
    return "{" + ", ".join(f"{quote_literal(c.name)}: {quote_literal(duckdb_type(c.type))}" for c in columns) + "}"


def is_hive_style(table: Table, part: PartitionFiles) -> bool:
    """True if the partition directory ends in ``k1=v1/…/kn=vn`` with exactly the catalog's keys and values."""
    tail = part.root.split("/")[-len(table.partition_keys):]
    expected = [f"{k.name}={v}" for k, v in zip(table.partition_keys, part.partition.values, strict=True)]
    return tail == expected


def file_reader(table: Table, files: list[str], hive: bool) -> str:
    """The DuckDB table function reading ``files`` in the table's format (partition keys typed as the catalog says).

    Paths are passed literally (never globbed). Text tables are read as text with their null
    markers and encoding (see :mod:`lakeglue.query.text_tables`); the projection casts them.
    """
    listed = "[" + ", ".join(quote_literal(literal_path(p)) for p in files) + "]"
    partitioning = ", hive_partitioning = false"
    if hive:
        partitioning = f", hive_partitioning = true, hive_types = {_struct_literal(table.partition_keys)}"
    if table.classification == "csv":
        serde = table.storage.serde_parameters
        delim = serde.get("separatorChar") or serde.get("field.delim") or ","
        options = f", delim = {quote_literal(delim)}"
        encoding = duckdb_encoding(table, files)
        if encoding is not None:
            options += f", encoding = {quote_literal(encoding)}"
        nulls = csv_null_strings(table)
        if nulls:
            options += f", nullstr = [{', '.join(quote_literal(n) for n in nulls)}]"
        if table.columns:  # the catalog names the columns (in file order); absent header count = no header, as Hive
            header = table.parameters.get("skip.header.line.count", "0")
            options += f", header = {'true' if header.strip() not in ('', '0') else 'false'}"
            options += f", columns = {_text_struct(table, csv=True)}"
            # the catalog says how to parse, so no sniffing (which fails on ragged files); as Hive: a short row
            # reads NULL for its missing fields, a long row drops its extra fields
            quote = serde.get("quoteChar") or '"'
            options += f", auto_detect = false, quote = {quote_literal(quote)}"
            options += ", null_padding = true, strict_mode = false"
        return f"read_csv({listed}{options}{partitioning})"
    if table.classification == "json":
        encoding = duckdb_encoding(table, files)
        if encoding is not None:
            if not table.columns:
                raise QueryError(f"table {table.qualified_name} is JSON encoded {table_encoding(table.parameters)} "
                                 "and has no columns in the catalog; crawl it first")
            return json_lines_reader(listed, encoding, partitioning)
        columns = f", columns = {_text_struct(table, csv=False)}" if table.columns else ""
        return f"read_json({listed}{columns}{partitioning})"
    return f"read_parquet({listed}, union_by_name = true{partitioning})"


def _text_struct(table: Table, csv: bool) -> str:
    """``columns`` of a text reader: every column as text, under its name in the files (CSV: by position)."""
    reads = column_reads(table, duckdb_type)
    return "{" + ", ".join(f"{quote_literal(r.column.name if csv else r.source)}: {quote_literal(r.read_type)}"
                           for r in reads) + "}"


def reader_sql(tf: TableFiles) -> str:
    """A FROM-able relation over all of the table's files; partition keys come from the catalog."""
    table = tf.table
    if not table.partition_keys:
        return file_reader(table, [p for p, _ in tf.files], hive=False)
    with_files = [p for p in tf.partitions if p.files]
    if all(is_hive_style(table, p) for p in with_files):
        return file_reader(table, [f for p in with_files for f, _ in p.files], hive=True)
    keys = ", ".join(quote_literal(k.name) for k in table.partition_keys)
    branches = []
    for part in with_files:
        constants = ", ".join(f"CAST({quote_literal(v)} AS {duckdb_type(k.type)}) AS {quote_ident(k.name)}"
                              for k, v in zip(table.partition_keys, part.partition.values, strict=True))
        reader = file_reader(table, [f for f, _ in part.files], hive=False)
        # file columns named like a partition key are dropped: the catalog's value wins
        branches.append(f"SELECT COLUMNS(c -> c NOT IN ({keys})), {constants} FROM {reader}")
    return "(" + " UNION ALL BY NAME ".join(branches) + ")"


def described_file_columns(con: duckdb.DuckDBPyConnection, tf: TableFiles, reader: str) -> dict[str, tuple[str, str]]:
    """The columns the table's files give through ``reader`` (:func:`reader_sql`): lower-case name →
    (name, DuckDB type), as :func:`catalog_projection` takes them; a file DuckDB cannot read is a
    QueryError naming the table and where it is."""
    import duckdb

    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"cannot read table {tf.table.qualified_name} at {', '.join(tf.roots)}: {exc}") from exc
    return {str(row[0]).lower(): (str(row[0]), str(row[1])) for row in described}


def catalog_projection(table: Table, file_columns: dict[str, tuple[str, str]],
                       text: TextProjection | None = None, as_text: Collection[str] = ()) -> str:
    """Select exactly the catalog's columns, in catalog order, typed as the catalog says.

    The catalog defines the table, as in Athena: a catalog column missing from the files
    reads as NULL, and file columns the catalog does not list stay hidden — including the
    ``v=<version>`` folder of the table's own location, which hive partitioning would
    otherwise turn into a column. ``file_columns`` maps lower-case name → (name, DuckDB type).
    Text tables (read as text) are cast by :meth:`TextProjection.value` instead; their columns
    named in ``as_text`` stay the reader's text (a query that casts them itself, see
    :mod:`lakeglue.query.text_casts`).
    """
    if not table.all_columns():
        return "*"
    parts = []
    texts = text.reads if text is not None and is_text_table(table) else {}
    for column in table.all_columns():
        target = duckdb_type(column.type)
        read = texts.get(column.name)
        if read is not None and text is not None:
            ref = text.reference(read, file_columns)
            if ref is not None and column.name in as_text:
                value = ref
            else:
                value = f"CAST(NULL AS {target})" if ref is None else text.value(read, ref)
            parts.append(f"{value} AS {quote_ident(column.name)}")
            continue
        found = file_columns.get(column.name.lower())
        if found is None:
            parts.append(f"CAST(NULL AS {target}) AS {quote_ident(column.name)}")
            continue
        name, file_type = found
        same = normalized_duckdb_type(file_type) == target
        value = quote_ident(name) if same else f"CAST({quote_ident(name)} AS {target})"
        parts.append(f"{value} AS {quote_ident(column.name)}")
    return ", ".join(parts)


class TextProjection:
    """Casts of one text table's columns: text → catalog type, NULL when a value does not parse (counted)."""

    def __init__(self, table: Table, counter: UnparsedCounter | None = None,
                 con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.table = table
        self.counter = counter
        self.con = con
        self.reads = {r.column.name: r for r in column_reads(table, duckdb_type)}
        self.markers = json_null_markers(table) if table.classification == "json" else []
        self.layouts = column_formats(table)

    def reference(self, read: ColumnRead, file_columns: dict[str, tuple[str, str]]) -> str | None:
        """The column's text as the reader gives it (None when the files do not have it)."""
        if JSON_LINE in file_columns:  # JSON lines in another encoding: fields extracted from each line
            return json_field(read.source, read.read_type)
        found = file_columns.get((read.source if self.table.classification == "json" else read.column.name).lower())
        return None if found is None else quote_ident(found[0])

    def raw(self, read: ColumnRead, ref: str) -> str:
        """The column's text with the table's JSON null markers as NULL (CSV markers are the reader's nullstr)."""
        if self.markers and read.read_type != "JSON":
            return f"CASE WHEN {ref} IN ({', '.join(quote_literal(m) for m in self.markers)}) THEN NULL ELSE {ref} END"
        return ref

    def value(self, read: ColumnRead, ref: str) -> str:
        raw = self.raw(read, ref)
        if not read.needs_cast:
            return raw
        typed = cast_text(raw, read.target, self.layouts.get(read.column.name))
        typed = safe_value(typed, read.column, self.table, duckdb_type, quote_ident)  # renamed nested fields
        if self.counter is None or self.con is None:
            return typed
        return counted(typed, raw, self.counter.sequence(self.con, self.table.qualified_name, read.column))


def empty_view_source(table: Table) -> str:
    """A table without data files yet is empty (with its catalog columns), not an error."""
    cols = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {quote_ident(c.name)}" for c in table.all_columns())
    return f"SELECT {cols or 'NULL AS _empty'} WHERE false"
