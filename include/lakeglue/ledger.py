"""The ingestion ledger: every raw object seen, and which batch claimed it.

It is what makes the lake incremental and exactly-once: the crawler records objects,
a job *claims* the new ones for its batch in one transaction, and a rerun of the same
batch gets exactly the same objects back (so output is replaced, never duplicated).
State moves ``new → claimed → done``; an object whose size or mtime changes goes back to
``new``. A batch whose job fails has its files marked ``failed`` (with the error); bronze
claims under its table's writer lock, so the next batch takes ``failed`` files — and
``claimed`` ones of a run that died without saying so — again (docs/events.md). The table
lives in the catalog database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from lakeglue.catalog.base import SqlWrite
from lakeglue.catalog.sql import add_missing_columns, engine_for
from lakeglue.settings import Settings, get_settings
from lakeglue.storage.zones import FileInfo

ledger_metadata = sa.MetaData()
ledger_t = sa.Table(
    "lg_ingestion_ledger", ledger_metadata,
    sa.Column("source", sa.String(255), primary_key=True),
    sa.Column("path", sa.String(2048), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime", sa.Float, nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("batch_id", sa.String(255), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    # added after the first release: ledgers created before it gain the column on open (add_missing_columns)
    sa.Column("error", sa.Text, nullable=True),
)

NEW, CLAIMED, DONE = "new", "claimed", "done"
#: The batch's job failed; the next batch takes the file again (``error`` says why it failed).
FAILED = "failed"
#: States of a file given to a batch that has not committed it: stale once another batch holds the lock.
UNFINISHED = (CLAIMED, FAILED)
#: Announced by an event, not yet read by a crawler (CRAWL_EVENT_MODE); bronze claims only ``new``.
ANNOUNCED = "announced"


@dataclass(frozen=True)
class LedgerEntry:
    source: str
    path: str
    size: int
    mtime: float
    batch_id: str | None
    state: str
    error: str | None = field(default=None, compare=False)


def _entry(r: sa.Row) -> LedgerEntry:
    return LedgerEntry(r.source, r.path, r.size, r.mtime, r.batch_id, r.state, r.error)


@dataclass
class BatchStatus:
    """Files of one source by state, per batch (``bookmark status``)."""

    batch_id: str | None
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Ledger:
    """Ingestion ledger over the catalog's SQL database."""

    def __init__(self, url: str | None = None, settings: Settings | None = None) -> None:
        self.url = url or (settings or get_settings()).catalog_url
        self.engine = engine_for(self.url)
        ledger_metadata.create_all(self.engine)
        add_missing_columns(self.engine, ledger_t)

    def record_seen(self, source: str, files: Iterable[FileInfo]) -> list[FileInfo]:
        """Record objects of ``source``; return those that are new or changed since last seen."""
        files = list(files)
        if not files:
            return []
        return self._upsert_seen(source, files, NEW)

    def _upsert_seen(self, source: str, files: list[FileInfo], state: str) -> list[FileInfo]:
        """Insert unknown objects and reset changed ones to ``state``; return both.

        A concurrent writer inserting the same objects first is absorbed by re-reading once.
        """
        try:
            return self._upsert_seen_once(source, files, state)
        except sa.exc.IntegrityError:
            return self._upsert_seen_once(source, files, state)

    def _upsert_seen_once(self, source: str, files: list[FileInfo], state: str) -> list[FileInfo]:
        now = datetime.now(UTC)
        paths = sorted({f.path for f in files})
        with self.engine.begin() as conn:
            known: dict[str, tuple[int, float]] = {}
            for start in range(0, len(paths), 400):  # only the rows of these objects, in bounded IN lists
                known.update((r.path, (r.size, r.mtime)) for r in conn.execute(
                    sa.select(ledger_t.c.path, ledger_t.c.size, ledger_t.c.mtime).where(
                        ledger_t.c.source == source, ledger_t.c.path.in_(paths[start:start + 400]))))
            fresh = [f for f in files if f.path not in known]
            changed = [f for f in files if f.path in known and known[f.path] != (f.size, f.mtime)]
            if fresh:
                conn.execute(ledger_t.insert(), [
                    {"source": source, "path": f.path, "size": f.size, "mtime": f.mtime, "first_seen": now,
                     "batch_id": None, "state": state} for f in fresh])
            for f in changed:
                conn.execute(ledger_t.update().where(ledger_t.c.source == source, ledger_t.c.path == f.path)
                             .values(size=f.size, mtime=f.mtime, batch_id=None, state=state, error=None))
        return fresh + changed

    def claim(self, source: str, batch_id: str, paths: Sequence[str] | None = None, *,
              take_stale: bool = False) -> list[LedgerEntry]:
        """Atomically give every unclaimed object of ``source`` (or only ``paths``) to ``batch_id``.

        Returns all objects of the batch, including those it claimed in an earlier attempt,
        so a retried batch processes exactly the same input (its ``failed`` files are claimed
        again). With ``take_stale`` — only for a caller holding the source's bronze writer
        lock — files another batch claimed or failed and never committed are taken too: no
        run can still be working on them, since the lock holder is the only one that runs.
        """
        with self.engine.begin() as conn:
            already_claimed = conn.execute(sa.select(ledger_t.c.path).where(
                ledger_t.c.source == source, ledger_t.c.batch_id == batch_id).limit(1)).first()
            if already_claimed is None:  # a retry must not absorb files that arrived after its first attempt
                claimable = _claimable_by(batch_id) if take_stale else ledger_t.c.state == NEW
                stmt = ledger_t.update().where(ledger_t.c.source == source, claimable)
                if paths is not None:
                    stmt = stmt.where(ledger_t.c.path.in_(list(paths)))
                conn.execute(stmt.values(batch_id=batch_id, state=CLAIMED, error=None))
            else:
                conn.execute(ledger_t.update().where(ledger_t.c.source == source, ledger_t.c.batch_id == batch_id,
                                                     ledger_t.c.state == FAILED).values(state=CLAIMED, error=None))
        return self.batch(source, batch_id)

    def claimable(self, source: str, batch_id: str) -> list[LedgerEntry]:
        """What :meth:`claim` with ``take_stale`` could give ``batch_id``: new files, and unfinished
        ones of other batches (for the caller to filter, e.g. by date range)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ledger_t).where(ledger_t.c.source == source, _claimable_by(batch_id))
                                .order_by(ledger_t.c.path)).all()
        return [_entry(r) for r in rows]

    def mark_failed(self, source: str, batch_id: str, error: str) -> int:
        """The batch's job failed: its uncommitted files become ``failed`` (the next batch takes them)."""
        with self.engine.begin() as conn:
            return int(conn.execute(ledger_t.update().where(
                ledger_t.c.source == source, ledger_t.c.batch_id == batch_id, ledger_t.c.state == CLAIMED)
                .values(state=FAILED, error=error[:4000])).rowcount)

    def done_write(self, source: str, batch_id: str) -> SqlWrite:
        """:meth:`mark_done` as a write the bronze commit runs in its own transaction."""
        def apply(conn: sa.Connection) -> None:
            conn.execute(_done(source, batch_id))
        return SqlWrite(self.url, apply, f"ledger: files of batch {batch_id} of {source} done")

    def status(self, source: str) -> list[BatchStatus]:
        """Per batch (``None`` first: files waiting for one), how many files are in each state."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ledger_t.c.batch_id, ledger_t.c.state, sa.func.count().label("n"),
                                          sa.func.max(ledger_t.c.error).label("error"))
                                .where(ledger_t.c.source == source)
                                .group_by(ledger_t.c.batch_id, ledger_t.c.state)).all()
        batches: dict[str | None, BatchStatus] = {}
        for r in rows:
            status = batches.setdefault(r.batch_id, BatchStatus(r.batch_id))
            status.counts[r.state] = status.counts.get(r.state, 0) + int(r.n)
            if r.error:
                status.errors.append(r.error)
        return sorted(batches.values(), key=lambda b: (b.batch_id is not None, b.batch_id or ""))

    def batch(self, source: str, batch_id: str) -> list[LedgerEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ledger_t).where(ledger_t.c.source == source,
                                                          ledger_t.c.batch_id == batch_id)
                                .order_by(ledger_t.c.path)).all()
        return [_entry(r) for r in rows]

    def lookup(self, source: str, paths: Sequence[str]) -> dict[str, LedgerEntry]:
        """Entries of just these paths (chunked IN lookups), for event watchers polling a big prefix."""
        found: dict[str, LedgerEntry] = {}
        unique = sorted(set(paths))
        with self.engine.connect() as conn:
            for start in range(0, len(unique), 400):
                rows = conn.execute(sa.select(ledger_t).where(ledger_t.c.source == source,
                                                              ledger_t.c.path.in_(unique[start:start + 400])))
                for r in rows:
                    found[r.path] = _entry(r)
        return found

    def entries(self, source: str, state: str | None = None) -> list[LedgerEntry]:
        with self.engine.connect() as conn:
            stmt = sa.select(ledger_t).where(ledger_t.c.source == source)
            if state:
                stmt = stmt.where(ledger_t.c.state == state)
            rows = conn.execute(stmt.order_by(ledger_t.c.path)).all()
        return [_entry(r) for r in rows]

    def mark_done(self, source: str, batch_id: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(_done(source, batch_id)).rowcount)

    def reset(self, source: str) -> int:
        """Forget what was processed (a bookmark reset): every object becomes new again."""
        with self.engine.begin() as conn:
            return int(conn.execute(ledger_t.update().where(ledger_t.c.source == source)
                                    .values(batch_id=None, state=NEW, error=None)).rowcount)

    def versions(self, source: str) -> dict[str, tuple[int, float]]:
        """path → (size, mtime) of every object of ``source``: what a recrawl compares a listing with."""
        with self.engine.connect() as conn:
            return {r.path: (r.size, r.mtime) for r in conn.execute(
                sa.select(ledger_t.c.path, ledger_t.c.size, ledger_t.c.mtime).where(ledger_t.c.source == source))}

    # -- crawler event mode: objects announced by events, promoted to ``new`` once crawled --------
    def announce(self, source: str, files: Iterable[FileInfo]) -> list[FileInfo]:
        """Record objects an event announced (state ``announced``); returns those not known before.

        Known, unchanged objects are left alone, so a re-delivered event changes nothing; a
        changed object is announced again. Bronze never claims announced objects: a crawler
        in event mode catalogues them first and then calls :meth:`mark_crawled`.
        """
        files = list(files)
        if not files:
            return []
        return self._upsert_seen(source, files, ANNOUNCED)

    def announced(self, source_prefix: str) -> list[LedgerEntry]:
        """Announced, not yet crawled objects of every source ``<source_prefix>/…`` (or all, if empty)."""
        stmt = sa.select(ledger_t).where(ledger_t.c.state == ANNOUNCED)
        if source_prefix:
            stmt = stmt.where(sa.or_(ledger_t.c.source == source_prefix,
                                     ledger_t.c.source.startswith(source_prefix + "/", autoescape=True)))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(ledger_t.c.source, ledger_t.c.path)).all()
        return [_entry(r) for r in rows]

    def mark_crawled(self, source: str, paths: Sequence[str]) -> int:
        """Announced objects a crawler has catalogued become ``new`` (claimable by bronze)."""
        unique = sorted(set(paths))
        changed = 0
        with self.engine.begin() as conn:
            for start in range(0, len(unique), 400):
                changed += int(conn.execute(ledger_t.update().where(
                    ledger_t.c.source == source, ledger_t.c.state == ANNOUNCED,
                    ledger_t.c.path.in_(unique[start:start + 400])).values(state=NEW)).rowcount)
        return changed


def _claimable_by(batch_id: str) -> sa.ColumnElement[bool]:
    """Files a batch holding the writer lock may take: new ones, and unfinished ones of other batches."""
    return sa.or_(ledger_t.c.state == NEW,
                  sa.and_(ledger_t.c.state.in_(UNFINISHED), ledger_t.c.batch_id != batch_id))


def _done(source: str, batch_id: str) -> sa.Update:
    """The batch's files are done (its bronze partition is committed)."""
    return (ledger_t.update().where(ledger_t.c.source == source, ledger_t.c.batch_id == batch_id)
            .values(state=DONE, error=None))
