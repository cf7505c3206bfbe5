"""TPC-H benchmark: CSV crawled and converted with CTAS as a user would, then the 22 queries in Trino SQL.

Data, the 22 queries and their published answers come from DuckDB's ``tpch`` extension (the
``duckdb-extension-tpch`` wheel pinned beside duckdb, loaded from its folder by path, never
downloaded). The run:

1. ``dbgen`` writes the 8 tables as CSV files into the raw zone (``raw/tpch/<table>/``).
2. lakeglue's crawler catalogs them (``tpch_raw``), as ``lakeglue crawl`` would.
3. ``CREATE TABLE tpch.<t> AS SELECT … FROM tpch_raw.<t>`` through the query layer converts them
   to Parquet, casting columns the crawler typed differently from the TPC-H schema (money as
   ``decimal(15,2)``; the crawler reads ``0.04`` as double), as a user wanting exact answers does.
   Reference: DuckDB's own ``COPY (SELECT * FROM read_csv(file)) TO … (FORMAT parquet)`` of the
   same files in this process → ``ctas_ratio`` = (crawl + CTAS) / COPY. COPY and CTAS run as
   ``--ctas-repeat`` alternated pairs (the CTAS'd tables dropped between pairs) and the medians are
   compared: one pair alone varied from 1.0x to 1.5x on a quiet machine.
4. The 22 queries run through ``run_query`` (Trino dialect, ``output=None``) and in one plain DuckDB
   connection over the same Parquet files (``read_parquet`` views) → ``tpch_ratio``; each answer
   is checked against the extension's → ``tpch_correct``.

    .venv/bin/python bench/tpch.py [--scale 1] [--repeat 1] [--ctas-repeat 3] [--keep DIR]

Answers exist for scales 0.01, 0.1 and 1. The last line is
``RESULT tpch_ratio=… ctas_ratio=… tpch_correct=… …``.
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
from query import timed  # noqa: E402  (bench/query.py: median wall and CPU seconds)

from lakeglue.catalog.sql import SqlCatalog  # noqa: E402
from lakeglue.crawler import CrawlerConfig, crawl  # noqa: E402
from lakeglue.ledger import Ledger  # noqa: E402
from lakeglue.query import run_query  # noqa: E402
from lakeglue.query.base import QueryError  # noqa: E402
from lakeglue.settings import Settings  # noqa: E402
from lakeglue.storage.zones import Lake  # noqa: E402

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
THREADS = 2  # the query layer's engine uses 2 threads too
ANSWER_SCALES = (0.01, 0.1, 1.0)


def tpch_extension_path() -> str:
    """The ``tpch`` extension file shipped by the ``duckdb-extension-tpch`` wheel."""
    try:
        import duckdb_extension_tpch
    except ImportError:
        sys.exit(f"bench/tpch.py needs duckdb-extension-tpch=={duckdb.__version__} (pip install -r requirements.txt)")
    folder = os.path.dirname(duckdb_extension_tpch.__file__)
    found = sorted(glob.glob(os.path.join(folder, "extensions", "*", "tpch.duckdb_extension")))
    if not found:
        sys.exit(f"no tpch.duckdb_extension file under {folder}/extensions")
    return found[-1]


def plain_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {THREADS}")
    return con


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def generate_csv(tpch: duckdb.DuckDBPyConnection, raw_root: Path, scale: float) -> dict[str, Path]:
    """dbgen at ``scale``, each table written as one headed CSV file under ``raw/tpch/<table>/``."""
    tpch.execute(f"CALL dbgen(sf = {scale})")
    files = {}
    for table in TABLES:
        folder = raw_root / table
        folder.mkdir(parents=True)
        files[table] = folder / f"{table}.csv"
        tpch.execute(f"COPY {table} TO {quote(str(files[table]))} (FORMAT csv, HEADER true)")
    return files


def spec_types(tpch: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """table → column → TPC-H type in Trino spelling (``decimal(15,2)``, ``date``, ``varchar``, ``bigint`` …)."""
    from lakeglue.query.duckdb_tables import trino_type

    return {t: {str(r[0]): trino_type(str(r[1])) for r in tpch.execute(f"DESCRIBE {t}").fetchall()} for t in TABLES}


def ctas_sql(catalog: SqlCatalog, table: str, spec: dict[str, str]) -> str:
    """The CTAS a user writes: crawled columns kept, or cast where the crawler's type is not the schema's."""
    from lakeglue.query.materialize import trino_of_hive

    items = []
    for column in catalog.get_table("tpch_raw", table).columns:
        want = spec[column.name]
        have = trino_of_hive(column.type)
        items.append(column.name if have == want or (have, want) == ("varchar", "varchar")
                     else f"CAST({column.name} AS {want}) AS {column.name}")
    return f"CREATE TABLE tpch.{table} AS SELECT {', '.join(items)} FROM tpch_raw.{table}"


def parse_answer(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text), delimiter="|"))
    return [row or [""] for row in rows[1:]]  # header first; an empty line is one NULL value


def same_value(got: Any, want: str) -> bool:
    """A result value against the extension's text answer (numbers within a cent or 1e-9 relative)."""
    if got is None:
        return want in ("", "NULL")
    if isinstance(got, bool):
        return str(got).lower() == want.lower()
    if isinstance(got, int | float | Decimal):
        try:
            expected = float(want)
        except ValueError:
            return False
        value = float(got)
        return math.isclose(value, expected, rel_tol=1e-9, abs_tol=0.01)
    if isinstance(got, date):
        return got.isoformat() == want
    return str(got).strip() == want.strip()


def check_answer(rows: list[tuple[Any, ...]], answer: list[list[str]]) -> str | None:
    """None when ``rows`` are the answer; else what differs first."""
    if len(rows) != len(answer):
        return f"{len(rows)} rows, expected {len(answer)}"
    for i, (got, want) in enumerate(zip(rows, answer, strict=True)):
        if len(got) != len(want):
            return f"row {i}: {len(got)} columns, expected {len(want)}"
        for j, (g, w) in enumerate(zip(got, want, strict=True)):
            if not same_value(g, w):
                return f"row {i} column {j}: {g!r}, expected {w!r}"
    return None


def crawl_raw(lake: Lake, catalog: SqlCatalog, settings: Settings, raw_db: str) -> tuple[float, float]:
    """Crawl the raw zone into ``raw_db`` as ``lakeglue crawl`` would; (wall, cpu) seconds."""
    crawl_s, result, crawl_cpu = timed(lambda: crawl(CrawlerConfig(database=raw_db, zone="raw", prefix="tpch"),
                                                     lake=lake, catalog=catalog, ledger=Ledger(settings.catalog_url)),
                                       1)
    found = sorted(t.name for t in catalog.list_tables(raw_db))
    if found != sorted(TABLES):
        sys.exit(f"the crawler made tables {found}, expected {sorted(TABLES)}: {result}")
    catalog.ensure_database("tpch")
    return crawl_s, crawl_cpu


def ctas_all(lake: Lake, catalog: SqlCatalog, settings: Settings, spec: dict[str, dict[str, str]]) -> None:
    """CTAS every crawled table to Parquet through the query layer (a managed table made before is dropped first,
    with ``DROP TABLE`` as a user repeating the conversion would: that drop is not timed)."""
    for table in TABLES:
        run_query(ctas_sql(catalog, table, spec[table]), output=None, catalog=catalog, lake=lake, settings=settings)


def drop_converted(lake: Lake, catalog: SqlCatalog, settings: Settings) -> None:
    for table in TABLES:
        run_query(f"DROP TABLE IF EXISTS tpch.{table}", output=None, catalog=catalog, lake=lake, settings=settings)


def copy_all(csv_files: dict[str, Path], out: Path) -> None:
    """DuckDB's own CSV → Parquet conversion of the same files (type sniffing included), on a new connection."""
    con = plain_connection()
    out.mkdir(parents=True, exist_ok=True)
    for table, path in csv_files.items():
        con.execute(f"COPY (SELECT * FROM read_csv({quote(str(path))})) TO "
                    f"{quote(str(out / (table + '.parquet')))} (FORMAT parquet)")
    con.close()


def conversion_pairs(csv_files: dict[str, Path], out: Path, lake: Lake, catalog: SqlCatalog, settings: Settings,
                     spec: dict[str, dict[str, str]], repeat: int) -> tuple[float, float, float, float]:
    """COPY and CTAS of all tables, alternated ``repeat`` times (a drift in the machine's speed hits both
    sides alike); the medians (copy wall, copy cpu, ctas wall, ctas cpu)."""
    copies: list[tuple[float, float]] = []
    ctases: list[tuple[float, float]] = []
    for run in range(repeat):
        if run:
            drop_converted(lake, catalog, settings)
        wall, _, cpu = timed(lambda: copy_all(csv_files, out), 1)
        copies.append((wall, cpu))
        wall, _, cpu = timed(lambda: ctas_all(lake, catalog, settings, spec), 1)
        ctases.append((wall, cpu))
    med = statistics.median
    return (med(w for w, _ in copies), med(c for _, c in copies), med(w for w, _ in ctases), med(c for _, c in ctases))


def parquet_views(catalog: SqlCatalog) -> duckdb.DuckDBPyConnection:
    """Plain DuckDB over the Parquet files lakeglue's CTAS wrote (the same files the layer reads)."""
    con = plain_connection()
    for table in TABLES:
        location = catalog.get_table("tpch", table).location.removeprefix("file://")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({quote(location + '/**/*.parquet')})")
    return con


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help=f"scale factor; answers exist for {ANSWER_SCALES}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per query and side (the median is compared)")
    parser.add_argument("--ctas-repeat", type=int, default=3,
                        help="COPY/CTAS pairs, alternated (the medians are compared; one run varied 1.0-1.5x)")
    parser.add_argument("--queries", default="", help="comma-separated query numbers (default: all 22)")
    parser.add_argument("--keep", default="", help="work in this directory and keep it")
    args = parser.parse_args()
    if args.scale not in ANSWER_SCALES:
        parser.error(f"--scale must be one of {ANSWER_SCALES} (the extension has answers for those only)")

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="lakeglue-bench-tpch-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        settings = Settings(lake_root=str(workdir / "lake"), catalog_url=f"sqlite:///{workdir / 'catalog.db'}")
        lake, catalog = Lake(settings), SqlCatalog(settings.catalog_url)
        tpch = duckdb.connect(":memory:")
        tpch.execute(f"LOAD {quote(tpch_extension_path())}")
        started = time.perf_counter()
        csv_files = generate_csv(tpch, Path(lake.path("raw", "tpch")), args.scale)
        spec = spec_types(tpch)
        queries = dict(tpch.execute("SELECT query_nr, query FROM tpch_queries()").fetchall())
        answers = {n: parse_answer(a) for n, a in tpch.execute(
            "SELECT query_nr, answer FROM tpch_answers() WHERE scale_factor = ?", [args.scale]).fetchall()}
        tpch.close()
        size_mb = sum(p.stat().st_size for p in csv_files.values()) / 1e6
        print(f"generated TPC-H SF{args.scale:g} as CSV ({size_mb:,.0f} MB) in {time.perf_counter() - started:.1f} s")

        crawl_s, crawl_cpu = crawl_raw(lake, catalog, settings, "tpch_raw")
        copy_s, copy_cpu, ctas_s, ctas_cpu = conversion_pairs(csv_files, workdir / "reference-parquet", lake, catalog,
                                                              settings, spec, args.ctas_repeat)
        print(f"crawl {crawl_s:.2f} s + CTAS {ctas_s:.2f} s through lakeglue (CPU {crawl_cpu + ctas_cpu:.2f} s); "
              f"DuckDB COPY {copy_s:.2f} s (CPU {copy_cpu:.2f} s)")

        plain = parquet_views(catalog)
        chosen = [int(q) for q in args.queries.split(",") if q] or sorted(queries)
        print(f"\n{'query':>5} {'lakeglue s':>11} {'duckdb s':>9} {'ratio':>6} {'cpu ratio':>9}  answer")
        total_ours = total_ref = cpu_ours = cpu_ref = 0.0
        correct = 0
        for number in chosen:
            sql = queries[number].strip().rstrip(";")
            ref_s, ref_rows, ref_cpu = timed(lambda q=sql: plain.execute(q).fetchall(), args.repeat)
            try:
                our_s, result, our_cpu = timed(lambda q=sql: run_query(q, database="tpch", output=None,
                                                                       catalog=catalog, lake=lake, settings=settings),
                                               args.repeat)
                problem = check_answer(result.rows, answers[number])
            except QueryError as exc:
                our_s, our_cpu, problem = float("nan"), float("nan"), f"failed: {str(exc).splitlines()[0]}"
            ref_problem = check_answer([tuple(r) for r in ref_rows], answers[number])
            if ref_problem:  # the reference itself must match, or the comparison means nothing
                problem = f"{problem or 'ok'}; plain DuckDB: {ref_problem}"
            correct += problem is None
            if not math.isnan(our_s):
                total_ours += our_s
                total_ref += ref_s
                cpu_ours += our_cpu
                cpu_ref += ref_cpu
            print(f"{number:>5} {our_s:>11.3f} {ref_s:>9.3f} {our_s / ref_s:>6.2f} {our_cpu / ref_cpu:>9.2f}  "
                  f"{problem or 'ok'}")
        plain.close()
        tpch_ratio = total_ours / total_ref if total_ref else float("nan")
        tpch_cpu_ratio = cpu_ours / cpu_ref if cpu_ref else float("nan")
        ctas_ratio = (crawl_s + ctas_s) / copy_s
        ctas_cpu_ratio = (crawl_cpu + ctas_cpu) / copy_cpu
        print(f"{'total':>5} {total_ours:>11.3f} {total_ref:>9.3f} {tpch_ratio:>6.2f} {tpch_cpu_ratio:>9.2f}")
        print(f"RESULT tpch_ratio={tpch_ratio:.2f} ctas_ratio={ctas_ratio:.2f} tpch_correct={correct} "
              f"tpch_cpu_ratio={tpch_cpu_ratio:.2f} ctas_cpu_ratio={ctas_cpu_ratio:.2f} queries={len(chosen)} "
              f"scale={args.scale:g} lakeglue_s={total_ours:.3f} duckdb_s={total_ref:.3f} crawl_s={crawl_s:.3f} "
              f"ctas_s={ctas_s:.3f} copy_s={copy_s:.3f}")
        return 0 if correct == len(chosen) else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
