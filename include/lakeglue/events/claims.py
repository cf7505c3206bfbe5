"""Event claims: which run (batch) owns which new object, decided atomically in SQL.

Every route that can start work — the deferrable sensor, an Asset watcher, S3
notifications through SQS — ends in :meth:`ClaimStore.claim`, one transaction that gives
each unclaimed object version to exactly one batch. A second claimant (an overlapping run,
a restarted triggerer, a re-delivered notification) finds the rows taken and gets nothing;
a retry of the *same* batch gets its own objects back, and nothing that arrived since.

Watchers only *announce* (the run that consumes the event claims), so an announcement is
recorded too: a restarted triggerer does not announce the same objects again while a run
for them may still be queued, and re-announces them if nobody claimed them within
``reannounce_after`` seconds (the event was lost), so nothing is ever skipped.

Rows live in the catalog database next to the ingestion ledger (SQLite or Postgres).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lakeglue.catalog.sql import engine_for
from lakeglue.events.objects import ObjectInfo

claims_metadata = sa.MetaData()
claims_t = sa.Table(
    "lg_event_claims", claims_metadata,
    sa.Column("scope", sa.String(255), primary_key=True),
    sa.Column("path", sa.String(2048), primary_key=True),
    sa.Column("version", sa.String(255), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime", sa.Float, nullable=False),
    sa.Column("etag", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=True),
    sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("batch_id", sa.String(255), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
)
sa.Index("ix_lg_event_claims_batch", claims_t.c.scope, claims_t.c.batch_id)

ANNOUNCED, CLAIMED, DONE = "announced", "claimed", "done"
#: Rows per IN (...) / multi-row statement: well under SQLite's variable limit.
CHUNK = 400


@dataclass(frozen=True)
class Claim:
    scope: str
    obj: ObjectInfo
    state: str
    batch_id: str | None


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _row_object(row: Any) -> ObjectInfo:
    return ObjectInfo(path=row.path, size=int(row.size), mtime=float(row.mtime), etag=row.etag)


class ClaimStore:
    """The ``lg_event_claims`` table over the catalog's SQL database."""

    def __init__(self, url: str) -> None:
        if not url:
            raise ValueError("ClaimStore needs the catalog's SQLAlchemy URL (LAKEGLUE_CATALOG_URL)")
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = engine_for(url)
        try:
            claims_metadata.create_all(self.engine)
        except sa.exc.DatabaseError:  # a triggerer and a worker created the table at the same moment
            claims_metadata.create_all(self.engine)
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            self._insert: Any = pg_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert
            self._insert = sqlite_insert
        else:
            raise ValueError(f"event claims need SQLite or PostgreSQL (INSERT … ON CONFLICT); got {dialect}")

    # -- reading ---------------------------------------------------------------------------
    def taken(self, scope: str, objects: Iterable[ObjectInfo], reannounce_after: float) -> dict[tuple[str, str], str]:
        """State of each key of ``objects`` that must not be announced: claimed, done, or announced recently."""
        objects = list(objects)
        wanted = {o.key for o in objects}
        fresh_after = datetime.now(UTC) - timedelta(seconds=reannounce_after)
        taken: dict[tuple[str, str], str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted({o.path for o in objects})):
                rows = conn.execute(sa.select(claims_t.c.path, claims_t.c.version, claims_t.c.state,
                                              claims_t.c.announced_at)
                                    .where(claims_t.c.scope == scope, claims_t.c.path.in_(chunk)))
                for r in rows:
                    if (r.path, r.version) not in wanted:
                        continue
                    if r.state != ANNOUNCED or _aware(r.announced_at) > fresh_after:
                        taken[(r.path, r.version)] = r.state
        return taken

    def batch(self, scope: str, batch_id: str) -> list[ObjectInfo]:
        with self.engine.connect() as conn:
            return self._batch(conn, scope, batch_id)

    def claims(self, scope: str) -> list[Claim]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(claims_t).where(claims_t.c.scope == scope)
                                .order_by(claims_t.c.path, claims_t.c.version)).all()
        return [Claim(scope, _row_object(r), r.state, r.batch_id) for r in rows]

    @staticmethod
    def _batch(conn: sa.Connection, scope: str, batch_id: str) -> list[ObjectInfo]:
        rows = conn.execute(sa.select(claims_t).where(claims_t.c.scope == scope, claims_t.c.batch_id == batch_id)
                            .order_by(claims_t.c.path, claims_t.c.version)).all()
        return [_row_object(r) for r in rows]

    # -- writing ---------------------------------------------------------------------------
    def announce(self, scope: str, objects: Iterable[ObjectInfo], event_id: str) -> list[ObjectInfo]:
        """Record that event ``event_id`` announces ``objects``; returns those still unclaimed.

        Stale announcements are taken over (the earlier event was lost); claimed objects are
        left alone and dropped from the result, so an event never names someone else's object.
        """
        objects = sorted(set(objects))
        if not objects:
            return []
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            self._insert_absent(conn, scope, objects, {"state": ANNOUNCED, "event_id": event_id,
                                                       "announced_at": now})
            self._update_announced(conn, scope, objects, {"event_id": event_id, "announced_at": now})
            ours = self._rows_for(conn, scope, objects)
        return [o for o in objects if ours.get(o.key) == (ANNOUNCED, event_id)]

    def claim(self, scope: str, objects: Iterable[ObjectInfo], batch_id: str) -> list[ObjectInfo]:
        """Atomically give every unclaimed object among ``objects`` to ``batch_id``.

        Returns everything the batch owns. A batch that already owns objects (a retry, a
        restarted trigger) gets exactly those back and claims nothing new.
        """
        objects = sorted(set(objects))  # one lock order for every claimant: no deadlock between them
        with self.engine.begin() as conn:
            existing = self._batch(conn, scope, batch_id)
            if existing or not objects:
                return existing
            now = datetime.now(UTC)
            self._insert_absent(conn, scope, objects, {"state": CLAIMED, "batch_id": batch_id, "claimed_at": now})
            # announced (not yet claimed) rows: the first claimant's UPDATE wins the row lock, later ones
            # re-check ``state`` after it commits and match nothing
            self._update_announced(conn, scope, objects, {"state": CLAIMED, "batch_id": batch_id,
                                                          "claimed_at": now})
            return self._batch(conn, scope, batch_id)

    def mark_done(self, scope: str, batch_id: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(claims_t.update().where(claims_t.c.scope == scope,
                                                            claims_t.c.batch_id == batch_id)
                                    .values(state=DONE)).rowcount)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _update_announced(conn: sa.Connection, scope: str, objects: Sequence[ObjectInfo],
                          values: dict[str, Any]) -> None:
        key = sa.tuple_(claims_t.c.path, claims_t.c.version)
        for chunk in _chunks(objects):
            conn.execute(claims_t.update().where(claims_t.c.scope == scope, claims_t.c.state == ANNOUNCED,
                                                 key.in_([o.key for o in chunk])).values(**values))

    def _insert_absent(self, conn: sa.Connection, scope: str, objects: Sequence[ObjectInfo],
                       values: dict[str, Any]) -> None:
        """INSERT … ON CONFLICT DO NOTHING: concurrent inserts of one key leave exactly one row."""
        for chunk in _chunks(objects):
            rows = [{"scope": scope, "path": o.path, "version": o.version, "size": o.size, "mtime": o.mtime,
                     "etag": o.etag, "event_id": None, "announced_at": None, "batch_id": None, "claimed_at": None,
                     **values} for o in chunk]
            conn.execute(self._insert(claims_t).values(rows).on_conflict_do_nothing(
                index_elements=["scope", "path", "version"]))

    @staticmethod
    def _rows_for(conn: sa.Connection, scope: str, objects: Sequence[ObjectInfo]) -> dict[tuple[str, str], tuple]:
        found: dict[tuple[str, str], tuple] = {}
        for chunk in _chunks(sorted({o.path for o in objects})):
            for r in conn.execute(sa.select(claims_t.c.path, claims_t.c.version, claims_t.c.state,
                                            claims_t.c.event_id)
                                  .where(claims_t.c.scope == scope, claims_t.c.path.in_(chunk))):
                found[(r.path, r.version)] = (r.state, r.event_id)
        return found


def _aware(value: datetime | None) -> datetime:
    """SQLite returns naive datetimes for timezone=True columns; they were written in UTC."""
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def task_batch_id(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """Claim batch of one sensor task instance: stable across its retries and trigger restarts.

    Long ids are shortened with a digest instead of being cut, so two tasks never share a batch.
    """
    import hashlib
    import re

    raw = f"{dag_id}.{task_id}.{run_id}" + (f".{map_index}" if map_index >= 0 else "")
    cleaned = re.sub(r"[^A-Za-z0-9_.=-]+", "_", raw)
    if len(cleaned) <= 200:
        return cleaned
    return cleaned[:150] + "-" + hashlib.sha256(raw.encode()).hexdigest()[:32]
