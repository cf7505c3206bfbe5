"""Turn a pipeline spec into its Airflow DAGs: one scheduled/manual, one run by new raw files.

Both DAGs run the same chain — crawl → bronze → silver → quality → gold → queries — so
scheduled, manual and event-driven runs behave identically. Only Airflow objects and the
light spec model are imported here; every operator defers heavy imports to ``execute``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, Param, chain

from lakeglue.lineage import task_tables
from lakeglue.pipelines.spec import PipelineSpec, spec_from_dict
from lakeglue_airflow.alerts import LakeAlertNotifier
from lakeglue_airflow.links import add_table_links
from lakeglue_airflow.operators.crawler import LakeCrawlerOperator
from lakeglue_airflow.operators.duckdb_job import job_operator
from lakeglue_airflow.operators.quality import LakeQualityOperator
from lakeglue_airflow.operators.query import LakeQueryOperator
from lakeglue_airflow.sensors.intake import EventIntakeOperator
from lakeglue_airflow.triggers.pipeline import pipeline_watchers

START_DATE = datetime(2026, 1, 1)


def run_params() -> dict[str, Param]:
    """Typed Params shown in the UI's trigger form."""
    return {
        "full_refresh": Param(False, type="boolean", title="Full refresh",
                              description="Reprocess every raw file instead of only new ones (resets the bookmark)."),
        "dt_from": Param(None, type=["null", "string"], format="date", title="From date",
                         description="Only ingest dt= partitions on or after this date."),
        "dt_to": Param(None, type=["null", "string"], format="date", title="To date",
                       description="Only ingest dt= partitions on or before this date."),
    }


def gold_assets(spec: PipelineSpec) -> list[Asset]:
    return [Asset(name=f"lakeglue.{spec.database_for('gold')}.{table}") for table in spec.gold]


def raw_asset(spec: PipelineSpec) -> Asset:
    """The raw prefix as an Asset; its watchers (``events:`` in the spec) fire when new files land."""
    return Asset(name=f"lakeglue.raw.{spec.name}", watchers=pipeline_watchers(spec))


def _add_tasks(dag: DAG, spec: PipelineSpec, crawl_operator: type[LakeCrawlerOperator] = LakeCrawlerOperator,
               event: bool = False) -> None:
    engines = spec.engines_for(event)
    with dag:
        crawl = crawl_operator(task_id="crawl", pipeline=spec.name)
        # each job on its spec'd engine (engines: spark | duckdb | auto, auto decided when the run starts;
        # the event DAG may override some: events.engines)
        bronze = job_operator(engines.bronze, task_id="bronze", pipeline=spec.name, job="bronze")
        silver = job_operator(engines.silver, task_id="silver", pipeline=spec.name, job="silver")
        quality = LakeQualityOperator(task_id="quality", pipeline=spec.name, **quality_warning_callbacks(spec))
        gold = job_operator(engines.gold, task_id="gold", pipeline=spec.name, job="gold",
                            outlets=gold_assets(spec))
        queries = [LakeQueryOperator(task_id=f"query_{q.name}", sql=q.sql, output="csv") for q in spec.queries]
        for task, kind in ((crawl, "crawl"), (bronze, "bronze"), (silver, "silver"), (quality, "quality"),
                           (gold, "gold")):
            add_table_links(task, task_tables(spec, kind))
        chain(crawl, bronze, silver, quality, gold, *([queries] if queries else []))


def failure_callbacks(spec: PipelineSpec) -> dict[str, Any]:
    """``on_failure_callback`` for every task when the spec has ``alerts.on_failure`` targets."""
    if not spec.alerts.on_failure:
        return {}
    targets = [t.model_dump() for t in spec.alerts.on_failure]
    return {"on_failure_callback": [LakeAlertNotifier("failure", targets)]}


def quality_warning_callbacks(spec: PipelineSpec) -> dict[str, Any]:
    """The quality task's ``on_success_callback`` when the spec has ``alerts.on_quality_warning`` targets."""
    if not spec.alerts.on_quality_warning:
        return {}
    targets = [t.model_dump() for t in spec.alerts.on_quality_warning]
    return {"on_success_callback": [LakeAlertNotifier("quality_warning", targets)]}


def build_pipeline_dags(spec_data: dict[str, Any]) -> dict[str, DAG]:
    spec = spec_from_dict(spec_data, source=f"pipeline {spec_data.get('name')!r}", check_files=False)
    common: dict[str, Any] = {
        "start_date": START_DATE, "catchup": False, "max_active_runs": 1, "params": run_params(),
        "default_args": {"owner": spec.owner, "retries": spec.retries, "retry_delay": timedelta(minutes=1),
                         **failure_callbacks(spec)},
        "doc_md": f"**{spec.name}** — {spec.description}\n\nGenerated from `include/pipelines/{spec.name}.yml`.",
    }
    dags: dict[str, DAG] = {}
    main = DAG(dag_id=f"lakeglue_{spec.name}", schedule=spec.schedule,
               tags=sorted({*spec.tags, "lakeglue", "scheduled"}), **common)
    _add_tasks(main, spec)
    dags[main.dag_id] = main
    if spec.events.enabled:
        event = DAG(dag_id=f"lakeglue_{spec.name}_on_new_files", schedule=[raw_asset(spec)],
                    tags=sorted({*spec.tags, "lakeglue", "event-driven"}), **common)
        _add_tasks(event, spec, crawl_operator=EventIntakeOperator, event=True)  # claims the announced files first
        dags[event.dag_id] = event
    return dags
