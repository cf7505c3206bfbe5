"""Crawler benchmark: 10,000 small files (CSV, JSON lines, Parquet under hive partitions).

Times a full crawl, a recrawl with nothing new, and a recrawl after 100 new files land,
against ``pyarrow.dataset`` discovery of the same tree in the same run (what a user would
otherwise script: list the files, read one schema per table, parse the hive partitions).
Both must agree on the tables' files, partitions and column names. Targets: full < 10 s,
no-change < 1 s (one listing), incremental proportional to the new files.

    .venv/bin/python bench/crawl.py [--files 10000] [--parallelism 8] [--keep DIR]

The last line is ``RESULT files=… full_s=… nochange_s=… incremental_s=… reference_s=… …``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

import pyarrow as pa  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from lakeglue.catalog.sql import SqlCatalog  # noqa: E402
from lakeglue.crawler import CrawlerConfig, CrawlResult, crawl  # noqa: E402
from lakeglue.ledger import Ledger  # noqa: E402
from lakeglue.settings import Settings  # noqa: E402
from lakeglue.storage.zones import Lake  # noqa: E402

TABLES = {"csv_events": ("csv", ".csv"), "json_events": ("json", ".jsonl"), "parquet_events": ("parquet", ".parquet")}
PARTITIONS_PER_TABLE = 100
ROWS_PER_FILE = 8
START = date(2026, 1, 1)


def _rows(rng: random.Random, n: int, start_id: int) -> list[dict[str, Any]]:
    return [{"event_id": start_id + i, "user": f"u{rng.randrange(10_000)}", "amount": round(rng.uniform(1, 500), 2),
             "kind": rng.choice(["view", "click", "buy"]), "ok": rng.random() < 0.9} for i in range(n)]


def _write(path: Path, fmt: str, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        lines = ["event_id,user,amount,kind,ok"] + [
            f"{r['event_id']},{r['user']},{r['amount']:.2f},{r['kind']},{str(r['ok']).lower()}" for r in rows]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "json":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)


def generate(raw: Path, files: int, seed: int, day_offset: int = 0, tag: str = "part") -> int:
    """``files`` files spread over the three tables and PARTITIONS_PER_TABLE days each; returns files written."""
    rng = random.Random(seed)
    written = 0
    per_table = [files // 3 + (1 if i < files % 3 else 0) for i in range(3)]
    for (table, (fmt, ext)), count in zip(TABLES.items(), per_table, strict=True):
        partitions = PARTITIONS_PER_TABLE if not day_offset else 1
        for i in range(count):
            day = START + timedelta(days=day_offset + i % partitions)
            folder = raw / table / f"dt={day.isoformat()}"
            _write(folder / f"{tag}-{i:05d}{ext}", fmt, _rows(rng, ROWS_PER_FILE, written * ROWS_PER_FILE))
            written += 1
    for table in TABLES:  # litter a Spark/Hadoop writer leaves: excluded by both sides
        for folder in (raw / table).iterdir():
            (folder / "_SUCCESS").write_text("")
    return written


@dataclass
class Discovery:
    files: dict[str, int]
    partitions: dict[str, set[tuple[str, ...]]]
    columns: dict[str, list[str]]


def reference(raw: Path) -> Discovery:
    """pyarrow.dataset discovery: list files, infer the schema from the first file, hive partitions."""
    out = Discovery({}, {}, {})
    for table, (fmt, _) in TABLES.items():
        dataset = ds.dataset(str(raw / table), format=fmt, partitioning="hive")
        out.files[table] = len(dataset.files)
        out.columns[table] = list(dataset.schema.names)
        parts = set()
        for fragment in dataset.get_fragments():
            expr = ds.get_partition_keys(fragment.partition_expression)
            parts.add(tuple(str(v) for v in expr.values()))
        out.partitions[table] = parts
    return out


def lakeglue_view(catalog: SqlCatalog, database: str) -> Discovery:
    out = Discovery({}, {}, {})
    for table in catalog.list_tables(database):
        out.files[table.name] = int(table.parameters["objectCount"])
        out.columns[table.name] = [c.name for c in table.all_columns()]
        out.partitions[table.name] = {p.values for p in catalog.get_partitions(database, table.name)}
    return out


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--new-files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--keep", type=Path, default=None, help="generate into this directory and keep it")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="lakeglue-bench-crawl-"))
    try:
        lake_root = work / "lake"
        raw = lake_root / "raw" / "bench"
        if raw.exists():
            shutil.rmtree(lake_root)
        gen_s, written = timed(lambda: generate(raw, args.files, args.seed))
        settings = Settings(lake_root=str(lake_root), catalog_url=f"sqlite:///{work / 'catalog.db'}")
        lake, catalog, ledger = Lake(settings), SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
        config = CrawlerConfig(database="bench_raw", prefix="bench", parallelism=args.parallelism)

        def run() -> CrawlResult:
            return crawl(config, lake=lake, catalog=catalog, ledger=ledger)

        ref_s, ref = timed(lambda: reference(raw))
        full_s, full = timed(run)
        mine = lakeglue_view(catalog, config.database)
        nochange_s, nochange = timed(run)
        added = generate(raw, args.new_files, args.seed + 1, day_offset=PARTITIONS_PER_TABLE, tag="late")
        incr_s, incr = timed(run)
        ref2 = reference(raw)
        mine2 = lakeglue_view(catalog, config.database)
        equal = (mine.files == ref.files and mine.partitions == ref.partitions
                 and {t: sorted(c) for t, c in mine.columns.items()} == {t: sorted(c) for t, c in ref.columns.items()}
                 and mine2.files == ref2.files and mine2.partitions == ref2.partitions)
        problems = [r for r in (full, nochange, incr) if r.errors]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"generated {written} files (+{added} later) in {gen_s:.1f}s under {raw}")
    print(f"{'step':<26}{'seconds':>9}{'ratio':>8}  files read / listed")
    print(f"{'reference (pyarrow.ds)':<26}{ref_s:>9.2f}{1.0:>8.2f}  {len(TABLES)} schemas / {sum(ref.files.values())}")
    for label, secs, res in (("full crawl", full_s, full), ("no-change recrawl", nochange_s, nochange),
                             (f"+{added} files recrawl", incr_s, incr)):
        print(f"{label:<26}{secs:>9.2f}{secs / ref_s:>8.2f}  {res.files_scanned} / {res.files_listed}")
    print(f"tables: {sorted(mine2.files)}; partitions per table: "
          f"{ {t: len(p) for t, p in sorted(mine2.partitions.items())} }; same answer as pyarrow.dataset: {equal}")
    if problems:
        print(f"crawl errors: {problems[0].errors[:3]}")
    print(f"RESULT files={written} full_s={full_s:.2f} nochange_s={nochange_s:.2f} incremental_s={incr_s:.2f} "
          f"reference_s={ref_s:.2f} full_ratio={full_s / ref_s:.1f} nochange_ratio={nochange_s / ref_s:.2f} "
          f"incremental_ratio={incr_s / ref_s:.2f} new_files={added} incremental_files_read={incr.files_scanned} "
          f"answers_equal={'true' if equal and not problems else 'false'}")
    return 0 if equal and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
