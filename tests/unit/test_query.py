"""The query layer on real DuckDB: Trino SQL over catalog tables (Parquet written by pyarrow), results in the lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog import Column, Partition, StorageDescriptor, Table
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.jobs.commit import partition_path, partition_values_in
from lakeglue.query import QueryError, QueryResult, explain_query, run_query, run_query_file
from lakeglue.query.binding import bind_query
from lakeglue.settings import Settings
from lakeglue.sql import translate, translate_query
from lakeglue.storage import Lake

VERSION_DIR = "v=20261123T000000-abcd1234"  # like the pipeline's versioned table directories

ORDER_COLUMNS = (
    Column("order_id", "bigint"), Column("customer_id", "bigint"), Column("status", "string"),
    Column("amount", "decimal(12,2)"), Column("tags", "array<string>"), Column("order_ts", "timestamp"),
    Column("coupon", "string"),  # in the catalog, not in the files: reads as NULL
)
GOLD_COLUMNS = (
    Column("dt", "date"), Column("category", "string"), Column("revenue", "decimal(18,2)"),
    Column("units", "bigint"), Column("orders", "bigint"),
)


class Env:
    """A lake in tmp, its SQLite catalog and helpers to register tables written with pyarrow."""

    def __init__(self, tmp: Path) -> None:
        self.settings = Settings(lake_root=str(tmp / "lake"), catalog_url=f"sqlite:///{tmp / 'catalog.db'}")
        self.catalog = SqlCatalog(self.settings.catalog_url)
        self.lake = Lake(self.settings)

    def run(self, sql: str, params: list[Any] | None = None, **kwargs: Any) -> QueryResult:
        kwargs.setdefault("output", None)
        return run_query(sql, params, catalog=self.catalog, lake=self.lake, settings=self.settings, **kwargs)

    def register(self, database: str, name: str, location: str, columns: tuple[Column, ...],
                 partition_keys: tuple[Column, ...] = (), classification: str = "parquet",
                 parameters: dict[str, str] | None = None) -> Table:
        self.catalog.ensure_database(database)
        storage = StorageDescriptor.for_format(classification, columns, "file://" + location)
        params = {"classification": classification, **(parameters or {})}
        table = self.catalog.create_table(Table(database, name, storage, partition_keys, parameters=params))
        keys = [k.name for k in partition_keys]
        # the catalog lists the partitions, as the crawler / jobs register them
        self.catalog.batch_create_partitions([
            Partition(database, name, values, StorageDescriptor.for_format(
                classification, columns, "file://" + partition_path(location, keys, values)))
            for values in partition_values_in(self.lake, location, keys)])
        return table

    def write_parquet(self, zone_parts: tuple[str, ...], data: pa.Table, partition_by: str | None = None) -> str:
        """Write ``data`` like Spark does: hive folders per partition value, plus ``_SUCCESS`` litter."""
        root = Path(self.lake.path("curated", *zone_parts, VERSION_DIR))
        root.mkdir(parents=True)
        if partition_by is None:
            pq.write_table(data, root / "part-00000-aaaa.snappy.parquet")
        else:
            for value in sorted(set(data.column(partition_by).to_pylist())):
                mask = pa.array([v == value for v in data.column(partition_by).to_pylist()])
                part = data.filter(mask).drop_columns([partition_by])
                folder = root / f"{partition_by}={value.isoformat()}"
                folder.mkdir()
                pq.write_table(part, folder / "part-00000-bbbb.snappy.parquet")
        (root / "_SUCCESS").write_text("")
        return str(root)


def orders_data() -> pa.Table:
    return pa.table({
        "order_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "customer_id": pa.array([10, 11, 10, 12, 11], pa.int64()),
        "status": ["shipped", "cancelled", "shipped", "pending", "shipped"],
        "amount": pa.array([Decimal("10.50"), Decimal("5.00"), Decimal("20.25"), Decimal("7.75"),
                            Decimal("100.00")], pa.decimal128(12, 2)),
        "tags": pa.array([["gift", "promo"], [], ["promo"], None, ["bulk"]], pa.list_(pa.string())),
        "order_ts": pa.array([datetime(2026, 11, 1, 9, 0), datetime(2026, 11, 1, 10, 30),
                              datetime(2026, 11, 2, 8, 15), datetime(2026, 11, 2, 23, 59),
                              datetime(2026, 11, 3, 12, 0)], pa.timestamp("us")),
        "dt": pa.array([date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 2),
                        date(2026, 11, 3)], pa.date32()),
    })


def gold_data() -> pa.Table:
    rows = [  # dt, category, revenue, units, orders
        (date(2026, 11, 1), "books", "50.00", 5, 3),
        (date(2026, 11, 1), "toys", "20.00", 2, 2),
        (date(2026, 11, 1), "games", "10.00", 1, 1),
        (date(2026, 11, 2), "books", "25.50", 3, 2),
        (date(2026, 11, 2), "toys", "14.50", 1, 1),
        (date(2026, 11, 3), "games", "30.00", 2, 1),
    ]
    return pa.table({
        "dt": pa.array([r[0] for r in rows], pa.date32()),
        "category": [r[1] for r in rows],
        "revenue": pa.array([Decimal(r[2]) for r in rows], pa.decimal128(18, 2)),
        "units": pa.array([r[3] for r in rows], pa.int64()),
        "orders": pa.array([r[4] for r in rows], pa.int64()),
    })


@pytest.fixture
def env(tmp_path: Path) -> Env:
    e = Env(tmp_path)
    orders = e.write_parquet(("silver", "orders"), orders_data(), partition_by="dt")
    e.register("ecommerce_silver", "orders", orders, ORDER_COLUMNS, partition_keys=(Column("dt", "date"),))
    gold = e.write_parquet(("gold", "daily_revenue_by_category"), gold_data())
    e.register("ecommerce_gold", "daily_revenue_by_category", gold, GOLD_COLUMNS)
    clv = e.write_parquet(("gold", "customer_lifetime_value"), pa.table({"customer_id": pa.array([10], pa.int64())}))
    e.register("ecommerce_gold", "customer_lifetime_value", clv, (Column("customer_id", "bigint"),))
    return e


def parquet_sizes(root: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files
               if f.endswith(".parquet"))


# -- reading catalog tables ------------------------------------------------------------------

def test_select_star_returns_catalog_columns_with_exact_values(env: Env) -> None:
    res = env.run("SELECT * FROM ecommerce_silver.orders ORDER BY order_id")

    # catalog order, partition key last; no `v` column from the versioned folder; coupon only in the catalog
    assert res.columns == ["order_id", "customer_id", "status", "amount", "tags", "order_ts", "coupon", "dt"]
    assert res.types == ["bigint", "bigint", "varchar", "decimal(12,2)", "array(varchar)", "timestamp",
                         "varchar", "date"]
    assert res.rows == [
        (1, 10, "shipped", Decimal("10.50"), ["gift", "promo"], datetime(2026, 11, 1, 9, 0), None, date(2026, 11, 1)),
        (2, 11, "cancelled", Decimal("5.00"), [], datetime(2026, 11, 1, 10, 30), None, date(2026, 11, 1)),
        (3, 10, "shipped", Decimal("20.25"), ["promo"], datetime(2026, 11, 2, 8, 15), None, date(2026, 11, 2)),
        (4, 12, "pending", Decimal("7.75"), None, datetime(2026, 11, 2, 23, 59), None, date(2026, 11, 2)),
        (5, 11, "shipped", Decimal("100.00"), ["bulk"], datetime(2026, 11, 3, 12, 0), None, date(2026, 11, 3)),
    ]
    assert res.row_count == 5


def test_bare_table_names_resolve_against_database(env: Env) -> None:
    res = env.run("SELECT count(*) AS n, sum(amount) AS total FROM orders", database="ecommerce_silver")
    assert res.rows == [(5, Decimal("143.50"))]
    assert res.types == ["bigint", "decimal(38,2)"]

    with pytest.raises(QueryError,
                       match=r"table orders \(line 1, column 15\) has no database: write it as <database>\.orders"):
        env.run("SELECT * FROM orders")


def test_partition_filter_reads_only_that_partition(env: Env) -> None:
    sql = "SELECT order_id, status FROM ecommerce_silver.orders WHERE dt = DATE '2026-11-02' ORDER BY order_id"
    res = env.run(sql)
    assert res.rows == [(3, "shipped"), (4, "pending")]
    # DuckDB's profile of the real run: one of the three partition files was opened
    assert res.stats["files_scanned"] == 1
    assert res.stats["files_total"] == 3

    plan = explain_query(sql, analyze=True, catalog=env.catalog, settings=env.settings)
    assert "Scanning Files: 1/3" in plan
    assert "Total Files Read: 1" in plan
    assert "dt=2026-11-02" in plan.replace("\n", "").replace("│", "").replace(" ", "")
    assert "dt=2026-11-01" not in plan.replace("\n", "").replace("│", "").replace(" ", "")

    # the same pruning when the date comes in as a bound parameter
    bound = env.run("SELECT count(*) FROM ecommerce_silver.orders WHERE dt = ?", [date(2026, 11, 2)])
    assert bound.rows == [(2,)]
    assert bound.stats["files_scanned"] == 1
    everything = env.run("SELECT count(*) FROM ecommerce_silver.orders")
    assert everything.stats["files_scanned"] == 3


def batch_partition(env: Env, table_dir: Path, attempt: str, batch: str, ids: list[int]) -> Partition:
    """One bronze-style batch: ``<table>/<attempt>/batch=<id>/part.parquet``, as the jobs write retries."""
    folder = table_dir / attempt / f"batch={batch}"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), folder / "part-00000.parquet")
    return Partition("ecommerce_bronze", "events", (batch,), StorageDescriptor.for_format(
        "parquet", (Column("id", "bigint"),), "file://" + str(folder)))


def test_partitioned_tables_are_their_catalog_partitions_not_a_directory_glob(env: Env) -> None:
    """A retried batch leaves the superseded attempt on disk; only the registered attempt is the table."""
    table_dir = Path(env.lake.path("curated", "bronze", "events"))
    env.catalog.ensure_database("ecommerce_bronze")
    env.catalog.create_table(Table("ecommerce_bronze", "events", StorageDescriptor.for_format(
        "parquet", (Column("id", "bigint"),), "file://" + str(table_dir)), (Column("batch", "string"),),
        parameters={"classification": "parquet"}))
    batch_partition(env, table_dir, "a-1-superseded", "run_2", [20, 21])  # the failed first attempt
    env.catalog.batch_create_partitions([
        batch_partition(env, table_dir, "a-0", "run_1", [10, 11]),
        batch_partition(env, table_dir, "a-2-retry", "run_2", [20, 21]),
    ])
    batch_partition(env, table_dir, "a-3-unregistered", "run_3", [30])  # written, never committed

    res = env.run("SELECT batch, id FROM ecommerce_bronze.events ORDER BY batch, id")
    assert res.rows == [("run_1", 10), ("run_1", 11), ("run_2", 20), ("run_2", 21)]
    assert res.stats["files_total"] == 2
    pruned = env.run("SELECT count(*) FROM ecommerce_bronze.events WHERE batch = ?", ["run_2"])
    assert (pruned.rows, pruned.stats["files_scanned"]) == ([(2,)], 1)


def test_partitions_outside_key_value_folders_get_their_values_from_the_catalog(env: Env) -> None:
    root = Path(env.lake.path("curated", "imported", "daily"))
    parts = []
    for day, ids in ((date(2026, 11, 1), [1, 2]), (date(2026, 11, 2), [3])):
        folder = root / f"day_{day:%Y%m%d}"  # a layout Glue allows: no dt=… in the path
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), folder / "data.parquet")
        parts.append(Partition("imported", "daily", (day.isoformat(),), StorageDescriptor.for_format(
            "parquet", (Column("id", "bigint"),), "file://" + str(folder))))
    env.catalog.ensure_database("imported")
    env.catalog.create_table(Table("imported", "daily", StorageDescriptor.for_format(
        "parquet", (Column("id", "bigint"),), "file://" + str(root)), (Column("dt", "date"),),
        parameters={"classification": "parquet"}))
    env.catalog.batch_create_partitions(parts)
    assert env.run("SELECT dt, id FROM imported.daily ORDER BY id").rows == [
        (date(2026, 11, 1), 1), (date(2026, 11, 1), 2), (date(2026, 11, 2), 3)]
    one_day = env.run("SELECT id FROM imported.daily WHERE dt = DATE '2026-11-02'")
    assert (one_day.rows, one_day.stats["files_scanned"]) == ([(3,)], 1)


def test_trino_cast_rules_and_exact_approx_distinct_on_duckdb(env: Env) -> None:
    res = env.run("SELECT TRY_CAST('3.5' AS integer), TRY_CAST(' 12 ' AS integer), TRY_CAST('-7' AS bigint), "
                  "TRY_CAST('x' AS integer), CAST('42' AS smallint), approx_distinct(status) "
                  "FROM ecommerce_silver.orders")
    # DuckDB alone would round '3.5' to 4; Trino only reads integer text
    assert res.rows == [(None, None, -7, None, 42, 3)]  # Trino does not trim ' 12 ' either
    with pytest.raises(QueryError, match=r"Cannot cast '3\.5' to INT\n"):
        env.run("SELECT CAST('3.5' AS integer) FROM ecommerce_silver.orders")


def test_table_without_files_is_empty_with_catalog_types(env: Env) -> None:
    empty_dir = env.lake.path("curated", "gold", "empty", VERSION_DIR)
    os.makedirs(empty_dir)
    env.register("ecommerce_gold", "empty", empty_dir, GOLD_COLUMNS)
    res = env.run("SELECT dt, revenue FROM ecommerce_gold.empty")
    assert (res.rows, res.types) == ([], ["date", "decimal(18,2)"])


def test_raw_csv_and_json_tables_are_read_with_catalog_types(env: Env) -> None:
    csv_dir = Path(env.lake.path("raw", "ecommerce", "customers"))
    csv_dir.mkdir(parents=True)
    (csv_dir / "customers_1.csv").write_text(
        'customer_id,name,signup_date\n10,"Lee, Ann",2026-10-01\n11,Bo,2026-10-05\n')
    (csv_dir / "_SUCCESS").write_text("")
    env.register("ecommerce_raw", "customers", str(csv_dir),
                 (Column("customer_id", "bigint"), Column("name", "string"), Column("signup_date", "date")),
                 classification="csv", parameters={"skip.header.line.count": "1"})
    json_dir = Path(env.lake.path("raw", "ecommerce", "orders"))
    json_dir.mkdir(parents=True)
    (json_dir / "batch_1.json").write_text(
        '{"order_id": 1, "items": [{"product_id": 7, "quantity": 2}]}\n{"order_id": 2, "items": []}\n')
    env.register("ecommerce_raw", "orders", str(json_dir),
                 (Column("order_id", "bigint"), Column("items", "array<struct<product_id:bigint,quantity:int>>")),
                 classification="json")

    customers = env.run("SELECT * FROM ecommerce_raw.customers ORDER BY customer_id")
    assert customers.rows == [(10, "Lee, Ann", date(2026, 10, 1)), (11, "Bo", date(2026, 10, 5))]
    orders = env.run("SELECT order_id, cardinality(items) AS lines, items FROM ecommerce_raw.orders ORDER BY 1")
    assert orders.rows == [(1, 1, [{"product_id": 7, "quantity": 2}]), (2, 0, [])]
    assert orders.types == ["bigint", "bigint", "array(row(product_id bigint, quantity integer))"]


def test_unreadable_tables_are_named_in_the_error(env: Env) -> None:
    env.register("ecommerce_raw", "events", env.lake.path("raw", "events"), (Column("id", "bigint"),),
                 classification="avro")
    with pytest.raises(QueryError) as info:
        env.run("SELECT * FROM ecommerce_raw.events")
    assert str(info.value) == ("table ecommerce_raw.events has classification 'avro'; the duckdb engine reads "
                               "parquet, csv, json tables")

    env.catalog.ensure_database("ecommerce_s3")
    env.catalog.create_table(Table("ecommerce_s3", "orders", StorageDescriptor.for_format(
        "parquet", ORDER_COLUMNS, "s3://bucket/curated/orders"), parameters={"classification": "parquet"}))
    with pytest.raises(QueryError, match=r"table ecommerce_s3\.orders is stored at s3://bucket/curated/orders; "
                                         "the duckdb engine reads local lakes only"):
        env.run("SELECT * FROM ecommerce_s3.orders")


# -- Trino dialect ---------------------------------------------------------------------------

def test_trino_scalar_and_window_functions_keep_trino_semantics(env: Env) -> None:
    res = env.run("""
        SELECT
            order_id,
            date_trunc('month', dt) AS month,
            date_add('day', 1, dt) AS next_day,
            date_trunc('hour', order_ts) AS hour,
            TRY_CAST(status AS integer) AS status_int,
            CAST(amount AS varchar) AS amount_text,
            CAST(order_id AS double) / 2 AS half,
            order_id / 2 AS int_half,
            row_number() OVER (PARTITION BY customer_id ORDER BY order_ts) AS nth,
            sum(amount) OVER (PARTITION BY customer_id) AS customer_total
        FROM ecommerce_silver.orders
        ORDER BY order_id
    """)
    assert res.types == ["bigint", "date", "date", "timestamp", "integer", "varchar", "double", "bigint", "bigint",
                         "decimal(38,2)"]
    assert res.rows == [
        (1, date(2026, 11, 1), date(2026, 11, 2), datetime(2026, 11, 1, 9), None, "10.50", 0.5, 0, 1,
         Decimal("30.75")),
        (2, date(2026, 11, 1), date(2026, 11, 2), datetime(2026, 11, 1, 10), None, "5.00", 1.0, 1, 1,
         Decimal("105.00")),
        (3, date(2026, 11, 1), date(2026, 11, 3), datetime(2026, 11, 2, 8), None, "20.25", 1.5, 1, 2,
         Decimal("30.75")),
        (4, date(2026, 11, 1), date(2026, 11, 3), datetime(2026, 11, 2, 23), None, "7.75", 2.0, 2, 1,
         Decimal("7.75")),
        (5, date(2026, 11, 1), date(2026, 11, 4), datetime(2026, 11, 3, 12), None, "100.00", 2.5, 2, 2,
         Decimal("105.00")),
    ]


def test_trino_aggregates_and_unnest(env: Env) -> None:
    agg = env.run("SELECT approx_distinct(customer_id) AS customers, count(*), count_if(status = 'shipped') "
                  "FROM ecommerce_silver.orders")
    assert agg.columns == ["customers", "_col1", "_col2"]  # Trino's names for unnamed columns
    assert agg.rows == [(3, 5, 3)]

    tags = env.run("SELECT o.order_id, t.tag FROM ecommerce_silver.orders AS o "
                   "CROSS JOIN UNNEST(o.tags) AS t(tag) ORDER BY o.order_id, t.tag")
    assert tags.rows == [(1, "gift"), (1, "promo"), (3, "promo"), (5, "bulk")]


def test_transpilation_keeps_positional_placeholders(env: Env) -> None:
    sql = "SELECT order_id FROM ecommerce_silver.orders WHERE status <> '?' AND customer_id = ? AND dt >= ?"
    assert translate(sql, "duckdb").count("?") == 3  # the literal '?' and two placeholders
    duck = translate_query(bind_query(sql, [10, date(2026, 11, 1)], None, env.catalog), "duckdb")
    assert duck.count("?") == 3
    assert "'?'" in duck
    assert env.run(sql + " ORDER BY order_id", [10, date(2026, 11, 1)]).rows == [(1,), (3,)]


# -- parameters ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "x' OR '1'='1",
    "1; DROP TABLE ecommerce_silver.orders",
    "shipped'; DROP TABLE ecommerce_silver.orders; --",
])
def test_parameters_are_bound_as_values_not_sql(env: Env, value: str) -> None:
    res = env.run("SELECT order_id FROM ecommerce_silver.orders WHERE status = ? ORDER BY order_id", [value])
    assert res.rows == []
    assert env.catalog.table_exists("ecommerce_silver", "orders")
    again = env.run("SELECT order_id FROM ecommerce_silver.orders WHERE status = ? ORDER BY order_id", ["shipped"])
    assert again.rows == [(1,), (3,), (5,)]


def test_parameter_count_and_style_are_checked(env: Env) -> None:
    with pytest.raises(QueryError, match=r"the query has 2 \? placeholder\(s\) but 1 parameter\(s\) were given"):
        env.run("SELECT 1 FROM ecommerce_silver.orders WHERE status = ? AND customer_id = ?", ["shipped"])
    with pytest.raises(QueryError, match=r"named parameters \(:status\) are not supported"):
        env.run("SELECT 1 FROM ecommerce_silver.orders WHERE status = :status", ["shipped"])


# -- errors and safety -----------------------------------------------------------------------

def test_unknown_table_names_the_tables_that_exist_and_records_the_failure(env: Env) -> None:
    with pytest.raises(QueryError) as info:
        env.run("SELECT * FROM ecommerce_gold.foo", output="csv")
    assert str(info.value) == ("table ecommerce_gold.foo not found in the catalog (line 1, column 15); tables in "
                               "ecommerce_gold: customer_lifetime_value, daily_revenue_by_category")
    meta_path = Path(env.lake.path("results", "queries", info.value.query_id or "?", "metadata.json"))
    meta = json.loads(meta_path.read_text())
    assert (meta["state"], meta["error"]) == ("FAILED", str(info.value))
    assert meta["sql"] == "SELECT * FROM ecommerce_gold.foo"
    assert sorted(os.listdir(meta_path.parent)) == ["metadata.json"]

    with pytest.raises(QueryError) as missing_db:
        env.run("SELECT * FROM nope.orders")
    assert str(missing_db.value) == ("table nope.orders not found in the catalog (line 1, column 15): there is no "
                                     "database nope; databases: ecommerce_gold, ecommerce_silver")


def test_only_single_read_only_statements_run(env: Env) -> None:
    with pytest.raises(QueryError, match=r"only read-only queries .* got a DELETE statement"):
        env.run("DELETE FROM ecommerce_silver.orders")
    with pytest.raises(QueryError, match="expected exactly one SQL statement, got 2"):
        env.run("SELECT 1; SELECT 2")
    with pytest.raises(QueryError) as syntax:
        env.run("SELECT order_id FORM ecommerce_silver.orders")
    # the column where the unexpected token starts: `ecommerce_silver` begins at character 22
    assert str(syntax.value) == ("SQL syntax error at line 1, column 22 near 'ecommerce_silver': "
                                 "Invalid expression / Unexpected token")


def test_queries_can_only_read_catalog_tables(env: Env) -> None:
    with pytest.raises(QueryError, match="file system operations are disabled"):
        env.run("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(QueryError, match="file system operations are disabled"):
        env.run(f"SELECT * FROM read_parquet('{env.lake.path('curated')}/**/*.parquet')")


def test_duckdb_errors_are_query_errors(env: Env) -> None:
    # Trino's rule and message for varchar → integer casts, where DuckDB alone would only fail on non-numbers
    with pytest.raises(QueryError, match=r"duckdb could not run the query: Invalid Input Error: Cannot cast "
                                         r"'shipped' to INT\n"):
        env.run("SELECT CAST(status AS integer) FROM ecommerce_silver.orders")


# -- results ---------------------------------------------------------------------------------

def test_result_files_and_metadata(env: Env) -> None:
    sql = ("SELECT category, sum(revenue) AS revenue, min(dt) AS first_day "
           "FROM ecommerce_gold.daily_revenue_by_category WHERE category <> ? GROUP BY category ORDER BY category")
    res = env.run(sql, ["toys"], output="parquet")

    final = Path(env.lake.path("results", "queries", res.query_id))
    assert sorted(os.listdir(final)) == ["metadata.json", "result.csv", "result.parquet"]
    assert res.output_location == "file://" + str(final / "result.parquet")
    assert res.metadata_location == "file://" + str(final / "metadata.json")
    assert (final / "result.csv").read_text() == "category,revenue,first_day\nbooks,75.50,2026-11-01\n" \
                                                 "games,40.00,2026-11-01\n"
    table = pq.read_table(final / "result.parquet")
    assert table.schema.types == [pa.string(), pa.decimal128(38, 2), pa.date32()]
    assert table.to_pylist() == [
        {"category": "books", "revenue": Decimal("75.50"), "first_day": date(2026, 11, 1)},
        {"category": "games", "revenue": Decimal("40.00"), "first_day": date(2026, 11, 1)},
    ]

    meta = json.loads((final / "metadata.json").read_text())
    gold = env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    assert meta["query_id"] == res.query_id
    assert meta["sql"] == sql
    assert meta["parameters"] == ["toys"]
    assert (meta["engine"], meta["database"], meta["state"]) == ("duckdb", None, "SUCCEEDED")
    assert meta["columns"] == [{"name": "category", "type": "varchar"}, {"name": "revenue", "type": "decimal(38,2)"},
                               {"name": "first_day", "type": "date"}]
    assert meta["rows"] == 2
    assert meta["bytes_scanned"] == parquet_sizes(gold.location.removeprefix("file://"))
    assert (meta["files_scanned"], meta["files_total"]) == (1, 1)
    assert meta["tables"] == [{"name": "ecommerce_gold.daily_revenue_by_category", "version": 1,
                               "location": gold.location}]
    assert meta["output_location"] == res.output_location
    assert meta["duration_s"] == res.duration_s
    assert datetime.fromisoformat(meta["submitted_at"]).tzinfo is not None
    # written in staging and moved in one commit: nothing left behind
    assert os.listdir(env.lake.path("staging", "tmp", "query")) == []


def test_output_none_writes_nothing(env: Env) -> None:
    res = env.run("SELECT count(*) FROM ecommerce_gold.daily_revenue_by_category", output=None)
    assert (res.rows, res.output_location, res.metadata_location) == ([(6,)], None, None)
    assert not os.path.exists(env.lake.path("results", "queries"))


def test_table_text_and_xcom_dict(env: Env) -> None:
    res = env.run("SELECT category, revenue, units FROM ecommerce_gold.daily_revenue_by_category "
                  "ORDER BY dt, category", output="csv")
    assert res.to_table_text(max_rows=3) == "\n".join([
        "category | revenue | units",
        "---------+---------+------",
        "books    |   50.00 |     5",
        "games    |   10.00 |     1",
        "toys     |   20.00 |     2",
        "(6 rows, showing the first 3)",
    ])
    summary = res.to_dict()
    assert json.loads(json.dumps(summary)) == summary
    assert summary == {
        "query_id": res.query_id, "engine": "duckdb",
        "columns": [{"name": "category", "type": "varchar"}, {"name": "revenue", "type": "decimal(18,2)"},
                    {"name": "units", "type": "bigint"}],
        "row_count": 6, "output_location": res.output_location, "metadata_location": res.metadata_location,
        "duration_s": res.duration_s, "bytes_scanned": res.stats["bytes_scanned"], "files_scanned": 1,
        "preview": [[str(c) for c in row] for row in res.rows],
    }
    assert summary["preview"][0] == ["books", "50.00", "5"]


# -- the demo query --------------------------------------------------------------------------

def test_top_categories_sql_on_a_handmade_gold_table(env: Env) -> None:
    res = run_query_file("queries/top_categories.sql", catalog=env.catalog, lake=env.lake, settings=env.settings)
    assert res.columns == ["revenue_rank", "category", "revenue", "revenue_share_pct", "units", "orders",
                           "days_active"]
    assert res.types == ["bigint", "varchar", "decimal(18,2)", "decimal(5,2)", "bigint", "bigint", "bigint"]
    # totals 75.50 + 40.00 + 34.50 = 150.00; shares 50.333… → 50.33, 26.666… → 26.67, 23.00
    assert res.rows == [
        (1, "books", Decimal("75.50"), Decimal("50.33"), 8, 5, 2),
        (2, "games", Decimal("40.00"), Decimal("26.67"), 3, 2, 2),
        (3, "toys", Decimal("34.50"), Decimal("23.00"), 3, 3, 2),
    ]
    assert res.output_location is not None
    assert Path(res.output_location.removeprefix("file://")).read_text().splitlines()[1] == "1,books,75.50,50.33,8,5,2"


def test_run_query_file_reports_missing_files() -> None:
    with pytest.raises(QueryError, match=r"SQL file .*include/sql/queries/nope\.sql not found"):
        run_query_file("queries/nope.sql")


# -- Airflow operator ------------------------------------------------------------------------

@pytest.mark.airflow
def test_operator_module_import_is_light() -> None:
    code = ("import sys, lakeglue_airflow.operators.query as m; "
            "heavy = [x for x in ('duckdb', 'pyarrow', 'lakeglue.query', 'sqlglot') if x in sys.modules]; "
            "assert not heavy, heavy; print(m.LakeQueryOperator.template_fields)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "('sql', 'parameters', 'database')"


@pytest.mark.airflow
def test_operator_runs_a_query_file_and_returns_the_summary(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.query import LakeQueryOperator

    monkeypatch.setenv("LAKEGLUE_HOME", env.settings.lake_root)
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", env.settings.catalog_url)
    get_settings.cache_clear()
    try:
        op = LakeQueryOperator(task_id="top_categories", sql="queries/top_categories.sql")
        summary = op.execute({})
        assert summary["row_count"] == 3
        assert summary["output_location"].startswith("file://" + env.settings.lake_root + "/results/queries/")
        assert Path(summary["output_location"].removeprefix("file://")).read_text().splitlines()[3] == \
            "3,toys,34.50,23.00,3,3,2"

        inline = LakeQueryOperator(task_id="inline", sql="SELECT count(*) AS n FROM orders WHERE status = ?",
                                   parameters=["shipped"], database="ecommerce_silver", output="parquet")
        result = inline.execute({})
        assert (result["row_count"], result["output_location"].endswith("/result.parquet")) == (1, True)

        broken = LakeQueryOperator(task_id="broken", sql="SELECT * FROM ecommerce_gold.foo")
        with pytest.raises(AirflowFailException,
                           match=r"table ecommerce_gold\.foo not found in the catalog \(line 1, column 15\)"):
            broken.execute({})
    finally:
        get_settings.cache_clear()
