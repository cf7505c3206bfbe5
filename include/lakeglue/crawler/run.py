"""``crawl()``: list → infer → plan → (unless dry run) apply, with one result object for Airflow."""

from __future__ import annotations

import time

from lakeglue.catalog.base import Catalog
from lakeglue.crawler.apply import apply_plan
from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.plan import CREATE, UNCHANGED, UPDATE, CrawlPlan, build_plan
from lakeglue.crawler.result import CrawlResult
from lakeglue.ledger import Ledger
from lakeglue.settings import get_settings
from lakeglue.storage.zones import Lake


def crawl(config: CrawlerConfig, lake: Lake | None = None, catalog: Catalog | None = None,
          ledger: Ledger | None = None, dry_run: bool = False) -> CrawlResult:
    """Crawl ``<zone>/<prefix>`` into ``config.database``; ``dry_run`` computes the plan and writes nothing."""
    started = time.monotonic()
    settings = lake.settings if lake is not None else get_settings()
    lake = lake or Lake(settings)
    if catalog is None:
        from lakeglue.catalog import open_catalog

        catalog = open_catalog(settings)
    ledger = ledger or Ledger(settings=settings)
    plan = build_plan(config, lake, catalog, ledger)
    result = result_of(plan, dry_run)
    if not dry_run:
        apply_plan(plan, catalog, ledger, result)
    result.duration_s = round(time.monotonic() - started, 3)
    return result


def result_of(plan: CrawlPlan, dry_run: bool) -> CrawlResult:
    """The metrics a plan implies; apply only removes tables whose write failed."""
    result = CrawlResult(database=plan.config.database, dry_run=dry_run, files_listed=plan.listing.files_listed,
                         files_scanned=plan.files_scanned, bytes_read=plan.bytes_read, errors=list(plan.errors),
                         skipped=list(plan.listing.skipped),
                         decisions=list(dict.fromkeys(plan.notes)))  # one line per distinct decision
    buckets = {CREATE: result.tables_created, UPDATE: result.tables_updated, UNCHANGED: result.tables_unchanged}
    for tp in plan.tables:
        if tp.action in buckets:
            buckets[tp.action].append(tp.name)
        result.changes.extend(tp.changes)
        result.partitions_added += len(tp.partitions_add)
        result.partitions_updated += len(tp.partitions_update)
        result.partitions_removed += len(tp.partitions_remove)
    result.tables_deleted = [t.name for t in plan.gone]
    behavior = plan.config.delete_behavior
    result.changes.extend(f"table {t.qualified_name}: folder gone; {behavior}" for t in plan.gone)
    return result
