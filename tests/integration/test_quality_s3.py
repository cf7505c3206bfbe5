"""The quality gate on an S3 lake (aws profile): a real moto server over HTTP, the Glue catalog on it, real GX.

A small silver table is written as hive-partitioned Parquet (with Spark litter) to
``s3://lake/prod`` and registered in Glue. A suite with one passing and one failing rule runs
twice: first through the library (``run_suite_file``), then through the Airflow operator with
the settings from the environment, as a worker has them. After each run: the verdict, the
failing row in S3 quarantine, the SQL history and the ``lakeglue_quality.results`` Parquet
table (registered in Glue, read back from S3), and the GX Data Docs in S3, whose index lists
every run so far.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog import Column, Partition, StorageDescriptor, Table, open_catalog
from lakeglue.catalog.base import Catalog
from lakeglue.quality import QualityResult, history, run_suite_file
from lakeglue.quality.errors import QualityError
from lakeglue.quality.reader import read_table_frame
from lakeglue.settings import Settings
from lakeglue.storage import Lake

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

BUCKET, PREFIX = "lake", "prod"
ROOT = f"s3://{BUCKET}/{PREFIX}"
TABLE = "ecommerce_silver.orders"
LOCATION = f"{ROOT}/curated/silver/orders/v-1"
SUITE = """\
suite: s3_orders
table: orders
rules:
  - IsUnique "order_id"
  - ColumnValues "status" in ["placed", "shipped"]
"""
FAILED = 'ERROR ColumnValues "status" in ["placed", "shipped"]: 1 unexpected row (16.7%), e.g. [\'teleported\']'


def orders() -> pa.Table:
    return pa.table({
        "order_id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
        "status": ["placed", "shipped", "placed", "teleported", "shipped", "placed"],
        "dt": pa.array([date(2026, 11, 1)] * 3 + [date(2026, 11, 2)] * 3, pa.date32()),
    })


def write_silver(lake: Lake, catalog: Catalog) -> None:
    """Parquet in S3 the way Spark leaves it (``_SUCCESS``, ``.crc``), registered in Glue with its partitions."""
    path = lake.fs_path(LOCATION)
    pq.write_to_dataset(orders(), path, partition_cols=["dt"], filesystem=lake.fs)
    lake.fs.pipe_file(f"{path}/_SUCCESS", b"")
    lake.fs.pipe_file(f"{path}/dt=2026-11-01/.part-00000.parquet.crc", b"\x00not parquet")
    catalog.ensure_database("ecommerce_silver")
    columns = (Column("order_id", "bigint"), Column("status", "string"))
    catalog.upsert_table(Table("ecommerce_silver", "orders", StorageDescriptor.for_format("parquet", columns, LOCATION),
                               partition_keys=(Column("dt", "date"),), parameters={"classification": "parquet"}))
    catalog.replace_partitions("ecommerce_silver", "orders", [
        Partition("ecommerce_silver", "orders", (dt,), StorageDescriptor.for_format("parquet", columns,
                                                                                   f"{LOCATION}/dt={dt}"))
        for dt in ("2026-11-01", "2026-11-02")])


class _XComRecorder:
    """Stands in for the task instance: the operator only pushes XComs through it."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = json.loads(json.dumps(value, allow_nan=False))


class S3:
    """Reads of the bucket with a plain boto3 client, independent of the lake's own filesystem."""

    def __init__(self, endpoint: str) -> None:
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.client.create_bucket(Bucket=BUCKET)

    def keys(self, under: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/{under}")
        return sorted(o["Key"].removeprefix(f"{PREFIX}/") for page in pages for o in page.get("Contents", []))

    def text(self, url: str) -> str:
        return self.object(url)["Body"].read().decode()

    def object(self, url: str) -> dict[str, Any]:
        assert url.startswith(f"s3://{BUCKET}/"), url
        return dict(self.client.get_object(Bucket=BUCKET, Key=url.removeprefix(f"s3://{BUCKET}/")))


def check_run(s3: S3, result: dict[str, Any], run_id: str) -> None:
    """What one failing run leaves in S3: the verdict's page in Data Docs and the failing row in quarantine."""
    assert (result["success"], result["row_count"], result["rules"], result["failed"], result["summary"]) == (
        False, 6, 2, 1, f"s3_orders on {TABLE}: 1 of 2 rules failed — {FAILED}")

    quarantine = f"{ROOT}/quarantine/ecommerce_silver/quality/{TABLE}/_batch_id={run_id}"
    assert (result["quarantine_location"], result["rows_quarantined"]) == (quarantine, 1)
    [record] = [json.loads(line) for line in s3.text(f"{quarantine}/part-00000.json").splitlines()]
    assert {k: v for k, v in record.items() if k != "raw"} == {
        "source_file": LOCATION, "line": None, "reason": 'error: ColumnValues "status" in ["placed", "shipped"]',
        "layer": "quality", "table": TABLE, "batch_id": run_id}
    assert json.loads(record["raw"]) == {"order_id": 4, "status": "teleported", "dt": "2026-11-02"}

    page = str(result["data_docs_page"])
    assert re.fullmatch(rf"{ROOT}/results/data_docs/validations/s3_orders/{re.escape(run_id)}/\d{{8}}T\d{{6}}\.\d+Z/"
                        r"[^/]+\.html", page), page
    shown = s3.object(page)
    assert shown["ContentType"].startswith("text/html")
    html = shown["Body"].read().decode()
    assert "s3_orders" in html and run_id in html and "teleported" in html  # suite, run, the failing value


def index_runs(s3: S3) -> list[str]:
    """Runs the Data Docs index links to, from its validation-page links."""
    index = s3.text(f"{ROOT}/results/data_docs/index.html")
    return sorted({m.split("/")[2] for m in re.findall(r"validations/s3_orders/[^/\"']+/[^\"']+\.html", index)})


def test_quality_gate_on_an_s3_lake(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.quality import DATA_DOCS_XCOM_KEY, RESULTS_XCOM_KEY, LakeQualityOperator

    s3 = S3(moto)
    history_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    settings = Settings(profile="aws", lake_root=ROOT, catalog_url=history_url, aws_endpoint_url=moto)
    lake, catalog = Lake(settings), open_catalog(settings)
    write_silver(lake, catalog)
    suite = tmp_path / "s3_orders.yml"
    suite.write_text(SUITE)

    # run 1: the library API
    first: QualityResult = run_suite_file(suite, catalog, settings, "manual__1", table=TABLE)
    assert [(r.name, r.success) for r in first.rules] == [
        ('IsUnique "order_id"', True), ('ColumnValues "status" in ["placed", "shipped"]', False)]
    check_run(s3, first.to_xcom(), "manual__1")
    assert index_runs(s3) == ["manual__1"]

    # run 2: the Airflow operator, settings from the environment as on a worker
    for key, value in {"LAKEGLUE_PROFILE": "aws", "LAKEGLUE_HOME": ROOT, "LAKEGLUE_CATALOG_URL": history_url,
                       "LAKEGLUE_AWS_ENDPOINT_URL": moto}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAKEGLUE_CONFIG", str(tmp_path / "lakeglue.yaml"))
    (tmp_path / "lakeglue.yaml").write_text("{}\n")
    get_settings.cache_clear()
    try:
        ti = _XComRecorder()
        with pytest.raises(AirflowFailException, match=re.escape(FAILED)):
            LakeQualityOperator(task_id="gate", suite=str(suite), table=TABLE).execute({"run_id": "manual__2",
                                                                                       "ti": ti})
    finally:
        get_settings.cache_clear()
    [second] = ti.pushed[RESULTS_XCOM_KEY]
    check_run(s3, second, "manual__2")
    assert ti.pushed[DATA_DOCS_XCOM_KEY] == f"{ROOT}/results/data_docs/index.html"

    # Data Docs keep the whole history: both pages, both runs on the index, GX's records next to them
    assert index_runs(s3) == ["manual__1", "manual__2"]
    pages = [k for k in s3.keys("results/data_docs/validations/") if k.endswith(".html")]
    assert [k.split("/")[4] for k in pages] == ["manual__1", "manual__2"]
    assert [k.split("/")[4] for k in s3.keys("results/quality/validations/s3_orders/")] == ["manual__1", "manual__2"]
    assert "results/quality/expectations/s3_orders.json" in s3.keys("results/quality/expectations/")
    assert "results/data_docs/expectations/s3_orders.html" in s3.keys("results/data_docs/expectations/")
    assert s3.object(f"{ROOT}/results/data_docs/index.html")["ContentType"].startswith("text/html")
    assert any(k.startswith("results/data_docs/static/") for k in s3.keys("results/data_docs/"))

    # history: the SQL table, and the Parquet table in S3 registered in Glue and read by the query layer
    assert [(r["run_id"], r["rule_text"], r["success"]) for r in history(history_url, table=TABLE)] == [
        (run, rule, ok) for run in ("manual__1", "manual__2")
        for rule, ok in (('IsUnique "order_id"', True), ('ColumnValues "status" in ["placed", "shipped"]', False))]
    glue = boto3.client("glue", endpoint_url=moto, region_name="us-east-1")
    results_table = glue.get_table(DatabaseName="lakeglue_quality", Name="results")["Table"]
    assert results_table["StorageDescriptor"]["Location"] == f"{ROOT}/curated/quality/results"
    assert len([k for k in s3.keys("curated/quality/results/") if k.endswith(".parquet")]) == 2
    # (the duckdb query engine reads local lakes only; the gate's own reader reads the table from S3 through Glue)
    published = read_table_frame(catalog.get_table("lakeglue_quality", "results"), lake)
    by_run = published.groupby("run_id")["success"].agg(["count", "sum"])
    assert [(run, int(n), int(ok)) for run, (n, ok) in by_run.iterrows()] == [("manual__1", 2, 1), ("manual__2", 2, 1)]
    assert s3.keys("staging/") == []  # every staged write was committed


def test_reader_on_s3_empty_locations_and_foreign_schemes(moto: str, tmp_path: Path) -> None:
    S3(moto)
    settings = Settings(profile="aws", lake_root=ROOT, catalog_url=f"sqlite:///{tmp_path / 'c.db'}",
                        aws_endpoint_url=moto)
    columns = (Column("order_id", "bigint"), Column("status", "string"))
    empty = Table("ecommerce_silver", "orders", StorageDescriptor.for_format("parquet", columns, f"{ROOT}/empty/v-1"),
                  parameters={"classification": "parquet"})
    # an empty commit on S3 leaves no objects at all: an empty table, not a missing one
    frame = read_table_frame(empty, Lake(settings))
    assert (list(frame.columns), len(frame)) == (["order_id", "status"], 0)
    with pytest.raises(QualityError, match=r"ecommerce_silver\.orders is stored at s3://lake/prod/empty/v-1, but "
                                           r"no lake was given"):
        read_table_frame(empty)
    local = Lake(Settings(lake_root=str(tmp_path / "lake"), catalog_url=settings.catalog_url))
    with pytest.raises(QualityError, match=r"but this lake is on file .*; the gate reads tables of its own lake"):
        read_table_frame(empty, local)
