"""The ingestion ledger: what is new, who claimed it, and that a retried batch sees the same files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lakeglue.ledger import CLAIMED, DONE, NEW, Ledger, LedgerEntry
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
