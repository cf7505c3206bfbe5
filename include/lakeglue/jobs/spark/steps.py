"""Custom silver steps on Spark: ``fn(df: pyspark.sql.DataFrame) -> DataFrame``, applied in order.

Rules and placement are shared with DuckDB (:mod:`lakeglue.jobs.custom_steps`). A step using a
Python UDF needs its module on the executors: spark-submit and Glue get the ``pipeline_steps``
package in the shipped code zip; for sessions started in-process (``lakeglue run``, tests), whose
Python workers may not have ``include/`` on their path, the package is also registered with
PySpark's cloudpickle to be pickled by value, so executors never have to import it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from lakeglue.jobs.custom_steps import StepError, check_columns, data_columns, label, resolve
from lakeglue.pipelines.spec import STEPS_PACKAGE, SilverTableSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ENGINE = "spark"


def _pickle_steps_by_value() -> None:
    from pyspark import cloudpickle

    package = sys.modules.get(STEPS_PACKAGE)
    if package is not None and STEPS_PACKAGE not in cloudpickle.list_registry_pickle_by_value():
        cloudpickle.register_pickle_by_value(package)


def apply_steps(table: str, ts: SilverTableSpec, rows: DataFrame, columns: list[str]) -> tuple[DataFrame, list[str]]:
    """Run the table's steps over its typed good rows; returns the rows and the silver data columns.

    ``columns`` are the data columns without steps (declared, then kept drift columns); the
    engine's internal ``__`` columns are dropped before the first step sees the rows.
    """
    if not ts.steps:
        return rows, columns
    from pyspark.sql import DataFrame

    rows = rows.drop(*(c for c in rows.columns if c.startswith("__")))
    for step in ts.steps:
        function = resolve(table, step, ENGINE)
        _pickle_steps_by_value()
        result = function(rows)
        if not isinstance(result, DataFrame):
            raise StepError(f"{label(table, step)}: spark function {step.spark!r} returned "
                            f"{type(result).__module__}.{type(result).__name__}, not a pyspark DataFrame")
        check_columns(table, step, ENGINE, ts, result.columns)
        rows = result
    return rows, data_columns(rows.columns)
