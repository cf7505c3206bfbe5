"""Check a statement before any engine sees it: one statement, matching parameters, known tables and columns.

Doing this once, engine-independently, means every engine reports the same clear error
for a typo'd table or column (with a "did you mean …?") or a missing parameter, and no
engine is ever handed DDL/DML other than the two writes the query layer supports
(``CREATE TABLE … AS SELECT`` and ``INSERT INTO … SELECT``, see :mod:`lakeglue.query.writes`).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lakeglue.catalog import Catalog, EntityNotFound, Table
from lakeglue.query.base import BoundQuery, QueryError
from lakeglue.query.schema import tables_fingerprint
from lakeglue.query.suggest import check_columns, did_you_mean, position
from lakeglue.sql_dialect import SOURCE_DIALECT

READ_ONLY_HINT = ("SELECT / WITH / UNION …, CREATE TABLE … AS SELECT, INSERT INTO … SELECT and the catalog "
                  "statements (CREATE DATABASE, CREATE EXTERNAL TABLE, CREATE VIEW, DROP, SHOW, DESCRIBE, MSCK "
                  "REPAIR TABLE, ALTER TABLE … PARTITION)")


_MISSING = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]+\.(\w+)'>")


def _readable(description: str) -> str:
    """sqlglot's "Required keyword: 'expression' missing for <class '…And'>" → "AND is missing its expression"."""
    return _MISSING.sub(lambda m: f"{m.group(2).upper()} is missing its {m.group(1)}", description)


def parse_statement(sql: str) -> exp.Expr:
    """The single statement in ``sql`` (Trino dialect), or a QueryError with the line and column of a syntax error."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=SOURCE_DIALECT) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = ""
        if first.get("line") is not None:
            highlight = str(first.get("highlight") or "")
            # sqlglot reports the column where the offending token ends; editors show where it starts
            column = int(first.get("col") or 0) - max(len(highlight.splitlines()[-1] if highlight else "") - 1, 0)
            where = f" at line {first.get('line')}, column {column}"
        near = f" near {first.get('highlight')!r}" if first.get("highlight") else ""
        detail = _readable(str(first.get("description", str(exc))))
        raise QueryError(f"SQL syntax error{where}{near}: {detail}") from exc
    if len(statements) != 1:
        raise QueryError(f"expected exactly one SQL statement, got {len(statements)}; run statements one at a time")
    return statements[0]


def is_write(tree: exp.Expr) -> bool:
    """CTAS or INSERT INTO — the statements that create or extend catalog tables."""
    return isinstance(tree, exp.Insert) or (isinstance(tree, exp.Create) and tree.kind == "TABLE")


def require_query(statement: exp.Expr) -> exp.Query:
    """``statement`` if it is read-only (SELECT-like), else a QueryError naming what it is and what runs."""
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper()
        raise QueryError(f"only read-only queries (SELECT / WITH / UNION …) can be run here, got a {kind} "
                         f"statement; the query layer runs {READ_ONLY_HINT}")
    return statement


def parse_query(sql: str) -> exp.Query:
    """The single read-only (SELECT-like) statement in ``sql``, or a QueryError saying why not."""
    return require_query(parse_statement(sql))


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


def table_refs(tree: exp.Expr) -> Iterator[exp.Table]:
    """Catalog tables a statement names (CTE names and table functions excluded), in order of appearance."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not table.name or (not table.db and table.name in ctes):
            continue
        yield table


def lookup_table(catalog: Catalog, database: str, name: str, node: exp.Expression | None = None) -> Table:
    """The catalog table, or an error that suggests near matches and lists what does exist."""
    try:
        return catalog.get_table(database, name)
    except EntityNotFound:
        pass
    where = position(node)
    try:
        catalog.get_database(database)
    except EntityNotFound:
        databases = [db.name for db in catalog.list_databases()]
        hint = did_you_mean(database, databases)
        raise QueryError(f"table {database}.{name} not found in the catalog{where}: there is no database "
                         f"{database}{hint}; databases: {', '.join(databases) or '(none)'}") from None
    tables = [t.name for t in catalog.list_tables(database)]
    candidates = {f"{database}.{t}": t for t in tables}
    # the same name in another database is a likely mix-up too (silver vs gold)
    for db in catalog.list_databases():
        if db.name != database and catalog.table_exists(db.name, name):
            candidates[f"{db.name}.{name}"] = name
    hint = did_you_mean(name, list(candidates), key=lambda c: candidates[c])
    raise QueryError(f"table {database}.{name} not found in the catalog{where}{hint}; tables in {database}: "
                     f"{', '.join(tables) or '(none)'}")


def resolve_tables(tree: exp.Expr, database: str | None, catalog: Catalog,
                   skip: exp.Table | None = None) -> dict[tuple[str, str], Table]:
    """Catalog definitions of every table ``tree`` reads (``skip``: a write target, checked separately)."""
    tables: dict[tuple[str, str], Table] = {}
    for node in table_refs(tree):
        if node is skip:
            continue
        owner = node.db or database
        if not owner:
            raise QueryError(f"table {node.name}{position(node)} has no database: write it as "
                             f"<database>.{node.name} or pass database=")
        key = (owner.lower(), node.name.lower())
        if key not in tables:
            tables[key] = lookup_table(catalog, *key, node=node)
    return tables


#: Statements whose column check passed, kept per process (see :func:`_check_columns_once`).
CHECKED_CACHE_SIZE = 256
_checked: OrderedDict[Hashable, None] = OrderedDict()
_checked_lock = threading.Lock()


def _check_columns_once(tree: exp.Expr, sql: str, tables: dict[tuple[str, str], Table], database: str | None,
                        keep: list[exp.Expr]) -> None:
    """:func:`check_columns`, skipped for a statement text that already passed against the same table definitions.

    Why: the check qualifies the whole statement with sqlglot (4-8 ms for a TPC-H query), and
    its outcome depends only on the text, the default database and the tables' columns (the
    key); a failing statement is checked again every time, so its error message stays exact.
    """
    key = (sql, database, tables_fingerprint(tables))
    with _checked_lock:
        if key in _checked:
            _checked.move_to_end(key)
            return
    check_columns(tree, tables, database, keep)
    with _checked_lock:
        _checked[key] = None
        while len(_checked) > CHECKED_CACHE_SIZE:
            _checked.popitem(last=False)


def bind_tree(tree: exp.Expr, sql: str, params: Sequence[Any] | None, database: str | None, catalog: Catalog,
              query_id: str = "") -> BoundQuery:
    """Check parameters, tables and columns of an already parsed read query."""
    values = tuple(params or ())
    check_parameters(tree, values)
    db = database.lower() if database else None
    tables = resolve_tables(tree, db, catalog)
    qualified: list[exp.Expr] = []
    _check_columns_once(tree, sql, tables, db, qualified)
    if tree.find(exp.Reduce) is not None:  # the translator rewrites reduce(…, finish) before qualifying
        qualified.clear()
    bound = BoundQuery(sql=sql, params=values, database=db, tables=tables, query_id=query_id)
    bound.qualified.extend(qualified)
    return bound


def bind_query(sql: str, params: Sequence[Any] | None, database: str | None, catalog: Catalog,
               query_id: str = "") -> BoundQuery:
    """Parse, check and resolve a read-only ``sql`` against the catalog (bare table names use ``database``)."""
    return bind_tree(parse_query(sql), sql, params, database, catalog, query_id)
