"""Sandboxed DuckDB databases kept between the queries of one process, and the views of files already described.

Why: opening an in-memory DuckDB database, configuring it, DESCRIBE-ing each table's files
and creating its views cost 15-20 ms of CPU per query, as much as a small query itself
(bench/query.py, TPC-H Q2/Q11/Q22). Two caches remove that without loosening the sandbox:

- the **view SQL** of a table is kept per (catalog columns, reader SQL, files with size and
  mtime): a table whose files did not change is not DESCRIBE-d again;
- a **sandboxed database** is kept after a successful query and reused only by a query whose
  sandbox is exactly the same — the same views over the same files, the same allowed
  directories and settings. Its configuration stays locked (``lock_configuration``), so the
  reuse cannot widen what it may read; it is taken out of the pool while a query uses it
  (one query at a time), a failed query's database is closed instead, and a forked child
  never touches its parent's databases.

Raw text tables are never cached: their views count unparsed values on per-query sequences.

A query whose sandbox is new still needs a new database, and opening one is DuckDB building its
function catalog (~13 ms, the largest fixed cost left per TPC-H query). :func:`fresh` hands out an
*empty* database opened in the background after the previous call (DuckDB releases the GIL while
it opens, so this overlaps the next query's translation and binding on the other core), and
:func:`close_later` closes a used one there too. The spare holds nothing: the caller configures and
locks it exactly as a database it opened itself, so nothing about the sandbox changes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from lakeglue.query.duckdb_tables import TableFiles

#: Idle databases kept per process; each is bounded by the query memory limit and holds no tables.
POOL_SIZE = 4
#: An idle database older than this is closed instead of reused (a long-lived process gives memory back).
IDLE_SECONDS = 300.0
#: View SQL strings kept per process.
VIEW_CACHE_SIZE = 512

_lock = threading.Lock()
_idle: OrderedDict[Hashable, tuple[duckdb.DuckDBPyConnection, float]] = OrderedDict()
_views: OrderedDict[Hashable, str] = OrderedDict()
_pid = os.getpid()
#: Empty databases being opened in the background, per configuration (one each), and the thread opening them.
_spares: dict[Hashable, Future[duckdb.DuckDBPyConnection]] = {}
_background: ThreadPoolExecutor | None = None
#: Configurations a spare is kept for (the query layer uses one or two per process).
SPARE_CONFIGS = 2
#: A forked child's copies of its parent's databases: kept referenced, never used or closed (their
#: threads do not exist in the child, so closing them there is not safe).
_abandoned: list[object] = []


def view_key(tf: TableFiles, reader: str) -> Hashable:
    """What a table's view depends on: its catalog columns and the files it reads, as they are now."""
    files = tuple((path, size, os.stat(path).st_mtime_ns) for path, size in tf.files)
    columns = tuple((c.name, c.type) for c in tf.table.all_columns())
    return (tf.table.qualified_name, tf.table.classification, columns, reader, files)


def cached_view(key: Hashable) -> str | None:
    with _lock:
        _forget_parent()
        found = _views.get(key)
        if found is not None:
            _views.move_to_end(key)
        return found


def remember_view(key: Hashable, sql: str) -> None:
    with _lock:
        _views[key] = sql
        while len(_views) > VIEW_CACHE_SIZE:
            _views.popitem(last=False)


def take(key: Hashable) -> duckdb.DuckDBPyConnection | None:
    """An idle database with exactly this sandbox, now the caller's alone; None when there is none."""
    with _lock:
        _forget_parent()
        _close_stale(time.monotonic())
        entry = _idle.pop(key, None)
    return entry[0] if entry is not None else None


def give_back(key: Hashable, con: duckdb.DuckDBPyConnection) -> None:
    """Keep ``con`` for the next query with the same sandbox (the oldest idle one is closed past POOL_SIZE)."""
    closing = []
    with _lock:
        _forget_parent()
        previous = _idle.pop(key, None)
        if previous is not None:
            closing.append(previous[0])
        _idle[key] = (con, time.monotonic())
        while len(_idle) > POOL_SIZE:
            closing.append(_idle.popitem(last=False)[1][0])
    for old in closing:
        close_later(old)


def fresh(config: Mapping[str, str | int]) -> duckdb.DuckDBPyConnection:
    """An empty in-memory database opened with ``config``, the caller's alone; the next one starts opening.

    The database is the one the background opened after the previous call with this config when
    there is one (else it is opened now); if that open failed, it is opened again here so the
    caller gets DuckDB's own error.
    """
    import duckdb

    key = tuple(sorted(config.items()))
    with _lock:
        _forget_parent()
        pending = _spares.pop(key, None)
        while len(_spares) >= SPARE_CONFIGS:
            _abandon(_spares.pop(next(iter(_spares))))
    con = None
    if pending is not None:
        try:
            con = pending.result()
        except Exception:  # the open below raises the same error where the caller sees it
            con = None
    if con is None:
        con = duckdb.connect(":memory:", config=dict(config))
    with _lock:
        if key not in _spares and os.getpid() == _pid:
            _spares[key] = _executor().submit(duckdb.connect, ":memory:", config=dict(config))
    return con


def close_later(con: duckdb.DuckDBPyConnection) -> None:
    """Close ``con`` in the background thread (it releases its memory there); the caller no longer uses it."""
    with _lock:
        forked = os.getpid() != _pid
    if forked:
        con.close()
    else:
        _executor().submit(con.close)


def _executor() -> ThreadPoolExecutor:
    global _background
    if _background is None:
        _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakeglue-duckdb-open")
    return _background


def _abandon(pending: Future[duckdb.DuckDBPyConnection]) -> None:
    """Close a spare nobody will take, once it is open."""
    def close(done: Future[duckdb.DuckDBPyConnection]) -> None:
        if done.exception() is None:
            done.result().close()

    pending.add_done_callback(close)


def clear() -> None:
    """Close every idle database (tests, or a process that wants its memory back now)."""
    with _lock:
        idle = [con for con, _ in _idle.values()]
        _idle.clear()
        _views.clear()
        spares = list(_spares.values())
        _spares.clear()
    for con in idle:
        con.close()
    for pending in spares:
        _abandon(pending)


def _close_stale(now: float) -> None:
    for key in [k for k, (_, since) in _idle.items() if now - since > IDLE_SECONDS]:
        _idle.pop(key)[0].close()


def _forget_parent() -> None:
    """After a fork the parent's databases are not ours to use or close: drop the references."""
    global _pid, _background
    if os.getpid() != _pid:
        _abandoned.extend(con for con, _ in _idle.values())
        _abandoned.extend(_spares.values())
        _idle.clear()
        _spares.clear()
        _views.clear()
        _background = None  # its thread does not exist in the child
        _pid = os.getpid()
