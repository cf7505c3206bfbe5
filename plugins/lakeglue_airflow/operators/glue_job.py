"""Run a lakeglue Spark job as an AWS Glue job (aws profile), through the Amazon provider.

The job's script is lakeglue's one Spark entry point and the engine ships as a zip in
``--extra-py-files``, both uploaded to the lake bucket; the provider's GlueJobOperator
creates or updates the job definition, starts the run and waits for it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

from lakeglue_airflow.operators.spark_job import ENTRYPOINT, job_arguments

ARTIFACT_PREFIX = "lakeglue/artifacts"


class LakeGlueJobOperator(GlueJobOperator):
    """``GlueJobOperator`` for job ``job`` of pipeline ``pipeline``; returns the run's id and state."""

    ui_color = "#ffd8a8"

    def __init__(self, *, pipeline: str, job: str, s3_bucket: str, iam_role_arn: str,
                 aws_conn_id: str = "aws_default", number_of_workers: int = 2, **kwargs: Any) -> None:
        create_job_kwargs = {"GlueVersion": "5.0", "WorkerType": "G.1X", "NumberOfWorkers": number_of_workers,
                             "DefaultArguments": {"--job-language": "python"}}
        super().__init__(job_name=f"lakeglue-{pipeline}-{job}", job_desc=f"lakeglue {job} job of {pipeline}",
                         script_location=ENTRYPOINT, s3_bucket=s3_bucket, iam_role_arn=iam_role_arn,
                         aws_conn_id=aws_conn_id, create_job_kwargs=create_job_kwargs, update_config=True,
                         replace_script_file=True, **kwargs)
        self.pipeline = pipeline
        self.job = job

    def execute(self, context: Any) -> dict[str, Any]:  # type: ignore[override]
        import tempfile

        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from lakeglue.jobs.packaging import build_code_zip

        with tempfile.TemporaryDirectory(prefix="lakeglue-zip-") as tmp:
            code = build_code_zip(tmp)
            key = f"{ARTIFACT_PREFIX}/{code.name}"
            S3Hook(aws_conn_id=self.aws_conn_id).load_file(str(code), key, bucket_name=self.s3_bucket, replace=True)
        assert self.s3_bucket
        code_uri = f"s3://{self.s3_bucket}/{key}"
        self.create_job_kwargs = {**(self.create_job_kwargs or {}), "DefaultArguments": {
            **(self.create_job_kwargs or {}).get("DefaultArguments", {}), "--extra-py-files": code_uri}}
        args = job_arguments(self.job, self.pipeline, str(context["run_id"]), context.get("params") or {})
        self.script_args = {k: (v or "true") for k, v in args.items()}
        run_id = super().execute(context)
        self.log.info("Glue job %s run %s finished; engine zip %s", self.job_name, run_id, code_uri)
        return {"job_name": self.job_name, "job_run_id": run_id, "code": code_uri, "pipeline": self.pipeline,
                "job": self.job}
