"""Per-table writer locks: a second writer queues, a dead holder never blocks for good, on SQLite and Postgres.

Also the SQL catalog's swap: bookkeeping on the catalog database is part of the swap's
transaction (a failing write leaves the table as it was).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lakeglue.catalog.base import SqlWrite
from lakeglue.catalog.sql import SqlCatalog, engine_for
from lakeglue.jobs.locks import WriterLockTimeout, lock_holder, locks_t, writer_lock
from tests.support.catalog_contract import DB, make_partition, make_table
from tests.support.postgres import throwaway_catalog_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    with throwaway_catalog_url() as url:
        yield url


def test_second_writer_waits_until_the_first_releases(url: str) -> None:
    held, order = threading.Event(), []

    def first() -> None:
        with writer_lock(url, "shop_silver.orders"):
            held.set()
            time.sleep(0.6)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    started = time.monotonic()
    with writer_lock(url, "shop_silver.orders", wait=10):
        order.append("second in")
        waited = time.monotonic() - started
    thread.join()
    assert order == ["first done", "second in"] and waited > 0.3
    with writer_lock(url, "shop_silver.customers", wait=0.5):  # another table's lock is independent
        pass


def test_a_writer_that_waits_too_long_is_told_who_holds_the_lock(url: str) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with writer_lock(url, "shop_bronze.orders"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(WriterLockTimeout, match=rf"'shop_bronze.orders' is still held by pid {os.getpid()}"), \
                writer_lock(url, "shop_bronze.orders", wait=0.3):
            pass
    finally:
        release.set()
        thread.join()
    assert lock_holder(url, "shop_bronze.orders") is None


def test_the_same_thread_may_take_a_lock_it_holds(url: str) -> None:
    with writer_lock(url, "t"), writer_lock(url, "t", wait=0.2):
        pass


def _hold_and_die(url: str, name: str, ready: Any) -> None:
    with writer_lock(url, name):
        ready.set()
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_holder_does_not_block_the_table(url: str) -> None:
    mp = multiprocessing.get_context("spawn")
    ready = mp.Event()
    proc = mp.Process(target=_hold_and_die, args=(url, "shop_gold.revenue", ready))
    proc.start()
    assert ready.wait(30)
    proc.join(10)
    assert proc.exitcode == -signal.SIGKILL
    started = time.monotonic()
    with writer_lock(url, "shop_gold.revenue", wait=10, ttl=60):  # far less than the ttl
        assert time.monotonic() - started < 5


def test_sqlite_lock_of_another_machine_is_taken_only_once_expired(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with writer_lock(url, "warmup"):  # creates the lock table
        pass
    engine = engine_for(url)
    now = time.time()
    with engine.begin() as conn:
        conn.execute(locks_t.insert(), [
            {"name": "live", "owner": "x", "host": "worker-7/1", "pid": 1, "acquired_at": now, "expires_at": now + 30},
            {"name": "expired", "owner": "y", "host": "worker-7/1", "pid": 1, "acquired_at": now - 90,
             "expires_at": now - 1}])
    with pytest.raises(WriterLockTimeout, match="pid 1 on worker-7/1"), writer_lock(url, "live", wait=0.3):
        pass
    with writer_lock(url, "expired", wait=1):
        holder = lock_holder(url, "expired")
        assert holder is not None and holder.pid == os.getpid()
    assert lock_holder(url, "expired") is None


def test_sqlite_heartbeat_keeps_a_long_write_locked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with writer_lock(url, "long", ttl=0.4):
        time.sleep(1.0)  # more than twice the ttl: only the heartbeat keeps the row alive
        with engine_for(url).connect() as conn:
            expires = conn.execute(sa.select(locks_t.c.expires_at).where(locks_t.c.name == "long")).scalar_one()
        assert expires > time.time()


def test_sql_swap_rolls_back_the_table_when_its_bookkeeping_fails(tmp_path: Path) -> None:
    catalog = SqlCatalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    catalog.ensure_database(DB)
    catalog.swap_table(make_table(), [make_partition(make_table(), "2026-11-01")], expected_version=0)

    def broken(conn: Any) -> None:
        raise RuntimeError("bookkeeping failed")

    with pytest.raises(RuntimeError, match="bookkeeping failed"):
        catalog.swap_table(make_table(writer="new"), [make_partition(make_table(), "2026-11-02")],
                           expected_version=1, writes=[SqlWrite(catalog.url, broken, "broken")])
    assert catalog.get_table(DB, "orders").version == 1
    assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-01",)]
    assert [v.version for v in catalog.get_table_versions(DB, "orders")] == [1]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_every_job_of_both_engines_writes_under_its_tables_locks(engine: str, tmp_path: Path) -> None:
    """Each engine's bronze/silver/gold entry waits for a table lock another run holds."""
    import importlib

    from lakeglue.jobs.context import JobContext
    from lakeglue.ledger import Ledger
    from lakeglue.pipelines import load_pipeline
    from lakeglue.settings import Settings
    from lakeglue.storage import Lake

    settings = Settings(lake_root=str(tmp_path / "lake"))
    spec = load_pipeline("ecommerce")
    ctx = JobContext(spec=spec, settings=settings, lake=Lake(settings), catalog=SqlCatalog(settings.catalog_url),
                     ledger=Ledger(settings.catalog_url), batch_id="b1")
    for layer in ("bronze", "silver", "gold"):
        run = getattr(importlib.import_module(f"lakeglue.jobs.{engine}.{layer}"), f"run_{layer}")
        table = sorted(getattr(spec, layer))[0]
        held, release = threading.Event(), threading.Event()

        def other_run(lock: str = f"{spec.database_for(layer)}.{table}", held: threading.Event = held,
                      release: threading.Event = release) -> None:
            with writer_lock(settings.catalog_url, lock):
                held.set()
                release.wait(10)

        thread = threading.Thread(target=other_run)
        thread.start()
        held.wait(5)
        try:
            with pytest.raises(WriterLockTimeout, match=f"{spec.database_for(layer)}.{table}"), \
                    _short_waits():
                run(None, ctx)  # never reaches the engine: it queues behind the other run first
        finally:
            release.set()
            thread.join()


@contextmanager
def _short_waits() -> Iterator[None]:
    from lakeglue.jobs import locks

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(locks, "DEFAULT_WAIT_S", 0.3)
        yield
