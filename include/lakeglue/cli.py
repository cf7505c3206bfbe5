"""``lakeglue`` command line: crawl, inspect the catalog, run jobs, query — no Airflow needed."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakeglue.catalog.base import Catalog


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_sample(args: argparse.Namespace) -> int:
    from lakeglue.sample import generate
    from lakeglue.settings import get_settings
    from lakeglue.storage import Lake

    lake = Lake(get_settings())
    if args.reset and lake.fs.exists(lake.root):
        lake.fs.rm(lake.root, recursive=True)
    lake.ensure_zones()
    manifest = generate(lake.path("raw"), scale=args.scale, seed=args.seed, days=args.days, overwrite=True)
    print(manifest.summary())
    return 0


def cmd_crawl(args: argparse.Namespace) -> int:
    from lakeglue.catalog import open_catalog
    from lakeglue.crawler import config_for_pipeline, crawl
    from lakeglue.crawler.run import CrawlAborted
    from lakeglue.ledger import Ledger
    from lakeglue.pipelines import load_pipeline
    from lakeglue.settings import get_settings
    from lakeglue.storage import Lake

    settings = get_settings()
    overrides = {"recrawl_policy": args.recrawl_policy} if getattr(args, "recrawl_policy", None) else {}
    try:
        result = crawl(config_for_pipeline(load_pipeline(args.pipeline), **overrides), lake=Lake(settings),
                       catalog=open_catalog(settings), ledger=Ledger(settings.catalog_url), dry_run=args.dry_run)
    except CrawlAborted as exc:  # TableThreshold: the plan is printed, nothing was written
        print(exc.result.summary())
        return 4
    print(result.summary())
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from lakeglue.catalog import open_catalog
    from lakeglue.catalog.model import to_dict

    catalog = open_catalog()
    if args.action == "copy":
        return _catalog_copy(catalog, args)
    if args.action == "databases":
        for db in catalog.list_databases():
            print(db.name)
        return 0
    if args.action == "tables":
        for table in catalog.list_tables(args.name):
            cols = ", ".join(f"{c.name} {c.type}" for c in table.all_columns())
            print(f"{table.qualified_name} (v{table.version}, {table.classification}): {cols}")
        return 0
    if args.action == "search":
        return _catalog_search(catalog, args)
    database, _, name = args.name.partition(".")
    if not name:
        print(f"error: expected DATABASE.TABLE, got {args.name!r}", file=sys.stderr)
        return 2
    if args.action == "diff":
        return _catalog_diff(catalog, database, name, args.extra)
    if args.action == "show":
        _print_json(to_dict(catalog.get_table(database, name)))
    elif args.action == "partitions":
        for part in catalog.get_partitions(database, name):
            print("/".join(part.values), part.location)
    elif args.action == "versions":
        for version in catalog.get_table_versions(database, name):
            cols = ", ".join(f"{c.name} {c.type}" for c in version.table.all_columns())
            print(f"v{version.version} {version.table.update_time}: {cols}")
    return 0


def _catalog_copy(catalog: Catalog, args: argparse.Namespace) -> int:
    """``catalog copy [DATABASE] --to URL``: this catalog's tables into another backend (moving a lake)."""
    from lakeglue.catalog.copy import copy_catalog
    from lakeglue.catalog.hms import HiveMetastoreCatalog
    from lakeglue.catalog.sql import SqlCatalog
    from lakeglue.settings import get_settings

    if not args.to:
        print("error: catalog copy needs --to URL (thrift://host:port or a SQLAlchemy URL)", file=sys.stderr)
        return 2
    target: Catalog = (HiveMetastoreCatalog(args.to, args.state_url or get_settings().catalog_url)
                       if args.to.startswith("thrift://") else SqlCatalog(args.to))
    print(copy_catalog(catalog, target, [args.name] if args.name else None).summary())
    return 0


def _catalog_search(catalog: Catalog, args: argparse.Namespace) -> int:
    """``catalog search [TEXT] [--param KEY=VALUE | --param KEY] [--database DB]``."""
    parameters: dict[str, str | None] = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not key:
            print(f"error: --param expects KEY=VALUE or KEY, got {item!r}", file=sys.stderr)
            return 2
        parameters[key] = value if sep else None
    for table in catalog.search_tables(args.name or None, parameters, args.database or None):
        print(f"{table.qualified_name} (v{table.version}, {table.classification or 'unclassified'}) "
              f"{table.location}")
    return 0


def _catalog_diff(catalog: Catalog, database: str, name: str, versions: list[str]) -> int:
    """``catalog diff DB.TABLE V1 [V2]``: V2 defaults to the current version."""
    if not 1 <= len(versions) <= 2 or not all(v.removeprefix("v").isdigit() for v in versions):
        print(f"error: catalog diff expects DB.TABLE V1 [V2] with version numbers, got {versions}", file=sys.stderr)
        return 2
    numbers = [int(v.removeprefix("v")) for v in versions]
    if len(numbers) == 1:
        numbers.append(catalog.get_table(database, name).version)
    print("\n".join(catalog.diff_versions(database, name, numbers[0], numbers[1]).lines()))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run pipeline stages in this process (a local Spark session), as Airflow would in order."""
    from lakeglue.catalog.pins import pinned_job_inputs
    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.duckdb.entrypoint import run_job as run_duckdb_job
    from lakeglue.jobs.engine_choice import choose_engine
    from lakeglue.jobs.spark.bronze import run_bronze
    from lakeglue.jobs.spark.gold import run_gold
    from lakeglue.jobs.spark.session import build_spark
    from lakeglue.jobs.spark.silver import run_silver

    run_id = args.run_id or f"cli__{uuid.uuid4().hex[:12]}"
    ctx = JobContext.create(args.pipeline, run_id, full_refresh=args.full_refresh, dt_from=args.dt_from,
                            dt_to=args.dt_to)
    stages = ["crawl", "bronze", "silver", "quality", "gold"] if args.job == "all" else [args.job]
    spark = None
    try:
        for stage in stages:
            if stage == "crawl":
                cmd_crawl(argparse.Namespace(pipeline=args.pipeline, dry_run=False))
            elif stage == "quality":
                from lakeglue.quality import check, run_quality

                for result in run_quality(ctx.spec, ctx.catalog, ctx.settings, run_id):
                    print(result.summary())
                    check(result)
            else:
                choice = choose_engine(ctx, stage)
                print(f"{stage}: {choice.engine} ({choice.reason})")
                with pinned_job_inputs(ctx.catalog, ctx.settings, ctx.spec, stage, run_id):
                    if choice.engine == "duckdb":
                        print(run_duckdb_job(stage, ctx).summary())
                        continue
                    spark = spark or build_spark(f"lakeglue-{args.pipeline}-cli", ctx.settings)
                    job = {"bronze": run_bronze, "silver": run_silver, "gold": run_gold}[stage]
                    print(job(spark, ctx).summary())
    finally:
        if spark is not None:
            spark.stop()
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from lakeglue.query import QueryError, history_table, list_queries, run_query, run_query_file

    if args.sql == "history" and not args.file:  # `lakeglue query history`: recent queries, newest first
        print(history_table(list_queries(limit=args.limit, state=args.state)))
        return 0
    params = list(args.param or [])
    options = {"database": args.database, "output": args.output, "engine": args.engine}
    try:
        if args.file:
            result = run_query_file(args.file, params=params, **options)
        elif args.sql:
            result = run_query(args.sql, params=params, **options)
        else:
            print("error: give SQL text or -f FILE", file=sys.stderr)
            return 2
    except QueryError as exc:
        print(f"error: query {exc.query_id} failed: {exc}", file=sys.stderr)
        return 2
    print(result.to_table_text(max_rows=args.max_rows))
    print(f"\n{result.row_count} rows; result: {result.output_location}")
    for notice in result.notices():  # e.g. "3 values in db.t.age did not parse as bigint and read as NULL"
        print(f"notice: {notice}", file=sys.stderr)
    return 0


def cmd_dags(args: argparse.Namespace) -> int:
    from lakeglue.pipelines import codegen

    if args.action == "generate":
        for path in codegen.generate():
            print(f"wrote {path}")
        return 0
    stale = codegen.stale()
    for path in stale:
        print(f"stale: {path} does not match its spec; run `lakeglue dags generate`", file=sys.stderr)
    return 1 if stale else 0


def cmd_bookmark(args: argparse.Namespace) -> int:
    from lakeglue.jobs.bookmarks import Bookmarks, ConsumedBatches
    from lakeglue.ledger import Ledger
    from lakeglue.pipelines import load_pipeline
    from lakeglue.settings import get_settings

    spec = load_pipeline(args.pipeline)
    if args.table and args.table not in spec.bronze:
        raise ValueError(f"pipeline {spec.name} has no bronze table {args.table!r}; tables: {', '.join(spec.bronze)}")
    tables = [args.table] if args.table else list(spec.bronze)
    url = get_settings().catalog_url
    ledger, marks, consumed = Ledger(url), Bookmarks(url), ConsumedBatches(url)
    if args.action == "status":
        for table in tables:
            print("\n".join(_bookmark_status(spec.source_key(table), spec.bronze[table].format == "jdbc",
                                              ledger, marks)))
        return 0
    from contextlib import ExitStack

    from lakeglue.jobs.locks import writer_lock

    for table in tables:
        source = spec.source_key(table)
        readers = sorted(name for name, silver in spec.silver.items() if silver.from_ == table)
        with ExitStack() as held:  # not under a running job's feet: its commit would undo the reset
            for lock in [f"{spec.database_for('bronze')}.{table}",
                         *(f"{spec.database_for('silver')}.{name}" for name in readers)]:
                held.enter_context(writer_lock(url, lock))
            if spec.bronze[table].format == "jdbc":
                print(f"{source}: {marks.reset(source)} high-water marks cleared; the next batch reads the whole table")
            else:
                print(f"{source}: {ledger.reset(source)} files will be reprocessed")
            for silver_name in readers:  # silver must re-absorb what bronze re-reads
                consumed.replace(f"{spec.name}/silver/{silver_name}", set())
    return 0


def _bookmark_status(source: str, jdbc: bool, ledger: Any, marks: Any) -> list[str]:
    """Lines of ``bookmark status`` for one source: files per batch and state (or JDBC ranges)."""
    if jdbc:
        ranges = marks.ranges(source)
        lines = [f"{source}: {len(ranges)} JDBC ranges"]
        lines += [f"  batch {b}: ({low or '-'}, {high or '-'}] {state}" for b, low, high, state in ranges]
        return lines
    batches = ledger.status(source)
    waiting = sum(n for b in batches if b.batch_id is None for n in b.counts.values())
    lines = [f"{source}: {waiting} files waiting for a batch"]
    for b in batches:
        if b.batch_id is None:
            continue
        counts = ", ".join(f"{b.counts[s]} {s}" for s in ("claimed", "failed", "done", "new", "announced")
                           if b.counts.get(s))
        lines.append(f"  batch {b.batch_id}: {counts}")
        lines += [f"    error: {e}" for e in sorted(set(b.errors))]
    return lines


def cmd_lifecycle(args: argparse.Namespace) -> int:
    """``lifecycle expire``: superseded table versions (unless pinned), old query results, staging leftovers."""
    from lakeglue.storage import Lake
    from lakeglue.storage.lifecycle import expire_staging
    from lakeglue.storage.retention import run_retention

    if args.staging_only:
        for item in expire_staging(Lake(), older_than_days=args.older_than_days, dry_run=args.dry_run):
            print(f"{'would remove' if args.dry_run else 'removed'} {item.path} ({item.age_days} days old)")
        return 0
    report = run_retention(dry_run=args.dry_run, retention_days=args.older_than_days,
                           results_retention_days=args.results_older_than_days)
    print("\n".join(report.lines()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakeglue", description="lakeglue data-lake engine")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="generate the deterministic sample e-commerce lake in the raw zone")
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--reset", action="store_true", help="delete the whole lake (catalog included) first")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("crawl", help="crawl a pipeline's raw source into the catalog")
    p.add_argument("pipeline")
    p.add_argument("--plan", "--dry-run", dest="dry_run", action="store_true",
                   help="print the plan (tables, columns, types, partitions, reasons) and change nothing")
    p.add_argument("--recrawl-policy", default=None,
                   choices=["CRAWL_INCREMENTAL", "CRAWL_EVERYTHING", "CRAWL_NEW_FOLDERS_ONLY", "CRAWL_EVENT_MODE"],
                   help="override the recrawl policy (default: incremental through the ingestion ledger)")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("catalog", help="inspect the data catalog")
    p.add_argument("action", choices=["databases", "tables", "show", "partitions", "versions", "diff", "search",
                                      "copy"])
    p.add_argument("name", nargs="?", default="", help="DATABASE, DATABASE.TABLE, or the search text")
    p.add_argument("extra", nargs="*", help="diff: V1 [V2] (V2 defaults to the current version)")
    p.add_argument("--param", action="append", help="search: KEY=VALUE, or KEY to only require the key (repeatable)")
    p.add_argument("--database", default="", help="search: only this database")
    p.add_argument("--to", default="", help="copy: the target catalog (thrift://host:port or a SQLAlchemy URL)")
    p.add_argument("--state-url", default="", help="copy: the target's bookkeeping database (LAKEGLUE_STATE_URL)")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("run", help="run pipeline stages in-process (no Airflow)")
    p.add_argument("pipeline")
    p.add_argument("--job", choices=["all", "crawl", "bronze", "silver", "quality", "gold"], default="all")
    p.add_argument("--run-id", default=None)
    p.add_argument("--full-refresh", action="store_true")
    p.add_argument("--dt-from", default=None)
    p.add_argument("--dt-to", default=None)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("query", help="run Trino/Athena SQL over catalog tables (DuckDB in embedded); "
                                     "`lakeglue query history` lists recent queries")
    p.add_argument("sql", nargs="?")
    p.add_argument("-f", "--file")
    p.add_argument("--param", action="append", help="positional ? parameter (repeatable)")
    p.add_argument("--database")
    p.add_argument("--output", choices=["csv", "parquet"], default="csv")
    p.add_argument("--max-rows", type=int, default=50)
    p.add_argument("--engine", choices=["duckdb", "trino", "athena"], default=None,
                   help="override the profile's engine")
    p.add_argument("--limit", type=int, default=20, help="`query history`: how many queries to list")
    p.add_argument("--state", choices=["SUCCEEDED", "FAILED"], default=None, help="`query history`: only these")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("dags", help="generate/check the DAG files of the pipeline specs")
    p.add_argument("action", choices=["generate", "check"])
    p.set_defaults(func=cmd_dags)

    p = sub.add_parser("bookmark", help="job bookmarks (ingestion ledger): reset, or status of files per batch")
    p.add_argument("action", choices=["reset", "status"])
    p.add_argument("pipeline")
    p.add_argument("table", nargs="?")
    p.set_defaults(func=cmd_bookmark)

    p = sub.add_parser("lifecycle", help="expire superseded table versions, old query results and staging data")
    p.add_argument("action", choices=["expire"])
    p.add_argument("--older-than-days", type=float, default=None,
                   help="superseded versions older than this go (default LAKEGLUE_RETENTION_DAYS; with "
                        "--staging-only: staging attempts, default LAKEGLUE_STAGING_TTL_DAYS)")
    p.add_argument("--results-older-than-days", type=float, default=None,
                   help="query results older than this go (default LAKEGLUE_RESULTS_RETENTION_DAYS)")
    p.add_argument("--staging-only", action="store_true", help="only expire staging leftovers")
    p.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    p.set_defaults(func=cmd_lifecycle)

    from lakeglue.quality.commands import add_parser as add_quality_parser

    add_quality_parser(sub)  # lakeglue quality check|lint|history
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from lakeglue.quality.errors import QualityError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, LookupError, OSError, QualityError) as exc:
        from lakeglue.catalog import CatalogError

        print(f"error: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, CatalogError) else 3


if __name__ == "__main__":
    sys.exit(main())
