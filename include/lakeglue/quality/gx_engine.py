"""Run a :class:`SuiteSpec` with Great Expectations 1.x and turn GX's answer into a QualityResult.

GX is imported inside the functions: the import takes ~4 s and pulls in pyspark, and this
module is reachable from Airflow DAG parsing. Each validation uses a fresh *ephemeral*
context (in memory, ~5 ms), so concurrent tasks share nothing and nothing is written to disk.
Only the pandas engine is wired today; the datasource is chosen in one place
(:func:`_add_datasource`) so Spark DataFrames can be added there.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from lakeglue.quality.errors import QualityError, SuiteError
from lakeglue.quality.result import SAMPLE_SIZE, QualityResult, RuleResult, json_safe
from lakeglue.quality.suite import ExpectationSpec, SuiteSpec

if TYPE_CHECKING:
    import pandas as pd

#: Meta key that ties a GX result back to the suite rule (GX does not keep the suite's order).
_INDEX_KEY = "lakeglue_index"


def import_gx() -> ModuleType:
    """Import GX (cached by Python after the first call), muting PySpark's pandas-3 FutureWarning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        import great_expectations as gx
        import great_expectations.expectations  # the expectation classes, looked up by name
    return gx


def build_expectation(suite: SuiteSpec, exp: ExpectationSpec) -> Any:
    """The GX expectation object for one rule; GX's own kwarg checks become a :class:`SuiteError`."""
    gx = import_gx()
    cls = getattr(gx.expectations, exp.expectation_type.class_name, None)
    if cls is None:
        raise SuiteError(f"{suite.where(exp)}: {exp.type} has no class "
                         f"{exp.expectation_type.class_name} in great_expectations {gx.__version__}")
    try:
        return cls(**exp.kwargs, meta={_INDEX_KEY: exp.index})
    except ValueError as exc:  # pydantic.v1 ValidationError is a ValueError
        raise SuiteError(f"{suite.where(exp)}: {exp.type}: invalid kwargs: {_validation_problem(exc)}") from None


def _validation_problem(exc: ValueError) -> str:
    """First message per field of a pydantic error (GX lists one per Union alternative, mostly noise)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    first: dict[str, str] = {}
    for err in errors():
        first.setdefault(".".join(str(p) for p in err.get("loc", ())) or "kwargs", str(err.get("msg")))
    return "; ".join(f"{field}: {msg}" for field, msg in first.items()) or str(exc)


def build_expectations(suite: SuiteSpec) -> list[Any]:
    """All GX expectations of a suite: a full check of a suite file (types and values) without data."""
    return [build_expectation(suite, exp) for exp in suite.expectations]


def validate_dataframe(suite: SuiteSpec, df: pd.DataFrame, table_name: str, run_id: str) -> QualityResult:
    """Evaluate every rule of ``suite`` on an in-memory DataFrame."""
    gx = import_gx()
    expectations = build_expectations(suite)
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                               analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False))
    context = gx.get_context(mode="ephemeral", project_config=config)
    batch_definition = _add_datasource(context, df).add_batch_definition_whole_dataframe("whole_table")
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for expectation in expectations:
        gx_suite.add_expectation(expectation)
    gx_suite = context.suites.add(gx_suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name}__{run_id}", data=batch_definition, suite=gx_suite))
    evaluated_at = datetime.now(UTC)
    outcome = definition.run(batch_parameters={"dataframe": df}, result_format="SUMMARY")

    by_index: dict[int, Any] = {}
    for rule_result in outcome.results:
        meta = rule_result.expectation_config.meta or {}
        by_index[int(meta[_INDEX_KEY])] = rule_result
    missing = [exp.index for exp in suite.expectations if exp.index not in by_index]
    if missing:
        raise QualityError(f"{suite.name} on {table_name}: GX returned no result for expectations {missing}")
    rules = tuple(_rule_result(exp, by_index[exp.index]) for exp in suite.expectations)
    return QualityResult(suite=suite.name, table=table_name, run_id=run_id, rules=rules,
                         evaluated_at=evaluated_at, row_count=len(df))


def _add_datasource(context: Any, df: Any) -> Any:
    """The GX data asset for ``df``'s engine (pandas today; a Spark branch belongs here)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate_dataframe needs a pandas DataFrame, got {type(df).__module__}.{type(df).__name__}")
    return context.data_sources.add_pandas(name="lakeglue").add_dataframe_asset(name="table")


def _rule_result(exp: ExpectationSpec, gx_result: Any) -> RuleResult:
    result: Mapping[str, Any] = gx_result.result or {}
    sample = tuple(json_safe(v) for v in list(result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE])
    return RuleResult(
        index=exp.index, type=exp.type, columns=exp.columns, severity=exp.severity,
        success=bool(gx_result.success), kwargs=json_safe(exp.kwargs),
        observed_value=json_safe(result.get("observed_value")),
        element_count=_int_or_none(result.get("element_count")),
        unexpected_count=_int_or_none(result.get("unexpected_count")),
        unexpected_percent=json_safe(result.get("unexpected_percent")),
        sample=sample, error=_exception_message(gx_result.exception_info),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _exception_message(info: Any) -> str | None:
    """GX reports a failed evaluation either flat or keyed by metric id; return its first message."""
    if not isinstance(info, Mapping):
        return None
    candidates = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, Mapping)]
    for entry in candidates:
        if entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "unknown error").strip()
            return message.removeprefix("Error: ")
    return None
