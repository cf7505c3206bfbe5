"""The application ``spark-submit`` runs: ``entrypoint.py --job bronze --pipeline ecommerce --run-id …``.

One entry point for all three jobs keeps submission uniform (SparkSubmitOperator locally,
Glue/EMR in aws); metrics go to ``--metrics-out`` as JSON for the operator to return.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakeglue.jobs.context import JobContext
    from lakeglue.jobs.metrics import JobMetrics


def _jobs() -> dict[str, Callable[[SparkSession, JobContext], JobMetrics]]:
    from lakeglue.jobs.spark.bronze import run_bronze
    from lakeglue.jobs.spark.gold import run_gold
    from lakeglue.jobs.spark.silver import run_silver

    return {"bronze": run_bronze, "silver": run_silver, "gold": run_gold}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakeglue-spark-job", description=__doc__)
    parser.add_argument("--job", required=True, choices=["bronze", "silver", "gold"])
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
    from lakeglue.jobs.spark.session import build_spark

    ctx = JobContext.create(args.pipeline, args.run_id, full_refresh=args.full_refresh,
                            dt_from=args.dt_from, dt_to=args.dt_to)
    spark = build_spark(f"lakeglue-{args.pipeline}-{args.job}", ctx.settings)
    try:
        metrics = _jobs()[args.job](spark, ctx)
    finally:
        spark.stop()
    print(metrics.summary(), flush=True)
    if args.metrics_out:
        metrics.write(args.metrics_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
