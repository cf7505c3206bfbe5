"""The process a DuckDB job runs in: ``python -m lakeglue.jobs.duckdb.entrypoint --job bronze --pipeline …``.

The same arguments as the Spark entry point, so the orchestrator submits either engine the
same way: locally as a subprocess of the worker (a crash or kill cannot take the worker
down, and memory is returned when the job ends), as a Glue job in aws.
Metrics go to ``--metrics-out`` as JSON for the operator to return.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.metrics import JobMetrics

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


def main(argv: list[str] | None = None) -> int:
    from lakeglue.jobs.job_cli import parse_job_args, run_from_args

    args = parse_job_args("lakeglue-duckdb-job", __doc__, sys.argv[1:] if argv is None else argv)
    return run_from_args(args, run_job)


if __name__ == "__main__":
    sys.exit(main())
