"""Rewrites that make DuckDB and Spark SQL answer a Trino query with Trino's values and types.

sqlglot translates function names and syntax; what it cannot know from the dialect alone
depends on types (``7 / 2`` on integers is ``3`` in Trino; ``decimal * decimal`` has Trino's
own precision) or on engine quirks (Spark counts ordinality from 0, ranks are ``int``).
Each function here takes a tree that :func:`sqlglot.optimizer.annotate_types.annotate_types`
typed (when the catalog schema was known; untyped nodes are left alone) and rewrites it in
place for one target engine. The expected values follow Trino's documentation and source
(``functions/decimal.md``, ``DecimalOperators``, ``DecimalAverageAggregation``, ``sql/select.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

from sqlglot import exp
from sqlglot.expressions.datatypes import DType

T = DType
_SEEN = "lakeglue_rewrites"
E = TypeVar("E", bound=exp.Expr)

#: Units for which Trino keeps ``date`` arithmetic/truncation a ``date``.
_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
_TIME_UNITS = {"HOUR", "MINUTE", "SECOND", "MILLISECOND"}
_SQLGLOT_UNNAMED = re.compile(r"_col_(\d+)")
#: Integer types, narrowest first, with the decimal precision Trino gives them in decimal arithmetic.
_INTEGER_PRECISION = {T.TINYINT: 3, T.SMALLINT: 5, T.INT: 10, T.BIGINT: 19}
_INTEGER_ORDER = list(_INTEGER_PRECISION)
#: Names Trino's cast errors use for the integer types.
_INTEGER_NAMES = {T.TINYINT: "TINYINT", T.SMALLINT: "SMALLINT", T.INT: "INT", T.BIGINT: "BIGINT"}
#: What Trino (Java's ``Long.parseLong``, no trimming) accepts when it casts varchar to an integer type.
_INTEGER_TEXT = r"^[+-]?[0-9]+$"
_RANKING = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)
#: Functions Trino types ``bigint`` that DuckDB or Spark answer as a narrower integer.
_BIGINT_FUNCTIONS: tuple[type[exp.Expr], ...] = (
    exp.Length, exp.StrPosition, exp.ArraySize, exp.ArrayPosition, exp.Year, exp.Month, exp.Day, exp.DayOfMonth,
    exp.Quarter, exp.Week, exp.WeekOfYear, exp.DayOfWeek, exp.DayOfWeekIso, exp.DayOfYear, exp.Hour, exp.Minute,
    exp.Second, exp.Extract, exp.DateDiff, exp.Grouping, exp.RegexpCount,
)


def pending(nodes: Iterable[E], rewrite: str) -> list[E]:
    """The ``nodes`` ``rewrite`` has not looked at yet, now marked as seen.

    The translator runs the type-dependent rewrites scope by scope, innermost first, and
    re-annotates types in between (so a CTE column has the type its rewritten expression
    has); an outer scope's pass then skips what an inner one already rewrote.
    """
    fresh = []
    for node in nodes:
        seen = node.meta.setdefault(_SEEN, set())
        if rewrite not in seen:
            seen.add(rewrite)
            fresh.append(node)
    return fresh


def type_of(node: exp.Expr) -> exp.DataType | None:
    """The annotated type of ``node`` (a cast's target for casts added by these rewrites), None if unknown."""
    while isinstance(node, exp.Paren):
        node = node.this
    dtype = node.to if isinstance(node, exp.Cast) else node.type
    if dtype is None or dtype.this in (T.UNKNOWN, T.NULL):
        return None
    return dtype


def _is(node: exp.Expr, *types: DType) -> bool:
    dtype = type_of(node)
    return dtype is not None and dtype.this in types


def decimal_type(precision: int, scale: int) -> exp.DataType:
    """``DECIMAL(precision, scale)`` built directly (parsing the type text is the slow part of building it)."""
    return exp.DataType(this=T.DECIMAL, expressions=[exp.DataTypeParam(this=exp.Literal.number(precision)),
                                                     exp.DataTypeParam(this=exp.Literal.number(scale))], nested=False)


def wrap_cast(node: exp.Expr, to: exp.DataType | DType | str) -> exp.Cast:
    """Replace ``node`` by ``CAST(node AS to)`` keeping the node itself (so collected nodes stay attached)."""
    cast = exp.Cast(this=exp.null(), to=exp.DataType.build(to) if not isinstance(to, exp.DataType) else to)
    node.replace(cast)
    cast.set("this", node)
    return cast


def _innermost_first(tree: exp.Expr, *kinds: type[exp.Expr]) -> list[exp.Expr]:
    """Nodes of ``kinds``, deepest first: an operation's result type depends on its rewritten operands."""
    return list(reversed(list(tree.find_all(*kinds))))


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return unit.name.upper() if unit is not None else ""


# -- output shape ------------------------------------------------------------------------------

def trino_column_names(tree: exp.Expr) -> exp.Expr:
    """Name unnamed output columns ``_col0, _col1 …`` as Trino/Athena do (sqlglot says ``_col_0``).

    sqlglot's qualify also points ``ORDER BY sum(x)`` / ``ORDER BY 2`` at the alias it gave the
    select item, so those references are renamed with it (else: "_col_1 cannot be resolved").
    """
    for select in tree.find_all(exp.Select):
        renamed: dict[str, str] = {}
        for item in select.selects:
            if isinstance(item, exp.Alias) and (match := _SQLGLOT_UNNAMED.fullmatch(item.alias)):
                renamed[item.alias] = f"_col{match.group(1)}"
                item.set("alias", exp.to_identifier(renamed[item.alias], quoted=True))
        order = select.args.get("order")
        if not renamed or order is None:
            continue
        for column in order.find_all(exp.Column):
            if not column.table and column.name in renamed:
                column.set("this", exp.to_identifier(renamed[column.name], quoted=True))
    return tree


# -- numbers -----------------------------------------------------------------------------------

def _integer_type(node: exp.Expr) -> DType | None:
    dtype = type_of(node)
    return dtype.this if dtype is not None and dtype.this in _INTEGER_PRECISION else None


def integer_division(tree: exp.Expr) -> exp.Expr:
    """Integer ``a / b`` truncates toward zero and keeps the wider integer type, as in Trino.

    Both engines divide integers into a double; their integer division (DuckDB ``//``, Spark
    ``DIV``) truncates toward zero like Java, and is exact for any bigint.
    """
    for node in _innermost_first(tree, exp.Div):
        left, right = _integer_type(node.this), _integer_type(node.expression)
        if left is None or right is None:
            continue
        wider = max(left, right, key=_INTEGER_ORDER.index)
        quotient = exp.IntDiv(this=node.this, expression=node.expression)
        node.replace(quotient)
        wrap_cast(quotient, wider)
    return tree


def _decimal(node: exp.Expr) -> tuple[int, int] | None:
    """(precision, scale) of a decimal operand as Trino types it; integers count as decimal(3|5|10|19, 0)."""
    while isinstance(node, exp.Paren):
        node = node.this
    aggregate = _aggregate_decimal(node)
    if aggregate is not None:
        return aggregate
    if isinstance(node, exp.Case):
        return _common_decimal([i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")])
    if isinstance(node, exp.Literal) and node.is_number:
        text = node.name.lstrip("-")
        if "e" in text.lower():
            return None
        if "." not in text:
            return (_INTEGER_PRECISION[T.INT] if abs(int(text)) <= 2**31 - 1 else 19, 0)
        whole, fraction = text.split(".")
        return max(len(whole.lstrip("0")) + len(fraction), 1), len(fraction)
    dtype = type_of(node)
    if dtype is None:
        return None
    if dtype.this in _INTEGER_PRECISION:
        return _INTEGER_PRECISION[dtype.this], 0
    if dtype.this == T.DECIMAL:
        params = [int(p.this.name) if isinstance(p, exp.DataTypeParam) else int(p.name) for p in dtype.expressions]
        return (params + [18, 3][len(params):])[0], (params + [18, 3][len(params):])[1]
    return None


def _common_decimal(values: list[exp.Expr | None]) -> tuple[int, int] | None:
    """Trino's common type of CASE branches when they are decimals or integers (NULL branches aside):
    the most integer digits and the largest scale (``CASE … THEN decimal(28,4) ELSE 0`` is ``decimal(28,4)``;
    sqlglot says ``decimal(12,2)``, the column's type)."""
    found = [_decimal(v) for v in values if v is not None and not isinstance(v, exp.Null)]
    if not found or any(f is None for f in found) or not any(_has_decimal(v) for v in values if v is not None):
        return None
    known = [f for f in found if f is not None]
    scale = max(s for _, s in known)
    return min(38, max(p - s for p, s in known) + scale), scale


def _aggregate_decimal(node: exp.Expr) -> tuple[int, int] | None:
    """Trino's type of a ``sum``/``avg`` of a decimal (also as a window function), None for anything else.

    Why here: :func:`decimal_arithmetic` rewrites ``sum(a) - sum(b)`` before :func:`aggregate_types`
    casts the sums, and sqlglot types a decimal sum as its argument (``decimal(12,2)``), not as
    Trino's ``decimal(38,2)``: the difference would be cast to too few digits and too small a scale.
    """
    if isinstance(node, exp.Window):
        node = node.this
    if not isinstance(node, exp.Sum | exp.Avg) or not _is(node.this, T.DECIMAL):
        return None
    argument = _decimal(node.this)
    if argument is None:
        return None
    return (38, argument[1]) if isinstance(node, exp.Sum) else argument


def _has_decimal(node: exp.Expr) -> bool:
    dtype = type_of(node)
    if dtype is not None and dtype.this == T.DECIMAL:
        return True
    return isinstance(node, exp.Literal) and node.is_number and "." in node.name and "e" not in node.name.lower()


def _decimal_result(node: exp.Expr, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (ap, as_), (bp, bs) = a, b
    if isinstance(node, exp.Add | exp.Sub):
        return min(38, max(ap - as_, bp - bs) + max(as_, bs) + 1), max(as_, bs)
    if isinstance(node, exp.Mul):
        return min(38, ap + bp), as_ + bs
    if isinstance(node, exp.Div):
        return min(38, ap + bs + max(bs - as_, 0)), max(as_, bs)
    return min(ap - as_, bp - bs) + max(as_, bs), max(as_, bs)  # exp.Mod


def decimal_arithmetic(tree: exp.Expr, speculative: bool = False) -> exp.Expr:
    """``decimal ± * / % decimal|integer`` gets Trino's result precision and scale (DecimalOperators).

    DuckDB widens products to 18 digits and divides decimals into doubles; Spark adds digits
    of its own. Casting the result to Trino's type gives Trino's value (division rounds half up).

    ``speculative`` (DuckDB only): a ``+ - *`` whose value only feeds another such operation or
    a ``sum`` keeps DuckDB's own type (see :func:`_value_only`) and Trino's type is recorded on
    the node for the operations and aggregate around it. Why: the per-row casts to Trino's
    wide types move DuckDB from 64-bit to 128-bit arithmetic (TPC-H Q1 ran 2.3x slower).
    DuckDB's decimal ``+ - *`` are exact with Trino's scale, or raise an overflow error (an
    ``OutOfRangeException``) where its 18-digit type is too narrow, so the caller must run the
    non-speculative translation when that error occurs (the engine does, see
    :meth:`lakeglue.query.duckdb_engine.DuckDBEngine.execute`).
    """
    operations = _innermost_first(tree, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
    for node in operations:
        if not (_has_decimal(node.this) or _has_decimal(node.expression)) or not pending([node], "decimal"):
            continue
        a, b = _decimal(node.this), _decimal(node.expression)
        if a is None or b is None:
            continue
        precision, scale = _decimal_result(node, a, b)
        if speculative and _value_only(node):
            node.type = decimal_type(precision, scale)  # Trino's type, for the operation or sum around it
        else:
            wrap_cast(node, decimal_type(precision, scale))
    return tree


def _value_only(node: exp.Expr) -> bool:
    """True for a ``+ - *`` whose type no one sees: only its exact value feeds a ``+ - *`` that gets
    Trino's type itself (both operands decimal or integer) or the argument of a ``sum`` (Trino's
    ``decimal(38, s)``, as DuckDB's, with the same scale ``s``: the aggregate's cast stays)."""
    if not isinstance(node, exp.Add | exp.Sub | exp.Mul):
        return False
    child: exp.Expr = node
    parent = node.parent
    while isinstance(parent, exp.Paren):
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Sum):
        return parent.this is child
    if isinstance(parent, exp.Add | exp.Sub | exp.Mul):
        return _decimal(parent.this) is not None and _decimal(parent.expression) is not None
    return False


def _aggregate_target(node: exp.Expr) -> exp.Expr:
    """The node whose value is the aggregate's: its window when it is used as a window function."""
    parent = node.parent
    return parent if isinstance(parent, exp.Window) and parent.this is node else node


def aggregate_types(tree: exp.Expr) -> exp.Expr:
    """``sum(integer)`` is ``bigint``, ``sum(decimal(p,s))`` ``decimal(38,s)`` and ``avg(decimal(p,s))``
    ``decimal(p,s)`` in Trino.

    DuckDB sums integers into HUGEINT (a bigint overflow then fails the cast, as Trino fails),
    averages decimals into a double, and Spark into ``decimal(p+4,s+4)``; the cast rounds
    half up to Trino's scale, as Trino's average does.
    """
    for total in pending(tree.find_all(exp.Sum), "integer_sum"):
        if _integer_type(total.this) is not None:
            wrap_cast(_aggregate_target(total), T.BIGINT)
    for node in pending(tree.find_all(exp.Sum, exp.Avg), "decimal_aggregate"):
        argument = _decimal(node.this) if _is(node.this, T.DECIMAL) else None
        if argument is None:
            continue
        precision, scale = argument
        target = _aggregate_target(node)
        wrap_cast(target, decimal_type(38 if isinstance(node, exp.Sum) else precision, scale))
    return tree


def rounded_integer_casts(tree: exp.Expr) -> exp.Expr:
    """decimal/double → integer casts round half away from zero as Trino does (``HALF_UP``).

    Spark truncates (2.7 → 2) and DuckDB rounds doubles half to even (2.5 → 2); ``round`` first
    rounds half away from zero on both.
    """
    casts = [n for n in tree.find_all(exp.Cast) if n.to.this in _INTEGER_PRECISION]
    for node in pending(casts, "rounded_cast"):
        if _is(node.this, T.DECIMAL, T.DOUBLE, T.FLOAT):
            source = node.this
            rounded = exp.Round(this=exp.null())
            source.replace(rounded)
            rounded.set("this", source)
    return tree


def _is_text(node: exp.Expr) -> bool:
    return _is(node, T.VARCHAR, T.CHAR, T.TEXT)


def integer_casts(tree: exp.Expr, engine: str) -> exp.Expr:
    """varchar → integer casts as Trino does them: ``'3.5'`` and ``' 12'`` are not integers.

    DuckDB rounds ``'3.5'`` to 4 and both engines trim blanks. Trino only accepts integer
    text (``Long.parseLong``), so the text is checked first: TRY_CAST answers NULL, CAST
    fails with Trino's message.
    """
    fail = "ERROR" if engine == "duckdb" else "RAISE_ERROR"
    casts = [n for n in tree.find_all(exp.Cast) if n.to.this in _INTEGER_NAMES and _is_text(n.this)]
    for node in pending(casts, "integer_text"):
        value = node.this.copy()
        matches = exp.RegexpLike(this=value.copy(), expression=exp.Literal.string(_INTEGER_TEXT))
        if isinstance(node, exp.TryCast):
            case = exp.case().when(matches, exp.null()).else_(exp.null())
            node.replace(case)
            case.args["ifs"][0].set("true", node)
            continue
        message = exp.func("CONCAT", exp.Literal.string("Cannot cast '"), value.copy(),
                           exp.Literal.string(f"' to {_INTEGER_NAMES[node.to.this]}"))
        checked = exp.case().when(matches, value).else_(exp.func(fail, message))
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


def bigint_results(tree: exp.Expr) -> exp.Expr:
    """Functions Trino types bigint (length, strpos, cardinality, year … extract, date_diff, grouping,
    row_number, rank …) are cast to bigint where the engine answers int/tinyint/ubigint."""
    for node in list(tree.find_all(*_BIGINT_FUNCTIONS)):
        wrap_cast(node, T.BIGINT)
    for window in list(tree.find_all(exp.Window)):
        if isinstance(window.this, _RANKING):
            wrap_cast(window, T.BIGINT)
    return tree


# -- dates -------------------------------------------------------------------------------------

def _keeps_date(node: exp.Expr) -> bool:
    """True for date ± interval / date_add / date_trunc on a DATE, which Trino keeps a DATE."""
    if isinstance(node, exp.DateAdd | exp.DateSub | exp.TimestampTrunc | exp.DateTrunc):
        return node.this.is_type(T.DATE) and _unit(node) in _DATE_UNITS
    if isinstance(node, exp.Add | exp.Sub):
        interval = node.expression
        return (node.this.is_type(T.DATE) and isinstance(interval, exp.Interval)
                and _unit(interval) in _DATE_UNITS)
    return False


def keep_dates(tree: exp.Expr) -> exp.Expr:
    """Cast date arithmetic back to DATE: DuckDB's ``date + INTERVAL`` and ``date_trunc`` return timestamps."""
    candidates = tree.find_all(exp.DateAdd, exp.DateSub, exp.TimestampTrunc, exp.DateTrunc, exp.Add, exp.Sub)
    for node in [n for n in candidates if _keeps_date(n) and pending([n], "keep_date")]:
        wrap_cast(node, T.DATE)
    return tree


def timestamp_add(tree: exp.Expr) -> exp.Expr:
    """Spark: ``date_add('hour', n, ts)`` is ``timestampadd(HOUR, n, ts)`` (Spark's ``date_add`` drops the time)."""
    for node in list(tree.find_all(exp.DateAdd)):
        if _unit(node) in _TIME_UNITS:
            node.replace(exp.Anonymous(this="TIMESTAMPADD", expressions=[
                exp.var(_unit(node)), node.expression.copy(), node.this.copy()]))
    return tree


def iso_day_of_week(tree: exp.Expr, engine: str) -> exp.Expr:
    """Trino's ``day_of_week`` / ``dow`` / ``extract(dow …)`` count Monday = 1 … Sunday = 7 (ISO).

    DuckDB's ``extract(dow …)`` counts Sunday = 0 and sqlglot's Spark ``dayofweek`` Sunday = 1:
    extract becomes ISO day of week, which Spark computes as ``weekday(d) + 1``.
    """
    for extract in list(tree.find_all(exp.Extract)):
        if extract.this.name.upper() in ("DOW", "DAY_OF_WEEK", "DAYOFWEEK"):
            extract.replace(exp.DayOfWeekIso(this=extract.expression.copy()))
    if engine == "spark":
        for node in list(tree.find_all(exp.DayOfWeekIso)):
            iso = exp.Add(this=exp.func("WEEKDAY", node.this.copy()), expression=exp.Literal.number(1))
            node.replace(exp.cast(iso, T.BIGINT))
    return tree


# -- arrays, maps, lambdas ---------------------------------------------------------------------

def one_based_ordinality(tree: exp.Expr) -> exp.Expr:
    """``UNNEST … WITH ORDINALITY`` counts from 1 (a bigint) in Trino; Spark's ``posexplode`` counts from 0 (an int)."""
    for unnest in list(tree.find_all(exp.Unnest)):
        offset = unnest.args.get("offset")
        alias = unnest.args.get("alias")
        if not isinstance(offset, exp.Identifier):
            continue
        owner = alias.name if alias is not None else ""
        for column in list(tree.find_all(exp.Column)):
            if column.name == offset.name and column.table in ("", owner):
                column.replace(exp.cast(exp.Add(this=column.copy(), expression=exp.Literal.number(1)), T.BIGINT))
    return tree


def ordered_distinct(tree: exp.Expr) -> exp.Expr:
    """DuckDB: ``array_distinct`` keeps first occurrences in order, as Trino does (``list_distinct`` does not)."""
    for node in list(tree.find_all(exp.ArrayDistinct)):
        array = node.this
        keep = exp.EQ(this=exp.func("LIST_POSITION", array.copy(), exp.column("__x")), expression=exp.column("__i"))
        lam = exp.Lambda(this=keep, expressions=[exp.to_identifier("__x"), exp.to_identifier("__i")])
        node.replace(exp.func("LIST_FILTER", array.copy(), lam))
    return tree


def map_cardinality(tree: exp.Expr) -> exp.Expr:
    """DuckDB: ``cardinality(map)`` is ``cardinality`` (sqlglot's ``array_length`` only takes lists), a bigint."""
    for node in list(tree.find_all(exp.ArraySize)):
        if _is(node.this, T.MAP):
            node.replace(exp.cast(exp.Anonymous(this="CARDINALITY", expressions=[node.this.copy()]), T.BIGINT))
    return tree


def map_unnest(tree: exp.Expr) -> exp.Expr:
    """DuckDB: ``UNNEST(map) AS u(k, v)`` (one row per entry, as in Trino) becomes a lateral subquery
    unnesting the map's keys and values side by side (DuckDB's UNNEST in FROM only takes a list)."""
    for unnest in list(tree.find_all(exp.Unnest)):
        alias = unnest.args.get("alias")
        if (len(unnest.expressions) != 1 or not _is(unnest.expressions[0], T.MAP) or unnest.args.get("offset")
                or alias is None or len(alias.columns) != 2):
            continue
        entries = unnest.expressions[0]
        key, value = (c.name for c in alias.columns)
        rows = exp.select(
            exp.alias_(exp.Unnest(expressions=[exp.func("MAP_KEYS", entries.copy())]), key, quoted=True),
            exp.alias_(exp.Unnest(expressions=[exp.func("MAP_VALUES", entries.copy())]), value, quoted=True))
        unnest.replace(exp.Subquery(this=rows, alias=alias.copy()))
    return tree


def bigint_sequences(tree: exp.Expr) -> exp.Expr:
    """``sequence(1, 3)`` is ``array(bigint)`` in Trino; Spark keeps int bounds as int."""
    for node in list(tree.find_all(exp.GenerateSeries)):
        for key in ("start", "end"):
            bound = node.args.get(key)
            if bound is not None and pending([bound], "bigint_bound") and _integer_type(bound) not in (None, T.BIGINT):
                wrap_cast(bound, T.BIGINT)
    return tree


def regexp_backreferences(tree: exp.Expr) -> exp.Expr:
    """DuckDB: Trino's ``$1`` in a ``regexp_replace`` replacement is RE2's ``\\1``."""
    for node in list(tree.find_all(exp.RegexpReplace)):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal) and replacement.is_string and "$" in replacement.name:
            text = re.sub(r"\$(\d)", r"\\\1", replacement.name)
            replacement.replace(exp.Literal.string(text))
    return tree


def _lambda_call(lam: exp.Expr, argument: exp.Expr) -> exp.Expr:
    """The body of a one-parameter lambda with its parameter replaced by ``argument``."""
    if not isinstance(lam, exp.Lambda) or len(lam.expressions) != 1:
        raise ValueError("reduce's output function must be a one-argument lambda")
    name = lam.expressions[0].name

    def is_parameter(node: exp.Expr) -> bool:  # sqlglot parses lambda parameters as bare identifiers
        if isinstance(node, exp.Column):
            return not node.table and node.name == name
        return isinstance(node, exp.Identifier) and node.name == name and not isinstance(node.parent, exp.Column)

    body = lam.this.copy()
    if is_parameter(body):
        return argument.copy()
    for node in [n for n in body.find_all(exp.Column, exp.Identifier) if is_parameter(n)]:
        node.replace(argument.copy())
    return body


def reduce_finish(tree: exp.Expr) -> exp.Expr:
    """DuckDB: ``reduce(a, init, f, finish)`` applies ``finish`` to ``list_reduce`` (which has no such argument).

    Run on the parsed tree, before qualification: sqlglot's qualifier takes the output
    function's parameter for a table column when one has the same name.
    """
    for node in list(tree.find_all(exp.Reduce)):
        finish = node.args.get("finish")
        if finish is None:
            continue
        node.set("finish", None)
        node.replace(_lambda_call(finish, node.copy()))
    return tree


def grouping_id(tree: exp.Expr) -> exp.Expr:
    """Spark: Trino's ``grouping(a, b, …)`` bit set is Spark's ``grouping_id(a, b, …)`` (its ``grouping`` takes one)."""
    for node in list(tree.find_all(exp.Grouping)):
        if len(node.expressions) > 1:
            node.replace(exp.Anonymous(this="GROUPING_ID", expressions=[e.copy() for e in node.expressions]))
    return tree


def match_functions(tree: exp.Expr, engine: str) -> exp.Expr:
    """``any_match`` / ``all_match`` / ``none_match``: Spark's ``exists`` / ``forall``, DuckDB's list aggregates.

    On DuckDB a predicate that is NULL for some elements counts as not matching (Trino would
    answer NULL when no element decides the result).
    """
    for node in list(tree.find_all(exp.Anonymous)):
        name = node.name.upper()
        if name not in ("ANY_MATCH", "ALL_MATCH", "NONE_MATCH") or len(node.expressions) != 2:
            continue
        array, lam = (e.copy() for e in node.expressions)
        if engine == "spark":
            call: exp.Expression = exp.Anonymous(this="FORALL" if name == "ALL_MATCH" else "EXISTS",
                                                 expressions=[array, lam])
        else:  # an empty array matches all and none; a NULL array answers NULL
            aggregate = "LIST_BOOL_AND" if name == "ALL_MATCH" else "LIST_BOOL_OR"
            empty = exp.true() if name == "ALL_MATCH" else exp.false()
            is_empty = exp.EQ(this=exp.ArraySize(this=array.copy()), expression=exp.Literal.number(0))
            call = exp.case().when(is_empty, empty).else_(exp.func(aggregate, exp.func("LIST_TRANSFORM", array, lam)))
        node.replace(exp.Not(this=exp.paren(call)) if name == "NONE_MATCH" else call)
    return tree
