"""Run a lakeglue job as an AWS Glue job (aws profile), through the Amazon provider's GlueJobOperator.

Both engines go the same way. The job's script is :mod:`lakeglue.jobs.glue_launcher`; the
engine (and the project's specs, SQL and suites) ship as one zip in ``--extra-py-files``,
uploaded to the lake bucket; ``--lakeglue-settings`` carries the worker's resolved
``LAKEGLUE_*`` settings (a Glue job has no environment of ours) except those holding credentials
(a ledger URL with a password, the source DSN): job arguments are readable by anyone allowed
``GetJobRun``, so those go into a Secrets Manager secret the operator keeps up to date (or one the
user names and manages) and only its id travels, as ``--lakeglue-settings-secret``; the launcher
resolves it inside the job. ``--additional-python-modules``
pins the libraries the engine imports to the versions the worker runs, so both sides agree.
The provider creates or updates the job definition, starts the run and waits for it.

Why a DuckDB job is a Glue 5.0 job and not a ``pythonshell`` one: Glue's Python shell runs
Python 3.9 only, and the pinned engine does not exist there — duckdb 1.5.5, pyarrow 26 and
SQLAlchemy 2.1 publish no Python 3.9 wheels (``pip download --python-version 3.9`` finds none).
AWS's own guide for moving Python shell workloads ("Migrate from AWS Glue Python shell jobs")
points to Glue jobs on a current runtime; Glue 5.0 runs Python 3.11. A DuckDB job runs in the
driver only and never starts Spark, so it asks for the smallest Glue allows (two G.1X workers).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

from lakeglue_airflow.lineage_facets import PipelineLineageMixin
from lakeglue_airflow.links import RunReportLink
from lakeglue_airflow.operators.spark_job import job_arguments

ARTIFACT_PREFIX = "lakeglue/artifacts"
GLUE_SCRIPT = str(Path(__file__).resolve().parents[3] / "include" / "lakeglue" / "jobs" / "glue_launcher.py")
GLUE_VERSION = "5.0"
#: Secrets Manager secret holding the credential settings jobs need, when the user names none.
DEFAULT_SETTINGS_SECRET = "lakeglue/job-settings"
ENGINES = ("spark", "duckdb", "auto")

#: Distributions the engine imports that a Glue 5.0 job does not bring in the versions we pin.
_COMMON_MODULES = ("sqlglot", "pydantic", "PyYAML", "SQLAlchemy", "alembic", "fsspec", "s3fs", "psycopg",
                   "psycopg-binary")
_ENGINE_MODULES = {"spark": _COMMON_MODULES,
                   "duckdb": (*_COMMON_MODULES, "duckdb", "duckdb-extension-httpfs", "pyarrow")}
#: Settings that describe the worker's own machine, not the job's: never forwarded.
_LOCAL_ONLY = ("LAKEGLUE_SPARK_MASTER", "LAKEGLUE_DUCKDB_TEMP_DIRECTORY", "LAKEGLUE_AWS_CONN_ID")


def python_modules(engine: str) -> str:
    """``--additional-python-modules`` for an engine: each library at the version installed here."""
    return ",".join(f"{name}=={metadata.version(name)}" for name in _ENGINE_MODULES[engine])


def forwarded_settings() -> dict[str, str]:
    """The worker's resolved settings as ``LAKEGLUE_*`` variables, for the job to run with the same lake,
    catalog, ledger and limits."""
    from lakeglue.settings import _ENV_KEYS, get_settings

    settings = get_settings()
    values = {key: str(getattr(settings, attr)) for key, attr in _ENV_KEYS.items() if key not in _LOCAL_ONLY}
    return {key: value for key, value in values.items() if value}


def store_settings_secret(aws_conn_id: str | None, secret_id: str, values: dict[str, str]) -> str:
    """Create or update the secret ``secret_id`` to hold ``values`` (JSON) through the Amazon provider's hook.

    An unchanged secret is left alone (no new version per run). Returns the secret id.
    """
    import json

    from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook

    client = SecretsManagerHook(aws_conn_id=aws_conn_id).conn
    body = json.dumps(values, sort_keys=True)
    try:
        current = client.get_secret_value(SecretId=secret_id).get("SecretString")
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=secret_id, SecretString=body,
                             Description="lakeglue: credential settings of Glue jobs (written by LakeGlueJobOperator)")
        return secret_id
    if current != body:
        client.put_secret_value(SecretId=secret_id, SecretString=body)
    return secret_id


class LakeGlueJobOperator(PipelineLineageMixin, GlueJobOperator):
    """``GlueJobOperator`` for job ``job`` of pipeline ``pipeline`` on ``engine``; returns the run's id."""

    ui_color = "#ffd8a8"
    operator_extra_links = (*GlueJobOperator.operator_extra_links, RunReportLink())  # type: ignore[assignment]

    def __init__(self, *, pipeline: str, job: str, s3_bucket: str, iam_role_arn: str, engine: str = "spark",
                 aws_conn_id: str = "aws_default", number_of_workers: int = 2,
                 settings_secret_id: str | None = None, **kwargs: Any) -> None:
        """``settings_secret_id`` names a Secrets Manager secret the user keeps with the credential settings
        (a JSON object of ``LAKEGLUE_*``); without it the operator writes the worker's into
        :data:`DEFAULT_SETTINGS_SECRET`."""
        if engine not in ENGINES:
            raise ValueError(f"engine {engine!r} cannot run on Glue; choose one of {', '.join(ENGINES)}")
        self.spark_workers = number_of_workers
        create_job_kwargs = {"GlueVersion": GLUE_VERSION, "WorkerType": "G.1X",
                             "NumberOfWorkers": self._workers(engine), "DefaultArguments": {"--job-language": "python"}}
        super().__init__(job_name=f"lakeglue-{pipeline}-{job}", job_desc=f"lakeglue {job} job of {pipeline} "
                         f"on {engine}", script_location=GLUE_SCRIPT, s3_bucket=s3_bucket,
                         iam_role_arn=iam_role_arn, aws_conn_id=aws_conn_id, create_job_kwargs=create_job_kwargs,
                         update_config=True, replace_script_file=True, **kwargs)
        self.pipeline = pipeline
        self.job = job
        self.engine = engine
        self.settings_secret_id = settings_secret_id

    def _workers(self, engine: str) -> int:
        return 2 if engine == "duckdb" else self.spark_workers  # 2: Glue's minimum; DuckDB uses the driver only

    def execute(self, context: Any) -> dict[str, Any]:  # type: ignore[override]
        import json

        from lakeglue_airflow.operators.duckdb_job import engine_for_run

        if self.engine == "auto":
            self.engine = engine_for_run(self, self.pipeline, self.job, context)
            self.create_job_kwargs = {**(self.create_job_kwargs or {}), "NumberOfWorkers": self._workers(self.engine)}
        import tempfile

        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from lakeglue.jobs.packaging import build_code_zip

        with tempfile.TemporaryDirectory(prefix="lakeglue-zip-") as tmp:
            code = build_code_zip(tmp)
            key = f"{ARTIFACT_PREFIX}/{code.name}"
            S3Hook(aws_conn_id=self.aws_conn_id).load_file(str(code), key, bucket_name=self.s3_bucket, replace=True)
        assert self.s3_bucket
        code_uri = f"s3://{self.s3_bucket}/{key}"
        defaults = (self.create_job_kwargs or {}).get("DefaultArguments", {})
        self.create_job_kwargs = {**(self.create_job_kwargs or {}), "DefaultArguments": {
            **defaults, "--extra-py-files": code_uri, "--additional-python-modules": python_modules(self.engine)}}
        args = job_arguments(self.job, self.pipeline, str(context["run_id"]), context.get("params") or {})
        from lakeglue.secrets import split_secret_settings

        public, secret = split_secret_settings(forwarded_settings())
        self.script_args = {"--engine": self.engine, "--lakeglue-settings": json.dumps(public),
                            **{k: (v or "true") for k, v in args.items()}}
        if secret or self.settings_secret_id:
            secret_id = self.settings_secret_id or store_settings_secret(self.aws_conn_id, DEFAULT_SETTINGS_SECRET,
                                                                         secret)
            self.script_args["--lakeglue-settings-secret"] = secret_id
            self.log.info("Credential settings %s go to the job by reference: Secrets Manager secret %s",
                          sorted(secret), secret_id)
        run_id = super().execute(context)
        self.log.info("Glue job %s run %s finished (%s engine); code zip %s", self.job_name, run_id, self.engine,
                      code_uri)
        return {"job_name": self.job_name, "job_run_id": run_id, "code": code_uri, "pipeline": self.pipeline,
                "job": self.job, "engine": self.engine}
