"""Submit a lakeglue Spark job (bronze, silver, gold) with the Spark provider's SparkSubmitOperator.

The application is lakeglue's one entry point; arguments come from the run (run id →
batch id, Params → full refresh and date range) and the job's metrics come back as XCom.
Driver output reaches the task log through SparkSubmitHook.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from lakeglue_airflow.lineage_facets import PipelineLineageMixin
from lakeglue_airflow.links import RunReportLink

ENTRYPOINT = str(Path(__file__).resolve().parents[3] / "include" / "lakeglue" / "jobs" / "spark" / "entrypoint.py")


def _local_spark_env() -> dict[str, str]:
    """Run the driver with this interpreter and its pyspark, whatever PATH the worker has."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    from lakeglue.settings import PROJECT_ROOT

    env = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
           # the engine runs from the shipped zip; specs, SQL and suites stay in the project
           "LAKEGLUE_PROJECT_ROOT": str(PROJECT_ROOT)}
    if spec and spec.origin:
        env["SPARK_HOME"] = os.environ.get("SPARK_HOME", str(Path(spec.origin).parent))
    for key in ("LAKEGLUE_HOME", "LAKEGLUE_CATALOG_URL", "LAKEGLUE_STATE_URL", "LAKEGLUE_PROFILE", "LAKEGLUE_CONFIG",
                "PYTHONPATH"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


def job_arguments(job: str, pipeline: str, run_id: str, params: dict[str, Any]) -> dict[str, str]:
    """The entry point's arguments for one run, as ``{"--flag": value}`` (value "" for a switch).

    One definition for every submitter: spark-submit gets them as a list, Glue as job arguments.
    """
    args = {"--job": job, "--pipeline": pipeline, "--run-id": run_id}
    if params.get("full_refresh"):
        args["--full-refresh"] = ""
    for name in ("dt_from", "dt_to"):
        if params.get(name):
            args[f"--{name.replace('_', '-')}"] = str(params[name])
    return args


class LakeSparkJobOperator(PipelineLineageMixin, SparkSubmitOperator):
    """``spark-submit entrypoint.py --job <job> --pipeline <pipeline> --run-id <run id> …``."""

    ui_color = "#fde6c8"
    operator_extra_links = (RunReportLink(),)

    def __init__(self, *, pipeline: str, job: str, conn_id: str = "spark_default", **kwargs: Any) -> None:
        bin_dir = Path(sys.executable).parent
        spark_submit = bin_dir / "spark-submit"
        kwargs.setdefault("conf", {"spark.ui.enabled": "false", "spark.sql.session.timeZone": "UTC"})
        kwargs.setdefault("verbose", False)
        super().__init__(application=ENTRYPOINT, conn_id=conn_id, name=f"lakeglue-{pipeline}-{job}",
                         spark_binary=str(spark_submit) if spark_submit.exists() else None, **kwargs)
        self.pipeline = pipeline
        self.job = job

    def execute(self, context: Any) -> dict[str, Any]:  # type: ignore[override]
        from lakeglue.jobs.packaging import build_code_zip
        from lakeglue.settings import POSTGRES_JDBC_JAR

        params = context.get("params") or {}
        with tempfile.TemporaryDirectory(prefix="lakeglue-metrics-") as tmp:
            metrics_path = Path(tmp) / "metrics.json"
            args = job_arguments(self.job, self.pipeline, str(context["run_id"]), params)
            self.application_args = [*(item for pair in args.items() for item in pair if item != ""),
                                     "--metrics-out", str(metrics_path)]
            self.env_vars = {**_local_spark_env(), **(self.env_vars or {})}
            # The engine travels with the job, so executors without lakeglue installed can import it.
            self.py_files = str(build_code_zip(tmp))
            if Path(POSTGRES_JDBC_JAR).exists() and not self.jars:
                self.jars = POSTGRES_JDBC_JAR
            self._hook = None
            super().execute(context)
            metrics: dict[str, Any] = json.loads(metrics_path.read_text())
        self.log.info("%s job: wrote %s rows, quarantined %s", self.job, metrics["rows_written"],
                      metrics["rows_quarantined"])
        return metrics
