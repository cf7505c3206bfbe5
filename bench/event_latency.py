"""Event latency: from a file landing in raw to its rows being queryable in gold.

What it runs (embedded profile, one warm local Spark session, seeded sample data):

1. the sample lake minus its last two days, loaded once through the whole pipeline (warm-up);
2. **event path** — the pipeline's real Asset-watcher trigger (``NewObjectsEventTrigger``, pipeline
   mode) runs in its own event loop; a new day of orders lands (written, then renamed into
   place); the timer runs until the trigger's event, the run's intake (claim → crawl → ledger
   pre-claim, as the event DAG's ``crawl`` task does), bronze, silver, the quality gate, gold,
   and a DuckDB query that sees the new day's rows;
3. **reference** — what a user would otherwise do: run the same stages by hand the moment the
   next day lands (no detection at all), timed the same way.

Both gold results are checked against the independent oracle of the test suite
(``tests/support/expected_gold.py``, plain Python over the raw files). Spark jobs run in this
process, as ``lakeglue run`` does; under Airflow each job is a ``spark-submit`` (add ~10 s of
JVM start-up per job on this kind of machine).

    .venv/bin/python bench/event_latency.py [--scale 1] [--rounds 3] [--poll 1] [--quiet 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    from lakeglue.events.objects import ObjectInfo

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = "ecommerce"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="sample scale (1 ≈ 100 orders per day)")
    parser.add_argument("--days", type=int, default=5, help="days loaded before the measured drops")
    parser.add_argument("--poll", type=float, default=1.0, help="watcher poll interval, seconds")
    parser.add_argument("--quiet", type=float, default=2.0, help="quiet period before a batch is released")
    parser.add_argument("--rounds", type=int, default=3, help="event/reference pairs measured (medians reported)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake")
    return parser.parse_args()


class Stages:
    """crawl → bronze → silver → quality → gold → query in this process, each timed."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def run(self, run_id: str, event: dict[str, Any] | None = None, dt: str | None = None) -> dict[str, float]:
        from lakeglue.catalog import open_catalog
        from lakeglue.crawler import config_for_pipeline, crawl
        from lakeglue.events.claims import ClaimStore
        from lakeglue.events.intake import claim_for_run, pipeline_location, preclaim_ledger, read_event_payloads
        from lakeglue.jobs.batches import batch_id_from_run_id
        from lakeglue.jobs.context import JobContext
        from lakeglue.jobs.spark.bronze import run_bronze
        from lakeglue.jobs.spark.gold import run_gold
        from lakeglue.jobs.spark.silver import run_silver
        from lakeglue.ledger import Ledger
        from lakeglue.pipelines import load_pipeline
        from lakeglue.quality import check, run_quality
        from lakeglue.query import run_query
        from lakeglue.settings import get_settings
        from lakeglue.storage import Lake

        settings = get_settings()
        spec = load_pipeline(PIPELINE)
        times: dict[str, float] = {}
        started = time.monotonic()
        batch_id = batch_id_from_run_id(run_id)
        claimed: list[ObjectInfo] = []
        if event is not None:  # the event DAG's crawl task: claim what the event announced
            location = pipeline_location(spec, settings)
            claimed, _ = claim_for_run(ClaimStore(settings.catalog_url), spec, location,
                                       read_event_payloads([event]), batch_id)
        result = crawl(config_for_pipeline(spec), lake=Lake(settings), catalog=open_catalog(settings),
                       ledger=Ledger(settings.catalog_url))
        if result.errors:
            raise RuntimeError(f"crawl errors: {result.errors}")
        if event is not None:
            preclaim_ledger(Ledger(settings.catalog_url), spec, pipeline_location(spec, settings), claimed, batch_id)
        times["crawl"] = time.monotonic() - started
        ctx = JobContext.create(spec, run_id, settings=settings)
        for name, job in (("bronze", run_bronze), ("silver", run_silver)):
            t = time.monotonic()
            job(self.spark, ctx)
            times[name] = time.monotonic() - t
        t = time.monotonic()
        check(*run_quality(ctx.spec, ctx.catalog, ctx.settings, run_id))
        times["quality"] = time.monotonic() - t
        t = time.monotonic()
        run_gold(self.spark, ctx)
        times["gold"] = time.monotonic() - t
        if dt is not None:
            t = time.monotonic()
            sql = "SELECT count(*) FROM ecommerce_gold.daily_revenue_by_category WHERE dt = CAST(? AS DATE)"
            rows = run_query(sql, params=[dt], output=None, settings=settings).rows
            if not rows or int(rows[0][0]) == 0:
                raise RuntimeError(f"gold has no rows for dt={dt} after the run")
            times["query"] = time.monotonic() - t
        return times


def start_watcher(events: queue.Queue[dict[str, Any]], stop: threading.Event, poll: float,
                  quiet: float) -> threading.Thread:
    """The pipeline's watcher trigger in its own event loop, as the triggerer would run it."""
    from lakeglue.pipelines import load_pipeline
    from lakeglue_airflow.triggers.pipeline import listing_trigger

    spec = load_pipeline(PIPELINE)
    trigger = listing_trigger(spec.model_copy(update={"events": spec.events.model_copy(
        update={"quiet_seconds": quiet, "max_wait_seconds": max(quiet, 60.0)})}), poll_seconds=poll)

    async def forward() -> None:
        async for event in trigger.run():
            events.put(event.payload)

    async def watch() -> None:
        task = asyncio.create_task(forward())
        while not stop.is_set() and not task.done():
            await asyncio.sleep(0.05)
        task.cancel()  # as the triggerer stops a trigger: cancel the task that iterates it
        with contextlib.suppress(asyncio.CancelledError):
            await task

    thread = threading.Thread(target=lambda: asyncio.run(watch()), name="watcher", daemon=True)
    thread.start()
    return thread


def land_day(source: Path, raw: Path, day: str) -> float:
    """Copy one generated day into raw (temp name, then rename: readers never see half a file)."""
    src = source / "ecommerce" / "orders" / f"dt={day}"
    dest = raw / "ecommerce" / "orders" / f"dt={day}"
    staging = raw / "ecommerce" / "orders" / f".incoming-{day}"
    shutil.copytree(src, staging)
    landed = time.monotonic()
    staging.rename(dest)
    return landed


def gold_matches_oracle(raw_root: Path) -> bool:
    from lakeglue.query import run_query

    sys.path.insert(0, str(ROOT))
    from tests.support.expected_gold import ExpectedGold

    got = [tuple(r) for r in run_query("SELECT * FROM ecommerce_gold.daily_revenue_by_category ORDER BY dt, category",
                                       output=None).rows]
    want = [(r["dt"], r["category"], r["revenue"], r["units"], r["orders"])
            for r in ExpectedGold(raw_root).daily_revenue_by_category()]
    return got == want


def measure_event(stages: Stages, source: Path, raw: Path, day: str, args: argparse.Namespace,
                  run_id: str) -> dict[str, float]:
    """Land ``day`` while the watcher runs; time it until its rows are queryable in gold."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    stop = threading.Event()
    watcher = start_watcher(events, stop, args.poll, args.quiet)
    try:
        time.sleep(args.poll * 2)  # the watcher has polled the loaded lake (nothing new) before the drop
        landed = land_day(source, raw, day)
        event = events.get(timeout=120)
        detect_s = time.monotonic() - landed
    finally:
        stop.set()
        watcher.join(timeout=30)
    if event.get("status") != "success" or not all(f"/dt={day}/" in o["path"] for o in event["objects"]):
        raise RuntimeError(f"unexpected watcher event for dt={day}: {event}")
    times = stages.run(run_id, event=event, dt=day)
    return {"detect": detect_s, **times, "total": time.monotonic() - landed, "files": float(len(event["objects"]))}


def measure_reference(stages: Stages, source: Path, raw: Path, day: str, run_id: str) -> dict[str, float]:
    """Land ``day`` and run the stages by hand at once: the same work without any detection."""
    landed = land_day(source, raw, day)
    times = stages.run(run_id, dt=day)
    return {**times, "total": time.monotonic() - landed}


def main() -> int:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakeglue-bench-events-"))
    os.environ["LAKEGLUE_HOME"] = str(work / "lake")
    os.environ.pop("LAKEGLUE_CATALOG_URL", None)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from lakeglue.jobs.spark.session import build_spark
    from lakeglue.sample import generate
    from lakeglue.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    source, raw = work / "source", Path(settings.lake_root) / "raw"
    manifest = generate(source, scale=args.scale, seed=7, days=args.days + 2 * args.rounds)
    later = [d.isoformat() for d in manifest.days[args.days:]]
    shutil.copytree(source / "ecommerce", raw / "ecommerce",
                    ignore=lambda d, names: [n for n in names if n.removeprefix("dt=") in later])
    spark = build_spark("lakeglue-bench-events", settings)
    stages = Stages(spark)
    event_rounds: list[dict[str, float]] = []
    ref_rounds: list[dict[str, float]] = []
    outputs_equal = True
    try:
        t = time.monotonic()
        stages.run("bench__initial")
        initial_s = time.monotonic() - t
        for i in range(args.rounds):  # alternate, so machine load hits both sides alike
            event_rounds.append(measure_event(stages, source, raw, later[2 * i], args, f"bench__event_{i}"))
            outputs_equal = outputs_equal and gold_matches_oracle(raw)
            ref_rounds.append(measure_reference(stages, source, raw, later[2 * i + 1], f"bench__reference_{i}"))
            outputs_equal = outputs_equal and gold_matches_oracle(raw)
    finally:
        spark.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def med(rounds: list[dict[str, float]], key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    print(f"event latency, scale {args.scale}, {args.rounds} rounds (medians); watcher poll {args.poll}s, quiet "
          f"period {args.quiet}s; initial load of {args.days} days: {initial_s:.1f}s; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<10}{'event path (s)':>16}{'reference (s)':>16}   event path per round")
    stages_shown = ("detect", "crawl", "bronze", "silver", "quality", "gold", "query", "total")
    for name in stages_shown:
        ref = f"{med(ref_rounds, name):>16.2f}" if name != "detect" else f"{'-':>16}"
        per_round = " ".join(f"{r[name]:6.2f}" for r in event_rounds)
        print(f"{name:<10}{med(event_rounds, name):>16.2f}{ref}   {per_round}")
    print(f"gold equals the independent oracle after every run: {outputs_equal}")
    print("RESULT " + " ".join(f"{'latency' if k == 'total' else k}_s={med(event_rounds, k):.1f}"
                               for k in stages_shown)
          + f" reference_s={med(ref_rounds, 'total'):.1f} rounds={args.rounds}"
          + f" outputs_equal={'true' if outputs_equal else 'false'}")
    return 0 if outputs_equal else 1


if __name__ == "__main__":
    sys.exit(main())
