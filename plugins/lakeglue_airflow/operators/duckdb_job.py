"""Run a lakeglue job on DuckDB in the worker, and the operator that picks the engine when the run starts.

A DuckDB job is a subprocess of the worker (``python -m lakeglue.jobs.duckdb.entrypoint``):
its output streams into the task log, a crash or an OOM kill cannot take the worker with
it, its memory goes back when it ends, and ``on_kill`` stops it. ``engines: {<job>: auto}``
cannot be decided when the DAG is parsed — the input of a run is only known when it
starts — so :class:`LakeAutoJobOperator` measures it in ``execute`` and runs the job on the
engine :func:`lakeglue.jobs.engine_choice.choose_engine` names (logging why), through the
same Spark submission as :class:`LakeSparkJobOperator` or the same subprocess as here.
Nothing heavy is imported at module level: DAG files import this at parse time.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.providers.standard.hooks.subprocess import SubprocessHook
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from lakeglue_airflow.lineage_facets import PipelineLineageMixin
from lakeglue_airflow.links import RunReportLink
from lakeglue_airflow.operators.spark_job import LakeSparkJobOperator, job_arguments

ENTRYPOINT_MODULE = "lakeglue.jobs.duckdb.entrypoint"
INCLUDE_DIR = str(Path(__file__).resolve().parents[3] / "include")


def duckdb_command(job: str, pipeline: str, run_id: str, params: dict[str, Any], metrics_out: str) -> list[str]:
    args = job_arguments(job, pipeline, run_id, params)
    return [sys.executable, "-m", ENTRYPOINT_MODULE, *(item for pair in args.items() for item in pair if item != ""),
            "--metrics-out", metrics_out]


def duckdb_environment() -> dict[str, str]:
    """The worker's environment, with lakeglue importable even where it is not installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (INCLUDE_DIR, env.get("PYTHONPATH", "")) if p)
    return env


def run_duckdb_job(operator: BaseOperator, hook: SubprocessHook, job: str, pipeline: str,
                   context: Any) -> dict[str, Any]:
    """Run the job as a subprocess, stream its output to the task log, return its metrics."""
    params = context.get("params") or {}
    with tempfile.TemporaryDirectory(prefix="lakeglue-metrics-") as tmp:
        metrics_path = Path(tmp) / "metrics.json"
        command = duckdb_command(job, pipeline, str(context["run_id"]), params, str(metrics_path))
        result = hook.run_command(command, env=duckdb_environment())
        if result.exit_code != 0:
            raise AirflowException(f"DuckDB {job} job of {pipeline} failed with exit code {result.exit_code}: "
                                   f"{result.output}")
        metrics: dict[str, Any] = json.loads(metrics_path.read_text())
    operator.log.info("%s job on duckdb: wrote %s rows, quarantined %s", job, metrics["rows_written"],
                      metrics["rows_quarantined"])
    return {**metrics, "engine": "duckdb"}


class LakeDuckDBJobOperator(PipelineLineageMixin, BaseOperator):
    """``python -m lakeglue.jobs.duckdb.entrypoint --job <job> --pipeline <pipeline> --run-id <run id> …``."""

    ui_color = "#fff3bf"
    operator_extra_links = (RunReportLink(),)

    def __init__(self, *, pipeline: str, job: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.job = job

    @cached_property
    def subprocess_hook(self) -> SubprocessHook:
        return SubprocessHook()

    def execute(self, context: Any) -> dict[str, Any]:
        return run_duckdb_job(self, self.subprocess_hook, self.job, self.pipeline, context)

    def on_kill(self) -> None:
        self.subprocess_hook.send_sigterm()


def engine_for_run(operator: BaseOperator, pipeline: str, job: str, context: Any) -> str:
    """The engine an ``auto`` job runs on for this run's input (the reason goes to the task log)."""
    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.engine_choice import choose_engine

    params = context.get("params") or {}
    ctx = JobContext.create(pipeline, str(context["run_id"]), full_refresh=bool(params.get("full_refresh")),
                            dt_from=params.get("dt_from"), dt_to=params.get("dt_to"))
    choice = choose_engine(ctx, job, configured="auto")
    operator.log.info("engine for %s: %s (%s)", job, choice.engine, choice.reason)
    return choice.engine


class LakeAutoJobOperator(LakeSparkJobOperator):
    """A job whose engine is ``auto``: DuckDB below the input-size threshold, Spark at or above it."""

    ui_color = "#e9fac8"

    @cached_property
    def subprocess_hook(self) -> SubprocessHook:
        return SubprocessHook()

    def choose(self, context: Any) -> str:
        return engine_for_run(self, self.pipeline, self.job, context)

    def execute(self, context: Any) -> dict[str, Any]:  # type: ignore[override]
        self.engine = self.choose(context)
        if self.engine == "spark":
            return {**super().execute(context), "engine": "spark"}
        return run_duckdb_job(self, self.subprocess_hook, self.job, self.pipeline, context)

    def on_kill(self) -> None:
        if getattr(self, "engine", None) == "duckdb":
            self.subprocess_hook.send_sigterm()
        else:
            super().on_kill()


def job_operator(engine: str, *, task_id: str, pipeline: str, job: str, **kwargs: Any) -> BaseOperator:
    """The operator for a job by its ``engines:`` entry (``spark``, ``duckdb`` or ``auto``)."""
    classes: dict[str, type[BaseOperator]] = {"spark": LakeSparkJobOperator, "duckdb": LakeDuckDBJobOperator,
                                              "auto": LakeAutoJobOperator}
    if engine not in classes:
        raise ValueError(f"engines.{job} is {engine!r}; choose one of {', '.join(classes)}")
    from lakeglue.settings import get_settings

    settings = get_settings()
    if settings.profile == "aws":
        # aws: every job is a Glue job, submitted through the Amazon provider (auto: engine chosen at run time)
        from lakeglue_airflow.operators.glue_job import LakeGlueJobOperator

        bucket = settings.lake_root.removeprefix("s3://").split("/", 1)[0]
        return LakeGlueJobOperator(task_id=task_id, pipeline=pipeline, job=job, engine=engine, s3_bucket=bucket,
                                   iam_role_arn=settings.aws_glue_role_arn, aws_conn_id=settings.aws_conn_id,
                                   **kwargs)
    return classes[engine](task_id=task_id, pipeline=pipeline, job=job, **kwargs)
