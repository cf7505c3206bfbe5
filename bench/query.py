"""Query-layer benchmark: Trino SQL through lakeglue.query vs. hand-written DuckDB on the same Parquet files.

A seeded, dt-partitioned sales table (Spark-style ``dt=YYYY-MM-DD/`` folders) and a small
products table are registered in a SQLite catalog. Each query runs through
``run_query`` (parse, catalog checks, type-aware transpile, sandboxed views, result
conversion; ``output=None`` so no result files) and, as the reference a user would
otherwise write, as DuckDB SQL over ``read_parquet(..., hive_partitioning = true)`` in one
plain connection. Both must return the same rows. Each side runs ``--repeat`` times; the
median is compared. Target: ratio ≤ 1.2. With ``--with-results`` the lakeglue side also
writes result.csv + metadata.json (reported separately as ``ratio_with_results``).

    .venv/bin/python bench/query.py [--rows 3000000] [--days 30] [--repeat 5]

The last line is ``RESULT queries=… ratio=… results_equal=… …``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from lakeglue.catalog import Column, Partition, StorageDescriptor, Table  # noqa: E402
from lakeglue.catalog.sql import SqlCatalog  # noqa: E402
from lakeglue.query import run_query  # noqa: E402
from lakeglue.settings import Settings  # noqa: E402
from lakeglue.storage.zones import Lake  # noqa: E402

START = date(2026, 1, 1)
CATEGORIES = ["books", "toys", "games", "garden", "music", "tools"]

#: name → (Trino SQL for lakeglue, DuckDB SQL over {sales} / {products} readers, parameters)
QUERIES: dict[str, tuple[str, str, list[Any]]] = {
    "daily_revenue": (
        "SELECT dt, sum(amount) AS revenue, count(*) AS orders FROM bench.sales GROUP BY dt ORDER BY dt",
        "SELECT dt, sum(amount) AS revenue, count(*) AS orders FROM {sales} GROUP BY dt ORDER BY dt", []),
    "one_day_by_category": (
        "SELECT p.category, sum(s.amount) AS revenue, sum(s.quantity) AS units FROM bench.sales AS s "
        "JOIN bench.products AS p ON p.product_id = s.product_id WHERE s.dt = ? GROUP BY p.category "
        "ORDER BY p.category",
        "SELECT p.category, sum(s.amount) AS revenue, CAST(sum(s.quantity) AS BIGINT) AS units FROM {sales} AS s "
        "JOIN {products} AS p ON p.product_id = s.product_id WHERE s.dt = DATE '2026-01-15' GROUP BY p.category "
        "ORDER BY p.category", [date(2026, 1, 15)]),
    "top_customers": (
        "SELECT customer_id, sum(amount) AS spent FROM bench.sales WHERE dt BETWEEN ? AND ? "
        "GROUP BY customer_id ORDER BY spent DESC, customer_id LIMIT 20",
        "SELECT customer_id, sum(amount) AS spent FROM {sales} WHERE dt BETWEEN DATE '2026-01-01' AND DATE "
        "'2026-01-07' GROUP BY customer_id ORDER BY spent DESC, customer_id LIMIT 20",
        [date(2026, 1, 1), date(2026, 1, 7)]),
    "distinct_customers_window": (
        "SELECT dt, approx_distinct(customer_id) AS customers, "
        "rank() OVER (ORDER BY count(*) DESC) AS busiest FROM bench.sales GROUP BY dt ORDER BY dt",
        "SELECT dt, count(DISTINCT customer_id) AS customers, rank() OVER (ORDER BY count(*) DESC) AS busiest "
        "FROM {sales} GROUP BY dt ORDER BY dt", []),
    "filtered_scan": (
        "SELECT count(*) AS n, avg(quantity) AS q FROM bench.sales WHERE amount > ? AND channel = ?",
        "SELECT count(*) AS n, avg(quantity) AS q FROM {sales} WHERE amount > 450 AND channel = 'app'",
        [450, "app"]),
}


def generate(lake: Lake, catalog: SqlCatalog, rows: int, days: int, seed: int) -> tuple[str, str]:
    """Write the tables like Spark would and register them with their partitions; returns their roots."""
    rng = np.random.default_rng(seed)
    sales_root = Path(lake.path("curated", "bench", "sales", "v-bench"))
    per_day = rows // days
    catalog.ensure_database("bench")
    partitions = []
    for i in range(days):
        day = START + timedelta(days=i)
        folder = sales_root / f"dt={day.isoformat()}"
        folder.mkdir(parents=True)
        raw = pa.table({
            "order_id": pa.array(np.arange(i * per_day, (i + 1) * per_day), pa.int64()),
            "customer_id": pa.array(rng.integers(1, 50_000, per_day), pa.int64()),
            "product_id": pa.array(rng.integers(1, 501, per_day), pa.int64()),
            "quantity": pa.array(rng.integers(1, 6, per_day), pa.int32()),
            "cents": pa.array(rng.integers(100, 50_000, per_day), pa.int64()),
            "channel": pa.array(rng.choice(["web", "app", "store"], per_day)),
        })
        # exact decimal(12,2) amounts from integer cents (cents / 100.0 is exact enough to round back)
        table = duckdb.from_arrow(raw).project(
            "order_id, customer_id, product_id, quantity, CAST(cents / 100.0 AS DECIMAL(12,2)) AS amount, channel"
        ).to_arrow_table()
        pq.write_table(table, folder / "part-00000.snappy.parquet")
        partitions.append(Partition("bench", "sales", (day.isoformat(),), StorageDescriptor.for_format(
            "parquet", (), "file://" + str(folder))))
    columns = (Column("order_id", "bigint"), Column("customer_id", "bigint"), Column("product_id", "bigint"),
               Column("quantity", "int"), Column("amount", "decimal(12,2)"), Column("channel", "string"))
    catalog.create_table(Table("bench", "sales", StorageDescriptor.for_format("parquet", columns,
                               "file://" + str(sales_root)), partition_keys=(Column("dt", "date"),),
                               parameters={"classification": "parquet"}))
    catalog.batch_create_partitions(partitions)
    products_root = Path(lake.path("curated", "bench", "products", "v-bench"))
    products_root.mkdir(parents=True)
    pq.write_table(pa.table({"product_id": pa.array(range(1, 501), pa.int64()),
                             "category": [CATEGORIES[i % len(CATEGORIES)] for i in range(500)]}),
                   products_root / "part-00000.snappy.parquet")
    catalog.create_table(Table("bench", "products", StorageDescriptor.for_format(
        "parquet", (Column("product_id", "bigint"), Column("category", "string")), "file://" + str(products_root)),
        parameters={"classification": "parquet"}))
    return str(sales_root), str(products_root)


def timed(fn: Callable[..., Any], repeat: int) -> tuple[float, Any, float]:
    """Median wall seconds, the last result and median CPU seconds of this process (all its threads).

    CPU time is reported beside wall time because the machines are shared: wall time grows with
    other people's load, CPU time is what each side itself spent.
    """
    times, cpus, result = [], [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(times), result, statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--with-results", action="store_true", help="also time runs that write result files")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lakeglue-bench-query-"))
    try:
        settings = Settings(lake_root=str(workdir / "lake"), catalog_url=f"sqlite:///{workdir / 'catalog.db'}")
        lake, catalog = Lake(settings), SqlCatalog(settings.catalog_url)
        started = time.perf_counter()
        sales_root, products_root = generate(lake, catalog, args.rows, args.days, args.seed)
        print(f"generated {args.rows:,} sales rows over {args.days} days in {time.perf_counter() - started:.1f} s")
        readers = {"sales": f"read_parquet('{sales_root}/*/*.parquet', hive_partitioning = true)",
                   "products": f"read_parquet('{products_root}/*.parquet')"}
        plain = duckdb.connect(":memory:")
        plain.execute("SET threads = 2")  # the query layer's engine uses 2 threads too

        rows_out: list[tuple[str, float, float, float | None, bool, float, float]] = []
        for name, (trino_sql, duck_sql, params) in QUERIES.items():
            def ours(sql: str = trino_sql, values: list[Any] = params, output: Any = None) -> list[tuple[Any, ...]]:
                return run_query(sql, values, output=output, catalog=catalog, lake=lake, settings=settings).rows

            reference_sql = duck_sql.format(**readers)
            ref_s, ref_rows, ref_cpu = timed(lambda q=reference_sql: plain.execute(q).fetchall(), args.repeat)
            our_s, our_rows, our_cpu = timed(ours, args.repeat)
            with_results = timed(lambda: ours(output="csv"), args.repeat)[0] if args.with_results else None
            rows_out.append((name, our_s, ref_s, with_results, our_rows == [tuple(r) for r in ref_rows], our_cpu,
                             ref_cpu))

        print(f"\n{'query':<28} {'lakeglue s':>11} {'duckdb s':>9} {'ratio':>6} {'cpu ratio':>9}  equal"
              + ("  with results s" if args.with_results else ""))
        for name, our_s, ref_s, with_results, equal, our_cpu, ref_cpu in rows_out:
            extra = f"  {with_results:>14.3f}" if with_results is not None else ""
            print(f"{name:<28} {our_s:>11.3f} {ref_s:>9.3f} {our_s / ref_s:>6.2f} {our_cpu / ref_cpu:>9.2f}  "
                  f"{str(equal).lower()}{extra}")
        total_ours = sum(r[1] for r in rows_out)
        total_ref = sum(r[2] for r in rows_out)
        equal_all = all(r[4] for r in rows_out)
        cpu_ratio = sum(r[5] for r in rows_out) / sum(r[6] for r in rows_out)
        result = (f"RESULT queries={len(rows_out)} rows={args.rows} ratio={total_ours / total_ref:.2f} "
                  f"cpu_ratio={cpu_ratio:.2f} lakeglue_s={total_ours:.3f} duckdb_s={total_ref:.3f} "
                  f"results_equal={str(equal_all).lower()}")
        if args.with_results:
            total_with = sum(r[3] or 0.0 for r in rows_out)
            result += f" ratio_with_results={total_with / total_ref:.2f}"
        print(result)
        return 0 if equal_all else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
