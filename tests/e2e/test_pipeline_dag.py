"""The ecommerce DAG run through Airflow (dag.test) on generated data, checked against the oracle.

Each run is a real Airflow run in a subprocess: crawler task, spark-submit for bronze,
silver and gold, the GX gate, the DuckDB query task. The lake and Airflow home are
throwaway directories; the first run is the session's demo run (``demo_lake`` in
tests/e2e/conftest.py, shared with the browser test), restored fresh for this module.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lakeglue.query import run_query
from tests.support.demo_run import DemoLake, Deployment, tail
from tests.support.expected_gold import ExpectedGold

pytestmark = [pytest.mark.e2e, pytest.mark.airflow, pytest.mark.spark, pytest.mark.slow]

DAG_ID = "lakeglue_ecommerce"


@pytest.fixture(scope="module")
def deployment(demo_lake: DemoLake) -> Deployment:
    return demo_lake.checkout()


@pytest.fixture(scope="module")
def first_run(deployment: Deployment) -> subprocess.CompletedProcess[str]:
    return deployment.first_run


def expected_revenue(raw_root: Path) -> list[tuple[Any, ...]]:
    return [(r["dt"], r["category"], r["revenue"], r["units"], r["orders"])
            for r in ExpectedGold(raw_root).daily_revenue_by_category()]


def expected_clv(raw_root: Path) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in ExpectedGold(raw_root).customer_lifetime_value()]


def test_dag_run_succeeds_and_gold_equals_the_independent_oracle(
        deployment: Deployment, first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, tail(first_run)
    assert f"DAG RUN {DAG_ID}" in first_run.stdout and ": success" in first_run.stdout
    assert deployment.gold("daily_revenue_by_category", "dt, category") == expected_revenue(deployment.raw_root)
    assert deployment.gold("customer_lifetime_value", "customer_id") == expected_clv(deployment.raw_root)


def test_every_stage_left_its_trace(deployment: Deployment, first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, tail(first_run)
    catalog = deployment.catalog
    assert [d.name for d in catalog.list_databases()] == [
        "ecommerce_bronze", "ecommerce_gold", "ecommerce_raw", "ecommerce_silver", "lakeglue_quality"]
    assert [t.name for t in catalog.list_tables("ecommerce_raw")] == ["customers", "orders", "products"]
    assert [p.values for p in catalog.get_partitions("ecommerce_raw", "orders")] == [
        (f"2026-11-0{d}",) for d in range(1, 8)]
    results = list((Path(deployment.settings.lake_root) / "results" / "queries").glob("*/metadata.json"))
    assert len(results) == 1
    meta = json.loads(results[0].read_text())
    assert meta["rows"] == 5 and [c["name"] for c in meta["columns"]][:2] == ["revenue_rank", "category"]
    from lakeglue.quality import history

    rows = history(deployment.settings.catalog_url)
    assert len(rows) == 16 and all(r["success"] for r in rows)
    assert (Path(deployment.settings.lake_root) / "results" / "data_docs" / "index.html").is_file()


def test_openlineage_events_name_catalog_tables_with_their_schemas(
        deployment: Deployment, first_run: subprocess.CompletedProcess[str]) -> None:
    """Each lakeglue task's COMPLETE event: raw folders → raw → bronze → silver → gold → query result files."""
    assert first_run.returncode == 0, tail(first_run)
    events = [json.loads(line) for line in deployment.openlineage_file(1).read_text().splitlines()]
    complete = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE" and "." in e["job"]["name"]}
    lake = f"lakeglue+file://{deployment.settings.lake_root}"

    def names(event: dict[str, Any], side: str) -> list[str]:
        assert {d["namespace"] for d in event[side]} <= {lake, "file"}, event[side]
        return [d["name"] for d in event[side]]

    def tables(layer: str, *names: str) -> list[str]:
        return [f"ecommerce_{layer}.{n}" for n in names]

    raw_dir = f"{deployment.settings.lake_root}/raw/ecommerce"
    flows = {name.removeprefix(f"{DAG_ID}."): (names(e, "inputs"), names(e, "outputs")) for name, e in complete.items()}
    assert flows.pop("query_top_categories")[0] == tables("gold", "daily_revenue_by_category")
    assert flows == {
        "crawl": ([f"{raw_dir}/{t}" for t in ("customers", "orders", "products")],
                  tables("raw", "customers", "orders", "products")),
        "bronze": (tables("raw", "customers", "orders", "products"),
                   tables("bronze", "customers", "orders", "products")),
        "silver": (tables("bronze", "customers", "orders", "products"),
                   tables("silver", "customers", "orders", "order_items", "products")),
        "quality": (tables("silver", "orders", "order_items", "customers"), ["lakeglue_quality.results"]),
        "gold": (tables("silver", "order_items", "products", "customers", "orders"),
                 tables("gold", "daily_revenue_by_category", "customer_lifetime_value")),
    }
    query_output = complete[f"{DAG_ID}.query_top_categories"]["outputs"]
    assert [(d["namespace"], Path(d["name"]).name) for d in query_output] == [("file", "result.csv")]
    gold_out = {d["name"]: d for d in complete[f"{DAG_ID}.gold"]["outputs"]}
    schema = gold_out["ecommerce_gold.daily_revenue_by_category"]["facets"]["schema"]["fields"]
    catalog_table = deployment.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    assert [(f["name"], f["type"]) for f in schema] == [
        (c.name, c.type) for c in (*catalog_table.storage.columns, *catalog_table.partition_keys)]


def test_tasks_link_to_the_data_lake_pages(deployment: Deployment, first_run: subprocess.CompletedProcess[str]) -> None:
    """Airflow 3 stores each task's extra links as XComs when it finishes; the API server only reads them."""
    import sqlite3
    from urllib.parse import quote

    assert first_run.returncode == 0, tail(first_run)
    found = re.search(rf"DAG RUN {DAG_ID} (\S+): ", first_run.stdout)
    assert found, tail(first_run)
    run_id = found.group(1)
    with sqlite3.connect(Path(deployment.env["AIRFLOW_HOME"]) / "airflow.db") as db:
        rows = db.execute("SELECT task_id, key, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key LIKE '_link_%'",
                          (DAG_ID, run_id)).fetchall()
    links = {(task, key): json.loads(value) for task, key, value in rows}
    report = f"/lakeglue/runs/{DAG_ID}/{quote(run_id, safe='')}"
    assert {task for task, key in links if key == "_link_RunReportLink"} == {
        "crawl", "bronze", "silver", "quality", "gold", "query_top_categories"}
    assert all(url == report for (_, key), url in links.items() if key == "_link_RunReportLink")
    assert links[("gold", "_link_table_ecommerce_gold.customer_lifetime_value")] == (
        "/lakeglue/tables/ecommerce_gold/customer_lifetime_value")
    assert links[("quality", "_link_DataDocsLink")] == "/lakeglue/datadocs/index.html"
    query = links[("query_top_categories", "_link_QueryResultLink")]
    result_dirs = [p.parent.name for p in (Path(deployment.settings.lake_root) / "results" / "queries").glob(
        "*/metadata.json")]
    assert query in [f"/lakeglue/queries/{q}" for q in result_dirs]


def test_full_refresh_rerun_gives_identical_gold_and_no_duplicates(
        deployment: Deployment, first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, tail(first_run)
    before = (deployment.gold("daily_revenue_by_category", "dt, category"),
              deployment.gold("customer_lifetime_value", "customer_id"))
    rerun = deployment.run_dag({"full_refresh": True})
    assert rerun.returncode == 0, tail(rerun)
    after = (deployment.gold("daily_revenue_by_category", "dt, category"),
             deployment.gold("customer_lifetime_value", "customer_id"))
    assert after == before
    bronze_batches = [p.values for p in deployment.catalog.get_partitions("ecommerce_bronze", "orders")]
    assert len(bronze_batches) == 1, "a full refresh replaces every bronze batch"
    silver = run_query("SELECT count(*), count(DISTINCT order_id) FROM ecommerce_silver.orders", output=None,
                       settings=deployment.settings).rows[0]
    assert tuple(silver) == (ExpectedGold(deployment.raw_root).silver_order_count(),) * 2


def test_error_rule_failure_blocks_gold(deployment: Deployment, first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, tail(first_run)
    gold_before = deployment.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    day = deployment.raw_root / "ecommerce" / "orders" / "dt=2026-11-07"
    bad = {"order_id": 9100000001, "customer_id": 1, "order_ts": "2026-11-07T10:00:00",
           "updated_at": "2026-11-07T10:00:00", "status": "placed", "channel": "web",
           "items": [{"product_id": 1, "quantity": 500, "unit_price": "1.00"}]}
    (day / "bulk-order.jsonl").write_text(json.dumps(bad) + "\n")
    failed = deployment.run_dag({})
    assert failed.returncode == 1, tail(failed)
    log = failed.stdout + failed.stderr
    assert 'ERROR ColumnValues "quantity" between 1 and 100: 1 unexpected row (0.08%), e.g. [500]' in log
    events = [json.loads(line) for line in deployment.openlineage_file(deployment.run_count).read_text().splitlines()]
    gate = next(e for e in events if e["eventType"] == "FAIL" and e["job"]["name"] == f"{DAG_ID}.quality")
    assert [d["name"] for d in gate["inputs"]] == [  # a failed gate still says what it read
        "ecommerce_silver.orders", "ecommerce_silver.order_items", "ecommerce_silver.customers"]
    gold_after = deployment.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    assert (gold_after.version, gold_after.location) == (gold_before.version, gold_before.location)
    assert 9100000001 in {r[0] for r in run_query(
        "SELECT order_id FROM ecommerce_silver.order_items WHERE quantity > 100", output=None,
        settings=deployment.settings).rows}
