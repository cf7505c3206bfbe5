"""CTAS and INSERT INTO on the embedded engine: catalog tables created and extended atomically, as Athena does.

Real DuckDB runs the SELECT, real pyarrow writes Parquet, the real SQLite catalog is
switched; every assertion is on exact rows, catalog entries and directories.
"""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_query import GOLD_COLUMNS, ORDER_COLUMNS, Env, gold_data, orders_data

from lakeglue.catalog import Column
from lakeglue.query import QueryError
from lakeglue.query.base import get_engine
from lakeglue.query.binding import parse_statement
from lakeglue.query.materialize import materialize
from lakeglue.query.writes import bind_write

CTAS = """CREATE TABLE ecommerce_gold.status_daily
WITH (format = 'PARQUET', partitioned_by = ARRAY['dt'])
AS SELECT status, count(*) AS orders, sum(amount) AS amount, dt
   FROM ecommerce_silver.orders
   GROUP BY status, dt"""


@pytest.fixture
def env(tmp_path: Path) -> Env:
    e = Env(tmp_path)
    orders = e.write_parquet(("silver", "orders"), orders_data(), partition_by="dt")
    e.register("ecommerce_silver", "orders", orders, ORDER_COLUMNS, partition_keys=(Column("dt", "date"),))
    gold = e.write_parquet(("gold", "daily_revenue_by_category"), gold_data())
    e.register("ecommerce_gold", "daily_revenue_by_category", gold, GOLD_COLUMNS)
    return e


def curated(env: Env, *parts: str) -> Path:
    return Path(env.lake.path("curated", *parts))


def relative(env: Env, uri: str) -> str:
    return os.path.relpath(uri.removeprefix("file://"), env.lake.path("curated"))


STATUS_DAILY = [
    ("cancelled", 1, Decimal("5.00"), date(2026, 11, 1)),
    ("shipped", 1, Decimal("10.50"), date(2026, 11, 1)),
    ("pending", 1, Decimal("7.75"), date(2026, 11, 2)),
    ("shipped", 1, Decimal("20.25"), date(2026, 11, 2)),
    ("shipped", 1, Decimal("100.00"), date(2026, 11, 3)),
]


# -- CTAS ------------------------------------------------------------------------------------

def test_ctas_creates_a_partitioned_parquet_catalog_table(env: Env) -> None:
    res = env.run(CTAS, output="csv")
    assert (res.columns, res.types, res.rows) == (["rows"], ["bigint"], [(5,)])

    table = env.catalog.get_table("ecommerce_gold", "status_daily")
    assert [(c.name, c.type) for c in table.columns] == [("status", "string"), ("orders", "bigint"),
                                                         ("amount", "decimal(38,2)")]
    assert [(c.name, c.type) for c in table.partition_keys] == [("dt", "date")]
    assert table.version == 1
    assert table.parameters["classification"] == "parquet"
    assert table.parameters["lakeglue.created_by_query"] == res.query_id
    version_dir = relative(env, table.location)
    assert version_dir.startswith("gold/status_daily/v-")  # next to the Spark job's gold tables
    parts = env.catalog.get_partitions("ecommerce_gold", "status_daily")
    assert [(p.values, relative(env, p.location)) for p in parts] == [
        (("2026-11-01",), f"{version_dir}/dt=2026-11-01"), (("2026-11-02",), f"{version_dir}/dt=2026-11-02"),
        (("2026-11-03",), f"{version_dir}/dt=2026-11-03")]
    # one snappy Parquet file per partition, without the partition column (it is in the folder name)
    files = sorted(p.relative_to(curated(env, version_dir)).as_posix() for p in curated(env, version_dir).rglob("*"))
    assert files == ["dt=2026-11-01", f"dt=2026-11-01/part-00000-{res.query_id}.snappy.parquet",
                     "dt=2026-11-02", f"dt=2026-11-02/part-00000-{res.query_id}.snappy.parquet",
                     "dt=2026-11-03", f"dt=2026-11-03/part-00000-{res.query_id}.snappy.parquet"]
    assert pq.read_schema(curated(env, version_dir, "dt=2026-11-01", files[1].split("/")[1])).names == [
        "status", "orders", "amount"]

    back = env.run("SELECT * FROM ecommerce_gold.status_daily ORDER BY dt, status")
    assert back.rows == STATUS_DAILY
    assert back.types == ["varchar", "bigint", "decimal(38,2)", "date"]
    # written in staging, moved in one commit
    assert os.listdir(env.lake.path("staging", "tmp", "query")) == []
    meta = json.loads(Path(res.metadata_location.removeprefix("file://")).read_text())
    assert (meta["statement_type"], meta["target_table"], meta["state"]) == ("CTAS", "ecommerce_gold.status_daily",
                                                                            "SUCCEEDED")
    assert meta["partitions_written"] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert res.to_dict()["rows_written"] == 5


def test_ctas_unpartitioned_with_compression_and_default_database(env: Env) -> None:
    res = env.run("CREATE TABLE top WITH (write_compression = 'ZSTD') AS "
                  "SELECT category, sum(revenue) AS revenue FROM daily_revenue_by_category GROUP BY category",
                  database="ecommerce_gold")
    assert res.rows == [(3,)]
    table = env.catalog.get_table("ecommerce_gold", "top")
    assert table.partition_keys == ()
    files = list(Path(table.location.removeprefix("file://")).glob("*.parquet"))
    assert [f.name for f in files] == [f"part-00000-{res.query_id}.zstd.parquet"]
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    assert env.run("SELECT * FROM ecommerce_gold.top ORDER BY category").rows == [
        ("books", Decimal("75.50")), ("games", Decimal("40.00")), ("toys", Decimal("34.50"))]


def test_ctas_refuses_an_existing_table_unless_if_not_exists(env: Env) -> None:
    env.run(CTAS)
    with pytest.raises(QueryError) as info:
        env.run(CTAS)
    assert str(info.value) == ("table ecommerce_gold.status_daily already exists; CTAS creates new tables (use "
                               "INSERT INTO to add rows, or CREATE TABLE IF NOT EXISTS)")
    skipped = env.run(CTAS.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
    assert skipped.rows == [(0,)]
    assert skipped.stats["skipped"] == "table exists (IF NOT EXISTS)"
    assert env.catalog.get_table("ecommerce_gold", "status_daily").version == 1
    assert len(list(curated(env, "gold", "status_daily").iterdir())) == 1


@pytest.mark.parametrize(("sql", "message"), [
    ("CREATE TABLE ecommerce_glod.t AS SELECT 1 AS a",
     "CREATE TABLE ecommerce_glod.t: there is no database ecommerce_glod; did you mean ecommerce_gold?; databases: "
     "ecommerce_gold, ecommerce_silver"),
    ("CREATE TABLE ecommerce_gold.t WITH (partitioned_by = ARRAY['dt']) AS "
     "SELECT dt, status FROM ecommerce_silver.orders",
     "CREATE TABLE ecommerce_gold.t: partition columns must be the last columns of the SELECT, in partitioned_by "
     "order (dt), as Athena requires; the SELECT ends with status"),
    ("CREATE TABLE ecommerce_gold.t WITH (partitioned_by = ARRAY['day']) AS SELECT status, dt FROM "
     "ecommerce_silver.orders",
     "CREATE TABLE ecommerce_gold.t: partitioned_by column day is not a column of the SELECT; columns: status, dt"),
    ("CREATE TABLE ecommerce_gold.t AS SELECT status, count(*) FROM ecommerce_silver.orders GROUP BY status",
     "CREATE TABLE ecommerce_gold.t: column name not specified at position 2 of the SELECT; give every expression "
     "an alias (… AS name)"),
    ("CREATE TABLE ecommerce_gold.t WITH (partitioned_bye = ARRAY['dt']) AS SELECT 1 AS a",
     "CREATE TABLE property 'partitioned_bye' is not supported; did you mean partitioned_by?; lakeglue understands "
     "format, partitioned_by, write_compression, parquet_compression (tables are stored where lakeglue puts them: "
     "curated/<layer>/<table>/)"),
    ("CREATE TABLE ecommerce_gold.t WITH (format = 'ORC') AS SELECT 1 AS a",
     "CREATE TABLE format 'orc' is not supported; lakeglue writes tables as PARQUET"),
    ("CREATE TABLE ecommerce_gold.t (a bigint)",
     "CREATE TABLE without AS SELECT is not supported: tables get their columns from a query (CTAS) or from the "
     "crawler"),
    ("CREATE TABLE ecommerce_gold.t AS SELECT order_id AS a, order_id AS A FROM ecommerce_silver.orders",
     "CREATE TABLE ecommerce_gold.t: column a appears more than once"),
])
def test_ctas_errors_say_what_athena_would_reject(env: Env, sql: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        env.run(sql)
    assert str(info.value) == message
    assert not env.catalog.table_exists("ecommerce_gold", "t")
    assert not curated(env, "gold", "t").exists()


def test_failed_ctas_leaves_no_table_and_no_committed_data(env: Env) -> None:
    # the failure happens while the rows are being written (a NULL partition value), after the SELECT ran
    with pytest.raises(QueryError, match=r"partition column coupon is NULL in some rows; filter them out"):
        env.run("CREATE TABLE ecommerce_gold.t WITH (partitioned_by = ARRAY['coupon']) AS "
                "SELECT order_id, coupon FROM ecommerce_silver.orders")
    assert not env.catalog.table_exists("ecommerce_gold", "t")
    assert not curated(env, "gold", "t").exists()


def test_unpartitioned_ctas_from_a_csv_table_is_written_by_duckdb_and_counts_unparsed_values(env: Env) -> None:
    raw = Path(env.lake.path("raw", "shop", "customers"))
    raw.mkdir(parents=True)
    (raw / "customers.csv").write_text("customer_id,age,score\n1,34,1.5\n2,thirty,2.5\n3,41,oops\n")
    env.register("shop_raw", "customers", str(raw), (Column("customer_id", "bigint"), Column("age", "bigint"),
                 Column("score", "double")), classification="csv", parameters={"skip.header.line.count": "1"})
    res = env.run("CREATE TABLE ecommerce_gold.customers AS SELECT customer_id, age, score, "
                  "sum(age) OVER () AS total_age FROM shop_raw.customers")
    assert res.rows == [(3,)]
    assert res.stats["unparsed_values"] == [
        {"table": "shop_raw.customers", "column": "age", "type": "bigint", "values": 1},
        {"table": "shop_raw.customers", "column": "score", "type": "double", "values": 1}]
    table = env.catalog.get_table("ecommerce_gold", "customers")
    # DuckDB sums bigints into HUGEINT: stored as bigint, as Trino types the sum
    assert [(c.name, c.type) for c in table.columns] == [
        ("customer_id", "bigint"), ("age", "bigint"), ("score", "double"), ("total_age", "bigint")]
    files = list(Path(table.location.removeprefix("file://")).iterdir())
    assert [f.name for f in files] == [f"part-00000-{res.query_id}.snappy.parquet"]
    assert str(pq.read_schema(files[0]).field("total_age").type) == "int64"
    assert pq.ParquetFile(files[0]).metadata.created_by.startswith("DuckDB")  # not through Python
    assert env.run("SELECT * FROM ecommerce_gold.customers ORDER BY 1").rows == [
        (1, 34, 1.5, 75), (2, None, 2.5, 75), (3, 41, None, 75)]
    assert not list(Path(env.lake.path("staging")).rglob("*.parquet"))


def test_unpartitioned_ctas_of_no_rows_makes_an_empty_table_without_files(env: Env) -> None:
    res = env.run("CREATE TABLE ecommerce_gold.none AS SELECT order_id FROM ecommerce_silver.orders WHERE false")
    assert res.rows == [(0,)]
    table = env.catalog.get_table("ecommerce_gold", "none")
    assert list(Path(table.location.removeprefix("file://")).iterdir()) == []
    assert env.run("SELECT count(*) AS n FROM ecommerce_gold.none").rows == [(0,)]


def test_unpartitioned_ctas_failing_while_writing_commits_nothing_and_leaves_no_staged_file(env: Env) -> None:
    with pytest.raises(QueryError, match="duckdb could not run the query"):
        env.run("CREATE TABLE ecommerce_gold.t AS SELECT CAST(status AS integer) AS n FROM ecommerce_silver.orders")
    assert not env.catalog.table_exists("ecommerce_gold", "t")
    assert not curated(env, "gold", "t").exists()
    assert not [p for p in Path(env.lake.path("staging")).rglob("*") if p.is_file()]


# -- INSERT INTO -----------------------------------------------------------------------------

def test_insert_into_a_partitioned_table_rewrites_only_the_partitions_it_touches(env: Env) -> None:
    env.run(CTAS)
    before = {p.values: p.location for p in env.catalog.get_partitions("ecommerce_gold", "status_daily")}
    res = env.run("INSERT INTO ecommerce_gold.status_daily SELECT status, 1, DECIMAL '3.50', DATE '2026-11-02' "
                  "FROM ecommerce_silver.orders WHERE order_id = ? "
                  "UNION ALL SELECT 'new', 2, DECIMAL '1.00', DATE '2026-11-04'", [4], output="csv")
    assert res.rows == [(2,)]
    assert res.stats["partitions_written"] == ["2026-11-02", "2026-11-04"]

    table = env.catalog.get_table("ecommerce_gold", "status_daily")
    assert table.version == 2  # the version guard moved on
    after = {p.values: p.location for p in env.catalog.get_partitions("ecommerce_gold", "status_daily")}
    attempt = relative(env, res.stats["table_location"])
    assert attempt.startswith("gold/status_daily/a-")
    assert after == {("2026-11-01",): before[("2026-11-01",)],
                     ("2026-11-02",): env.lake.uri(env.lake.path("curated", attempt, "dt=2026-11-02")),
                     ("2026-11-03",): before[("2026-11-03",)],
                     ("2026-11-04",): env.lake.uri(env.lake.path("curated", attempt, "dt=2026-11-04"))}
    # the touched partition holds its previous file (copied) and the new one; the previous directory is
    # untouched, so a reader holding the old catalog entry still reads the old rows
    old_files = os.listdir(before[("2026-11-02",)].removeprefix("file://"))
    assert len(old_files) == 1
    assert sorted(os.listdir(curated(env, attempt, "dt=2026-11-02"))) == sorted(
        [*old_files, f"part-00000-{res.query_id}.snappy.parquet"])

    assert env.run("SELECT * FROM ecommerce_gold.status_daily ORDER BY dt, status, amount").rows == [
        *STATUS_DAILY[:2],
        ("pending", 1, Decimal("3.50"), date(2026, 11, 2)),
        *STATUS_DAILY[2:],
        ("new", 2, Decimal("1.00"), date(2026, 11, 4)),
    ]


def test_insert_into_an_unpartitioned_table_makes_a_new_version(env: Env) -> None:
    old = env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    res = env.run("INSERT INTO ecommerce_gold.daily_revenue_by_category VALUES "
                  "(DATE '2026-11-04', 'books', DECIMAL '9.99', 1, 1)")
    assert res.rows == [(1,)]
    new = env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    assert (new.version, new.columns, new.parameters["lakeglue.last_insert_query"]) == (
        old.version + 1, old.columns, res.query_id)
    assert relative(env, new.location).startswith("gold/daily_revenue_by_category/v-")
    assert os.path.isdir(old.location.removeprefix("file://"))  # the old version stays readable
    rows = env.run("SELECT dt, category, revenue, units, orders FROM ecommerce_gold.daily_revenue_by_category "
                   "ORDER BY dt, category").rows
    assert rows == [*sorted(tuple(r.values()) for r in gold_data().to_pylist()),
                    (date(2026, 11, 4), "books", Decimal("9.99"), 1, 1)]
    assert [v.version for v in env.catalog.get_table_versions("ecommerce_gold", "daily_revenue_by_category")] == [1, 2]


def test_insert_with_a_column_list_fills_the_others_with_null_and_casts_to_the_table_types(env: Env) -> None:
    env.run("INSERT INTO ecommerce_gold.daily_revenue_by_category (category, dt, units) "
            "VALUES ('maps', DATE '2026-11-05', 7)")  # integer 7 widens to bigint
    assert env.run("SELECT * FROM ecommerce_gold.daily_revenue_by_category WHERE category = 'maps'").rows == [
        (date(2026, 11, 5), "maps", None, 7, None)]


def test_insert_self_select_reads_the_version_it_started_from(env: Env) -> None:
    res = env.run("INSERT INTO ecommerce_gold.daily_revenue_by_category "
                  "SELECT * FROM ecommerce_gold.daily_revenue_by_category")
    assert res.rows == [(6,)]
    assert env.run("SELECT count(*), sum(revenue) FROM ecommerce_gold.daily_revenue_by_category").rows == [
        (12, Decimal("300.00"))]


@pytest.mark.parametrize(("sql", "message"), [
    ("INSERT INTO ecommerce_gold.daily_revenue_by_category SELECT dt, status FROM ecommerce_silver.orders",
     "INSERT INTO ecommerce_gold.daily_revenue_by_category: the query gives 2 column(s) but 5 are inserted "
     "(dt, category, revenue, units, orders)"),
    ("INSERT INTO ecommerce_gold.daily_revenue_by_category SELECT dt, status, status, 1, 1 "
     "FROM ecommerce_silver.orders",
     "INSERT INTO ecommerce_gold.daily_revenue_by_category: column revenue (position 3) is decimal(18,2) in the "
     "table but the query gives varchar; add a CAST"),
    ("INSERT INTO ecommerce_gold.daily_revenue_by_category (dt, categry) VALUES (DATE '2026-11-05', 'x')",
     "INSERT INTO ecommerce_gold.daily_revenue_by_category: column categry is not in the table; did you mean "
     "category?; columns: dt, category, revenue, units, orders"),
    ("INSERT INTO ecommerce_gold.daily_revenue SELECT * FROM ecommerce_gold.daily_revenue_by_category",
     "table ecommerce_gold.daily_revenue not found in the catalog (line 1, column 13); did you mean "
     "ecommerce_gold.daily_revenue_by_category?; tables in ecommerce_gold: daily_revenue_by_category"),
    ("INSERT OVERWRITE TABLE ecommerce_gold.daily_revenue_by_category SELECT * FROM "
     "ecommerce_gold.daily_revenue_by_category",
     "INSERT OVERWRITE is not supported; Athena appends with INSERT INTO, and a table is rebuilt with a new CTAS"),
])
def test_insert_errors_name_the_column_and_types(env: Env, sql: str, message: str) -> None:
    before = env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    with pytest.raises(QueryError) as info:
        env.run(sql)
    assert str(info.value) == message
    assert env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category") == before


def test_insert_parameters_are_values_not_sql(env: Env) -> None:
    env.run(CTAS)
    injection = "x' OR '1'='1"
    res = env.run("INSERT INTO ecommerce_gold.status_daily SELECT status, 1, amount, dt FROM ecommerce_silver.orders "
                  "WHERE status = ?", [injection])
    assert res.rows == [(0,)]
    assert env.catalog.get_table("ecommerce_gold", "status_daily").version == 1  # nothing to add: unchanged
    assert env.run("SELECT count(*) FROM ecommerce_gold.status_daily").rows == [(5,)]


def test_concurrent_change_makes_the_insert_fail_instead_of_losing_rows(env: Env) -> None:
    """Another writer commits between this INSERT's read and its commit: the version guard stops it."""
    sql = "INSERT INTO ecommerce_gold.daily_revenue_by_category VALUES (DATE '2026-11-06', 'late', 1.5, 1, 1)"
    write, _whole, select = bind_write(sql, parse_statement(sql), None, None, env.catalog)  # type: ignore[arg-type]
    selected = get_engine("duckdb", env.settings, env.lake, env.catalog).execute(select)
    winner = env.run("INSERT INTO ecommerce_gold.daily_revenue_by_category VALUES "
                     "(DATE '2026-11-06', 'first', 2.5, 1, 1)")
    assert winner.rows == [(1,)]
    with pytest.raises(QueryError, match=r"the table changed while the INSERT ran .*run the INSERT again"):
        materialize(write, selected, env.catalog, env.lake, "late-query")
    rows = env.run("SELECT category FROM ecommerce_gold.daily_revenue_by_category WHERE dt = DATE '2026-11-06'").rows
    assert rows == [("first",)]
