"""Execute a :class:`~lakeglue.crawler.plan.CrawlPlan`: catalog first, ledger last.

The ledger is written only after a table's catalog changes are committed, so a crash in
between makes the next crawl redo that table instead of believing it is up to date.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lakeglue.catalog.base import AlreadyExists, Catalog, CatalogError
from lakeglue.crawler.plan import CREATE, UPDATE, CrawlPlan, TablePlan
from lakeglue.crawler.result import CrawlResult
from lakeglue.ledger import Ledger


def apply_plan(plan: CrawlPlan, catalog: Catalog, ledger: Ledger, result: CrawlResult) -> None:
    """Write the plan; a table whose catalog write fails is reported and not marked seen."""
    config = plan.config
    catalog.ensure_database(config.database, config.description or f"tables crawled by {config.name}")
    for tp in plan.tables:
        try:
            _apply_table(tp, catalog)
        except CatalogError as exc:
            result.errors.append((tp.folder.folder, f"catalog write for table {tp.name} failed: {exc}; "
                                                    "the next crawl retries it"))
            for names in (result.tables_created, result.tables_updated, result.tables_unchanged):
                if tp.name in names:
                    names.remove(tp.name)
            continue
        # unreadable files are recorded too: rereading them on every crawl would not fix them,
        # and a fixed file comes back with a new size/mtime, which makes it "changed"
        ledger.record_seen(tp.source, tp.fresh)  # everything else is in the ledger with this size/mtime
        announced = plan.announced.get(tp.source)
        if announced:
            ledger.mark_crawled(tp.source, [f.path for f in tp.folder.files if f.path in announced])
    _apply_gone(plan, catalog)


def _apply_table(tp: TablePlan, catalog: Catalog) -> None:
    if tp.table is None:
        return
    if tp.action == CREATE:
        try:
            catalog.create_table(tp.table)
        except AlreadyExists:  # another writer created it since we planned: ours goes on top
            catalog.upsert_table(tp.table)
    elif tp.action == UPDATE:
        catalog.update_table(tp.table)  # optimistic: fails if someone changed the table since we read it
    if tp.replace_partitions:
        catalog.replace_partitions(tp.table.database, tp.table.name, tp.partitions_add)
        return
    if tp.desired_partitions():
        catalog.batch_upsert_partitions(tp.desired_partitions())
    if tp.partitions_remove:
        catalog.batch_delete_partitions(tp.table.database, tp.table.name, tp.partitions_remove)


def _apply_gone(plan: CrawlPlan, catalog: Catalog) -> None:
    behavior = plan.config.delete_behavior
    for table in plan.gone:
        if behavior == "DELETE_FROM_DATABASE":
            catalog.delete_table(table.database, table.name)
        elif behavior == "DEPRECATE_IN_DATABASE" and "DEPRECATED_BY_CRAWLER" not in table.parameters:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            catalog.update_table(table.evolve(parameters={**table.parameters, "DEPRECATED_BY_CRAWLER": stamp}))
