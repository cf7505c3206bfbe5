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
from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from lakeglue.query.base import BoundQuery
from lakeglue.query.binding import parse_query
from lakeglue.query.schema import catalog_schema, qualify_table_names
from lakeglue.sql_dialect import SOURCE_DIALECT

log = logging.getLogger(__name__)

#: Units for which Trino keeps ``date`` arithmetic/truncation a ``date``.
_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
_SQLGLOT_UNNAMED = re.compile(r"_col_(\d+)")


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


#: Integer types and the names Trino's cast errors use for them.
_INTEGER_TYPES = {exp.DataType.Type.TINYINT: "TINYINT", exp.DataType.Type.SMALLINT: "SMALLINT",
                  exp.DataType.Type.INT: "INT", exp.DataType.Type.BIGINT: "BIGINT"}
#: What Trino (Java's ``Long.parseLong``, no trimming) accepts when it casts varchar to an integer type.
_INTEGER_TEXT = r"^[+-]?[0-9]+$"


def _is_text(node: exp.Expression) -> bool:
    return node.is_type(exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT)


def integer_casts(tree: exp.Expr) -> exp.Expr:
    """varchar → integer casts as Trino does them: ``'3.5'`` is not an integer (TRY_CAST NULL, CAST fails).

    DuckDB parses ``'3.5'`` and rounds it to 4, and trims blanks. Trino only accepts integer
    text (``Integer.parseInt``), so the text is checked first: TRY_CAST answers NULL, CAST
    fails with Trino's message.
    """
    for node in [n for n in tree.find_all(exp.Cast) if n.to.this in _INTEGER_TYPES and _is_text(n.this)]:
        value = node.this.copy()
        matches = exp.func("REGEXP_MATCHES", value.copy(), exp.Literal.string(_INTEGER_TEXT))
        if isinstance(node, exp.TryCast):
            node.replace(exp.case().when(matches, node.copy()).else_(exp.null()))
            continue
        message = exp.func("CONCAT", exp.Literal.string("Cannot cast '"), value.copy(),
                           exp.Literal.string(f"' to {_INTEGER_TYPES[node.to.this]}"))
        checked = exp.case().when(matches, value).else_(exp.func("ERROR", message))
        node.set("this", checked)
    return tree


def exact_distinct(tree: exp.Expr) -> exp.Expr:
    """``approx_distinct(x)`` → ``count(DISTINCT x)`` on DuckDB.

    Trino's HyperLogLog is exact for small cardinalities; DuckDB's is not (it answers 3 for
    4 distinct strings). An exact count is within any approximation's error bound and makes
    results reproducible across engines; on one node it is cheap.
    """
    for node in list(tree.find_all(exp.ApproxDistinct)):
        node.replace(exp.Count(this=exp.Distinct(expressions=[node.this.copy()])))
    return tree


def iso_day_of_week(tree: exp.Expr) -> exp.Expr:
    """Trino's ``day_of_week`` (Monday = 1 … Sunday = 7) on Spark: ``weekday(d) + 1`` (sqlglot's is off by one day)."""
    for node in list(tree.find_all(exp.DayOfWeekIso)):
        node.replace(exp.paren(exp.Add(this=exp.func("WEEKDAY", node.this.copy()), expression=exp.Literal.number(1))))
    return tree


def one_based_ordinality(tree: exp.Expr) -> exp.Expr:
    """``UNNEST … WITH ORDINALITY`` counts from 1 in Trino; Spark's ``posexplode`` counts from 0."""
    for unnest in list(tree.find_all(exp.Unnest)):
        offset = unnest.args.get("offset")
        alias = unnest.args.get("alias")
        if not isinstance(offset, exp.Identifier):
            continue
        owner = alias.name if alias is not None else ""
        for column in list(tree.find_all(exp.Column)):
            if column.name == offset.name and column.table in ("", owner):
                column.replace(exp.paren(exp.Add(this=column.copy(), expression=exp.Literal.number(1))))
    return tree


_RANKING = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)


def bigint_ranks(tree: exp.Expr) -> exp.Expr:
    """``row_number()``, ``rank()`` … are bigint in Trino and int in Spark: cast so result types agree."""
    for window in list(tree.find_all(exp.Window)):
        if isinstance(window.this, _RANKING):
            window.replace(exp.cast(window.copy(), exp.DataType.Type.BIGINT))
    return tree


def typed_tree(query: BoundQuery) -> exp.Expr:
    """The query qualified against the catalog schema with types annotated (raises SqlglotError if it cannot be)."""
    tree = qualify_table_names(parse_query(query.sql), query.database)
    schema = catalog_schema(query.tables)
    typed = qualify(tree, dialect=SOURCE_DIALECT, schema=schema)
    return annotate_types(typed, schema=schema, dialect=SOURCE_DIALECT)


def to_duckdb(query: BoundQuery) -> str:
    """DuckDB SQL for a bound query; ``?`` placeholders are kept for parameter binding."""
    try:
        typed = typed_tree(query)
        fixed = exact_distinct(integer_casts(keep_dates(typed)))
        return trino_column_names(fixed).sql(dialect="duckdb")
    except SqlglotError as exc:
        log.debug("type-aware transpilation not possible (%s); using the plain dialect translation", exc)
        return exact_distinct(qualify_table_names(parse_query(query.sql), query.database)).sql(dialect="duckdb")


def to_spark(query: BoundQuery, relation: Callable[[str, str], str]) -> str:
    """Spark SQL with Trino's semantics for a bound query; catalog tables renamed by ``relation(db, table)``.

    The same type-aware fixes as for DuckDB (integer division, dates that stay dates) plus
    Spark's own gaps (ISO day of week, 1-based ordinality). Without types (a construct
    sqlglot cannot qualify) the plain translation is used.
    """
    try:
        tree = bigint_ranks(one_based_ordinality(iso_day_of_week(keep_dates(typed_tree(query)))))
    except SqlglotError as exc:
        log.debug("type-aware transpilation not possible (%s); using the plain dialect translation", exc)
        plain = qualify_table_names(parse_query(query.sql), query.database)
        tree = bigint_ranks(one_based_ordinality(iso_day_of_week(plain)))
    for table in list(tree.find_all(exp.Table)):
        if table.name and table.db and (table.db.lower(), table.name.lower()) in query.tables:
            renamed = exp.to_table(relation(table.db.lower(), table.name.lower()))
            renamed.set("alias", table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name)))
            table.replace(renamed)
    return tree.sql(dialect="spark")
