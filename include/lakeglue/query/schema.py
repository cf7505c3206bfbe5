"""The catalog as sqlglot sees it: qualified table names and a typed schema of the tables a query reads.

Shared by the column check (unknown column → "did you mean …?") and the type-aware
DuckDB transpilation; both need the query's tables named the way the catalog names them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from sqlglot import exp
from sqlglot.schema import MappingSchema

from lakeglue.catalog import Table


def qualify_table_names(tree: exp.Expr, database: str | None) -> exp.Expr:
    """Give bare catalog table names their database and drop Athena's catalog prefix.

    The DuckDB views are registered as ``"db"."table"``, so ``orders`` with
    ``database="shop"`` must become ``shop.orders``; ``awsdatacatalog.shop.orders`` too.
    """
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not table.name or (not table.db and table.name in ctes):
            continue
        if not table.db and database:
            table.set("db", exp.to_identifier(database))
        if table.args.get("catalog"):
            table.set("catalog", None)
    return tree


def catalog_schema(tables: Mapping[tuple[str, str], Table]) -> MappingSchema:
    """sqlglot schema of the referenced tables: data columns then partition keys, Hive types."""
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for (db, name), table in tables.items():
        mapping.setdefault(db, {})[name] = {c.name.lower(): c.type for c in table.all_columns()}
    return MappingSchema(dict(mapping), dialect="hive")


def tables_fingerprint(tables: Mapping[tuple[str, str], Table]) -> Hashable:
    """What a statement's checks and translation depend on in its tables: version, columns, types, partition keys.

    Two bindings with the same fingerprint see the same schema, so a result derived from the
    statement text and these definitions alone (the column check, the translation) can be reused.
    """
    return tuple(sorted(
        (key, t.version, tuple((c.name, c.type) for c in t.all_columns()), tuple(c.name for c in t.partition_keys))
        for key, t in tables.items()))
