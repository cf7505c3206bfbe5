"""Write the rows of a CTAS / INSERT INTO as partitioned Parquet and switch the catalog to them atomically.

Used by engines that do not write tables themselves (DuckDB). It follows the same
commit protocol as the Spark jobs (:mod:`lakeglue.jobs.commit`): files are written to a
staging directory, moved to a fresh ``v-<token>`` (new table version) or ``a-<token>``
(new partition directories) directory, and only then does the catalog point at them.
A failure at any point leaves the previous table readable and unchanged.

INSERT INTO is copy-on-write: an unpartitioned table gets a new version directory with
its previous files plus the new ones; a partitioned table gets new directories only for
the partitions it touches (previous files of that partition plus the new ones), and
those partitions are switched in one catalog transaction. The table's version number
guards against two writers extending the same table at once: the second one fails with
a message to retry instead of silently losing the first one's rows.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lakeglue.catalog import AlreadyExists, Catalog, Column, ConcurrentModification, Partition, StorageDescriptor, Table
from lakeglue.jobs.commit import PendingWrite, plan_batch_attempt, plan_table_version
from lakeglue.query.base import BoundQuery, EngineResult, QueryEngine, QueryError
from lakeglue.query.writes import COMPRESSIONS, WriteStatement
from lakeglue.storage.paths import partition_folder
from lakeglue.storage.zones import Lake

#: Hive base types a catalog column may have (what Glue, Spark and Athena all understand).
HIVE_TYPES = {"tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "string", "varchar", "char",
              "boolean", "date", "timestamp", "binary", "array", "map", "struct"}
#: Types a partition value can be written as in a ``key=value`` folder name and read back exactly.
PARTITION_TYPES = {"tinyint", "smallint", "int", "bigint", "string", "varchar", "char", "boolean", "date"}
_INTEGERS = ["tinyint", "smallint", "integer", "bigint"]
_UNNAMED = re.compile(r"_col\d+")
#: Layers of a ``<pipeline>_<layer>`` database, stored as ``curated/<layer>/<table>`` like the Spark jobs do.
LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class WriteOutcome:
    """What a write did: rows written, the table's new data directory and the partitions it touched."""

    rows: int
    location: str | None
    partitions: list[tuple[str, ...]] = field(default_factory=list)
    table_version: int | None = None
    skipped: bool = False

    def as_engine_result(self, write: WriteStatement, select: EngineResult) -> EngineResult:
        """The write as a query result: one ``rows`` column, as Trino answers CTAS / INSERT."""
        stats = {**select.stats, "statement_type": write.kind, "target_table": write.qualified_name,
                 "table_location": self.location, "table_version": self.table_version,
                 "partitions_written": ["/".join(p) for p in self.partitions]}
        if self.skipped:
            stats["skipped"] = "table exists (IF NOT EXISTS)"
        return EngineResult(data=pa.table({"rows": pa.array([self.rows], pa.int64())}), types=["bigint"],
                            engine_sql=select.engine_sql, stats=stats)


# -- types -----------------------------------------------------------------------------------

def hive_type(trino_type: str, column: str) -> str:
    """The catalog (Hive/Glue) type for a result column's Trino type; types Glue cannot hold are refused."""
    try:
        text = exp.DataType.build(trino_type, dialect="trino").sql(dialect="hive").lower()
    except SqlglotError as exc:
        raise QueryError(f"column {column}: type {trino_type} cannot be stored in a catalog table") from exc
    text = text.replace(", ", ",").replace(": ", ":")
    base = re.split(r"[(<]", text, maxsplit=1)[0]
    if base not in HIVE_TYPES or " " in text.split("<")[0]:
        raise QueryError(f"column {column}: type {trino_type} cannot be stored in a catalog table; "
                         "CAST it to varchar, bigint, double, decimal, date or timestamp")
    return text


def trino_of_hive(hive: str) -> str:
    return exp.DataType.build(hive, dialect="hive").sql(dialect="trino").lower().replace(", ", ",")


def coercible(source: str, target: str) -> bool:
    """Whether Trino would accept a ``source`` value in a ``target`` column of an INSERT (implicit coercion)."""
    src, dst = source.replace(" ", ""), target.replace(" ", "")
    base_src, base_dst = src.split("(")[0], dst.split("(")[0]
    if src == dst or base_src in ("null", "unknown"):
        return True
    numeric_targets = {"decimal", "double", "real"}
    if base_src in _INTEGERS:
        return (base_dst in _INTEGERS and _INTEGERS.index(base_dst) >= _INTEGERS.index(base_src)) \
            or base_dst in numeric_targets
    if base_src == "decimal":
        return base_dst in numeric_targets
    if base_src == "real":
        return base_dst == "double"
    if base_src in ("varchar", "char"):
        return base_dst == "varchar"
    if base_src == "date":
        return base_dst == "timestamp"
    return base_src == "timestamp" and base_dst == "timestamp"


# -- where the table lives -------------------------------------------------------------------

def layer_for(database: str) -> str:
    """``ecommerce_gold`` → ``gold`` (next to the Spark job's tables); any other database names its own folder."""
    suffix = database.rsplit("_", 1)[-1]
    return suffix if "_" in database and suffix in LAYERS else database


def fs_path(lake: Lake, uri: str) -> str:
    return str(lake.fs._strip_protocol(uri))


def table_home(lake: Lake, table: Table) -> tuple[str, str]:
    """``(layer, folder)`` of a curated table, the parent of its ``v-…`` / ``a-…`` directories."""
    curated = lake.path("curated")
    rel = posixpath.relpath(fs_path(lake, table.location), curated)
    parts = rel.split("/")
    if rel.startswith("..") or len(parts) < 2:
        raise QueryError(f"INSERT INTO {table.qualified_name}: the table is stored at {table.location}, outside "
                         f"the curated zone ({lake.uri(curated)}); INSERT INTO extends tables lakeglue writes")
    return parts[0], parts[1]


# -- files -----------------------------------------------------------------------------------

def partition_value(value: Any, column: str) -> str:
    """The catalog form of a partition value (``2026-11-01``); its folder name is Hive-escaped when written
    (:func:`lakeglue.storage.paths.partition_folder`), so ``../x`` or ``a/b`` stay one folder."""
    if value is None:
        raise QueryError(f"partition column {column} is NULL in some rows; filter them out or COALESCE them, "
                         "a partition needs a value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if not text:
        raise QueryError(f"partition column {column} is an empty string in some rows; Hive reads an empty "
                         "partition value back as NULL, so give those rows a value")
    return text


def split_partitions(data: pa.Table, keys: Sequence[str]) -> dict[tuple[str, ...], pa.Table]:
    """Rows grouped by their partition values (catalog form), without the partition columns."""
    columns = [data.column(k).to_pylist() for k in keys]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(zip(*columns, strict=True)):
        values = tuple(partition_value(v, k) for v, k in zip(row, keys, strict=True))
        groups.setdefault(values, []).append(i)
    rest = data.drop_columns(list(keys))
    return {values: rest.take(pa.array(rows, pa.int64())) for values, rows in sorted(groups.items())}


def parquet_name(compression: str, query_id: str) -> str:
    codec = COMPRESSIONS[compression]
    return f"part-00000-{query_id or 'lakeglue'}.{codec if codec != 'none' else 'uncompressed'}.parquet"


def write_parquet(lake: Lake, directory: str, data: pa.Table, compression: str, query_id: str) -> None:
    lake.fs.makedirs(directory, exist_ok=True)
    codec = COMPRESSIONS[compression]
    with lake.fs.open(posixpath.join(directory, parquet_name(compression, query_id)), "wb") as fh:
        pq.write_table(data, fh, compression=None if codec == "none" else codec)


def copy_data_files(lake: Lake, source_uri: str, target: str) -> None:
    """Copy a directory's data files (litter excluded) to ``target``, keeping their relative paths."""
    source = fs_path(lake, source_uri)
    for info in lake.list_files(source):
        dest = posixpath.join(target, posixpath.relpath(info.path, source))
        lake.fs.makedirs(posixpath.dirname(dest), exist_ok=True)
        lake.fs.copy(info.path, dest)


def write_table_files(lake: Lake, directory: str, data: pa.Table, keys: Sequence[str], compression: str,
                      query_id: str) -> list[tuple[str, ...]]:
    lake.fs.makedirs(directory, exist_ok=True)
    if not keys:
        if data.num_rows:
            write_parquet(lake, directory, data, compression, query_id)
        return []
    groups = split_partitions(data, keys)
    for values, rows in groups.items():
        write_parquet(lake, partition_folder(directory, keys, values), rows, compression, query_id)
    return list(groups)


def _partitions(lake: Lake, table: Table, root: str, values: Sequence[tuple[str, ...]]) -> list[Partition]:
    keys = [k.name for k in table.partition_keys]
    return [Partition(table.database, table.name, v, StorageDescriptor.for_format(
        "parquet", table.columns, lake.uri(partition_folder(root, keys, v)))) for v in values]


# -- CTAS ------------------------------------------------------------------------------------

def unnamed_positions(select: exp.Query) -> list[int]:
    """1-based positions of SELECT items without a name (``count(*)``), which a table cannot have."""
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return []
    return [i + 1 for i, item in enumerate(select.expressions)
            if not isinstance(item, exp.Column | exp.Alias | exp.Star) or
            (isinstance(item, exp.Column) and isinstance(item.this, exp.Star))]


def ctas_columns(write: WriteStatement, names: list[str], types: list[str]) -> tuple[list[Column], list[Column]]:
    """Data columns and partition keys of a CTAS result (its lower-case column names), checked as Athena does."""
    unnamed = unnamed_positions(write.select_tree)
    if unnamed:
        raise QueryError(f"CREATE TABLE {write.qualified_name}: column name not specified at position "
                         f"{unnamed[0]} of the SELECT; give every expression an alias (… AS name)")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise QueryError(f"CREATE TABLE {write.qualified_name}: column {duplicates[0]} appears more than once")
    columns = [Column(n, hive_type(t, n)) for n, t in zip(names, types, strict=True)]
    keys = list(write.partitioned_by)
    if keys:
        missing = [k for k in keys if k not in names]
        if missing:
            raise QueryError(f"CREATE TABLE {write.qualified_name}: partitioned_by column {missing[0]} is not a "
                             f"column of the SELECT; columns: {', '.join(names)}")
        if names[-len(keys):] != keys:
            raise QueryError(f"CREATE TABLE {write.qualified_name}: partition columns must be the last columns of "
                             f"the SELECT, in partitioned_by order ({', '.join(keys)}), as Athena requires; the "
                             f"SELECT ends with {', '.join(names[-len(keys):])}")
        if len(keys) == len(names):
            raise QueryError(f"CREATE TABLE {write.qualified_name}: a table needs at least one column that is not "
                             "a partition column")
        for key in columns[-len(keys):]:
            if re.split(r"[(<]", key.type, maxsplit=1)[0] not in PARTITION_TYPES:
                raise QueryError(f"CREATE TABLE {write.qualified_name}: partition column {key.name} is {key.type}; "
                                 f"partition columns must be one of {', '.join(sorted(PARTITION_TYPES))}")
        return columns[:-len(keys)], columns[-len(keys):]
    return columns, []


def create_table_as(write: WriteStatement, selected: EngineResult, catalog: Catalog, lake: Lake,
                    query_id: str) -> WriteOutcome:
    data = selected.data.rename_columns([n.lower() for n in selected.data.column_names])
    columns, keys = ctas_columns(write, data.column_names, selected.types)
    if write.if_not_exists and catalog.table_exists(write.database, write.name):
        return WriteOutcome(rows=0, location=catalog.get_table(write.database, write.name).location, skipped=True)
    pending = plan_table_version(lake, layer_for(write.database), write.name)
    written = write_table_files(lake, pending.staged, data, [k.name for k in keys], write.compression, query_id)
    return register_ctas(write, columns, keys, pending, written, data.num_rows, catalog, lake, query_id)


def register_ctas(write: WriteStatement, columns: list[Column], keys: list[Column], pending: PendingWrite,
                  written: list[tuple[str, ...]], rows: int, catalog: Catalog, lake: Lake,
                  query_id: str) -> WriteOutcome:
    """Commit a CTAS's staged files to a new table version and only then create the catalog table."""
    lake.commit(pending.staged, pending.final)
    params = {"classification": "parquet", "typeOfData": "file", "UPDATED_BY_JOB": "lakeglue",
              "lakeglue.created_by_query": query_id, "write_compression": write.compression}
    table = Table(write.database, write.name, StorageDescriptor.for_format("parquet", columns, lake.uri(pending.final)),
                  partition_keys=tuple(keys), parameters=params)
    try:
        stored = catalog.create_table(table)
    except AlreadyExists:
        raise QueryError(f"table {write.qualified_name} was created by another writer while this CTAS ran; "
                         f"nothing was registered (the unused data at {lake.uri(pending.final)} expires with "
                         "lifecycle rules)") from None
    catalog.replace_partitions(write.database, write.name, _partitions(lake, stored, pending.final, written))
    return WriteOutcome(rows=rows, location=stored.location, partitions=written, table_version=stored.version)


def create_table_written_by_engine(write: WriteStatement, select: BoundQuery, engine: Any, catalog: Catalog,
                                   lake: Lake, query_id: str) -> EngineResult:
    """An unpartitioned CTAS whose Parquet file the engine writes itself (DuckDB's COPY), never held in Python.

    Same checks, staging and commit as :func:`create_table_as`; only who encodes the file differs.
    """
    if write.if_not_exists and catalog.table_exists(write.database, write.name):
        outcome = WriteOutcome(rows=0, location=catalog.get_table(write.database, write.name).location, skipped=True)
        return outcome.as_engine_result(write, EngineResult(data=pa.table({}), types=[], engine_sql=""))
    pending = plan_table_version(lake, layer_for(write.database), write.name)
    checked: list[list[Column]] = []

    def check(names: list[str], types: list[str]) -> None:
        checked.append(ctas_columns(write, [n.lower() for n in names], types)[0])

    folder = fs_path(lake, pending.staged)
    lake.fs.makedirs(folder, exist_ok=True)
    path = posixpath.join(folder, parquet_name(write.compression, query_id))
    try:
        done = engine.write_parquet(select, path, write.compression, check)
    except BaseException:
        lake.fs.rm(folder, recursive=True)  # a half-written file is never committed; do not leave it either
        raise
    if done.rows == 0:  # as create_table_as: an empty table has no data file
        lake.fs.rm(path)
    outcome = register_ctas(write, checked[0], [], pending, [], done.rows, catalog, lake, query_id)
    return outcome.as_engine_result(write, EngineResult(data=pa.table({}), types=done.types,
                                                         engine_sql=done.engine_sql, stats=done.stats))


# -- INSERT INTO -----------------------------------------------------------------------------

def insert_rows(write: WriteStatement, selected: EngineResult, table: Table) -> pa.Table:
    """The SELECT's rows as the table's columns, in table order, cast to the catalog types (Trino's coercions)."""
    import duckdb

    from lakeglue.query.duckdb_tables import duckdb_type, quote_ident

    targets = list(table.all_columns())
    listed = list(write.insert_columns) or [c.name.lower() for c in targets]
    if selected.data.num_columns != len(listed):
        raise QueryError(f"INSERT INTO {write.qualified_name}: the query gives {selected.data.num_columns} "
                         f"column(s) but {len(listed)} are inserted ({', '.join(listed)})")
    source = {name: i for i, name in enumerate(listed)}
    projections = []
    for column in targets:
        target_type = duckdb_type(column.type)
        index = source.get(column.name.lower())
        if index is None:
            projections.append(f"CAST(NULL AS {target_type}) AS {quote_ident(column.name)}")
            continue
        given, wanted = selected.types[index], trino_of_hive(column.type)
        if not coercible(given, wanted):
            raise QueryError(f"INSERT INTO {write.qualified_name}: column {column.name} (position {index + 1}) is "
                             f"{wanted} in the table but the query gives {given}; add a CAST")
        projections.append(f"CAST(src.{quote_ident(f'c{index}')} AS {target_type}) AS {quote_ident(column.name)}")
    src = selected.data.rename_columns([f"c{i}" for i in range(selected.data.num_columns)])
    con = duckdb.connect(":memory:")
    try:
        con.register("src", src)
        return con.execute(f"SELECT {', '.join(projections)} FROM src").to_arrow_table()
    except duckdb.Error as exc:
        raise QueryError(f"INSERT INTO {write.qualified_name}: a value does not fit its column: {exc}") from exc
    finally:
        con.close()


def _bump_version(catalog: Catalog, write: WriteStatement, table: Table, changes: dict[str, Any]) -> Table:
    """Update the table only if nobody else did since the INSERT read it (optimistic concurrency)."""
    try:
        return catalog.update_table(table.evolve(**changes), expected_version=table.version)
    except ConcurrentModification as exc:
        raise QueryError(f"INSERT INTO {write.qualified_name}: the table changed while the INSERT ran "
                         f"({exc}); nothing was registered, run the INSERT again") from exc


def insert_into(write: WriteStatement, selected: EngineResult, catalog: Catalog, lake: Lake,
                query_id: str) -> WriteOutcome:
    table = write.target
    if table is None:
        raise QueryError(f"INSERT INTO {write.qualified_name}: the target table was not resolved")
    if table.classification != "parquet":
        raise QueryError(f"INSERT INTO {write.qualified_name}: the table is {table.classification or 'unclassified'}"
                         "; INSERT INTO extends Parquet tables")
    rows = insert_rows(write, selected, table)
    layer, folder = table_home(lake, table)
    if rows.num_rows == 0:  # nothing to add: the table stays exactly as it is
        return WriteOutcome(rows=0, location=table.location, table_version=table.version)
    params = {**table.parameters, "lakeglue.last_insert_query": query_id}
    codec = table.parameters.get("write_compression", "snappy")
    codec = codec if codec in COMPRESSIONS else "snappy"
    keys = [k.name for k in table.partition_keys]
    if not keys:
        pending = plan_table_version(lake, layer, folder)
        copy_data_files(lake, table.location, pending.staged)
        write_table_files(lake, pending.staged, rows, [], codec, query_id)
        lake.commit(pending.staged, pending.final)
        stored = _bump_version(catalog, write, table, {
            "storage": replace(table.storage, location=lake.uri(pending.final)), "parameters": params})
        return WriteOutcome(rows=rows.num_rows, location=stored.location, table_version=stored.version)
    existing = {p.values: p for p in catalog.get_partitions(table.database, table.name)}
    pending = plan_batch_attempt(lake, layer, folder)
    touched = write_table_files(lake, pending.staged, rows, keys, codec, query_id)
    for values in touched:
        if values in existing:
            copy_data_files(lake, existing[values].location, partition_folder(pending.staged, keys, values))
    lake.commit(pending.staged, pending.final)
    stored = _bump_version(catalog, write, table, {"parameters": params})
    catalog.batch_upsert_partitions(_partitions(lake, stored, pending.final, touched))
    return WriteOutcome(rows=rows.num_rows, location=lake.uri(pending.final), partitions=touched,
                        table_version=stored.version)


def run_write(write: WriteStatement, select: BoundQuery, engine: QueryEngine, catalog: Catalog, lake: Lake,
              query_id: str) -> EngineResult:
    """Run a write for an engine that does not write tables itself (DuckDB).

    An unpartitioned CTAS on a local lake is written by the engine straight to Parquet when
    it can (no rows through Python); everything else runs the SELECT and writes its rows here.
    """
    if (write.kind == "CTAS" and not write.partitioned_by and lake.protocol == "file"
            and getattr(engine, "writes_parquet", False)):
        return create_table_written_by_engine(write, select, engine, catalog, lake, query_id)
    return materialize(write, engine.execute(select), catalog, lake, query_id)


def materialize(write: WriteStatement, selected: EngineResult, catalog: Catalog, lake: Lake,
                query_id: str) -> EngineResult:
    """Run the write for an engine that only answered its SELECT; returns the ``rows`` result."""
    if write.kind == "CTAS":
        outcome = create_table_as(write, selected, catalog, lake, query_id)
    else:
        outcome = insert_into(write, selected, catalog, lake, query_id)
    return outcome.as_engine_result(write, selected)
