"""A small demo lake built in-process with DuckDB, with its runs in the run log, for the UI data tests.

Two runs of the ecommerce pipeline (crawl → bronze → silver → quality → gold → query); the
second adds a day of orders, so the tables it rewrites have two versions to compare. Each
task's real result goes through :func:`lakeglue.run_log.record_task_run` the way the Airflow
listener records it, so the pages read exactly what a DAG run leaves behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import CrawlerConfig, crawl
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb.entrypoint import run_job
from lakeglue.ledger import Ledger
from lakeglue.pipelines import load_pipeline
from lakeglue.quality.runner import run_quality
from lakeglue.query import run_query
from lakeglue.run_log import TaskRun, record_task_run, result_kind
from lakeglue.sample import generate
from lakeglue.sample.generator import SampleManifest
from lakeglue.settings import SQL_DIR, Settings
from lakeglue.storage import Lake

DAG_ID = "lakeglue_ecommerce"


@dataclass
class UiLake:
    root: Path
    settings: Settings
    lake: Lake
    catalog: SqlCatalog
    manifest: SampleManifest
    #: task results per run id, by task id
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, run_id: str, task_id: str, result: Any, pipeline: str = "ecommerce") -> None:
        spec = load_pipeline(pipeline)
        now = datetime.now(UTC)
        record_task_run(self.settings.catalog_url, TaskRun(
            dag_id=DAG_ID, run_id=run_id, task_id=task_id, try_number=1, kind=result_kind(result), pipeline=pipeline,
            state="success", started_at=now, finished_at=now, result=result),
            catalog=self.catalog, database_for=lambda _p, layer: spec.database_for(layer))
        self.results.setdefault(run_id, {})[task_id] = result

    def run(self, run_id: str) -> None:
        spec = load_pipeline("ecommerce")
        ledger = Ledger(self.settings.catalog_url)
        cfg = CrawlerConfig(database=spec.database_for("raw"), zone="raw", prefix="ecommerce",
                            source_prefix="ecommerce", excludes=tuple(spec.source.excludes))
        self.record(run_id, "crawl", crawl(cfg, lake=self.lake, catalog=self.catalog, ledger=ledger).to_dict())
        ctx = JobContext(spec=spec, settings=self.settings, lake=self.lake, catalog=self.catalog, ledger=ledger,
                         batch_id=run_id, started_at=datetime.now(UTC).replace(microsecond=0))
        for job in ("bronze", "silver"):
            self.record(run_id, job, run_job(job, ctx).to_dict())
        quality = run_quality(spec, self.catalog, self.settings, run_id)
        self.record(run_id, "quality", [r.to_xcom() for r in quality])
        self.record(run_id, "gold", run_job("gold", ctx).to_dict())
        result = run_query((SQL_DIR / "queries" / "top_categories.sql").read_text(), output="csv",
                           settings=self.settings, catalog=self.catalog, lake=self.lake)
        self.record(run_id, "query_top_categories", result.to_dict())

    def add_day_of_orders(self, day: str, order_ids: list[int]) -> None:
        folder = Path(self.lake.path("raw")) / "ecommerce" / "orders" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [{"order_id": oid, "customer_id": 1, "order_ts": f"{day}T09:00:00", "updated_at": f"{day}T09:00:00",
                  "status": "placed", "channel": "web",
                  "items": [{"product_id": 501, "quantity": 2, "unit_price": "10.25"}]} for oid in order_ids]
        (folder / "late.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")


def build_ui_lake(root: Path) -> UiLake:
    settings = Settings(lake_root=str(root / "lake"), duckdb_memory_limit="1GB",
                        duckdb_temp_directory=str(root / "spill"))
    lake = Lake(settings)
    lake.ensure_zones()
    manifest = generate(Path(lake.path("raw")), scale=1, seed=7)
    env = UiLake(root, settings, lake, SqlCatalog(settings.catalog_url), manifest)
    env.run("run1")
    env.add_day_of_orders("2026-11-08", [990001, 990002])
    env.run("run2")
    return env
