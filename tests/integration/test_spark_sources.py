"""Issue-5 behaviours on small, hand-written lakes: choice columns and the JDBC ("RDS") source.

Every lake here is written by the test, so the expected values are known exactly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import config_for_pipeline, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.spark.bronze import run_bronze
from lakeglue.jobs.spark.catalog_io import read_table
from lakeglue.jobs.spark.gold import run_gold
from lakeglue.jobs.spark.silver import run_silver
from lakeglue.ledger import Ledger
from lakeglue.pipelines.spec import PipelineSpec, spec_from_dict
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from tests.support.postgres import jdbc_source_connection

pytestmark = [pytest.mark.spark, pytest.mark.slow]


class MiniLake:
    def __init__(self, root: Path, spec: dict[str, Any]) -> None:
        self.settings = Settings(lake_root=str(root / "lake"), spark_shuffle_partitions=2)
        self.lake = Lake(self.settings)
        self.lake.ensure_zones()
        self.spec: PipelineSpec = spec_from_dict(spec)
        self.catalog = SqlCatalog(self.settings.catalog_url)
        self.ledger = Ledger(self.settings.catalog_url)

    def raw(self, relative: str) -> Path:
        path = Path(self.lake.path("raw", self.spec.source.prefix, relative))
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def crawl(self) -> None:
        crawl(config_for_pipeline(self.spec), lake=self.lake, catalog=self.catalog, ledger=self.ledger)

    def ctx(self, run_id: str, **kw: Any) -> JobContext:
        return JobContext(spec=self.spec, settings=self.settings, lake=self.lake, catalog=self.catalog,
                          ledger=self.ledger, batch_id=run_id, started_at=datetime.now(UTC), **kw)

    def rows(self, spark: Any, layer: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        df = read_table(spark, self.catalog, self.spec.database_for(layer), table)
        return sorted((tuple(r) for r in df.select(*columns).collect()), key=repr)

    def types(self, layer: str, table: str) -> dict[str, str]:
        return {c.name: c.type for c in self.catalog.get_table(self.spec.database_for(layer), table).all_columns()}


CHOICE_SPEC: dict[str, Any] = {
    "name": "choices", "database": "choices", "source": {"prefix": "choices"},
    "bronze": {"prices": {"format": "json", "choices": {"price": ["bigint", "string"]}},
               "stock": {"format": "parquet", "choices": {"level": ["bigint", "string"]}}},
    "silver": {
        "price_cast": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "bigint", "resolve": "cast"}}},
        "price_project": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "bigint", "resolve": "project"}}},
        "price_cols": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "choice", "resolve": "make_cols"}}},
        "price_struct": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "choice", "resolve": "make_struct"}}},
        "stock_levels": {"from": "stock", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "level": {"type": "int", "resolve": "cast"}}},
    },
}


@pytest.fixture(scope="module")
def choice_lake(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> MiniLake:
    lake = MiniLake(tmp_path_factory.mktemp("choices"), CHOICE_SPEC)
    lake.raw("prices/a.jsonl").write_text('{"sku": 1, "price": 10}\n{"sku": 2, "price": 12}\n')
    lake.raw("prices/b.jsonl").write_text('{"sku": 3, "price": "15"}\n{"sku": 4, "price": "n/a"}\n')
    pq.write_table(pa.table({"sku": pa.array([1, 2], pa.int64()), "level": pa.array([5, 7], pa.int64())}),
                   lake.raw("stock/one.parquet"))
    pq.write_table(pa.table({"sku": pa.array([3], pa.int64()), "level": pa.array(["9"], pa.string())}),
                   lake.raw("stock/two.parquet"))
    lake.crawl()
    ctx = lake.ctx("c1")
    run_bronze(spark, ctx)
    run_silver(spark, ctx)
    return lake


def test_bronze_keeps_every_variant_of_a_choice_column(choice_lake: MiniLake, spark: Any) -> None:
    assert choice_lake.types("bronze", "prices")["price"] == "struct<bigint:bigint,string:string>"
    # Bronze keeps JSON leaves as text (sku) but splits the declared choice by JSON token type.
    assert choice_lake.rows(spark, "bronze", "prices", ["sku", "price.bigint", "price.string"]) == [
        ("1", 10, None), ("2", 12, None), ("3", None, "15"), ("4", None, "n/a")]
    table = choice_lake.catalog.get_table("choices_bronze", "prices")
    assert table.parameters["choice.price"] == "bigint,string"


def test_resolve_cast_casts_every_variant_and_quarantines_what_cannot_be_cast(choice_lake: MiniLake,
                                                                               spark: Any) -> None:
    assert choice_lake.rows(spark, "silver", "price_cast", ["sku", "price"]) == [(1, 10), (2, 12), (3, 15)]
    assert choice_lake.types("silver", "price_cast")["price"] == "bigint"
    qdir = Path(choice_lake.lake.path("quarantine", "choices", "silver", "price_cast", "_batch_id=all"))
    records = [json.loads(line) for f in sorted(qdir.glob("*.json")) for line in f.read_text().splitlines()]
    assert [(r["source_file"].rsplit("/", 1)[-1], r["line"], r["reason"]) for r in records] == [
        ("b.jsonl", 2, "column price: value 'n/a' is not a valid bigint")]


def test_resolve_project_keeps_only_the_named_variant(choice_lake: MiniLake, spark: Any) -> None:
    assert choice_lake.rows(spark, "silver", "price_project", ["sku", "price"]) == [
        (1, 10), (2, 12), (3, None), (4, None)]


def test_resolve_make_cols_and_make_struct(choice_lake: MiniLake, spark: Any) -> None:
    assert choice_lake.rows(spark, "silver", "price_cols", ["sku", "price_bigint", "price_string"]) == [
        (1, 10, None), (2, 12, None), (3, None, "15"), (4, None, "n/a")]
    types = choice_lake.types("silver", "price_cols")
    assert (types["price_bigint"], types["price_string"]) == ("bigint", "string")
    assert choice_lake.types("silver", "price_struct")["price"] == "struct<bigint:bigint,string:string>"
    assert choice_lake.rows(spark, "silver", "price_struct", ["sku", "price.bigint", "price.string"]) == [
        (1, 10, None), (2, 12, None), (3, None, "15"), (4, None, "n/a")]


def test_parquet_files_that_disagree_on_a_type_become_a_choice(choice_lake: MiniLake, spark: Any) -> None:
    assert choice_lake.rows(spark, "bronze", "stock", ["sku", "level.bigint", "level.string"]) == [
        (1, 5, None), (2, 7, None), (3, None, "9")]
    assert choice_lake.rows(spark, "silver", "stock_levels", ["sku", "level"]) == [(1, 5), (2, 7), (3, 9)]
    assert choice_lake.types("silver", "stock_levels")["level"] == "int"


# -- JDBC ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crm_table() -> Iterator[tuple[str, Any]]:
    """A "RDS" table in the real Postgres: customers' loyalty tiers, updated over time."""
    conn = jdbc_source_connection()
    name = f"crm_loyalty_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE TABLE public.{name} (customer_id bigint primary key, tier text not null, "
                 "updated_at timestamp not null)")
    conn.execute(f"INSERT INTO public.{name} VALUES (1, 'gold', '2026-11-01 08:00'), (2, 'silver', '2026-11-01 09:00'),"
                 " (3, 'bronze', '2026-11-02 10:00')")
    yield name, conn
    conn.execute(f"DROP TABLE IF EXISTS public.{name}")
    conn.close()


@pytest.fixture(scope="module")
def crm_lake(tmp_path_factory: pytest.TempPathFactory, crm_table: tuple[str, Any]) -> MiniLake:
    root = tmp_path_factory.mktemp("crm")
    sql = root / "revenue_by_tier.sql"
    sql.write_text("""
        WITH orders AS (SELECT customer_id, amount FROM crm_silver.orders),
             tiers AS (SELECT customer_id, tier FROM crm_silver.loyalty)
        SELECT COALESCE(t.tier, 'none') AS tier, CAST(SUM(o.amount) AS DECIMAL(18, 2)) AS revenue,
               COUNT(*) AS orders
        FROM orders AS o LEFT JOIN tiers AS t ON t.customer_id = o.customer_id
        GROUP BY 1 ORDER BY 1
    """)
    spec = {
        "name": "crm", "database": "crm", "source": {"prefix": "crm"},
        "bronze": {
            "orders": {"format": "json"},
            "loyalty": {"format": "jdbc", "bookmark_column": "updated_at",
                        "options": {"url": "jdbc:postgresql://127.0.0.1:5432/test", "user": "postgres",
                                    "dbtable": f"public.{crm_table[0]}"}}},
        "silver": {
            "orders": {"from": "orders", "key": ["order_id"], "columns": {
                "order_id": {"type": "bigint"}, "customer_id": {"type": "bigint"},
                "amount": {"type": "decimal(12,2)"}}},
            "loyalty": {"from": "loyalty", "key": ["customer_id"], "order_by": ["updated_at"], "columns": {
                "customer_id": {"type": "bigint"}, "tier": {"type": "string"}, "updated_at": {"type": "timestamp"}}}},
        "gold": {"revenue_by_tier": {"sql": str(sql)}},
    }
    lake = MiniLake(root, spec)
    lake.raw("orders/o.jsonl").write_text("\n".join(json.dumps(o) for o in [
        {"order_id": 1, "customer_id": 1, "amount": "10.50"}, {"order_id": 2, "customer_id": 1, "amount": "4.50"},
        {"order_id": 3, "customer_id": 2, "amount": "20.00"}, {"order_id": 4, "customer_id": 9, "amount": "1.25"},
    ]) + "\n")
    lake.crawl()
    return lake


def test_jdbc_source_is_joined_with_lake_data(crm_lake: MiniLake, spark: Any) -> None:
    ctx = crm_lake.ctx("j1")
    bronze = run_bronze(spark, ctx)
    loyalty = next(t for t in bronze.tables if t.table == "crm_bronze.loyalty")
    assert (loyalty.rows_read, loyalty.rows_written) == (3, 3)
    run_silver(spark, ctx)
    run_gold(spark, ctx)
    assert crm_lake.rows(spark, "gold", "revenue_by_tier", ["tier", "revenue", "orders"]) == sorted([
        ("gold", Decimal("15.00"), 2), ("none", Decimal("1.25"), 1), ("silver", Decimal("20.00"), 1)], key=repr)
    assert crm_lake.types("bronze", "loyalty")["updated_at"] == "timestamp"


def test_jdbc_bookmark_reads_only_rows_past_the_high_water_mark(crm_lake: MiniLake, crm_table: tuple[str, Any],
                                                                spark: Any) -> None:
    name, conn = crm_table
    nothing = run_bronze(spark, crm_lake.ctx("j2"))
    loyalty = next(t for t in nothing.tables if t.table == "crm_bronze.loyalty")
    assert loyalty.skipped_reason.startswith("no rows in public.")
    conn.execute(f"UPDATE public.{name} SET tier = 'platinum', updated_at = '2026-11-05 12:00' WHERE customer_id = 2")
    for attempt in range(2):  # a retried batch reads the same window, not whatever arrived meanwhile
        changed = run_bronze(spark, crm_lake.ctx("j3"))
        loyalty = next(t for t in changed.tables if t.table == "crm_bronze.loyalty")
        assert loyalty.rows_written == 1, attempt
        conn.execute(f"UPDATE public.{name} SET updated_at = '2026-11-06 12:00' WHERE customer_id = 3")
    ctx = crm_lake.ctx("j3")
    run_silver(spark, ctx)
    assert crm_lake.rows(spark, "silver", "loyalty", ["customer_id", "tier"]) == [
        (1, "gold"), (2, "platinum"), (3, "bronze")]
