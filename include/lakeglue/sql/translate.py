"""The one translator: Trino/Athena SQL → the SQL an engine runs, with Trino's values and result types.

Every place SQL runs goes through here — the query layer (``lakeglue query``, CTAS, INSERT),
the gold jobs and the silver ``expr`` columns, on DuckDB and on Spark — so the same
statement gives the same rows and types wherever it runs (a test fails if another path
appears). Trino and Athena get the statement unchanged: it is already their dialect.

For DuckDB and Spark the statement is qualified against the catalog schema of the tables
it reads and its types annotated (sqlglot's optimizer), then the rewrites in
:mod:`lakeglue.sql.semantics` fix what depends on types or engine quirks. A construct
sqlglot cannot qualify falls back to the untyped tree: the query still runs, with the
rewrites that need no types.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema

from lakeglue.catalog import Catalog, EntityNotFound, Table
from lakeglue.query.schema import catalog_schema, qualify_table_names, tables_fingerprint
from lakeglue.sql import semantics as sem
from lakeglue.sql_dialect import SOURCE_DIALECT

if TYPE_CHECKING:
    from lakeglue.query.base import BoundQuery

log = logging.getLogger(__name__)

#: Engines SQL is translated for; ``trino`` and ``athena`` run the source dialect as it is.
ENGINES = ("duckdb", "spark", "trino", "athena")
_NATIVE = ("trino", "athena")
#: Maps a catalog table (database, name) to the relation the engine registered for it.
Relation = Callable[[str, str], str]
Tables = Mapping[tuple[str, str], Table]
#: The relation a silver expression is typed over.
_ROW = "__lg_row"


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"cannot translate SQL for engine {engine!r}; engines: {', '.join(ENGINES)}")


def _read_tables(tree: exp.Expr, source: Catalog | Tables | None) -> dict[tuple[str, str], Table]:
    """Catalog definitions of the (already database-qualified) tables ``tree`` reads; unknown ones left out."""
    if source is None:
        return {}
    tables: dict[tuple[str, str], Table] = {}
    for node in tree.find_all(exp.Table):
        if not node.name or not node.db:  # CTE references have no database
            continue
        key = (node.db.lower(), node.name.lower())
        if key in tables:
            continue
        if isinstance(source, Catalog):
            try:
                tables[key] = source.get_table(*key)
            except EntityNotFound:
                continue
        elif key in source:
            tables[key] = source[key]
    return tables


def _typed(tree: exp.Expr, tables: Tables, qualified: bool = False) -> tuple[exp.Expr, MappingSchema]:
    """``tree`` qualified (unless it already is) and type-annotated against the catalog schema (raises
    SqlglotError if it cannot be)."""
    schema = catalog_schema(tables)
    typed = tree if qualified else qualify(tree, dialect=SOURCE_DIALECT, schema=schema)
    return annotate_types(typed, schema=schema, dialect=SOURCE_DIALECT), schema


def _typed_rewrites(tree: exp.Expr, engine: str, schema: MappingSchema, speculative: bool = False) -> exp.Expr:
    """Rewrites that need annotated types, scope by scope from the innermost (CTEs, subqueries) out.

    Types are annotated again after each scope, so an outer query sees the type a CTE column
    has after its rewrite (``sum(decimal(12,2))`` is ``decimal(38,2)`` there, not sqlglot's guess).
    """
    scopes = traverse_scope(tree)
    for i, scope in enumerate(scopes):
        last = i == len(scopes) - 1
        before = 0 if last else _size(scope.expression)
        _rewrite_scope(scope.expression, engine, speculative)
        if not last and _size(scope.expression) != before:  # every rewrite adds nodes
            tree = annotate_types(tree, schema=schema, dialect=SOURCE_DIALECT)
    return tree


def _size(tree: exp.Expr) -> int:
    return sum(1 for _ in tree.walk())


def _rewrite_scope(tree: exp.Expr, engine: str, speculative: bool = False) -> exp.Expr:
    """The type-dependent rewrites of one scope (no-ops on untyped nodes and on nodes already rewritten)."""
    tree = sem.integer_division(tree)
    tree = sem.decimal_arithmetic(tree, speculative=speculative and engine == "duckdb")
    tree = sem.aggregate_types(tree)
    tree = sem.keep_dates(tree)
    tree = sem.integer_casts(tree, engine)
    tree = sem.bigint_sequences(tree)
    if engine == "duckdb":
        tree = sem.map_cardinality(tree)
        tree = sem.map_unnest(tree)
    return sem.rounded_integer_casts(tree)


def _engine_rewrites(tree: exp.Expr, engine: str) -> exp.Expr:
    """Rewrites that depend only on the engine."""
    if engine == "duckdb":
        tree = sem.exact_distinct(tree)
        tree = sem.ordered_distinct(tree)
        tree = sem.regexp_backreferences(tree)
    else:
        tree = sem.timestamp_add(tree)
        tree = sem.one_based_ordinality(tree)
        tree = sem.grouping_id(tree)
    tree = sem.iso_day_of_week(tree, engine)
    tree = sem.match_functions(tree, engine)
    return sem.bigint_results(tree)


def _rename_relations(tree: exp.Expr, tables: set[tuple[str, str]], relation: Relation) -> exp.Expr:
    """Catalog tables renamed to the engine's relations, keeping their aliases (the table name when unaliased)."""
    for table in list(tree.find_all(exp.Table)):
        if table.name and table.db and (table.db.lower(), table.name.lower()) in tables:
            renamed = exp.to_table(relation(table.db.lower(), table.name.lower()))
            renamed.set("alias", table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name)))
            table.replace(renamed)
    return tree


def translate(sql: str | exp.Expr, engine: str, catalog: Catalog | Tables | None = None, *,
              database: str | None = None, relation: Relation | None = None,
              qualified: exp.Expr | None = None, speculative: bool = False) -> str:
    """``sql`` (Trino/Athena dialect) as ``engine`` runs it, with Trino's values and result types.

    ``catalog`` (a Catalog, or the already resolved ``{(db, table): Table}`` of a bound query)
    gives the column types the type-dependent rewrites need; bare table names belong to
    ``database``. ``relation(db, table)`` renames catalog tables to what the engine registered
    (a Spark temp view); without it they keep their ``db.table`` names. ``?`` placeholders are
    kept for the engine's parameter binding. ``qualified``: ``sql`` already parsed, its tables
    given ``database`` and qualified against ``catalog`` (the column check's copy, see
    :func:`translate_query`); it is rewritten in place. ``speculative`` (DuckDB): decimal
    ``+ - *`` inside sums keep DuckDB's faster 64-bit arithmetic, which raises an overflow error
    (``duckdb.OutOfRangeException``) where Trino's wider types would not: whoever runs such a
    translation runs the default one when that happens (see :func:`sem.decimal_arithmetic`).
    """
    _check_engine(engine)
    if engine in _NATIVE:
        return sql if isinstance(sql, str) else sql.sql(dialect=SOURCE_DIALECT)
    text = sql if isinstance(sql, str) else sql.sql(dialect=SOURCE_DIALECT)
    tree = qualified if qualified is not None else _parsed(text, engine, database)
    tables = _read_tables(tree, catalog)
    try:
        # qualifies in place: no copy of the tree on the common path
        typed, schema = _typed(tree, tables, qualified=qualified is not None)
        tree = trino_output(_typed_rewrites(typed, engine, schema, speculative))
    except SqlglotError as exc:
        log.debug("type-aware translation not possible (%s); using the untyped tree", exc)
        tree = _parsed(text, engine, database)
    tree = _engine_rewrites(tree, engine)
    if relation is not None:
        tree = _rename_relations(tree, set(_referenced(tree)), relation)
    return tree.sql(dialect=engine, copy=False)  # the tree is ours: no copy for the generator's transforms


def _parsed(sql: str, engine: str, database: str | None) -> exp.Expr:
    """The statement parsed, bare table names given ``database``, rewrites that must precede qualification done."""
    tree = qualify_table_names(sqlglot.parse_one(sql, read=SOURCE_DIALECT), database.lower() if database else None)
    return sem.reduce_finish(tree) if engine == "duckdb" else tree


def trino_output(tree: exp.Expr) -> exp.Expr:
    """Output columns named as Trino names them (``_col0`` …), ORDER BY references following."""
    return sem.trino_column_names(tree)


def _referenced(tree: exp.Expr) -> list[tuple[str, str]]:
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return [(t.db.lower(), t.name.lower()) for t in tree.find_all(exp.Table)
            if t.name and t.db and not (not t.db and t.name in ctes)]


#: Translations kept per process (see :func:`translate_query`).
TRANSLATION_CACHE_SIZE = 256
_translations: OrderedDict[Hashable, str] = OrderedDict()
_translations_lock = threading.Lock()


def _translation_key(query: BoundQuery, engine: str, speculative: bool) -> Hashable:
    """What a bound statement's translation depends on: its text, engine, mode, default database and
    the definitions (version, columns and types, partition keys) of the tables it reads."""
    return (query.sql, engine, speculative, query.database, tables_fingerprint(query.tables))


def translate_query(query: BoundQuery, engine: str, relation: Relation | None = None,
                    speculative: bool = False) -> str:
    """:func:`translate` for a statement the query layer bound (its tables are already resolved).

    Why the cache: qualifying, type-annotating and rewriting a TPC-H query costs 5-15 ms of
    CPU, as much as DuckDB needs to answer it at small scale; a dashboard or a scheduled query
    sends the same text again and again. The translation is a pure function of the key (see
    :func:`_translation_key`); a table whose definition changed gets a new key. Statements with
    a ``relation`` (Spark temp views) are translated every time. ``speculative``: see :func:`translate`.
    """
    qualified = query.qualified.pop() if query.qualified else None  # handed over once: translation mutates it
    if relation is not None:
        return translate(query.sql, engine, query.tables, database=query.database, relation=relation,
                         qualified=qualified, speculative=speculative)
    key = _translation_key(query, engine, speculative)
    with _translations_lock:
        found = _translations.get(key)
        if found is not None:
            _translations.move_to_end(key)
            return found
    text = translate(query.sql, engine, query.tables, database=query.database, qualified=qualified,
                     speculative=speculative)
    with _translations_lock:
        _translations[key] = text
        while len(_translations) > TRANSLATION_CACHE_SIZE:
            _translations.popitem(last=False)
    return text


def _as_select(tree: exp.Expr) -> exp.Select:
    """The expression as the one item of ``SELECT … FROM <row>``: rewrites may replace its root node."""
    return exp.select(exp.alias_(tree, "__value")).from_(_ROW)


def _typed_expression(tree: exp.Expr, columns: Mapping[str, str], engine: str) -> tuple[exp.Expr, MappingSchema]:
    """:func:`_as_select` qualified and type-annotated over a row of ``columns`` (SqlglotError if it cannot be)."""
    schema = MappingSchema({_ROW: {name.lower(): kind for name, kind in columns.items()}}, dialect=engine)
    typed = annotate_types(qualify(_as_select(tree), dialect=SOURCE_DIALECT, schema=schema), schema=schema,
                           dialect=SOURCE_DIALECT)
    return typed, schema


def _selected_value(select: exp.Expr) -> exp.Expr:
    """The expression back out of :func:`_as_select`, without the row qualifier the typing added."""
    assert isinstance(select, exp.Select)
    value = select.selects[0].this
    for column in value.find_all(exp.Column):
        if column.table == _ROW:  # ``item.product_id`` (a struct field) keeps its ``item``
            column.set("table", None)
    return value


def translate_expression(expression: str, engine: str, columns: Mapping[str, str] | None = None) -> str:
    """One scalar Trino expression (a silver column's ``expr``) as ``engine`` evaluates it.

    ``columns`` maps the row's column names to their types as ``engine`` spells them, so the
    type-dependent rewrites (integer division, decimal precision, integer casts) apply too;
    without them (or for a column sqlglot cannot type) only the untyped rewrites apply.
    """
    _check_engine(engine)
    if engine in _NATIVE:
        return expression
    tree = sqlglot.parse_one(expression, read=SOURCE_DIALECT)
    if engine == "duckdb":
        tree = sem.reduce_finish(_as_select(tree))
    select: exp.Expr = _as_select(tree) if not isinstance(tree, exp.Select) else tree
    if columns:
        try:
            typed, schema = _typed_expression(_selected_value(select).copy(), columns, engine)
            select = _typed_rewrites(typed, engine, schema)
        except SqlglotError as exc:
            log.debug("type-aware translation of %r not possible (%s)", expression, exc)
    return _selected_value(_engine_rewrites(select, engine)).sql(dialect=engine)
