"""Bronze → silver → gold on the generated sample lake, checked against an independent oracle.

One module-scoped lake and Spark session: the stages build on each other, as in a run.
"""

from __future__ import annotations

import json
import posixpath
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import CrawlerConfig, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.spark.bronze import run_bronze
from lakeglue.jobs.spark.catalog_io import read_table
from lakeglue.jobs.spark.gold import run_gold
from lakeglue.jobs.spark.silver import run_silver
from lakeglue.ledger import Ledger
from lakeglue.pipelines import load_pipeline
from lakeglue.sample import generate
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from tests.support.expected_gold import ExpectedGold

pytestmark = [pytest.mark.spark, pytest.mark.slow]


class Env:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(lake_root=str(root / "lake"), spark_shuffle_partitions=2)
        self.lake = Lake(self.settings)
        self.lake.ensure_zones()
        self.raw_root = Path(self.lake.path("raw"))
        self.manifest = generate(self.raw_root, scale=1, seed=7)
        self.spec = load_pipeline("ecommerce")
        self.catalog = SqlCatalog(self.settings.catalog_url)
        self.ledger = Ledger(self.settings.catalog_url)

    def crawl(self) -> Any:
        cfg = CrawlerConfig(database=self.spec.database_for("raw"), zone="raw", prefix="ecommerce",
                            source_prefix="ecommerce", excludes=list(self.spec.source.excludes))
        return crawl(cfg, lake=self.lake, catalog=self.catalog, ledger=self.ledger)

    def ctx(self, run_id: str, **kw: Any) -> JobContext:
        return JobContext(spec=self.spec, settings=self.settings, lake=self.lake, catalog=self.catalog,
                          ledger=self.ledger, batch_id=run_id, started_at=datetime.now(UTC), **kw)


def rows(spark: Any, env: Env, layer: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    df = read_table(spark, env.catalog, env.spec.database_for(layer), table)
    return sorted(tuple(r) for r in df.select(*columns).collect())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Env:
    e = Env(tmp_path_factory.mktemp("spark-jobs"))
    e.crawl()
    return e


@pytest.fixture(scope="module")
def first_run(env: Env, spark: Any) -> dict[str, Any]:

    ctx = env.ctx("run1")
    ctx.started_at = datetime(2026, 11, 23, tzinfo=UTC)
    return {"bronze": run_bronze(spark, ctx), "silver": run_silver(spark, ctx), "gold": run_gold(spark, ctx)}


def test_bronze_quarantines_each_malformed_line_with_file_line_and_reason(env: Env, first_run: dict[str, Any]) -> None:
    oracle = ExpectedGold(env.raw_root)
    orders = next(t for t in first_run["bronze"].tables if t.table.endswith(".orders"))
    assert orders.rows_quarantined == env.manifest.malformed_lines == 3
    assert orders.rows_written == env.manifest.order_records
    qdir = Path(env.lake.path("quarantine", "ecommerce", "bronze", "orders", "_batch_id=run1"))
    records = [json.loads(line) for f in sorted(qdir.glob("*.json")) for line in f.read_text().splitlines()]
    got = sorted(f"{r['source_file'].removeprefix('file://')}:{r['line']}" for r in records)
    expected = sorted(posixpath.join(str(env.raw_root), p) if not p.startswith("/") else p
                      for p in oracle.quarantined_lines())
    assert got == expected
    assert {r["reason"] for r in records} <= {"malformed JSON: not a complete object", "not a JSON object"}
    assert all(r["raw"] for r in records)


def test_bronze_keeps_lineage_columns(env: Env, spark: Any, first_run: dict[str, Any]) -> None:
    df = read_table(spark, env.catalog, "ecommerce_bronze", "orders")
    assert {"_source_file", "_line", "_ingested_at", "_batch_id", "dt"} <= set(df.columns)
    assert {r["_batch_id"] for r in df.select("_batch_id").distinct().collect()} == {"run1"}
    files = {r["_source_file"].rsplit("/", 1)[-1] for r in df.select("_source_file").distinct().collect()}
    assert files == {Path(p).name for p in env.manifest.files if "/orders/" in p}


def test_silver_orders_are_deduplicated_latest_wins(env: Env, spark: Any, first_run: dict[str, Any]) -> None:
    oracle = ExpectedGold(env.raw_root)
    got = rows(spark, env, "silver", "orders", ["order_id"])
    assert len(got) == len(set(got)) == oracle.silver_order_count()
    assert len(rows(spark, env, "silver", "order_items", ["order_id", "line_no"])) == oracle.silver_order_item_count()
    assert len(rows(spark, env, "silver", "customers", ["customer_id"])) == oracle.silver_customer_count()


def test_silver_schema_is_typed_and_keeps_the_drift_column(env: Env, first_run: dict[str, Any]) -> None:
    orders = env.catalog.get_table("ecommerce_silver", "orders")
    types = {c.name: c.type for c in orders.all_columns()}
    assert types["order_id"] == "bigint" and types["order_ts"] == "timestamp" and types["dt"] == "date"
    assert types["channel"] == "string"
    items = {c.name: c.type for c in env.catalog.get_table("ecommerce_silver", "order_items").all_columns()}
    assert items["unit_price"] == "decimal(12,2)" and items["quantity"] == "int" and items["line_no"] == "int"
    assert [p.values for p in env.catalog.get_partitions("ecommerce_silver", "orders")] == [
        (f"2026-11-0{d}",) for d in range(1, 8)]


def test_drift_column_is_null_before_it_appeared(env: Env, spark: Any, first_run: dict[str, Any]) -> None:
    got = rows(spark, env, "silver", "orders", ["dt", "channel"])
    before = {c for d, c in got if d < env.manifest.drift_from}
    after = {c for d, c in got if d >= env.manifest.drift_from}
    assert before == {None}
    assert after <= {"web", "app", "store"} and len(after) == 3


def test_gold_equals_the_independent_oracle(env: Env, spark: Any, first_run: dict[str, Any]) -> None:
    oracle = ExpectedGold(env.raw_root)
    revenue = rows(spark, env, "gold", "daily_revenue_by_category", ["dt", "category", "revenue", "units", "orders"])
    assert revenue == sorted((r["dt"], r["category"], r["revenue"], r["units"], r["orders"])
                             for r in oracle.daily_revenue_by_category())
    clv = rows(spark, env, "gold", "customer_lifetime_value",
               ["customer_id", "email", "country", "orders", "lifetime_value", "first_order_date", "last_order_date"])
    assert clv == sorted(tuple(r.values()) for r in oracle.customer_lifetime_value())
    types = {c.name: c.type for c in env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category").columns}
    assert types == {"dt": "date", "category": "string", "revenue": "decimal(18,2)", "units": "bigint",
                     "orders": "bigint"}


def test_second_run_reads_nothing_new_and_gold_is_identical(env: Env, spark: Any, first_run: dict[str, Any]) -> None:
    before = rows(spark, env, "gold", "customer_lifetime_value", ["customer_id", "orders", "lifetime_value"])
    ctx = env.ctx("run2")
    bronze = run_bronze(spark, ctx)
    assert {t.skipped_reason for t in bronze.tables} == {"no new files since the last batch"}
    silver = run_silver(spark, ctx)
    assert {t.skipped_reason for t in silver.tables} == {"no new bronze batches since the last silver version"}
    run_gold(spark, ctx)
    assert rows(spark, env, "gold", "customer_lifetime_value", ["customer_id", "orders", "lifetime_value"]) == before


def test_new_file_is_picked_up_alone_and_rerun_replaces_its_batch(env: Env, spark: Any,
                                                                  first_run: dict[str, Any]) -> None:
    day = env.raw_root / "ecommerce" / "orders" / "dt=2026-11-08"
    day.mkdir()
    lines = [{"order_id": 9000000001 + i, "customer_id": 1, "order_ts": "2026-11-08T09:00:00",
              "updated_at": "2026-11-08T09:00:00", "status": "placed", "channel": "web",
              "items": [{"product_id": 1, "quantity": 2, "unit_price": "10.25"}]} for i in range(2)]
    (day / "late.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    env.crawl()
    for attempt in range(2):  # the second attempt is a retry of the same run: same batch, replaced
        bronze = run_bronze(spark, env.ctx("run3"))
        orders = next(t for t in bronze.tables if t.table.endswith(".orders"))
        assert (orders.files_read, orders.rows_written) == (1, 2), attempt
    parts = env.catalog.get_partitions("ecommerce_bronze", "orders")
    assert sorted(p.values[0] for p in parts) == ["run1", "run3"]
    old_part = next(p for p in env.catalog.get_partitions("ecommerce_silver", "orders") if p.values == ("2026-11-01",))
    old_files = {f.name: f.stat().st_ino for f in Path(old_part.location.removeprefix("file://")).glob("*.parquet")}
    silver = run_silver(spark, env.ctx("run3"))
    orders_metrics = next(t for t in silver.tables if t.table == "ecommerce_silver.orders")
    assert orders_metrics.rows_read == 2, "only the new partition's bronze rows are recomputed"
    assert env.catalog.get_table("ecommerce_silver", "orders").parameters["partitions_rewritten"] == "1"
    new_part = next(p for p in env.catalog.get_partitions("ecommerce_silver", "orders") if p.values == ("2026-11-01",))
    assert new_part.location != old_part.location
    carried = {f.name: f.stat().st_ino for f in Path(new_part.location.removeprefix("file://")).glob("*.parquet")}
    assert carried == old_files, "untouched partitions are carried over as the same files (hard links)"
    got = rows(spark, env, "silver", "order_items", ["order_id", "unit_price"])
    late = [r for r in got if 9000000000 < r[0] < 9000000100]
    assert late == [(9000000001, Decimal("10.25")), (9000000002, Decimal("10.25"))]
    assert sum(1 for r in rows(spark, env, "silver", "orders", ["dt"]) if r[0] == date(2026, 11, 8)) == 2


def test_failed_commit_leaves_previous_silver_table_readable(env: Env, spark: Any, first_run: dict[str, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    before_table = env.catalog.get_table("ecommerce_silver", "customers")
    before_rows = rows(spark, env, "silver", "customers", ["customer_id", "email"])

    def boom(staged: str, final: str) -> None:
        raise OSError("disk vanished mid-commit")

    ctx = env.ctx("run4", full_refresh=True)
    monkeypatch.setattr(ctx.lake, "commit", boom)
    with pytest.raises(OSError, match="mid-commit"):
        run_silver(spark, ctx)
    after = env.catalog.get_table("ecommerce_silver", "customers")
    assert (after.version, after.location) == (before_table.version, before_table.location)
    assert rows(spark, env, "silver", "customers", ["customer_id", "email"]) == before_rows


def _run_until_fault(env: Env, tmp_path: Path, job: str, run_id: str, fault: str, *extra: str) -> None:
    """Start the job as its own process, wait until it reaches ``fault``, then SIGKILL it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    signal_file = tmp_path / "reached"
    proc_env = {**os.environ, "LAKEGLUE_HOME": env.settings.lake_root, "LAKEGLUE_FAULT_POINT": fault,
                "LAKEGLUE_FAULT_SIGNAL": str(signal_file), "LAKEGLUE_FAULT_HOLD_SECONDS": "300"}
    proc_env.pop("LAKEGLUE_CATALOG_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "lakeglue.jobs.spark.entrypoint", "--job", job, "--pipeline",
                             "ecommerce", "--run-id", run_id, *extra], env=proc_env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not signal_file.exists():
            if proc.poll() is not None:
                raise AssertionError(f"job exited ({proc.returncode}) before {fault}: {proc.stderr.read()[-3000:]!r}")
            assert time.monotonic() < deadline, f"job did not reach {fault} in time"
            time.sleep(0.2)
        assert signal_file.read_text() == fault
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()


def test_silver_killed_between_data_and_catalog_swap_leaves_the_table_unchanged(
        env: Env, spark: Any, first_run: dict[str, Any], tmp_path: Path) -> None:
    before = env.catalog.get_table("ecommerce_silver", "customers")
    before_rows = rows(spark, env, "silver", "customers", ["customer_id", "email", "country"])
    versions_on_disk = len(list(Path(env.lake.path("curated", "silver", "customers")).iterdir()))
    _run_until_fault(env, tmp_path, "silver", "run5", "silver.customers.before_catalog_swap", "--full-refresh")
    after = env.catalog.get_table("ecommerce_silver", "customers")
    assert (after.version, after.location) == (before.version, before.location)
    assert rows(spark, env, "silver", "customers", ["customer_id", "email", "country"]) == before_rows
    # the killed attempt's data was moved into place but never published: an orphan for lifecycle expiry
    assert len(list(Path(env.lake.path("curated", "silver", "customers")).iterdir())) == versions_on_disk + 1
    run_silver(spark, env.ctx("run5", full_refresh=True))  # the retry publishes a new version, same content
    assert env.catalog.get_table("ecommerce_silver", "customers").version == before.version + 1
    assert rows(spark, env, "silver", "customers", ["customer_id", "email", "country"]) == before_rows


def test_bronze_killed_before_commit_publishes_nothing_and_the_retry_takes_the_same_files(
        env: Env, spark: Any, first_run: dict[str, Any], tmp_path: Path) -> None:
    day = env.raw_root / "ecommerce" / "orders" / "dt=2026-11-09"
    day.mkdir()
    order = {"order_id": 9200000001, "customer_id": 2, "order_ts": "2026-11-09T09:00:00",
             "updated_at": "2026-11-09T09:00:00", "status": "placed", "channel": "app",
             "items": [{"product_id": 3, "quantity": 1, "unit_price": "3.00"}]}
    (day / "one.jsonl").write_text(json.dumps(order) + "\n")
    env.crawl()
    batches_before = sorted(p.values[0] for p in env.catalog.get_partitions("ecommerce_bronze", "orders"))
    _run_until_fault(env, tmp_path, "bronze", "run6", "bronze.orders.before_commit")
    assert sorted(p.values[0] for p in env.catalog.get_partitions("ecommerce_bronze", "orders")) == batches_before
    claimed = [e for e in env.ledger.entries("ecommerce/orders") if e.batch_id == "run6"]
    assert [(Path(e.path).name, e.state) for e in claimed] == [("one.jsonl", "claimed")]
    retry = run_bronze(spark, env.ctx("run6"))
    orders = next(t for t in retry.tables if t.table.endswith(".orders"))
    assert (orders.files_read, orders.rows_written) == (1, 1)
    assert sorted(p.values[0] for p in env.catalog.get_partitions("ecommerce_bronze", "orders")) == sorted(
        [*batches_before, "run6"])
