"""Suites as files: ``include/quality/<name>.yml`` → a validated, engine-neutral :class:`SuiteSpec`.

A suite lists its checks in two syntaxes, both allowed in one file:

* ``rules:`` — compact one-line rules close to AWS Glue DQDL (see :mod:`lakeglue.quality.dqdl`),
  each optionally ending in a ``[warn]``/``[error]`` tag, or as a mapping
  ``{rule: ..., severity: warn, description: ..., anomaly: {...}}``;
* ``expectations:`` — GX expectation configs ``{type, kwargs, severity, description}``.

Rules come first, then expectations; every check gets one index in that order (the
``rule_index`` of the history table). The spec is plain data (no GX objects) so it can be
checked at DAG parse time and evaluated by either GX engine. Everything an author can get
wrong is reported here with the file, the item (``rules[2]``), its line and the problem.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from lakeglue.quality.anomaly import METHODS, AnomalySpec
from lakeglue.quality.dqdl import RuleSyntaxError, metric_key, translate
from lakeglue.quality.errors import SuiteError
from lakeglue.quality.expectation_types import COLUMN_KWARGS, EXPECTATION_TYPES, ExpectationType

Severity = Literal["error", "warn"]
SEVERITIES: tuple[Severity, ...] = ("error", "warn")

_SUITE_KEYS = ("suite", "table", "description", "rules", "expectations")
_ITEM_KEYS = ("type", "kwargs", "severity", "description")
_RULE_KEYS = ("rule", "severity", "description", "anomaly")
_ANOMALY_KEYS = ("runs", "min_runs", "method", "k", "tolerance")
_SEVERITY_TAG = re.compile(r"\s*\[\s*([A-Za-z_]+)\s*\]\s*$")


@dataclass(frozen=True)
class ExpectationSpec:
    """One GX expectation of a suite (written as a GX config, or translated from a rule)."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: ``error`` blocks downstream work; ``warn`` is reported only.
    severity: Severity = "error"
    description: str = ""
    #: Position among all checks of the suite (0-based) and the 1-based line of its item in the file.
    index: int = 0
    line: int | None = None
    #: The rule text (without its severity tag) when written in the compact syntax, else "".
    rule: str = ""
    #: The file item it came from: ``rules[2]`` or ``expectations[0]``; "" means ``expectations[index]``.
    origin: str = ""
    #: True when the rule produced several expectations (``IsPrimaryKey``): labels then name the part.
    shared_rule: bool = False
    #: Set for ``DetectAnomalies``: bounds come from history before each validation.
    anomaly: AnomalySpec | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The column(s) the rule checks; empty for table-level rules."""
        if self.type.startswith("expect_table_"):
            return ()
        found: list[str] = []
        for key in COLUMN_KWARGS:
            value = self.kwargs.get(key)
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, list):
                found.extend(str(v) for v in value)
        return tuple(found)

    @property
    def expectation_type(self) -> ExpectationType:
        return EXPECTATION_TYPES[self.type]

    @property
    def gx_label(self) -> str:
        """``expect_column_values_to_be_unique(order_id)``."""
        return f"{self.type}({', '.join(self.columns)})" if self.columns else self.type

    @property
    def label(self) -> str:
        """How summaries name the check: the rule as written, else the GX label."""
        if not self.rule:
            return self.gx_label
        return f"{self.rule} → {self.gx_label}" if self.shared_rule else self.rule

    @property
    def metric(self) -> str | None:
        """History key of the number this check measures (``RowCount``), for anomaly rules."""
        return metric_key(self.type, self.kwargs)

    @property
    def row_level(self) -> bool:
        """Judges rows one by one (GX map expectations): its failing rows can be quarantined."""
        return "mostly" in self.expectation_type.allowed


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    #: Table name inside the layer's database (``orders`` → ``<db>_silver.orders``).
    table: str
    expectations: tuple[ExpectationSpec, ...]
    description: str = ""
    #: File the suite came from; ``None`` for suites built in code.
    path: Path | None = None

    def where(self, exp: ExpectationSpec) -> str:
        """``<file>: rules[2] (line 14)`` — the prefix of every error about one check."""
        source = str(self.path) if self.path else f"suite {self.name}"
        line = f" (line {exp.line})" if exp.line else ""
        return f"{source}: {exp.origin or f'expectations[{exp.index}]'}{line}"

    @property
    def has_anomaly_rules(self) -> bool:
        return any(e.anomaly is not None for e in self.expectations)


def load_suite(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file; raises :class:`SuiteError` naming file, rule, line and problem."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{path}: suite file not found")
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError(f"{path}: not valid YAML{where}: {problem}") from None
    lines = {key: _item_lines(root, key) for key in ("rules", "expectations")}
    return parse_suite(data, path=path, lines=lines)


def parse_suite(data: Any, path: Path | None = None, lines: dict[str, list[int]] | None = None) -> SuiteSpec:
    """Validate an already-parsed suite mapping (also used for suites built in code and tests)."""
    source = str(path) if path else "suite"
    if not isinstance(data, dict):
        raise SuiteError(f"{source}: expected a mapping with keys {list(_SUITE_KEYS)}, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_SUITE_KEYS))
    if unknown:
        raise SuiteError(f"{source}: unknown keys {unknown}; a suite has {list(_SUITE_KEYS)}")
    for key in ("suite", "table"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise SuiteError(f"{source}: '{key}' is required and must be a non-empty string")
    rules, items = data.get("rules"), data.get("expectations")
    for key, value in (("rules", rules), ("expectations", items)):
        if value is not None and not isinstance(value, list):
            raise SuiteError(f"{source}: '{key}' must be a list, got {type(value).__name__}")
    if not rules and not items:
        raise SuiteError(f"{source}: a suite needs at least one check: a non-empty 'rules' (compact rules) or "
                         f"'expectations' (GX configs) list")
    lines = lines or {}
    checks: list[ExpectationSpec] = []
    for i, rule in enumerate(rules or []):
        checks.extend(_parse_rule_item(rule, len(checks), f"rules[{i}]", _line(lines, "rules", i), source))
    for i, item in enumerate(items or []):
        checks.append(_parse_item(item, len(checks), f"expectations[{i}]", _line(lines, "expectations", i), source))
    return SuiteSpec(name=data["suite"], table=data["table"], expectations=tuple(checks),
                     description=str(data.get("description") or ""), path=path)


def _line(lines: dict[str, list[int]], key: str, i: int) -> int | None:
    found = lines.get(key, [])
    return found[i] if i < len(found) else None


def _where(source: str, origin: str, line: int | None) -> str:
    return f"{source}: {origin}" + (f" (line {line})" if line else "")


def _parse_rule_item(item: Any, index: int, origin: str, line: int | None, source: str) -> list[ExpectationSpec]:
    where = _where(source, origin, line)
    options: dict[str, Any] = {}
    if isinstance(item, dict):
        unknown = sorted(set(item) - set(_RULE_KEYS))
        if unknown:
            raise SuiteError(f"{where}: unknown keys {unknown}; a rule mapping has {list(_RULE_KEYS)}")
        options, item = item, item.get("rule")
    if not isinstance(item, str) or not item.strip():
        raise SuiteError(f"{where}: expected a rule like 'IsComplete \"id\"' or a mapping with a 'rule' key, "
                         f"got {item!r}")
    text, severity = _split_severity(item.strip(), where, options.get("severity"))
    try:
        translations = translate(text)
    except RuleSyntaxError as exc:
        at = f" (at character {exc.position + 1})" if exc.position is not None else ""
        raise SuiteError(f"{where}: rule {text!r}: {exc.problem}{at}") from None
    anomaly_options = options.get("anomaly")
    if anomaly_options is not None and not any(t.anomaly_metric for t in translations):
        raise SuiteError(f"{where}: rule {text!r}: 'anomaly' options only apply to DetectAnomalies rules")
    specs = []
    for offset, translation in enumerate(translations):
        etype = EXPECTATION_TYPES[translation.type]
        _check_kwargs(translation.kwargs, etype, f"{where}: rule {text!r} → {translation.type}")
        anomaly = None
        if translation.anomaly_metric:
            anomaly = _anomaly_spec(translation.anomaly_metric, anomaly_options, f"{where}: rule {text!r}")
        specs.append(ExpectationSpec(
            type=translation.type, kwargs=dict(translation.kwargs), severity=severity,
            description=str(options.get("description") or ""), index=index + offset, line=line, rule=text,
            origin=origin, shared_rule=len(translations) > 1, anomaly=anomaly))
    return specs


def _split_severity(text: str, where: str, declared: Any) -> tuple[str, Severity]:
    """Strip a trailing ``[warn]``/``[error]`` tag; it must agree with a mapping's ``severity``."""
    tag = None
    match = _SEVERITY_TAG.search(text)
    if match:  # a bare word in brackets is never a value list (list values are quoted or numbers)
        tag = match.group(1).lower()
        if tag not in SEVERITIES:
            raise SuiteError(f"{where}: rule {text!r}: severity tag [{match.group(1)}] is not one of "
                             f"{', '.join(f'[{s}]' for s in SEVERITIES)}")
        text = text[: match.start()].rstrip()
    if declared is not None and declared not in SEVERITIES:
        raise SuiteError(f"{where}: rule {text!r}: severity {declared!r} is not one of {list(SEVERITIES)}")
    if tag and declared and tag != declared:
        raise SuiteError(f"{where}: rule {text!r}: tag [{tag}] contradicts severity: {declared}")
    return text, cast(Severity, tag or declared or "error")


def _anomaly_spec(metric: str, options: Any, where: str) -> AnomalySpec:
    if options is None:
        return AnomalySpec(metric=metric)
    if not isinstance(options, dict):
        raise SuiteError(f"{where}: 'anomaly' must be a mapping with keys {list(_ANOMALY_KEYS)}, got {options!r}")
    unknown = sorted(set(options) - set(_ANOMALY_KEYS))
    if unknown:
        raise SuiteError(f"{where}: anomaly: unknown keys {unknown}; allowed: {list(_ANOMALY_KEYS)}")
    spec = AnomalySpec(metric=metric)
    method = options.get("method", spec.method)
    if method not in METHODS:
        raise SuiteError(f"{where}: anomaly.method {method!r} is not one of {list(METHODS)}")
    values: dict[str, Any] = {"method": method}
    for key in ("runs", "min_runs"):
        value = options.get(key, getattr(spec, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SuiteError(f"{where}: anomaly.{key} must be a whole number >= 1, got {value!r}")
        values[key] = value
    for key in ("k", "tolerance"):
        value = options.get(key, getattr(spec, key))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise SuiteError(f"{where}: anomaly.{key} must be a number >= 0, got {value!r}")
        values[key] = float(value)
    if method == "stddev" and values["min_runs"] < 2:
        raise SuiteError(f"{where}: anomaly.min_runs must be >= 2 for method stddev (a stddev needs two values)")
    if values["runs"] < values["min_runs"]:
        raise SuiteError(f"{where}: anomaly.runs ({values['runs']}) is below min_runs ({values['min_runs']})")
    return AnomalySpec(metric=metric, **values)


def _parse_item(item: Any, index: int, origin: str, line: int | None, source: str) -> ExpectationSpec:
    where = _where(source, origin, line)
    if not isinstance(item, dict):
        raise SuiteError(f"{where}: expected a mapping with keys {list(_ITEM_KEYS)}, got {item!r}")
    unknown = sorted(set(item) - set(_ITEM_KEYS))
    if unknown:
        raise SuiteError(f"{where}: unknown keys {unknown}; a rule has {list(_ITEM_KEYS)}")
    type_name = item.get("type")
    if not isinstance(type_name, str):
        raise SuiteError(f"{where}: 'type' is required (an expectation name like expect_column_values_to_be_unique)")
    etype = EXPECTATION_TYPES.get(type_name)
    if etype is None:
        close = difflib.get_close_matches(type_name, EXPECTATION_TYPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SuiteError(f"{where}: unknown expectation type {type_name!r}{hint}")
    kwargs = item.get("kwargs", {})
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{where}: {type_name}: 'kwargs' must be a mapping, got {kwargs!r}")
    _check_kwargs(kwargs, etype, f"{where}: {type_name}")
    severity = item.get("severity", "error")
    if severity not in SEVERITIES:
        raise SuiteError(f"{where}: {type_name}: severity {severity!r} is not one of {list(SEVERITIES)}")
    return ExpectationSpec(type=type_name, kwargs=dict(kwargs), severity=cast(Severity, severity),
                           description=str(item.get("description") or ""), index=index, line=line, origin=origin)


def _check_kwargs(kwargs: dict[str, Any], etype: ExpectationType, where: str) -> None:
    missing = sorted(etype.required - set(kwargs))
    if missing:
        raise SuiteError(f"{where}: missing kwargs {missing} (required: {sorted(etype.required)})")
    unknown = sorted(set(kwargs) - etype.allowed)
    if unknown:
        raise SuiteError(f"{where}: unknown kwargs {unknown}; allowed: {sorted(etype.allowed)}")
    for key in ("column", "column_A", "column_B"):
        if key in kwargs and (not isinstance(kwargs[key], str) or not kwargs[key]):
            raise SuiteError(f"{where}: kwargs.{key} must be a column name, got {kwargs[key]!r}")
    if "column_list" in kwargs:
        cols = kwargs["column_list"]
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) and c for c in cols):
            raise SuiteError(f"{where}: kwargs.column_list must be a non-empty list of column names, got {cols!r}")


def _item_lines(root: yaml.Node | None, key: str) -> list[int]:
    """1-based line of every item under the top-level ``key`` list, for error messages."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for node_key, value in root.value:
        if isinstance(node_key, yaml.ScalarNode) and node_key.value == key and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []
