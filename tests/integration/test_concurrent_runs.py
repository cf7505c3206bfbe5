"""Overlapping runs never lose an update: two OS processes race bronze → silver → gold of one pipeline.

Each process lands a new raw file per round and runs the three DuckDB jobs for its own batch,
while the other process does the same; some bronze attempts fail after writing their data and
before the catalog swap (their files must be taken by a later batch, not stuck as ``claimed``).
Afterwards every raw file is in bronze exactly once, every event in silver exactly once, silver's
consumed-batch bookmark is exactly the set of bronze batches silver holds, and gold counts them all.
Runs on SQLite (the embedded catalog) and on the real PostgreSQL server (a throwaway database).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import time
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.model import Column, StorageDescriptor, Table
from lakeglue.catalog.sql import _ENGINES, SqlCatalog
from lakeglue.jobs.bookmarks import ConsumedBatches
from lakeglue.jobs.context import JobContext
from lakeglue.ledger import DONE, Ledger
from lakeglue.pipelines.spec import PipelineSpec, spec_from_dict
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from lakeglue.storage.zones import FileInfo
from tests.support.duckdb_rows import table_rows

pytestmark = pytest.mark.slow

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROUNDS = 7
EVENTS_PER_FILE = 4
#: Rounds whose bronze attempt fails between writing its data and the catalog swap.
FAILING_ROUNDS = {(0, 2), (1, 4)}
SOURCE = "race/events"
CONSUMER = "race/silver/events"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lake' / 'catalog.db'}"
        return
    psycopg = pytest.importorskip("psycopg")
    name = f"lakeglue_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        try:
            yield url
        finally:
            engine = _ENGINES.pop(url, None)
            if engine is not None:
                engine.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def spec_data(gold_sql: str) -> dict[str, Any]:
    return {
        "name": "race", "database": "race", "source": {"prefix": "race"},
        "engines": {"bronze": "duckdb", "silver": "duckdb", "gold": "duckdb"},
        "bronze": {"events": {"format": "json"}},
        "silver": {"events": {"from": "events", "key": ["event_id"], "partition_by": ["dt"],
                              "columns": {"event_id": {"type": "bigint"}, "worker": {"type": "int"},
                                          "dt": {"type": "date"}}}},
        "gold": {"totals": {"sql": gold_sql}},
    }


def settings_for(root: Path, url: str) -> Settings:
    return Settings(lake_root=str(root / "lake"), catalog_url=url, duckdb_memory_limit="256MB",
                    duckdb_temp_directory=str(root / "spill"))


def context(settings: Settings, spec: PipelineSpec, batch_id: str) -> JobContext:
    return JobContext(spec=spec, settings=settings, lake=Lake(settings), catalog=SqlCatalog(settings.catalog_url),
                      ledger=Ledger(settings.catalog_url), batch_id=batch_id,
                      started_at=datetime.now(UTC).replace(microsecond=0))


def land_file(settings: Settings, worker: int, round_no: int) -> list[int]:
    """A new raw file of this round (unique event ids), recorded in the ledger as the crawler would."""
    folder = Path(Lake(settings).path("raw", "race", "events"))
    ids = [worker * 10_000 + round_no * 100 + i for i in range(EVENTS_PER_FILE)]
    day = f"2026-11-0{1 + (2 * round_no + worker) % 7}"  # one silver partition per file: carried-over ones matter
    lines = [json.dumps({"event_id": str(i), "worker": str(worker), "dt": day}) for i in ids]
    path = folder / f"w{worker}-r{round_no}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    Ledger(settings.catalog_url).record_seen(SOURCE, [FileInfo(str(path), path.stat().st_size, path.stat().st_mtime)])
    return ids


def fail_before_swap(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected: the engine died before the catalog swap")


def worker_main(root: str, url: str, gold_sql: str, worker: int, start: Any, out: Any) -> None:
    """One OS process: ROUNDS rounds of land a file → bronze → silver → gold for its own batches."""
    settings = settings_for(Path(root), url)
    spec = spec_from_dict(spec_data(gold_sql))
    start.wait()
    log: list[dict[str, Any]] = []
    try:
        run_rounds(settings, spec, worker, log)
    except Exception:  # report it to the test instead of leaving it waiting for a result
        log.append({"batch": "?", "ids": [], "crash": traceback.format_exc()})
    out.put((worker, log))


def run_rounds(settings: Settings, spec: PipelineSpec, worker: int, log: list[dict[str, Any]]) -> None:
    from lakeglue.jobs.duckdb import bronze as duck_bronze
    from lakeglue.jobs.duckdb.entrypoint import run_job

    real_register = duck_bronze.register_batch_partition
    for round_no in range(ROUNDS):
        batch = f"w{worker}-r{round_no}"
        ids = land_file(settings, worker, round_no)
        entry: dict[str, Any] = {"batch": batch, "ids": ids}
        if (worker, round_no) in FAILING_ROUNDS:
            duck_bronze.register_batch_partition = fail_before_swap
        try:
            for job in ("bronze", "silver", "gold"):
                metrics = run_job(job, context(settings, spec, batch))
                entry[job] = [t.skipped_reason for t in metrics.tables]
        except RuntimeError as exc:
            entry["error"] = str(exc)
        finally:
            duck_bronze.register_batch_partition = real_register
        log.append(entry)


def events_of_version(lake: Lake, location: str) -> set[int]:
    import duckdb

    files = [f for f in lake.fs.find(lake.fs_path(location)) if f.endswith(".parquet")]
    if not files:
        return set()
    with duckdb.connect() as con:
        rows = con.execute("SELECT event_id FROM read_parquet($files)", {"files": files}).fetchall()
    return {int(r[0]) for r in rows}


def test_two_processes_racing_never_lose_or_duplicate_a_batch(tmp_path: Path, catalog_url: str) -> None:
    from lakeglue.jobs.duckdb import bronze as duck_bronze
    from lakeglue.jobs.duckdb.entrypoint import run_job

    gold_sql = tmp_path / "totals.sql"
    gold_sql.write_text("SELECT count(*) AS events, count(DISTINCT event_id) AS distinct_events FROM events\n")
    settings = settings_for(tmp_path, catalog_url)
    lake = Lake(settings)
    lake.ensure_zones()
    Path(lake.path("raw", "race", "events")).mkdir(parents=True)
    catalog = SqlCatalog(catalog_url)
    catalog.ensure_database("race_raw")
    catalog.upsert_table(Table("race_raw", "events", StorageDescriptor.for_format(
        "json", (Column("event_id", "string"), Column("worker", "string"), Column("dt", "string")),
        lake.uri(lake.path("raw", "race", "events"))), parameters={"classification": "json"}))
    spec = spec_from_dict(spec_data(str(gold_sql)))
    seeded = land_file(settings, 9, 0)  # every table exists before the race: it is about updates
    for job in ("bronze", "silver", "gold"):
        run_job(job, context(settings, spec, "seed"))
    seeded += land_file(settings, 9, 1)  # a batch that fails for sure: the race must take its file
    with pytest.MonkeyPatch.context() as mp_patch:
        mp_patch.setattr(duck_bronze, "register_batch_partition", fail_before_swap)
        with pytest.raises(RuntimeError, match="injected"):
            run_job("bronze", context(settings, spec, "seed-fails"))
    assert [(e.state, e.error) for e in Ledger(catalog_url).batch(SOURCE, "seed-fails")] == [
        ("failed", "RuntimeError: injected: the engine died before the catalog swap")]

    mp = multiprocessing.get_context("spawn")
    start, out = mp.Event(), mp.Queue()
    procs = [mp.Process(target=worker_main, args=(str(tmp_path), catalog_url, str(gold_sql), w, start, out))
             for w in (0, 1)]
    for p in procs:
        p.start()
    started = time.monotonic()
    start.set()
    logs = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    race_seconds = time.monotonic() - started

    assert not [e["crash"] for log in logs.values() for e in log if "crash" in e]
    failed = [e for log in logs.values() for e in log if "error" in e]
    # (a failing round fails only if it claimed something: the other process may have taken its file)
    assert {e["batch"] for e in failed} <= {f"w{w}-r{r}" for w, r in FAILING_ROUNDS}
    failed.append({"batch": "seed-fails"})
    # A last quiet run picks up whatever the last failed batches left (a failure of the last round).
    for job in ("bronze", "silver", "gold"):
        run_job(job, context(settings, spec, "final"))

    ledger = Ledger(catalog_url)
    entries = ledger.entries(SOURCE)
    assert len(entries) == 2 * ROUNDS + 2 and {e.state for e in entries} == {DONE}, \
        [(e.path, e.batch_id, e.state) for e in entries if e.state != DONE]
    for e in failed:  # the failed batch's files went to a later batch, they did not stay stuck
        assert e["batch"] not in {x.batch_id for x in entries}

    written = sorted(seeded + [i for log in logs.values() for e in log for i in e["ids"]])
    bronze = table_rows(settings, catalog, lake, "race_bronze", "events", ["event_id", "_batch_id"])
    assert sorted(int(r[0]) for r in bronze) == written, "a raw file was lost or read by two batches"
    silver = table_rows(settings, catalog, lake, "race_silver", "events", ["event_id", "_batch_id"])
    assert sorted(r[0] for r in silver) == written, "silver lost or duplicated an event"

    bronze_batches = {p.values[0] for p in catalog.get_partitions("race_bronze", "events")}
    assert bronze_batches == {r[1] for r in bronze}
    assert ConsumedBatches(catalog_url).get(CONSUMER) == bronze_batches == {r[1] for r in silver}
    assert table_rows(settings, catalog, lake, "race_gold", "totals", ["events", "distinct_events"]) == [
        (len(written), len(written))]
    # No version ever dropped what an earlier one had (a run that planned from a stale version and
    # carried its partitions forward would): each version directory holds the whole table.
    history = [events_of_version(lake, v.table.location) for v in catalog.get_table_versions("race_silver", "events")]
    assert len(history) >= ROUNDS and len(history[-1]) == len(written), [len(h) for h in history]
    for number, (before, after) in enumerate(itertools.pairwise(history), start=2):
        assert before <= after, f"silver version {number} lost events {sorted(before - after)}"
    assert race_seconds < 60
