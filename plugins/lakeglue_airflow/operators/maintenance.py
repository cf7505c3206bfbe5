"""Airflow task that runs lakeglue's retention pass (superseded table versions, query results, staging).

A thin wrapper over :func:`lakeglue.storage.retention.run_retention`; lakeglue is imported in
``execute`` so parsing the maintenance DAG stays cheap. Every removed path is logged, and the
task returns (XCom) the paths removed and the versions kept because a reader pinned them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator


class LakeRetentionOperator(BaseOperator):
    """Expire what the lake no longer needs, never a current or pinned table version.

    :param dry_run: only log what would be removed (templated, so ``{{ params.dry_run }}`` works).
    :param retention_days: override ``LAKEGLUE_RETENTION_DAYS`` for superseded versions.
    :param results_retention_days: override ``LAKEGLUE_RESULTS_RETENTION_DAYS`` for query results.

    Safe to retry and to run at any time: a version is removed only when no catalog entry and no
    active pin points into it, so a concurrent job or query keeps what it reads.
    """

    template_fields: Sequence[str] = ("report_only",)
    ui_color = "#d6eaf8"

    def __init__(self, *, dry_run: bool | str = False, retention_days: float | None = None,
                 results_retention_days: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report_only = dry_run  # BaseOperator.dry_run is a method
        self.retention_days = retention_days
        self.results_retention_days = results_retention_days

    def execute(self, context: Any) -> dict[str, Any]:
        from lakeglue.storage.retention import run_retention

        flag = self.report_only
        dry_run = flag if isinstance(flag, bool) else str(flag).strip().lower() == "true"
        report = run_retention(dry_run=dry_run, retention_days=self.retention_days,
                               results_retention_days=self.results_retention_days)
        for line in report.lines():
            self.log.info("%s", line)
        return report.to_dict()
