"""Catalog views: stored the way Athena stores them in Glue, expanded by lakeglue before an engine runs.

A view is a catalog table of type ``VIRTUAL_VIEW`` whose ``ViewOriginalText`` is Athena's
(and Trino's Hive connector's) encoding ``/* Presto View: <base64 JSON> */`` with the view's
Trino SQL, its default schema and its columns. Using that format, not a lakeglue-only
parameter, is what makes one view readable by every engine: Athena and Trino read it
natively from Glue / the metastore, and lakeglue's query layer expands it into a subquery
for DuckDB (:func:`expand_views`). Expansion also means the tables under a view are bound,
column-checked and pinned like any table the query names directly.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlglot import exp

from lakeglue.catalog import Catalog, Column, StorageDescriptor, Table
from lakeglue.query.base import QueryError
from lakeglue.sql_dialect import SOURCE_DIALECT

VIEW_TYPE = "VIRTUAL_VIEW"
_PREFIX, _SUFFIX = "/* Presto View: ", " */"
EXPANDED_TEXT = "/* Presto View */"
#: Views may use views; deeper than this is almost certainly a cycle someone made by replacing a view.
MAX_DEPTH = 32
Tree = TypeVar("Tree", bound=exp.Expr)


@dataclass(frozen=True)
class ViewDefinition:
    """What a view says: its Trino SQL, the schema bare names in it resolve against, its columns."""

    sql: str
    schema: str
    columns: tuple[tuple[str, str], ...]  # (name, Trino type)


def is_view(table: Table) -> bool:
    return table.table_type == VIEW_TYPE


def encode_view(definition: ViewDefinition) -> str:
    """``ViewOriginalText`` as Athena writes it (base64 of a JSON document, inside a comment)."""
    body = {"originalSql": definition.sql, "catalog": "awsdatacatalog", "schema": definition.schema,
            "columns": [{"name": n, "type": t} for n, t in definition.columns], "owner": "lakeglue",
            "runAsInvoker": False, "properties": {}}
    return _PREFIX + base64.b64encode(json.dumps(body).encode()).decode() + _SUFFIX


def decode_view(table: Table) -> ViewDefinition:
    """The view's definition, or a QueryError naming the view if its text is not in Athena's format."""
    text = table.view_original_text.strip()
    if not (text.startswith(_PREFIX.strip()) and text.endswith(_SUFFIX.strip())):
        raise QueryError(f"view {table.qualified_name} has no Athena/Trino view text (ViewOriginalText "
                         f"{text[:40]!r}…); lakeglue reads views created by Athena, Trino or CREATE VIEW")
    encoded = text[len(_PREFIX.strip()):-len(_SUFFIX.strip())].strip()
    try:
        body = json.loads(base64.b64decode(encoded))
    except ValueError as exc:
        raise QueryError(f"view {table.qualified_name}: its ViewOriginalText does not decode: {exc}") from exc
    columns = tuple((str(c["name"]), str(c["type"])) for c in body.get("columns", []))
    return ViewDefinition(sql=str(body["originalSql"]), schema=str(body.get("schema") or table.database),
                          columns=columns)


def view_table(database: str, name: str, definition: ViewDefinition, columns: Sequence[Column]) -> Table:
    """The catalog entry Athena's CREATE VIEW makes: VIRTUAL_VIEW, no location, Presto view text."""
    return Table(database, name, StorageDescriptor(columns=tuple(columns)), table_type=VIEW_TYPE,
                 parameters={"presto_view": "true", "comment": "Presto View"},
                 view_original_text=encode_view(definition), view_expanded_text=EXPANDED_TEXT)


def _parse_view_sql(table: Table, definition: ViewDefinition) -> exp.Query:
    from lakeglue.query.binding import parse_statement

    try:
        tree = parse_statement(definition.sql)
    except QueryError as exc:
        raise QueryError(f"view {table.qualified_name} does not parse: {exc}") from exc
    if not isinstance(tree, exp.Query):
        raise QueryError(f"view {table.qualified_name} is not a query: {definition.sql[:80]!r}")
    return tree


def expand_views(tree: Tree, database: str | None, catalog: Catalog,
                 known: dict[tuple[str, str], Table] | None = None, _stack: tuple[str, ...] = ()) -> Tree:
    """``tree`` with every catalog view it reads replaced by ``(<view SQL>) AS <name>``, recursively.

    Bare names inside a view resolve against the view's own schema (as Athena does), so they
    are qualified before the view is inlined. ``known`` are tables already looked up (from
    binding) so a view-free query costs no extra catalog call.
    """
    from lakeglue.query.binding import table_refs
    from lakeglue.query.schema import qualify_table_names

    if len(_stack) > MAX_DEPTH:
        raise QueryError(f"views nest deeper than {MAX_DEPTH} levels: {' -> '.join(_stack[:5])} …")
    for node in list(table_refs(tree)):
        owner = (node.db or database or "").lower()
        if not owner:
            continue  # binding reports the missing database
        key = (owner, node.name.lower())
        table = (known or {}).get(key)
        if table is None:
            if not catalog.table_exists(*key):
                continue  # binding reports the unknown table
            table = catalog.get_table(*key)
        if not is_view(table):
            continue
        qualified = f"{key[0]}.{key[1]}"
        if qualified in _stack:
            raise QueryError(f"view {qualified} reads itself: {' -> '.join((*_stack, qualified))}")
        definition = decode_view(table)
        body = qualify_table_names(_parse_view_sql(table, definition), definition.schema)
        body = expand_views(body, definition.schema, catalog, None, (*_stack, qualified))
        alias = node.alias or node.name
        node.replace(exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree


def expanded(tree: Tree, tables: Mapping[tuple[str, str], Table], database: str | None,
             catalog: Catalog) -> tuple[Tree, str] | None:
    """None when the bound ``tables`` hold no view (the usual case: nothing to redo, no extra catalog call);
    else the statement with its views inlined and its SQL, to be bound again."""
    if not any(is_view(t) for t in tables.values()):
        return None
    tree = expand_views(tree, database, catalog, dict(tables))
    return tree, tree.sql(dialect=SOURCE_DIALECT)
