"""The same pipeline on Spark and on DuckDB gives the same tables, quarantines and catalog schemas.

Two lakes get byte-identical raw data — the generated sample (malformed lines, duplicates,
late updates, a drift column, a gzip day) plus files that make a column a *choice*
(``unit_price`` and ``quantity`` numbers in one file, strings in another), values silver
must quarantine, and CSV records with the wrong field count — and one runs every job on
Spark, the other on DuckDB. Data is compared through Spark (content and schema), paths
relative to each lake's root. A third lake mixes engines per job as the demo does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.model import Column
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import CrawlerConfig, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb.entrypoint import run_job
from lakeglue.jobs.metrics import JobMetrics
from lakeglue.ledger import Ledger
from lakeglue.pipelines import load_pipeline
from lakeglue.pipelines.spec import PipelineSpec, spec_from_dict
from lakeglue.sample import generate
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from tests.support.raw_json_lake import raw_json_context

pytestmark = [pytest.mark.spark, pytest.mark.slow]

STARTED = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
JOBS = ("bronze", "silver", "gold")


def _order(oid: int, price: Any, quantity: Any, **extra: Any) -> str:
    record = {"order_id": oid, "customer_id": 4, "order_ts": "2026-11-08T08:00:00",
              "updated_at": "2026-11-08T08:05:00", "status": " Placed ",
              "items": [{"product_id": 503, "quantity": quantity, "unit_price": price},
                        {"product_id": 504, "quantity": 1, "unit_price": price}], **extra}
    return json.dumps(record)


#: unit_price/quantity are JSON numbers here and strings in the other file: a choice type.
CHOICE_NUMBERS = [
    _order(8000000001, 12.5, 2),
    _order(8000000002, 7, 3, channel=1.5e7),  # a number in the string drift column: Java notation on both
    _order(8000000003, 1e1, 1),
    '  ' + _order(8000000004, 0.5, 4),  # leading blanks before the object
    '{"order_id": 8000000005, "items": [],}',  # trailing comma: not JSON for Spark's parser
]
CHOICE_STRINGS = [
    _order(8000000011, "12.50", "2"),
    _order(8000000012, " 7 ", "3"),
    _order(8000000013, "12.345", "two"),  # quantity not an int: quarantined in silver, naming the column
    _order(8000000014, "abc", "1"),  # unit_price not a decimal
    _order(8000000015, "9.99", "1.5"),  # Spark does not round '1.5' into an int
    _order(8000000016, "1", "1", updated_at="2026-11-08 09:00:00+02:00"),  # offset → UTC instant
    _order(8000000017, "1", "1", order_ts="2026-11"),  # Spark reads a year-month as its first day
    json.dumps({"customer_id": 4, "status": "placed", "items": []}),  # no business key
    json.dumps({"order_id": "8000000019.0", "status": "placed", "items": []}),  # not a bigint for Spark
]
LATE_CUSTOMERS = "customer_id,name,email,country,signup_date\n" \
                 "1001, Late Larsen ,LATE@EXAMPLE.COM ,se,2026-11-02\n" \
                 "1002,Short Row\n" \
                 "1003,Too,Many,Fields,2026-11-02,extra\n" \
                 "1004,Bad Date,bad@example.com,de,2026-13-01\n" \
                 "x1005,Bad Id,id@example.com,de,2026-11-02\n"


class Lakehouse:
    """One lake with the shared raw data, crawled; ``engines`` says which engine runs each job."""

    def __init__(self, root: Path, engines: dict[str, str]) -> None:
        self.root = root
        self.engines = engines
        self.metrics: dict[str, JobMetrics] = {}
        self.settings = Settings(lake_root=str(root / "lake"), spark_shuffle_partitions=2,
                                 duckdb_temp_directory=str(root / "spill"))
        self.lake = Lake(self.settings)
        self.lake.ensure_zones()
        self.raw_root = Path(self.lake.path("raw"))
        generate(self.raw_root, scale=1, seed=7)
        day = self.raw_root / "ecommerce" / "orders" / "dt=2026-11-08"
        day.mkdir(parents=True)
        (day / "choice-numbers.jsonl").write_text("\n".join(CHOICE_NUMBERS) + "\n")
        (day / "choice-strings.jsonl").write_text("\n".join(CHOICE_STRINGS) + "\n")
        (self.raw_root / "ecommerce" / "customers" / "customers-late.csv").write_text(LATE_CUSTOMERS)
        self.spec = load_pipeline("ecommerce")
        self.catalog = SqlCatalog(self.settings.catalog_url)
        self.ledger = Ledger(self.settings.catalog_url)
        cfg = CrawlerConfig(database=self.spec.database_for("raw"), zone="raw", prefix="ecommerce",
                            source_prefix="ecommerce", excludes=tuple(self.spec.source.excludes))
        crawl(cfg, lake=self.lake, catalog=self.catalog, ledger=self.ledger)

    def ctx(self, run_id: str, spec: PipelineSpec | None = None) -> JobContext:
        return JobContext(spec=spec or self.spec, settings=self.settings, lake=self.lake, catalog=self.catalog,
                          ledger=self.ledger, batch_id=run_id, started_at=STARTED)

    def run(self, spark: Any, run_id: str, jobs: tuple[str, ...] = JOBS,
            spec: PipelineSpec | None = None) -> dict[str, JobMetrics]:
        from lakeglue.jobs.spark.bronze import run_bronze
        from lakeglue.jobs.spark.gold import run_gold
        from lakeglue.jobs.spark.silver import run_silver

        on_spark: dict[str, Callable[[Any, JobContext], JobMetrics]] = {
            "bronze": run_bronze, "silver": run_silver, "gold": run_gold}
        ctx = self.ctx(run_id, spec)
        for job in jobs:
            self.metrics[job] = on_spark[job](spark, ctx) if self.engines[job] == "spark" else run_job(job, ctx)
        return self.metrics

    def relative(self, path: str | None) -> str | None:
        """A source-file URI relative to this lake (each lake has its own root)."""
        if path is None:
            return None
        prefix = f"file://{self.lake.root}/"
        assert path.startswith(prefix), path
        return path.removeprefix(prefix)

    def frame(self, spark: Any, layer: str, table: str) -> Any:
        from pyspark.sql import functions as F

        from lakeglue.jobs.spark.catalog_io import read_table

        df = read_table(spark, self.catalog, self.spec.database_for(layer), table)
        if "_source_file" in df.columns:
            prefix = f"file://{self.lake.root}/"
            df = df.withColumn("_source_file", F.expr(f"substring(_source_file, {len(prefix) + 1})"))
        return df.drop("_ingested_at") if layer == "bronze" else df

    def quarantine(self, layer: str, table: str) -> list[tuple[Any, ...]]:
        folder = Path(self.lake.path("quarantine", "ecommerce", layer, table))
        records = [json.loads(line) for f in sorted(folder.rglob("*.json")) for line in f.read_text().splitlines()]
        return sorted(((self.relative(r["source_file"]), r.get("line"), r["reason"], r["raw"], r["layer"],
                        r["table"], r.get("partition"), r["batch_id"]) for r in records), key=repr)

    def add_second_batch(self) -> None:
        """A re-sent update into an existing partition, a new day with bad values, a malformed line."""
        day3 = self.raw_root / "ecommerce" / "orders" / "dt=2026-11-03"
        original = json.loads((day3 / "orders-1.jsonl").read_text().splitlines()[0])
        resent = {**original, "status": "shipped", "updated_at": "2026-11-03T23:59:00"}
        bad_line = {**original, "order_id": 8100000001, "items": [{"product_id": 501, "quantity": "lots",
                                                                     "unit_price": "1.00"}]}
        (day3 / "resend.jsonl").write_text(f"{json.dumps(resent)}\n{json.dumps(bad_line)}\n{{\"order_id\": 1\n")
        day9 = self.raw_root / "ecommerce" / "orders" / "dt=2026-11-09"
        day9.mkdir()
        (day9 / "new.jsonl").write_text(_order(8100000002, "3.50", 2) + "\n"
                                        + _order(8100000003, "4.50", 1, updated_at="yesterday") + "\n")
        crawl(CrawlerConfig(database=self.spec.database_for("raw"), zone="raw", prefix="ecommerce",
                            source_prefix="ecommerce", excludes=tuple(self.spec.source.excludes)),
              lake=self.lake, catalog=self.catalog, ledger=self.ledger)

    def snapshot(self, spark: Any) -> dict[str, Any]:
        """Everything the engines must agree on, read through Spark, paths relative to the lake."""
        tables = {f"{layer}.{t}": frame_rows(self.frame(spark, layer, t)) for layer, t in TABLES}
        quarantine = {f"{layer}.{t}": self.quarantine(layer, t) for layer, t in QUARANTINES}
        metrics = [(job, t.table, t.rows_read, t.rows_written, t.rows_quarantined, t.files_read, t.bytes_read,
                    t.skipped_reason) for job, m in self.metrics.items() for t in m.tables]
        params = {name: self.catalog.get_table(*name.split(".")).parameters.get("partitions_rewritten")
                  for name in ("ecommerce_silver.orders", "ecommerce_silver.order_items")}
        return {"schemas": self.schemas(), "tables": tables, "quarantine": quarantine, "metrics": metrics,
                "partitions_rewritten": params}

    def schemas(self) -> dict[str, list[tuple[str, str]]]:
        out = {}
        for layer in ("bronze", "silver", "gold"):
            for t in self.catalog.list_tables(self.spec.database_for(layer)):
                out[t.qualified_name] = [(c.name, c.type) for c in t.columns] + [
                    (f"partition:{k.name}", k.type) for k in t.partition_keys]
        return out


TABLES = [("bronze", "customers"), ("bronze", "orders"), ("bronze", "products"), ("silver", "customers"),
          ("silver", "orders"), ("silver", "order_items"), ("silver", "products"),
          ("gold", "daily_revenue_by_category"), ("gold", "customer_lifetime_value")]
QUARANTINES = [("bronze", "orders"), ("bronze", "customers"), ("silver", "orders"), ("silver", "order_items"),
               ("silver", "customers")]
BATCHES = ("first", "second")


def frame_rows(df: Any) -> tuple[list[tuple[str, str]], list[Any]]:
    """A DataFrame's schema (names and types) and its rows in a stable order: what equality means here."""
    return ([(f.name, f.dataType.simpleString()) for f in df.schema.fields], sorted(df.collect(), key=repr))


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Lakehouse]:
    root = tmp_path_factory.mktemp("cross-engine")
    out = {"spark": Lakehouse(root / "spark", dict.fromkeys(JOBS, "spark")),
           "duckdb": Lakehouse(root / "duckdb", dict.fromkeys(JOBS, "duckdb"))}
    for lakehouse in out.values():
        lakehouse.run(spark, "run1")
    return out


@pytest.fixture(scope="module")
def snapshots(lakes: dict[str, Lakehouse], spark: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Both engines' state after the first batch, then after an incremental second batch."""
    out: dict[str, dict[str, dict[str, Any]]] = {"first": {}, "second": {}}
    for engine, lakehouse in lakes.items():
        out["first"][engine] = lakehouse.snapshot(spark)
    for engine, lakehouse in lakes.items():
        lakehouse.add_second_batch()
        lakehouse.run(spark, "run2")
        out["second"][engine] = lakehouse.snapshot(spark)
    return out


def _assert_frames_equal(left: Any, right: Any, what: str) -> None:
    left_schema, left_rows = frame_rows(left)
    right_schema, right_rows = frame_rows(right)
    assert left_schema == right_schema, what
    assert len(left_rows) == len(right_rows), what
    assert left_rows == right_rows, what


@pytest.mark.parametrize("batch", BATCHES)
def test_catalog_schemas_are_identical(snapshots: dict[str, dict[str, dict[str, Any]]], batch: str) -> None:
    spark_schemas, duck_schemas = snapshots[batch]["spark"]["schemas"], snapshots[batch]["duckdb"]["schemas"]
    assert sorted(spark_schemas) == sorted(duck_schemas) == [
        "ecommerce_bronze.customers", "ecommerce_bronze.orders", "ecommerce_bronze.products",
        "ecommerce_gold.customer_lifetime_value", "ecommerce_gold.daily_revenue_by_category",
        "ecommerce_silver.customers", "ecommerce_silver.order_items", "ecommerce_silver.orders",
        "ecommerce_silver.products"]
    for name in spark_schemas:
        assert duck_schemas[name] == spark_schemas[name], name
    assert dict(spark_schemas["ecommerce_silver.orders"])["order_ts"] == "timestamp"
    assert dict(spark_schemas["ecommerce_gold.daily_revenue_by_category"])["units"] == "bigint"


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("layer,table", TABLES)
def test_tables_are_equal(snapshots: dict[str, dict[str, dict[str, Any]]], batch: str, layer: str,
                          table: str) -> None:
    spark_schema, spark_rows = snapshots[batch]["spark"]["tables"][f"{layer}.{table}"]
    duck_schema, duck_rows = snapshots[batch]["duckdb"]["tables"][f"{layer}.{table}"]
    assert duck_schema == spark_schema
    assert len(duck_rows) == len(spark_rows)
    assert duck_rows == spark_rows


def test_choice_typed_values_resolve_the_same_way(snapshots: dict[str, dict[str, dict[str, Any]]]) -> None:
    _, items = snapshots["first"]["duckdb"]["tables"]["silver.order_items"]
    got = sorted((r["order_id"], r["line_no"], str(r["unit_price"]), r["quantity"]) for r in items
                 if 8000000000 <= r["order_id"] < 8000000100)
    assert got == [(8000000001, 1, "12.50", 2), (8000000001, 2, "12.50", 1), (8000000002, 1, "7.00", 3),
                   (8000000002, 2, "7.00", 1), (8000000003, 1, "10.00", 1), (8000000003, 2, "10.00", 1),
                   (8000000004, 1, "0.50", 4), (8000000004, 2, "0.50", 1), (8000000011, 1, "12.50", 2),
                   (8000000011, 2, "12.50", 1), (8000000012, 1, "7.00", 3), (8000000012, 2, "7.00", 1),
                   (8000000013, 2, "12.35", 1),  # line 1 has quantity 'two': quarantined, not NULL
                   (8000000015, 2, "9.99", 1),
                   (8000000016, 1, "1.00", 1), (8000000016, 2, "1.00", 1), (8000000017, 1, "1.00", 1),
                   (8000000017, 2, "1.00", 1)]
    _, orders_rows = snapshots["first"]["duckdb"]["tables"]["silver.orders"]
    orders = {r["order_id"]: r for r in orders_rows if 8000000000 <= r["order_id"] < 8000000100}
    assert orders[8000000002]["channel"] == "1.5E7"
    assert orders[8000000016]["updated_at"] == datetime(2026, 11, 8, 7, 0)
    assert orders[8000000017]["order_ts"] == datetime(2026, 11, 1, 0, 0)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("layer,table", QUARANTINES)
def test_quarantine_rows_are_equal(snapshots: dict[str, dict[str, dict[str, Any]]], batch: str, layer: str,
                                   table: str) -> None:
    spark_rows = snapshots[batch]["spark"]["quarantine"][f"{layer}.{table}"]
    duck_rows = snapshots[batch]["duckdb"]["quarantine"][f"{layer}.{table}"]
    assert [r[:3] for r in duck_rows] == [r[:3] for r in spark_rows]  # file, line, reason
    assert duck_rows == spark_rows  # and the raw text, layer, table, batch, partition


def test_quarantine_names_file_line_column_and_value(snapshots: dict[str, dict[str, dict[str, Any]]]) -> None:
    duck = snapshots["second"]["duckdb"]["quarantine"]
    assert ("raw/ecommerce/orders/dt=2026-11-08/choice-numbers.jsonl", 5, "malformed JSON: not a complete object"
            ) in [r[:3] for r in duck["bronze.orders"]]
    assert ("raw/ecommerce/orders/dt=2026-11-03/resend.jsonl", 3, "malformed JSON: not a complete object"
            ) in [r[:3] for r in duck["bronze.orders"]]
    reasons = {(r[2], r[-1]) for r in duck["silver.order_items"]}
    assert {("column quantity: value 'two' is not a valid int", "run1"),
            ("column unit_price: value 'abc' is not a valid decimal(12,2)", "run1"),  # carried over from run 1
            ("column quantity: value '1.5' is not a valid int", "run1"),
            ("column quantity: value 'lots' is not a valid int", "run2")} <= reasons
    assert [(r[0], r[2], r[3]) for r in duck["bronze.customers"]] == [
        ("raw/ecommerce/customers/customers-late.csv", "CSV record does not have the 5 fields of the header",
         "1002,Short Row"),
        ("raw/ecommerce/customers/customers-late.csv", "CSV record does not have the 5 fields of the header",
         "1003,Too,Many,Fields,2026-11-02,extra")]


@pytest.mark.parametrize("batch", BATCHES)
def test_run_metrics_and_incremental_rewrites_are_equal(snapshots: dict[str, dict[str, dict[str, Any]]],
                                                        batch: str) -> None:
    spark_snap, duck_snap = snapshots[batch]["spark"], snapshots[batch]["duckdb"]
    assert duck_snap["metrics"] == spark_snap["metrics"]
    expected = "all" if batch == "first" else "2"  # the re-sent update's day and the new day
    assert duck_snap["partitions_rewritten"] == spark_snap["partitions_rewritten"] == {
        "ecommerce_silver.orders": expected, "ecommerce_silver.order_items": expected}


def test_mixed_engines_per_job_give_the_same_gold(snapshots: dict[str, dict[str, dict[str, Any]]], spark: Any,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    """The demo's mix: DuckDB bronze, Spark silver on DuckDB's files, DuckDB gold on Spark's files."""
    mixed = Lakehouse(tmp_path_factory.mktemp("mixed"), {"bronze": "duckdb", "silver": "spark", "gold": "duckdb"})
    mixed.run(spark, "run1")
    expected = snapshots["first"]["spark"]
    for layer, table in (("gold", "daily_revenue_by_category"), ("gold", "customer_lifetime_value"),
                         ("silver", "orders")):
        assert frame_rows(mixed.frame(spark, layer, table)) == expected["tables"][f"{layer}.{table}"], table
    assert mixed.schemas() == expected["schemas"]


#: JSON lines both engines must judge alike, against a fixed (not crawled) raw schema.
EDGE_LINES = [
    '{"id": 1, "amount": 12.50, "tags": ["a", 2, 3.0], "meta": {"k": "v", "n": 1e-5}, "note": {"x": [1, 2]}}',
    '{"id": "2", "amount": "12.50", "tags": null, "meta": null, "note": true}',
    '{"id": 3, "amount": 123456789012345678901234567890, "tags": [], "meta": {"n": 99999999.5}}',
    '{"id": 4, "tags": "not-a-list"}',  # nesting mismatch
    '{"id": 5, "meta": [1, 2]}',  # nesting mismatch
    '{"id": 6, "tags": [{"x": 1}], "meta": {"k": {"deep": 1}}}',  # objects inside string leaves are kept as JSON
    '{"id": 7,}',
    '{"id": 8, "note": "tab\\there \\u00e9\\"q"}',
    '{"id": 9',
    '[1, 2]',
    '"just a string"',
    'null',
    '{}',
    '   ',
    '{"ID": 10, "id": 10}',
    "{'id': 11}",  # single quotes: not JSON (Spark's parser would take them)
    '{"id": 12} trailing text',  # Spark's parser stops after the object
    '{"id": 13}\t ',  # trailing whitespace is fine
]


def _edge_spec() -> PipelineSpec:
    return spec_from_dict({"name": "edge", "database": "edge", "source": {"prefix": "edge"},
                           "engines": {"bronze": "duckdb"}, "bronze": {"events": {"format": "json"}}},
                          check_files=False)


def _edge_bronze_on_both(tmp_path: Path, spark: Any, files: dict[str, bytes]) -> dict[str, Any]:
    """Bronze of ``files`` (name → bytes) on each engine: (rows, quarantine (file, line, reason, raw), metrics)."""
    from pyspark.sql import functions as F

    from lakeglue.jobs.spark.bronze import run_bronze
    from lakeglue.jobs.spark.catalog_io import read_table

    spec = _edge_spec()
    results = {}
    for engine in ("spark", "duckdb"):
        settings = Settings(lake_root=str(tmp_path / engine / "lake"), duckdb_temp_directory=str(tmp_path / "spill"))
        columns = (Column("id", "bigint"), Column("amount", "double"), Column("tags", "array<string>"),
                   Column("meta", "struct<k:string,n:double>"), Column("note", "string"))
        ctx = raw_json_context(settings, spec, files, columns, STARTED)
        lake, catalog = ctx.lake, ctx.catalog
        metrics = run_bronze(spark, ctx) if engine == "spark" else run_job("bronze", ctx)
        df = read_table(spark, catalog, "edge_bronze", "events").drop("_ingested_at")
        df = df.withColumn("_source_file", F.regexp_extract("_source_file", r"[^/]+$", 0))
        qdir = Path(lake.path("quarantine", "edge", "bronze", "events"))
        quarantined = sorted((r["source_file"].rsplit("/", 1)[-1], r["line"], r["reason"], r["raw"])
                             for f in qdir.rglob("*.json") for r in map(json.loads, f.read_text().splitlines()))
        results[engine] = (df, quarantined, [(t.rows_written, t.rows_quarantined) for t in metrics.tables])
    return results


def test_json_edge_lines_are_read_alike(tmp_path: Path, spark: Any) -> None:
    results = _edge_bronze_on_both(tmp_path, spark, {"part-1.jsonl": ("\n".join(EDGE_LINES) + "\n").encode()})
    results = {engine: (df, [q[1:] for q in quarantined], counts)
               for engine, (df, quarantined, counts) in results.items()}
    _assert_frames_equal(results["spark"][0], results["duckdb"][0], "edge bronze rows")
    assert results["duckdb"][1] == results["spark"][1]
    assert results["duckdb"][1] == [
        (4, "malformed JSON: not a complete object", EDGE_LINES[3]),
        (5, "malformed JSON: not a complete object", EDGE_LINES[4]),
        (7, "malformed JSON: not a complete object", EDGE_LINES[6]),
        (9, "malformed JSON: not a complete object", EDGE_LINES[8]),
        (10, "not a JSON object", EDGE_LINES[9]), (11, "not a JSON object", EDGE_LINES[10]),
        (12, "not a JSON object", EDGE_LINES[11]),
        (16, "malformed JSON: not a complete object", EDGE_LINES[15]),
        (17, "malformed JSON: not a complete object", EDGE_LINES[16])]
    assert results["duckdb"][2] == results["spark"][2] == [(8, 9)]


def test_crlf_gzip_and_several_files_keep_their_line_numbers_alike(tmp_path: Path, spark: Any) -> None:
    """Line numbers count physical lines per file whatever the file: CRLF endings (the CR is not
    part of the line), gzip, several files in one batch, blank lines in between."""
    import gzip

    crlf = b'{"id": 1}\r\n\r\n{"id": 2,}\r\n{"id": 3}\r\n'
    zipped = gzip.compress(b'{"id": 4}\n[4]\n\n{"id": 5}\n{"id": 6')
    plain = b'{"id": 7}\n' * 50 + b'{"id": 8\n'
    results = _edge_bronze_on_both(tmp_path, spark, {"a.jsonl": crlf, "b.jsonl.gz": zipped, "c.jsonl": plain})
    _assert_frames_equal(results["spark"][0], results["duckdb"][0], "bronze rows")
    assert results["duckdb"][1] == results["spark"][1] == [
        ("a.jsonl", 3, "malformed JSON: not a complete object", '{"id": 2,}'),
        ("b.jsonl.gz", 2, "not a JSON object", "[4]"),
        ("b.jsonl.gz", 5, "malformed JSON: not a complete object", '{"id": 6'),
        ("c.jsonl", 51, "malformed JSON: not a complete object", '{"id": 8')]
    assert results["duckdb"][2] == results["spark"][2] == [(54, 4)]


CHOICE_SPEC: dict[str, Any] = {
    "name": "choices", "database": "choices", "source": {"prefix": "choices"},
    "bronze": {"prices": {"format": "json", "choices": {"price": ["bigint", "double", "string"]}},
               "stock": {"format": "parquet", "choices": {"level": ["bigint", "string"]}},
               "sizes": {"format": "csv", "options": {"header": "true"},
                         "choices": {"size": ["int", "decimal(6,2)", "string"]}}},
    "silver": {
        "price_cast": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "decimal(10,2)", "resolve": "cast"}}},
        "price_project": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "bigint", "resolve": "project"}}},
        "price_cols": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "choice", "resolve": "make_cols"}}},
        "price_struct": {"from": "prices", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "price": {"type": "choice", "resolve": "make_struct"}}},
        "stock_levels": {"from": "stock", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "level": {"type": "int", "resolve": "cast"}}},
        "sizes": {"from": "sizes", "key": ["sku"], "columns": {
            "sku": {"type": "bigint"}, "size": {"type": "choice", "resolve": "make_cols"}}},
    },
}


def test_choice_columns_are_split_and_resolved_alike(tmp_path: Path, spark: Any) -> None:
    """Glue-style choice columns from JSON tokens, CSV text and Parquet physical types, every resolve rule."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakeglue.crawler import config_for_pipeline
    from lakeglue.jobs.spark.bronze import run_bronze
    from lakeglue.jobs.spark.catalog_io import read_table
    from lakeglue.jobs.spark.silver import run_silver

    spec = spec_from_dict(CHOICE_SPEC, check_files=False)
    results: dict[str, dict[str, Any]] = {}
    for engine in ("spark", "duckdb"):
        settings = Settings(lake_root=str(tmp_path / engine / "lake"), duckdb_temp_directory=str(tmp_path / "spill"))
        lake = Lake(settings)
        lake.ensure_zones()
        raw = Path(lake.path("raw", "choices"))
        (raw / "prices").mkdir(parents=True)
        (raw / "prices" / "a.jsonl").write_text('{"sku": 1, "price": 10}\n{"sku": 2, "price": 12.5}\n'
                                                '{"sku": 5, "price": 9223372036854775808}\n')
        (raw / "prices" / "b.jsonl").write_text('{"sku": 3, "price": "15"}\n{"sku": 4, "price": "n/a"}\n'
                                                '{"sku": 6, "price": "NaN"}\n{"sku": 7, "price": null}\n')
        (raw / "stock").mkdir()
        pq.write_table(pa.table({"sku": pa.array([1, 2], pa.int64()), "level": pa.array([5, 7], pa.int64())}),
                       raw / "stock" / "one.parquet")
        pq.write_table(pa.table({"sku": pa.array([3, 4], pa.int64()), "level": pa.array(["9", "x"], pa.string())}),
                       raw / "stock" / "two.parquet")
        (raw / "sizes").mkdir()
        (raw / "sizes" / "s.csv").write_text("sku,size\n1,42\n2,42.5\n3,XL\n4,\n5, 7 \n")
        catalog, ledger = SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
        crawl(config_for_pipeline(spec), lake=lake, catalog=catalog, ledger=ledger)
        ctx = JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=ledger, batch_id="c1",
                         started_at=STARTED)
        if engine == "spark":
            metrics = [run_bronze(spark, ctx), run_silver(spark, ctx)]
        else:
            metrics = [run_job("bronze", ctx), run_job("silver", ctx)]
        snap: dict[str, Any] = {"metrics": [(t.table, t.rows_read, t.rows_written, t.rows_quarantined)
                                            for m in metrics for t in m.tables]}
        for layer, tables in (("bronze", spec.bronze), ("silver", spec.silver)):
            for name in tables:
                df = read_table(spark, catalog, spec.database_for(layer), name).drop("_source_file", "_ingested_at")
                snap[f"{layer}.{name}"] = frame_rows(df)
                snap[f"types.{layer}.{name}"] = [(c.name, c.type) for c in catalog.get_table(
                    spec.database_for(layer), name).all_columns()]
        qdir = Path(lake.path("quarantine", "choices"))
        records = [json.loads(line) | {"__table": f.parent.parent.name} for f in qdir.rglob("*.json")
                   for line in f.read_text().splitlines()]
        snap["quarantine"] = sorted(((r["__table"], r.get("line"), r["reason"], r["raw"]) for r in records), key=repr)
        results[engine] = snap
    assert sorted(results["duckdb"]) == sorted(results["spark"])
    for key in results["spark"]:
        assert repr(results["duckdb"][key]) == repr(results["spark"][key]), key  # repr: NaN == NaN
    price_type = dict(results["duckdb"]["types.bronze.prices"])["price"]
    assert price_type == "struct<bigint:bigint,double:double,string:string>"
    assert dict(results["duckdb"]["types.silver.sizes"]) == {
        "sku": "bigint", "size_int": "int", "size_decimal(6,2)": "decimal(6,2)", "size_string": "string",
        "_source_file": "string", "_batch_id": "string"}


def test_jdbc_source_reads_the_same_rows_and_types(tmp_path: Path, spark: Any) -> None:
    """A Postgres table as a bronze source on both engines: same rows, same Spark types, same bookmarks."""
    import uuid

    from lakeglue.jobs.spark.bronze import run_bronze
    from lakeglue.jobs.spark.catalog_io import read_table
    from lakeglue.jobs.spark.silver import run_silver
    from tests.support.postgres import jdbc_source_connection

    conn = jdbc_source_connection()
    name = f"crm_types_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE TABLE public.{name} (id bigint primary key, small smallint, n integer, amount numeric(12,2),"
                 " ratio double precision, label text, code varchar(8), active boolean, born date,"
                 " updated_at timestamp not null, seen_at timestamptz)")
    conn.execute(f"INSERT INTO public.{name} VALUES (1, 2, 3, 10.50, 0.25, 'gold', 'G1', true, '1990-01-02',"
                 " '2026-11-01 08:00', '2026-11-01 08:00+02'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
                 " '2026-11-02 09:30:15.5', NULL)")
    spec = spec_from_dict({
        "name": "crm", "database": "crm", "source": {"prefix": "crm"},
        "bronze": {"accounts": {"format": "jdbc", "bookmark_column": "updated_at", "options": {
            "url": "jdbc:postgresql://127.0.0.1:5432/test", "user": "postgres", "dbtable": f"public.{name}"}}},
        "silver": {"accounts": {"from": "accounts", "key": ["id"], "order_by": ["updated_at"], "columns": {
            "id": {"type": "bigint"}, "label": {"type": "string", "expr": "upper(label)"},
            "amount": {"type": "decimal(12,2)"}, "updated_at": {"type": "timestamp"}}}}}, check_files=False)
    results: dict[str, list[Any]] = {"spark": [], "duckdb": []}
    try:
        lakes = {}
        for engine in ("spark", "duckdb"):
            settings = Settings(lake_root=str(tmp_path / engine / "lake"), duckdb_temp_directory=str(tmp_path / "s"))
            lakes[engine] = (settings, Lake(settings), SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url))
            lakes[engine][1].ensure_zones()
        for batch in ("b1", "b2"):
            if batch == "b2":
                conn.execute(f"UPDATE public.{name} SET label = 'platinum', updated_at = '2026-11-05 12:00' "
                             "WHERE id = 2")
            for engine, (settings, lake, catalog, ledger) in lakes.items():
                ctx = JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=ledger,
                                 batch_id=batch, started_at=STARTED)
                metrics = ([run_bronze(spark, ctx), run_silver(spark, ctx)] if engine == "spark"
                           else [run_job("bronze", ctx), run_job("silver", ctx)])
                results[engine].append([(t.table, t.rows_read, t.rows_written, t.skipped_reason)
                                        for m in metrics for t in m.tables])
                for layer in ("bronze", "silver"):
                    df = read_table(spark, catalog, f"crm_{layer}", "accounts")
                    results[engine].append(frame_rows(df.drop("_source_file", "_ingested_at")))
                    results[engine].append([(c.name, c.type) for c in catalog.get_table(
                        f"crm_{layer}", "accounts").all_columns()])
    finally:
        conn.execute(f"DROP TABLE IF EXISTS public.{name}")
        conn.close()
    assert results["duckdb"] == results["spark"]
    bronze_types = dict(results["duckdb"][2])
    assert (bronze_types["small"], bronze_types["amount"], bronze_types["seen_at"]) == (
        "smallint", "decimal(12,2)", "timestamp")
    assert results["duckdb"][5][0] == ("crm_bronze.accounts", 1, 1, "")  # the second batch: the updated row only
