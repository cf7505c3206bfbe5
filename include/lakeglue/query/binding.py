"""Check a query before any engine sees it: one read-only statement, matching parameters, known tables.

Doing this once, engine-independently, means every engine reports the same clear error
for a typo'd table or a missing parameter, and no engine is ever handed a DDL/DML
statement (the query layer reads the lake; writes go through jobs and, later, CTAS).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakeglue.catalog import Catalog, EntityNotFound, Table
from lakeglue.query.base import BoundQuery, QueryError
from lakeglue.sql_dialect import SOURCE_DIALECT, referenced_tables


def parse_query(sql: str) -> exp.Expr:
    """The single SELECT-like statement in ``sql`` (Trino dialect), or a QueryError saying why not."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=SOURCE_DIALECT) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        near = f" near {first.get('highlight')!r}" if first.get("highlight") else ""
        detail = first.get("description", str(exc))
        raise QueryError(f"SQL syntax error{where}{near}: {detail}") from exc
    if len(statements) != 1:
        raise QueryError(f"expected exactly one SQL statement, got {len(statements)}; run statements one at a time")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper()
        raise QueryError(f"only read-only queries (SELECT / WITH / UNION …) can be run here, got a {kind} statement")
    return statements[0]


def check_parameters(tree: exp.Expr, params: Sequence[Any]) -> None:
    """Athena-style positional ``?`` placeholders only, one value per placeholder."""
    placeholders = list(tree.find_all(exp.Placeholder))
    named = [p.name for p in placeholders if p.name and p.name != "?"]
    if named:
        raise QueryError(f"named parameters ({', '.join(':' + n for n in named)}) are not supported; "
                         "use positional ? placeholders as Athena does")
    if len(placeholders) != len(params):
        raise QueryError(f"the query has {len(placeholders)} ? placeholder(s) but {len(params)} parameter(s) "
                         "were given")


def lookup_table(catalog: Catalog, database: str, name: str) -> Table:
    """The catalog table, or an error that lists what does exist so a typo is easy to spot."""
    try:
        return catalog.get_table(database, name)
    except EntityNotFound:
        pass
    try:
        catalog.get_database(database)
    except EntityNotFound:
        names = ", ".join(db.name for db in catalog.list_databases()) or "(none)"
        raise QueryError(f"table {database}.{name} not found in the catalog: there is no database "
                         f"{database}; databases: {names}") from None
    tables = ", ".join(t.name for t in catalog.list_tables(database)) or "(none)"
    raise QueryError(f"table {database}.{name} not found in the catalog; tables in {database}: {tables}")


def bind_query(sql: str, params: Sequence[Any] | None, database: str | None, catalog: Catalog) -> BoundQuery:
    """Parse, check and resolve ``sql`` against the catalog (bare table names use ``database``)."""
    tree = parse_query(sql)
    values = tuple(params or ())
    check_parameters(tree, values)
    tables: dict[tuple[str, str], Table] = {}
    for db, name in referenced_tables(sql):
        owner = db or database
        if not owner:
            raise QueryError(f"table {name} has no database: write it as <database>.{name} or pass database=")
        key = (owner.lower(), name.lower())
        if key not in tables:
            tables[key] = lookup_table(catalog, *key)
    return BoundQuery(sql=sql, params=values, database=database.lower() if database else None, tables=tables)
