"""The aws-profile job path: LakeGlueJobOperator against a real moto server over HTTP.

moto accepts the Glue job definition and run (and completes the run at once); it does not
execute the script. The test checks what lakeglue sends: script, engine zip, arguments.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.airflow


class _TaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}
        self.stats_tags: dict[str, str] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.fixture
def aws_conn(moto: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": moto, "region_name": "us-east-1"}}))
    return "aws_moto"


def run_operator(moto: str, aws_conn: str, engine: str, monkeypatch: pytest.MonkeyPatch,
                 catalog_url: str = "postgresql+psycopg://etl@ledger-db/lakeglue") -> tuple[dict[str, Any], Any]:
    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.glue_job import LakeGlueJobOperator

    monkeypatch.setenv("LAKEGLUE_PROFILE", "aws")
    monkeypatch.setenv("LAKEGLUE_HOME", "s3://lake/prod")
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", catalog_url)
    monkeypatch.setenv("LAKEGLUE_DUCKDB_TEMP_DIRECTORY", "/worker/spill")
    get_settings.cache_clear()
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    op = LakeGlueJobOperator(task_id="bronze", pipeline="ecommerce", job="bronze", engine=engine, s3_bucket="lake",
                             iam_role_arn="arn:aws:iam::123456789012:role/lakeglue-glue", aws_conn_id=aws_conn,
                             job_poll_interval=0.2)
    ti = _TaskInstance()
    try:
        result = op.execute({"run_id": "manual__2026-11-23T10:00:00", "params": {"full_refresh": True}, "ti": ti,
                             "task_instance": ti})
    finally:
        get_settings.cache_clear()
    return result, s3


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_glue_job_is_defined_with_our_launcher_zip_settings_and_run_arguments(
        moto: str, aws_conn: str, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    result, s3 = run_operator(moto, aws_conn, engine, monkeypatch)
    glue = boto3.client("glue", endpoint_url=moto, region_name="us-east-1")
    job = glue.get_job(JobName="lakeglue-ecommerce-bronze")["Job"]
    assert job["Command"]["ScriptLocation"] == "s3://lake/artifacts/glue-scripts/glue_launcher.py"
    assert job["Role"] == "arn:aws:iam::123456789012:role/lakeglue-glue"
    assert (job["GlueVersion"], job["WorkerType"], job["NumberOfWorkers"]) == ("5.0", "G.1X", 2)
    code_uri = job["DefaultArguments"]["--extra-py-files"]
    assert code_uri == result["code"] and code_uri.startswith("s3://lake/lakeglue/artifacts/lakeglue-")
    modules = dict(m.split("==") for m in job["DefaultArguments"]["--additional-python-modules"].split(","))
    assert modules["sqlglot"] == metadata.version("sqlglot")
    assert ("duckdb" in modules) == (engine == "duckdb")
    if engine == "duckdb":
        assert modules["duckdb"] == modules["duckdb-extension-httpfs"] == metadata.version("duckdb")
    runs = glue.get_job_runs(JobName="lakeglue-ecommerce-bronze")["JobRuns"]
    assert [r["Id"] for r in runs] == [result["job_run_id"]]
    ours = {k: v for k, v in runs[0]["Arguments"].items() if k not in job["DefaultArguments"]}
    forwarded = json.loads(ours.pop("--lakeglue-settings"))
    assert ours == {"--engine": engine, "--job": "bronze", "--pipeline": "ecommerce",
                    "--run-id": "manual__2026-11-23T10:00:00", "--full-refresh": "true"}
    assert forwarded["LAKEGLUE_PROFILE"] == "aws" and forwarded["LAKEGLUE_HOME"] == "s3://lake/prod"
    assert forwarded["LAKEGLUE_CATALOG_URL"] == "postgresql+psycopg://etl@ledger-db/lakeglue"
    assert "LAKEGLUE_DUCKDB_TEMP_DIRECTORY" not in forwarded  # a path of the worker, not of the job
    body = s3.get_object(Bucket="lake", Key=code_uri.removeprefix("s3://lake/"))["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert {"lakeglue/jobs/spark/bronze.py", "lakeglue/jobs/duckdb/bronze.py", "lakeglue/catalog/sql.py",
            "lakeglue_project/include/pipelines/ecommerce.yml",
            "lakeglue_project/include/sql/gold/customer_lifetime_value.sql"} <= set(names)
    script = s3.get_object(Bucket="lake", Key="artifacts/glue-scripts/glue_launcher.py")["Body"].read().decode()
    assert "def main(" in script and "--lakeglue-settings" in script and os.environ["AIRFLOW_CONN_AWS_MOTO"]


def test_code_zip_is_deterministic(tmp_path: Any) -> None:
    from lakeglue.jobs.packaging import build_code_zip

    first, second = build_code_zip(tmp_path / "a"), build_code_zip(tmp_path / "b")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()


def test_aws_profile_builds_glue_job_tasks_for_every_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.duckdb_job import job_operator
    from lakeglue_airflow.operators.glue_job import LakeGlueJobOperator
    from lakeglue_airflow.operators.spark_job import LakeSparkJobOperator

    monkeypatch.setenv("LAKEGLUE_PROFILE", "aws")
    monkeypatch.setenv("LAKEGLUE_HOME", "s3://company-lake/prod")
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", "sqlite:///unused.db")
    monkeypatch.setenv("LAKEGLUE_AWS_GLUE_ROLE_ARN", "arn:aws:iam::123456789012:role/etl")
    get_settings.cache_clear()
    try:
        for engine in ("spark", "duckdb", "auto"):
            op = job_operator(engine, task_id="silver", pipeline="ecommerce", job="silver")
            assert isinstance(op, LakeGlueJobOperator) and op.engine == engine
            assert (op.job_name, op.s3_bucket, op.iam_role_arn) == ("lakeglue-ecommerce-silver", "company-lake",
                                                                   "arn:aws:iam::123456789012:role/etl")
        monkeypatch.setenv("LAKEGLUE_PROFILE", "embedded")
        get_settings.cache_clear()
        assert isinstance(job_operator("spark", task_id="silver", pipeline="ecommerce", job="silver"),
                          LakeSparkJobOperator)
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(("threshold", "engine"), [("1073741824", "duckdb"), ("0", "spark")])
def test_auto_on_glue_picks_the_engine_when_the_run_starts(moto: str, aws_conn: str, tmp_path: Any, threshold: str,
                                                           engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing new in raw: 0 bytes of input, below a 1 GiB threshold (DuckDB), not below a 0 threshold (Spark)."""
    monkeypatch.setenv("LAKEGLUE_AWS_ENDPOINT_URL", moto)
    monkeypatch.setenv("LAKEGLUE_ENGINE_AUTO_THRESHOLD_BYTES", threshold)
    result, _ = run_operator(moto, aws_conn, "auto", monkeypatch, catalog_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    glue = boto3.client("glue", endpoint_url=moto, region_name="us-east-1")
    job = glue.get_job(JobName="lakeglue-ecommerce-bronze")["Job"]
    run = glue.get_job_runs(JobName="lakeglue-ecommerce-bronze")["JobRuns"][0]
    assert result["engine"] == engine and run["Arguments"]["--engine"] == engine
    assert ("duckdb==" in job["DefaultArguments"]["--additional-python-modules"]) == (engine == "duckdb")
