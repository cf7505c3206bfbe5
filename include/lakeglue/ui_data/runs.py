"""The report of one pipeline run: what each task did, from the run log and the quality history.

Everything comes from lakeglue's own records (the run log written as tasks finish, the quality
history, query metadata), so the report reads the same whether the run was scheduled, manual
or started by new files, and stays after Airflow's metadata is cleaned up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakeglue.quality.history import history
from lakeglue.run_log import TaskRun, task_runs


@dataclass(frozen=True)
class JobTableRow:
    """One table of one job: the counts the accounting check balanced."""

    task_id: str
    job: str
    table: str
    rows_read: int
    rows_written: int
    rows_quarantined: int
    rows_duplicate: int
    files_read: int
    files_quarantined: int
    skipped_reason: str


@dataclass(frozen=True)
class QualityRow:
    table: str
    suite: str
    rules: int
    failed_errors: int
    failed_warnings: int
    version: int | None
    failures: list[str]

    @property
    def verdict(self) -> str:
        return "fail" if self.failed_errors else "warn" if self.failed_warnings else "pass"


@dataclass(frozen=True)
class QueryRow:
    task_id: str
    query_id: str
    rows: int | None
    duration_s: float | None
    output_location: str | None


@dataclass
class RunReport:
    dag_id: str
    run_id: str
    tasks: list[TaskRun] = field(default_factory=list)
    #: (qualified table, version, task_id) of every committed table version.
    tables: list[tuple[str, int | None, str]] = field(default_factory=list)
    jobs: list[JobTableRow] = field(default_factory=list)
    crawls: list[dict[str, Any]] = field(default_factory=list)
    quality: list[QualityRow] = field(default_factory=list)
    queries: list[QueryRow] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.tasks or self.quality)


def _latest_attempts(runs: list[TaskRun]) -> list[TaskRun]:
    """The last recorded attempt of each task (a retry supersedes the failed try)."""
    latest: dict[str, TaskRun] = {}
    for run in runs:  # oldest first
        latest[run.task_id] = run
    return sorted(latest.values(), key=lambda r: r.finished_at)


def run_report(url: str, dag_id: str, run_id: str) -> RunReport:
    report = RunReport(dag_id, run_id, _latest_attempts(task_runs(url, dag_id=dag_id, run_id=run_id)))
    for task in report.tasks:
        report.tables += [(t["table"], t.get("version"), task.task_id) for t in task.tables]
        result = task.result
        if task.kind in ("bronze", "silver", "gold") and isinstance(result, dict):
            for t in result.get("tables", []):
                report.jobs.append(JobTableRow(
                    task.task_id, task.kind, str(t.get("table")), int(t.get("rows_read") or 0),
                    int(t.get("rows_written") or 0), int(t.get("rows_quarantined") or 0),
                    int(t.get("rows_duplicate") or 0), int(t.get("files_read") or 0),
                    int(t.get("files_quarantined") or 0), str(t.get("skipped_reason") or "")))
        elif task.kind == "crawl" and isinstance(result, dict):
            report.crawls.append(result)
        elif task.kind == "query" and isinstance(result, dict):
            report.queries.append(QueryRow(task.task_id, str(result.get("query_id")), result.get("row_count"),
                                           result.get("duration_s"), result.get("output_location")))
    report.quality = quality_rows(url, run_id)
    return report


def quality_rows(url: str, run_id: str) -> list[QualityRow]:
    """Per validated table: rules, failures by severity, the version validated (from the history)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in history(url, run_id=run_id):
        grouped.setdefault((row["table"], row["suite"]), []).append(row)
    out = []
    for (table, suite), rows in sorted(grouped.items()):
        failed = [r for r in rows if not r["success"]]
        out.append(QualityRow(
            table, suite, len(rows), sum(1 for r in failed if r["severity"] == "error"),
            sum(1 for r in failed if r["severity"] != "error"), rows[0].get("table_version"),
            [f"{r['severity']}: {r.get('rule_text') or r['rule']}"
             + (f" ({r['column']})" if r.get("column") and not r.get("rule_text") else "") for r in failed]))
    return out


def recent_runs(url: str, limit: int = 20) -> list[tuple[str, str, Any]]:
    """(dag_id, run_id, last task finish) of the most recent recorded runs, newest first."""
    from lakeglue.run_log import run_ids

    return run_ids(url, limit=limit)
