"""Lineage edges derived from pipeline specs: the demo pipeline's graph, gold/query SQL, JDBC sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakeglue.lineage import (
    LineageEdge,
    LineageError,
    dataset_identity,
    job_edges,
    pipeline_edges,
    sql_tables,
    table_lineage,
    task_tables,
)
from lakeglue.pipelines.spec import load_pipeline, spec_from_dict
from lakeglue.settings import Settings

RAW = "s3://lake/raw"


def _spec(**changes: Any) -> Any:
    data: dict[str, Any] = {
        "name": "shop", "database": "shop", "source": {"prefix": "shop"},
        "bronze": {"orders": {"format": "json"},
                   "accounts": {"format": "jdbc", "options": {
                       "url": "jdbc:postgresql://db:5432/crm?user=u&password=secret", "dbtable": "public.accounts"}}},
        "silver": {"orders": {"from": "orders", "key": ["id"], "columns": {"id": {"type": "bigint"}}},
                   "accounts": {"from": "accounts", "key": ["id"], "columns": {"id": {"type": "bigint"}}}},
        "quality": [{"table": "orders", "suite": "s.yml"}],
        "gold": {"summary": {"sql": "gold/summary.sql"}},
        "queries": [{"name": "copy", "sql": "queries/copy.sql"}],
    }
    data.update(changes)
    return spec_from_dict(data, check_files=False)


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    (tmp_path / "gold").mkdir()
    (tmp_path / "queries").mkdir()
    (tmp_path / "gold" / "summary.sql").write_text(
        "WITH o AS (SELECT id FROM orders), a AS (SELECT id FROM shop_silver.accounts)\n"
        "SELECT count(*) AS n FROM o JOIN a ON a.id = o.id")
    (tmp_path / "queries" / "copy.sql").write_text("CREATE TABLE scratch.summary_copy AS SELECT * FROM summary")
    return tmp_path


def test_edges_of_a_pipeline_follow_the_spec_in_pipeline_order(sql_dir: Path) -> None:
    edges = pipeline_edges(_spec(), raw_root=RAW, sql_dir=sql_dir)
    assert edges == [
        LineageEdge("shop.crawl", "crawl", ("s3://lake/raw/shop/orders",), ("shop_raw.orders",)),
        LineageEdge("shop.bronze", "bronze", ("shop_raw.orders",), ("shop_bronze.orders",)),
        # a JDBC source is read by bronze itself, and its URL loses the query string with the password
        LineageEdge("shop.bronze", "bronze", ("jdbc:postgresql://db:5432/crm/public.accounts",),
                    ("shop_bronze.accounts",)),
        LineageEdge("shop.silver", "silver", ("shop_bronze.orders",), ("shop_silver.orders",)),
        LineageEdge("shop.silver", "silver", ("shop_bronze.accounts",), ("shop_silver.accounts",)),
        LineageEdge("shop.quality", "quality", ("shop_silver.orders",), ("lakeglue_quality.results",)),
        # a bare name in gold SQL is a silver table; CTE names are not tables
        LineageEdge("shop.gold", "gold", ("shop_silver.orders", "shop_silver.accounts"), ("shop_gold.summary",)),
        # a bare name in a query is a gold table; a CTAS target is an output, not an input
        LineageEdge("shop.query_copy", "query", ("shop_gold.summary",), ("scratch.summary_copy",)),
    ]
    assert job_edges(edges, "shop.bronze") == (
        ["shop_raw.orders", "jdbc:postgresql://db:5432/crm/public.accounts"],
        ["shop_bronze.orders", "shop_bronze.accounts"])


def test_a_local_lake_root_becomes_a_file_uri(sql_dir: Path) -> None:
    crawl = pipeline_edges(_spec(), raw_root="/srv/lake/raw/", sql_dir=sql_dir)[0]
    assert crawl.inputs == ("file:///srv/lake/raw/shop/orders",)


def test_table_lineage_is_transitive_nearest_first_and_depth_limits_it(sql_dir: Path) -> None:
    spec = _spec()
    up, down = table_lineage([spec], "shop_silver.orders", raw_root=RAW, sql_dir=sql_dir)
    assert up == ["shop_bronze.orders", "shop_raw.orders", "s3://lake/raw/shop/orders"]
    assert down == ["shop_gold.summary", "scratch.summary_copy"]  # not the quality log table
    assert table_lineage([spec], "SHOP_SILVER.Orders", depth=1, raw_root=RAW, sql_dir=sql_dir) == (
        ["shop_bronze.orders"], ["shop_gold.summary"])
    up, down = table_lineage([spec], "shop_gold.summary", raw_root=RAW, sql_dir=sql_dir)
    assert up[:2] == ["shop_silver.orders", "shop_silver.accounts"]
    assert "jdbc:postgresql://db:5432/crm/public.accounts" in up
    assert table_lineage([spec], "other.table", raw_root=RAW, sql_dir=sql_dir) == ([], [])


def test_lineage_spans_pipelines(sql_dir: Path) -> None:
    """A second pipeline whose query reads the first one's gold table extends its downstream."""
    (sql_dir / "queries" / "report.sql").write_text("SELECT n FROM shop_gold.summary")
    other = _spec(name="reports", database="reports", bronze={"x": {"format": "csv"}}, silver={}, quality=[],
                  gold={}, queries=[{"name": "report", "sql": "queries/report.sql"}])
    edges = pipeline_edges(other, raw_root=RAW, sql_dir=sql_dir)
    assert edges[-1] == LineageEdge("reports.query_report", "query", ("shop_gold.summary",), ())
    _, down = table_lineage([_spec(), other], "shop_silver.accounts", raw_root=RAW, sql_dir=sql_dir)
    assert down == ["shop_gold.summary", "scratch.summary_copy"]  # a SELECT query writes no table


def test_the_demo_pipeline_gold_reads_the_silver_tables_its_sql_names() -> None:
    edges = pipeline_edges(load_pipeline("ecommerce"), raw_root=RAW)
    gold = {e.outputs[0]: e.inputs for e in edges if e.kind == "gold"}
    assert gold == {
        "ecommerce_gold.daily_revenue_by_category": ("ecommerce_silver.order_items", "ecommerce_silver.products"),
        "ecommerce_gold.customer_lifetime_value": ("ecommerce_silver.customers", "ecommerce_silver.order_items",
                                                   "ecommerce_silver.orders"),
    }
    up, _ = table_lineage([load_pipeline("ecommerce")], "ecommerce_silver.order_items", raw_root=RAW)
    assert up == ["ecommerce_bronze.orders", "ecommerce_raw.orders", "s3://lake/raw/ecommerce/orders"]


def test_sql_tables_without_a_default_database_skips_bare_names() -> None:
    assert sql_tables("SELECT * FROM t JOIN db.u ON true", None) == (["db.u"], [])
    assert sql_tables("INSERT INTO db.target SELECT * FROM db.src", None) == (["db.src"], ["db.target"])


def test_unreadable_sql_names_the_file(tmp_path: Path, sql_dir: Path) -> None:
    with pytest.raises(LineageError, match=r"cannot read .*gold/summary\.sql"):
        pipeline_edges(_spec(), raw_root=RAW, sql_dir=tmp_path / "elsewhere")
    (sql_dir / "gold" / "summary.sql").write_text("SELECT FROM WHERE (")
    with pytest.raises(LineageError, match=r"summary\.sql: not parseable"):
        pipeline_edges(_spec(), raw_root=RAW, sql_dir=sql_dir)


def test_openlineage_identities_of_tables_and_sources() -> None:
    local = Settings(lake_root="/srv/lake")
    s3 = Settings(lake_root="s3://bucket/lake/", profile="aws")
    assert dataset_identity("shop_silver.orders", local) == ("lakeglue+file:///srv/lake", "shop_silver.orders")
    assert dataset_identity("shop_silver.orders", s3) == ("lakeglue+s3://bucket/lake", "shop_silver.orders")
    assert dataset_identity("file:///srv/lake/raw/shop/orders", local) == ("file", "/srv/lake/raw/shop/orders")
    assert dataset_identity("s3://bucket/lake/raw/shop", s3) == ("s3://bucket", "lake/raw/shop")
    assert dataset_identity("jdbc:postgresql://db:5432/crm/public.accounts", local) == (
        "postgresql://db:5432", "crm/public.accounts")


def test_task_tables_need_no_sql_and_match_the_edges_outputs(sql_dir: Path) -> None:
    spec = _spec()
    edges = pipeline_edges(spec, raw_root=RAW, sql_dir=sql_dir)
    for kind in ("crawl", "bronze", "silver", "gold"):
        assert task_tables(spec, kind) == job_edges(edges, f"shop.{kind}")[1]
    assert task_tables(spec, "quality") == ["shop_silver.orders"]  # the checked table, not the results log
    assert task_tables(spec, "query") == []
    with pytest.raises(ValueError, match="unknown job kind 'platinum'"):
        task_tables(spec, "platinum")
