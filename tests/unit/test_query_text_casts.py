"""CTAS over a CSV table: narrowing decimal casts parsed straight from the text give the same table.

Real DuckDB, real CSV files, the real SQLite catalog. The fused path (lakeglue.query.text_casts)
must give exactly what the plain view path gives: values, NULLs, counted unparsed values, and
the CAST's failure on a value too wide for the target.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_query import Env

from lakeglue.catalog import Column
from lakeglue.query import QueryError, duckdb_engine
from lakeglue.query.duckdb_tables import list_table_files
from lakeglue.query.text_casts import fuse_text_casts
from lakeglue.query.text_tables import UnparsedCounter
from lakeglue.records import NULL_MARKERS_PARAM

ROWS = "id,price,rate,note\n1,1.50,0.125,a\n2,abc,0.5,b\n3,,1,c\n4,2.345,x,d\n5,-7,2.25,e\n6,N/A,0.1,f\n"
COLUMNS = (Column("id", "bigint"), Column("price", "decimal(38,2)"), Column("rate", "decimal(38,3)"),
           Column("note", "string"))
SELECT = ("SELECT id, CAST(price AS decimal(15,2)) AS price, CAST(rate AS decimal(10,3)) AS rate, "
          "CAST(rate AS decimal(12,2)) AS rate2, note FROM shop_raw.items")


@pytest.fixture
def env(tmp_path: Path) -> Env:
    e = Env(tmp_path)
    e.catalog.ensure_database("shop_gold")
    return e


def items(env: Env, text: str = ROWS) -> None:
    raw = Path(env.lake.path("raw", "shop", "items"))
    raw.mkdir(parents=True)
    (raw / "items.csv").write_text(text)
    env.register("shop_raw", "items", str(raw), COLUMNS, classification="csv",
                 parameters={"skip.header.line.count": "1", NULL_MARKERS_PARAM: '["N/A"]'})


def test_ctas_with_narrowing_decimal_casts_equals_the_query_and_counts_the_same_values(env: Env) -> None:
    items(env)
    expected = env.run(SELECT + " ORDER BY id")  # a plain query: the view path, never fused
    res = env.run(f"CREATE TABLE shop_gold.items AS {SELECT}")
    assert res.rows == [(6,)]
    assert env.run("SELECT * FROM shop_gold.items ORDER BY id").rows == expected.rows == [
        (1, Decimal("1.50"), Decimal("0.125"), Decimal("0.13"), "a"),
        (2, None, Decimal("0.500"), Decimal("0.50"), "b"),
        (3, None, Decimal("1.000"), Decimal("1.00"), "c"),
        (4, Decimal("2.35"), None, None, "d"),
        (5, Decimal("-7.00"), Decimal("2.250"), Decimal("2.25"), "e"),
        (6, None, Decimal("0.100"), Decimal("0.10"), "f")]
    # 'abc' and 'x' did not parse (twice: rate is read for two columns); '' and the marker are NULLs
    counted = {(u["column"], u["values"]) for u in res.stats["unparsed_values"]}
    assert counted == {(u["column"], u["values"]) for u in expected.stats["unparsed_values"]}
    assert {c for c, _ in counted} == {"price", "rate"}
    assert [(c.name, c.type) for c in env.catalog.get_table("shop_gold", "items").columns] == [
        ("id", "bigint"), ("price", "decimal(15,2)"), ("rate", "decimal(10,3)"), ("rate2", "decimal(12,2)"),
        ("note", "string")]


def test_a_value_too_wide_for_the_cast_still_fails_the_ctas(env: Env) -> None:
    items(env, "id,price,rate,note\n1,1.50,0.1,a\n2,12345678901234567.25,0.1,b\n")
    with pytest.raises(QueryError, match="duckdb could not run the query"):
        env.run("CREATE TABLE shop_gold.items AS SELECT id, CAST(price AS decimal(15,2)) AS price FROM shop_raw.items")
    assert not env.catalog.table_exists("shop_gold", "items")


def fused(env: Env, sql: str) -> str:
    table = env.catalog.get_table("shop_raw", "items")
    return fuse_text_casts(sql, {("shop_raw", "items"): list_table_files(table, env.catalog)}, duckdb.connect(),
                           UnparsedCounter())


FROM = ' FROM "shop_raw"."items" AS "i"'


@pytest.mark.parametrize("sql", [
    # same scale, narrower: parsed from the text
    'SELECT CAST("i"."price" AS DECIMAL(15, 2)) AS "p"' + FROM,
    'SELECT "i"."id" AS "id", CAST("i"."price" AS DECIMAL(18, 2)) AS "p"' + FROM + ' WHERE "i"."id" > 1',
])
def test_narrowing_casts_of_a_column_used_once_are_fused(env: Env, sql: str) -> None:
    items(env)
    out = fused(env, sql)
    assert 'coalesce(TRY_CAST("i"."price" AS DECIMAL(' in out
    assert "read_csv(" in out and '"shop_raw"."items"' not in out


@pytest.mark.parametrize("sql", [
    'SELECT CAST("i"."price" AS DECIMAL(15, 3)) AS "p"' + FROM,  # another scale: rounding could differ
    'SELECT CAST("i"."price" AS DOUBLE) AS "p"' + FROM,
    'SELECT TRY_CAST("i"."price" AS DECIMAL(15, 2)) AS "p"' + FROM,
    'SELECT CAST("i"."price" AS DECIMAL(15, 2)) AS "p"' + FROM + ' WHERE "i"."price" > 1',  # used twice
    'SELECT CAST("i"."price" AS DECIMAL(15, 2)) AS "p"' + FROM + ' JOIN "shop_raw"."items" AS "j" ON true',
    'SELECT CAST("i"."price" AS DECIMAL(15, 2)) AS "p"' + FROM + ' WHERE "i"."id" IN (SELECT 1)',
])
def test_other_shapes_are_left_alone(env: Env, sql: str) -> None:
    items(env)
    assert fused(env, sql) == sql


def test_a_fused_ctas_keeps_the_rest_of_the_query_as_translated(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    items(env)
    select = ("SELECT id, upper(note) AS u, CAST(price AS decimal(15,2)) AS price, "
              "date_add('day', id, DATE '2026-01-01') AS d, regexp_like(note, '[a-c]') AS r, "
              "transform(ARRAY[1, 2], x -> x + id) AS t, CASE WHEN id > ? THEN 'big' ELSE 'small' END AS size "
              "FROM shop_raw.items WHERE note <> 'z' AND id < 6")
    expected = env.run(select + " ORDER BY id", [2])
    rewritten = []

    def spy(sql: str, *args: Any) -> str:
        out = fuse_text_casts(sql, *args)
        rewritten.append(out != sql)
        return out

    monkeypatch.setattr(duckdb_engine, "fuse_text_casts", spy)
    env.run(f"CREATE TABLE shop_gold.items AS {select}", [2])
    assert rewritten == [True]
    assert env.run("SELECT * FROM shop_gold.items ORDER BY id").rows == expected.rows
    assert len(expected.rows) == 5
