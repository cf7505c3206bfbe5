"""JDBC high-water-mark ranges: a batch's range counts only once its batch committed, so a failed
batch's rows are read again by the next one instead of being skipped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from lakeglue.jobs import locks
from lakeglue.jobs.bookmarks import Bookmarks, bookmarks_t
from lakeglue.jobs.locks import TableWrite

SOURCE = "crm/accounts"


@contextmanager
def bronze_job(url: str) -> Iterator[TableWrite]:
    """What a bronze job holds while it runs: the table's lock and its pending write."""
    write = TableWrite("crm_bronze", "accounts", 0, source=SOURCE)
    token = locks._ACTIVE.set({("crm_bronze", "accounts"): write})
    try:
        with locks.writer_lock(url, "crm_bronze.accounts"):
            yield write
    finally:
        locks._ACTIVE.reset(token)


def commit(marks: Bookmarks, write: TableWrite) -> None:
    with marks.engine.begin() as conn:
        for pending in write.pending:
            pending.apply(conn)


def test_a_failed_batch_range_is_read_again_by_the_next_batch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    marks = Bookmarks(url)
    with bronze_job(url) as job:
        assert marks.range_for(SOURCE, "b1", "updated_at", lambda: "10").high == "10"
        commit(marks, job)
    with bronze_job(url):  # b2 fails: its range is never committed
        window = marks.range_for(SOURCE, "b2", "updated_at", lambda: "20")
        assert (window.low, window.high) == ("10", "20")
    assert [r[3] for r in marks.ranges(SOURCE)] == ["done", "claimed"]
    with bronze_job(url) as job:
        window = marks.range_for(SOURCE, "b3", "updated_at", lambda: "25")
        assert (window.low, window.high) == ("10", "25")  # b2's rows (10, 20] are not skipped
        commit(marks, job)
    assert [(b, low, high, state) for b, low, high, state in marks.ranges(SOURCE)] == [
        ("b1", None, "10", "done"), ("b3", "10", "25", "done")]
    # outside a job (no writer lock held by the caller) a range is taken under its own lock, committed
    assert (marks.range_for(SOURCE, "manual", "updated_at", lambda: "30").low, marks.ranges(SOURCE)[-1][3]) == (
        "25", "done")


def test_a_retried_batch_reads_its_own_range_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    marks = Bookmarks(url)
    with bronze_job(url):
        first = marks.range_for(SOURCE, "b1", "updated_at", lambda: "10")
    with bronze_job(url) as job:
        assert marks.range_for(SOURCE, "b1", "updated_at", lambda: "99") == first
        commit(marks, job)
    assert marks.ranges(SOURCE) == [("b1", None, "10", "done")]


def test_ranges_of_a_database_from_before_range_states_count_as_committed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with old.begin() as conn:
        conn.execute(sa.text("CREATE TABLE lg_job_bookmarks (source VARCHAR(255) NOT NULL, batch_id VARCHAR(255) "
                             "NOT NULL, column_name VARCHAR(255) NOT NULL, low VARCHAR(255), high VARCHAR(255), "
                             "created_at DATETIME NOT NULL, PRIMARY KEY (source, batch_id))"))
        conn.execute(sa.text("INSERT INTO lg_job_bookmarks VALUES ('crm/accounts', 'b0', 'updated_at', NULL, '7', "
                             "'2026-11-01 00:00:00')"))
    old.dispose()
    marks = Bookmarks(url)
    assert "state" in {c["name"] for c in sa.inspect(marks.engine).get_columns(bookmarks_t.name)}
    with bronze_job(url):
        assert marks.range_for(SOURCE, "b1", "updated_at", lambda: "9").low == "7"
