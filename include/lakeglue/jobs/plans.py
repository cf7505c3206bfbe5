"""What a job run will read, decided the same way for every engine.

Bronze: which raw files the ledger gives this batch. Silver: whether bronze has batches the
silver table has not absorbed. Both engines call these, so their bookkeeping cannot drift.

Both run under the table's writer lock (:mod:`lakeglue.jobs.locks`) and hand the job's
:class:`~lakeglue.jobs.locks.TableWrite` what must be committed with the new version: the
version planned from, the ledger's ``done`` states, silver's consumed batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakeglue.catalog.base import EntityNotFound
from lakeglue.catalog.model import Table
from lakeglue.jobs.bookmarks import ConsumedBatches
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.locks import active_write
from lakeglue.jobs.metrics import TableMetrics
from lakeglue.ledger import NEW, UNFINISHED, LedgerEntry


@dataclass(frozen=True)
class BronzeFiles:
    raw: Table
    source: str
    entries: list[LedgerEntry]


def claim_bronze_files(ctx: JobContext, table: str, result: TableMetrics) -> BronzeFiles | None:
    """Claim this batch's raw files (a retry gets the same ones); ``None`` with a reason when none."""
    raw_db = ctx.spec.database_for("raw")
    if not ctx.catalog.table_exists(raw_db, table):
        result.skipped_reason = f"{raw_db}.{table} is not in the catalog yet (run the crawler)"
        return None
    source = ctx.spec.source_key(table)
    if ctx.full_refresh:
        ctx.ledger.reset(source)
    write = active_write(ctx.spec.database_for("bronze"), table)
    locked = write is not None  # only the lock holder may take what other batches left unfinished
    if locked:
        _settle_committed_batches(ctx, table, source)
    candidates = ctx.ledger.claimable(source, ctx.batch_id) if locked else ctx.ledger.entries(source, state=NEW)
    wanted = [e.path for e in candidates if ctx.in_date_range(e.path)]
    entries = ctx.ledger.claim(source, ctx.batch_id, paths=wanted, take_stale=locked)
    if not entries:
        result.skipped_reason = "no new files since the last batch"
        return None
    if write is not None:
        write.pending.append(ctx.ledger.done_write(source, ctx.batch_id))
    result.files_read, result.bytes_read = len(entries), sum(e.size for e in entries)
    return BronzeFiles(ctx.catalog.get_table(raw_db, table), source, entries)


def _settle_committed_batches(ctx: JobContext, table: str, source: str) -> None:
    """A ``claimed`` batch whose bronze partition is in the catalog did commit (on a catalog without
    transactions its ledger update can be lost in a crash): mark it done instead of re-taking it."""
    bronze_db = ctx.spec.database_for("bronze")
    stale = {e.batch_id for state in UNFINISHED for e in ctx.ledger.entries(source, state=state)
             if e.batch_id not in (None, ctx.batch_id)}
    if not stale or not ctx.catalog.table_exists(bronze_db, table):
        return
    for batch_id in sorted(b for b in stale if b is not None):
        try:
            ctx.catalog.get_partition(bronze_db, table, (batch_id,))
        except EntityNotFound:
            continue
        ctx.ledger.mark_done(source, batch_id)


@dataclass(frozen=True)
class SilverWork:
    silver_db: str
    bronze_db: str
    consumer: str
    consumed: ConsumedBatches
    live_batches: set[str]
    new_batches: set[str]
    current: Table | None


def plan_silver(ctx: JobContext, table: str, source_table: str, result: TableMetrics) -> SilverWork | None:
    """The bronze batches a silver rebuild absorbs; ``None`` with a reason when there is nothing new."""
    silver_db, bronze_db = ctx.spec.database_for("silver"), ctx.spec.database_for("bronze")
    if not ctx.catalog.table_exists(bronze_db, source_table):
        result.skipped_reason = f"{bronze_db}.{source_table} does not exist yet"
        return None
    consumed = ConsumedBatches(ctx.settings.catalog_url)
    consumer = f"{ctx.spec.name}/silver/{table}"
    live_batches = {p.values[0] for p in ctx.catalog.get_partitions(bronze_db, source_table)}
    current = ctx.catalog.get_table(silver_db, table) if ctx.catalog.table_exists(silver_db, table) else None
    new_batches = live_batches - consumed.get(consumer)
    if current is not None and not ctx.full_refresh and not new_batches:
        result.skipped_reason = "no new bronze batches since the last silver version"
        return None
    write = active_write(silver_db, table)
    if write is not None:  # committed with the version, in its transaction; planned from ``current``
        write.expected_version = 0 if current is None else current.version
        write.pending.append(consumed.replace_write(consumer, live_batches))
    return SilverWork(silver_db, bronze_db, consumer, consumed, live_batches, new_batches, current)
