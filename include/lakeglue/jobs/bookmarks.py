"""High-water-mark bookmarks for sources that are tables, not files (JDBC / "RDS").

A batch reads rows with ``low < column <= high``. The range is fixed the first time a
batch asks for it and stored, so a retried batch reads exactly the same rows; the next
batch starts where the last one ended. File sources use the ingestion ledger instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from lakeglue.catalog.sql import engine_for

bookmark_metadata = sa.MetaData()
bookmarks_t = sa.Table(
    "lg_job_bookmarks", bookmark_metadata,
    sa.Column("source", sa.String(255), primary_key=True),
    sa.Column("batch_id", sa.String(255), primary_key=True),
    sa.Column("column_name", sa.String(255), nullable=False),
    sa.Column("low", sa.String(255), nullable=True),
    sa.Column("high", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


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
        self.engine = engine_for(url)
        bookmark_metadata.create_all(self.engine)

    def range_for(self, source: str, batch_id: str, column: str, current_max: Callable[[], str | None],
                  full_refresh: bool = False) -> BookmarkRange:
        """The batch's range: reused on retry, else from the last batch's high to the source's current max."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(bookmarks_t).where(bookmarks_t.c.source == source,
                                                            bookmarks_t.c.batch_id == batch_id)).first()
            if row is not None and not full_refresh:
                return BookmarkRange(row.column_name, row.low, row.high)
            # The newest other batch's high (values are compared by the source DB, not as strings here).
            previous = None if full_refresh else conn.execute(
                sa.select(bookmarks_t.c.high).where(bookmarks_t.c.source == source, bookmarks_t.c.batch_id != batch_id)
                .order_by(bookmarks_t.c.created_at.desc()).limit(1)).scalar()
            high = current_max()
            if high is None and previous is not None:
                high = previous
            if row is not None:
                conn.execute(bookmarks_t.delete().where(bookmarks_t.c.source == source,
                                                        bookmarks_t.c.batch_id == batch_id))
            conn.execute(bookmarks_t.insert().values(source=source, batch_id=batch_id, column_name=column,
                                                     low=previous, high=high, created_at=datetime.now(UTC)))
        return BookmarkRange(column, previous, high)

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
        self.engine = engine_for(url)
        bookmark_metadata.create_all(self.engine)

    def get(self, consumer: str) -> set[str]:
        with self.engine.connect() as conn:
            return {r.batch_id for r in conn.execute(sa.select(consumed_t.c.batch_id)
                                                     .where(consumed_t.c.consumer == consumer))}

    def replace(self, consumer: str, batch_ids: set[str]) -> None:
        """Record the upstream batches the consumer's current version is built from."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(consumed_t.delete().where(consumed_t.c.consumer == consumer))
            if batch_ids:
                conn.execute(consumed_t.insert(), [{"consumer": consumer, "batch_id": b, "consumed_at": now}
                                                   for b in sorted(batch_ids)])
