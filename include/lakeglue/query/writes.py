"""CTAS and INSERT INTO, as Athena spells them: parse, check against the catalog, bind.

``CREATE TABLE db.t WITH (format = 'PARQUET', partitioned_by = ARRAY['dt']) AS SELECT …``
creates a catalog table; ``INSERT INTO db.t [(cols)] SELECT … | VALUES …`` extends one.
Everything Athena would reject is rejected here, with the reason, before any data is
read: an existing CTAS target, a missing INSERT target, unknown properties, partition
columns that are not the last ones of the SELECT (Athena's rule). Engines that share
the catalog run the statement themselves (Athena, Trino); for DuckDB lakeglue runs the
SELECT and writes the table (:mod:`lakeglue.query.materialize`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlglot import exp

from lakeglue.catalog import Catalog, EntityNotFound, Table
from lakeglue.query.base import BoundQuery, QueryError
from lakeglue.query.binding import check_parameters, lookup_table, resolve_tables
from lakeglue.query.suggest import check_columns, did_you_mean, position
from lakeglue.sql_dialect import SOURCE_DIALECT
from lakeglue.storage.paths import UnsafePathError, check_name

#: Parquet codecs Athena's ``write_compression`` accepts for Parquet, as pyarrow names them.
COMPRESSIONS = {"snappy": "snappy", "gzip": "gzip", "zstd": "zstd", "lz4": "lz4", "none": "none"}
DEFAULT_COMPRESSION = "snappy"
#: CTAS properties lakeglue understands; Athena's others (bucketing, external_location …) are refused by name.
KNOWN_PROPERTIES = ("format", "partitioned_by", "write_compression", "parquet_compression")


@dataclass(frozen=True)
class WriteStatement:
    """A checked CTAS / INSERT INTO: the target, the SELECT that feeds it and the table properties."""

    kind: Literal["CTAS", "INSERT"]
    database: str
    name: str
    #: The statement's query part as Trino SQL (``VALUES`` rows wrapped in a SELECT).
    select_sql: str
    select_tree: exp.Query
    if_not_exists: bool = False
    partitioned_by: tuple[str, ...] = ()
    compression: str = DEFAULT_COMPRESSION
    #: INSERT INTO t (a, b): the listed columns; empty means all columns in table order.
    insert_columns: tuple[str, ...] = ()
    #: INSERT: the target as the catalog had it when the statement was bound.
    target: Table | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"


def _literal_text(node: exp.Expression, what: str) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    raise QueryError(f"{what} must be a string literal, got {node.sql(dialect=SOURCE_DIALECT)}")


def _properties(create: exp.Create) -> dict[str, exp.Expression]:
    """``WITH (…)`` of a CTAS as lower-case name → value node."""
    found: dict[str, exp.Expression] = {}
    props = create.args.get("properties")
    for prop in props.expressions if props is not None else []:
        if isinstance(prop, exp.FileFormatProperty):
            found["format"] = prop.this
        elif isinstance(prop, exp.PartitionedByProperty):
            found["partitioned_by"] = prop.this
        elif isinstance(prop, exp.Property):
            found[prop.name.lower()] = prop.args["value"]
        else:
            raise QueryError(f"CREATE TABLE property {prop.sql(dialect=SOURCE_DIALECT)} is not supported; "
                             f"lakeglue understands {', '.join(KNOWN_PROPERTIES)}")
    return found


def _ctas_options(create: exp.Create) -> tuple[tuple[str, ...], str]:
    """Partition columns and Parquet codec from the CTAS properties, checked the way Athena checks them."""
    props = _properties(create)
    unknown = [name for name in props if name not in KNOWN_PROPERTIES]
    if unknown:
        hint = did_you_mean(unknown[0], KNOWN_PROPERTIES)
        raise QueryError(f"CREATE TABLE property {unknown[0]!r} is not supported{hint};"
                         f" lakeglue understands {', '.join(KNOWN_PROPERTIES)} (tables are stored where lakeglue "
                         "puts them: curated/<layer>/<table>/)")
    if "format" in props:
        fmt = _literal_text(props["format"], "format").lower()
        if fmt != "parquet":
            raise QueryError(f"CREATE TABLE format {fmt!r} is not supported; lakeglue writes tables as PARQUET")
    partitioned_by: tuple[str, ...] = ()
    if "partitioned_by" in props:
        value = props["partitioned_by"]
        items = value.expressions if isinstance(value, exp.Array | exp.Tuple | exp.Schema) else [value]
        partitioned_by = tuple(_literal_text(i, "partitioned_by entry") if isinstance(i, exp.Literal) else i.name
                               for i in items)
    codec_node = props.get("write_compression") or props.get("parquet_compression")
    compression = DEFAULT_COMPRESSION
    if codec_node is not None:
        compression = _literal_text(codec_node, "write_compression").lower()
        if compression not in COMPRESSIONS:
            raise QueryError(f"write_compression {compression!r} is not supported for Parquet; "
                             f"use one of {', '.join(c.upper() for c in COMPRESSIONS)}")
    return partitioned_by, compression


def _query_part(statement: exp.Create | exp.Insert) -> exp.Query:
    """The rows a write inserts, as a query; ``VALUES (…)`` becomes ``SELECT * FROM (VALUES …)``."""
    body = statement.expression
    if isinstance(body, exp.Query):
        return body
    if isinstance(body, exp.Values):
        width = len(body.expressions[0].expressions) if body.expressions else 0
        alias = exp.TableAlias(this=exp.to_identifier("v"),
                               columns=[exp.to_identifier(f"_col{i}") for i in range(width)])
        return exp.select("*").from_(exp.Subquery(this=body.copy(), alias=alias))
    raise QueryError(f"{statement.key.upper()} needs AS SELECT … / a SELECT or VALUES to take rows from")


def _target(statement: exp.Create | exp.Insert) -> exp.Table:
    node = statement.this
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        raise QueryError(f"cannot tell which table {statement.key.upper()} writes")
    return node


def parse_write(tree: exp.Create | exp.Insert, database: str | None) -> WriteStatement:
    """The write's target, query and options, without looking at the catalog yet."""
    if isinstance(tree, exp.Create) and tree.expression is None:
        raise QueryError("CREATE TABLE without AS SELECT is not supported: tables get their columns from a "
                         "query (CTAS) or from the crawler")
    if isinstance(tree, exp.Insert) and tree.args.get("overwrite"):
        raise QueryError("INSERT OVERWRITE is not supported; Athena appends with INSERT INTO, and a table is "
                         "rebuilt with a new CTAS")
    target = _target(tree)
    owner = target.db or database
    if not owner:
        raise QueryError(f"table {target.name}{position(target)} has no database: write it as "
                         f"<database>.{target.name} or pass database=")
    statement = "CREATE TABLE" if isinstance(tree, exp.Create) else "INSERT INTO"
    _check_path_name(owner, "database", f"{statement} target{position(target)}")
    _check_path_name(target.name, "table", f"{statement} target{position(target)}")
    select = _query_part(tree)
    common: dict[str, Any] = {"database": owner.lower(), "name": target.name.lower(),
                              "select_sql": select.sql(dialect=SOURCE_DIALECT), "select_tree": select}
    if isinstance(tree, exp.Create):
        partitioned_by, compression = _ctas_options(tree)
        for key in partitioned_by:
            _check_path_name(key, "partition column", "CREATE TABLE … WITH (partitioned_by = …)")
        return WriteStatement(kind="CTAS", if_not_exists=bool(tree.args.get("exists")),
                              partitioned_by=tuple(p.lower() for p in partitioned_by), compression=compression,
                              **common)
    columns = tuple(c.name.lower() for c in tree.this.expressions) if isinstance(tree.this, exp.Schema) else ()
    return WriteStatement(kind="INSERT", insert_columns=columns, **common)


def _check_path_name(name: str, what: str, origin: str) -> None:
    """Names a write turns into folders (database, table, partition column) must be plain names."""
    try:
        check_name(name, what, origin)
    except UnsafePathError as exc:
        raise QueryError(str(exc)) from None


def _check_target(write: WriteStatement, target_node: exp.Table, catalog: Catalog) -> Table | None:
    if write.kind == "CTAS":
        try:
            catalog.get_database(write.database)
        except EntityNotFound:
            databases = [d.name for d in catalog.list_databases()]
            raise QueryError(f"CREATE TABLE {write.qualified_name}: there is no database {write.database}"
                             f"{did_you_mean(write.database, databases)}; databases: "
                             f"{', '.join(databases) or '(none)'}") from None
        if catalog.table_exists(write.database, write.name) and not write.if_not_exists:
            raise QueryError(f"table {write.qualified_name} already exists; CTAS creates new tables (use "
                             "INSERT INTO to add rows, or CREATE TABLE IF NOT EXISTS)")
        return None
    table = lookup_table(catalog, write.database, write.name, node=target_node)
    names = [c.name.lower() for c in table.all_columns()]
    for column in write.insert_columns:
        if column not in names:
            raise QueryError(f"INSERT INTO {write.qualified_name}: column {column} is not in the table"
                             f"{did_you_mean(column, names)}; columns: {', '.join(names)}")
    return table


def bind_write(sql: str, tree: exp.Create | exp.Insert, params: Sequence[Any] | None, database: str | None,
               catalog: Catalog, query_id: str = "") -> tuple[WriteStatement, BoundQuery, BoundQuery]:
    """Check a CTAS / INSERT INTO against the catalog.

    Returns the write, the whole statement bound (for engines that run writes natively)
    and its SELECT bound on its own (for lakeglue to run and materialize).
    """
    values = tuple(params or ())
    check_parameters(tree, values)
    write = parse_write(tree, database)
    target_node = _target(tree)
    target = _check_target(write, target_node, catalog)
    if target is not None:
        write = replace(write, target=target)
    db = database.lower() if database else None
    read_tables = resolve_tables(write.select_tree, db, catalog)
    check_columns(write.select_tree, read_tables, db)
    whole = BoundQuery(sql=sql, params=values, database=db, tables=read_tables, query_id=query_id)
    select = BoundQuery(sql=write.select_sql, params=values, database=db, tables=read_tables, query_id=query_id)
    return write, whole, select
