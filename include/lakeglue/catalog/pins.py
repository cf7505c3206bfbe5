"""Version pins: a reader records the table versions it plans from, so retention cannot delete them under it.

A silver/gold job or a query resolves a table to its current version (a ``v-`` directory, or
the partitions' ``a-`` directories) and then reads those files for seconds or hours. If the
table is rewritten meanwhile, the version being read becomes "superseded"; the retention
expirer (:mod:`lakeglue.storage.retention`) must then leave its data alone until the reader
is done. A pin row says: run ``run_id`` reads ``database.name`` at ``version``, whose data is
at ``locations``, until ``expires_at``. Readers release their pins when they finish; the
expiry only matters for a reader that crashed without releasing (its pin then lapses after
``pin_ttl_hours``, and the data becomes eligible for retention again).

The locations are recorded, not just the version number, because the catalog archives a
table's definition per version but not its partition set: once a bronze table's batch
partition moved to a new attempt directory, only the pin still knows where the old one was.

The pin table lives in the catalog database (like the ledger and bookmarks) but with its own
metadata, created on first use, so the catalog schema and its migrations are not involved.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lakeglue.catalog.base import EntityNotFound, data_locations

if TYPE_CHECKING:
    from lakeglue.catalog.base import Catalog
    from lakeglue.catalog.model import Table
    from lakeglue.pipelines.spec import PipelineSpec
    from lakeglue.settings import Settings

pin_metadata = sa.MetaData()
pins_t = sa.Table(
    "lg_version_pins", pin_metadata,
    sa.Column("pin_id", sa.String(36), primary_key=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("database", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    #: JSON list of the version's data locations (table location and partition locations).
    sa.Column("locations", sa.Text, nullable=False),
    sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lg_version_pins_expires_at", "expires_at"),
)


_CREATED: set[str] = set()
_PIN_ENGINES: dict[str, sa.Engine] = {}


def pin_engine(url: str) -> sa.Engine:
    """The engine pins are written with: the catalog's, except a SQLite file gets its own with ``synchronous=NORMAL``.

    Why: every query pins and releases its tables, and with SQLite's default ``FULL`` each of
    those two commits waits for an fsync (~4 ms each, a fifth of a small query's fixed cost).
    In WAL mode ``NORMAL`` still makes a commit visible to every other connection at once (the
    retention expirer sees the pin) and never corrupts the file; only an OS crash or power loss
    can lose the last commits, and such a loss also ends the reader the pin protected. The
    catalog's own writes keep the default durability (their engine is not this one).
    """
    from lakeglue.catalog.sql import engine_for

    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return engine_for(url)
    if url not in _PIN_ENGINES:
        engine_for(url)  # creates the catalog file's folder, as the catalog does
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: object, _record: object) -> None:
            cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        _PIN_ENGINES[url] = engine
    return _PIN_ENGINES[url]


@dataclass(frozen=True)
class Pin:
    """One reader's claim on one table version."""

    pin_id: str
    run_id: str
    database: str
    name: str
    version: int
    locations: tuple[str, ...]
    pinned_at: datetime
    expires_at: datetime


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class VersionPins:
    """The pin table of one catalog database."""

    def __init__(self, url: str) -> None:
        if not url:
            raise ValueError("version pins need the catalog database URL (LAKEGLUE_CATALOG_URL)")
        self.engine = pin_engine(url)
        if url not in _CREATED:  # once per process: readers pin on every query
            pin_metadata.create_all(self.engine)
            _CREATED.add(url)

    def pin(self, run_id: str, catalog: Catalog, tables: Iterable[tuple[str, str] | Table],
            ttl: timedelta, now: datetime | None = None) -> list[Pin]:
        """Pin the current version of each table (``(database, name)`` or a catalog Table read by the
        caller); tables that do not exist yet are skipped (nothing to protect)."""
        now = now or datetime.now(UTC)
        pins: list[Pin] = []
        seen: set[tuple[str, str]] = set()
        for item in tables:
            database, name = item if isinstance(item, tuple) else (item.database, item.name)
            if (database, name) in seen:
                continue
            seen.add((database, name))
            try:
                table = item if not isinstance(item, tuple) else catalog.get_table(database, name)
                # an unpartitioned table's data is at its location: no second catalog read for it
                data = (data_locations(catalog, database, name) if table.partition_keys else [])
                locations = tuple(dict.fromkeys([table.location, *data]))
            except EntityNotFound:
                continue
            pins.append(Pin(str(uuid.uuid4()), run_id, database, name, table.version,
                            tuple(loc for loc in locations if loc), now, now + ttl))
        if pins:
            with self.engine.begin() as conn:
                conn.execute(pins_t.insert(), [
                    {"pin_id": p.pin_id, "run_id": p.run_id, "database": p.database, "name": p.name,
                     "version": p.version, "locations": json.dumps(list(p.locations)), "pinned_at": p.pinned_at,
                     "expires_at": p.expires_at} for p in pins])
        return pins

    def release(self, pins: Sequence[Pin]) -> None:
        if pins:
            with self.engine.begin() as conn:
                conn.execute(pins_t.delete().where(pins_t.c.pin_id.in_([p.pin_id for p in pins])))

    def active(self, now: datetime | None = None) -> list[Pin]:
        """Pins not yet expired, oldest first."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(pins_t).where(pins_t.c.expires_at > now)
                                .order_by(pins_t.c.pinned_at)).all()
        return [Pin(r.pin_id, r.run_id, r.database, r.name, r.version, tuple(json.loads(r.locations)),
                    _aware(r.pinned_at), _aware(r.expires_at)) for r in rows]

    def purge_expired(self, now: datetime | None = None) -> int:
        """Drop pins past their expiry (left by readers that died); returns how many."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            return int(conn.execute(pins_t.delete().where(pins_t.c.expires_at <= now)).rowcount or 0)


@contextmanager
def pinned(catalog: Catalog, settings: Settings, run_id: str,
           tables: Iterable[tuple[str, str] | Table]) -> Iterator[list[Pin]]:
    """Pin ``tables`` at their current versions for the duration of the ``with`` block.

    Without a catalog database URL (an aws lake whose catalog is Glue only) there is nowhere
    to keep pins: nothing is pinned, and retention then relies on ``retention_days`` alone.
    """
    if not settings.catalog_url:
        yield []
        return
    pins_db = VersionPins(settings.catalog_url)
    pins = pins_db.pin(run_id, catalog, tables, timedelta(hours=settings.pin_ttl_hours))
    try:
        yield pins
    finally:
        pins_db.release(pins)


def job_inputs(spec: PipelineSpec, job: str) -> list[tuple[str, str]]:
    """The catalog tables a job reads: silver reads its bronze sources, gold the tables its SQL names."""
    if job == "silver":
        bronze_db = spec.database_for("bronze")
        return [(bronze_db, ts.from_) for ts in spec.silver.values()]
    if job == "gold":
        from lakeglue.settings import SQL_DIR
        from lakeglue.sql_dialect import referenced_tables

        silver_db = spec.database_for("silver")
        found: list[tuple[str, str]] = []
        for table_spec in spec.gold.values():
            found.extend((db or silver_db, name) for db, name in referenced_tables((SQL_DIR / table_spec.sql)
                                                                                   .read_text()))
        return found
    return []  # bronze reads raw files, which retention does not manage


@contextmanager
def pinned_job_inputs(catalog: Catalog, settings: Settings, spec: PipelineSpec, job: str,
                      run_id: str) -> Iterator[list[Pin]]:
    """The one call a job entry point makes: its input tables stay pinned while the job runs."""
    with pinned(catalog, settings, f"{spec.name}/{job}/{run_id}", job_inputs(spec, job)) as pins:
        yield pins
