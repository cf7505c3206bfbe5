"""`lakeglue bookmark reset` makes the next batch reprocess a table: ledger, and silver's bookmark."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeglue.cli import main
from lakeglue.jobs.bookmarks import ConsumedBatches
from lakeglue.ledger import Ledger
from lakeglue.settings import get_settings
from lakeglue.storage.zones import FileInfo


def test_bookmark_reset_returns_files_to_new_and_clears_silver_consumption(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    get_settings.cache_clear()
    try:
        url = get_settings().catalog_url
        ledger, consumed = Ledger(url), ConsumedBatches(url)
        ledger.record_seen("ecommerce/orders", [FileInfo("/raw/a.json", 1, 1.0), FileInfo("/raw/b.json", 1, 1.0)])
        ledger.claim("ecommerce/orders", "b1")
        ledger.mark_done("ecommerce/orders", "b1")
        consumed.replace("ecommerce/silver/orders", {"b1"})
        consumed.replace("ecommerce/silver/customers", {"b0"})

        assert main(["bookmark", "reset", "ecommerce", "orders"]) == 0

        assert [(e.path, e.state, e.batch_id) for e in ledger.entries("ecommerce/orders")] == [
            ("/raw/a.json", "new", None), ("/raw/b.json", "new", None)]
        assert consumed.get("ecommerce/silver/orders") == set()
        assert consumed.get("ecommerce/silver/order_items") == set()
        assert consumed.get("ecommerce/silver/customers") == {"b0"}, "other tables keep their bookmark"
        assert "ecommerce/orders: 2 files will be reprocessed" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_bookmark_status_lists_files_per_batch_and_state_with_the_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    get_settings.cache_clear()
    try:
        ledger = Ledger(get_settings().catalog_url)
        ledger.record_seen("ecommerce/orders", [FileInfo(f"/raw/{n}.json", 1, 1.0) for n in "abcde"])
        ledger.claim("ecommerce/orders", "b1", paths=["/raw/a.json", "/raw/b.json"])
        ledger.mark_done("ecommerce/orders", "b1")
        ledger.claim("ecommerce/orders", "b2", paths=["/raw/c.json"])
        ledger.mark_failed("ecommerce/orders", "b2", "RuntimeError: out of memory")
        ledger.claim("ecommerce/orders", "b3", paths=["/raw/d.json"])

        assert main(["bookmark", "status", "ecommerce", "orders"]) == 0
        assert capsys.readouterr().out.splitlines() == [
            "ecommerce/orders: 1 files waiting for a batch",
            "  batch b1: 2 done",
            "  batch b2: 1 failed",
            "    error: RuntimeError: out of memory",
            "  batch b3: 1 claimed",
        ]
        assert main(["bookmark", "status", "ecommerce", "nope"]) == 2
        assert "no bronze table 'nope'" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_bookmark_reset_waits_for_a_job_writing_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from lakeglue.jobs.locks import writer_lock

    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    get_settings.cache_clear()
    try:
        url = get_settings().catalog_url
        Ledger(url).record_seen("ecommerce/orders", [FileInfo("/raw/a.json", 1, 1.0)])
        held, done = threading.Event(), []

        def silver_job() -> None:  # a silver run of orders: its commit would overwrite a reset bookmark
            with writer_lock(url, "ecommerce_silver.orders"):
                held.set()
                time.sleep(0.5)
                done.append(time.monotonic())

        job = threading.Thread(target=silver_job)
        job.start()
        held.wait(5)
        assert main(["bookmark", "reset", "ecommerce", "orders"]) == 0
        reset_at = time.monotonic()
        job.join()
        assert done and done[0] <= reset_at
    finally:
        get_settings.cache_clear()
