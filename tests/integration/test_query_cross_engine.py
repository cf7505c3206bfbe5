"""Acceptance: the same SQL gives the same results on DuckDB (the query layer) and on Spark SQL, over the same catalog.

Small silver tables are written with pyarrow into a throwaway lake and registered (with
their partitions) in a SQLite catalog. Every SQL file in ``include/sql`` runs on both
engines: on DuckDB through ``run_query``, on Spark exactly the way the gold job runs it
(``read_table`` temp views + the one translator, ``lakeglue.sql.translate``) and
through ``lakeglue.query.spark_sql`` (the query layer's catalog checks, same translator).
``queries/*.sql`` read a gold table that the query layer builds with CTAS from the gold
SQL — so the SQL-built gold table is compared too. The dialect features users rely on
run on both engines and are checked against values worked out by hand from Trino's
documented semantics (tests/integration/test_sql_conformance.py has the full suite).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lakeglue.catalog import Column
from lakeglue.jobs.spark.catalog_io import read_table
from lakeglue.query import run_query_file
from lakeglue.query.materialize import trino_of_hive
from lakeglue.query.spark_sql import spark_sql
from lakeglue.settings import SQL_DIR
from lakeglue.sql import translate
from lakeglue.sql_dialect import referenced_tables
from tests.unit.test_query import Env

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(5)]
GOLD_FILES = sorted(p.relative_to(SQL_DIR).as_posix() for p in (SQL_DIR / "gold").glob("*.sql"))
QUERY_FILES = sorted(p.relative_to(SQL_DIR).as_posix() for p in (SQL_DIR / "queries").glob("*.sql"))


def silver_tables(rng: random.Random) -> dict[str, tuple[pa.Table, tuple[Column, ...], str | None]]:
    """Seeded silver data with the awkward cases the gold SQL handles: cancellations, unknown products,
    products without a category, customers without orders, missing emails and countries."""
    customers = pa.table({
        "customer_id": pa.array(range(1, 31), pa.int64()),
        "name": [f"customer {i}" for i in range(1, 31)],
        "email": [None if i % 7 == 0 else f"c{i}@example.com" for i in range(1, 31)],
        "country": [None if i % 9 == 0 else rng.choice(["DE", "FR", "US"]) for i in range(1, 31)],
        "signup_date": pa.array([date(2026, 10, 1) + timedelta(days=i) for i in range(30)], pa.date32()),
    })
    products = pa.table({
        "product_id": pa.array(range(1, 13), pa.int64()),
        "name": [f"product {i}" for i in range(1, 13)],
        "category": [None if i == 12 else ["books", "toys", "games"][i % 3] for i in range(1, 13)],
        "list_price": pa.array([Decimal(f"{i * 3}.99") for i in range(1, 13)], pa.decimal128(12, 2)),
    })
    orders: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for order_id in range(1, 121):
        day = rng.choice(DAYS)
        ts = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60))
        status = rng.choice(["placed", "shipped", "shipped", "cancelled"])
        orders.append({"order_id": order_id, "customer_id": rng.randint(1, 27), "order_ts": ts, "updated_at": ts,
                       "status": status, "channel": rng.choice(["web", "app"]), "dt": day})
        for line_no in range(1, rng.randint(1, 3) + 1):
            price = Decimal(f"{rng.randint(1, 40)}.{rng.randint(0, 99):02d}")
            items.append({"order_id": order_id, "line_no": line_no, "product_id": rng.randint(1, 14),
                          "quantity": rng.randint(1, 5), "unit_price": price, "status": status, "updated_at": ts,
                          "dt": day})
    order_schema = pa.schema([("order_id", pa.int64()), ("customer_id", pa.int64()), ("order_ts", pa.timestamp("us")),
                              ("updated_at", pa.timestamp("us")), ("status", pa.string()), ("channel", pa.string()),
                              ("dt", pa.date32())])
    item_schema = pa.schema([("order_id", pa.int64()), ("line_no", pa.int32()), ("product_id", pa.int64()),
                             ("quantity", pa.int32()), ("unit_price", pa.decimal128(12, 2)), ("status", pa.string()),
                             ("updated_at", pa.timestamp("us")), ("dt", pa.date32())])
    return {
        "customers": (customers, (Column("customer_id", "bigint"), Column("name", "string"), Column("email", "string"),
                                  Column("country", "string"), Column("signup_date", "date")), None),
        "products": (products, (Column("product_id", "bigint"), Column("name", "string"),
                                Column("category", "string"), Column("list_price", "decimal(12,2)")), None),
        "orders": (pa.Table.from_pylist(orders, order_schema), (
            Column("order_id", "bigint"), Column("customer_id", "bigint"), Column("order_ts", "timestamp"),
            Column("updated_at", "timestamp"), Column("status", "string"), Column("channel", "string")), "dt"),
        "order_items": (pa.Table.from_pylist(items, item_schema), (
            Column("order_id", "bigint"), Column("line_no", "int"), Column("product_id", "bigint"),
            Column("quantity", "int"), Column("unit_price", "decimal(12,2)"), Column("status", "string"),
            Column("updated_at", "timestamp")), "dt"),
    }


def events() -> pa.Table:
    return pa.table({
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "tags": pa.array([["a", "b"], [], ["b"], None, ["c", "a"]], pa.list_(pa.string())),
        "amount": pa.array([Decimal("10.50"), Decimal("5.00"), Decimal("20.25"), None, Decimal("7.75")],
                           pa.decimal128(12, 2)),
        "ts": pa.array([datetime(2026, 11, 1, 9), datetime(2026, 11, 1, 23, 59, 59), datetime(2026, 11, 2),
                        datetime(2026, 11, 3, 12, 30), datetime(2026, 12, 31, 23)], pa.timestamp("us")),
        "txt": ["12", "x", "007", None, "3.5"],
        "dt": pa.array([date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3),
                        date(2026, 12, 31)], pa.date32()),
    })


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = Env(tmp_path_factory.mktemp("cross_engine"))
    for name, (data, columns, partition) in silver_tables(random.Random(8)).items():
        root = env.write_parquet(("silver", name), data, partition_by=partition)
        keys = (Column(partition, "date"),) if partition else ()
        env.register("ecommerce_silver", name, root, columns, partition_keys=keys)
    env.catalog.ensure_database("ecommerce_gold")
    root = env.write_parquet(("lab", "events"), events(), partition_by="dt")
    env.register("lab", "events", root, (Column("id", "bigint"), Column("tags", "array<string>"),
                                        Column("amount", "decimal(12,2)"), Column("ts", "timestamp"),
                                        Column("txt", "string")), partition_keys=(Column("dt", "date"),))
    return env


def as_gold_job(spark: Any, env: Env, sql: str) -> Any:
    """Spark SQL exactly as jobs/spark/gold.py runs a gold file: temp views + the one translator."""
    for database, name in referenced_tables(sql):
        read_table(spark, env.catalog, database or "ecommerce_silver", name).createOrReplaceTempView(
            f"{database or 'ecommerce_silver'}__{name}")
    return spark.sql(translate(sql, "spark", env.catalog, database="ecommerce_silver",
                               relation=lambda d, n: f"{d}__{n}"))


def rows_and_types(frame: Any) -> tuple[list[tuple[Any, ...]], list[str]]:
    types = [trino_of_hive(f.dataType.simpleString()) for f in frame.schema.fields]
    return [tuple(r) for r in frame.collect()], types


@pytest.mark.parametrize("path", GOLD_FILES)
def test_gold_sql_files_agree_on_duckdb_and_spark(spark: Any, lake: Env, path: str) -> None:
    sql = (SQL_DIR / path).read_text()
    duck = run_query_file(path, output=None, catalog=lake.catalog, lake=lake.lake, settings=lake.settings)
    assert duck.row_count >= 20, "the data must exercise the SQL"  # 5 days x 4 categories; 30 customers

    job_rows, job_types = rows_and_types(as_gold_job(spark, lake, sql))
    typed_rows, typed_types = rows_and_types(spark_sql(spark, sql, lake.catalog))
    assert job_rows == duck.rows
    assert typed_rows == duck.rows
    assert job_types == typed_types == duck.types


def test_gold_built_with_ctas_feeds_the_query_files_identically(spark: Any, lake: Env) -> None:
    if not lake.catalog.table_exists("ecommerce_gold", "daily_revenue_by_category"):
        lake.run("CREATE TABLE ecommerce_gold.daily_revenue_by_category AS "
                 + (SQL_DIR / "gold" / "daily_revenue_by_category.sql").read_text())
    spark_gold, _ = rows_and_types(as_gold_job(spark, lake, (SQL_DIR / "gold/daily_revenue_by_category.sql")
                                               .read_text()))
    ctas_gold = lake.run("SELECT * FROM ecommerce_gold.daily_revenue_by_category ORDER BY dt, category").rows
    assert ctas_gold == spark_gold  # the SQL-built gold table holds what the Spark gold job computes
    for path in QUERY_FILES:
        duck = run_query_file(path, output=None, catalog=lake.catalog, lake=lake.lake, settings=lake.settings)
        spark_rows, spark_types = rows_and_types(spark_sql(spark, (SQL_DIR / path).read_text(), lake.catalog))
        assert duck.row_count >= 3, path
        assert (spark_rows, spark_types) == (duck.rows, duck.types), path


FEATURES: list[tuple[str, str, list[Any], list[tuple[Any, ...]]]] = [
    ("date functions",
     "SELECT id, date_trunc('month', dt) AS m, date_add('day', 1, dt) AS nd, date_diff('day', dt, DATE '2026-12-31') "
     "AS dd, day_of_week(dt) AS dow, year(dt) AS y, date_format(ts, '%Y-%m-%d %H') AS h FROM lab.events ORDER BY id",
     [], [(1, date(2026, 11, 1), date(2026, 11, 2), 60, 7, 2026, "2026-11-01 09"),
          (2, date(2026, 11, 1), date(2026, 11, 2), 60, 7, 2026, "2026-11-01 23"),
          (3, date(2026, 11, 1), date(2026, 11, 3), 59, 1, 2026, "2026-11-02 00"),
          (4, date(2026, 11, 1), date(2026, 11, 4), 58, 2, 2026, "2026-11-03 12"),
          (5, date(2026, 12, 1), date(2027, 1, 1), 0, 4, 2026, "2026-12-31 23")]),
    ("approx_distinct and friends",
     "SELECT approx_distinct(txt) AS a, count(DISTINCT dt) AS b, count_if(amount > 6) AS c FROM lab.events",
     [], [(4, 4, 3)]),
    ("UNNEST of arrays",
     "SELECT e.id, t.tag FROM lab.events AS e CROSS JOIN UNNEST(e.tags) AS t(tag) ORDER BY e.id, t.tag",
     [], [(1, "a"), (1, "b"), (3, "b"), (5, "a"), (5, "c")]),
    ("UNNEST WITH ORDINALITY counts from 1",
     "SELECT e.id, t.tag, t.n FROM lab.events AS e CROSS JOIN UNNEST(e.tags) WITH ORDINALITY AS t(tag, n) "
     "ORDER BY e.id, t.n",
     [], [(1, "a", 1), (1, "b", 2), (3, "b", 1), (5, "c", 1), (5, "a", 2)]),
    ("CAST, TRY_CAST and integer division",
     "SELECT id, TRY_CAST(txt AS integer) AS i, TRY_CAST(txt AS double) AS d, CAST(amount AS varchar) AS s, "
     "CAST(id AS double) / 4 AS q, id / 2 AS h, CAST(ts AS date) AS cd FROM lab.events ORDER BY id",
     [], [(1, 12, 12.0, "10.50", 0.25, 0, date(2026, 11, 1)), (2, None, None, "5.00", 0.5, 1, date(2026, 11, 1)),
          (3, 7, 7.0, "20.25", 0.75, 1, date(2026, 11, 2)), (4, None, None, None, 1.0, 2, date(2026, 11, 3)),
          (5, None, 3.5, "7.75", 1.25, 2, date(2026, 12, 31))]),
    ("window functions",
     "SELECT id, row_number() OVER (PARTITION BY dt ORDER BY id) AS rn, sum(amount) OVER (ORDER BY id ROWS BETWEEN "
     "UNBOUNDED PRECEDING AND CURRENT ROW) AS run, lag(id) OVER (ORDER BY id) AS prev, rank() OVER (ORDER BY dt) AS r "
     "FROM lab.events ORDER BY id",
     [], [(1, 1, Decimal("10.50"), None, 1), (2, 2, Decimal("15.50"), 1, 1), (3, 1, Decimal("35.75"), 2, 3),
          (4, 1, Decimal("35.75"), 3, 4), (5, 1, Decimal("43.50"), 4, 5)]),
    ("array functions",
     "SELECT id, cardinality(tags) AS n, element_at(tags, 1) AS first_tag, contains(tags, 'a') AS has_a, "
     "array_join(tags, '|') AS j, coalesce(amount, 0) AS amt FROM lab.events ORDER BY id",
     [], [(1, 2, "a", True, "a|b", Decimal("10.50")), (2, 0, None, False, "", Decimal("5.00")),
          (3, 1, "b", False, "b", Decimal("20.25")), (4, None, None, None, None, Decimal("0.00")),
          (5, 2, "c", True, "c|a", Decimal("7.75"))]),
    ("grouping with min_by",
     "SELECT dt, count(*) AS n, sum(amount) AS s, max(ts) AS mx, min_by(id, ts) AS first_id FROM lab.events "
     "GROUP BY dt ORDER BY dt",
     [], [(date(2026, 11, 1), 2, Decimal("15.50"), datetime(2026, 11, 1, 23, 59, 59), 1),
          (date(2026, 11, 2), 1, Decimal("20.25"), datetime(2026, 11, 2), 3),
          (date(2026, 11, 3), 1, None, datetime(2026, 11, 3, 12, 30), 4),
          (date(2026, 12, 31), 1, Decimal("7.75"), datetime(2026, 12, 31, 23), 5)]),
    ("bound parameters",
     "SELECT id FROM lab.events WHERE dt BETWEEN ? AND ? AND ts < TIMESTAMP '2026-11-02 00:00:00' ORDER BY id",
     [date(2026, 11, 1), date(2026, 11, 2)], [(1,), (2,)]),
]


@pytest.mark.parametrize(("feature", "sql", "params", "expected"), FEATURES, ids=[f[0] for f in FEATURES])
def test_dialect_features_mean_the_same_on_duckdb_and_spark(spark: Any, lake: Env, feature: str, sql: str,
                                                            params: list[Any], expected: list[tuple[Any, ...]]) -> None:
    duck = lake.run(sql, params)
    on_spark = [tuple(r) for r in spark_sql(spark, sql, lake.catalog, params=params).collect()]
    assert duck.rows == expected, feature
    assert on_spark == expected, feature
