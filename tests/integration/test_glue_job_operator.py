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


def test_glue_job_is_defined_with_our_entrypoint_zip_and_run_arguments(moto: str, aws_conn: str) -> None:
    from lakeglue_airflow.operators.glue_job import LakeGlueJobOperator

    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    op = LakeGlueJobOperator(task_id="bronze", pipeline="ecommerce", job="bronze", s3_bucket="lake",
                             iam_role_arn="arn:aws:iam::123456789012:role/lakeglue-glue", aws_conn_id=aws_conn,
                             job_poll_interval=0.2)
    ti = _TaskInstance()
    result = op.execute({"run_id": "manual__2026-11-23T10:00:00", "params": {"full_refresh": True}, "ti": ti,
                         "task_instance": ti})

    glue = boto3.client("glue", endpoint_url=moto, region_name="us-east-1")
    job = glue.get_job(JobName="lakeglue-ecommerce-bronze")["Job"]
    assert job["Command"]["ScriptLocation"] == "s3://lake/artifacts/glue-scripts/entrypoint.py"
    assert job["Role"] == "arn:aws:iam::123456789012:role/lakeglue-glue"
    code_uri = job["DefaultArguments"]["--extra-py-files"]
    assert code_uri == result["code"] and code_uri.startswith("s3://lake/lakeglue/artifacts/lakeglue-")
    runs = glue.get_job_runs(JobName="lakeglue-ecommerce-bronze")["JobRuns"]
    assert [r["Id"] for r in runs] == [result["job_run_id"]]
    ours = {k: v for k, v in runs[0]["Arguments"].items() if k not in job["DefaultArguments"]}
    assert ours == {"--job": "bronze", "--pipeline": "ecommerce", "--run-id": "manual__2026-11-23T10:00:00",
                    "--full-refresh": "true"}
    body = s3.get_object(Bucket="lake", Key=code_uri.removeprefix("s3://lake/"))["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "lakeglue/jobs/spark/bronze.py" in names and "lakeglue/catalog/sql.py" in names
    script = s3.get_object(Bucket="lake", Key="artifacts/glue-scripts/entrypoint.py")["Body"].read().decode()
    assert "def main(" in script and os.environ["AIRFLOW_CONN_AWS_MOTO"]


def test_code_zip_is_deterministic(tmp_path: Any) -> None:
    from lakeglue.jobs.packaging import build_code_zip

    first, second = build_code_zip(tmp_path / "a"), build_code_zip(tmp_path / "b")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()


def test_aws_profile_builds_glue_job_tasks_for_spark_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
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
        op = job_operator("spark", task_id="silver", pipeline="ecommerce", job="silver")
        assert isinstance(op, LakeGlueJobOperator)
        assert (op.job_name, op.s3_bucket, op.iam_role_arn) == ("lakeglue-ecommerce-silver", "company-lake",
                                                               "arn:aws:iam::123456789012:role/etl")
        monkeypatch.setenv("LAKEGLUE_PROFILE", "embedded")
        get_settings.cache_clear()
        assert isinstance(job_operator("spark", task_id="silver", pipeline="ecommerce", job="silver"),
                          LakeSparkJobOperator)
    finally:
        get_settings.cache_clear()
