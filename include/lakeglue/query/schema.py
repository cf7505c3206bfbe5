"""The catalog as sqlglot sees it: qualified table names and a typed schema of the tables a query reads.

Shared by the column check (unknown column → "did you mean …?") and the type-aware
DuckDB transpilation; both need the query's tables named the way the catalog names them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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


#: Schemas kept per process (see :func:`catalog_schema`).
SCHEMA_CACHE_SIZE = 64
_schemas: OrderedDict[Hashable, MappingSchema] = OrderedDict()
_schemas_lock = threading.Lock()


def catalog_schema(tables: Mapping[tuple[str, str], Table]) -> MappingSchema:
    """sqlglot schema of the referenced tables: data columns then partition keys, Hive types.

    Kept per :func:`tables_fingerprint` (names, version, columns, types, partition keys: all it is
    built from): the column check and the translator of one query both need it, and building it
    (sqlglot normalizes every name) cost 2-3 ms each time for a TPC-H query. sqlglot's qualifier
    and type annotation only read a schema, so one instance serves every query with these tables.
    """
    key = tables_fingerprint(tables)
    with _schemas_lock:
        found = _schemas.get(key)
        if found is not None:
            _schemas.move_to_end(key)
            return found
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for (db, name), table in tables.items():
        mapping.setdefault(db, {})[name] = {c.name.lower(): c.type for c in table.all_columns()}
    schema = MappingSchema(dict(mapping), dialect="hive")
    with _schemas_lock:
        _schemas[key] = schema
        while len(_schemas) > SCHEMA_CACHE_SIZE:
            _schemas.popitem(last=False)
    return schema


def tables_fingerprint(tables: Mapping[tuple[str, str], Table]) -> Hashable:
    """What a statement's checks and translation depend on in its tables: version, columns, types, partition keys.

    Two bindings with the same fingerprint see the same schema, so a result derived from the
    statement text and these definitions alone (the column check, the translation) can be reused.
    """
    return tuple(sorted(
        (key, t.version, tuple((c.name, c.type) for c in t.all_columns()), tuple(c.name for c in t.partition_keys))
        for key, t in tables.items()))
