"""Run a lakeglue crawler config and push its run metrics to XCom; in the aws profile, run Glue's crawler.

Embedded and compose profiles crawl in the worker (pure Python, :func:`lakeglue.crawler.crawl`).
The aws profile hands the same config to AWS Glue through the Amazon provider: the crawler
definition is created or updated from the config (:mod:`lakeglue.crawler.glue`), run and
waited for, and the run's record (``ListCrawls``: state, times, DPU hours, summary) becomes
the XCom. The provider's ``GlueCrawlerOperator`` is deprecated (provider 9.x) in favour of
its create/update/run trio, which is what this operator composes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from lakeglue_airflow.links import RunReportLink

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

#: Glue crawl states (ListCrawls) that end a run; only COMPLETED is a success.
_FINISHED = ("COMPLETED", "FAILED", "STOPPED")


def announced_paths(context: Any) -> list[str]:
    """Files named by the trigger events that started this run (asset events' ``payload``)."""
    events = context.get("triggering_asset_events") or {}
    paths: list[str] = []
    for asset in events:
        for event in events[asset]:
            extra = getattr(event, "extra", None) or {}
            payload = extra.get("payload") if extra.get("from_trigger") else None
            if not isinstance(payload, dict):
                continue
            for item in [*payload.get("files", []), *payload.get("objects", [])]:
                path = item.get("path") if isinstance(item, dict) else item
                if isinstance(path, str):
                    paths.append(path)
    return sorted(set(paths))


class LakeCrawlerOperator(BaseOperator):
    """Crawl ``<zone>/<prefix>/`` into the catalog (tables, partitions, ledger) and return the run metrics.

    :param pipeline: crawl this pipeline's raw source (its spec gives zone, prefix, excludes, database).
    :param config: a :class:`~lakeglue.crawler.CrawlerConfig` as a dict (``CrawlerConfig.to_dict``);
        templated. Either ``pipeline`` or ``config``.
    :param plan_only: a dry run: log the plan, write nothing.
    :param recrawl_policy: override the config's recrawl policy. With ``CRAWL_EVENT_MODE`` the
        files of the asset events that triggered the run are announced first, and only those are crawled.
    :param aws_conn_id / glue_role / glue_event_queue_arn / poll_interval / wait_timeout: the aws profile.
    """

    template_fields: Sequence[str] = ("pipeline", "config")
    template_fields_renderers = {"config": "json"}
    ui_color = "#d7ecf9"
    operator_extra_links = (RunReportLink(),)

    def __init__(self, *, pipeline: str | None = None, config: dict[str, Any] | None = None,
                 plan_only: bool = False, recrawl_policy: str | None = None, aws_conn_id: str | None = "aws_default",
                 glue_role: str | None = None, glue_event_queue_arn: str = "", poll_interval: int = 5,
                 wait_timeout: float = 6 * 3600, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (pipeline is None) == (config is None):
            raise ValueError(f"{self.task_id}: give exactly one of pipeline= or config=")
        self.pipeline = pipeline
        self.config = config
        self.plan_only = plan_only
        self.recrawl_policy = recrawl_policy
        self.aws_conn_id = aws_conn_id
        self.glue_role = glue_role
        self.glue_event_queue_arn = glue_event_queue_arn
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        #: Tables the last crawl here created, updated or kept (lineage of a ``config=`` crawler).
        self.crawled_tables: list[str] = []

    def crawler_config(self) -> Any:
        from lakeglue.crawler import CrawlerConfig, config_for_pipeline

        overrides = {"recrawl_policy": self.recrawl_policy} if self.recrawl_policy else {}
        if self.config is not None:
            return CrawlerConfig.from_dict({**self.config, **overrides})
        from lakeglue.pipelines import load_pipeline

        assert self.pipeline is not None
        return config_for_pipeline(load_pipeline(self.pipeline), **overrides)

    def execute(self, context: Any) -> dict[str, Any]:
        from lakeglue.settings import get_settings

        settings = get_settings()
        config = self.crawler_config()
        if settings.profile == "aws":
            return self._run_on_glue(config, settings, context)
        return self._run_here(config, settings, context)

    # -- embedded / compose: the lakeglue crawler in this worker ---------------------------------
    def _run_here(self, config: Any, settings: Any, context: Any) -> dict[str, Any]:
        from lakeglue.catalog import open_catalog
        from lakeglue.crawler import CrawlAborted, crawl
        from lakeglue.crawler.config import CRAWL_EVENT_MODE
        from lakeglue.crawler.events import announce
        from lakeglue.ledger import Ledger
        from lakeglue.storage import Lake

        lake, catalog, ledger = Lake(settings), open_catalog(settings), Ledger(settings.catalog_url)
        if config.recrawl_policy == CRAWL_EVENT_MODE and not self.plan_only:
            paths = announced_paths(context)
            count, rejected = announce(config, lake, ledger, paths, catalog.list_tables(config.database))
            self.log.info("event mode: %d of %d announced files are new to the ledger", count, len(paths))
            for path, reason in rejected:
                self.log.warning("not announced: %s: %s", path, reason)
        try:
            result = crawl(config, lake=lake, catalog=catalog, ledger=ledger, dry_run=self.plan_only)
        except CrawlAborted as exc:
            self.log.error("%s", exc.result.summary())
            raise
        self.log.info("%s", result.summary())
        for path, reason in result.errors:
            self.log.warning("skipped %s: %s", path, reason)
        for issue in result.partition_issues:
            self.log.warning("partition %s of %s: %s", issue["partition"], issue["table"], issue["message"])
        data = dict(result.to_dict())
        data["engine"] = "lakeglue"
        self.crawled_tables = [f"{config.database}.{t}" for t in
                               (*result.tables_created, *result.tables_updated, *result.tables_unchanged)]
        return data

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """A pipeline's crawl: raw folders → raw tables (from its spec); a ``config=`` crawl: the crawled
        prefix → the tables this run found."""
        from lakeglue.settings import get_settings
        from lakeglue_airflow.lineage_facets import operator_lineage, pipeline_job_lineage

        if self.pipeline is not None:
            return operator_lineage(*pipeline_job_lineage(self.pipeline, "crawl"))
        config = self.crawler_config()
        root = get_settings().zone_root(config.zone).rstrip("/")
        source = "/".join(p for p in (root if "://" in root else "file://" + root, config.prefix.strip("/")) if p)
        return operator_lineage([source], self.crawled_tables)

    # -- aws: AWS Glue's crawler through the Amazon provider --------------------------------------
    def _run_on_glue(self, config: Any, settings: Any, context: Any) -> dict[str, Any]:
        from airflow.providers.amazon.aws.hooks.glue_crawler import GlueCrawlerHook
        from airflow.providers.amazon.aws.operators.glue_crawler import (
            GlueCrawlerCreateOperator,
            GlueCrawlerRunOperator,
            GlueCrawlerUpdateOperator,
        )

        from lakeglue.crawler.glue import glue_crawler

        role = self.glue_role or str(settings.extra.get("glue_crawler_role", ""))
        crawler = glue_crawler(config, settings, role, self.glue_event_queue_arn)
        for note in crawler.notes:
            self.log.info("glue: %s", note)
        if self.plan_only:
            return {"engine": "glue", "dry_run": True, "crawler": crawler.name, "definition": crawler.definition,
                    "classifiers": crawler.classifiers, "notes": crawler.notes}
        hook = GlueCrawlerHook(aws_conn_id=self.aws_conn_id, region_name=settings.aws_region)
        self._ensure_classifiers(hook, crawler.classifiers)
        common = {"aws_conn_id": self.aws_conn_id, "region_name": settings.aws_region}
        if hook.has_crawler(crawler.name):
            GlueCrawlerUpdateOperator(task_id=f"{self.task_id}__glue_update", config=dict(crawler.definition),
                                      **common).execute(context)
        else:
            GlueCrawlerCreateOperator(task_id=f"{self.task_id}__glue_create", config=dict(crawler.definition),
                                      **common).execute(context)
        GlueCrawlerRunOperator(task_id=f"{self.task_id}__glue_run", crawler_name=crawler.name,
                               wait_for_completion=False, **common).execute(context)
        attempts = max(1, math.ceil(self.wait_timeout / max(self.poll_interval, 1)))
        hook.get_waiter("crawler_ready").wait(Name=crawler.name,
                                              WaiterConfig={"Delay": self.poll_interval, "MaxAttempts": attempts})
        run = self._last_crawl(hook, crawler.name)
        self.log.info("glue crawler %s: crawl %s %s", crawler.name, run.get("CrawlId"), run.get("State"))
        if run.get("State") != "COMPLETED":
            raise RuntimeError(f"Glue crawler {crawler.name} crawl {run.get('CrawlId')} ended {run.get('State')}: "
                               f"{run.get('ErrorMessage', 'no error message')}")
        summary = run.get("Summary")
        return {"engine": "glue", "dry_run": False, "crawler": crawler.name, "crawl_id": run.get("CrawlId"),
                "state": run.get("State"), "start_time": str(run.get("StartTime", "")),
                "end_time": str(run.get("EndTime", "")), "dpu_hour": run.get("DPUHour"),
                "summary": json.loads(summary) if summary else {}, "definition": crawler.definition,
                "notes": crawler.notes}

    def _ensure_classifiers(self, hook: Any, classifiers: list[dict[str, Any]]) -> None:
        """Create or update the custom classifiers the crawler names (Glue resolves them by name)."""
        client = hook.glue_client
        for request in classifiers:
            try:
                client.create_classifier(**request)
            except client.exceptions.AlreadyExistsException:
                kind, body = next(iter(request.items()))
                client.update_classifier(**{kind: body})

    @staticmethod
    def _last_crawl(hook: Any, name: str) -> dict[str, Any]:
        """The newest crawl of the crawler: ListCrawls has per-run state and summary (GetCrawlerMetrics
        only aggregates the last run and medians)."""
        crawls = hook.glue_client.list_crawls(CrawlerName=name).get("Crawls", [])
        if not crawls:
            raise RuntimeError(f"Glue crawler {name} reports no crawl after it was started")
        latest: dict[str, Any] = max(crawls, key=lambda c: str(c.get("StartTime", "")))
        if latest.get("State") not in _FINISHED:
            raise RuntimeError(f"Glue crawler {name} is READY but its latest crawl is {latest.get('State')}")
        return latest
