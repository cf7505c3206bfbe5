"""Engine-neutral validation results and the readable summary a failed gate shows.

GX's result objects are big, engine-specific and not JSON-safe (NaN, numpy scalars,
Decimals); these dataclasses keep what an operator, the history table and a person reading
a task log need, in plain values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from lakeglue.quality.errors import QualityGateFailed
from lakeglue.quality.suite import Severity

#: Sample bad values kept per rule (GX returns up to 20).
SAMPLE_SIZE = 5

#: kwargs that say *what* a table-level rule expected, shown next to the observed value.
_NOT_EXPECTATIONS = frozenset({"column", "column_A", "column_B", "column_list", "row_condition", "condition_parser"})


@dataclass(frozen=True)
class RuleResult:
    index: int
    type: str
    columns: tuple[str, ...]
    severity: Severity
    success: bool
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Aggregate rules (row count, mean, ...) report what they measured here.
    observed_value: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    #: A few offending values (nulls as ``None``); rows as ``{column: value}`` for multi-column rules.
    sample: tuple[Any, ...] = ()
    #: Set when the rule could not be evaluated at all (e.g. the column does not exist).
    error: str | None = None
    #: How the suite names the check (the rule text for compact rules); "" → the GX label.
    name: str = ""
    #: The compact rule as written (``IsUnique "order_id"``); "" for GX configs.
    rule: str = ""
    #: History key of the measured number (``RowCount``), see :func:`lakeglue.quality.dqdl.metric_key`.
    metric: str | None = None
    #: Extra context for the reader, e.g. the band an anomaly rule was judged against.
    note: str | None = None

    @property
    def label(self) -> str:
        """``IsUnique "order_id"`` for compact rules, ``expect_column_values_to_be_unique(order_id)`` otherwise."""
        if self.name:
            return self.name
        return f"{self.type}({', '.join(self.columns)})" if self.columns else self.type

    def describe(self) -> str:
        """One line saying what went wrong, for the summary."""
        head = f"{self.severity.upper()} {self.label}"
        if self.error:
            return f"{head}: could not be evaluated: {self.error}"
        if self.type == "expect_column_to_exist":  # GX reports nothing else for it
            return f"{head}: column {', '.join(self.columns)} not found"
        if self.unexpected_count is not None:
            rows = "row" if self.unexpected_count == 1 else "rows"
            text = f"{head}: {self.unexpected_count} unexpected {rows}"
            if self.unexpected_percent is not None:
                text += f" ({_percent(self.unexpected_percent)})"
            shown = [v for v in self.sample if v is not None]
            if shown:
                text += f", e.g. [{', '.join(_show(v) for v in self.sample)}]"
            return text
        expected = ", ".join(f"{k}={_show(v)}" for k, v in self.kwargs.items() if k not in _NOT_EXPECTATIONS)
        text = f"{head}: observed {_show(self.observed_value)}"
        text = f"{text}, expected {expected}" if expected else text
        return f"{text} ({self.note})" if self.note else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "type": self.type, "columns": list(self.columns), "severity": self.severity,
            "success": self.success, "kwargs": json_safe(self.kwargs), "observed_value": json_safe(self.observed_value),
            "element_count": self.element_count, "unexpected_count": self.unexpected_count,
            "unexpected_percent": json_safe(self.unexpected_percent), "sample": json_safe(list(self.sample)),
            "error": self.error, "label": self.label, "rule": self.rule, "metric": self.metric, "note": self.note,
        }


@dataclass(frozen=True)
class QualityResult:
    suite: str
    #: Qualified table name (``ecommerce_silver.orders``) or the name the caller gave.
    table: str
    run_id: str
    rules: tuple[RuleResult, ...]
    evaluated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    row_count: int | None = None
    #: Key of GX's stored validation result (``ValidationResultIdentifier.to_tuple()``), when kept for Data Docs.
    docs_key: tuple[str, ...] | None = None
    #: The rendered Data Docs page of this validation, once built.
    data_docs_page: str | None = None
    #: Where failing rows of row-level rules were written, and how many (one record per row and rule).
    quarantine_location: str | None = None
    rows_quarantined: int = 0
    #: The catalog version and location of the table that was validated (None for a bare DataFrame):
    #: a job reading the table later can tell whether the version it reads is one that passed.
    table_version: int | None = None
    location: str | None = None

    @property
    def success(self) -> bool:
        """False iff an ``error``-severity rule failed; warnings never fail the gate."""
        return not self.errors

    @property
    def errors(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if not r.success and r.severity == "error")

    @property
    def warnings(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if not r.success and r.severity == "warn")

    def summary(self) -> str:
        """``ecommerce_orders on ecommerce_silver.orders: 2 of 6 rules failed — ERROR ...; WARN ...``."""
        head = f"{self.suite} on {self.table}"
        failed = self.errors + self.warnings
        if not failed:
            return f"{head}: all {len(self.rules)} rules passed"
        note = "" if self.errors else " (warnings only, the gate passes)"
        details = "; ".join(r.describe() for r in failed)
        return f"{head}: {len(failed)} of {len(self.rules)} rules failed{note} — {details}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (NaN → None), small enough for an XCom."""
        return {
            "suite": self.suite, "table": self.table, "run_id": self.run_id, "success": self.success,
            "evaluated_at": self.evaluated_at.isoformat(), "row_count": self.row_count,
            "summary": self.summary(), "rules": [r.to_dict() for r in self.rules],
            "data_docs_page": self.data_docs_page, "quarantine_location": self.quarantine_location,
            "rows_quarantined": self.rows_quarantined,
        }

    def to_xcom(self) -> dict[str, Any]:
        """The compact form an Airflow task pushes: verdict, counts and only the failed rules."""
        failed = [r for r in self.rules if not r.success]
        return {
            "suite": self.suite, "table": self.table, "run_id": self.run_id, "success": self.success,
            "row_count": self.row_count, "rules": len(self.rules), "failed": len(failed),
            "errors": len(self.errors), "warnings": len(self.warnings),
            "failures": [{"rule": r.label, "severity": r.severity, "columns": list(r.columns),
                          "unexpected_count": r.unexpected_count, "observed_value": json_safe(r.observed_value),
                          "sample": json_safe(list(r.sample))} for r in failed],
            "summary": self.summary(), "data_docs_page": self.data_docs_page,
            "quarantine_location": self.quarantine_location, "rows_quarantined": self.rows_quarantined,
        }


def check(*results: QualityResult) -> None:
    """Raise :class:`QualityGateFailed` with every failed result's summary; do nothing if all passed."""
    failed = [r for r in results if not r.success]
    if failed:
        raise QualityGateFailed("\n".join(r.summary() for r in failed))


def json_safe(value: Any) -> Any:
    """Plain JSON values: NaN/NA/NaT → None, numpy scalars → Python, Decimal → float, dates → ISO."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if _is_missing(value):  # before the datetime branch: pandas.NaT is a datetime
        return None
    if isinstance(value, Decimal):
        return json_safe(float(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp subclasses datetime; numpy datetime64 not
    if callable(isoformat):
        return isoformat()
    return str(value)


def _is_missing(value: Any) -> bool:
    """pandas.NA, NaT and numpy NaN without importing pandas (it may not be loaded)."""
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value)  # NaN is the only value unequal to itself
    except (TypeError, ValueError):
        return False


def _percent(value: float) -> str:
    """Three significant digits, but never "100%" for a partial failure."""
    text = f"{value:.3g}"
    if text == "100" and value < 100:
        text = "99.9"
    return f"{text}%"


def _show(value: Any) -> str:
    """Compact display: strings quoted, rows as ``(a=1, b=2)``, nulls as ``null``."""
    value = json_safe(value)
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:.6g}"  # 0.181818, not 0.18181818181818182
    return str(value)
