"""A running bronze job logs where it is, at a steady rate, on both engines.

DuckDB: the job is held at a fault point inside the write of its second table (the honest
stand-in for a slow write), and its output, which the worker streams into the task log, must
show progress lines naming that table, the first table's files and rows, and the step. Spark:
the status of a running action is what the progress line adds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lakeglue.jobs.progress import spark_status
from tests.integration.test_duckdb_jobs import Env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_a_duckdb_bronze_job_held_in_a_write_logs_progress_every_second(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.crawl()
    child_env = {**os.environ, "LAKEGLUE_HOME": env.settings.lake_root, "LAKEGLUE_PROGRESS_SECONDS": "1",
                 "LAKEGLUE_FAULT_POINT": "bronze.orders.before_commit", "LAKEGLUE_FAULT_HOLD_SECONDS": "3.5",
                 "LAKEGLUE_DUCKDB_TEMP_DIRECTORY": env.settings.duckdb_temp_directory}
    child_env.pop("LAKEGLUE_CATALOG_URL", None)
    ran = subprocess.run([sys.executable, "-m", "lakeglue.jobs.duckdb.entrypoint", "--job", "bronze", "--pipeline",
                          "ecommerce", "--run-id", "slow-run"], env=child_env, capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert ran.returncode != 0 and "fault point bronze.orders.before_commit held" in ran.stderr, ran.stderr[-3000:]
    customers = len(list((env.raw_root / "ecommerce" / "customers").rglob("*.csv")))
    orders = len([p for p in (env.raw_root / "ecommerce" / "orders").rglob("*") if p.is_file()])
    held = [line for line in ran.stdout.splitlines() if "step: quarantining rejects and writing the batch" in line]
    assert len(held) >= 2, ran.stdout[-3000:]  # 3.5 s held, a line a second (the first at 1 s after the start)
    pattern = (rf"progress bronze: table orders \(2/3\): {orders} files \([\d.]+ [KM]?B\); "
               rf"{customers} files and ([\d,]+) rows done; step: quarantining rejects and writing the batch; \d+ s")
    assert all(re.fullmatch(pattern, line) for line in held), held
    first = re.fullmatch(pattern, held[0])
    assert first is not None
    customer_rows = len(env.rows("bronze", "customers", ["_line"]))  # committed before orders was held
    assert int(first.group(1).replace(",", "")) == customer_rows > 0


@pytest.mark.spark
def test_spark_status_reports_tasks_of_the_running_stage(spark: object) -> None:
    status = spark_status(spark)
    assert status() is None  # nothing running
    seen: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + 60
        while not seen and time.monotonic() < deadline:
            text = status()
            if text:
                seen.append(text)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    spark.range(0, 40_000_000, numPartitions=8).selectExpr(  # type: ignore[attr-defined]
        "sum(crc32(cast(id as string)))").collect()
    watcher.join()
    assert seen and re.fullmatch(r"spark: \d+/8 tasks of 1 running stage", seen[0]), seen
