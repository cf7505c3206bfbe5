"""Run log: which orchestrator run and task wrote which table version, with the task's metrics.

Job metrics travel to Airflow only as XCom, and the catalog keeps versions but not who made
them, so neither can answer "which run wrote version 7 of this table?" or "what did run X do?".
This table, next to the catalog (same SQL database, like the quality history), records one
row per finished task: DAG, run, task, try, state, times, the task's result (metrics, crawl
result, quality verdicts, query summary) and the catalog versions current right after it.
The Airflow plugin's listener writes it; the Data Lake UI and anyone with SQL read it.

The orchestrator stays outside: callers pass plain values (ids, times, the task's return value).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lakeglue.catalog.base import Catalog, EntityNotFound
from lakeglue.catalog.sql import add_missing_columns, engine_for

metadata = sa.MetaData()

task_runs_t = sa.Table(
    "lg_task_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dag_id", sa.String(250), nullable=False),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("task_id", sa.String(250), nullable=False),
    sa.Column("try_number", sa.Integer, nullable=False, default=1),
    #: crawl | bronze | silver | gold | quality | query | other
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("pipeline", sa.String(250), nullable=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    #: JSON: the task's return value (job metrics, crawl result, quality verdicts, query summary).
    sa.Column("result", sa.Text, nullable=True),
    #: JSON list of {"table": "db.t", "version": n}: the versions this task committed.
    sa.Column("tables", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_lg_task_runs_run", "dag_id", "run_id"),
)


@dataclass(frozen=True)
class TaskRun:
    """One recorded task attempt."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    kind: str
    pipeline: str | None
    state: str
    started_at: datetime | None
    finished_at: datetime
    result: Any = None
    tables: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def _engine(url: str) -> sa.engine.Engine:
    if not url:
        raise ValueError("the run log needs the catalog's SQL URL (LAKEGLUE_CATALOG_URL is empty)")
    engine = engine_for(url)
    metadata.create_all(engine)
    add_missing_columns(engine, task_runs_t)
    return engine


def result_kind(result: Any) -> str:
    """What kind of task produced ``result``, read from its shape (the operators' return values)."""
    if isinstance(result, list) and all(isinstance(r, dict) and "suite" in r for r in result):
        return "quality"
    if not isinstance(result, dict):
        return "other"
    if "job" in result and "tables" in result and "batch_id" in result:
        return str(result["job"])
    if "tables_created" in result and "database" in result:
        return "crawl"
    if "query_id" in result:
        return "query"
    return "other"


def written_tables(result: Any, database_for: Any = None) -> list[str]:
    """Qualified names of the tables a task's result says it committed.

    ``database_for(pipeline, layer)`` turns a job's unqualified table names into ``db.table``
    (jobs report names within their layer's database).
    """
    kind = result_kind(result)
    if kind == "crawl" and not result.get("dry_run"):
        database = result["database"]
        return [f"{database}.{name}" for name in [*result.get("tables_created", []), *result.get("tables_updated", [])]]
    if kind in ("bronze", "silver", "gold") and database_for is not None:
        database = database_for(result["pipeline"], kind)
        return [_qualified(database, t["table"]) for t in result["tables"] if not t.get("skipped_reason")]
    if kind == "query" and result.get("target_table"):
        return [str(result["target_table"])]
    return []


def committed_version(catalog: Catalog, qualified: str, location: str = "") -> int | None:
    """The version of ``qualified`` whose location is ``location`` (a rewrite's own directory), else the
    current one: a rewrite is found even if another run committed on top of it meanwhile."""
    database, name = qualified.split(".", 1)
    try:
        table = catalog.get_table(database, name)
    except EntityNotFound:
        return None
    if not location or _same_place(table.location, location):
        return table.version
    for old in catalog.get_table_versions(database, name):
        if _same_place(old.table.location, location):
            return old.version
    return table.version


def _same_place(a: str, b: str) -> bool:
    """Jobs report local directories as paths, the catalog keeps them as ``file://`` URIs."""
    return a.removeprefix("file://").rstrip("/") == b.removeprefix("file://").rstrip("/")


def record_task_run(url: str, run: TaskRun, catalog: Catalog | None = None, database_for: Any = None) -> TaskRun:
    """Store ``run``; with a ``catalog`` the versions of the tables its result names are looked up first."""
    tables = list(run.tables)
    if catalog is not None and not tables and run.state == "success":
        locations = _locations(run.result, database_for)
        for qualified in written_tables(run.result, database_for):
            tables.append({"table": qualified,
                           "version": committed_version(catalog, qualified, locations.get(qualified, ""))})
    row = {
        "dag_id": run.dag_id, "run_id": run.run_id, "task_id": run.task_id, "try_number": run.try_number,
        "kind": run.kind, "pipeline": run.pipeline, "state": run.state, "started_at": run.started_at,
        "finished_at": run.finished_at, "result": None if run.result is None else json.dumps(run.result, default=str),
        "tables": json.dumps(tables), "error": run.error,
    }
    with _engine(url).begin() as conn:
        conn.execute(task_runs_t.insert(), [row])
    return replace(run, tables=tuple(tables))


def _locations(result: Any, database_for: Any) -> dict[str, str]:
    kind = result_kind(result)
    if kind not in ("bronze", "silver", "gold") or database_for is None:
        return {}
    database = database_for(result["pipeline"], kind)
    return {_qualified(database, t["table"]): str(t.get("location") or "") for t in result["tables"]}


def _qualified(database: str, table: str) -> str:
    """Jobs report ``db.table``; older metrics only the table name within the layer's database."""
    return table if "." in table else f"{database}.{table}"


def task_runs(url: str, dag_id: str | None = None, run_id: str | None = None,
              table: str | None = None) -> list[TaskRun]:
    """Recorded task attempts, oldest first; ``table`` keeps those that committed that ``db.table``."""
    t = task_runs_t.c
    query = sa.select(task_runs_t).order_by(t.finished_at, t.id)
    if dag_id is not None:
        query = query.where(t.dag_id == dag_id)
    if run_id is not None:
        query = query.where(t.run_id == run_id)
    if table is not None:
        query = query.where(t.tables.contains(json.dumps(table)))
    with _engine(url).connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    runs = [_from_row(r) for r in rows]
    if table is not None:
        runs = [r for r in runs if any(x["table"] == table for x in r.tables)]
    return runs


def query_task(url: str, query_id: str) -> TaskRun | None:
    """The recorded task that ran query ``query_id`` (the query operator returns its id), if any."""
    t = task_runs_t.c
    query = (sa.select(task_runs_t).where(t.kind == "query", t.result.contains(json.dumps(query_id)))
             .order_by(t.finished_at.desc(), t.id.desc()))
    with _engine(url).connect() as conn:
        runs = [_from_row(dict(r)) for r in conn.execute(query).mappings()]
    return next((r for r in runs if isinstance(r.result, dict) and r.result.get("query_id") == query_id), None)


def version_writers(url: str, table: str) -> dict[int, TaskRun]:
    """For each version of ``table`` (``db.t``) the task that committed it, where one was recorded."""
    out: dict[int, TaskRun] = {}
    for run in task_runs(url, table=table):
        for entry in run.tables:
            if entry["table"] == table and entry.get("version") is not None:
                out[int(entry["version"])] = run
    return out


def _from_row(row: dict[str, Any]) -> TaskRun:
    return TaskRun(
        dag_id=row["dag_id"], run_id=row["run_id"], task_id=row["task_id"], try_number=int(row["try_number"]),
        kind=row["kind"], pipeline=row["pipeline"], state=row["state"], started_at=_utc(row["started_at"]),
        finished_at=_utc(row["finished_at"]) or datetime.now(UTC),
        result=None if row["result"] is None else json.loads(row["result"]),
        tables=tuple(json.loads(row["tables"] or "[]")), error=row["error"])


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite keeps no offset; everything is written in UTC
        return value.replace(tzinfo=UTC)
    return value


def run_ids(url: str, dag_ids: Iterable[str] | None = None, limit: int = 50) -> list[tuple[str, str, datetime]]:
    """(dag_id, run_id, last finish) of recent runs, newest first."""
    t = task_runs_t.c
    query = (sa.select(t.dag_id, t.run_id, sa.func.max(t.finished_at).label("last"))
             .group_by(t.dag_id, t.run_id).order_by(sa.desc("last")).limit(limit))
    if dag_ids is not None:
        query = query.where(t.dag_id.in_(list(dag_ids)))
    with _engine(url).connect() as conn:
        return [(r.dag_id, r.run_id, _utc(r.last) or datetime.now(UTC)) for r in conn.execute(query)]
