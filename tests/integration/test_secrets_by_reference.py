"""Secrets by reference on the aws profile: a planted password never shows up where others can read it.

A password is planted in the ledger URL (``LAKEGLUE_CATALOG_URL``), the source DSN
(``LAKEGLUE_SOURCE_POSTGRES_DSN``) and a JDBC source URL (``${VAR}`` in the spec). Then the
real path runs: ``LakeGlueJobOperator`` defines and starts the Glue job on a moto server, the
job side resolves its settings the way the Glue launcher does (Secrets Manager on moto), the
DuckDB bronze job reads the Postgres source into an S3 lake with a Glue catalog (moto) and a
Postgres ledger, and a query reads the result. Every log line, XCom value, job definition, job
run's arguments, catalog parameter, lineage value and query ``metadata.json`` is searched for
the password: none may hold it. The secret itself holds it — that is the one place it lives.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lakeglue.secrets import redact, split_secret_settings

pytestmark = pytest.mark.airflow

PASSWORD = f"PlantedPw{uuid.uuid4().hex[:12]}"


# -- the redaction function (used for every label) ------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    (f"postgresql+psycopg://etl:{PASSWORD}@db:5432/lakeglue", "postgresql+psycopg://etl:***@db:5432/lakeglue"),
    (f"jdbc:postgresql://db:5432/crm?user=etl&password={PASSWORD}&ssl=true",
     "jdbc:postgresql://db:5432/crm?user=etl&password=***&ssl=true"),
    (f"jdbc:sqlserver://db:1433;user=etl;password={PASSWORD};encrypt=true",
     "jdbc:sqlserver://db:1433;user=etl;password=***;encrypt=true"),
    (f"host=db user=etl password='{PASSWORD} x' dbname=crm", "host=db user=etl password=*** dbname=crm"),
    (f"postgresql://etl:{PASSWORD}@db/crm?sslpassword={PASSWORD}", "postgresql://etl:***@db/crm?sslpassword=***"),
    ("postgresql+psycopg://etl@db/lakeglue", "postgresql+psycopg://etl@db/lakeglue"),
    ("s3://lake/raw/orders/dt=2026-11-01/a@b.json", "s3://lake/raw/orders/dt=2026-11-01/a@b.json"),
])
def test_redact_removes_passwords_and_nothing_else(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_an_unsupported_jdbc_url_is_named_without_its_password() -> None:
    from lakeglue.jobs.duckdb.jdbc_source import JdbcSourceError, conninfo

    with pytest.raises(JdbcSourceError, match=r"'jdbc:mysql://etl:\*\*\*@db/crm\?password=\*\*\*'") as raised:
        conninfo(f"jdbc:mysql://etl:{PASSWORD}@db/crm?password={PASSWORD}", "accounts")
    assert PASSWORD not in str(raised.value)


def test_only_settings_with_credentials_are_kept_out_of_job_arguments() -> None:
    public, secret = split_secret_settings({
        "LAKEGLUE_PROFILE": "aws", "LAKEGLUE_CATALOG_URL": f"postgresql://etl:{PASSWORD}@db/l",
        "LAKEGLUE_SOURCE_POSTGRES_DSN": "postgresql://etl@db/crm"})
    assert public == {"LAKEGLUE_PROFILE": "aws"}
    assert sorted(secret) == ["LAKEGLUE_CATALOG_URL", "LAKEGLUE_SOURCE_POSTGRES_DSN"]
    public, secret = split_secret_settings({"LAKEGLUE_CATALOG_URL": "postgresql://etl@db/l"})  # IAM/trust auth
    assert (public, secret) == ({"LAKEGLUE_CATALOG_URL": "postgresql://etl@db/l"}, {})


# -- the whole aws path on moto ---------------------------------------------------------------

class _TaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}
        self.stats_tags: dict[str, str] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.fixture
def postgres_db() -> Iterator[str]:
    """A fresh database on the local Postgres (trust auth: any password is accepted, so one can be planted)."""
    psycopg = pytest.importorskip("psycopg")
    name = f"lg_secret_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}", autocommit=True) as conn:
            conn.execute("CREATE TABLE public.accounts (id bigint primary key, label text, updated_at timestamp)")
            conn.execute("INSERT INTO public.accounts VALUES (1, 'gold', '2026-11-01 08:00'), "
                         "(2, 'silver', '2026-11-02 09:00')")
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    """Everything logged or printed since the last call."""
    out = capsys.readouterr()
    text = caplog.text + out.out + out.err
    caplog.clear()
    return text


def _grep(where: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    assert PASSWORD not in text, f"the planted password is readable in {where}"


def test_a_planted_password_never_leaves_the_secret(moto: str, postgres_db: str, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from lakeglue.catalog import open_catalog
    from lakeglue.jobs import glue_launcher
    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.duckdb.entrypoint import run_job
    from lakeglue.ledger import Ledger
    from lakeglue.pipelines.spec import spec_from_dict
    from lakeglue.query.runner import run_query
    from lakeglue.settings import get_settings, load_settings
    from lakeglue.storage import Lake
    from lakeglue_airflow.operators.glue_job import DEFAULT_SETTINGS_SECRET, LakeGlueJobOperator
    from tests.support.duckdb_rows import table_rows

    caplog.set_level(logging.INFO)
    ledger_url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:5432/{postgres_db}"
    source_dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/{postgres_db}"
    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": moto, "region_name": "us-east-1"}}))
    worker = {"LAKEGLUE_PROFILE": "aws", "LAKEGLUE_HOME": "s3://lake/prod", "LAKEGLUE_CATALOG_URL": ledger_url,
              "LAKEGLUE_SOURCE_POSTGRES_DSN": source_dsn, "LAKEGLUE_AWS_ENDPOINT_URL": moto}
    for key, value in worker.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="lake")

    # 1. the worker defines and starts the Glue job
    op = LakeGlueJobOperator(task_id="bronze", pipeline="crm", job="bronze", engine="duckdb", s3_bucket="lake",
                             iam_role_arn="arn:aws:iam::123456789012:role/lakeglue-glue", aws_conn_id="aws_moto",
                             job_poll_interval=0.2)
    ti = _TaskInstance()
    try:
        result = op.execute({"run_id": "manual__2026-11-23T10:00:00", "params": {}, "ti": ti, "task_instance": ti})
    finally:
        get_settings.cache_clear()
    glue = boto3.client("glue", endpoint_url=moto, region_name="us-east-1")
    job = glue.get_job(JobName="lakeglue-crm-bronze")["Job"]
    runs = glue.get_job_runs(JobName="lakeglue-crm-bronze")["JobRuns"]
    arguments = glue.get_job_run(JobName="lakeglue-crm-bronze", RunId=result["job_run_id"])["JobRun"]["Arguments"]
    for where, value in [("the Glue job definition", job), ("the job runs", runs), ("the run's arguments", arguments),
                         ("the operator's return value (XCom)", result), ("XCom", ti.xcom)]:
        _grep(where, value)
    assert arguments["--lakeglue-settings-secret"] == DEFAULT_SETTINGS_SECRET
    public = json.loads(arguments["--lakeglue-settings"])
    assert public["LAKEGLUE_HOME"] == "s3://lake/prod" and "LAKEGLUE_CATALOG_URL" not in public
    assert "LAKEGLUE_SOURCE_POSTGRES_DSN" not in public
    secrets = boto3.client("secretsmanager", endpoint_url=moto, region_name="us-east-1")
    stored = json.loads(secrets.get_secret_value(SecretId=DEFAULT_SETTINGS_SECRET)["SecretString"])
    assert stored == {"LAKEGLUE_CATALOG_URL": ledger_url, "LAKEGLUE_SOURCE_POSTGRES_DSN": source_dsn}
    # Airflow's task logger (structlog) writes to stdout, stdlib loggers to caplog: both are searched
    logs = _logs(caplog, capsys)
    assert "go to the job by reference: Secrets Manager secret lakeglue/job-settings" in logs  # logs were captured
    _grep("the operator's log lines", logs)
    def versions() -> list[str]:
        return [v["VersionId"] for v in secrets.list_secret_version_ids(SecretId=DEFAULT_SETTINGS_SECRET)["Versions"]]

    first = versions()
    op.execute({"run_id": "manual__2026-11-23T11:00:00", "params": {}, "ti": ti, "task_instance": ti})
    assert versions() == first  # an unchanged secret gets no new version per run

    # 2. inside the job: settings from the run's arguments, credentials from the secret (as the launcher does)
    for key in worker:
        monkeypatch.delenv(key)
    applied = glue_launcher.apply_settings(arguments["--lakeglue-settings"])
    applied.update(glue_launcher.apply_secret_settings(arguments["--lakeglue-settings-secret"]))
    settings = load_settings()
    assert settings.catalog_url == ledger_url and settings.source_postgres_dsn == source_dsn
    assert settings.aws_endpoint_url == moto and settings.lake_root == "s3://lake/prod"

    # 3. a JDBC source whose URL carries the password (${VAR} in the spec), read by the DuckDB bronze job
    monkeypatch.setenv("CRM_JDBC_URL", f"jdbc:postgresql://127.0.0.1:5432/{postgres_db}?user=postgres"
                                       f"&password={PASSWORD}")
    spec = spec_from_dict({"name": "crm", "database": "crm", "source": {"prefix": "crm"}, "bronze": {"accounts": {
        "format": "jdbc", "bookmark_column": "updated_at",
        "options": {"url": "${CRM_JDBC_URL}", "dbtable": "public.accounts"}}}}, check_files=False)
    lake, catalog = Lake(settings), open_catalog(settings)
    ctx = JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=Ledger(settings.catalog_url),
                     batch_id="run1", started_at=datetime(2026, 11, 23, tzinfo=UTC))
    metrics = run_job("bronze", ctx)
    print(metrics.summary())
    assert [(t.rows_read, t.rows_written) for t in metrics.tables] == [(2, 2)]
    lineage = table_rows(settings, catalog, lake, "crm_bronze", "accounts", ["id", "_source_file"])
    shown = f"jdbc:postgresql://127.0.0.1:5432/{postgres_db}?user=postgres&password=***#public.accounts"
    assert lineage == [(1, shown), (2, shown)]
    table = glue.get_table(DatabaseName="crm_bronze", Name="accounts")["Table"]
    assert table["Parameters"]["source_table"] == shown
    _grep("the bronze table in Glue", table)
    _grep("the bronze partitions in Glue", glue.get_partitions(DatabaseName="crm_bronze", TableName="accounts"))

    # 4. a query over it (Athena, the aws profile's engine; moto answers it) writes metadata.json to the results zone
    run_query("SELECT id, label, _source_file FROM crm_bronze.accounts ORDER BY id", catalog=catalog, lake=lake,
              settings=settings, engine="athena", output="csv")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake", Prefix="prod/results/queries/")["Contents"]]
    assert any(k.endswith("/metadata.json") for k in keys)
    for key in keys:
        _grep(f"s3://lake/{key}", s3.get_object(Bucket="lake", Key=key)["Body"].read().decode())
    logs = _logs(caplog, capsys)
    assert "bronze job of crm" in logs and "crm_bronze.accounts" in logs
    _grep("the job's and the query's log lines and output", logs)


def test_the_launcher_names_a_missing_secret_and_refuses_non_lakeglue_keys(moto: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from lakeglue.jobs import glue_launcher

    monkeypatch.setenv("LAKEGLUE_AWS_ENDPOINT_URL", moto)
    monkeypatch.setenv("LAKEGLUE_AWS_REGION", "us-east-1")
    with pytest.raises(SystemExit, match="cannot read the settings secret 'lakeglue/nope' from Secrets Manager"):
        glue_launcher.apply_secret_settings("lakeglue/nope")
    secrets = boto3.client("secretsmanager", endpoint_url=moto, region_name="us-east-1")
    secrets.create_secret(Name="lakeglue/bad", SecretString=json.dumps({"PATH": f"/x:{PASSWORD}"}))
    with pytest.raises(SystemExit, match=r"secret 'lakeglue/bad' may only set LAKEGLUE_\* variables, not \['PATH'\]") \
            as raised:
        glue_launcher.apply_secret_settings("lakeglue/bad")
    assert PASSWORD not in str(raised.value)


def test_the_launcher_script_resolves_the_secret_and_prints_names_only(moto: str, tmp_path: Any) -> None:
    """``glue_launcher.py`` as Glue runs it (a plain script, no LAKEGLUE_* environment): the credential settings
    come from the secret, its output names them without their values."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import lakeglue.jobs.glue_launcher as launcher

    secrets = boto3.client("secretsmanager", endpoint_url=moto, region_name="us-east-1")
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}?password={PASSWORD}"  # sqlite ignores it; enough to plant
    secrets.create_secret(Name="lakeglue/job-settings", SecretString=json.dumps({"LAKEGLUE_CATALOG_URL": ledger_url}))
    public = {"LAKEGLUE_PROFILE": "embedded", "LAKEGLUE_HOME": str(tmp_path / "lake"),
              "LAKEGLUE_AWS_ENDPOINT_URL": moto, "LAKEGLUE_AWS_REGION": "us-east-1"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEGLUE_")}
    env["PYTHONPATH"] = str(Path(launcher.__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, launcher.__file__, "--engine", "duckdb",
                           "--lakeglue-settings", json.dumps(public),
                           "--lakeglue-settings-secret", "lakeglue/job-settings",
                           "--job", "bronze", "--pipeline", "no_such_pipeline", "--run-id", "r1"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert "'LAKEGLUE_CATALOG_URL'" in done.stdout and "'lakeglue/job-settings' gave the credentials" in done.stdout
    assert "no_such_pipeline" in done.stderr  # the job itself ran, with those settings, and failed on the spec
    _grep("the launcher's output", done.stdout + done.stderr)
