"""Run the lakeglue crawler for a pipeline's raw source and push its run metrics to XCom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator


class LakeCrawlerOperator(BaseOperator):
    """Crawl ``raw/<prefix>/`` of a pipeline into ``<database>_raw`` (tables, partitions, ledger).

    Returns the crawl result (tables created/updated, partitions added, files, errors) as XCom.
    """

    template_fields: Sequence[str] = ("pipeline",)
    ui_color = "#d7ecf9"

    def __init__(self, *, pipeline: str, plan_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.plan_only = plan_only  # a dry run: print the plan, write nothing

    def execute(self, context: Any) -> dict[str, Any]:
        from lakeglue.catalog import open_catalog
        from lakeglue.crawler import config_for_pipeline, crawl
        from lakeglue.ledger import Ledger
        from lakeglue.pipelines import load_pipeline
        from lakeglue.settings import get_settings
        from lakeglue.storage import Lake

        settings = get_settings()
        result = crawl(config_for_pipeline(load_pipeline(self.pipeline)), lake=Lake(settings),
                       catalog=open_catalog(settings), ledger=Ledger(settings.catalog_url), dry_run=self.plan_only)
        self.log.info("%s", result.summary())
        for path, reason in result.errors:
            self.log.warning("skipped %s: %s", path, reason)
        return dict(result.to_dict())
