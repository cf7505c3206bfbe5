"""Per-table writer locks, and the write a job makes to each table while it holds the lock.

Two runs of one pipeline may overlap (a scheduled run, an ``_on_new_files`` run, a manual
``lakeglue run``). Every bronze, silver and gold job of either engine therefore holds the
writer lock of each table it writes from plan to commit (:func:`holds_writer_locks`), so the
second run queues behind the first and plans from what the first committed:

* Postgres: a session-scoped ``pg_advisory_lock`` on a hash of the lock name, taken on a
  dedicated autocommit connection. Waiters queue in the server; a killed process's
  connection closes and the server releases its lock.
* SQLite: a row in ``lg_writer_locks`` (insert, or wait). The holder refreshes its expiry
  from a heartbeat thread; a row whose expiry has passed, or whose holder is a dead process
  of this machine, is taken over — a killed job never blocks the table for longer than
  ``ttl`` seconds.

The lock is the queue; correctness does not rest on it alone. When the job commits, the
catalog swap names the version the job planned from (:class:`TableWrite`), and the table,
its partitions and the job's bookkeeping (ledger states, consumed batches, JDBC ranges)
are written in one transaction (:mod:`lakeglue.jobs.commit`): a writer that lost its lock
(an expired SQLite row) gets a :class:`~lakeglue.catalog.base.ConcurrentModification`
instead of overwriting someone else's version.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from lakeglue.catalog.base import CatalogError, EntityNotFound, SqlWrite
from lakeglue.catalog.sql import engine_for

if TYPE_CHECKING:
    from lakeglue.catalog.base import Catalog
    from lakeglue.jobs.context import JobContext

log = logging.getLogger(__name__)

#: How long a SQLite lock row stays valid without a heartbeat (a killed holder blocks at most this long).
DEFAULT_TTL_S = 60.0
#: How long a job waits for a table another run is writing before it fails (None: forever).
DEFAULT_WAIT_S: float | None = 6 * 3600.0

locks_metadata = sa.MetaData()
locks_t = sa.Table(
    "lg_writer_locks", locks_metadata,
    sa.Column("name", sa.String(512), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


class WriterLockTimeout(CatalogError, TimeoutError):
    """Another run held the table's writer lock for longer than this job was willing to wait."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as far as the database knows (for messages and ``bookmark status``)."""

    name: str
    host: str
    pid: int | None
    since: float | None


def _host_identity() -> str:
    """This machine *and* PID namespace: a pid is only meaningful inside its namespace (containers)."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{namespace}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (Python's ``hash`` is salted per process)."""
    digest = hashlib.blake2b(f"lakeglue:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# Re-entrancy: a thread that already holds a lock (e.g. a JDBC range taken inside bronze) gets it again.
_HELD: dict[tuple[str, str, int], int] = {}
_HELD_GUARD = threading.Lock()


@contextmanager
def writer_lock(url: str, name: str, *, wait: float | None = DEFAULT_WAIT_S,
                ttl: float = DEFAULT_TTL_S) -> Iterator[None]:
    """Hold the writer lock ``name`` in the catalog database at ``url``; waits (queues) while another holds it."""
    key = (url, name, threading.get_ident())
    with _HELD_GUARD:
        reentered = key in _HELD
        if reentered:
            _HELD[key] += 1
    if reentered:
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD[key] -= 1
        return
    impl = _pg_lock if url.startswith("postgresql") else _row_lock
    with impl(url, name, wait, ttl):
        with _HELD_GUARD:
            _HELD[key] = 1
        try:
            yield
        finally:
            with _HELD_GUARD:
                del _HELD[key]


# -- Postgres: advisory locks -------------------------------------------------------------
_LOCK_ENGINES: dict[str, sa.Engine] = {}


def _lock_engine(url: str) -> sa.Engine:
    """Lock sessions live for a whole job, one per table: unpooled, so they never starve the job's pool."""
    if url not in _LOCK_ENGINES:
        _LOCK_ENGINES[url] = sa.create_engine(url, poolclass=sa.pool.NullPool)
    return _LOCK_ENGINES[url]


@contextmanager
def _pg_lock(url: str, name: str, wait: float | None, ttl: float) -> Iterator[None]:
    lock_key = advisory_key(name)
    conn = _lock_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        # who we are, for the message a waiter gets (pg_stat_activity only knows the server's pid)
        conn.execute(sa.text("SELECT set_config('application_name', :n, false)"),
                     {"n": f"lakeglue-lock {socket.gethostname()} {os.getpid()}"[:63]})
        conn.execute(sa.text(f"SET lock_timeout = {int(wait * 1000) if wait else 0}"))
        try:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
        except sa.exc.OperationalError as exc:
            holder = pg_lock_holder(url, name)
            raise WriterLockTimeout(
                f"writer lock {name!r} is still held by {_describe(holder)} after waiting {wait or 0:.1f}s; "
                "another run is writing this table") from exc
        conn.execute(sa.text("SET lock_timeout = 0"))
    except BaseException:
        conn.invalidate()  # never hand a connection in an unknown lock state back to the pool
        conn.close()
        raise
    try:
        yield
    finally:
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
        except sa.exc.DBAPIError:
            conn.invalidate()  # closing the session releases the lock anyway
        conn.close()


def pg_lock_holder(url: str, name: str) -> LockHolder | None:
    """The backend holding an advisory writer lock (``pg_locks`` splits the 64-bit key in two halves)."""
    unsigned = advisory_key(name) & 0xFFFFFFFFFFFFFFFF
    with engine_for(url).connect() as conn:
        row = conn.execute(sa.text(
            "SELECT a.pid, a.application_name, coalesce(a.client_hostname, host(a.client_addr), 'local') AS host, "
            "extract(epoch FROM a.backend_start) AS since FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"),
            {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}).first()
    if row is None:
        return None
    parts = str(row.application_name or "").split(" ")
    if len(parts) == 3 and parts[0] == "lakeglue-lock" and parts[2].isdigit():
        return LockHolder(name, parts[1], int(parts[2]), float(row.since))
    return LockHolder(name, f"{row.host} (server pid {row.pid})", None, float(row.since))


# -- SQLite (and any other SQL database): lock rows with a heartbeat ----------------------
def _ensure_lock_table(url: str) -> sa.Engine:
    engine = engine_for(url)
    locks_metadata.create_all(engine)
    return engine


def row_lock_holder(url: str, name: str) -> LockHolder | None:
    engine = _ensure_lock_table(url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(locks_t).where(locks_t.c.name == name)).first()
    return None if row is None else LockHolder(name, row.host, row.pid, row.acquired_at)


def _stale(row: Any, now: float, here: str) -> bool:
    """Expired, or held by a process of this machine that no longer exists."""
    return bool(row.expires_at < now or (row.host == here and not _process_alive(row.pid)))


def _try_take(engine: sa.Engine, name: str, owner: str, here: str, ttl: float) -> bool:
    now = time.time()
    values = {"owner": owner, "host": here, "pid": os.getpid(), "acquired_at": now, "expires_at": now + ttl}
    with engine.connect() as conn:
        row = conn.execute(sa.select(locks_t).where(locks_t.c.name == name)).first()
    try:
        with engine.begin() as conn:
            if row is None:
                conn.execute(locks_t.insert().values(name=name, **values))
                return True
            if _stale(row, now, here):  # compare-and-swap on the dead owner: one waiter wins
                log.warning("writer lock %r: taking over from %s (pid %s), whose lock %s", name, row.host, row.pid,
                            "expired" if row.expires_at < now else "outlived its process")
                return bool(conn.execute(locks_t.update().where(locks_t.c.name == name, locks_t.c.owner == row.owner)
                                         .values(**values)).rowcount == 1)
    except sa.exc.IntegrityError:
        return False  # another waiter inserted first
    return False


@contextmanager
def _row_lock(url: str, name: str, wait: float | None, ttl: float) -> Iterator[None]:
    engine = _ensure_lock_table(url)
    owner, here = uuid.uuid4().hex, _host_identity()
    deadline = None if wait is None else time.monotonic() + wait
    pause = 0.02
    while not _try_take(engine, name, owner, here, ttl):
        if deadline is not None and time.monotonic() > deadline:
            raise WriterLockTimeout(f"writer lock {name!r} is still held by {_describe(row_lock_holder(url, name))} "
                                    f"after waiting {wait or 0:.1f}s; another run is writing this table")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(ttl / 4):
            with engine.begin() as conn:
                kept = conn.execute(locks_t.update().where(locks_t.c.name == name, locks_t.c.owner == owner)
                                    .values(expires_at=time.time() + ttl)).rowcount
            if not kept:
                log.error("writer lock %r was taken over by another run (this one stalled for over %ss); "
                          "its commit will be refused if the table changed", name, ttl)
                return

    beat = threading.Thread(target=heartbeat, name=f"lakeglue-lock-{name}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        with engine.begin() as conn:
            conn.execute(locks_t.delete().where(locks_t.c.name == name, locks_t.c.owner == owner))


def _describe(holder: LockHolder | None) -> str:
    if holder is None:
        return "another process"
    since = "" if holder.since is None else time.strftime(" since %Y-%m-%d %H:%M:%SZ", time.gmtime(holder.since))
    who = holder.host if holder.pid is None else f"pid {holder.pid} on {holder.host}"
    return f"{who}{since}"


def lock_holder(url: str, name: str) -> LockHolder | None:
    return pg_lock_holder(url, name) if url.startswith("postgresql") else row_lock_holder(url, name)


# -- what a job writes under the lock -----------------------------------------------------
@dataclass
class TableWrite:
    """One table a job writes: the catalog version it plans from, and bookkeeping to commit with it.

    ``expected_version`` is 0 while the table does not exist. Plans refine it to the version
    they actually read; ``pending`` rows (ledger ``done`` states, consumed batches, JDBC
    ranges) are written by the catalog swap in the same transaction as the new version.
    """

    database: str
    name: str
    expected_version: int
    source: str | None = None
    pending: list[SqlWrite] = field(default_factory=list)
    committed: bool = False

    @property
    def lock_name(self) -> str:
        return f"{self.database}.{self.name}"


_ACTIVE: contextvars.ContextVar[dict[tuple[str, str], TableWrite] | None] = contextvars.ContextVar(
    "lakeglue_table_writes", default=None)


def active_write(database: str, name: str) -> TableWrite | None:
    """The write this job holds the lock for, if the table is one it writes."""
    writes = _ACTIVE.get()
    return None if writes is None else writes.get((database, name))


def active_write_for_source(source: str) -> TableWrite | None:
    """The bronze write reading ledger/bookmark ``source`` (JDBC ranges are committed with it)."""
    for write in (_ACTIVE.get() or {}).values():
        if write.source == source:
            return write
    return None


def current_version(catalog: Catalog, database: str, name: str) -> int:
    try:
        return catalog.get_table(database, name).version
    except EntityNotFound:
        return 0


def _layer_tables(ctx: JobContext, layer: str) -> list[str]:
    layers: dict[str, list[str]] = {"bronze": list(ctx.spec.bronze), "silver": list(ctx.spec.silver),
                                    "gold": list(ctx.spec.gold)}
    return sorted(layers[layer])


@contextmanager
def table_writers(ctx: JobContext, layer: str, *, wait: float | None = DEFAULT_WAIT_S,
                  ttl: float = DEFAULT_TTL_S) -> Iterator[dict[tuple[str, str], TableWrite]]:
    """Hold the writer locks of every ``layer`` table of the pipeline (in name order: no deadlock).

    A failing bronze job marks the files its batch claimed and did not commit as ``failed``,
    with the error, so the next run takes them again (see docs/events.md).
    """
    database = ctx.spec.database_for(layer)
    tables = _layer_tables(ctx, layer)
    url = ctx.settings.catalog_url
    with ExitStack() as stack:
        for table in tables:
            started = time.monotonic()
            stack.enter_context(writer_lock(url, f"{database}.{table}", wait=wait, ttl=ttl))
            if time.monotonic() - started > 1:
                log.info("%s.%s: waited %.1fs for another run's write to finish", database, table,
                         time.monotonic() - started)
        writes = {(database, t): TableWrite(database, t, current_version(ctx.catalog, database, t),
                                            source=ctx.spec.source_key(t) if layer == "bronze" else None)
                  for t in tables}
        token = _ACTIVE.set(writes)
        try:
            yield writes
        except BaseException as exc:
            if layer == "bronze":
                _mark_failed(ctx, writes, exc)
            raise
        finally:
            _ACTIVE.reset(token)


def _mark_failed(ctx: JobContext, writes: dict[tuple[str, str], TableWrite], exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"
    for write in writes.values():
        if write.source is None or write.committed:
            continue
        try:
            failed = ctx.ledger.mark_failed(write.source, ctx.batch_id, error)
        except Exception:  # the job's own error is what must surface; the next run re-takes claimed files too
            log.exception("could not mark the files of batch %s of %s failed", ctx.batch_id, write.source)
            continue
        if failed:
            log.warning("%s: %d files of batch %s marked failed; the next run takes them again",
                        write.source, failed, ctx.batch_id)


F = TypeVar("F", bound=Callable[..., Any])


def holds_writer_locks(layer: str) -> Callable[[F], F]:
    """Decorate an engine's ``run_<layer>(handle, ctx)`` so it runs under the layer's writer locks."""
    def decorate(run: F) -> F:
        @functools.wraps(run)
        def locked(handle: Any, ctx: JobContext, *args: Any, **kwargs: Any) -> Any:
            with table_writers(ctx, layer, wait=DEFAULT_WAIT_S):  # read now: tests and operators may change it
                return run(handle, ctx, *args, **kwargs)
        return locked  # type: ignore[return-value]
    return decorate
