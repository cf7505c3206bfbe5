"""Conformance: Trino SQL gives Trino's values *and* Trino's result types on DuckDB and on Spark SQL.

One small catalog table (every type the lake stores, NULLs in every column) is queried
through the one translator on both engines: DuckDB through the query layer (``run_query``),
Spark through :func:`lakeglue.query.spark_sql.spark_sql` (the same catalog checks and
``translate``). Each case is Trino SQL with the rows and the column types Trino answers;
the expected values follow Trino's documentation and source, not what either engine
happens to return (e.g. ``NULLS LAST`` by default for ASC and DESC, ``sql/select.md``;
decimal result types from ``functions/decimal.md`` / ``DecimalOperators``; ``avg(decimal(p,s))``
is ``decimal(p,s)``, ``DecimalAverageAggregation``; casts to integers round ``HALF_UP``).
Types are named as Athena reports them (``timestamp`` for the catalog's timestamp columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lakeglue.catalog import Column
from lakeglue.query import QueryError
from lakeglue.query.materialize import trino_of_hive
from tests.unit.test_query import Env

D = Decimal
COLUMNS = (Column("id", "bigint"), Column("i", "int"), Column("s", "string"), Column("d", "decimal(12,2)"),
           Column("f", "double"), Column("dt", "date"), Column("ts", "timestamp"), Column("arr", "array<int>"),
           Column("m", "map<string,int>"), Column("st", "struct<a:int,b:string>"), Column("g", "string"))


def conf_table() -> pa.Table:
    """Five rows; row 4 is NULL in every column but id (and a struct with a NULL field)."""
    return pa.table({
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "i": pa.array([7, -7, 0, None, 3], pa.int32()),
        "s": pa.array(["Hello", "wOrld", "", None, "a,b,c"]),
        "d": pa.array([D("10.50"), D("-5.25"), D("0.00"), None, D("100.10")], pa.decimal128(12, 2)),
        "f": pa.array([1.5, -2.25, 0.0, None, 2.5]),
        "dt": pa.array([date(2024, 2, 29), date(2026, 11, 1), date(2025, 12, 31), None, date(2026, 1, 5)],
                       pa.date32()),
        "ts": pa.array([datetime(2024, 2, 29, 13, 45, 30, 123000), datetime(2026, 11, 1),
                        datetime(2025, 12, 31, 23, 59, 59), None, datetime(2026, 1, 5, 6, 7, 8)], pa.timestamp("us")),
        "arr": pa.array([[3, 1, 2], [], [5], None, [1, 1]], pa.list_(pa.int32())),
        "m": pa.array([[("a", 1), ("b", 2)], [], [("c", 3)], None, [("a", 9)]], pa.map_(pa.string(), pa.int32())),
        "st": pa.array([{"a": 1, "b": "x"}, {"a": 2, "b": None}, None, {"a": None, "b": "z"}, {"a": 5, "b": "w"}],
                       pa.struct([("a", pa.int32()), ("b", pa.string())])),
        "g": pa.array(["x", "y", "x", None, "y"]),
    })


@dataclass(frozen=True)
class Case:
    name: str
    sql: str
    types: list[str]
    rows: list[tuple[Any, ...]]


CASES = [
    # -- numbers --------------------------------------------------------------------------------
    Case("integer division truncates and keeps the integer type",
         "SELECT i / 2, id / 2, i % 2, -7 / 2, id / i FROM conf.t WHERE id = 2",
         ["integer", "bigint", "integer", "integer", "bigint"], [(-3, 1, -1, -3, 0)]),
    Case("casts to integers round half up",
         "SELECT id, CAST(d AS integer), CAST(f AS bigint), CAST(2.5 AS integer), CAST(-2.5 AS integer) "
         "FROM conf.t ORDER BY id",
         ["bigint", "integer", "bigint", "integer", "integer"],
         [(1, 11, 2, 3, -3), (2, -5, -2, 3, -3), (3, 0, 0, 3, -3), (4, None, None, 3, -3), (5, 100, 3, 3, -3)]),
    Case("varchar to integer only takes integer text",
         "SELECT TRY_CAST('3.5' AS integer), TRY_CAST(' 12' AS integer), TRY_CAST('-12' AS integer), "
         "CAST('12' AS bigint), TRY_CAST('x' AS double), CAST(1.50 AS varchar), CAST(d AS double) "
         "FROM conf.t WHERE id = 1",
         ["integer", "integer", "integer", "bigint", "double", "varchar", "double"],
         [(None, None, -12, 12, None, "1.50", 10.5)]),
    Case("decimal arithmetic has Trino's precision and scale",
         "SELECT d + d, d * d, d / 3, d * 2, d + 1, d * 1.5, d / 0.3 FROM conf.t WHERE id = 1",
         ["decimal(13,2)", "decimal(24,4)", "decimal(12,2)", "decimal(22,2)", "decimal(13,2)", "decimal(14,3)",
          "decimal(13,2)"],
         [(D("21.00"), D("110.2500"), D("3.50"), D("21.00"), D("11.50"), D("15.750"), D("35.00"))]),
    Case("sum and avg of decimals, integers and doubles",
         "SELECT sum(d), avg(d), avg(i), sum(i), min(d), avg(f) FROM conf.t",
         ["decimal(38,2)", "decimal(12,2)", "double", "bigint", "decimal(12,2)", "double"],
         [(D("105.35"), D("26.34"), 0.75, 3, D("-5.25"), 0.4375)]),
    Case("arithmetic on decimal sums and CASE branches has Trino's types (TPC-H Q8, Q14)",
         "SELECT sum(d) - sum(i), sum(d * d) - sum(d), "
         "100.00 * sum(CASE WHEN d > 0 THEN d * d ELSE 0 END) / sum(d * d) FROM conf.t",
         ["decimal(38,2)", "decimal(38,4)", "decimal(38,6)"],
         [(D("102.35"), D("10052.4725"), D("99.728657"))]),
    Case("a CTE's decimal sum keeps Trino's type in the outer query",
         "WITH x AS (SELECT g, sum(d * d) AS sq FROM conf.t GROUP BY g) "
         "SELECT g, sq, sum(sq) OVER (), sq / 4 FROM x ORDER BY 1",
         ["varchar", "decimal(38,4)", "decimal(38,4)", "decimal(38,4)"],
         [("x", D("110.2500"), D("10157.8225"), D("27.5625")), ("y", D("10047.5725"), D("10157.8225"), D("2511.8931")),
          (None, None, D("10157.8225"), None)]),
    Case("approx_distinct is exact on small data",
         "SELECT approx_distinct(g), approx_distinct(id), count(DISTINCT g) FROM conf.t",
         ["bigint", "bigint", "bigint"], [(2, 5, 2)]),
    # -- windows --------------------------------------------------------------------------------
    Case("ranking functions are bigint, distributions double",
         "SELECT id, row_number() OVER (ORDER BY id), rank() OVER (ORDER BY g), dense_rank() OVER (ORDER BY g), "
         "ntile(2) OVER (ORDER BY id), percent_rank() OVER (ORDER BY id), cume_dist() OVER (ORDER BY id), "
         "count(*) OVER (PARTITION BY g) FROM conf.t ORDER BY id",
         ["bigint", "bigint", "bigint", "bigint", "bigint", "double", "double", "bigint"],
         [(1, 1, 1, 1, 1, 0.0, 0.2, 2), (2, 2, 3, 2, 1, 0.25, 0.4, 2), (3, 3, 1, 1, 1, 0.5, 0.6, 2),
          (4, 4, 5, 3, 2, 0.75, 0.8, 1), (5, 5, 3, 2, 2, 1.0, 1.0, 2)]),
    Case("window ORDER BY puts NULLs last both ways; lag default; running decimal sum",
         "SELECT id, rank() OVER (ORDER BY i), rank() OVER (ORDER BY i DESC), lag(i, 1, 0) OVER (ORDER BY id), "
         "sum(d) OVER (PARTITION BY g ORDER BY id) FROM conf.t ORDER BY id",
         ["bigint", "bigint", "bigint", "integer", "decimal(38,2)"],
         [(1, 4, 1, 0, D("10.50")), (2, 1, 4, 7, D("-5.25")), (3, 2, 3, -7, D("10.50")), (4, 5, 5, 0, None),
          (5, 3, 2, None, D("94.85"))]),
    # -- ordering -------------------------------------------------------------------------------
    Case("NULLS LAST by default ascending", "SELECT g FROM conf.t ORDER BY g",
         ["varchar"], [("x",), ("x",), ("y",), ("y",), (None,)]),
    Case("NULLS LAST by default descending", "SELECT i FROM conf.t ORDER BY i DESC",
         ["integer"], [(7,), (3,), (0,), (-7,), (None,)]),
    Case("explicit NULLS FIRST", "SELECT i FROM conf.t ORDER BY i NULLS FIRST",
         ["integer"], [(None,), (-7,), (0,), (3,), (7,)]),
    Case("ORDER BY an aggregate that is an unnamed select item",
         "SELECT g, SUM(i) FROM conf.t GROUP BY g ORDER BY SUM(i) DESC",
         ["varchar", "bigint"], [("x", 7), ("y", -4), (None, None)]),
    Case("ORDER BY and GROUP BY positions",
         "SELECT g, SUM(i) FROM conf.t GROUP BY 1 ORDER BY 2 DESC, 1",
         ["varchar", "bigint"], [("x", 7), ("y", -4), (None, None)]),
    Case("ORDER BY an aggregate not selected, then a position",
         "SELECT g, sum(d) FROM conf.t GROUP BY g ORDER BY count(*) DESC, 2 DESC",
         ["varchar", "decimal(38,2)"], [("y", D("94.85")), ("x", D("10.50")), (None, None)]),
    # -- dates and times ------------------------------------------------------------------------
    Case("date functions keep dates and answer bigints",
         "SELECT date_trunc('month', dt), date_trunc('week', dt), date_add('month', 1, dt), "
         "date_diff('day', dt, DATE '2026-12-31'), date_diff('month', dt, DATE '2026-12-31'), day_of_week(dt), "
         "day_of_year(dt), week(dt), quarter(dt), year(dt), month(dt), day(dt) FROM conf.t WHERE id = 1",
         ["date", "date", "date"] + ["bigint"] * 9,
         [(date(2024, 2, 1), date(2024, 2, 26), date(2024, 3, 29), 1036, 34, 4, 60, 9, 1, 2024, 2, 29)]),
    Case("extract and time fields; day of week is ISO (Monday 1, Sunday 7)",
         "SELECT id, extract(year FROM dt), extract(hour FROM ts), hour(ts), minute(ts), second(ts), "
         "extract(dow FROM dt), dow(dt), last_day_of_month(dt) FROM conf.t WHERE id IN (1, 2) ORDER BY id",
         ["bigint"] * 8 + ["date"],
         [(1, 2024, 13, 13, 45, 30, 4, 4, date(2024, 2, 29)), (2, 2026, 0, 0, 0, 0, 7, 7, date(2026, 11, 30))]),
    Case("intervals, date_add on timestamps, formatting and parsing",
         "SELECT dt + INTERVAL '1' DAY, dt - INTERVAL '1' MONTH, ts + INTERVAL '2' HOUR, date_trunc('hour', ts), "
         "date_add('hour', 3, ts), CAST(ts AS date), date_format(ts, '%Y-%m-%d %H:%i:%s'), "
         "date_parse('2026-01-02 03:04:05', '%Y-%m-%d %H:%i:%s'), from_iso8601_date('2026-03-04') "
         "FROM conf.t WHERE id = 1",
         ["date", "date", "timestamp", "timestamp", "timestamp", "date", "varchar", "timestamp", "date"],
         [(date(2024, 3, 1), date(2024, 1, 29), datetime(2024, 2, 29, 15, 45, 30, 123000),
           datetime(2024, 2, 29, 13), datetime(2024, 2, 29, 16, 45, 30, 123000), date(2024, 2, 29),
           "2024-02-29 13:45:30", datetime(2026, 1, 2, 3, 4, 5), date(2026, 3, 4))]),
    # -- strings --------------------------------------------------------------------------------
    Case("string functions",
         "SELECT length(s), upper(s), lower(s), substr(s, 2, 3), substr(s, -3), strpos(s, 'l'), "
         "replace(s, 'l', 'L'), reverse(s), lpad(s, 7, '*'), rpad(s, 7, '*'), trim('  x '), concat(s, '!'), "
         "s || '?', split(s, 'l'), split_part('a,b,c', ',', 2), starts_with(s, 'He'), position('l' IN s) "
         "FROM conf.t WHERE id = 1",
         ["bigint", "varchar", "varchar", "varchar", "varchar", "bigint", "varchar", "varchar", "varchar", "varchar",
          "varchar", "varchar", "varchar", "array(varchar)", "varchar", "boolean", "bigint"],
         [(5, "HELLO", "hello", "ell", "llo", 3, "HeLLo", "olleH", "**Hello", "Hello**", "x", "Hello!", "Hello?",
           ["He", "", "o"], "b", True, 3)]),
    Case("regular expressions, with $n back-references",
         "SELECT regexp_extract(s, 'l+'), regexp_extract('abc123def', '([a-z]+)([0-9]+)', 2), regexp_like(s, '^H'), "
         "regexp_replace(s, 'l', '_'), regexp_replace('abc123', '([a-z]+)([0-9]+)', '$2-$1'), "
         "regexp_extract_all('a1b22c333', '[0-9]+'), regexp_count('a1b22', '[0-9]') FROM conf.t WHERE id = 1",
         ["varchar", "varchar", "boolean", "varchar", "varchar", "array(varchar)", "bigint"],
         [("ll", "123", True, "He__o", "123-abc", ["1", "22", "333"], 3)]),
    # -- arrays, maps, structs, lambdas ---------------------------------------------------------
    Case("array functions; array_distinct keeps first occurrences in order",
         "SELECT id, cardinality(arr), element_at(arr, 1), contains(arr, 1), array_sort(arr), array_distinct(arr), "
         "array_max(arr), array_join(arr, '-'), slice(arr, 1, 2), sequence(1, 3), array_position(arr, 1), arr[1] "
         "FROM conf.t WHERE id IN (1, 5) ORDER BY id",
         ["bigint", "bigint", "integer", "boolean", "array(integer)", "array(integer)", "integer", "varchar",
          "array(integer)", "array(bigint)", "bigint", "integer"],
         [(1, 3, 3, True, [1, 2, 3], [3, 1, 2], 3, "3-1-2", [3, 1], [1, 2, 3], 2, 3),
          (5, 2, 1, True, [1, 1], [1], 1, "1-1", [1, 1], [1, 2, 3], 1, 1)]),
    Case("maps and structs",
         "SELECT id, element_at(m, 'a'), map_keys(m), map_values(m), cardinality(m), st.a, st.b, m['a'] "
         "FROM conf.t WHERE id IN (1, 5) ORDER BY id",
         ["bigint", "integer", "array(varchar)", "array(integer)", "bigint", "integer", "varchar", "integer"],
         [(1, 1, ["a", "b"], [1, 2], 2, 1, "x", 1), (5, 9, ["a"], [9], 1, 5, "w", 9)]),
    Case("UNNEST WITH ORDINALITY counts from 1 as a bigint",
         "SELECT t.id, u.x, u.n FROM conf.t AS t CROSS JOIN UNNEST(t.arr) WITH ORDINALITY AS u(x, n) "
         "ORDER BY t.id, u.n",
         ["bigint", "integer", "bigint"], [(1, 3, 1), (1, 1, 2), (1, 2, 3), (3, 5, 1), (5, 1, 1), (5, 1, 2)]),
    Case("UNNEST of a map gives key and value columns",
         "SELECT t.id, u.k, u.v FROM conf.t AS t CROSS JOIN UNNEST(t.m) AS u(k, v) ORDER BY t.id, u.k",
         ["bigint", "varchar", "integer"], [(1, "a", 1), (1, "b", 2), (3, "c", 3), (5, "a", 9)]),
    Case("lambdas: transform, filter, reduce with an output function, matches",
         "SELECT id, transform(arr, x -> x * 2), filter(arr, x -> x > 1), "
         "reduce(arr, 0, (s, x) -> s + x, s -> s * 10), any_match(arr, x -> x > 2), all_match(arr, x -> x > 0), "
         "none_match(arr, x -> x > 4) "
         "FROM conf.t WHERE id <> 3 ORDER BY id",
         ["bigint", "array(integer)", "array(integer)", "integer", "boolean", "boolean", "boolean"],
         [(1, [6, 2, 4], [3, 2], 60, True, True, True), (2, [], [], 0, False, True, True),
          (4, None, None, None, None, None, None), (5, [2, 2], [], 20, False, True, True)]),
    # -- grouping -------------------------------------------------------------------------------
    Case("GROUPING SETS with grouping()",
         "SELECT g, count(*), grouping(g) FROM conf.t GROUP BY GROUPING SETS ((g), ()) ORDER BY 3, 1",
         ["varchar", "bigint", "bigint"], [("x", 2, 0), ("y", 2, 0), (None, 1, 0), (None, 5, 1)]),
    Case("ROLLUP with a two-column grouping() bit set",
         "SELECT g, dt, sum(i), grouping(g, dt) FROM conf.t WHERE id < 4 GROUP BY ROLLUP (g, dt) ORDER BY 1, 2, 4",
         ["varchar", "date", "bigint", "bigint"],
         [("x", date(2024, 2, 29), 7, 0), ("x", date(2025, 12, 31), 0, 0), ("x", None, 7, 1),
          ("y", date(2026, 11, 1), -7, 0), ("y", None, -7, 1), (None, None, 0, 3)]),
    Case("CUBE", "SELECT g, s, count(*) FROM conf.t WHERE id IN (1, 2) GROUP BY CUBE (g, s) ORDER BY 1, 2, 3",
         ["varchar", "varchar", "bigint"],
         [("x", "Hello", 1), ("x", None, 1), ("y", "wOrld", 1), ("y", None, 1), (None, "Hello", 1),
          (None, "wOrld", 1), (None, None, 2)]),
    # -- subqueries -----------------------------------------------------------------------------
    Case("correlated scalar subquery",
         "SELECT id, (SELECT count(*) FROM conf.t AS u WHERE u.g = t.g AND u.id < t.id) AS before "
         "FROM conf.t AS t ORDER BY id",
         ["bigint", "bigint"], [(1, 0), (2, 0), (3, 1), (4, 0), (5, 1)]),
    Case("correlated EXISTS",
         "SELECT id FROM conf.t AS t WHERE EXISTS (SELECT 1 FROM conf.t AS u WHERE u.g = t.g AND u.id > t.id) "
         "ORDER BY id", ["bigint"], [(1,), (2,)]),
    Case("IN subquery and a CTE",
         "WITH top AS (SELECT max(i) AS i FROM conf.t GROUP BY g) SELECT id FROM conf.t WHERE i IN (SELECT i FROM top) "
         "ORDER BY id", ["bigint"], [(1,), (5,)]),
]

ENGINES = [pytest.param("duckdb", id="duckdb"),
           pytest.param("spark", id="spark", marks=[pytest.mark.spark, pytest.mark.slow])]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = Env(tmp_path_factory.mktemp("conformance"))
    env.register("conf", "t", env.write_parquet(("conf", "t"), conf_table()), COLUMNS)
    return env


def run(engine: str, request: pytest.FixtureRequest, lake: Env, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column types (Trino names) and rows of ``sql`` on ``engine``, through the one translator."""
    if engine == "duckdb":
        result = lake.run(sql)
        return result.types, result.rows
    from lakeglue.query.spark_sql import spark_sql

    frame = spark_sql(request.getfixturevalue("spark"), sql, lake.catalog)
    return [trino_of_hive(f.dataType.simpleString()) for f in frame.schema.fields], [tuple(r) for r in frame.collect()]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_trino_values_and_types(engine: str, case: Case, request: pytest.FixtureRequest, lake: Env) -> None:
    types, rows = run(engine, request, lake, case.sql)
    assert rows == case.rows
    assert types == case.types


@pytest.mark.parametrize("engine", ENGINES)
def test_cast_of_non_integer_text_fails_as_in_trino(engine: str, request: pytest.FixtureRequest, lake: Env) -> None:
    with pytest.raises(Exception, match=r"Cannot cast 'Hello' to INT") as raised:
        run(engine, request, lake, "SELECT CAST(s AS integer) FROM conf.t WHERE id = 1")
    if engine == "duckdb":
        assert raised.type is QueryError


def test_ctas_stores_trino_types_and_values(lake: Env) -> None:
    """CTAS runs its SELECT through the same translator: the catalog gets Trino's column types."""
    lake.run("CREATE TABLE conf.ctas_types AS SELECT id, i / 2 AS half, d * d AS sq, sum(i) OVER () AS total, "
             "day_of_week(dt) AS dow FROM conf.t WHERE id IN (1, 2)")
    table = lake.catalog.get_table("conf", "ctas_types")
    assert [(c.name, c.type) for c in table.all_columns()] == [
        ("id", "bigint"), ("half", "int"), ("sq", "decimal(24,4)"), ("total", "bigint"), ("dow", "bigint")]
    assert lake.run("SELECT * FROM conf.ctas_types ORDER BY id").rows == [
        (1, 3, D("110.2500"), 0, 4), (2, -3, D("27.5625"), 0, 7)]
