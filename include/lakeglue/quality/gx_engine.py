"""Run a :class:`SuiteSpec` with Great Expectations 1.x and turn GX's answer into a QualityResult.

One entry point for both engines: a pandas DataFrame (the Airflow task reading a catalog
table) runs on GX's pandas engine, a PySpark DataFrame (a Spark job validating what it is
about to publish) on GX's Spark engine, in the caller's SparkSession. GX is imported inside
the functions: the import takes ~4 s and pulls in pyspark, and this module is reachable from
Airflow DAG parsing. Each validation uses a fresh ephemeral context, so concurrent tasks
share nothing; with Data Docs enabled its result and suite stores are directories in the
results zone (:mod:`lakeglue.quality.data_docs`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from lakeglue.quality.anomaly import resolve_anomalies
from lakeglue.quality.errors import QualityError, SuiteError
from lakeglue.quality.result import SAMPLE_SIZE, QualityResult, RuleResult, json_safe
from lakeglue.quality.suite import ExpectationSpec, SuiteSpec

if TYPE_CHECKING:
    from lakeglue.quality.data_docs import DataDocsLocation
    from lakeglue.quality.quarantine import QuarantineTarget

#: Meta key that ties a GX result back to the suite rule (GX does not keep the suite's order).
_INDEX_KEY = "lakeglue_index"
_DATASOURCE = "lakeglue"


def import_gx() -> ModuleType:
    """Import GX (cached by Python after the first call), muting PySpark's pandas-3 FutureWarning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        import great_expectations as gx
        import great_expectations.expectations  # the expectation classes, looked up by name
    return gx


def build_expectation(suite: SuiteSpec, exp: ExpectationSpec) -> Any:
    """The GX expectation object for one rule; GX's own kwarg checks become a :class:`SuiteError`.

    The rule text and severity travel along as GX ``notes``/``severity`` so Data Docs show them.
    """
    gx = import_gx()
    from great_expectations.expectations.metadata_types import FailureSeverity

    cls = getattr(gx.expectations, exp.expectation_type.class_name, None)
    if cls is None:
        raise SuiteError(f"{suite.where(exp)}: {exp.type} has no class "
                         f"{exp.expectation_type.class_name} in great_expectations {gx.__version__}")
    notes = [f"lakeglue rule: {exp.rule}"] if exp.rule else []
    if exp.description:
        notes.append(exp.description)
    severity = FailureSeverity.CRITICAL if exp.severity == "error" else FailureSeverity.WARNING
    try:
        return cls(**exp.kwargs, meta={_INDEX_KEY: exp.index}, notes=notes or None, severity=severity)
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


def is_spark_dataframe(df: Any) -> bool:
    """True for a PySpark (classic or Connect) DataFrame, without importing pyspark for pandas callers."""
    return any(cls.__module__.startswith("pyspark.sql") and cls.__name__ == "DataFrame" for cls in type(df).__mro__)


def run_gx(suite: SuiteSpec, df: Any, table_name: str, run_id: str, evaluated_at: datetime,
           result_format: str | dict[str, Any], docs: DataDocsLocation | None) -> tuple[dict[int, Any], Any]:
    """Validate ``df`` with GX; returns GX's rule results by suite index, and the stored result key (docs)."""
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from lakeglue.quality.data_docs import new_context

    expectations = build_expectations(suite)
    context = new_context(docs)
    batch_definition = _add_asset(context, df, table_name).add_batch_definition_whole_dataframe("whole_table")
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for expectation in expectations:
        gx_suite.add_expectation(expectation)
    gx_suite = context.suites.add_or_update(gx_suite) if docs else context.suites.add(gx_suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name}__{run_id}", data=batch_definition, suite=gx_suite))
    run = RunIdentifier(run_name=run_id, run_time=evaluated_at)
    outcome = definition.run(batch_parameters={"dataframe": df}, result_format=result_format, run_id=run)

    by_index: dict[int, Any] = {}
    for rule_result in outcome.results:
        meta = rule_result.expectation_config.meta or {}
        by_index[int(meta[_INDEX_KEY])] = rule_result
    missing = [exp.index for exp in suite.expectations if exp.index not in by_index]
    if missing:
        raise QualityError(f"{suite.name} on {table_name}: GX returned no result for expectations {missing}")
    key = None
    if docs is not None:
        batch_id = batch_definition.get_batch(batch_parameters={"dataframe": df}).id
        key = ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
                                         run_id=run, batch_identifier=batch_id).to_tuple()
    return by_index, key


def validate_dataframe(suite: SuiteSpec, df: Any, table_name: str, run_id: str, *, history_url: str | None = None,
                       docs: DataDocsLocation | None = None,
                       quarantine: QuarantineTarget | None = None) -> QualityResult:
    """Evaluate every rule of ``suite`` on a pandas or PySpark DataFrame.

    :param history_url: catalog URL; needed when the suite has ``DetectAnomalies`` rules.
    :param docs: keep the GX result in the results zone for Data Docs (see :func:`build_data_docs`).
    :param quarantine: write the rows failing row-level rules there (a second GX pass, failures only).
    """
    resolved, notes = resolve_anomalies(suite, table_name, history_url, run_id)
    evaluated_at = datetime.now(UTC)
    by_index, key = run_gx(resolved, df, table_name, run_id, evaluated_at, "SUMMARY", docs)
    rules = tuple(_rule_result(exp, by_index[exp.index], notes.get(exp.index)) for exp in resolved.expectations)
    row_count = int(df.count()) if is_spark_dataframe(df) else len(df)
    result = QualityResult(suite=suite.name, table=table_name, run_id=run_id, rules=rules,
                           evaluated_at=evaluated_at, row_count=row_count, docs_key=key)
    if quarantine is not None:
        from lakeglue.quality.quarantine import quarantine_failed_rows

        location, count = quarantine_failed_rows(resolved, df, result, quarantine)
        result = replace(result, quarantine_location=location, rows_quarantined=count)
    return result


def validate_spark_dataframe(suite: SuiteSpec, df: Any, table_name: str, run_id: str, *,
                             history_url: str | None = None, docs: DataDocsLocation | None = None,
                             quarantine: QuarantineTarget | None = None) -> QualityResult:
    """:func:`validate_dataframe` for a Spark job: same rules, GX's Spark engine, the job's session.

    Pass a cached DataFrame (or one read back from what was written): GX runs one Spark
    job per metric, and a quarantine pass runs a few more.
    """
    if not is_spark_dataframe(df):
        raise TypeError(f"validate_spark_dataframe needs a PySpark DataFrame, got {type(df).__module__}."
                        f"{type(df).__name__}")
    return validate_dataframe(suite, df, table_name, run_id, history_url=history_url, docs=docs,
                              quarantine=quarantine)


def _add_asset(context: Any, df: Any, table_name: str) -> Any:
    """The GX data asset for ``df``'s engine; the asset is named after the table (shown in Data Docs)."""
    if is_spark_dataframe(df):
        return context.data_sources.add_spark(name=_DATASOURCE).add_dataframe_asset(name=table_name)
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate_dataframe needs a pandas or PySpark DataFrame, got "
                        f"{type(df).__module__}.{type(df).__name__}")
    return context.data_sources.add_pandas(name=_DATASOURCE).add_dataframe_asset(name=table_name)


def _rule_result(exp: ExpectationSpec, gx_result: Any, note: str | None = None) -> RuleResult:
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
        name=exp.label, rule=exp.rule, metric=exp.metric, note=note,
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
