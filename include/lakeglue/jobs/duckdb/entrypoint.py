"""The process a DuckDB job runs in: ``python -m lakeglue.jobs.duckdb.entrypoint --job bronze --pipeline …``.

The same arguments as the Spark entry point, so the orchestrator submits either engine the
same way: locally as a subprocess of the worker (a crash or kill cannot take the worker
down, and memory is returned when the job ends), as a Glue Python shell job in aws.
Metrics go to ``--metrics-out`` as JSON for the operator to return.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.metrics import JobMetrics

JOBS = ("bronze", "silver", "gold")


def jobs() -> dict[str, Callable[[duckdb.DuckDBPyConnection, JobContext], JobMetrics]]:
    from lakeglue.jobs.duckdb.bronze import run_bronze
    from lakeglue.jobs.duckdb.gold import run_gold
    from lakeglue.jobs.duckdb.silver import run_silver

    return {"bronze": run_bronze, "silver": run_silver, "gold": run_gold}


def run_job(job: str, ctx: JobContext) -> JobMetrics:
    """Run one job on a fresh connection configured from the context's settings."""
    from lakeglue.jobs.duckdb.session import connect

    con = connect(ctx.settings)
    try:
        return jobs()[job](con, ctx)
    finally:
        con.close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakeglue-duckdb-job", description=__doc__)
    parser.add_argument("--job", required=True, choices=JOBS)
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--dt-from", default=None)
    parser.add_argument("--dt-to", default=None)
    parser.add_argument("--metrics-out", default=None)
    # Glue adds its own arguments (--JOB_ID, --JOB_RUN_ID, ...): ignore what is not ours.
    args, _unknown = parser.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from lakeglue.jobs.context import JobContext

    ctx = JobContext.create(args.pipeline, args.run_id, full_refresh=args.full_refresh,
                            dt_from=args.dt_from, dt_to=args.dt_to)
    metrics = run_job(args.job, ctx)
    print(metrics.summary(), flush=True)
    if args.metrics_out:
        metrics.write(args.metrics_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
