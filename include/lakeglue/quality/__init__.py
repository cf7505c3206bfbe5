"""The data-quality gate: suites from ``include/quality/*.yml`` run with Great Expectations.

Importing this package is cheap (no GX, pandas or pyarrow): those load only when a
validation actually runs, so DAG parsing and the CLI stay fast.
"""

from lakeglue.quality.errors import QualityError, QualityGateFailed, SuiteError
from lakeglue.quality.gx_engine import validate_dataframe, validate_spark_dataframe
from lakeglue.quality.history import history, metric_series, record_history
from lakeglue.quality.result import QualityResult, RuleResult, check
from lakeglue.quality.runner import (
    GateOptions,
    check_dataframe,
    check_table,
    gate_job_output,
    run_quality,
    run_suite_file,
    validate_table,
)
from lakeglue.quality.suite import ExpectationSpec, SuiteSpec, load_suite, parse_suite

__all__ = [
    "ExpectationSpec", "GateOptions", "QualityError", "QualityGateFailed", "QualityResult", "RuleResult",
    "SuiteError", "SuiteSpec", "check", "check_dataframe", "check_table", "gate_job_output", "history", "load_suite",
    "metric_series", "parse_suite",
    "record_history", "run_quality", "run_suite_file", "validate_dataframe", "validate_spark_dataframe",
    "validate_table",
]
