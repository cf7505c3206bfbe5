"""The lake's maintenance DAG (``lakeglue_maintenance``), built from the config its generated file embeds.

One daily task expires superseded table versions (unless pinned by a running reader), old
query results and staging leftovers; see :mod:`lakeglue.storage.retention`. Only Airflow
objects are imported here, the operator defers lakeglue's imports to ``execute``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param

from lakeglue_airflow.factory import START_DATE
from lakeglue_airflow.operators.maintenance import LakeRetentionOperator


def build_maintenance_dag(config: dict[str, Any]) -> dict[str, DAG]:
    """``{dag_id: DAG}`` for the maintenance config (keys: dag_id, schedule, owner, retries, tags, description)."""
    dag = DAG(
        dag_id=str(config["dag_id"]), schedule=config["schedule"], start_date=START_DATE, catchup=False,
        max_active_runs=1, tags=sorted({*config.get("tags", []), "lakeglue", "maintenance"}),
        default_args={"owner": config["owner"], "retries": int(config["retries"]),
                      "retry_delay": timedelta(minutes=5)},
        params={"dry_run": Param(False, type="boolean", title="Dry run",
                                 description="Only log what would be removed.")},
        doc_md=f"**{config['dag_id']}** — {config.get('description', '')}\n\n"
               "Retention settings: `LAKEGLUE_RETENTION_DAYS` (superseded table versions), "
               "`LAKEGLUE_RESULTS_RETENTION_DAYS` (query results), `LAKEGLUE_STAGING_TTL_DAYS` (staging), "
               "`LAKEGLUE_PIN_TTL_HOURS` (pins left by crashed readers).",
    )
    with dag:
        LakeRetentionOperator(task_id="expire", dry_run="{{ params.dry_run }}")
    return {dag.dag_id: dag}
