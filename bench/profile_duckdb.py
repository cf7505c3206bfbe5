"""Where the DuckDB engine spends its time: CPU and wall seconds per SQL statement, beside the hand-written script.

Runs on the raw data a ``bench/pipeline.py --keep`` run left behind (same lake layout, same
settings): crawl, then lakeglue's bronze, silver and gold on DuckDB, then the hand-written
DuckDB script, each statement timed. CPU seconds (this process, all DuckDB threads) are the
figure to compare on a shared machine: wall time there mostly measures the other tenants.

    .venv/bin/python bench/pipeline.py --only duckdb --scale 1 --keep     # prints "kept <root>"
    .venv/bin/python bench/profile_duckdb.py <root> [--top 8]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "bench"))

Timing = list[tuple[float, float, str]]


class TimedConnection:
    """A DuckDB connection whose ``execute`` records (cpu s, wall s, statement); the rest is delegated."""

    def __init__(self, con: Any, timings: Timing) -> None:
        self._con, self._timings = con, timings

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        result = self._con.execute(sql, *args, **kwargs)
        self._timings.append((time.process_time() - cpu, time.perf_counter() - wall, " ".join(str(sql).split())))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def report(title: str, timings: Timing, cpu: float, wall: float, top: int) -> None:
    print(f"== {title}: cpu {cpu:.2f} s, wall {wall:.2f} s ({len(timings)} statements)")
    for c, w, sql in sorted(timings, reverse=True)[:top]:
        print(f"   cpu {c:6.2f}  wall {w:6.2f}  {sql[:150]}")


def profile_lakeglue(root: Path, top: int) -> None:
    import pipeline as bench

    from lakeglue.catalog.sql import SqlCatalog
    from lakeglue.crawler import config_for_pipeline, crawl
    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.duckdb import entrypoint, session
    from lakeglue.ledger import Ledger
    from lakeglue.pipelines import load_pipeline
    from lakeglue.settings import Settings
    from lakeglue.storage import Lake

    timings: Timing = []
    connect = session.connect
    session.connect = lambda *a, **k: TimedConnection(connect(*a, **k), timings)  # type: ignore[assignment]
    work = root / "profile_lakeglue_duckdb"
    shutil.rmtree(work, ignore_errors=True)
    settings = Settings(lake_root=str(work / "lake"), duckdb_memory_limit=bench.MEMORY_LIMIT,
                        duckdb_temp_directory=str(root / "spill"))
    lake = Lake(settings)
    lake.ensure_zones()
    bench._link_raw(root / "raw", work / "lake")
    spec = load_pipeline("ecommerce")
    catalog, ledger = SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
    ctx = JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=ledger, batch_id="bench",
                     started_at=bench.STARTED)
    cpu, wall = time.process_time(), time.perf_counter()
    crawl(config_for_pipeline(spec), lake=lake, catalog=catalog, ledger=ledger)
    report("lakeglue crawl", [], time.process_time() - cpu, time.perf_counter() - wall, top)
    for job in ("bronze", "silver", "gold"):
        timings.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        entrypoint.run_job(job, ctx)
        report(f"lakeglue {job}", timings, time.process_time() - cpu, time.perf_counter() - wall, top)
    session.connect = connect  # type: ignore[assignment]
    shutil.rmtree(work, ignore_errors=True)


def profile_hand(root: Path, top: int) -> None:
    import duckdb
    import pipeline as bench

    timings: Timing = []
    connect = duckdb.connect
    duckdb.connect = lambda *a, **k: TimedConnection(connect(*a, **k), timings)  # type: ignore[assignment]
    shutil.rmtree(root / "hand_duckdb", ignore_errors=True)
    cpu, wall = time.process_time(), time.perf_counter()
    result = bench._hand_duckdb(root)
    duckdb.connect = connect  # type: ignore[assignment]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in result["stages"].items())
    report(f"hand-written DuckDB ({stages} wall)", timings, time.process_time() - cpu, time.perf_counter() - wall,
           top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="the directory a `bench/pipeline.py --keep` run kept")
    parser.add_argument("--top", type=int, default=8, help="statements shown per job")
    args = parser.parse_args()
    if not (args.root / "raw" / "ecommerce").is_dir():
        parser.error(f"{args.root} has no raw/ecommerce: pass what `bench/pipeline.py --keep` printed")
    profile_lakeglue(args.root, args.top)
    profile_hand(args.root, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
