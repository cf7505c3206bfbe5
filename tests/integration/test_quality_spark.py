"""The gate on Spark DataFrames: GX's Spark execution engine in the test session, as a Spark job would call it.

Same suites, same summaries as the pandas path (compare tests/unit/test_quality.py), plus the
Spark-written quarantine and Data Docs from a Spark validation. GX on Spark runs one Spark
job per metric (~5 s per suite on an idle machine), so the module validates three times in all.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.pipelines import load_pipeline
from lakeglue.quality import check, gate_job_output, history, load_suite, validate_spark_dataframe
from lakeglue.quality.quarantine import QuarantineTarget
from lakeglue.settings import QUALITY_DIR, Settings
from lakeglue.storage import Lake

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ORDER_ITEMS_SCHEMA = ("order_id bigint, line_no int, product_id bigint, quantity int, unit_price decimal(12,2), "
                      "status string, updated_at timestamp, dt date")


def order_items_rows() -> list[tuple[Any, ...]]:
    at = datetime(2026, 11, 1, 9)
    return [
        (1, 1, 10, 0, Decimal("19.99"), "placed", at, date(2026, 11, 1)),       # quantity 0
        (1, 2, 11, 1, Decimal("-0.01"), "placed", at, date(2026, 11, 1)),       # negative price
        (2, 1, None, 100, Decimal("19.99"), "shipped", at, date(2026, 11, 1)),  # no product
        (1, 1, 12, 101, Decimal("0.00"), "cancelled", at, date(2026, 11, 2)),   # duplicate line, quantity 101
    ]


def test_spark_engine_gives_the_pandas_summary_and_quarantines_with_spark(spark: Any, tmp_path: Path) -> None:
    lake = Lake(Settings(lake_root=str(tmp_path / "lake")))
    df = spark.createDataFrame(order_items_rows(), ORDER_ITEMS_SCHEMA).cache()
    target = QuarantineTarget(lake, "ecommerce", source="file:///in-job/staging/order_items")
    result = validate_spark_dataframe(load_suite(QUALITY_DIR / "ecommerce_order_items.yml"), df,
                                      "ecommerce_silver.order_items", "spark-run-1", quarantine=target)
    assert (result.success, result.row_count) == (False, 4)
    assert result.summary() == (  # identical to test_order_items_from_parquet_bad_data (pandas engine)
        "ecommerce_order_items on ecommerce_silver.order_items: 4 of 5 rules failed — "
        'ERROR IsComplete "product_id": 1 unexpected row (25%); '
        'ERROR ColumnValues "quantity" between 1 and 100: 2 unexpected rows (50%), e.g. [0, 101]; '
        'ERROR ColumnValues "unit_price" >= 0: 1 unexpected row (25%), e.g. [-0.01]; '
        "ERROR expect_compound_columns_to_be_unique(order_id, line_no): 2 unexpected rows (50%), "
        "e.g. [(order_id=1, line_no=1), (order_id=1, line_no=1)]")

    quarantine = tmp_path / "lake/quarantine/ecommerce/quality/ecommerce_silver.order_items/_batch_id=spark-run-1"
    assert (result.quarantine_location, result.rows_quarantined) == (str(quarantine), 6)
    [part] = sorted(quarantine.glob("part-*.json"))
    records = [json.loads(line) for line in part.read_text().splitlines()]
    assert [(r["reason"], json.loads(r["raw"])["order_id"], json.loads(r["raw"])["line_no"],
             json.loads(r["raw"])["quantity"]) for r in records] == [
        ('error: IsComplete "product_id"', 2, 1, 100),
        ('error: ColumnValues "quantity" between 1 and 100', 1, 1, 0),
        ('error: ColumnValues "quantity" between 1 and 100', 1, 1, 101),
        ('error: ColumnValues "unit_price" >= 0', 1, 2, 1),
        ("error: expect_compound_columns_to_be_unique(order_id, line_no)", 1, 1, 0),
        ("error: expect_compound_columns_to_be_unique(order_id, line_no)", 1, 1, 101),
    ]
    assert {k: v for k, v in records[0].items() if k != "raw"} == {
        "source_file": "file:///in-job/staging/order_items", "line": None, "reason": 'error: IsComplete "product_id"',
        "layer": "quality", "table": "ecommerce_silver.order_items", "batch_id": "spark-run-1"}
    assert json.loads(records[0]["raw"]) == {
        "order_id": 2, "line_no": 1, "product_id": None, "quantity": 100, "unit_price": 19.99, "status": "shipped",
        "updated_at": "2026-11-01T09:00:00.000Z", "dt": "2026-11-01"}
    df.unpersist()


def test_in_job_gate_on_spark_records_history_and_data_docs(spark: Any, tmp_path: Path) -> None:
    """What a Spark job calls before committing silver: the spec's suite, history, SQL mirror, Data Docs."""
    catalog = SqlCatalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    settings = Settings(lake_root=str(tmp_path / "lake"), catalog_url=catalog.url)
    at = datetime(2026, 11, 1, 9)
    rows = [(i, i % 3 + 1, at, at, ("placed", "shipped", "cancelled")[i % 3], ("web", "app", None)[i % 3],
             date(2026, 11, 1)) for i in range(1, 13)]
    df = spark.createDataFrame(rows, "order_id bigint, customer_id bigint, order_ts timestamp, updated_at timestamp, "
                                     "status string, channel string, dt date")
    spec = load_pipeline("ecommerce")
    assert gate_job_output(spec, "silver", "products", df, catalog, settings, "job-run-1") is None  # no suite
    result = gate_job_output(spec, "silver", "orders", df, catalog, settings, "job-run-1",
                             source="file:///staging/orders")
    assert result is not None
    check(result)
    assert result.summary() == "ecommerce_orders on ecommerce_silver.orders: all 7 rules passed"
    assert [(r.label, r.observed_value, r.note) for r in result.rules if r.metric] == [
        ("RowCount > 0", 12, None),
        ('DetectAnomalies "RowCount"', 12, "warming up: 0 of 3 earlier runs in history, no band yet")]
    assert [(r["rule_text"], r["success"]) for r in history(catalog.url, "ecommerce_silver.orders")] == [
        (r.rule, True) for r in result.rules]
    assert catalog.get_table("lakeglue_quality", "results").location == f"file://{tmp_path}/lake/curated/quality/results"

    page = Path(str(result.data_docs_page))
    assert page.is_file() and page.parent.parent.name == "job-run-1"
    assert page.is_relative_to(tmp_path / "lake/results/data_docs/validations/ecommerce_orders")
    html = page.read_text()
    assert all(text in html for text in ("ecommerce_orders", "job-run-1", "order_id", "customer_id"))
    assert (tmp_path / "lake/results/data_docs/index.html").is_file()
