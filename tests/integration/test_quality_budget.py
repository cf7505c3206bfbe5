"""The gate's memory budget: tables over it are validated on Spark, with the same answer as pandas.

One Spark validation (GX runs a Spark job per metric), in the shared test session.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog import Column, Partition, StorageDescriptor, Table
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.quality import load_suite
from lakeglue.quality.budget import FRAME_FACTOR, fits_budget, table_footprint
from lakeglue.quality.runner import GateOptions, check_table
from lakeglue.settings import QUALITY_DIR, Settings
from lakeglue.storage import Lake

pytestmark = [pytest.mark.spark, pytest.mark.slow]

EXPECTED = (
    "ecommerce_order_items on ecommerce_silver.order_items: 4 of 5 rules failed — "
    'ERROR IsComplete "product_id": 1 unexpected row (25%); '
    'ERROR ColumnValues "quantity" between 1 and 100: 2 unexpected rows (50%), e.g. [0, 101]; '
    'ERROR ColumnValues "unit_price" >= 0: 1 unexpected row (25%), e.g. [-0.01]; '
    "ERROR expect_compound_columns_to_be_unique(order_id, line_no): 2 unexpected rows (50%), "
    "e.g. [(order_id=1, line_no=1), (order_id=1, line_no=1)]")


def order_items(lake: Lake, catalog: SqlCatalog) -> Table:
    """Bad order items as a dt-partitioned table with catalog partitions, plus a stray file in its root."""
    at = datetime(2026, 11, 1, 9)
    rows = [(1, 1, 10, 0, Decimal("19.99"), "placed", at, date(2026, 11, 1)),
            (1, 2, 11, 1, Decimal("-0.01"), "placed", at, date(2026, 11, 1)),
            (2, 1, None, 100, Decimal("19.99"), "shipped", at, date(2026, 11, 1)),
            (1, 1, 12, 101, Decimal("0.00"), "cancelled", at, date(2026, 11, 2))]
    names = ["order_id", "line_no", "product_id", "quantity", "unit_price", "status", "updated_at", "dt"]
    types = [pa.int64(), pa.int32(), pa.int64(), pa.int32(), pa.decimal128(12, 2), pa.string(), pa.timestamp("us"),
             pa.date32()]
    data = pa.table({n: pa.array([r[i] for r in rows], t) for i, (n, t) in enumerate(zip(names, types, strict=True))})
    root = lake.path("curated", "silver", "order_items", "v-1")
    pq.write_to_dataset(data, root, partition_cols=["dt"])
    pq.write_table(data.drop_columns(["dt"]), f"{root}/stray.parquet")  # not in the catalog: never read
    hive = ["bigint", "int", "bigint", "int", "decimal(12,2)", "string", "timestamp"]
    columns = tuple(Column(n, t) for n, t in zip(names[:-1], hive, strict=True))
    catalog.ensure_database("ecommerce_silver")
    table = catalog.create_table(Table("ecommerce_silver", "order_items", StorageDescriptor.for_format(
        "parquet", columns, lake.uri(root)), partition_keys=(Column("dt", "date"),),
        parameters={"classification": "parquet"}))
    catalog.replace_partitions("ecommerce_silver", "order_items", [
        Partition("ecommerce_silver", "order_items", (dt,),
                  StorageDescriptor.for_format("parquet", columns, lake.uri(f"{root}/dt={dt}")))
        for dt in ("2026-11-01", "2026-11-02")])
    return table


def test_footprint_reads_catalog_partition_footers_only(tmp_path: Path) -> None:
    settings = Settings(lake_root=str(tmp_path / "lake"), catalog_url=f"sqlite:///{tmp_path / 'c.db'}")
    lake, catalog = Lake(settings), SqlCatalog(settings.catalog_url)
    table = order_items(lake, catalog)
    footprint = table_footprint(table, lake, catalog)
    assert (footprint.files, footprint.rows) == (2, 4)  # the stray file's 4 rows are not the table's
    assert footprint.gate_bytes == FRAME_FACTOR * footprint.uncompressed_bytes > 0
    assert fits_budget(table, lake, catalog, footprint.gate_bytes) == (True, footprint)
    assert fits_budget(table, lake, catalog, footprint.gate_bytes - 1) == (False, footprint)


def test_a_table_over_the_budget_is_validated_on_spark_with_the_pandas_answer(
        spark: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    options = GateOptions(data_docs=False, quarantine=True, publish=False)
    suite = load_suite(QUALITY_DIR / "ecommerce_order_items.yml")
    results = {}
    for budget in (1 << 30, 1):
        settings = Settings(lake_root=str(tmp_path / f"lake{budget}"), catalog_url=f"sqlite:///{tmp_path}/{budget}.db",
                            quality_memory_budget_bytes=budget)
        lake, catalog = Lake(settings), SqlCatalog(settings.catalog_url)
        table = order_items(lake, catalog)
        with caplog.at_level(logging.INFO, logger="lakeglue.quality.runner"):
            caplog.clear()
            results[budget] = check_table(suite, table, catalog, settings, "r1", options=options)
        on_spark = [r.message for r in caplog.records if "validating on Spark" in r.message]
        assert bool(on_spark) == (budget == 1), on_spark
    pandas, spark_result = results[1 << 30], results[1]
    assert pandas.summary() == spark_result.summary() == EXPECTED
    assert (pandas.row_count, pandas.rows_quarantined) == (spark_result.row_count, spark_result.rows_quarantined) \
        == (4, 6)
    assert spark.sparkContext._jsc is not None  # the shared session was not stopped by the gate
