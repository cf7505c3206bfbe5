"""The application ``spark-submit`` runs: ``entrypoint.py --job bronze --pipeline ecommerce --run-id …``.

One entry point for all three jobs keeps submission uniform (SparkSubmitOperator locally,
Glue/EMR in aws); metrics go to ``--metrics-out`` as JSON for the operator to return.
"""

from __future__ import annotations

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


def run_job(job: str, ctx: JobContext) -> JobMetrics:
    """Run one job on a Spark session built from the context's settings, stopped afterwards."""
    from lakeglue.jobs.spark.session import build_spark

    spark = build_spark(f"lakeglue-{ctx.spec.name}-{job}", ctx.settings)
    try:
        return _jobs()[job](spark, ctx)
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> int:
    from lakeglue.jobs.job_cli import parse_job_args, run_from_args

    args = parse_job_args("lakeglue-spark-job", __doc__, sys.argv[1:] if argv is None else argv)
    return run_from_args(args, run_job)


if __name__ == "__main__":
    sys.exit(main())
