"""Which engine runs a job: the spec's ``engines:`` entry, or for ``auto`` the size of the job's input.

Glue's split, reproduced: Spark for data that needs a cluster, a single-node DuckDB job
(Glue's "Python shell") for the many batches that fit on one machine, where Spark's JVM
start-up and shuffle cost more than the work. ``auto`` compares the bytes a run would read
with ``settings.engine_auto_threshold_bytes`` (env ``LAKEGLUE_ENGINE_AUTO_THRESHOLD_BYTES``,
default 1 GiB): below it DuckDB, at or above it Spark. The input is measured before the job
starts, from the ledger and the catalog only (no data is read):

* bronze — the raw files this batch will claim (new files in the date range, or all with
  ``full_refresh``, plus files a failed attempt of the same batch already claimed);
* silver — the data files of the bronze tables it rebuilds from;
* gold — the data files of the tables its SQL files read.

Nothing heavy is imported here: the Airflow operator calls it at execute time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lakeglue.catalog.base import Catalog, data_locations
from lakeglue.jobs.context import JobContext
from lakeglue.ledger import NEW
from lakeglue.settings import SQL_DIR
from lakeglue.sql_dialect import referenced_tables
from lakeglue.storage.zones import Lake

log = logging.getLogger(__name__)

ENGINES = ("spark", "duckdb")
JOBS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class EngineChoice:
    """The engine a job will run on and why (the reason is logged and shown in the task log)."""

    job: str
    engine: str
    reason: str
    input_bytes: int | None = None


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def table_bytes(catalog: Catalog, lake: Lake, database: str, name: str) -> int:
    """Bytes of a catalog table's data files (every partition's location for partitioned tables)."""
    if not catalog.table_exists(database, name):
        return 0
    return sum(info.size for location in data_locations(catalog, database, name)
               for info in lake.list_files(lake.fs_path(location)))


def bronze_input_bytes(ctx: JobContext) -> tuple[int, int]:
    """(bytes, files) of the raw files the next bronze run of this batch would read."""
    total = files = 0
    for table in ctx.spec.bronze:
        source = ctx.spec.source_key(table)
        for entry in ctx.ledger.entries(source):
            fresh = ctx.full_refresh or entry.state == NEW
            if (fresh and ctx.in_date_range(entry.path)) or entry.batch_id == ctx.batch_id:
                total += entry.size
                files += 1
    return total, files


def input_bytes(ctx: JobContext, job: str) -> tuple[int, str]:
    """(bytes, description) of what ``job`` would read in this run."""
    if job == "bronze":
        size, files = bronze_input_bytes(ctx)
        return size, f"{files} raw files"
    if job == "silver":
        bronze_db = ctx.spec.database_for("bronze")
        sources = sorted({t.from_ for t in ctx.spec.silver.values()})
        return (sum(table_bytes(ctx.catalog, ctx.lake, bronze_db, t) for t in sources),
                f"bronze tables {', '.join(sources)}")
    if job == "gold":
        silver_db = ctx.spec.database_for("silver")
        read: set[tuple[str, str]] = {(db or silver_db, name) for t in ctx.spec.gold.values()
                                      for db, name in referenced_tables((SQL_DIR / t.sql).read_text())}
        return (sum(table_bytes(ctx.catalog, ctx.lake, db, name) for db, name in sorted(read)),
                f"tables {', '.join(f'{db}.{name}' for db, name in sorted(read))}")
    raise ValueError(f"unknown job {job!r}; jobs are {', '.join(JOBS)}")


def choose_engine(ctx: JobContext, job: str, configured: str | None = None) -> EngineChoice:
    """The engine for ``job`` in this run; ``auto`` is decided here by input size, and logged.

    ``configured`` overrides the spec's ``engines.<job>`` (an operator built for ``auto`` passes it,
    so the decision matches the DAG that was parsed even if the spec file changed since).
    """
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; jobs are {', '.join(JOBS)}")
    configured = configured or getattr(ctx.spec.engines, job)
    if configured in ENGINES:
        choice = EngineChoice(job, configured, f"engines.{job} is {configured} in pipeline {ctx.spec.name}")
    elif configured != "auto":
        raise ValueError(f"engines.{job} is {configured!r}; choose one of spark, duckdb, auto")
    else:
        size, what = input_bytes(ctx, job)
        threshold = ctx.settings.engine_auto_threshold_bytes
        engine = "duckdb" if size < threshold else "spark"
        relation = "below" if engine == "duckdb" else "at or above"
        choice = EngineChoice(job, engine, f"engines.{job} is auto: input {human_bytes(size)} ({size} bytes, {what}) "
                                           f"is {relation} engine_auto_threshold_bytes={threshold} "
                                           f"({human_bytes(threshold)}) → {engine}", input_bytes=size)
    log.info("%s job runs on %s: %s", job, choice.engine, choice.reason)
    return choice
