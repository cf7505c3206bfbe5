"""The ingestion ledger: what is new, who claimed it, and that a retried batch sees the same files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lakeglue.ledger import CLAIMED, DONE, FAILED, NEW, Ledger, LedgerEntry
from lakeglue.storage.zones import FileInfo

SOURCE = "ecommerce/orders"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'catalog.db'}")


def f(name: str, size: int = 100, mtime: float = 1_700_000_000.5) -> FileInfo:
    return FileInfo(f"/lake/raw/ecommerce/orders/{name}", size, mtime)


def paths(entries: list[LedgerEntry] | list[FileInfo]) -> list[str]:
    return [e.path.rsplit("/", 1)[1] for e in entries]


def test_record_seen_returns_new_then_nothing(ledger: Ledger) -> None:
    assert ledger.record_seen(SOURCE, [f("a.json"), f("b.json")]) == [f("a.json"), f("b.json")]
    assert ledger.record_seen(SOURCE, [f("a.json"), f("b.json")]) == []
    assert ledger.record_seen(SOURCE, []) == []
    entries = ledger.entries(SOURCE)
    assert [(e.path, e.size, e.mtime, e.batch_id, e.state) for e in entries] == [
        ("/lake/raw/ecommerce/orders/a.json", 100, 1_700_000_000.5, None, NEW),
        ("/lake/raw/ecommerce/orders/b.json", 100, 1_700_000_000.5, None, NEW),
    ]


def test_record_seen_detects_changed_size_or_mtime(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json"), f("c.json")])
    seen = ledger.record_seen(SOURCE, [f("a.json", size=120), f("b.json", mtime=1_800_000_000.0), f("c.json"),
                                       f("d.json")])
    assert paths(seen) == ["d.json", "a.json", "b.json"]  # fresh first, then changed
    by_name = {e.path.rsplit("/", 1)[1]: (e.size, e.mtime) for e in ledger.entries(SOURCE)}
    assert by_name == {"a.json": (120, 1_700_000_000.5), "b.json": (100, 1_800_000_000.0),
                       "c.json": (100, 1_700_000_000.5), "d.json": (100, 1_700_000_000.5)}


def test_sources_are_independent(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json")])
    assert ledger.record_seen("ecommerce/customers", [f("a.json")]) == [f("a.json")]
    assert paths(ledger.entries("ecommerce/customers")) == ["a.json"]
    assert ledger.claim("ecommerce/customers", "b1") != []
    assert [e.state for e in ledger.entries(SOURCE)] == [NEW]


def test_claim_gives_new_files_to_one_batch(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json")])
    batch = ledger.claim(SOURCE, "2026-11-01T03:00")
    assert [(p, e.batch_id, e.state) for p, e in zip(paths(batch), batch, strict=True)] == [
        ("a.json", "2026-11-01T03:00", CLAIMED), ("b.json", "2026-11-01T03:00", CLAIMED)]
    assert ledger.entries(SOURCE, state=NEW) == []
    assert ledger.batch(SOURCE, "2026-11-01T03:00") == batch


def test_claim_is_idempotent_per_batch_id(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json")])
    first = ledger.claim(SOURCE, "b1")
    again = ledger.claim(SOURCE, "b1")  # a retried task
    assert again == first
    assert paths(again) == ["a.json", "b.json"]


def test_retried_batch_does_not_absorb_files_that_arrived_later(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json")])
    assert paths(ledger.claim(SOURCE, "b1")) == ["a.json"]
    ledger.record_seen(SOURCE, [f("a.json"), f("late.json")])
    assert paths(ledger.claim(SOURCE, "b1")) == ["a.json"]
    assert paths(ledger.entries(SOURCE, state=NEW)) == ["late.json"]


def test_second_batch_gets_only_new_files(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json")])
    ledger.claim(SOURCE, "b1")
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json"), f("c.json")])
    assert paths(ledger.claim(SOURCE, "b2")) == ["c.json"]
    assert paths(ledger.batch(SOURCE, "b1")) == ["a.json", "b.json"]
    assert ledger.claim(SOURCE, "b3") == []


def test_claim_only_given_paths(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json"), f("c.json")])
    batch = ledger.claim(SOURCE, "b1", paths=[f("b.json").path])
    assert paths(batch) == ["b.json"]
    assert paths(ledger.entries(SOURCE, state=NEW)) == ["a.json", "c.json"]


def test_concurrent_claims_never_share_a_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    files = [f(f"part-{i:03d}.json") for i in range(200)]
    Ledger(url).record_seen(SOURCE, files)
    claimed: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claim(batch_id: str) -> None:
        ledger = Ledger(url)
        barrier.wait()
        claimed[batch_id] = [e.path for e in ledger.claim(SOURCE, batch_id)]

    threads = [threading.Thread(target=claim, args=(f"b{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    all_claimed = [p for batch in claimed.values() for p in batch]
    assert sorted(all_claimed) == sorted(x.path for x in files)  # each file exactly once
    assert len(all_claimed) == len(set(all_claimed))


def test_mark_done_and_changed_file_comes_back(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json")])
    ledger.claim(SOURCE, "b1")
    assert ledger.mark_done(SOURCE, "b1") == 2
    assert [e.state for e in ledger.entries(SOURCE)] == [DONE, DONE]
    assert ledger.claim(SOURCE, "b2") == []
    ledger.record_seen(SOURCE, [f("a.json", size=101), f("b.json")])  # a.json rewritten upstream
    entries = {p: (e.state, e.batch_id) for p, e in zip(paths(ledger.entries(SOURCE)), ledger.entries(SOURCE),
                                                        strict=True)}
    assert entries == {"a.json": (NEW, None), "b.json": (DONE, "b1")}
    assert paths(ledger.claim(SOURCE, "b2")) == ["a.json"]


def test_reset_makes_everything_new_again(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json")])
    ledger.claim(SOURCE, "b1")
    ledger.mark_done(SOURCE, "b1")
    ledger.record_seen("ecommerce/customers", [f("x.csv")])
    ledger.claim("ecommerce/customers", "c1")

    assert ledger.reset(SOURCE) == 2
    assert [(e.state, e.batch_id) for e in ledger.entries(SOURCE)] == [(NEW, None), (NEW, None)]
    assert [(e.state, e.batch_id) for e in ledger.entries("ecommerce/customers")] == [(CLAIMED, "c1")]
    assert ledger.record_seen(SOURCE, [f("a.json"), f("b.json")]) == []  # reset is not "unseen"
    assert paths(ledger.claim(SOURCE, "b2")) == ["a.json", "b.json"]
    assert ledger.reset("nothing/here") == 0


# -- claims never get stuck ----------------------------------------------------------------------
def test_a_failed_batch_keeps_its_files_for_its_retry(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json")])
    ledger.claim(SOURCE, "b1", take_stale=True)
    assert ledger.mark_failed(SOURCE, "b1", "RuntimeError: disk full") == 2
    assert [(e.state, e.error) for e in ledger.batch(SOURCE, "b1")] == [(FAILED, "RuntimeError: disk full")] * 2
    ledger.record_seen(SOURCE, [f("late.json")])
    retry = ledger.claim(SOURCE, "b1", take_stale=True)  # the same batch again (an Airflow retry)
    assert [(paths([e])[0], e.state, e.error) for e in retry] == [("a.json", CLAIMED, None), ("b.json", CLAIMED, None)]


def test_the_next_batch_takes_failed_and_abandoned_files_of_other_batches(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json"), f("c.json")])
    ledger.claim(SOURCE, "failed_run", paths=[f("a.json").path], take_stale=True)
    ledger.mark_failed(SOURCE, "failed_run", "boom")
    ledger.claim(SOURCE, "killed_run", paths=[f("b.json").path], take_stale=True)  # SIGKILLed: stays claimed
    ledger.claim(SOURCE, "good_run", paths=[f("c.json").path], take_stale=True)
    ledger.mark_done(SOURCE, "good_run")
    ledger.record_seen(SOURCE, [f("d.json")])
    assert paths(ledger.claim(SOURCE, "without_lock")) == ["d.json"]  # without the writer lock: only new files
    # under the lock, every batch but the holder's is finished: what they left unfinished is taken
    assert paths(ledger.claimable(SOURCE, "next")) == ["a.json", "b.json", "d.json"]
    taken = ledger.claim(SOURCE, "next", take_stale=True)
    assert [(paths([e])[0], e.state) for e in taken] == [("a.json", CLAIMED), ("b.json", CLAIMED), ("d.json", CLAIMED)]
    assert ledger.batch(SOURCE, "failed_run") == [] and ledger.batch(SOURCE, "killed_run") == []
    assert [e.state for e in ledger.batch(SOURCE, "good_run")] == [DONE]  # committed work is never re-taken


def test_done_write_commits_the_batch_in_the_callers_transaction(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json")])
    ledger.claim(SOURCE, "b1")
    write = ledger.done_write(SOURCE, "b1")
    with pytest.raises(RuntimeError), ledger.engine.begin() as conn:
        write.apply(conn)
        raise RuntimeError("the catalog swap failed")
    assert [e.state for e in ledger.batch(SOURCE, "b1")] == [CLAIMED]
    with ledger.engine.begin() as conn:
        write.apply(conn)
    assert [e.state for e in ledger.batch(SOURCE, "b1")] == [DONE]


def test_status_counts_files_per_batch_and_state(ledger: Ledger) -> None:
    ledger.record_seen(SOURCE, [f("a.json"), f("b.json"), f("c.json"), f("d.json")])
    ledger.claim(SOURCE, "b1", paths=[f("a.json").path])
    ledger.mark_done(SOURCE, "b1")
    ledger.claim(SOURCE, "b2", paths=[f("b.json").path, f("c.json").path])
    ledger.mark_failed(SOURCE, "b2", "ValueError: bad")
    assert [(s.batch_id, s.counts, s.errors) for s in ledger.status(SOURCE)] == [
        (None, {NEW: 1}, []), ("b1", {DONE: 1}, []), ("b2", {FAILED: 2}, ["ValueError: bad"])]


def test_a_ledger_created_before_the_error_column_gains_it(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with old.begin() as conn:
        conn.execute(sa.text("CREATE TABLE lg_ingestion_ledger (source VARCHAR(255) NOT NULL, path VARCHAR(2048) "
                             "NOT NULL, size BIGINT NOT NULL, mtime FLOAT NOT NULL, first_seen DATETIME NOT NULL, "
                             "batch_id VARCHAR(255), state VARCHAR(16) NOT NULL, PRIMARY KEY (source, path))"))
        conn.execute(sa.text("INSERT INTO lg_ingestion_ledger VALUES ('ecommerce/orders', '/old.json', 1, 1.0, "
                             "'2026-11-01 00:00:00', 'b0', 'claimed')"))
    old.dispose()
    ledger = Ledger(url)
    assert [(e.path, e.state, e.error) for e in ledger.entries(SOURCE)] == [("/old.json", CLAIMED, None)]
    ledger.mark_failed(SOURCE, "b0", "boom")
    assert [e.error for e in Ledger(url).entries(SOURCE)] == ["boom"]
