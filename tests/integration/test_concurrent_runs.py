"""Overlapping runs never lose an update: two OS processes race bronze → silver → gate → gold of one pipeline.

Each process lands a new raw file per round and runs, as the DAG does, the DuckDB bronze and
silver jobs, the real (GX) quality gate on silver (``run_quality`` + ``check``, as the Airflow gate
task), and — only when the gate passed — the DuckDB gold job, while the other process does the
same; some bronze attempts fail after writing their data and before the catalog swap (their files
must be taken by a later batch, not stuck as ``claimed``). Some rounds land a file whose rows pass
silver's typing but break an ``error`` rule of the gate (``worker`` outside 0..1); the same worker's
next round re-sends those events corrected (a higher ``seq``, so silver's dedupe keeps the fix), so
every silver version in between fails the gate and must not reach gold.

What "gold passed the gate" means when two runs interleave: the other process may publish a new
silver version between this process's gate and its gold job. A verdict is about one catalog
version, so the gate records the silver version it validated in quality history, and gold runs with
``gated_reads``: it reads silver at one version, publishes only if a passing gate run is recorded
for exactly that version (else it skips: the run that published the newer version gates it and
runs gold itself), and stores the version it read in the gold table's parameters. (Pinning the
gate's version instead would need the catalog to keep old versions' partitions, which it does not.)

Afterwards every raw file is in bronze exactly once, every event in silver exactly once, silver's
consumed-batch bookmark is exactly the set of bronze batches silver holds, gold counts them all,
and every gold version ever published names a silver version that passed the gate and counts
exactly that version's events. Runs on SQLite (the embedded catalog) and on the real PostgreSQL
server (a throwaway database).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.model import Column, StorageDescriptor, Table
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.jobs.bookmarks import ConsumedBatches
from lakeglue.jobs.context import JobContext
from lakeglue.ledger import DONE, Ledger
from lakeglue.pipelines.spec import PipelineSpec, spec_from_dict
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from lakeglue.storage.zones import FileInfo
from tests.support.duckdb_rows import table_rows
from tests.support.postgres import throwaway_catalog_url

pytestmark = pytest.mark.slow

ROUNDS = 10
EVENTS_PER_FILE = 4
#: Rounds whose bronze attempt fails between writing its data and the catalog swap.
FAILING_ROUNDS = {(0, 2), (1, 4)}
#: Rounds that land events breaking the gate; the worker's next round re-sends them corrected.
BAD_ROUNDS = {(0, 4), (1, 1), (1, 7)}
SOURCE = "race/events"
CONSUMER = "race/silver/events"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lake' / 'catalog.db'}"
        return
    with throwaway_catalog_url() as url:
        yield url


SUITE = """\
suite: race_events
table: events
rules:
  - IsComplete "event_id"
  - IsUnique "event_id"
  - ColumnValues "worker" between 0 and 9
"""
GATE_OPTIONS: dict[str, bool] = {"data_docs": False, "quarantine": False, "publish": False}


def spec_data(gold_sql: str) -> dict[str, Any]:
    suite = str(Path(gold_sql).parent / "race_events.yml")
    return {
        "name": "race", "database": "race", "source": {"prefix": "race"},
        "engines": {"bronze": "duckdb", "silver": "duckdb", "gold": "duckdb"},
        "bronze": {"events": {"format": "json"}},
        "silver": {"events": {"from": "events", "key": ["event_id"], "partition_by": ["dt"], "order_by": ["seq"],
                              "columns": {"event_id": {"type": "bigint"}, "worker": {"type": "int"},
                                          "seq": {"type": "int"}, "dt": {"type": "date"}}}},
        "quality": [{"table": "events", "suite": suite}],
        "gold": {"totals": {"sql": gold_sql}},
    }


def settings_for(root: Path, url: str) -> Settings:
    return Settings(lake_root=str(root / "lake"), catalog_url=url, duckdb_memory_limit="256MB",
                    duckdb_temp_directory=str(root / "spill"))


def context(settings: Settings, spec: PipelineSpec, batch_id: str) -> JobContext:
    return JobContext(spec=spec, settings=settings, lake=Lake(settings), catalog=SqlCatalog(settings.catalog_url),
                      ledger=Ledger(settings.catalog_url), batch_id=batch_id,
                      started_at=datetime.now(UTC).replace(microsecond=0), gated_reads=True)


def round_ids(worker: int, round_no: int) -> list[int]:
    return [worker * 10_000 + round_no * 100 + i for i in range(EVENTS_PER_FILE)]


def day_of(worker: int, round_no: int) -> str:
    return f"2026-11-0{1 + (2 * round_no + worker) % 7}"  # one silver partition per file: carried-over ones matter


def land_file(settings: Settings, worker: int, round_no: int) -> list[int]:
    """A new raw file of this round (unique event ids), recorded in the ledger as the crawler would.

    A bad round's events have a ``worker`` the gate rejects; the next round re-sends them fixed."""
    folder = Path(Lake(settings).path("raw", "race", "events"))
    ids = round_ids(worker, round_no)
    day = day_of(worker, round_no)
    bad = (worker, round_no) in BAD_ROUNDS
    lines = [json.dumps({"event_id": str(i), "worker": str(66 if bad else worker), "seq": str(round_no), "dt": day})
             for i in ids]
    if (worker, round_no - 1) in BAD_ROUNDS:
        fixed_day = day_of(worker, round_no - 1)  # silver dedupes within the partitions it rebuilds
        lines += [json.dumps({"event_id": str(i), "worker": str(worker), "seq": str(round_no), "dt": fixed_day})
                  for i in round_ids(worker, round_no - 1)]
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

    real_register = duck_bronze.register_batch_partition
    for round_no in range(ROUNDS):
        batch = f"w{worker}-r{round_no}"
        ids = land_file(settings, worker, round_no)
        entry: dict[str, Any] = {"batch": batch, "ids": ids}
        if (worker, round_no) in FAILING_ROUNDS:
            duck_bronze.register_batch_partition = fail_before_swap
        try:
            run_round(settings, spec, batch, entry)
        except RuntimeError as exc:
            entry["error"] = str(exc)
        finally:
            duck_bronze.register_batch_partition = real_register
        log.append(entry)


def run_round(settings: Settings, spec: PipelineSpec, batch: str, entry: dict[str, Any]) -> None:
    """bronze → silver → gate → gold as the DAG chains them: a failed gate stops the round before gold."""
    from lakeglue.jobs.duckdb.entrypoint import run_job
    from lakeglue.quality import GateOptions, QualityGateFailed, check, run_quality

    for job in ("bronze", "silver"):
        entry[job] = [t.skipped_reason for t in run_job(job, context(settings, spec, batch)).tables]
    results = run_quality(spec, SqlCatalog(settings.catalog_url), settings, batch, options=GateOptions(**GATE_OPTIONS))
    entry["gate"] = [(r.table_version, r.success) for r in results]
    entry["gate_summary"] = [r.summary() for r in results]
    try:
        check(*results)
    except QualityGateFailed:
        return
    entry["gold"] = [t.skipped_reason for t in run_job("gold", context(settings, spec, batch)).tables]


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
    (tmp_path / "race_events.yml").write_text(SUITE)
    settings = settings_for(tmp_path, catalog_url)
    lake = Lake(settings)
    lake.ensure_zones()
    Path(lake.path("raw", "race", "events")).mkdir(parents=True)
    catalog = SqlCatalog(catalog_url)
    catalog.ensure_database("race_raw")
    catalog.upsert_table(Table("race_raw", "events", StorageDescriptor.for_format(
        "json", (Column("event_id", "string"), Column("worker", "string"), Column("seq", "string"),
                 Column("dt", "string")),
        lake.uri(lake.path("raw", "race", "events"))), parameters={"classification": "json"}))
    spec = spec_from_dict(spec_data(str(gold_sql)))
    seeded = land_file(settings, 9, 0)  # every table exists before the race: it is about updates
    seed_entry: dict[str, Any] = {}
    run_round(settings, spec, "seed", seed_entry)
    assert seed_entry["gate"] == [(1, True)] and seed_entry["gold"] == [""], seed_entry
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
    final_entry: dict[str, Any] = {}
    run_round(settings, spec, "final", final_entry)
    assert final_entry["gate"][0][1] and final_entry["gold"] == [""], final_entry

    ledger = Ledger(catalog_url)
    entries = ledger.entries(SOURCE)
    assert len(entries) == 2 * ROUNDS + 2 and {e.state for e in entries} == {DONE}, \
        [(e.path, e.batch_id, e.state) for e in entries if e.state != DONE]
    for e in failed:  # the failed batch's files went to a later batch, they did not stay stuck
        assert e["batch"] not in {x.batch_id for x in entries}

    written = sorted(seeded + [i for log in logs.values() for e in log for i in e["ids"]])
    resent = sorted(i for w, r in BAD_ROUNDS for i in round_ids(w, r))  # the corrections re-send these
    bronze = table_rows(settings, catalog, lake, "race_bronze", "events", ["event_id", "_batch_id", "worker"])
    assert sorted(int(r[0]) for r in bronze) == sorted(written + resent), "a raw file was lost or read by two batches"
    silver = table_rows(settings, catalog, lake, "race_silver", "events", ["event_id", "_batch_id", "worker"])
    assert sorted(r[0] for r in silver) == written, "silver lost or duplicated an event"
    assert {r[2] for r in silver} == {0, 1, 9}, "silver kept a bad row instead of its correction"

    bronze_batches = {p.values[0] for p in catalog.get_partitions("race_bronze", "events")}
    assert bronze_batches == {r[1] for r in bronze}
    assert ConsumedBatches(catalog_url).get(CONSUMER) == bronze_batches
    # every bronze batch is in silver, except one whose rows were all bad and replaced by their corrections
    superseded = {r[1] for r in bronze if r[2] == "66"} - {r[1] for r in bronze if r[2] != "66"}
    assert bronze_batches - superseded == {r[1] for r in silver}
    assert table_rows(settings, catalog, lake, "race_gold", "totals", ["events", "distinct_events"]) == [
        (len(written), len(written))]
    # No version ever dropped what an earlier one had (a run that planned from a stale version and
    # carried its partitions forward would): each version directory holds the whole table.
    history = [events_of_version(lake, v.table.location) for v in catalog.get_table_versions("race_silver", "events")]
    assert len(history) >= ROUNDS and len(history[-1]) == len(written), [len(h) for h in history]
    for number, (before, after) in enumerate(itertools.pairwise(history), start=2):
        assert before <= after, f"silver version {number} lost events {sorted(before - after)}"
    assert_gold_only_from_gated_silver(settings, catalog, lake, logs)
    assert race_seconds < 75


def assert_gold_only_from_gated_silver(settings: Settings, catalog: SqlCatalog, lake: Lake,
                                       logs: dict[int, list[dict[str, Any]]]) -> None:
    """Every gold version names the silver version it read; a gate run passed on exactly that version
    (quality history), that version holds no bad row, and gold's counts are that version's events."""
    from lakeglue.jobs.gated_reads import source_versions
    from lakeglue.quality.history import gate_passed, history

    gates = [g for log in logs.values() for e in log for g in e.get("gate", [])]
    assert any(not ok for _, ok in gates), f"no round's gate failed: the test did not test the gate ({gates})"
    runs: dict[str, tuple[int | None, bool]] = {}
    for row in history(settings.catalog_url, "race_silver.events"):
        version, ok = runs.get(row["run_id"], (row["table_version"], True))
        runs[row["run_id"]] = (version, ok and (row["success"] or row["severity"] != "error"))
    assert all(v is not None for v, _ in runs.values())
    silver_versions = {v.version: v.table for v in catalog.get_table_versions("race_silver", "events")}
    gold_versions = catalog.get_table_versions("race_gold", "totals")
    assert len(gold_versions) >= 2
    for gold in gold_versions:
        read = source_versions(gold.table)
        assert set(read) == {"race_silver.events"}, gold.table.parameters
        version = read["race_silver.events"]
        assert (version, True) in runs.values() and gate_passed(settings.catalog_url, "race_silver.events", version)
        events = events_of_version(lake, silver_versions[version].location)
        assert workers_of_version(lake, silver_versions[version].location) <= {0, 1, 9}
        counted = events_of_version_rows(lake, gold.table.location)
        assert counted == [(len(events), len(events))], (gold.version, version, counted, len(events))
    failed_versions = {v for v, ok in runs.values() if not ok}
    assert failed_versions, "no silver version failed the gate"
    assert not failed_versions & {source_versions(g.table)["race_silver.events"] for g in gold_versions}


def workers_of_version(lake: Lake, location: str) -> set[int]:
    import duckdb

    files = [f for f in lake.fs.find(lake.fs_path(location)) if f.endswith(".parquet")]
    with duckdb.connect() as con:
        return {int(r[0]) for r in con.execute("SELECT DISTINCT worker FROM read_parquet($f)", {"f": files}).fetchall()}


def events_of_version_rows(lake: Lake, location: str) -> list[tuple[Any, ...]]:
    """The rows of one gold version (its own directory), read from its files."""
    import duckdb

    files = [f for f in lake.fs.find(lake.fs_path(location)) if f.endswith(".parquet")]
    with duckdb.connect() as con:
        return [tuple(r) for r in con.execute("SELECT events, distinct_events FROM read_parquet($f)",
                                              {"f": files}).fetchall()]
