"""Trino/Athena SQL → DuckDB SQL that also *behaves* like Trino, using the catalog's column types.

A plain dialect translation gets function names right but not semantics that depend on
types: in Trino ``7 / 2`` on integers is ``3`` and ``date_trunc('month', <date>)`` is a
date, while DuckDB answers ``3.5`` and a timestamp. sqlglot fixes such cases once it
knows column types, so we qualify the query against the catalog schema, annotate types
and patch the date arithmetic DuckDB widens to timestamps. If sqlglot cannot qualify a
query (a construct its optimizer does not model), the plain translation is used — the
query still runs, only without the type-driven fixes.
"""

from __future__ import annotations

import logging
import re

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from lakeglue.query.base import BoundQuery
from lakeglue.query.binding import parse_query
from lakeglue.sql_dialect import SOURCE_DIALECT

log = logging.getLogger(__name__)

#: Units for which Trino keeps ``date`` arithmetic/truncation a ``date``.
_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
_SQLGLOT_UNNAMED = re.compile(r"_col_(\d+)")


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


def catalog_schema(query: BoundQuery) -> MappingSchema:
    """sqlglot schema of the referenced tables: data columns then partition keys, Hive types."""
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for (db, name), table in query.tables.items():
        mapping.setdefault(db, {})[name] = {c.name.lower(): c.type for c in table.all_columns()}
    return MappingSchema(dict(mapping), dialect="hive")


def _unit(node: exp.Expression) -> str:
    unit = node.args.get("unit")
    return unit.name.upper() if unit is not None else ""


def _keeps_date(node: exp.Expression) -> bool:
    """True for date ± interval / date_add / date_trunc on a DATE, which Trino keeps a DATE."""
    if isinstance(node, exp.DateAdd | exp.DateSub | exp.TimestampTrunc | exp.DateTrunc):
        return node.this.is_type(exp.DataType.Type.DATE) and _unit(node) in _DATE_UNITS
    if isinstance(node, exp.Add | exp.Sub):
        interval = node.expression
        return (node.this.is_type(exp.DataType.Type.DATE) and isinstance(interval, exp.Interval)
                and _unit(interval) in _DATE_UNITS)
    return False


def keep_dates(tree: exp.Expr) -> exp.Expr:
    """Cast date arithmetic back to DATE: DuckDB's ``date + INTERVAL`` and ``date_trunc`` return timestamps."""
    for node in [n for n in tree.find_all(exp.Expression) if _keeps_date(n)]:
        node.replace(exp.cast(node.copy(), exp.DataType.Type.DATE))
    return tree


def trino_column_names(tree: exp.Expr) -> exp.Expr:
    """Name unnamed output columns ``_col0, _col1 …`` as Trino/Athena do (sqlglot says ``_col_0``)."""
    if isinstance(tree, exp.Query):
        for select in tree.selects:
            if isinstance(select, exp.Alias) and (match := _SQLGLOT_UNNAMED.fullmatch(select.alias)):
                select.set("alias", exp.to_identifier(f"_col{match.group(1)}", quoted=True))
    return tree


def to_duckdb(query: BoundQuery) -> str:
    """DuckDB SQL for a bound query; ``?`` placeholders are kept for parameter binding."""
    tree = qualify_table_names(parse_query(query.sql), query.database)
    try:
        schema = catalog_schema(query)
        typed = qualify(tree.copy(), dialect=SOURCE_DIALECT, schema=schema)
        typed = annotate_types(typed, schema=schema, dialect=SOURCE_DIALECT)
        return trino_column_names(keep_dates(typed)).sql(dialect="duckdb")
    except SqlglotError as exc:
        log.debug("type-aware transpilation not possible (%s); using the plain dialect translation", exc)
        return tree.sql(dialect="duckdb")
