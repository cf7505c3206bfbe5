"""Read catalog tables as DuckDB relations, the way ``jobs.spark.catalog_io`` reads them.

The catalog is the source of truth: a partitioned table is the union of its partitions'
own locations (bronze batches live in per-attempt directories), and partition values come
from the catalog, typed by the partition keys — never from ``k=v`` folder names, which
DuckDB's hive partitioning would also invent for version directories. Columns come in the
order the Spark engine's reader gives (the first version directory's file columns, the
partition keys, then columns only later ones have), so both engines see the same row shape.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeglue.catalog.base import Catalog
from lakeglue.catalog.model import Partition, Table
from lakeglue.jobs.duckdb.types import parse_hive_type, quote_ident, quote_literal, working_cast, working_type
from lakeglue.storage.zones import DEFAULT_EXCLUDES, Lake, is_excluded

if TYPE_CHECKING:
    import duckdb


class DuckDBReadError(ValueError):
    """A catalog table cannot be read by the DuckDB engine; the message names the table and location."""


@dataclass(frozen=True)
class TableRelation:
    """A SELECT over a catalog table's data, with its columns (name, DuckDB type) in Spark's order."""

    sql: str
    columns: tuple[tuple[str, str], ...]
    files: int

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.columns]


def table_dir(lake: Lake, location: str, table: str) -> str:
    """The lake (fsspec) path of a catalog location; a location outside the lake's storage is an error."""
    scheme = location.split("://", 1)[0] if "://" in location else "file"
    if scheme != lake.protocol and not (lake.protocol == "s3" and scheme == "s3a"):
        raise DuckDBReadError(f"{table} is stored at {location}, but this lake is on {lake.protocol} "
                              f"({lake.uri(lake.root)}); DuckDB reads tables of its own lake")
    return lake.fs_path(location)


def data_files(lake: Lake, directory: str) -> list[str]:
    """Data files under a lake directory, as Spark lists them (``_``/``.`` files such as _SUCCESS skipped),
    spelled as DuckDB opens them (local paths, or ``s3://`` URLs)."""
    if not lake.fs.exists(directory):
        return []
    found = [p if lake.protocol != "file" or p.startswith("/") else "/" + p for p in lake.fs.find(directory)]
    kept = sorted(p for p in found if not is_excluded(posixpath.relpath(p, directory), DEFAULT_EXCLUDES))
    return [lake.engine_path(p) for p in kept]


def _file_list(paths: list[str]) -> str:
    return "[" + ", ".join(quote_literal(p) for p in paths) + "]"


def _described(con: duckdb.DuckDBPyConnection, files: list[str]) -> list[tuple[str, Any]]:
    rel = con.sql(f"SELECT * FROM {parquet_scan(files)}")
    return list(zip(rel.columns, rel.types, strict=True))


def _converted(name: str, duck_type: Any, qualifier: str = "") -> str:
    """A file column in working types (instants → naive UTC timestamps), keeping its name."""
    ident = quote_ident(name)
    return working_cast(f"{qualifier}.{ident}" if qualifier else ident, name, duck_type)


def empty_relation(table: Table) -> TableRelation:
    cols = tuple((c.name, parse_hive_type(c.type).to_duckdb()) for c in table.all_columns())
    select = ", ".join(f"CAST(NULL AS {t}) AS {quote_ident(n)}" for n, t in cols) or "NULL AS _empty"
    return TableRelation(sql=f"SELECT {select} WHERE false", columns=cols, files=0)


def read_table(con: duckdb.DuckDBPyConnection, catalog: Catalog, lake: Lake, database: str,
               name: str) -> TableRelation:
    table = catalog.get_table(database, name)
    if table.classification != "parquet":
        raise DuckDBReadError(f"{table.qualified_name} is {table.classification or 'unclassified'}; "
                              "jobs read raw formats through bronze, curated tables must be parquet")
    if not table.partition_keys:
        files = data_files(lake, table_dir(lake, table.location, table.qualified_name))
        if not files:
            return empty_relation(table)
        described = _described(con, files)
        select = ", ".join(_converted(n, t) for n, t in described)
        return TableRelation(sql=f"SELECT {select} FROM {parquet_scan(files)}",
                             columns=tuple((n, working_type(t)) for n, t in described), files=len(files))
    return _read_partitioned(con, catalog, lake, table)


def _read_partitioned(con: duckdb.DuckDBPyConnection, catalog: Catalog, lake: Lake, table: Table) -> TableRelation:
    keys = [k.name for k in table.partition_keys]
    key_types = {k.name: parse_hive_type(k.type).to_duckdb() for k in table.partition_keys}
    order: list[str] = []
    types: dict[str, Any] = {}
    mapping: list[tuple[str, tuple[str, ...]]] = []
    for part in _spark_scan_order(catalog.get_partitions(table.database, table.name), keys):
        files = data_files(lake, table_dir(lake, part.location, table.qualified_name))
        if not files:
            continue
        file_columns = [(n, t) for n, t in _described(con, files) if n not in keys]
        if not order:
            order = [n for n, _ in file_columns] + keys
        order += [n for n, _ in file_columns if n not in order]
        for n, t in file_columns:
            types.setdefault(n, t)
        mapping += [(f, part.values) for f in files]
    if not mapping:
        return empty_relation(table)
    files = [f for f, _ in mapping]
    values = ", ".join("(" + ", ".join([quote_literal(f), *(quote_literal(v) for v in vals)]) + ")"
                       for f, vals in mapping)
    key_cols = ", ".join(quote_ident(f"__key_{k}") for k in keys)
    data = parquet_scan(files, with_file=True)
    select = []
    for column in order:
        if column in key_types:
            select.append(f"CAST(p.{quote_ident('__key_' + column)} AS {key_types[column]}) AS {quote_ident(column)}")
        else:
            select.append(_converted(column, types[column], "d"))
    sql = (f"SELECT {', '.join(select)} FROM {data} AS d "
           f"JOIN (VALUES {values}) AS p(__file, {key_cols}) ON d.__file = p.__file")
    columns = tuple((c, key_types[c] if c in key_types else working_type(types[c])) for c in order)
    return TableRelation(sql=sql, columns=columns, files=len(files))


def _spark_scan_order(partitions: list[Partition], keys: list[str]) -> list[Partition]:
    """Partitions in the order the Spark engine unions them: hive-layout partitions grouped by their
    version directory (sorted by its path), then partitions at arbitrary locations in catalog order.
    The order decides where a column that only some partitions have lands in the row."""
    def base(part: Partition) -> str | None:
        suffix = "/".join(f"{k}={v}" for k, v in zip(keys, part.values, strict=True))
        location = part.location.rstrip("/")
        return location[: -len(suffix) - 1] if location.endswith("/" + suffix) else None

    grouped = sorted((p for p in partitions if base(p) is not None), key=lambda p: (base(p) or "", p.location))
    return grouped + [p for p in partitions if base(p) is None]


def parquet_scan(files: list[str], with_file: bool = False) -> str:
    """``read_parquet`` over ``files``: schemas merged by name, no hive partition guessing from paths."""
    file_option = ", filename = '__file'" if with_file else ""
    return f"read_parquet({_file_list(files)}, union_by_name = true, hive_partitioning = false{file_option})"
