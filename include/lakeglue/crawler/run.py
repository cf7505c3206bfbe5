"""``crawl()``: list → infer → plan → (unless dry run) apply, with one result object for Airflow."""

from __future__ import annotations

import time

from lakeglue.catalog.base import Catalog
from lakeglue.crawler.apply import apply_plan
from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.plan import CREATE, UNCHANGED, UPDATE, CrawlPlan, TablePlan, build_plan
from lakeglue.crawler.result import CrawlResult
from lakeglue.ledger import Ledger
from lakeglue.settings import get_settings
from lakeglue.storage.zones import Lake


class CrawlAborted(RuntimeError):
    """The crawl refused to write (TableThreshold exceeded); ``result`` holds the plan that was refused."""

    def __init__(self, result: CrawlResult) -> None:
        super().__init__(result.aborted)
        self.result = result


def crawl(config: CrawlerConfig, lake: Lake | None = None, catalog: Catalog | None = None,
          ledger: Ledger | None = None, dry_run: bool = False) -> CrawlResult:
    """Crawl ``<zone>/<prefix>`` into ``config.database``; ``dry_run`` computes the plan and writes nothing.

    Raises :class:`CrawlAborted` (nothing written) when the plan exceeds ``table_threshold``;
    a dry run reports that in ``result.aborted`` instead.
    """
    started = time.monotonic()
    settings = lake.settings if lake is not None else get_settings()
    lake = lake or Lake(settings)
    if catalog is None:
        from lakeglue.catalog import open_catalog

        catalog = open_catalog(settings)
    ledger = ledger or Ledger(settings=settings)
    plan = build_plan(config, lake, catalog, ledger)
    result = result_of(plan, dry_run)
    if plan.abort_reason:
        result.duration_s = round(time.monotonic() - started, 3)
        if dry_run:
            return result
        raise CrawlAborted(result)
    if not dry_run:
        apply_plan(plan, catalog, ledger, result)
    result.duration_s = round(time.monotonic() - started, 3)
    return result


def _table_entry(tp: TablePlan) -> dict[str, object]:
    assert tp.table is not None
    return {"name": tp.name, "action": tp.action, "classification": tp.table.classification,
            "location": tp.table.location, "columns": [[c.name, c.type] for c in tp.table.columns],
            "partition_keys": [k.name for k in tp.table.partition_keys], "partitions": len(tp.folder.partitions),
            "reason": tp.reason}


def result_of(plan: CrawlPlan, dry_run: bool) -> CrawlResult:
    """The metrics a plan implies; apply only removes tables whose write failed."""
    config = plan.config
    result = CrawlResult(database=config.database, dry_run=dry_run, recrawl_policy=config.recrawl_policy,
                         files_listed=plan.listing.files_listed, files_scanned=plan.files_scanned,
                         bytes_read=plan.bytes_read, errors=list(plan.errors), skipped=list(plan.listing.skipped),
                         decisions=list(dict.fromkeys(plan.notes)),  # one line per distinct decision
                         aborted=plan.abort_reason)
    buckets = {CREATE: result.tables_created, UPDATE: result.tables_updated, UNCHANGED: result.tables_unchanged}
    for tp in plan.tables:
        if tp.action in buckets:
            buckets[tp.action].append(tp.name)
        if tp.table is not None:
            result.tables.append(_table_entry(tp))
        result.changes.extend(tp.changes)
        result.logged.extend(tp.logged)
        result.partition_issues.extend(i.to_dict() for i in tp.issues)
        result.partitions_added += len(tp.partitions_add)
        result.partitions_updated += len(tp.partitions_update)
        result.partitions_removed += len(tp.partitions_remove)
    result.tables_deleted = [t.name for t in plan.gone]
    behavior = config.delete_behavior
    line = [f"table {t.qualified_name}: folder gone; {behavior}" for t in plan.gone]
    (result.logged if behavior == "LOG" else result.changes).extend(line)
    return result
