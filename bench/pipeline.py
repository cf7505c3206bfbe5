"""Pipeline benchmark: lakeglue's bronze → silver → gold on DuckDB and on Spark vs. hand-written scripts.

One seeded raw lake shaped like the demo's (orders as JSON lines under ``dt=`` folders with
duplicates, late re-sent updates, malformed lines, a drift column and a gzip day; customers
CSV with messy values; products Parquet) is processed four ways, each in its own process
so wall time and peak memory (RSS of the whole process tree, JVM included) are its own:

* ``hand_duckdb`` — the DuckDB script a user would write: ``read_json`` (bad lines skipped),
  bronze/silver/gold Parquet with the spec's rules and columns (orders keep their items);
* ``lakeglue_duckdb`` — crawl + the DuckDB engine (quarantine, lineage, ledger, catalog, commits);
* ``lakeglue_spark`` — crawl + the Spark engine, same spec;
* ``hand_pyspark`` — the PySpark script a user would write (``DROPMALFORMED``, same rules).

All four gold outputs must be equal. Spark session start-up is reported apart and not in
the pipeline times (both Spark variants pay it alike). Ratios: lakeglue DuckDB / hand
DuckDB and lakeglue Spark / hand PySpark (goals ≤ 1.5 and ≤ 1.2).

    .venv/bin/python bench/pipeline.py [--scale 5] [--seed 7] [--keep]

``--scale`` is millions of JSON order lines (default 5). The last line is
``RESULT rows=… duckdb_ratio=… spark_ratio=… outputs_equal=true|false …``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

VARIANTS = ("hand_duckdb", "lakeglue_duckdb", "lakeglue_spark", "hand_pyspark")
DAYS = 7
START = "2026-11-01"
GZIP_DAY, DRIFT_DAY = 1, 3
MEMORY_LIMIT = os.environ.get("LAKEGLUE_DUCKDB_MEMORY_LIMIT", "3GB")
GOLD = {"daily_revenue_by_category": "dt, category", "customer_lifetime_value": "customer_id"}
STARTED = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


# -- data ------------------------------------------------------------------------------------------------------

def generate_raw(raw: Path, lines: int, seed: int) -> dict[str, Any]:
    """Write ``raw/ecommerce/{orders,customers,products}``; deterministic for a (lines, seed) pair."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakeglue.sample.entities import make_products

    orders = max(DAYS * 10, int(lines / 1.02))
    customers = max(100, orders // 100)
    base = raw / "ecommerce"
    if base.exists():
        shutil.rmtree(base)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    products = make_products()
    con.execute("CREATE TABLE products AS SELECT * FROM (VALUES " + ", ".join(
        f"({p.product_id}, {p.list_cents})" for p in products) + ") v(product_id, cents)")
    # deterministic pseudo-random draws: r(i, tag, m) is in [0, m), fixed by (i, seed, tag)
    con.execute(f"CREATE MACRO r(i, tag, m) AS CAST(hash(i, {seed}, tag) % m AS BIGINT)")
    con.execute(f"CREATE MACRO r2(i, k, tag, m) AS CAST(hash(i, k, {seed}, tag) % m AS BIGINT)")
    con.execute(f"""CREATE TABLE orders AS
        WITH base AS (
            SELECT i, CAST(i % {DAYS} AS INTEGER) AS day, i // {DAYS} AS seq FROM range({orders}) t(i)),
        drawn AS (
            SELECT *, (DATE '{START}' + day) AS dt,
                   TIMESTAMP '{START}' + INTERVAL (day) DAY + INTERVAL (r(i, 't', 86400)) SECOND AS order_ts,
                   r(i, 's', 100) AS s, r(i, 'n', 100) AS n, 1 + r(i, 'c', {customers}) AS c
            FROM base)
        SELECT i, day, dt, (CAST(strftime(dt, '%Y%m%d') AS BIGINT) * 10000000 + seq) AS order_id,
               -- every tenth customer never orders (customer value must keep them, with 0 orders)
               CASE WHEN c % 10 = 0 THEN c - 1 ELSE c END AS customer_id,
               order_ts, order_ts + INTERVAL (r(i, 'u', 900)) SECOND AS updated_at,
               CASE WHEN s < 55 THEN 'placed' WHEN s < 90 THEN 'shipped' ELSE 'cancelled' END AS status,
               CASE WHEN day >= {DRIFT_DAY} THEN ['web', 'web', 'app', 'store'][1 + r(i, 'ch', 4)] END AS channel,
               CASE WHEN n < 50 THEN 1 WHEN n < 80 THEN 2 WHEN n < 95 THEN 3 ELSE 4 END AS n_items,
               CASE WHEN day % 2 = 0 THEN r(i, 'f', 2) ELSE 0 END AS file
        FROM drawn""")
    con.execute("""CREATE TABLE items AS
        SELECT o.i, k, p.product_id, 1 + r2(o.i, k, 'q', 5) AS quantity,
               CAST(p.cents * (100 - CASE WHEN r2(o.i, k, 'd', 4) = 0 THEN 5 * (1 + r2(o.i, k, 'x', 6)) ELSE 0 END)
                    // 100 AS DECIMAL(12, 0)) / 100 AS unit_price
        FROM orders AS o, range(o.n_items) t(k)
        JOIN products AS p ON p.product_id = 501 + r2(o.i, k, 'p', 20)""")
    item_json = ("'[' || string_agg(printf('{\"product_id\": %d, \"quantity\": %d, \"unit_price\": %s}', "
                 "product_id, quantity, CAST(CAST(unit_price AS DECIMAL(12, 2)) AS VARCHAR)), ', ' ORDER BY k) || ']'")
    con.execute(f"CREATE TABLE item_text AS SELECT i, {item_json} AS items FROM items GROUP BY i")

    def line(status: str, updated: str) -> str:
        return ("printf('{\"order_id\": %d, \"customer_id\": %d, \"order_ts\": \"%s\", \"updated_at\": \"%s\", "
                "\"status\": \"%s\"%s, \"items\": %s}', o.order_id, o.customer_id, "
                f"strftime(o.order_ts, '%Y-%m-%dT%H:%M:%S'), strftime({updated}, '%Y-%m-%dT%H:%M:%S'), {status}, "
                "CASE WHEN o.channel IS NULL THEN '' ELSE ', \"channel\": \"' || o.channel || '\"' END, t.items)")

    con.execute(f"""CREATE TABLE lines AS
        SELECT o.day, o.file, r(o.i, 'order', 1000000007) AS k, {line('o.status', 'o.updated_at')} AS text
        FROM orders o JOIN item_text t USING (i)
        UNION ALL  -- at-least-once delivery: the same line twice
        SELECT o.day, o.file, r(o.i, 'dup', 1000000007), {line('o.status', 'o.updated_at')}
        FROM orders o JOIN item_text t USING (i) WHERE r(o.i, 'dup?', 100) = 0
        UNION ALL  -- a later update re-sent, possibly before the original in file order
        SELECT o.day, o.file, r(o.i, 're', 1000000007),
               {line("CASE WHEN r(o.i, 'st', 2) = 0 THEN 'cancelled' ELSE 'shipped' END",
                     "o.updated_at + INTERVAL (3600 + r(o.i, 'late', 100000)) SECOND")}
        FROM orders o JOIN item_text t USING (i) WHERE o.status = 'placed' AND r(o.i, 're?', 100) = 0
        UNION ALL  -- malformed lines: truncated objects, text, arrays
        SELECT o.day, o.file, r(o.i, 'bad', 1000000007),
               CASE r(o.i, 'kind', 3)
                    WHEN 0 THEN left({line('o.status', 'o.updated_at')}, 40)
                    WHEN 1 THEN 'ERROR 503 upstream export interrupted -- partial batch follows'
                    ELSE '["order", 0, "placed"]' END
        FROM orders o JOIN item_text t USING (i) WHERE r(o.i, 'bad?', 2000) = 0""")
    files = []
    for day in range(DAYS):
        for number in range(2 if day % 2 == 0 else 1):
            dt = con.execute(f"SELECT CAST(DATE '{START}' + {day} AS VARCHAR)").fetchone()[0]  # type: ignore[index]
            path = base / "orders" / f"dt={dt}" / f"orders-{number + 1}.jsonl{'.gz' if day == GZIP_DAY else ''}"
            path.parent.mkdir(parents=True, exist_ok=True)
            cursor = con.execute(f"SELECT text FROM lines WHERE day = {day} AND file = {number} ORDER BY k")
            opener: Any = gzip.open if day == GZIP_DAY else open
            with opener(path, "wt", encoding="utf-8") as fh:
                if day == 0 and number == 0:
                    fh.write("\n")  # a blank line: ignored, but line numbers must still count it
                while batch := cursor.fetchmany(100_000):
                    fh.write("".join(f"{row[0]}\n" for row in batch))
            files.append(path)
    total = con.execute("SELECT count(*) FROM lines").fetchone()[0]  # type: ignore[index]
    (base / "customers").mkdir(parents=True)
    rows = con.execute(f"""SELECT i,
            CASE WHEN r(i, 'pad', 10) = 0 THEN '  Customer ' || i || ' ' ELSE 'Customer ' || i END,
            CASE r(i, 'e', 12) WHEN 0 THEN '' WHEN 1 THEN '   ' WHEN 2 THEN ' User' || i || '@Example.COM '
                 ELSE 'user' || i || '@example.com' END,
            CASE r(i, 'co', 9) WHEN 0 THEN '' ELSE ['us', 'DE', ' fr', 'GB ', 'nl'][1 + r(i, 'k', 5)] END,
            CAST(DATE '2024-01-01' + CAST(r(i, 'sd', 600) AS INTEGER) AS VARCHAR)
        FROM range(1, {customers} + 1) t(i)""").fetchall()
    with open(base / "customers" / "customers.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["customer_id", "name", "email", "country", "signup_date"])
        writer.writerows(rows)
    (base / "products").mkdir(parents=True)
    pq.write_table(pa.table({"product_id": pa.array([p.product_id for p in products], pa.int64()),
                             "name": [p.name for p in products], "category": [p.category for p in products],
                             "list_price": pa.array([p.list_price for p in products], pa.float64())}),
                   base / "products" / "products.parquet")
    con.close()
    size = sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
    return {"order_lines": int(total) + 1, "orders": orders, "customers": customers, "files": len(files) + 2,
            "bytes": size}


# -- the four variants (each runs in its own process) ----------------------------------------------------------

def _link_raw(raw: Path, lake_root: Path) -> None:
    """Give a lake the shared raw files without copying them (hard links)."""
    target = lake_root / "raw"
    for path in raw.rglob("*"):
        if path.is_file():
            dest = target / path.relative_to(raw)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)


def _lakeglue(root: Path, engine: str) -> dict[str, Any]:
    from lakeglue.catalog.sql import SqlCatalog
    from lakeglue.crawler import config_for_pipeline, crawl
    from lakeglue.jobs.context import JobContext
    from lakeglue.ledger import Ledger
    from lakeglue.pipelines import load_pipeline
    from lakeglue.settings import Settings
    from lakeglue.storage import Lake

    lake_root = root / f"lakeglue_{engine}" / "lake"
    settings = Settings(lake_root=str(lake_root), duckdb_memory_limit=MEMORY_LIMIT,
                        duckdb_temp_directory=str(root / "spill"))
    lake = Lake(settings)
    lake.ensure_zones()
    _link_raw(root / "raw", lake_root)
    spec = load_pipeline("ecommerce")
    catalog, ledger = SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
    ctx = JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=ledger, batch_id="bench",
                     started_at=STARTED)
    startup = 0.0
    if engine == "spark":
        from lakeglue.jobs.spark.bronze import run_bronze
        from lakeglue.jobs.spark.gold import run_gold
        from lakeglue.jobs.spark.session import build_spark
        from lakeglue.jobs.spark.silver import run_silver

        t0 = time.perf_counter()
        spark = build_spark("bench-lakeglue", settings)
        spark.range(1).count()
        startup = time.perf_counter() - t0

        def run(job: str) -> Any:
            return {"bronze": run_bronze, "silver": run_silver, "gold": run_gold}[job](spark, ctx)
    else:
        from lakeglue.jobs.duckdb.entrypoint import run_job

        def run(job: str) -> Any:
            return run_job(job, ctx)

    stages: dict[str, float] = {}
    started = time.perf_counter()
    t0 = time.perf_counter()
    crawl(config_for_pipeline(spec), lake=lake, catalog=catalog, ledger=ledger)
    stages["crawl"] = time.perf_counter() - t0
    quarantined = 0
    for job in ("bronze", "silver", "gold"):
        t0 = time.perf_counter()
        metrics = run(job)
        stages[job] = time.perf_counter() - t0
        quarantined += metrics.rows_quarantined
    wall = time.perf_counter() - started
    gold = {t: catalog.get_table("ecommerce_gold", t).location.removeprefix("file://") for t in GOLD}
    return {"wall_s": wall, "startup_s": startup, "stages": stages, "gold": gold, "quarantined": quarantined}


_HAND_DUCKDB_GOLD = {
    "daily_revenue_by_category": """
        WITH billable AS (
            SELECT l.dt, COALESCE(p.category, 'unknown') AS category, l.order_id, l.quantity,
                   CAST(l.quantity * l.unit_price AS DECIMAL(18, 2)) AS line_revenue
            FROM silver_order_items AS l LEFT JOIN silver_products AS p ON p.product_id = l.product_id
            WHERE l.status <> 'cancelled')
        SELECT dt, category, CAST(SUM(line_revenue) AS DECIMAL(18, 2)) AS revenue,
               CAST(SUM(quantity) AS BIGINT) AS units, COUNT(DISTINCT order_id) AS orders
        FROM billable GROUP BY dt, category ORDER BY dt, category""",
    "customer_lifetime_value": """
        WITH order_values AS (
            SELECT o.order_id, o.customer_id, o.dt,
                   CAST(SUM(l.quantity * l.unit_price) AS DECIMAL(18, 2)) AS order_value
            FROM silver_orders AS o JOIN silver_order_items AS l ON l.order_id = o.order_id
            WHERE o.status <> 'cancelled' GROUP BY o.order_id, o.customer_id, o.dt),
        per_customer AS (
            SELECT customer_id, COUNT(*) AS orders, CAST(SUM(order_value) AS DECIMAL(18, 2)) AS lifetime_value,
                   MIN(dt) AS first_order_date, MAX(dt) AS last_order_date
            FROM order_values GROUP BY customer_id)
        SELECT c.customer_id, c.email, c.country, COALESCE(p.orders, 0) AS orders,
               COALESCE(p.lifetime_value, CAST(0 AS DECIMAL(18, 2))) AS lifetime_value,
               p.first_order_date, p.last_order_date
        FROM silver_customers AS c LEFT JOIN per_customer AS p ON p.customer_id = c.customer_id
        ORDER BY c.customer_id""",
}


def _hand_duckdb(root: Path) -> dict[str, Any]:
    """What a user would write by hand with DuckDB: typed reads, bad lines skipped, Parquet per layer."""
    import duckdb

    raw, out = root / "raw" / "ecommerce", root / "hand_duckdb"
    out.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{root / 'spill'}'")
    con.execute("SET TimeZone = 'UTC'")
    stages: dict[str, float] = {}
    started = t0 = time.perf_counter()
    con.execute(f"""COPY (
        SELECT *, filename AS _source_file, now() AS _ingested_at
        FROM read_json('{raw}/orders/*/*', format = 'newline_delimited', ignore_errors = true, filename = true,
                       hive_partitioning = true, hive_types = {{'dt': 'DATE'}},
                       columns = {{'order_id': 'BIGINT', 'customer_id': 'BIGINT', 'order_ts': 'TIMESTAMP',
                                   'updated_at': 'TIMESTAMP', 'status': 'VARCHAR',
                                   'items': 'STRUCT(product_id BIGINT, quantity INTEGER, unit_price DECIMAL(12,2))[]',
                                   'channel': 'VARCHAR'}})
    ) TO '{out}/bronze_orders' (FORMAT parquet, PARTITION_BY (dt))""")
    con.execute(f"COPY (SELECT *, filename AS _source_file FROM read_csv('{raw}/customers/*.csv', header = true, "
                f"all_varchar = true, filename = true)) TO '{out}/bronze_customers.parquet' (FORMAT parquet)")
    con.execute(f"COPY (SELECT *, filename AS _source_file FROM read_parquet('{raw}/products/*.parquet', "
                f"filename = true)) TO '{out}/bronze_products.parquet' (FORMAT parquet)")
    stages["bronze"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute(f"""CREATE VIEW bronze_orders AS SELECT * FROM read_parquet('{out}/bronze_orders/*/*.parquet',
                    hive_partitioning = true, hive_types = {{'dt': 'DATE'}})""")
    con.execute("""CREATE VIEW latest_orders AS SELECT * FROM bronze_orders WHERE order_id IS NOT NULL
                    QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1""")
    con.execute(f"""COPY (SELECT order_id, customer_id, order_ts, updated_at, lower(trim(status)) AS status, channel,
                                 items, _source_file, dt FROM latest_orders)
                    TO '{out}/silver_orders' (FORMAT parquet, PARTITION_BY (dt))""")
    con.execute(f"""COPY (SELECT o.order_id, CAST(u.pos AS INTEGER) AS line_no, u.item.product_id,
                                 u.item.quantity, u.item.unit_price, lower(trim(o.status)) AS status, o.updated_at,
                                 o.dt
                          FROM latest_orders AS o, unnest(o.items) WITH ORDINALITY AS u(item, pos))
                    TO '{out}/silver_order_items' (FORMAT parquet, PARTITION_BY (dt))""")
    con.execute(f"""COPY (SELECT TRY_CAST(customer_id AS BIGINT) AS customer_id, trim(name) AS name,
                                 nullif(lower(trim(email)), '') AS email, nullif(upper(trim(country)), '') AS country,
                                 TRY_CAST(signup_date AS DATE) AS signup_date
                          FROM read_parquet('{out}/bronze_customers.parquet')
                          QUALIFY row_number() OVER (PARTITION BY customer_id) = 1)
                    TO '{out}/silver_customers.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT product_id, trim(name) AS name, lower(trim(category)) AS category,
                                 CAST(list_price AS DECIMAL(12, 2)) AS list_price
                          FROM read_parquet('{out}/bronze_products.parquet'))
                    TO '{out}/silver_products.parquet' (FORMAT parquet)""")
    stages["silver"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for name in ("orders", "order_items"):
        con.execute(f"CREATE VIEW silver_{name} AS SELECT * FROM read_parquet('{out}/silver_{name}/*/*.parquet', "
                    "hive_partitioning = true, hive_types = {'dt': 'DATE'})")
    for name in ("customers", "products"):
        con.execute(f"CREATE VIEW silver_{name} AS SELECT * FROM read_parquet('{out}/silver_{name}.parquet')")
    gold = {}
    for table, sql in _HAND_DUCKDB_GOLD.items():
        gold[table] = str(out / f"gold_{table}")
        os.makedirs(gold[table])
        con.execute(f"COPY ({sql}) TO '{gold[table]}/part-0.parquet' (FORMAT parquet)")
    stages["gold"] = time.perf_counter() - t0
    return {"wall_s": time.perf_counter() - started, "startup_s": 0.0, "stages": stages, "gold": gold}


def _hand_pyspark(root: Path) -> dict[str, Any]:
    """What a user would write by hand with PySpark: DROPMALFORMED reads, window dedupe, Spark SQL gold."""
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F

    from lakeglue.settings import get_settings

    raw, out = root / "raw" / "ecommerce", root / "hand_pyspark"
    t0 = time.perf_counter()
    settings = get_settings()
    spark = (SparkSession.builder.master(settings.spark_master).appName("bench-hand-pyspark")
             .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
             .config("spark.driver.memory", os.environ.get("LAKEGLUE_SPARK_DRIVER_MEMORY", "2g")).getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    spark.range(1).count()
    startup = time.perf_counter() - t0
    stages: dict[str, float] = {}
    started = t0 = time.perf_counter()
    schema = ("order_id bigint, customer_id bigint, order_ts timestamp, updated_at timestamp, status string, "
              "items array<struct<product_id:bigint,quantity:int,unit_price:decimal(12,2)>>, channel string")
    orders = (spark.read.schema(schema).option("mode", "DROPMALFORMED").json(f"file://{raw}/orders")
              .withColumn("_source_file", F.input_file_name()).withColumn("_ingested_at", F.current_timestamp()))
    orders.write.partitionBy("dt").parquet(f"file://{out}/bronze_orders")
    spark.read.option("header", "true").csv(f"file://{raw}/customers").withColumn(
        "_source_file", F.input_file_name()).write.parquet(f"file://{out}/bronze_customers")
    spark.read.parquet(f"file://{raw}/products").withColumn(
        "_source_file", F.input_file_name()).write.parquet(f"file://{out}/bronze_products")
    stages["bronze"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bronze = spark.read.parquet(f"file://{out}/bronze_orders").filter(F.col("order_id").isNotNull())
    latest = (bronze.withColumn("_rn", F.row_number().over(Window.partitionBy("order_id")
                                                           .orderBy(F.col("updated_at").desc())))
              .filter("_rn = 1").drop("_rn").withColumn("status", F.lower(F.trim("status"))))
    latest.select("order_id", "customer_id", "order_ts", "updated_at", "status", "channel", "items", "_source_file",
                  "dt") \
        .write.partitionBy("dt").parquet(f"file://{out}/silver_orders")
    latest.select("order_id", "status", "updated_at", "dt", F.posexplode("items").alias("pos", "item")) \
        .select("order_id", (F.col("pos") + 1).cast("int").alias("line_no"), "item.product_id", "item.quantity",
                "item.unit_price", "status", "updated_at", "dt") \
        .write.partitionBy("dt").parquet(f"file://{out}/silver_order_items")
    customers = spark.read.parquet(f"file://{out}/bronze_customers").select(
        F.col("customer_id").try_cast("bigint").alias("customer_id"), F.trim("name").alias("name"),
        F.expr("nullif(lower(trim(email)), '')").alias("email"),
        F.expr("nullif(upper(trim(country)), '')").alias("country"),
        F.col("signup_date").try_cast("date").alias("signup_date")).dropDuplicates(["customer_id"])
    customers.write.parquet(f"file://{out}/silver_customers")
    spark.read.parquet(f"file://{out}/bronze_products").select(
        "product_id", F.trim("name").alias("name"), F.lower(F.trim("category")).alias("category"),
        F.col("list_price").cast("decimal(12,2)").alias("list_price")).write.parquet(f"file://{out}/silver_products")
    stages["silver"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for name in ("orders", "order_items", "customers", "products"):
        spark.read.parquet(f"file://{out}/silver_{name}").createOrReplaceTempView(f"silver_{name}")
    gold = {}
    for table, sql in _HAND_DUCKDB_GOLD.items():  # plain ANSI SQL: the same text runs on Spark
        gold[table] = str(out / f"gold_{table}")
        spark.sql(sql).coalesce(1).write.parquet(f"file://{gold[table]}")
    stages["gold"] = time.perf_counter() - t0
    wall = time.perf_counter() - started
    spark.stop()
    return {"wall_s": wall, "startup_s": startup, "stages": stages, "gold": gold}


def run_variant(name: str, root: Path) -> dict[str, Any]:
    if name == "hand_duckdb":
        return _hand_duckdb(root)
    if name == "hand_pyspark":
        return _hand_pyspark(root)
    return _lakeglue(root, name.removeprefix("lakeglue_"))


# -- measuring --------------------------------------------------------------------------------------------------

def _tree_sample(pid: int) -> tuple[int, dict[int, float]]:
    """Resident bytes of a process and all its descendants (the JVM of a Spark variant included), and
    the CPU seconds (user + sys) each of them has used so far."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    page, ticks = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * page
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    total, seen, stack = 0, {}, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        seen[current] = cpu.get(current, 0.0)
        stack.extend(children.get(current, []))
    return total, seen


def wait_sampling(proc: subprocess.Popen[bytes], sample: Callable[[], None], every: float) -> bytes:
    """Wait for ``proc`` while a thread calls ``sample()`` every ``every`` seconds; the process's stderr."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            sample()
            stop.wait(every)

    sampler = threading.Thread(target=loop, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    stop.set()
    sampler.join()
    return stderr


def measure(name: str, root: Path) -> dict[str, Any]:
    """Run a variant in its own process; sample its tree's RSS and CPU until it ends.

    CPU seconds are the larger of the kernel's account of the child (and of what it waited for) and
    the sum of the sampled per-process CPU of its tree: pyspark never waits for its JVM, so only the
    samples see the JVM's CPU (less its last 0.2 s); for DuckDB the kernel's account is exact."""
    out = root / f"{name}.json"
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([sys.executable, __file__, "--child", name, "--root", str(root), "--out", str(out)],
                            env={**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    tree_cpu: dict[int, float] = {}

    def sample() -> None:
        nonlocal peak
        rss, cpu = _tree_sample(proc.pid)
        peak = max(peak, rss)
        for pid, seconds in cpu.items():
            tree_cpu[pid] = max(tree_cpu.get(pid, 0.0), seconds)

    stderr = wait_sampling(proc, sample, every=0.2)
    if proc.returncode != 0:
        raise SystemExit(f"variant {name} failed ({proc.returncode}):\n{stderr.decode(errors='replace')[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["peak_mb"] = peak / 2**20
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    result["cpu_s"] = max(waited, sum(tree_cpu.values()))
    return result


def gold_rows(locations: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    import duckdb

    con = duckdb.connect()
    rows = {}
    for table, order in GOLD.items():
        rows[table] = con.execute(f"SELECT * FROM read_parquet('{locations[table]}/**/*.parquet', "
                                  f"hive_partitioning = false) ORDER BY {order}").fetchall()
    con.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=5.0, help="millions of JSON order lines (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--only", choices=("duckdb", "spark"), help="run only that engine's pair (no RESULT ratio "
                                                                  "for the other)")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        Path(args.out).write_text(json.dumps(run_variant(args.child, Path(args.root))))
        return 0

    root = Path(tempfile.mkdtemp(prefix="lakeglue-bench-pipeline-"))
    try:
        t0 = time.perf_counter()
        data = generate_raw(root / "raw", int(args.scale * 1_000_000), args.seed)
        print(f"raw data: {data['order_lines']:,} order lines ({data['orders']:,} orders), {data['customers']:,} "
              f"customers, {data['files']} files, {data['bytes'] / 2**20:.0f} MiB, generated in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        results = {}
        variants = [v for v in VARIANTS if not args.only or v.endswith(args.only) or
                    (args.only == "spark" and v == "hand_pyspark")]
        for name in variants:
            results[name] = measure(name, root)
            r = results[name]
            stages = "  ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
            print(f"{name:16s} {r['wall_s']:7.1f} s  cpu {r['cpu_s']:6.1f} s  peak {r['peak_mb']:6.0f} MiB  "
                  f"(start-up {r['startup_s']:.1f} s; "
                  f"{stages})", flush=True)
        golds = {name: gold_rows(r["gold"]) for name, r in results.items()}
        reference_name = variants[0]
        reference = golds[reference_name]
        equal = all(g == reference for g in golds.values()) and all(reference[t] for t in GOLD)
        for name, g in golds.items():
            for table in GOLD:
                if g[table] != reference[table]:
                    print(f"gold {table} of {name} differs from {reference_name}: {len(g[table])} vs "
                          f"{len(reference[table])} rows", flush=True)
        print(f"gold rows: {', '.join(f'{t} {len(reference[t])}' for t in GOLD)}; lakeglue quarantined " + ", ".join(
            f"{results[v]['quarantined']} rows on {v.removeprefix('lakeglue_')}" for v in variants
            if v.startswith("lakeglue")))
        fields = [f"rows={data['order_lines']}", *(f"{v}_s={results[v]['wall_s']:.1f}" for v in variants),
                  *(f"{v}_cpu_s={results[v]['cpu_s']:.1f}" for v in variants)]
        for engine, hand in (("duckdb", "hand_duckdb"), ("spark", "hand_pyspark")):
            if f"lakeglue_{engine}" in results and hand in results:
                ours, theirs = results[f"lakeglue_{engine}"], results[hand]
                fields += [f"{engine}_ratio={ours['wall_s'] / theirs['wall_s']:.2f}",
                           f"{engine}_cpu_ratio={ours['cpu_s'] / theirs['cpu_s']:.2f}",  # steadier on a busy machine
                           f"{engine}_peak_ratio={ours['peak_mb'] / theirs['peak_mb']:.2f}",
                           f"{engine}_peak_mb={ours['peak_mb']:.0f}"]
        print("RESULT " + " ".join([*fields, f"outputs_equal={'true' if equal else 'false'}"]))
        return 0 if equal else 1
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
