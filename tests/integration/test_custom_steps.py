"""Custom Python steps in silver give the same table on Spark and on DuckDB, incrementally too.

Two lakes get the same raw orders; bronze runs on DuckDB in both (bronze parity is tested in
test_cross_engine.py), silver runs on Spark in one and DuckDB in the other with the example steps
of ``pipeline_steps.ecommerce``: a DataFrame/relation step that drops test orders and adds a
boolean, then a Python-UDF (Spark) / pyarrow.Table (DuckDB) step that adds a string. A second
batch rewrites two of four partitions (copy-on-write). Broken steps fail naming the step and
leave the table as it was.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import config_for_pipeline, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.custom_steps import StepError
from lakeglue.jobs.duckdb.entrypoint import run_job
from lakeglue.jobs.metrics import JobMetrics
from lakeglue.ledger import Ledger
from lakeglue.pipelines.spec import PipelineSpec, spec_from_dict
from lakeglue.settings import Settings
from lakeglue.storage import Lake

pytestmark = [pytest.mark.spark, pytest.mark.slow]

STARTED = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
EXAMPLE = "pipeline_steps.ecommerce"
STEPS: list[dict[str, Any]] = [
    {"name": "flag_big_orders", "spark": f"{EXAMPLE}:flag_big_orders_spark",
     "duckdb": f"{EXAMPLE}:flag_big_orders_duckdb"},
    {"name": "amount_band", "spark": f"{EXAMPLE}:amount_band_spark", "duckdb": f"{EXAMPLE}:amount_band_duckdb"},
]


def spec_with(steps: list[dict[str, Any]], silver_engine: str = "auto") -> PipelineSpec:
    return spec_from_dict({
        "name": "shop", "database": "shop", "source": {"prefix": "shop"},
        "engines": {"bronze": "duckdb", "silver": silver_engine},
        "bronze": {"orders": {"format": "json"}},
        "silver": {"orders": {
            "from": "orders", "key": ["order_id"], "order_by": ["updated_at"], "partition_by": ["dt"],
            "columns": {"order_id": {"type": "bigint"}, "customer_id": {"type": "bigint"},
                        "amount": {"type": "decimal(12,2)"},
                        "status": {"type": "string", "expr": "lower(trim(status))"},
                        "updated_at": {"type": "timestamp"}, "dt": {"type": "date"}},
            "steps": steps}}}, check_files=False)


def _order(oid: int, customer: int | None, amount: Any, at: str, status: str = " Placed ") -> dict[str, Any]:
    return {"order_id": oid, "customer_id": customer, "amount": amount, "status": status, "updated_at": at}


FIRST = {
    "dt=2026-11-01/a.jsonl": [
        _order(1, 10, "12.50", "2026-11-01T08:00:00"),
        _order(1, 10, "150.00", "2026-11-01T09:00:00", "Paid"),  # latest version of 1 wins dedupe
        _order(2, 0, 500, "2026-11-01T08:00:00"),  # the test customer: dropped by the step
        _order(3, None, 99.99, "2026-11-01T08:00:00"),  # NULL customer is kept
        _order(4, 11, "abc", "2026-11-01T08:00:00"),  # quarantined by the cast: no step sees it
        _order(11, 17, 30, "2026-11-01T08:00:00"),
        _order(11, 0, 40, "2026-11-01T10:00:00"),  # steps run before dedupe: this later version is dropped
    ],
    "dt=2026-11-02/b.jsonl": [_order(5, 12, None, "2026-11-02T08:00:00"), _order(6, 13, 100, "2026-11-02T08:00:00"),
                              _order(7, 14, "19.99", "2026-11-02T08:00:00")],
    "dt=2026-11-03/c.jsonl": [_order(8, 15, 20, "2026-11-03T08:00:00")],
}
SECOND = {
    "dt=2026-11-01/resend.jsonl": [_order(3, None, 250, "2026-11-01T12:00:00", "shipped"),
                                   _order(9, 0, 5, "2026-11-01T12:00:00")],
    "dt=2026-11-04/new.jsonl": [_order(10, 16, 5, "2026-11-04T08:00:00")],
}

#: (order_id, customer_id, amount, status, big_order, amount_band, dt) after each batch.
EXPECTED_FIRST = [
    (1, 10, Decimal("150.00"), "paid", True, "large", date(2026, 11, 1)),
    (3, None, Decimal("99.99"), "placed", False, "medium", date(2026, 11, 1)),
    (5, 12, None, "placed", None, None, date(2026, 11, 2)),
    (6, 13, Decimal("100.00"), "placed", True, "large", date(2026, 11, 2)),
    (7, 14, Decimal("19.99"), "placed", False, "small", date(2026, 11, 2)),
    (8, 15, Decimal("20.00"), "placed", False, "medium", date(2026, 11, 3)),
    (11, 17, Decimal("30.00"), "placed", False, "medium", date(2026, 11, 1)),
]
EXPECTED_SECOND = sorted([
    *(r for r in EXPECTED_FIRST if r[0] != 3),
    (3, None, Decimal("250.00"), "shipped", True, "large", date(2026, 11, 1)),
    (10, 16, Decimal("5.00"), "placed", False, "small", date(2026, 11, 4)),
])
SCHEMA = [("order_id", "bigint"), ("customer_id", "bigint"), ("amount", "decimal(12,2)"), ("status", "string"),
          ("updated_at", "timestamp"), ("big_order", "boolean"), ("amount_band", "string"),
          ("_source_file", "string"), ("_batch_id", "string"), ("partition:dt", "date")]


class Shop:
    """A lake with raw orders; bronze on DuckDB, silver on ``engine``."""

    def __init__(self, root: Path, engine: str) -> None:
        self.engine = engine
        self.settings = Settings(lake_root=str(root / "lake"), spark_shuffle_partitions=2,
                                 duckdb_temp_directory=str(root / "spill"))
        self.lake = Lake(self.settings)
        self.lake.ensure_zones()
        self.catalog, self.ledger = SqlCatalog(self.settings.catalog_url), Ledger(self.settings.catalog_url)
        self.spec = spec_with(STEPS)

    def land(self, files: dict[str, list[dict[str, Any]]]) -> None:
        for name, records in files.items():
            path = Path(self.lake.path("raw", "shop", "orders", name))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
        crawl(config_for_pipeline(self.spec), lake=self.lake, catalog=self.catalog, ledger=self.ledger)

    def ctx(self, run_id: str, spec: PipelineSpec | None = None, full_refresh: bool = False) -> JobContext:
        return JobContext(spec=spec or self.spec, settings=self.settings, lake=self.lake, catalog=self.catalog,
                          ledger=self.ledger, batch_id=run_id, started_at=STARTED, full_refresh=full_refresh)

    def silver(self, spark: Any, run_id: str, spec: PipelineSpec | None = None, engine: str | None = None,
               full_refresh: bool = False) -> JobMetrics:
        from lakeglue.jobs.spark.silver import run_silver

        ctx = self.ctx(run_id, spec, full_refresh)
        return run_silver(spark, ctx) if (engine or self.engine) == "spark" else run_job("silver", ctx)

    def run(self, spark: Any, run_id: str) -> JobMetrics:
        run_job("bronze", self.ctx(run_id))
        return self.silver(spark, run_id)

    def snapshot(self, spark: Any, metrics: JobMetrics) -> dict[str, Any]:
        from pyspark.sql import functions as F

        from lakeglue.jobs.spark.catalog_io import read_table

        table = self.catalog.get_table("shop_silver", "orders")
        df = read_table(spark, self.catalog, "shop_silver", "orders")
        prefix = f"file://{self.lake.root}/"
        df = df.withColumn("_source_file", F.expr(f"substring(_source_file, {len(prefix) + 1})"))
        qdir = Path(self.lake.path("quarantine", "shop", "silver", "orders"))
        quarantine = sorted((r["source_file"].removeprefix(prefix), r["line"], r["reason"], r["batch_id"])
                            for f in qdir.rglob("*.json") for r in map(json.loads, f.read_text().splitlines()))
        return {"schema": [(c.name, c.type) for c in table.columns] + [
                    (f"partition:{k.name}", k.type) for k in table.partition_keys],
                "frame_schema": [(f.name, f.dataType.simpleString()) for f in df.schema.fields],
                "rows": sorted(df.collect(), key=repr), "quarantine": quarantine,
                "rewritten": table.parameters["partitions_rewritten"], "location": table.location,
                "metrics": [(t.table, t.rows_read, t.rows_written, t.rows_quarantined) for t in metrics.tables]}


def business(snapshot: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted((r["order_id"], r["customer_id"], r["amount"], r["status"], r["big_order"], r["amount_band"],
                   r["dt"]) for r in snapshot["rows"])


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Shop]:
    root = tmp_path_factory.mktemp("custom-steps")
    return {engine: Shop(root / engine, engine) for engine in ("spark", "duckdb")}


@pytest.fixture(scope="module")
def snapshots(shops: dict[str, Shop], spark: Any) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {"first": {}, "second": {}}
    for batch, files in (("first", FIRST), ("second", SECOND)):
        for engine, shop in shops.items():
            shop.land(files)
            out[batch][engine] = shop.snapshot(spark, shop.run(spark, f"run-{batch}"))
    return out


@pytest.mark.parametrize("batch", ["first", "second"])
def test_same_steps_give_equal_silver_rows_and_schemas_on_both_engines(
        snapshots: dict[str, dict[str, dict[str, Any]]], batch: str) -> None:
    on_spark, on_duckdb = snapshots[batch]["spark"], snapshots[batch]["duckdb"]
    assert on_duckdb["schema"] == on_spark["schema"] == SCHEMA  # step columns land in the catalog
    assert on_duckdb["frame_schema"] == on_spark["frame_schema"]
    assert len(on_duckdb["rows"]) == len(on_spark["rows"])
    assert on_duckdb["rows"] == on_spark["rows"]  # every column, lineage included
    assert on_duckdb["quarantine"] == on_spark["quarantine"]
    assert on_duckdb["metrics"] == on_spark["metrics"]
    assert on_duckdb["rewritten"] == on_spark["rewritten"] == ("all" if batch == "first" else "2")


@pytest.mark.parametrize("batch,expected", [("first", EXPECTED_FIRST), ("second", EXPECTED_SECOND)])
def test_steps_filter_and_add_columns_before_dedupe(snapshots: dict[str, dict[str, dict[str, Any]]], batch: str,
                                                    expected: list[tuple[Any, ...]]) -> None:
    for engine in ("spark", "duckdb"):
        assert business(snapshots[batch][engine]) == expected, engine
    assert snapshots[batch]["duckdb"]["quarantine"] == [
        ("raw/shop/orders/dt=2026-11-01/a.jsonl", 5, "column amount: value 'abc' is not a valid decimal(12,2)",
         "run-first")]


def test_incremental_run_carries_untouched_partitions_with_step_columns(
        snapshots: dict[str, dict[str, dict[str, Any]]]) -> None:
    for engine in ("spark", "duckdb"):
        first, second = snapshots["first"][engine], snapshots["second"][engine]
        carried = [r for r in second["rows"] if r["dt"] in (date(2026, 11, 2), date(2026, 11, 3))]
        assert carried == [r for r in first["rows"] if r["dt"] in (date(2026, 11, 2), date(2026, 11, 3))]
        assert {r["_batch_id"] for r in carried} == {"run-first"}
        assert second["metrics"] == [("shop_silver.orders", 10, 8, 1)], engine  # read: the 2 rewritten partitions


def _step_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> str:
    """A module importable as ``pipeline_steps.<name>`` for one test."""
    import pipeline_steps

    folder = tmp_path / "steps"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(source)
    monkeypatch.setattr(pipeline_steps, "__path__", [*pipeline_steps.__path__, str(folder)])
    return f"pipeline_steps.{name}"


BROKEN = """
def drop_key_spark(df):
    return df.drop("order_id")

def drop_key_duckdb(rel):
    return rel.project("* EXCLUDE (order_id)")

def drop_key_arrow(rel):
    return rel.to_arrow_table().drop_columns(["order_id"])

def wrong_type_spark(df):
    return df.collect()

def wrong_type_duckdb(rel):
    return rel.df()

def reader_duckdb(rel):
    return rel.arrow()

def move_partition_spark(df):
    from pyspark.sql import functions as F
    return df.withColumn("dt", F.lit("2026-11-02").cast("date"))

def move_partition_duckdb(rel):
    return rel.project("* REPLACE (DATE '2026-11-02' AS dt)")
"""


@pytest.mark.parametrize("engine,function,message", [
    ("spark", "drop_key_spark", r"silver\.orders\.steps\.broken \(spark\) dropped column\(s\) \['order_id'\]"),
    ("duckdb", "drop_key_duckdb", r"silver\.orders\.steps\.broken \(duckdb\) dropped column\(s\) \['order_id'\]"),
    ("duckdb", "drop_key_arrow", r"silver\.orders\.steps\.broken \(duckdb\) dropped column\(s\) \['order_id'\]"),
    ("spark", "wrong_type_spark", r"silver\.orders\.steps\.broken: spark function '.*:wrong_type_spark' returned "
                                  r"builtins\.list, not a pyspark DataFrame"),
    ("duckdb", "wrong_type_duckdb", r"silver\.orders\.steps\.broken: duckdb function '.*:wrong_type_duckdb' returned "
                                    r"pandas\..*DataFrame, not a DuckDBPyRelation or a pyarrow\.Table"),
    ("duckdb", "reader_duckdb", r"returned pyarrow\.lib\.RecordBatchReader, .*call \.read_all\(\)"),
])
def test_a_broken_step_fails_naming_it_and_leaves_silver_unchanged(
        snapshots: dict[str, dict[str, dict[str, Any]]], shops: dict[str, Shop], spark: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, engine: str, function: str, message: str) -> None:
    module = _step_module(tmp_path, monkeypatch, f"broken_{function}", BROKEN)
    shop = shops["duckdb"]
    before = shop.catalog.get_table("shop_silver", "orders").location
    spec = spec_with([STEPS[0], {"name": "broken", engine: f"{module}:{function}"}], silver_engine=engine)
    with pytest.raises(StepError, match=message):
        shop.silver(spark, f"broken-{function}", spec=spec, engine=engine, full_refresh=True)
    assert shop.catalog.get_table("shop_silver", "orders").location == before == snapshots["second"]["duckdb"][
        "location"]


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_an_engine_specific_step_is_refused_at_run_start_on_the_other_engine(
        snapshots: dict[str, dict[str, dict[str, Any]]], shops: dict[str, Shop], spark: Any, engine: str) -> None:
    other = "duckdb" if engine == "spark" else "spark"
    spec = spec_with([{"name": "only_other", other: f"{EXAMPLE}:flag_big_orders_{other}"}], silver_engine=other)
    with pytest.raises(StepError, match=rf"silver\.orders\.steps\.only_other has no {engine} function "
                                        rf"\(it is {other}-specific\) but the silver job runs on {engine}"):
        shops[engine].silver(spark, "wrong-engine", spec=spec)
    assert shops[engine].catalog.get_table("shop_silver", "orders").location == snapshots["second"][engine][
        "location"]


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_a_step_moving_rows_into_a_carried_partition_is_refused(
        snapshots: dict[str, dict[str, dict[str, Any]]], shops: dict[str, Shop], spark: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    module = _step_module(tmp_path, monkeypatch, f"mover_{engine}", BROKEN)
    shop = shops[engine]
    shop.land({"dt=2026-11-04/late.jsonl": [_order(12, 18, 1, "2026-11-04T09:00:00")]})
    run_job("bronze", shop.ctx("run-move"))
    spec = spec_with([{"name": "mover", engine: f"{module}:move_partition_{engine}"}], silver_engine=engine)
    with pytest.raises(StepError, match=r"silver\.orders: step\(s\) mover wrote rows into partition\(s\) "
                                        r"\[\{'dt': '2026-11-02'\}\] that this incremental run does not rewrite"):
        shop.silver(spark, "run-move", spec=spec)
    assert shop.catalog.get_table("shop_silver", "orders").location == snapshots["second"][engine]["location"]


def test_udf_step_runs_on_workers_that_cannot_import_the_steps_package(tmp_path: Path) -> None:
    """An in-process session (CLI, tests) whose Python workers lack include/ on their path: the
    package is pickled by value, so the example's UDF still runs (without that, workers fail to
    import ``pipeline_steps``). spark-submit and Glue ship the package in the code zip instead."""
    import os
    import subprocess
    import sys

    import lakeglue

    include = str(Path(lakeglue.__file__).resolve().parents[1])
    script = (
        f"import sys\nsys.path.insert(0, {include!r})  # the driver only: workers do not inherit sys.path\n"
        "from lakeglue.jobs.spark.session import build_spark\n"
        "from lakeglue.jobs.spark.steps import apply_steps\n"
        "from lakeglue.settings import Settings\n"
        "from tests_spec import spec\n"
        "spark = build_spark('udf-by-value', Settings(spark_master='local[1]', spark_shuffle_partitions=1))\n"
        "rows = spark.sql(\"select 1L as order_id, 0L as customer_id, cast(150 as decimal(12,2)) as amount, \"\n"
        "                 \"timestamp'2026-11-01 00:00:00' as updated_at, date'2026-11-01' as dt, \"\n"
        "                 \"'f' as _source_file, 'b' as _batch_id, 1L as _line, \"\n"
        "                 \"timestamp'2026-11-01 00:00:00' as _ingested_at\")\n"
        "step = spec.silver['orders'].steps[1]\n"
        "ts = spec.silver['orders'].model_copy(update={'steps': [step]})\n"
        "out, columns = apply_steps('orders', ts, rows, [])\n"
        "print('RESULT', [(r['order_id'], r['amount_band']) for r in out.collect()], columns)\n"
        "spark.stop()\n")
    (tmp_path / "tests_spec.py").write_text(
        "from lakeglue.pipelines.spec import spec_from_dict\n"
        f"spec = spec_from_dict({spec_with(STEPS).model_dump(by_alias=True)!r}, check_files=False)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tmp_path)  # not include/: the JVM passes this to the workers
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == (
        "RESULT [(1, 'large')] ['order_id', 'customer_id', 'amount', 'updated_at', 'dt', 'amount_band']")


@pytest.mark.airflow
def test_duckdb_job_subprocess_as_airflow_runs_it_finds_the_steps(tmp_path: Path, spark: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's command and environment (include/ on PYTHONPATH, nothing inherited) run the steps."""
    import subprocess

    import yaml

    from lakeglue_airflow.operators.duckdb_job import duckdb_command, duckdb_environment

    shop = Shop(tmp_path / "airflow", "duckdb")
    shop.land(FIRST)
    run_job("bronze", shop.ctx("run-first"))
    spec_file = tmp_path / "shop.yml"
    spec_file.write_text(yaml.safe_dump(shop.spec.model_dump(by_alias=True, exclude_defaults=True)))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("LAKEGLUE_HOME", shop.settings.lake_root)
    monkeypatch.setenv("LAKEGLUE_DUCKDB_TEMP_DIRECTORY", str(tmp_path / "spill"))
    command = duckdb_command("silver", str(spec_file), "run-first", {}, str(tmp_path / "metrics.json"))
    out = subprocess.run(command, env=duckdb_environment(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads((tmp_path / "metrics.json").read_text())["rows_written"] == len(EXPECTED_FIRST)
    assert business(shop.snapshot(spark, JobMetrics("silver", "shop", "run-first"))) == EXPECTED_FIRST
