"""The Data Lake pages' data, gathered from a real lake, catalog and run log (no Airflow, no web server).

The lake is the ecommerce demo built in-process with DuckDB, twice (the second run adds a
day of orders and one bad line), with every task's real result recorded in the run log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeglue.pipelines import load_pipeline
from lakeglue.query import run_query
from lakeglue.run_log import committed_version, result_kind, task_runs, version_writers, written_tables
from lakeglue.ui_data import queries as queries_data
from lakeglue.ui_data.charts import quality_svg
from lakeglue.ui_data.runs import run_report
from lakeglue.ui_data.tables import database_listing, table_page, version_diff
from tests.support.ui_lake import UiLake, build_ui_lake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> UiLake:
    return build_ui_lake(tmp_path_factory.mktemp("ui-lake"))


def count(env: UiLake, qualified: str) -> int:
    return int(run_query(f"SELECT count(*) FROM {qualified}", output=None, settings=env.settings,
                         catalog=env.catalog, lake=env.lake).rows[0][0])


def test_listing_shows_every_layer_and_search_narrows_it(env: UiLake) -> None:
    names = {db.name: [t.name for t in db.tables] for db in database_listing(env.catalog)}
    assert names["ecommerce_gold"] == ["customer_lifetime_value", "daily_revenue_by_category"]
    assert names["ecommerce_silver"] == ["customers", "order_items", "orders", "products"]
    assert names["ecommerce_raw"] == ["customers", "orders", "products"]
    found = {(t.database, t.name) for db in database_listing(env.catalog, "LIFETIME") for t in db.tables}
    assert found == {("ecommerce_gold", "customer_lifetime_value")}
    by_column = {(t.database, t.name) for db in database_listing(env.catalog, "unit_price") for t in db.tables}
    assert ("ecommerce_silver", "order_items") in by_column and ("ecommerce_silver", "orders") not in by_column
    assert database_listing(env.catalog, "no-such-thing") == []


def test_table_page_counts_rows_bytes_partitions_from_the_files(env: UiLake) -> None:
    page = table_page(env.catalog, env.settings, "ecommerce_silver", "orders")
    assert page.stats.rows == count(env, "ecommerce_silver.orders")
    files = [p for p in Path(page.table.location.removeprefix("file://")).rglob("*.parquet")]
    assert page.stats.files == len(files) and page.stats.bytes == sum(f.stat().st_size for f in files)
    days = run_query("SELECT count(DISTINCT dt), max(dt) FROM ecommerce_silver.orders", output=None,
                     settings=env.settings, catalog=env.catalog, lake=env.lake).rows[0]
    assert page.partition_count == days[0] == 8
    assert page.newest_partition == {"dt": str(days[1])} == {"dt": "2026-11-08"}
    assert sum(p.stats.rows or 0 for p in page.partitions) == page.stats.rows
    assert len(page.sample_rows) == 10 and page.sample_columns[:2] == ["order_id", "customer_id"]


def test_each_version_names_the_run_and_task_that_wrote_it(env: UiLake) -> None:
    page = table_page(env.catalog, env.settings, "ecommerce_silver", "orders", sample=False)
    assert [v.version for v in page.versions] == [2, 1] and page.versions[0].current
    assert [(v.writer.run_id, v.writer.task_id) for v in page.versions if v.writer] == [("run2", "silver"),
                                                                                       ("run1", "silver")]
    raw = table_page(env.catalog, env.settings, "ecommerce_raw", "orders", sample=False)
    assert raw.versions[0].writer is not None and raw.versions[0].writer.task_id == "crawl"


def test_version_diff_between_two_versions(env: UiLake) -> None:
    bronze = env.catalog.get_table("ecommerce_bronze", "orders")
    assert bronze.version >= 2
    diff = version_diff(env.catalog, "ecommerce_gold", "daily_revenue_by_category", 1, 2)
    assert (diff.old_version, diff.new_version) == (1, 2)
    assert diff.location is not None and diff.location.old != diff.location.new  # a rewrite: new directory
    assert diff.columns.is_empty


def test_quality_history_has_one_column_per_run_and_one_row_per_rule(env: UiLake) -> None:
    page = table_page(env.catalog, env.settings, "ecommerce_silver", "orders", sample=False)
    history = page.quality
    assert history is not None and [r.run_id for r in history.runs] == ["run1", "run2"]
    assert history.rules and all(len(rule.outcomes) == 2 for rule in history.rules)
    assert {o for rule in history.rules for o in rule.outcomes} <= {"pass", "fail", "warn"}
    svg = quality_svg(history)
    assert svg.startswith("<svg") and svg.count('class="cell ') == 2 * len(history.rules)


def test_quarantine_counts_by_reason_and_newest_first(env: UiLake) -> None:
    page = table_page(env.catalog, env.settings, "ecommerce_bronze", "orders", sample=False)
    qz = page.quarantine
    assert qz is not None and qz.total == env.manifest.malformed_lines + 1  # run2 added one bad line
    assert sum(n for _, n in qz.by_reason) == qz.total
    assert {r for r, _ in qz.by_reason} >= {"malformed JSON: not a complete object"}
    assert qz.newest[0]["batch_id"] == "run2"  # the newest batch's records come first


def test_lineage_on_the_table_page_comes_from_the_pipeline_spec(env: UiLake) -> None:
    page = table_page(env.catalog, env.settings, "ecommerce_silver", "orders", sample=False)
    assert (page.upstream, page.downstream) == (["ecommerce_bronze.orders"], ["ecommerce_gold.customer_lifetime_value"])
    assert page.upstream_all == ["ecommerce_raw.orders", f"file://{env.lake.path('raw')}/ecommerce/orders"]
    raw = table_page(env.catalog, env.settings, "ecommerce_raw", "orders", sample=False)
    assert raw.downstream == ["ecommerce_bronze.orders"]
    assert set(raw.downstream_all) == {"ecommerce_silver.orders", "ecommerce_silver.order_items",
                                       "ecommerce_gold.customer_lifetime_value",
                                       "ecommerce_gold.daily_revenue_by_category"}


def test_run_report_has_rows_per_job_quality_and_query_links(env: UiLake) -> None:
    report = run_report(env.settings.catalog_url, "lakeglue_ecommerce", "run1")
    assert [t.task_id for t in report.tasks] == ["crawl", "bronze", "silver", "quality", "gold",
                                                 "query_top_categories"]
    bronze = env.results["run1"]["bronze"]
    orders = next(j for j in report.jobs if j.job == "bronze" and j.table == "ecommerce_bronze.orders")
    metrics = next(t for t in bronze["tables"] if t["table"] == "ecommerce_bronze.orders")
    assert (orders.rows_read, orders.rows_written, orders.rows_quarantined) == (
        metrics["rows_read"], metrics["rows_written"], metrics["rows_quarantined"])
    assert orders.rows_quarantined == env.manifest.malformed_lines
    silver = next(j for j in report.jobs if j.job == "silver" and j.table == "ecommerce_silver.orders")
    assert silver.rows_duplicate > 0
    assert {q.table for q in report.quality} == {"ecommerce_silver.orders", "ecommerce_silver.order_items",
                                                 "ecommerce_silver.customers"}
    assert ("ecommerce_gold.daily_revenue_by_category", 1, "gold") in report.tables
    assert [q.query_id for q in report.queries] == [env.results["run1"]["query_top_categories"]["query_id"]]
    assert not run_report(env.settings.catalog_url, "lakeglue_ecommerce", "no-such-run").found


def test_query_history_and_page_with_result_preview(env: UiLake) -> None:
    records = queries_data.query_history(env.settings)
    ids = [env.results[r]["query_top_categories"]["query_id"] for r in ("run2", "run1")]
    assert [r.query_id for r in records] == ids
    page = queries_data.query_page(env.settings, ids[0])
    assert page is not None and page.record.state == "SUCCEEDED" and page.preview_columns[:2] == ["revenue_rank",
                                                                                                 "category"]
    assert len(page.preview_rows) == page.record.rows == 5
    assert page.ran_by is not None and (page.ran_by.run_id, page.ran_by.task_id) == ("run2", "query_top_categories")
    assert b"".join(queries_data.result_chunks(env.settings, str(page.result_path))).startswith(b"revenue_rank,")
    assert queries_data.query_page(env.settings, "00000000-0000-0000-0000-000000000000") is None
    with pytest.raises(ValueError):
        queries_data.query_page(env.settings, "..")


def test_run_log_kinds_tables_and_versions(env: UiLake) -> None:
    spec = load_pipeline("ecommerce")
    gold = env.results["run1"]["gold"]
    assert result_kind(gold) == "gold" and result_kind(env.results["run1"]["quality"]) == "quality"
    assert written_tables(gold, lambda _p, layer: spec.database_for(layer)) == [
        "ecommerce_gold.daily_revenue_by_category", "ecommerce_gold.customer_lifetime_value"]
    location = next(t["location"] for t in gold["tables"] if t["table"].endswith(".daily_revenue_by_category"))
    # found by its directory although run2 committed version 2 on top of it
    assert committed_version(env.catalog, "ecommerce_gold.daily_revenue_by_category", location) == 1
    writers = version_writers(env.settings.catalog_url, "ecommerce_gold.daily_revenue_by_category")
    assert {v: w.run_id for v, w in writers.items()} == {1: "run1", 2: "run2"}
    assert len(task_runs(env.settings.catalog_url, dag_id="lakeglue_ecommerce")) == 12


def test_data_docs_files_are_served_only_from_inside_the_site(env: UiLake) -> None:
    from lakeglue.ui_data import data_docs

    index = data_docs.site_file(env.settings, "index.html")
    assert index is not None and index.media_type == "text/html" and data_docs.has_site(env.settings)
    assert b"".join(data_docs.file_chunks(env.settings, index.path)).lstrip().lower().startswith(b"<!doctype html")
    assert data_docs.site_file(env.settings, "no/such/page.html") is None
    for bad in ("../catalog.db", "a/../../x", "", "a//b", "./index.html"):
        with pytest.raises(ValueError):
            data_docs.site_file(env.settings, bad)
