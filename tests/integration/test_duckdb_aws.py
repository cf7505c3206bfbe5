"""The DuckDB engine on the aws profile: a lake in S3 and the Glue Data Catalog, both on a real moto server.

The sample lake is uploaded to ``s3://lake/prod/raw``; the crawler registers it in Glue; the
DuckDB jobs read and write S3 through httpfs (loaded from its wheel) and register their
outputs in Glue; the ledger is a SQL database as in production (SQLite here). Then the same
jobs run the way a Glue job runs them: :mod:`lakeglue.jobs.glue_launcher` as a plain script,
lakeglue importable only from the code zip (no checkout, no ``LAKEGLUE_*`` environment),
settings from ``--lakeglue-settings`` and Glue's own arguments mixed in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from lakeglue.catalog import open_catalog
from lakeglue.crawler import CrawlerConfig, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb.entrypoint import run_job
from lakeglue.jobs.packaging import build_code_zip
from lakeglue.ledger import Ledger
from lakeglue.pipelines import load_pipeline
from lakeglue.sample import generate
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from tests.support.duckdb_rows import table_rows
from tests.support.expected_gold import ExpectedGold

pytestmark = pytest.mark.slow

BUCKET, PREFIX = "lake", "prod"
LAUNCHER = Path(__file__).resolve().parents[2] / "include" / "lakeglue" / "jobs" / "glue_launcher.py"


class AwsLake:
    def __init__(self, root: Path, endpoint: str) -> None:
        self.root = root
        self.endpoint = endpoint
        self.settings = Settings(profile="aws", lake_root=f"s3://{BUCKET}/{PREFIX}",
                                 catalog_url=f"sqlite:///{root / 'ledger.db'}", aws_endpoint_url=endpoint,
                                 duckdb_memory_limit="1GB", duckdb_temp_directory=str(root / "spill"))
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
        self.raw_root = root / "raw"
        self.manifest = generate(self.raw_root, scale=1, seed=7)
        self.upload(self.raw_root)
        self.lake = Lake(self.settings)
        self.catalog = open_catalog(self.settings)
        self.ledger = Ledger(self.settings.catalog_url)
        self.spec = load_pipeline("ecommerce")

    def upload(self, folder: Path) -> None:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{PREFIX}/raw/{path.relative_to(self.raw_root).as_posix()}"
            self.s3.upload_file(str(path), BUCKET, key)

    def crawl(self) -> Any:
        cfg = CrawlerConfig(database=self.spec.database_for("raw"), zone="raw", prefix="ecommerce",
                            source_prefix="ecommerce", excludes=tuple(self.spec.source.excludes))
        return crawl(cfg, lake=self.lake, catalog=self.catalog, ledger=self.ledger)

    def ctx(self, run_id: str) -> JobContext:
        return JobContext(spec=self.spec, settings=self.settings, lake=self.lake, catalog=self.catalog,
                          ledger=self.ledger, batch_id=run_id, started_at=datetime(2026, 11, 23, tzinfo=UTC))

    def rows(self, layer: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        return table_rows(self.settings, self.catalog, self.lake, self.spec.database_for(layer), table, columns)

    def gold(self) -> dict[str, list[tuple[Any, ...]]]:
        return {"revenue": self.rows("gold", "daily_revenue_by_category",
                                     ["dt", "category", "revenue", "units", "orders"]),
                "clv": self.rows("gold", "customer_lifetime_value",
                                 ["customer_id", "email", "country", "orders", "lifetime_value", "first_order_date",
                                  "last_order_date"])}


def expected_gold(raw_root: Path) -> dict[str, list[tuple[Any, ...]]]:
    oracle = ExpectedGold(raw_root)
    return {"revenue": sorted((r["dt"], r["category"], r["revenue"], r["units"], r["orders"])
                              for r in oracle.daily_revenue_by_category()),
            "clv": sorted(tuple(r.values()) for r in oracle.customer_lifetime_value())}


@pytest.fixture(scope="module")
def aws(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> AwsLake:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"),
                           timeout=10).close()
    env = AwsLake(tmp_path_factory.mktemp("duckdb-aws"), moto_endpoint)
    env.crawl()
    return env


@pytest.fixture(scope="module")
def first_run(aws: AwsLake) -> dict[str, Any]:
    ctx = aws.ctx("run1")
    return {job: run_job(job, ctx) for job in ("bronze", "silver", "gold")}


def test_jobs_on_an_s3_lake_give_the_oracle_gold(aws: AwsLake, first_run: dict[str, Any]) -> None:
    assert aws.gold() == expected_gold(aws.raw_root)


def test_bronze_on_s3_keeps_s3_lineage_and_quarantines_to_s3(aws: AwsLake, first_run: dict[str, Any]) -> None:
    orders = next(t for t in first_run["bronze"].tables if t.table.endswith(".orders"))
    assert (orders.rows_quarantined, orders.rows_written) == (aws.manifest.malformed_lines,
                                                             aws.manifest.order_records)
    sources = {r[0] for r in aws.rows("bronze", "orders", ["_source_file"])}
    expected = {f"s3://{BUCKET}/{PREFIX}/raw/{p}" for p in aws.manifest.files if "/orders/" in p}
    assert sources == expected
    listing = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/quarantine/ecommerce/bronze/orders/")
    keys = [o["Key"] for o in listing.get("Contents", [])]
    assert keys and all("_batch_id=run1/" in k for k in keys)
    body = aws.s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read().decode()
    records = [json.loads(line) for line in body.splitlines()]
    assert len(records) == aws.manifest.malformed_lines
    assert all(r["source_file"].startswith(f"s3://{BUCKET}/{PREFIX}/raw/ecommerce/orders/dt=") and r["line"] >= 1
               for r in records)
    # nothing was left behind in staging: every write was committed (moved) to its final place
    staging = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/staging/").get("Contents", [])
    assert staging == []


def test_outputs_are_registered_in_glue_with_s3_locations(aws: AwsLake, first_run: dict[str, Any]) -> None:
    glue = boto3.client("glue", endpoint_url=aws.endpoint, region_name="us-east-1")
    table = glue.get_table(DatabaseName="ecommerce_silver", Name="orders")["Table"]
    location = table["StorageDescriptor"]["Location"]
    assert location.startswith(f"s3://{BUCKET}/{PREFIX}/curated/silver/orders/v-")
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt"]
    parts = glue.get_partitions(DatabaseName="ecommerce_silver", TableName="orders")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == sorted(d.isoformat() for d in aws.manifest.days)
    assert all(p["StorageDescriptor"]["Location"].startswith(location) for p in parts)
    gold = glue.get_table(DatabaseName="ecommerce_gold", Name="customer_lifetime_value")["Table"]
    assert {c["Name"]: c["Type"] for c in gold["StorageDescriptor"]["Columns"]}["orders"] == "bigint"


def glue_style_run(aws: AwsLake, zip_path: Path, settings_json: str, job: str, run_id: str) -> str:
    """Run one job as Glue runs its script: the launcher copied alone, lakeglue only in the zip."""
    workdir = aws.root / f"glue-{job}-{run_id}"
    workdir.mkdir()
    script = workdir / "glue_launcher.py"
    shutil.copy(LAUNCHER, script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEGLUE_")}
    env["PYTHONPATH"] = str(zip_path)
    command = [sys.executable, str(script), "--JOB_ID", "j_1234", "--engine", "duckdb",
               "--lakeglue-settings", settings_json, "--job", job, "--pipeline", "ecommerce", "--run-id", run_id,
               "--JOB_RUN_ID", f"jr_{job}", "--job-bookmark-option", "job-bookmark-disable"]
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_glue_style_run_from_the_code_zip_processes_only_the_new_file(
        aws: AwsLake, first_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.glue_job import forwarded_settings

    # settings forwarded the way LakeGlueJobOperator forwards the worker's
    for key, value in {"LAKEGLUE_PROFILE": "aws", "LAKEGLUE_HOME": aws.settings.lake_root,
                       "LAKEGLUE_CATALOG_URL": aws.settings.catalog_url,
                       "LAKEGLUE_AWS_ENDPOINT_URL": aws.endpoint, "LAKEGLUE_DUCKDB_MEMORY_LIMIT": "1GB",
                       "LAKEGLUE_DUCKDB_TEMP_DIRECTORY": "/worker/only/path"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        forwarded = forwarded_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "LAKEGLUE_DUCKDB_TEMP_DIRECTORY" not in forwarded and forwarded["LAKEGLUE_PROFILE"] == "aws"

    late_dir = aws.raw_root / "ecommerce" / "orders" / "dt=2026-11-08"
    late_dir.mkdir(parents=True)
    late = [{"order_id": 9_000_001 + i, "customer_id": 1, "order_ts": "2026-11-08T09:00:00",
             "updated_at": "2026-11-08T09:00:00", "status": "placed", "channel": "web",
             "items": [{"product_id": 501, "quantity": 2, "unit_price": "10.25"}]} for i in range(3)]
    (late_dir / "late.jsonl").write_text("\n".join(json.dumps(x) for x in late) + "\n")
    aws.upload(late_dir)
    aws.crawl()

    zip_path = build_code_zip(aws.root / "artifacts")
    out = glue_style_run(aws, zip_path, json.dumps(forwarded), "bronze", "run2")
    assert f"code from {zip_path}" in out and "project files at " in out and "lakeglue-project-" in out
    assert "bronze" in out
    batch = aws.rows("bronze", "orders", ["_batch_id", "_source_file"])
    new = {src for b, src in batch if b == "run2"}
    assert new == {f"s3://{BUCKET}/{PREFIX}/raw/ecommerce/orders/dt=2026-11-08/late.jsonl"}
    for job in ("silver", "gold"):
        glue_style_run(aws, zip_path, json.dumps(forwarded), job, "run2")
    assert aws.gold() == expected_gold(aws.raw_root)
    days = {r[0] for r in aws.rows("gold", "daily_revenue_by_category", ["dt"])}
    assert datetime(2026, 11, 8).date() in days
