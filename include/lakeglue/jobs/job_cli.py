"""The command line both engines' entry points share, so either is submitted the same way.

``--job bronze --pipeline ecommerce --run-id … [--full-refresh] [--dt-from …] [--dt-to …]
[--metrics-out metrics.json]``: the orchestrator (SparkSubmitOperator, a worker subprocess,
a Glue job) builds one argument list whichever engine runs the job.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.metrics import JobMetrics

JOBS = ("bronze", "silver", "gold")


def parse_job_args(prog: str, description: str | None, argv: list[str]) -> argparse.Namespace:
    """The job's arguments; Glue's own (``--JOB_ID``, ``--JOB_RUN_ID``, …) are ignored, not errors."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--job", required=True, choices=JOBS)
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--dt-from", default=None)
    parser.add_argument("--dt-to", default=None)
    parser.add_argument("--metrics-out", default=None)
    args, _unknown = parser.parse_known_args(argv)
    return args


def run_from_args(args: argparse.Namespace, run: Callable[[str, JobContext], JobMetrics]) -> int:
    """Build the job's context, run it on the engine's ``run``, print and write its metrics.

    The job's input tables stay pinned at the versions it starts from while it runs, so
    retention cannot delete them under it.
    """
    from lakeglue.catalog.pins import pinned_job_inputs
    from lakeglue.jobs.context import JobContext

    ctx = JobContext.create(args.pipeline, args.run_id, full_refresh=args.full_refresh,
                            dt_from=args.dt_from, dt_to=args.dt_to)
    with pinned_job_inputs(ctx.catalog, ctx.settings, ctx.spec, args.job, args.run_id):
        metrics = run(args.job, ctx)
    print(metrics.summary(), flush=True)
    if args.metrics_out:
        metrics.write(args.metrics_out)
    return 0
