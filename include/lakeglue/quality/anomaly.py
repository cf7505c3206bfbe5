"""Anomaly rules: judge today's value of a metric against the band of its own recent history.

``DetectAnomalies "RowCount"`` has no fixed bounds: before each validation the band is
computed from the values the same metric had on the same table in the last N runs (read
from the history table) and the rule becomes an ordinary GX expectation with those bounds.
GX then measures and judges, so the observed value, the Data Docs page and the history row
look like those of any other rule.

Which runs count: earlier runs only (never the current run id, so a retry is not compared
with its own first attempt), and only runs in which every rule on that metric passed — a
value that was itself an anomaly (or failed ``RowCount > 0``) must not widen tomorrow's band.
Until ``min_runs`` such runs exist the rule is "warming up": it records the value and passes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from lakeglue.quality.errors import QualityError

if TYPE_CHECKING:  # suite.py imports this module for AnomalySpec
    from lakeglue.quality.suite import SuiteSpec

Method = Literal["stddev", "minmax"]
METHODS: tuple[Method, ...] = ("stddev", "minmax")


@dataclass(frozen=True)
class AnomalySpec:
    """How one ``DetectAnomalies`` rule builds its band (the suite's ``anomaly:`` options)."""

    #: Metric key as stored in history, e.g. ``RowCount`` or ``Completeness "email"``.
    metric: str
    #: How many of the most recent earlier runs form the band.
    runs: int = 10
    #: Fewer earlier runs than this: no band yet, the rule passes (warming up).
    min_runs: int = 3
    #: ``stddev``: mean ± k * sample stddev; ``minmax``: [min, max] of the runs.
    method: Method = "stddev"
    k: float = 3.0
    #: Extra width as a fraction of the band's centre (stddev) or edges (minmax): 0.05 = ±5 %.
    tolerance: float = 0.0


@dataclass(frozen=True)
class Band:
    """The computed bounds plus the numbers behind them, for the readable failure message."""

    min_value: float | int | None
    max_value: float | int | None
    note: str


def compute_band(spec: AnomalySpec, values: Sequence[float], whole: bool = False) -> Band:
    """The band for ``values`` (most recent first); unbounded while fewer than ``min_runs`` exist.

    ``whole`` metrics (counts) get integer bounds rounded outwards and never below 0: GX's
    count expectations take integers, and truncating 95.7 to 95 would silently move the band.
    """
    used = list(values[: spec.runs])
    if len(used) < spec.min_runs:
        return Band(None, None, f"warming up: {len(used)} of {spec.min_runs} earlier runs in history, no band yet")
    if spec.method == "minmax":
        low, high = min(used), max(used)
        low, high = low - spec.tolerance * abs(low), high + spec.tolerance * abs(high)
        how = f"min {_num(min(used))}, max {_num(max(used))}"
    else:
        mean = statistics.fmean(used)
        sigma = statistics.stdev(used) if len(used) > 1 else 0.0
        width = spec.k * sigma + spec.tolerance * abs(mean)
        low, high = mean - width, mean + width
        how = f"mean {_num(mean)}, stddev {_num(sigma)}, k {_num(spec.k)}"
    if spec.tolerance:
        how += f", tolerance {_num(spec.tolerance)}"
    note = f"band of the last {len(used)} runs: {how}"
    if whole:
        return Band(max(0, math.floor(low)), math.ceil(high), note)
    return Band(_round(low), _round(high), note)


def resolve_anomalies(suite: SuiteSpec, table: str, history_url: str | None,
                      run_id: str) -> tuple[SuiteSpec, dict[int, str]]:
    """``suite`` with every ``DetectAnomalies`` check bounded by its band; also the band notes by index."""
    if not suite.has_anomaly_rules:
        return suite, {}
    if not history_url:
        first = next(e for e in suite.expectations if e.anomaly is not None)
        raise QualityError(f"{suite.where(first)}: rule {first.rule!r} needs the quality history: pass history_url "
                           f"(the catalog URL) to validate suite {suite.name}")
    from lakeglue.quality.dqdl import METRICS
    from lakeglue.quality.history import metric_series

    notes: dict[int, str] = {}
    checks = []
    for exp in suite.expectations:
        if exp.anomaly is None:
            checks.append(exp)
            continue
        values = metric_series(history_url, table, exp.anomaly.metric, run_id, exp.anomaly.runs)
        whole = METRICS[exp.anomaly.metric.split(" ", 1)[0]][2]
        band = compute_band(exp.anomaly, values, whole=whole)
        bounds = {k: v for k, v in (("min_value", band.min_value), ("max_value", band.max_value)) if v is not None}
        checks.append(replace(exp, kwargs={**exp.kwargs, **bounds}))
        notes[exp.index] = band.note
    return replace(suite, expectations=tuple(checks)), notes


def observed_number(value: Any) -> float | None:
    """A history ``observed_value`` as a float, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _round(value: float) -> float:
    """Six decimals: keeps bounds readable in summaries and Data Docs without moving them."""
    return round(value, 6)


def _num(value: float) -> str:
    return f"{value:.6g}"
