"""Airflow listener that writes lakeglue's run log (:mod:`lakeglue.run_log`) as lakeglue tasks finish.

Registered by the plugin, so every lakeglue operator in every DAG is recorded without the
operators knowing: DAG, run, task, try, state, times, the task's return value (job metrics,
crawl result, quality verdicts, query summary) and the catalog versions it committed. It runs
in the task's own process (Airflow 3's task runner calls listeners after ``execute``); a
failure to record is logged and never fails the task.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)

#: Operators whose tasks are recorded: lakeglue's own (everything under ``lakeglue_airflow``).
OPERATOR_PACKAGE = "lakeglue_airflow."


def _is_lakeglue_task(task_instance: Any) -> bool:
    task = getattr(task_instance, "task", None)
    return task is not None and type(task).__module__.startswith(OPERATOR_PACKAGE)


def _database_for(pipeline: str, layer: str) -> str:
    from lakeglue.pipelines.spec import load_pipeline

    return load_pipeline(pipeline).database_for(layer)


def _record(task_instance: Any, state: str, error: BaseException | str | None = None) -> None:
    from lakeglue.catalog import open_catalog
    from lakeglue.run_log import TaskRun, record_task_run, result_kind
    from lakeglue.settings import get_settings

    result = None
    if state == "success":
        result = task_instance.xcom_pull(task_ids=task_instance.task_id, key="return_value")
    settings = get_settings()
    run = TaskRun(
        dag_id=task_instance.dag_id, run_id=task_instance.run_id, task_id=task_instance.task_id,
        try_number=int(getattr(task_instance, "try_number", 1) or 1),
        kind=result_kind(result) if result is not None else _kind_of(task_instance),
        pipeline=getattr(task_instance.task, "pipeline", None), state=state,
        started_at=getattr(task_instance, "start_date", None),
        finished_at=getattr(task_instance, "end_date", None) or datetime.now(UTC),
        result=result, error=None if error is None else str(error)[:4000])
    record_task_run(settings.catalog_url, run, catalog=open_catalog(settings), database_for=_database_for)


def _kind_of(task_instance: Any) -> str:
    job = getattr(task_instance.task, "job", None)
    if job:
        return str(job)
    name = type(task_instance.task).__name__.lower()
    for kind in ("crawl", "quality", "query"):
        if kind in name:
            return kind
    return "other"


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    if not _is_lakeglue_task(task_instance):
        return
    try:
        _record(task_instance, "success")
    except Exception:  # the run log is a report; the task already succeeded
        log.exception("lakeglue: could not record task %s in the run log", task_instance.task_id)


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: BaseException | str | None) -> None:
    if not _is_lakeglue_task(task_instance):
        return
    try:
        _record(task_instance, "failed", error)
    except Exception:  # recording must not hide the task's own failure
        log.exception("lakeglue: could not record task %s in the run log", task_instance.task_id)
