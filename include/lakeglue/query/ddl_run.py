"""Run the catalog statements of :mod:`lakeglue.query.ddl` on lakeglue's catalog, answering with rows.

Every engine shares this: the catalog (SQL on SQLite/Postgres, or Glue) is where databases,
tables, partitions and views live, so DDL changes it directly, the same way Athena changes
Glue. SHOW / DESCRIBE answer as ordinary query results (varchar columns named as Athena
names them), so the CLI prints them and the operator writes them like any query; the other
statements answer one ``result`` column saying what they did.

Rules that keep the lake safe:

* Every ``LOCATION`` passes the path guard (:mod:`lakeglue.storage.paths` through
  :meth:`Lake.check_inside`): it must be a folder inside one of the lake's zones, on the
  lake's own storage; anything else is refused before the catalog changes.
* ``DROP TABLE`` removes only catalog entries, except for a **managed** table: one lakeglue's
  query layer created by CTAS (it carries ``lakeglue.created_by_query``) whose data lies in
  the lake's curated zone. Its data directories (current version and partitions) are deleted
  after the catalog entry. External tables, crawled tables and pipeline tables keep their data.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lakeglue.catalog import (
    AlreadyExists,
    Catalog,
    Column,
    Database,
    EntityNotFound,
    Partition,
    StorageDescriptor,
    Table,
)
from lakeglue.catalog.model import FORMATS
from lakeglue.crawler.partitions import PartitionLayout
from lakeglue.query.base import BoundQuery, EngineResult, QueryEngine, QueryError
from lakeglue.query.binding import bind_tree, check_parameters
from lakeglue.query.ddl import (
    AlterPartitions,
    CreateDatabase,
    CreateExternalTable,
    CreateView,
    Describe,
    DropDatabase,
    DropTable,
    RepairTable,
    ShowColumns,
    ShowCreate,
    ShowDatabases,
    ShowPartitions,
    ShowTables,
    Statement,
    TableName,
)
from lakeglue.query.schema import qualify_table_names
from lakeglue.query.suggest import did_you_mean
from lakeglue.query.views import ViewDefinition, decode_view, expand_views, is_view, view_table
from lakeglue.sql_dialect import SOURCE_DIALECT
from lakeglue.storage.paths import UnsafePathError, check_name, partition_folder
from lakeglue.storage.zones import Lake

#: Table parameter CTAS sets (see :mod:`lakeglue.query.materialize`); with curated data it makes a table managed.
CREATED_BY_QUERY = "lakeglue.created_by_query"
#: Partition key types Hive/Athena accept in PARTITIONED BY of an external table.
_PARTITION_TYPES = ("string", "varchar", "char", "date", "tinyint", "smallint", "int", "bigint", "boolean")


@dataclass
class DdlContext:
    catalog: Catalog
    lake: Lake
    database: str | None
    query_id: str
    #: The profile's engine, made only when a statement needs one (CREATE VIEW's column types).
    engine: Callable[[], QueryEngine]


def rows_result(columns: Sequence[str], rows: Sequence[Sequence[str]], statement: str) -> EngineResult:
    """A SHOW / DESCRIBE answer as a normal query result: varchar columns, one row per item."""
    data = pa.table({c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(columns)})
    return EngineResult(data=data, types=["varchar"] * len(columns), engine_sql=statement,
                        stats={"statement_type": "DDL"})


def _done(messages: Sequence[str], statement: str) -> EngineResult:
    return rows_result(["result"], [[m] for m in messages], statement)


# -- names, databases, locations ---------------------------------------------------------------


def _plain(name: str, what: str, statement: str) -> str:
    try:
        return check_name(name, what, statement).lower()
    except UnsafePathError as exc:
        raise QueryError(str(exc)) from None


def _created_name(table: TableName, ctx: DdlContext, kind: str, statement: str) -> tuple[str, str]:
    """The database and name a CREATE statement writes: safe, lower-case names in a database that exists."""
    database, name = table.resolve(ctx.database, statement)
    database, name = _plain(database, "database", statement), _plain(name, kind, statement)
    _require_database(ctx.catalog, database, statement)
    return database, name


def _require_database(catalog: Catalog, name: str, statement: str) -> None:
    try:
        catalog.get_database(name)
    except EntityNotFound:
        names = [d.name for d in catalog.list_databases()]
        raise QueryError(f"{statement}: there is no database {name}{did_you_mean(name, names)}; databases: "
                         f"{', '.join(names) or '(none)'}") from None


def _table(catalog: Catalog, name: TableName, ctx: DdlContext, statement: str) -> Table:
    from lakeglue.query.binding import lookup_table

    database, table = name.resolve(ctx.database, statement)
    try:
        return lookup_table(catalog, database, table)
    except QueryError as exc:
        raise QueryError(f"{statement}: {exc}") from None


def lake_location(lake: Lake, location: str, what: str) -> str:
    """``location`` as a lake URL if it is a folder inside one of the lake's zones; else a QueryError.

    Locations are URLs (``s3://bucket/key/``, ``file:///abs/path``) or, on a local lake, absolute
    paths. The check is the lake's path guard: no ``..``, not outside a zone, same storage.
    """
    text = location.strip()
    if lake.protocol == "file":
        if text.startswith("file://"):
            path = text.removeprefix("file://")
        elif "://" in text:
            raise QueryError(f"{what} {location!r} is not on the lake's storage: the lake is the local folder "
                             f"{lake.root}; give a file:// location inside it")
        else:
            path = text
        if not path.startswith("/"):
            raise QueryError(f"{what} {location!r} is relative; give the full location (file://{lake.root}/…)")
    else:
        schemes = (f"{lake.protocol}://", "s3a://") if lake.protocol == "s3" else (f"{lake.protocol}://",)
        if not text.startswith(schemes):
            raise QueryError(f"{what} {location!r} is not on the lake's storage ({lake.uri(lake.root)})")
        path = lake.fs_path("s3://" + text.split("://", 1)[1]) if text.startswith("s3a://") else lake.fs_path(text)
    path = path.rstrip("/") or "/"
    try:
        lake.check_inside(path)
    except UnsafePathError as exc:
        raise QueryError(f"{what} refused: {exc}. External tables and partitions must point into the lake's zones "
                         f"({', '.join(lake.uri(lake.zone_path(z)) for z in ('raw', 'curated'))} …)") from None
    return lake.uri(path)


# -- databases ---------------------------------------------------------------------------------


def create_database(stmt: CreateDatabase, ctx: DdlContext, sql: str) -> EngineResult:
    name = _plain(stmt.name, "database", "CREATE DATABASE")
    location = lake_location(ctx.lake, stmt.location, "CREATE DATABASE LOCATION") if stmt.location else ""
    try:
        ctx.catalog.create_database(Database(name, stmt.comment, location, dict(stmt.properties)))
    except AlreadyExists:
        if stmt.if_not_exists:
            return _done([f"database {name} already exists (IF NOT EXISTS): nothing changed"], sql)
        raise QueryError(f"database {name} already exists (CREATE DATABASE IF NOT EXISTS skips it)") from None
    return _done([f"database {name} created"], sql)


def drop_database(stmt: DropDatabase, ctx: DdlContext, sql: str) -> EngineResult:
    try:
        ctx.catalog.get_database(stmt.name)
    except EntityNotFound:
        if stmt.if_exists:
            return _done([f"database {stmt.name} does not exist (IF EXISTS): nothing changed"], sql)
        raise QueryError(f"DROP DATABASE: there is no database {stmt.name}") from None
    tables = ctx.catalog.list_tables(stmt.name)
    if tables and not stmt.cascade:
        raise QueryError(f"DROP DATABASE: database {stmt.name} is not empty (tables: "
                         f"{', '.join(t.name for t in tables)}); DROP DATABASE {stmt.name} CASCADE drops them too")
    for table in tables:  # all or nothing: no table is dropped while another one's data is being read
        if is_managed(table, ctx.lake):
            _refuse_if_read(ctx, table)
    messages = [m for table in tables for m in _drop(ctx, table)]
    ctx.catalog.delete_database(stmt.name)
    return _done([*messages, f"database {stmt.name} dropped"], sql)


# -- tables --------------------------------------------------------------------------------------


def is_managed(table: Table, lake: Lake) -> bool:
    """Created by lakeglue's CTAS into the curated zone: the only tables whose data DROP TABLE deletes."""
    if CREATED_BY_QUERY not in table.parameters or not table.location:
        return False
    try:
        lake.check_inside(lake.fs_path(table.location), "curated")
    except UnsafePathError:
        return False
    return True


def _managed_paths(ctx: DdlContext, table: Table) -> list[str]:
    """The managed table's data directories: its location and its partitions', each inside the curated zone."""
    from lakeglue.catalog.base import data_locations

    home = posixpath.dirname(ctx.lake.fs_path(table.location).rstrip("/"))  # curated/<layer>/<table>
    paths = {ctx.lake.fs_path(table.location).rstrip("/")}
    if table.partition_keys:
        paths.update(ctx.lake.fs_path(loc).rstrip("/") for loc in data_locations(ctx.catalog, table.database,
                                                                                  table.name))
    kept: list[str] = []
    for path in sorted(paths):  # sorted: a parent comes before the partitions inside it
        try:
            ctx.lake.check_inside(path, "curated")
        except UnsafePathError:
            continue  # a partition someone pointed elsewhere is not the table's own data
        if path.startswith(home + "/") and not any(path.startswith(k + "/") for k in kept):
            kept.append(path)
    return kept


def _refuse_if_read(ctx: DdlContext, table: Table) -> None:
    """A managed table's data is not deleted under a running reader: its version pins must be released first."""
    url = ctx.lake.settings.catalog_url
    if not url:
        return
    from lakeglue.catalog.pins import VersionPins

    readers = sorted({p.run_id for p in VersionPins(url).active() if (p.database, p.name) == (table.database,
                                                                                               table.name)})
    if readers:
        raise QueryError(f"DROP TABLE {table.qualified_name}: the table is being read by {', '.join(readers[:5])}; "
                         "its data would be deleted under them. Nothing was dropped: try again when they finish")


def _drop(ctx: DdlContext, table: Table) -> list[str]:
    """Remove a table (or view) from the catalog; a managed table's data directories go after it."""
    managed = is_managed(table, ctx.lake)
    paths = _managed_paths(ctx, table) if managed else []
    if managed:
        _refuse_if_read(ctx, table)
    ctx.catalog.delete_table(table.database, table.name)
    kind = "view" if is_view(table) else "table"
    if not managed:
        kept = f"; its data at {table.location} stays (external table)" if table.location and not is_view(table) else ""
        return [f"{kind} {table.qualified_name} dropped{kept}"]
    for path in paths:
        if ctx.lake.fs.exists(path):
            ctx.lake.fs.rm(path, recursive=True)
    where = ", ".join(ctx.lake.uri(p) for p in paths) or "no data directories left"
    return [f"table {table.qualified_name} dropped with its data (managed table: deleted {where})"]


def drop_table(stmt: DropTable, ctx: DdlContext, sql: str) -> EngineResult:
    word = "VIEW" if stmt.view else "TABLE"
    database, name = stmt.table.resolve(ctx.database, f"DROP {word}")
    try:
        table = ctx.catalog.get_table(database, name)
    except EntityNotFound:
        if stmt.if_exists:
            return _done([f"{word.lower()} {database}.{name} does not exist (IF EXISTS): nothing changed"], sql)
        table = _table(ctx.catalog, stmt.table, ctx, f"DROP {word}")  # raises with suggestions
    if is_view(table) != stmt.view:
        other = "VIEW" if is_view(table) else "TABLE"
        raise QueryError(f"DROP {word}: {table.qualified_name} is a {other.lower()}; use DROP {other}")
    return _done(_drop(ctx, table), sql)


def _pattern(pattern: str | None, like: bool) -> re.Pattern[str] | None:
    """SHOW … LIKE 'a%' is SQL LIKE (Trino); a bare 'a*|b' is Athena's (``*`` any text, ``|`` or)."""
    if pattern is None:
        return None
    if like:
        regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    else:
        regex = "|".join("".join(".*" if c == "*" else re.escape(c) for c in alt.replace(".*", "*"))
                         for alt in pattern.split("|"))
    return re.compile(regex, re.I)


def show_databases(stmt: ShowDatabases, ctx: DdlContext, sql: str) -> EngineResult:
    pattern = _pattern(stmt.pattern, stmt.like)
    names = [d.name for d in ctx.catalog.list_databases() if pattern is None or pattern.fullmatch(d.name)]
    return rows_result(["database_name"], [[n] for n in sorted(names)], sql)


def show_tables(stmt: ShowTables, ctx: DdlContext, sql: str) -> EngineResult:
    database = (stmt.database or ctx.database or "").lower()
    if not database:
        raise QueryError("SHOW TABLES: which database? write SHOW TABLES IN <database> or pass database=")
    _require_database(ctx.catalog, database, "SHOW TABLES")
    pattern = _pattern(stmt.pattern, stmt.like)
    names = [t.name for t in ctx.catalog.list_tables(database)
             if (pattern is None or pattern.fullmatch(t.name)) and (not stmt.views_only or is_view(t))]
    return rows_result(["views" if stmt.views_only else "tab_name"], [[n] for n in sorted(names)], sql)


def show_columns(stmt: ShowColumns, ctx: DdlContext, sql: str) -> EngineResult:
    table = _table(ctx.catalog, stmt.table, ctx, "SHOW COLUMNS")
    return rows_result(["field"], [[c.name] for c in table.all_columns()], sql)


def partition_name(keys: Sequence[Column], values: Sequence[str]) -> str:
    return "/".join(f"{k.name}={v}" for k, v in zip(keys, values, strict=True))


def show_partitions(stmt: ShowPartitions, ctx: DdlContext, sql: str) -> EngineResult:
    table = _table(ctx.catalog, stmt.table, ctx, "SHOW PARTITIONS")
    if not table.partition_keys:
        raise QueryError(f"SHOW PARTITIONS: table {table.qualified_name} is not partitioned")
    parts = sorted(p.values for p in ctx.catalog.get_partitions(table.database, table.name))
    return rows_result(["partition"], [[partition_name(table.partition_keys, v)] for v in parts], sql)


def describe(stmt: Describe, ctx: DdlContext, sql: str) -> EngineResult:
    """Hive's / Athena's layout: every column, then a ``# Partition Information`` block for the keys."""
    table = _table(ctx.catalog, stmt.table, ctx, "DESCRIBE")
    rows = [[c.name, c.type, c.comment] for c in table.all_columns()]
    if table.partition_keys:
        rows += [["", "", ""], ["# Partition Information", "", ""], ["# col_name", "data_type", "comment"],
                 ["", "", ""]]
        rows += [[k.name, k.type, k.comment] for k in table.partition_keys]
    return rows_result(["col_name", "data_type", "comment"], rows, sql)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_statement(table: Table) -> str:
    """The DDL that recreates ``table``, laid out as Athena's SHOW CREATE TABLE prints it."""
    name = f"`{table.database}`.`{table.name}`"
    if is_view(table):
        return f"CREATE VIEW {name} AS\n{decode_view(table).sql}"

    def cols(columns: Sequence[Column]) -> str:
        return ",\n".join(f"  `{c.name}` {c.type}" + (f" COMMENT {_quote(c.comment)}" if c.comment else "")
                          for c in columns)

    storage = table.storage
    lines = [f"CREATE EXTERNAL TABLE {name}(", cols(table.columns) + ")"]
    if table.description:
        lines.append(f"COMMENT {_quote(table.description)}")
    if table.partition_keys:
        lines += ["PARTITIONED BY (", cols(table.partition_keys) + ")"]
    lines += ["ROW FORMAT SERDE", f"  {_quote(storage.serde)}"]
    if storage.serde_parameters:
        lines += ["WITH SERDEPROPERTIES (", ",\n".join(f"  {_quote(k)}={_quote(v)}"
                                                      for k, v in sorted(storage.serde_parameters.items())) + ")"]
    lines += ["STORED AS INPUTFORMAT", f"  {_quote(storage.input_format)}", "OUTPUTFORMAT",
              f"  {_quote(storage.output_format)}", "LOCATION", f"  {_quote(storage.location)}"]
    if table.parameters:
        lines += ["TBLPROPERTIES (", ",\n".join(f"  {_quote(k)}={_quote(v)}"
                                               for k, v in sorted(table.parameters.items())) + ")"]
    return "\n".join(lines)


def show_create(stmt: ShowCreate, ctx: DdlContext, sql: str) -> EngineResult:
    table = _table(ctx.catalog, stmt.table, ctx, "SHOW CREATE TABLE")
    return rows_result(["createtab_stmt"], [[line] for line in create_statement(table).split("\n")], sql)


def _checked_type(spec_type: str, column: str, statement: str) -> str:
    try:
        exp.DataType.build(spec_type, dialect="hive")
    except SqlglotError as exc:
        raise QueryError(f"{statement}: column {column} has type {spec_type}, which the catalog cannot hold") from exc
    return spec_type


def create_external_table(stmt: CreateExternalTable, ctx: DdlContext, sql: str) -> EngineResult:
    what = "CREATE EXTERNAL TABLE"
    database, name = _created_name(stmt.table, ctx, "table", what)
    location = lake_location(ctx.lake, stmt.location, f"{what} {database}.{name} LOCATION")
    if ctx.catalog.table_exists(database, name):
        if stmt.if_not_exists:
            return _done([f"table {database}.{name} already exists (IF NOT EXISTS): nothing changed"], sql)
        raise QueryError(f"{what}: table {database}.{name} already exists (DROP TABLE it first, or use IF NOT EXISTS)")
    names = [c.name for c in (*stmt.columns, *stmt.partition_keys)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise QueryError(f"{what} {database}.{name}: column {duplicates[0]} is defined twice")
    for key in stmt.partition_keys:
        _plain(key.name, "partition column", what)
        if re.split(r"[(<]", key.type, maxsplit=1)[0] not in _PARTITION_TYPES:
            raise QueryError(f"{what} {database}.{name}: partition column {key.name} is {key.type}; partition "
                             f"columns must be one of {', '.join(_PARTITION_TYPES)}")
    columns = tuple(Column(c.name, _checked_type(c.type, c.name, what), c.comment) for c in stmt.columns)
    keys = tuple(Column(c.name, _checked_type(c.type, c.name, what), c.comment) for c in stmt.partition_keys)
    fmt = FORMATS[stmt.classification]
    storage = StorageDescriptor(columns=columns, location=location, input_format=fmt["input_format"],
                                output_format=fmt["output_format"], serde=stmt.serde or fmt["serde"],
                                serde_parameters=dict(stmt.serde_parameters))
    properties = dict(stmt.properties)
    # an external table is never managed, even when recreated from a CTAS table's SHOW CREATE TABLE
    unmanaged = f" ({CREATED_BY_QUERY} left out: DROP TABLE keeps an external table's data)" \
        if properties.pop(CREATED_BY_QUERY, None) is not None else ""
    parameters = {"EXTERNAL": "TRUE", **properties, "classification": stmt.classification}
    ctx.catalog.create_table(Table(database, name, storage, keys, parameters=parameters, description=stmt.comment))
    hint = "; add its partitions with MSCK REPAIR TABLE or ALTER TABLE ADD PARTITION" if keys else ""
    return _done([f"table {database}.{name} created over {location}{hint}{unmanaged}"], sql)


# -- partitions ----------------------------------------------------------------------------------


def _partition(table: Table, values: tuple[str, ...], location: str) -> Partition:
    return Partition(table.database, table.name, values, replace(table.storage, location=location))


def repair_table(stmt: RepairTable, ctx: DdlContext, sql: str) -> EngineResult:
    """MSCK REPAIR TABLE: add every ``k=v/…`` folder under the table's location that the catalog lacks.

    As in Athena it only adds (it never removes partitions whose folders are gone), and only
    folders named after the table's partition keys, in key order, count.
    """
    table = _table(ctx.catalog, stmt.table, ctx, "MSCK REPAIR TABLE")
    if not table.partition_keys:
        return _done([f"table {table.qualified_name} is not partitioned: nothing to repair"], sql)
    keys = tuple(k.name for k in table.partition_keys)
    layout = PartitionLayout(keys)
    root = ctx.lake.fs_path(table.location).rstrip("/")
    found: dict[tuple[str, ...], str] = {}
    for info in ctx.lake.list_files(root):
        dirs = tuple(posixpath.relpath(posixpath.dirname(info.path), root).split("/"))
        if len(dirs) < layout.depth or any(d.split("=", 1)[0].lower() != k.lower() or "=" not in d
                                           for d, k in zip(dirs, keys, strict=False)):
            continue
        values = layout.values_of(dirs)
        found.setdefault(values, posixpath.join(root, *dirs[:layout.depth]))
    existing = {p.values for p in ctx.catalog.get_partitions(table.database, table.name)}
    new = sorted(set(found) - existing)
    ctx.catalog.batch_create_partitions([_partition(table, v, ctx.lake.uri(found[v])) for v in new])
    if not new:
        return _done([f"no new partitions under {table.location}"], sql)
    added = [partition_name(table.partition_keys, v) for v in new]
    return _done([f"Repair: Added partition to metastore {table.qualified_name}:{name}" for name in added], sql)


def alter_partitions(stmt: AlterPartitions, ctx: DdlContext, sql: str) -> EngineResult:
    what = f"ALTER TABLE … {stmt.action} PARTITION"
    table = _table(ctx.catalog, stmt.table, ctx, what)
    if not table.partition_keys:
        raise QueryError(f"{what}: table {table.qualified_name} is not partitioned")
    keys = [k.name for k in table.partition_keys]
    existing = {p.values for p in ctx.catalog.get_partitions(table.database, table.name)}
    chosen: dict[tuple[str, ...], str] = {}
    messages = []
    for spec in stmt.partitions:
        if sorted(spec.values) != sorted(keys):
            raise QueryError(f"{what}: partition ({', '.join(f'{k}={v}' for k, v in spec.values.items())}) must give "
                             f"every partition key of {table.qualified_name} exactly once: {', '.join(keys)}")
        values = tuple(spec.values[k] for k in keys)
        label = partition_name(table.partition_keys, values)
        present = values in existing
        if present == (stmt.action == "ADD"):
            if stmt.tolerant:
                messages.append(f"partition {label} {'already exists' if present else 'does not exist'}: skipped")
                continue
            raise QueryError(f"{what}: partition {label} of {table.qualified_name} "
                             f"{'already exists (ADD IF NOT EXISTS skips it)' if present else 'does not exist'}")
        if stmt.action == "ADD":
            folder = spec.location or ctx.lake.uri(partition_folder(ctx.lake.fs_path(table.location).rstrip("/"),
                                                                    keys, values))
            chosen[values] = lake_location(ctx.lake, folder, f"partition {label} LOCATION")
        else:
            chosen[values] = ""
        messages.append(f"partition {label} {'added' if stmt.action == 'ADD' else 'dropped (its data stays)'}")
    if stmt.action == "ADD":
        ctx.catalog.batch_create_partitions([_partition(table, v, loc) for v, loc in chosen.items()])
    elif chosen:
        ctx.catalog.batch_delete_partitions(table.database, table.name, list(chosen))
    return _done(messages, sql)


# -- views ---------------------------------------------------------------------------------------


def view_columns(select: exp.Expr, bound: BoundQuery, ctx: DdlContext) -> list[tuple[str, str]]:
    """(name, Trino type) of the view's output: the engine's answer to the SELECT with LIMIT 0.

    Engines that return no column metadata (moto's Athena executes nothing) fall back to
    sqlglot's type inference over the catalog schema.
    """
    limited = f"SELECT * FROM ({bound.sql}) AS _view LIMIT 0"
    result = ctx.engine().execute(replace(bound, sql=limited))
    if result.data.column_names:
        return list(zip(result.data.column_names, result.types, strict=True))
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    from lakeglue.query.schema import catalog_schema

    tree = qualify_table_names(select.copy(), bound.database)
    schema = catalog_schema(bound.tables)
    try:
        typed = annotate_types(qualify(tree, schema=schema, dialect=SOURCE_DIALECT), schema=schema)
    except SqlglotError as exc:
        raise QueryError(f"CREATE VIEW: cannot tell the view's column types: {exc}") from exc
    out = []
    for item in typed.selects if isinstance(typed, exp.Query) else []:
        kind = item.type.sql(dialect="trino").lower() if item.type is not None else "unknown"
        out.append((item.alias_or_name, "varchar" if kind == "unknown" else kind))
    return out


def create_view(stmt: CreateView, ctx: DdlContext, sql: str) -> EngineResult:
    from lakeglue.query.materialize import hive_type

    what = "CREATE VIEW"
    database, name = _created_name(stmt.table, ctx, "view", what)
    check_parameters(stmt.select, ())  # a view's SQL is stored: a ? would have no value when it is read
    current = ctx.catalog.get_table(database, name) if ctx.catalog.table_exists(database, name) else None
    if current is not None and not is_view(current):
        raise QueryError(f"{what}: {database}.{name} is a table, not a view; choose another name")
    if current is not None and not stmt.or_replace:
        raise QueryError(f"{what}: view {database}.{name} already exists (CREATE OR REPLACE VIEW replaces it)")
    schema = (ctx.database or database).lower()
    select = expand_views(qualify_table_names(stmt.select.copy(), schema), schema, ctx.catalog,
                          _stack=(f"{database}.{name}",))
    bound = bind_tree(select, select.sql(dialect=SOURCE_DIALECT), (), schema, ctx.catalog, ctx.query_id)
    columns = view_columns(select, bound, ctx)
    if not columns:
        raise QueryError(f"{what}: the view's SELECT has no columns")
    names = [n.lower() for n, _ in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates or any(re.fullmatch(r"_col\d+", n) for n in names):
        raise QueryError(f"{what} {database}.{name}: every column needs its own name (… AS name); "
                         f"{'duplicate ' + duplicates[0] if duplicates else 'an expression has no alias'}")
    definition = ViewDefinition(sql=stmt.select_sql, schema=schema, columns=tuple(columns))
    table = view_table(database, name, definition, [Column(n, hive_type(t, n)) for n, t in zip(names, (
        t for _, t in columns), strict=True)])
    if current is None:
        ctx.catalog.create_table(table)
        return _done([f"view {database}.{name} created"], sql)
    ctx.catalog.update_table(table.evolve(version=current.version), expected_version=current.version)
    return _done([f"view {database}.{name} replaced"], sql)


def run_ddl(statement: Statement, ctx: DdlContext, sql: str, params: Sequence[object] = ()) -> EngineResult:
    """Run one catalog statement; DDL takes no ``?`` parameters (a view's SQL is stored, not bound)."""
    if params:
        raise QueryError(f"catalog statements take no ? parameters, got {len(params)}")
    handlers: dict[type, Callable[[Statement, DdlContext, str], EngineResult]] = {
        CreateDatabase: create_database, DropDatabase: drop_database, DropTable: drop_table,  # type: ignore[dict-item]
        ShowDatabases: show_databases, ShowTables: show_tables, ShowColumns: show_columns,  # type: ignore[dict-item]
        ShowPartitions: show_partitions, ShowCreate: show_create, Describe: describe,  # type: ignore[dict-item]
        CreateExternalTable: create_external_table, RepairTable: repair_table,  # type: ignore[dict-item]
        AlterPartitions: alter_partitions, CreateView: create_view,  # type: ignore[dict-item]
    }
    return handlers[type(statement)](statement, ctx, sql)
