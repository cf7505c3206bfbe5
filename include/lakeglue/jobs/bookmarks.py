"""High-water-mark bookmarks for sources that are tables, not files (JDBC / "RDS").

A batch reads rows with ``low < column <= high``. The range is fixed the first time a
batch asks for it and stored, so a retried batch reads exactly the same rows; the next
batch starts where the last *committed* one ended. File sources use the ingestion ledger instead.

Ranges are taken under the bronze table's writer lock (a bronze job holds it; outside a job
:meth:`Bookmarks.range_for` takes a lock of its own), so two batches never read the same
high-water mark. Inside a job a new range is ``claimed`` and becomes ``done`` in the
transaction that commits the batch's partition; a ``claimed`` range of another batch is a run
that died or failed, and the next batch reads its rows again instead of skipping them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lakeglue.catalog.base import SqlWrite
from lakeglue.catalog.sql import add_missing_columns, engine_for
from lakeglue.jobs.locks import active_write_for_source, writer_lock

if TYPE_CHECKING:
    from lakeglue.jobs.locks import TableWrite

bookmark_metadata = sa.MetaData()
bookmarks_t = sa.Table(
    "lg_job_bookmarks", bookmark_metadata,
    sa.Column("source", sa.String(255), primary_key=True),
    sa.Column("batch_id", sa.String(255), primary_key=True),
    sa.Column("column_name", sa.String(255), nullable=False),
    sa.Column("low", sa.String(255), nullable=True),
    sa.Column("high", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # added later: rows of older databases are committed ranges (server default), see add_missing_columns
    sa.Column("state", sa.String(16), nullable=True, server_default="done"),
)
RANGE_CLAIMED, RANGE_DONE = "claimed", "done"


@dataclass(frozen=True)
class BookmarkRange:
    column: str
    low: str | None  # exclusive; None = from the beginning
    high: str | None  # inclusive; None = the source is empty

    @property
    def empty(self) -> bool:
        return self.high is None or self.high == self.low  # the source max only ever grows


class Bookmarks:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        bookmark_metadata.create_all(self.engine)
        add_missing_columns(self.engine, bookmarks_t)

    def range_for(self, source: str, batch_id: str, column: str, current_max: Callable[[], str | None],
                  full_refresh: bool = False) -> BookmarkRange:
        """The batch's range: reused on retry, else from the last committed batch's high to the source's max."""
        write = active_write_for_source(source)
        with writer_lock(self.url, f"jdbc-range:{source}"), self.engine.begin() as conn:
            row = conn.execute(sa.select(bookmarks_t).where(bookmarks_t.c.source == source,
                                                            bookmarks_t.c.batch_id == batch_id)).first()
            if row is not None and not full_refresh:
                self._commit_with(write, source, batch_id)
                return BookmarkRange(row.column_name, row.low, row.high)
            others = sa.and_(bookmarks_t.c.source == source, bookmarks_t.c.batch_id != batch_id)
            if write is not None:  # under the bronze lock: another batch's uncommitted range is a dead run's
                conn.execute(bookmarks_t.delete().where(others, bookmarks_t.c.state == RANGE_CLAIMED))
            # The newest committed batch's high (values are compared by the source DB, not as strings here).
            previous = None if full_refresh else conn.execute(
                sa.select(bookmarks_t.c.high).where(others, sa.or_(bookmarks_t.c.state.is_(None),
                                                                   bookmarks_t.c.state != RANGE_CLAIMED))
                .order_by(bookmarks_t.c.created_at.desc()).limit(1)).scalar()
            high = current_max()
            if high is None and previous is not None:
                high = previous
            if row is not None:
                conn.execute(bookmarks_t.delete().where(bookmarks_t.c.source == source,
                                                        bookmarks_t.c.batch_id == batch_id))
            conn.execute(bookmarks_t.insert().values(
                source=source, batch_id=batch_id, column_name=column, low=previous, high=high,
                created_at=datetime.now(UTC), state=RANGE_DONE if write is None else RANGE_CLAIMED))
        self._commit_with(write, source, batch_id)
        return BookmarkRange(column, previous, high)

    def _commit_with(self, write: TableWrite | None, source: str, batch_id: str) -> None:
        """Inside a bronze job the range becomes ``done`` in the transaction that commits the batch."""
        if write is None:
            return

        def apply(conn: sa.Connection) -> None:
            conn.execute(bookmarks_t.update().where(bookmarks_t.c.source == source, bookmarks_t.c.batch_id == batch_id)
                         .values(state=RANGE_DONE))
        write.pending.append(SqlWrite(self.url, apply, f"bookmark: range of batch {batch_id} of {source} done"))

    def ranges(self, source: str) -> list[tuple[str, str | None, str | None, str]]:
        """(batch, low, high, state) of every range of ``source``, oldest first (``bookmark status``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(bookmarks_t).where(bookmarks_t.c.source == source)
                                .order_by(bookmarks_t.c.created_at)).all()
        return [(r.batch_id, r.low, r.high, r.state or RANGE_DONE) for r in rows]

    def reset(self, source: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(bookmarks_t.delete().where(bookmarks_t.c.source == source)).rowcount)


consumed_t = sa.Table(
    "lg_consumed_batches", bookmark_metadata,
    sa.Column("consumer", sa.String(255), primary_key=True),
    sa.Column("batch_id", sa.String(255), primary_key=True),
    sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=False),
)


class ConsumedBatches:
    """Which upstream batches a downstream table has absorbed (silver's bookmark on bronze)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        bookmark_metadata.create_all(self.engine)

    def get(self, consumer: str) -> set[str]:
        with self.engine.connect() as conn:
            return {r.batch_id for r in conn.execute(sa.select(consumed_t.c.batch_id)
                                                     .where(consumed_t.c.consumer == consumer))}

    def replace(self, consumer: str, batch_ids: set[str]) -> None:
        """Record the upstream batches the consumer's current version is built from."""
        with self.engine.begin() as conn:
            self.replace_write(consumer, batch_ids).apply(conn)

    def replace_write(self, consumer: str, batch_ids: set[str]) -> SqlWrite:
        """:meth:`replace` as a write the silver commit runs in the transaction of its new version."""
        wanted = sorted(batch_ids)

        def apply(conn: sa.Connection) -> None:
            now = datetime.now(UTC)
            conn.execute(consumed_t.delete().where(consumed_t.c.consumer == consumer))
            if wanted:
                conn.execute(consumed_t.insert(), [{"consumer": consumer, "batch_id": b, "consumed_at": now}
                                                   for b in wanted])
        return SqlWrite(self.url, apply, f"consumed batches of {consumer}")
