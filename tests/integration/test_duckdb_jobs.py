"""Bronze → silver → gold on DuckDB over the generated sample lake, checked against the independent oracle.

Also the guarantees a job engine must give: bookmarks (a second run reads nothing, a new
file is read alone), reruns that replace their batch, a job killed with SIGKILL mid-write
leaving the previous table readable and unchanged, and the ``auto`` engine choice on both
sides of its threshold. No Spark here: these run in seconds.
"""

from __future__ import annotations

import json
import os
import posixpath
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import CrawlerConfig, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb.entrypoint import run_job
from lakeglue.jobs.duckdb.session import connect
from lakeglue.jobs.engine_choice import choose_engine
from lakeglue.ledger import CLAIMED, Ledger
from lakeglue.pipelines import load_pipeline
from lakeglue.pipelines.spec import PipelineSpec
from lakeglue.sample import generate
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from tests.support.duckdb_rows import table_rows
from tests.support.expected_gold import ExpectedGold

pytestmark = pytest.mark.slow


class Env:
    def __init__(self, root: Path, spec: PipelineSpec | None = None) -> None:
        self.root = root
        self.settings = Settings(lake_root=str(root / "lake"), duckdb_memory_limit="1GB",
                                 duckdb_temp_directory=str(root / "spill"))
        self.lake = Lake(self.settings)
        self.lake.ensure_zones()
        self.raw_root = Path(self.lake.path("raw"))
        self.manifest = generate(self.raw_root, scale=1, seed=7)
        self.spec = spec or load_pipeline("ecommerce")
        self.catalog = SqlCatalog(self.settings.catalog_url)
        self.ledger = Ledger(self.settings.catalog_url)

    def crawl(self) -> Any:
        cfg = CrawlerConfig(database=self.spec.database_for("raw"), zone="raw", prefix="ecommerce",
                            source_prefix="ecommerce", excludes=tuple(self.spec.source.excludes))
        return crawl(cfg, lake=self.lake, catalog=self.catalog, ledger=self.ledger)

    def ctx(self, run_id: str, **kw: Any) -> JobContext:
        kw.setdefault("started_at", datetime(2026, 11, 23, tzinfo=UTC))
        return JobContext(spec=self.spec, settings=self.settings, lake=self.lake, catalog=self.catalog,
                          ledger=self.ledger, batch_id=run_id, **kw)

    def rows(self, layer: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        return table_rows(self.settings, self.catalog, self.lake, self.spec.database_for(layer), table, columns)

    def add_late_orders(self, day: str, order_ids: list[int]) -> None:
        folder = self.raw_root / "ecommerce" / "orders" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [{"order_id": oid, "customer_id": 1, "order_ts": f"{day}T09:00:00", "updated_at": f"{day}T09:00:00",
                  "status": "placed", "channel": "web",
                  "items": [{"product_id": 501, "quantity": 2, "unit_price": "10.25"}]} for oid in order_ids]
        (folder / "late.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
        self.crawl()


def run_all(env: Env, run_id: str) -> dict[str, Any]:
    ctx = env.ctx(run_id)
    return {job: run_job(job, ctx) for job in ("bronze", "silver", "gold")}


def table_of(metrics: Any, name: str) -> Any:
    return next(t for t in metrics.tables if t.table.endswith(f".{name}"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    e = Env(tmp_path_factory.mktemp("duckdb-jobs"))
    e.crawl()
    return e


@pytest.fixture(scope="module")
def first_run(env: Env) -> dict[str, Any]:
    return run_all(env, "run1")


def test_bronze_quarantines_each_malformed_line_with_file_line_and_reason(env: Env, first_run: dict[str, Any]) -> None:
    oracle = ExpectedGold(env.raw_root)
    orders = table_of(first_run["bronze"], "orders")
    assert (orders.rows_quarantined, orders.rows_written) == (env.manifest.malformed_lines, env.manifest.order_records)
    assert orders.rows_read == env.manifest.order_lines
    qdir = Path(env.lake.path("quarantine", "ecommerce", "bronze", "orders", "_batch_id=run1"))
    records = [json.loads(line) for f in sorted(qdir.glob("*.json")) for line in f.read_text().splitlines()]
    got = sorted(f"{r['source_file'].removeprefix('file://')}:{r['line']}" for r in records)
    expected = sorted(posixpath.join(str(env.raw_root), p) for p in oracle.quarantined_lines())
    assert got == expected
    assert {r["reason"] for r in records} == {"malformed JSON: not a complete object", "not a JSON object"}
    by_place = {f"{r['source_file'].removeprefix('file://')}:{r['line']}": r["raw"] for r in records}
    for place, raw in by_place.items():
        path, line = place.rsplit(":", 1)
        text = Path(path).read_text() if not path.endswith(".gz") else __import__("gzip").open(path, "rt").read()
        assert text.splitlines()[int(line) - 1] == raw
    assert all(set(r) == {"source_file", "line", "reason", "raw", "layer", "table", "batch_id", "size"}
               for r in records)


def test_bronze_keeps_lineage_columns_per_row(env: Env, first_run: dict[str, Any]) -> None:
    got = env.rows("bronze", "orders", ["_source_file", "_batch_id", "dt", "_ingested_at"])
    files = {Path(r[0].removeprefix("file://")).name for r in got}
    assert files == {Path(p).name for p in env.manifest.files if "/orders/" in p}
    assert {r[1] for r in got} == {"run1"}
    assert all(r[2] == r[0].split("/dt=")[1].split("/")[0] for r in got)
    assert {r[3] for r in got} == {datetime(2026, 11, 23)}
    lines = env.rows("bronze", "orders", ["_source_file", "_line", "order_id"])
    first = Path(env.raw_root / "ecommerce" / "orders" / "dt=2026-11-03" / "orders-1.jsonl")
    expected = [(i, json.loads(t)["order_id"]) for i, t in enumerate(first.read_text().splitlines(), start=1)
                if t.strip() and t.lstrip().startswith("{") and t.rstrip().endswith("}")]
    assert [(r[1], int(r[2])) for r in lines if r[0] == f"file://{first}"] == expected


def test_catalog_types_match_the_spark_engine(env: Env, first_run: dict[str, Any]) -> None:
    def schema(db: str, table: str) -> list[tuple[str, str]]:
        t = env.catalog.get_table(db, table)
        return [(c.name, c.type) for c in t.all_columns()]

    assert schema("ecommerce_bronze", "orders") == [
        ("order_id", "string"), ("customer_id", "string"), ("order_ts", "string"), ("updated_at", "string"),
        ("status", "string"), ("items", "array<struct<product_id:string,quantity:string,unit_price:string>>"),
        ("channel", "string"), ("_source_file", "string"), ("_line", "int"), ("dt", "string"),
        ("_ingested_at", "timestamp"), ("_batch_id", "string")]
    assert schema("ecommerce_silver", "order_items") == [
        ("order_id", "bigint"), ("line_no", "int"), ("product_id", "bigint"), ("quantity", "int"),
        ("unit_price", "decimal(12,2)"), ("status", "string"), ("updated_at", "timestamp"),
        ("_source_file", "string"), ("_batch_id", "string"), ("dt", "date")]
    assert schema("ecommerce_gold", "daily_revenue_by_category") == [
        ("dt", "date"), ("category", "string"), ("revenue", "decimal(18,2)"), ("units", "bigint"),
        ("orders", "bigint")]
    assert [p.values for p in env.catalog.get_partitions("ecommerce_silver", "orders")] == [
        (f"2026-11-0{d}",) for d in range(1, 8)]


def test_timestamps_are_stored_as_instants_like_spark(env: Env, first_run: dict[str, Any]) -> None:
    import pyarrow.parquet as pq

    location = env.catalog.get_partitions("ecommerce_silver", "orders")[0].location.removeprefix("file://")
    schema = pq.read_schema(next(Path(location).glob("*.parquet")))
    assert str(schema.field("order_ts").type) == "timestamp[us, tz=UTC]"
    assert "dt" not in schema.names


def test_silver_is_deduplicated_latest_wins_and_keeps_the_drift_column(env: Env, first_run: dict[str, Any]) -> None:
    oracle = ExpectedGold(env.raw_root)
    orders = env.rows("silver", "orders", ["order_id", "dt", "channel"])
    assert len(orders) == len({r[0] for r in orders}) == oracle.silver_order_count()
    assert len(env.rows("silver", "order_items", ["order_id", "line_no"])) == oracle.silver_order_item_count()
    assert len(env.rows("silver", "customers", ["customer_id"])) == oracle.silver_customer_count()
    assert {c for _, d, c in orders if d < env.manifest.drift_from} == {None}
    assert {c for _, d, c in orders if d >= env.manifest.drift_from} == {"web", "app", "store"}
    positions = env.rows("silver", "order_items", ["order_id", "line_no"])
    by_order: dict[int, list[int]] = {}
    for order_id, line_no in positions:
        by_order.setdefault(order_id, []).append(line_no)
    assert all(v == list(range(1, len(v) + 1)) for v in by_order.values())


def test_gold_equals_the_independent_oracle(env: Env, first_run: dict[str, Any]) -> None:
    oracle = ExpectedGold(env.raw_root)
    revenue = env.rows("gold", "daily_revenue_by_category", ["dt", "category", "revenue", "units", "orders"])
    assert revenue == sorted((r["dt"], r["category"], r["revenue"], r["units"], r["orders"])
                             for r in oracle.daily_revenue_by_category())
    clv = env.rows("gold", "customer_lifetime_value",
                   ["customer_id", "email", "country", "orders", "lifetime_value", "first_order_date",
                    "last_order_date"])
    assert clv == sorted(tuple(r.values()) for r in oracle.customer_lifetime_value())


def test_second_run_reads_nothing_new_and_gold_is_identical(env: Env, first_run: dict[str, Any]) -> None:
    before = env.rows("gold", "customer_lifetime_value", ["customer_id", "orders", "lifetime_value"])
    second = run_all(env, "run2")
    assert {t.skipped_reason for t in second["bronze"].tables} == {"no new files since the last batch"}
    assert {t.skipped_reason for t in second["silver"].tables} == {
        "no new bronze batches since the last silver version"}
    assert env.rows("gold", "customer_lifetime_value", ["customer_id", "orders", "lifetime_value"]) == before


def test_new_file_is_read_alone_and_a_rerun_replaces_its_batch(env: Env, first_run: dict[str, Any]) -> None:
    env.add_late_orders("2026-11-08", [9000000001, 9000000002])
    for attempt in range(2):  # the second attempt is a retry of the same run: same batch, replaced
        orders = table_of(run_job("bronze", env.ctx("run3")), "orders")
        assert (orders.files_read, orders.rows_written, orders.rows_quarantined) == (1, 2, 0), attempt
        assert sorted(p.values[0] for p in env.catalog.get_partitions("ecommerce_bronze", "orders")) == [
            "run1", "run3"]
        assert len([r for r in env.rows("bronze", "orders", ["order_id"]) if r[0].startswith("90000000")]) == 2
    old_part = next(p for p in env.catalog.get_partitions("ecommerce_silver", "orders") if p.values == ("2026-11-01",))
    old_files = {f.name: f.stat().st_ino for f in Path(old_part.location.removeprefix("file://")).glob("*.parquet")}
    silver = run_job("silver", env.ctx("run3"))
    assert table_of(silver, "orders").rows_read == 2, "only the new partition's bronze rows are recomputed"
    assert table_of(silver, "orders").rows_written == ExpectedGold(env.raw_root).silver_order_count()
    assert env.catalog.get_table("ecommerce_silver", "orders").parameters["partitions_rewritten"] == "1"
    new_part = next(p for p in env.catalog.get_partitions("ecommerce_silver", "orders") if p.values == ("2026-11-01",))
    assert new_part.location != old_part.location
    carried = {f.name: f.stat().st_ino for f in Path(new_part.location.removeprefix("file://")).glob("*.parquet")}
    assert carried == old_files, "untouched partitions are carried over as the same files (hard links)"
    late = [r for r in env.rows("silver", "order_items", ["order_id", "unit_price"]) if 9000000000 < r[0] < 9000000100]
    assert late == [(9000000001, Decimal("10.25")), (9000000002, Decimal("10.25"))]
    assert sum(1 for r in env.rows("silver", "orders", ["dt"]) if r[0] == date(2026, 11, 8)) == 2


def test_full_refresh_rerun_of_silver_and_gold_is_idempotent(env: Env, first_run: dict[str, Any]) -> None:
    columns = ["order_id", "customer_id", "order_ts", "updated_at", "status", "channel", "dt"]
    run_job("gold", env.ctx("run-before"))  # gold as of the current silver
    before = env.rows("silver", "orders", columns)
    gold_before = env.rows("gold", "daily_revenue_by_category", ["dt", "category", "revenue", "units", "orders"])
    version = env.catalog.get_table("ecommerce_silver", "orders").version
    for _ in range(2):
        run_job("silver", env.ctx("run-again", full_refresh=True))
        run_job("gold", env.ctx("run-again"))
    assert env.rows("silver", "orders", columns) == before
    assert env.rows("gold", "daily_revenue_by_category", ["dt", "category", "revenue", "units", "orders"]
                    ) == gold_before
    assert env.catalog.get_table("ecommerce_silver", "orders").version == version + 2
    assert env.catalog.get_table("ecommerce_silver", "orders").parameters["partitions_rewritten"] == "all"


def _kill_at(env: Env, job: str, fault: str, run_id: str, *extra: str) -> None:
    """Run the job as its own process (the DuckDB entry point), SIGKILL it when it reaches ``fault``."""
    signal_file = env.root / f"reached-{run_id}"
    signal_file.unlink(missing_ok=True)
    child_env = {**os.environ, "LAKEGLUE_HOME": env.settings.lake_root, "LAKEGLUE_FAULT_POINT": fault,
                 "LAKEGLUE_FAULT_SIGNAL": str(signal_file), "LAKEGLUE_FAULT_HOLD_SECONDS": "120",
                 "LAKEGLUE_DUCKDB_TEMP_DIRECTORY": env.settings.duckdb_temp_directory}
    child_env.pop("LAKEGLUE_CATALOG_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "lakeglue.jobs.duckdb.entrypoint", "--job", job, "--pipeline",
                             "ecommerce", "--run-id", run_id, *extra], env=child_env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not signal_file.exists():
            if proc.poll() is not None:
                raise AssertionError(f"job exited ({proc.returncode}) before {fault}: {proc.stderr.read()[-3000:]!r}"
                                     if proc.stderr else f"job exited ({proc.returncode}) before {fault}")
            assert time.monotonic() < deadline, f"job did not reach {fault} within 90 s"
            time.sleep(0.05)
        assert signal_file.read_text() == fault
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("point", ["before_commit", "before_catalog_swap"])
def test_bronze_killed_mid_write_leaves_the_table_unchanged_and_a_rerun_completes(
        env: Env, first_run: dict[str, Any], point: str) -> None:
    staged = point == "before_commit"
    env.add_late_orders(f"2026-11-{'20' if staged else '21'}", [9100000001 if staged else 9200000001])
    table_before = env.catalog.get_table("ecommerce_bronze", "orders")
    parts_before = env.catalog.get_partitions("ecommerce_bronze", "orders")
    rows_before = env.rows("bronze", "orders", ["order_id", "_batch_id", "_source_file", "_line"])
    run_id = f"kill-bronze-{point}"
    _kill_at(env, "bronze", f"bronze.orders.{point}", run_id)
    assert env.catalog.get_table("ecommerce_bronze", "orders").version == table_before.version
    assert env.catalog.get_partitions("ecommerce_bronze", "orders") == parts_before
    assert env.rows("bronze", "orders", ["order_id", "_batch_id", "_source_file", "_line"]) == rows_before
    claimed = [e for e in env.ledger.entries("ecommerce/orders") if e.batch_id == run_id]
    assert [(Path(e.path).name, e.state) for e in claimed] == [("late.jsonl", CLAIMED)]
    orders = table_of(run_job("bronze", env.ctx(run_id)), "orders")  # the retry of the killed run
    assert (orders.files_read, orders.rows_written) == (1, 1)
    after = env.rows("bronze", "orders", ["order_id", "_batch_id"])
    assert sorted(set(after) - {r[:2] for r in rows_before}) == [
        (str(9100000001 if staged else 9200000001), run_id)]


@pytest.mark.parametrize("point", ["before_commit", "before_catalog_swap"])
def test_silver_killed_mid_write_leaves_the_previous_version_readable(
        env: Env, first_run: dict[str, Any], point: str) -> None:
    oid = 9300000001 if point == "before_commit" else 9400000001
    env.add_late_orders(f"2026-11-{'22' if point == 'before_commit' else '23'}", [oid])
    run_job("bronze", env.ctx(f"late-{point}"))
    before = env.catalog.get_table("ecommerce_silver", "orders")
    rows_before = env.rows("silver", "orders", ["order_id", "status", "dt"])
    assert oid not in {r[0] for r in rows_before}
    _kill_at(env, "silver", f"silver.orders.{point}", f"kill-silver-{point}")
    after = env.catalog.get_table("ecommerce_silver", "orders")
    assert (after.version, after.location) == (before.version, before.location)
    assert env.rows("silver", "orders", ["order_id", "status", "dt"]) == rows_before
    run_job("silver", env.ctx(f"kill-silver-{point}"))
    assert oid in {r[0] for r in env.rows("silver", "orders", ["order_id"])}


def test_auto_engine_choice_on_both_sides_of_the_threshold(env: Env, first_run: dict[str, Any],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    auto = env.spec.model_copy(update={"engines": env.spec.engines.model_copy(
        update={"bronze": "auto", "silver": "auto", "gold": "auto"})})
    env.add_late_orders("2026-11-25", [9500000001, 9500000002])
    late = env.raw_root / "ecommerce" / "orders" / "dt=2026-11-25" / "late.jsonl"
    size = late.stat().st_size
    from lakeglue.jobs.engine_choice import table_bytes

    silver_input = sum(table_bytes(env.catalog, env.lake, "ecommerce_bronze", t)
                       for t in ("customers", "orders", "products"))
    for threshold, engine in ((size + 1, "duckdb"), (size, "spark")):
        ctx = env.ctx("auto-run")
        ctx.spec, ctx.settings = auto, replace(env.settings, engine_auto_threshold_bytes=threshold)
        with caplog.at_level("INFO", logger="lakeglue.jobs.engine_choice"):
            choice = choose_engine(ctx, "bronze")
        assert (choice.engine, choice.input_bytes) == (engine, size)
        assert f"input {size} B ({size} bytes, 1 raw files)" in choice.reason
        assert f"bronze job runs on {engine}" in caplog.text
        ctx.settings = replace(env.settings, engine_auto_threshold_bytes=silver_input + (engine == "duckdb"))
        assert (choose_engine(ctx, "silver").engine, choose_engine(ctx, "silver").input_bytes) == (
            engine, silver_input)
    fixed = env.ctx("auto-run")  # the demo spec names its engines: no measuring
    assert [(c.engine, c.reason, c.input_bytes) for c in (choose_engine(fixed, "silver"), choose_engine(fixed, "gold"))
            ] == [("spark", "engines.silver is spark in pipeline ecommerce", None),
                  ("duckdb", "engines.gold is duckdb in pipeline ecommerce", None)]


def test_memory_limit_and_spill_directory_come_from_settings(env: Env) -> None:
    con = connect(replace(env.settings, duckdb_memory_limit="300MB"))
    try:
        limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')"
                                   ).fetchone() or ("", "")
    finally:
        con.close()
    assert (limit, spill) == ("286.1 MiB", str(env.root / "spill"))


@pytest.mark.airflow
def test_airflow_operators_run_duckdb_jobs_in_a_subprocess_and_decide_auto_at_run_time(
        env: Env, first_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.duckdb_job import LakeAutoJobOperator, LakeDuckDBJobOperator, job_operator
    from lakeglue_airflow.operators.spark_job import LakeSparkJobOperator

    monkeypatch.setenv("LAKEGLUE_HOME", env.settings.lake_root)
    monkeypatch.setenv("LAKEGLUE_DUCKDB_TEMP_DIRECTORY", env.settings.duckdb_temp_directory)
    monkeypatch.delenv("LAKEGLUE_CATALOG_URL", raising=False)
    get_settings.cache_clear()
    try:
        env.add_late_orders("2026-11-27", [9600000001])
        context = {"run_id": "manual__2026-11-27T00:00:00+00:00", "params": {}}
        bronze = LakeDuckDBJobOperator(task_id="bronze", pipeline="ecommerce", job="bronze").execute(context)
        assert bronze["engine"] == "duckdb" and bronze["batch_id"] == "manual__2026-11-27T00_00_00_00_00"
        claimed = [Path(e.path).parent.name for e in env.ledger.entries("ecommerce/orders")
                   if e.batch_id == bronze["batch_id"]]
        assert "dt=2026-11-27" in claimed
        orders = next(t for t in bronze["tables"] if t["table"] == "ecommerce_bronze.orders")
        assert (orders["files_read"], orders["rows_quarantined"]) == (len(claimed), 0)
        assert ("9600000001", bronze["batch_id"]) in env.rows("bronze", "orders", ["order_id", "_batch_id"])
        auto = LakeAutoJobOperator(task_id="silver", pipeline="ecommerce", job="silver")
        monkeypatch.setenv("LAKEGLUE_ENGINE_AUTO_THRESHOLD_BYTES", "1")
        get_settings.cache_clear()
        assert auto.choose(context) == "spark"  # the bronze input is far above one byte
        monkeypatch.setenv("LAKEGLUE_ENGINE_AUTO_THRESHOLD_BYTES", str(1 << 40))
        get_settings.cache_clear()
        silver = auto.execute(context)
        assert silver["engine"] == auto.engine == "duckdb"
        assert 9600000001 in {r[0] for r in env.rows("silver", "orders", ["order_id"])}
    finally:
        get_settings.cache_clear()
    assert isinstance(job_operator("spark", task_id="t", pipeline="ecommerce", job="gold"), LakeSparkJobOperator)
    with pytest.raises(ValueError, match=r"engines\.gold is 'flink'; choose one of spark, duckdb, auto"):
        job_operator("flink", task_id="t", pipeline="ecommerce", job="gold")
