"""The data-quality gate: suites from ``include/quality/*.yml`` run with Great Expectations.

Importing this package is cheap (no GX, pandas or pyarrow): those load only when a
validation actually runs, so DAG parsing and the CLI stay fast.
"""

from lakeglue.quality.errors import QualityError, QualityGateFailed, SuiteError
from lakeglue.quality.gx_engine import validate_dataframe
from lakeglue.quality.history import history, record_history
from lakeglue.quality.result import QualityResult, RuleResult, check
from lakeglue.quality.runner import run_quality, validate_table
from lakeglue.quality.suite import ExpectationSpec, SuiteSpec, load_suite

__all__ = [
    "ExpectationSpec", "QualityError", "QualityGateFailed", "QualityResult", "RuleResult", "SuiteError",
    "SuiteSpec", "check", "history", "load_suite", "record_history", "run_quality", "validate_dataframe",
    "validate_table",
]
