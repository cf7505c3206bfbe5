"""An event run's intake (claim → crawl → ledger pre-claim) steering the real bronze job.

The watcher announces files, the ``crawl`` task of the event DAG (EventIntakeOperator,
called with the context Airflow would give it) claims them, and the Spark bronze job then
reads exactly those files — not a file that landed after the announcement, and nothing a
duplicated event or an overlapping run already took.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from airflow.triggers.base import TriggerEvent

from lakeglue.events.claims import CLAIMED, ClaimStore
from lakeglue.ledger import NEW, Ledger
from lakeglue.settings import get_settings
from lakeglue_airflow.sensors.intake import EventIntakeOperator
from lakeglue_airflow.triggers.new_objects import NewObjectsEventTrigger

pytestmark = pytest.mark.airflow

SPEC = """
name: shop
database: shop
source: {prefix: shop}
events: {enabled: true, poll_seconds: 0.05, quiet_seconds: 0.2}
bronze:
  orders: {format: json}
  customers: {format: csv, options: {header: "true"}}
"""


@pytest.fixture
def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    monkeypatch.delenv("LAKEGLUE_CATALOG_URL", raising=False)
    get_settings.cache_clear()
    spec = tmp_path / "shop.yml"
    spec.write_text(SPEC)
    yield spec
    get_settings.cache_clear()


def land(rel: str, text: str) -> str:
    path = Path(get_settings().lake_root) / "raw" / "shop" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def announce() -> dict[str, Any]:
    """One event from the pipeline's watcher, as the triggerer would fire it."""
    trigger = NewObjectsEventTrigger(prefix="shop", scope="shop", tables=["customers", "orders"], pipeline="shop",
                                     poll_seconds=0.05, quiet_seconds=0.2)

    async def first() -> dict[str, Any]:
        agen = cast(AsyncGenerator[TriggerEvent, None], trigger.run())
        try:
            async with asyncio.timeout(20):
                event = await anext(agen)
        finally:
            await agen.aclose()
        return dict(event.payload)

    return asyncio.run(first())


def context(run_id: str, *payloads: dict[str, Any]) -> dict[str, Any]:
    """The two context keys the intake reads: the run id and the triggering asset events."""
    events = [SimpleNamespace(extra={"from_trigger": True, "payload": p}) for p in payloads]
    return {"run_id": run_id, "triggering_asset_events": {"lakeglue.raw.shop": events}}


def intake(spec: Path, ctx: dict[str, Any]) -> dict[str, Any]:
    return EventIntakeOperator(task_id="crawl", pipeline=str(spec)).execute(ctx)


@pytest.mark.spark
def test_bronze_reads_exactly_the_announced_files(pipeline: Path, spark: Any) -> None:
    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.spark.bronze import run_bronze

    o1 = land("orders/dt=2026-11-01/a.json", '{"order_id": 1}\n{"order_id": 2}\n')
    o2 = land("orders/dt=2026-11-02/b.json", '{"order_id": 3}\n')
    c1 = land("customers/customers.csv", "customer_id,name\n7,Ann\n")
    event = announce()
    assert [o["path"] for o in event["objects"]] == [c1, o1, o2]
    late = land("orders/dt=2026-11-03/late.json", '{"order_id": 4}\n')  # after the announcement, before the run

    result = intake(pipeline, context("asset_triggered__2026-11-23T10:00:00", event))
    batch = "asset_triggered__2026-11-23T10_00_00"
    assert result["batch_id"] == batch and result["announced"] == 3
    assert [o["path"] for o in result["claimed"]] == [c1, o1, o2]
    assert result["ledger_batch"] == {"shop/customers": [c1], "shop/orders": [o1, o2]}
    assert sorted(result["tables_created"]) == ["customers", "orders"]  # the normal crawl ran too

    metrics = run_bronze(spark, JobContext.create(str(pipeline), "asset_triggered__2026-11-23T10:00:00"))
    by_table = {t.table: (t.files_read, t.rows_written) for t in metrics.tables}
    assert by_table == {"shop_bronze.orders": (2, 3), "shop_bronze.customers": (1, 1)}
    ledger = Ledger(get_settings().catalog_url)
    assert [(e.path, e.state) for e in ledger.entries("shop/orders", state=NEW)] == [(late, NEW)]

    second = announce()  # the late file, and only it, is announced next
    assert [o["path"] for o in second["objects"]] == [late]
    result2 = intake(pipeline, context("asset_triggered__2026-11-23T10:05:00", second))
    assert result2["ledger_batch"] == {"shop/orders": [late]}
    metrics2 = run_bronze(spark, JobContext.create(str(pipeline), "asset_triggered__2026-11-23T10:05:00"))
    assert {t.table: t.files_read for t in metrics2.tables} == {"shop_bronze.orders": 1, "shop_bronze.customers": 0}


def test_a_duplicated_event_gives_the_second_run_nothing(pipeline: Path) -> None:
    o1 = land("orders/a.json", '{"order_id": 1}\n')
    event = announce()
    first = intake(pipeline, context("run_1", event))
    retry = intake(pipeline, context("run_1", event))  # the same task retried: the same claim
    again = intake(pipeline, context("run_2", event))  # the event delivered twice: a second run
    assert [o["path"] for o in first["claimed"]] == [o1] == [o["path"] for o in retry["claimed"]]
    assert first["ledger_batch"] == retry["ledger_batch"] == {"shop/orders": [o1]}
    assert again["claimed"] == [] and again["ledger_batch"] == {}
    assert Ledger(get_settings().catalog_url).claim("shop/orders", "run_2") == []  # what bronze of run 2 gets


def test_overlapping_runs_racing_on_one_event_split_every_file_exactly_once(pipeline: Path) -> None:
    landed = [land(f"orders/dt=2026-11-{d:02d}/part-{i}.json", f'{{"order_id": {d * 10 + i}}}\n')
              for d in range(1, 4) for i in range(4)]
    landed.append(land("customers/c.csv", "customer_id\n1\n"))
    intake(pipeline, context("warmup", {"status": "success", "objects": []}))  # catalog tables exist first
    event = announce()
    assert len(event["objects"]) == len(landed)
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run(run_id: str) -> None:
        try:
            barrier.wait(timeout=30)
            results[run_id] = intake(pipeline, context(run_id, event))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"run_{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    claimed = {r: [o["path"] for o in res["claimed"]] for r, res in results.items()}
    assert sorted(p for paths in claimed.values() for p in paths) == sorted(landed)
    assert sum(1 for paths in claimed.values() if paths) == 1  # one claim transaction takes the whole event
    ledger = Ledger(get_settings().catalog_url)
    bronze = {r: [e.path for s in ("shop/orders", "shop/customers") for e in ledger.claim(s, r)] for r in results}
    assert sorted(p for paths in bronze.values() for p in paths) == sorted(landed)
    assert {c.state for c in ClaimStore(get_settings().catalog_url).claims("shop")} == {CLAIMED}
