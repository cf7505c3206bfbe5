"""Suites as files: ``include/quality/<name>.yml`` → a validated, engine-neutral :class:`SuiteSpec`.

The spec is plain data (no GX objects) so it can be checked at DAG parse time, shown in the
UI and, later, produced by other front ends (a DQDL-like rule syntax) and evaluated by other
engines (Spark). Everything a suite author can get wrong is reported here, with the file,
the expectation's index and line, and the problem.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from lakeglue.quality.errors import SuiteError
from lakeglue.quality.expectation_types import COLUMN_KWARGS, EXPECTATION_TYPES, ExpectationType

Severity = Literal["error", "warn"]
SEVERITIES: tuple[Severity, ...] = ("error", "warn")

_SUITE_KEYS = ("suite", "table", "description", "expectations")
_ITEM_KEYS = ("type", "kwargs", "severity", "description")


@dataclass(frozen=True)
class ExpectationSpec:
    """One rule of a suite, as written in the file (kwargs untouched, severity defaulted)."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: ``error`` blocks downstream work; ``warn`` is reported only.
    severity: Severity = "error"
    description: str = ""
    #: Position in the suite's ``expectations`` list (0-based) and its line in the file (1-based).
    index: int = 0
    line: int | None = None

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
        """``<file>: expectations[2] (line 14)`` — the prefix of every error about one rule."""
        source = str(self.path) if self.path else f"suite {self.name}"
        line = f" (line {exp.line})" if exp.line else ""
        return f"{source}: expectations[{exp.index}]{line}"


def load_suite(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file; raises :class:`SuiteError` naming file, rule and problem."""
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
    return parse_suite(data, path=path, lines=_item_lines(root))


def parse_suite(data: Any, path: Path | None = None, lines: list[int] | None = None) -> SuiteSpec:
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
    items = data.get("expectations")
    if not isinstance(items, list) or not items:
        raise SuiteError(f"{source}: 'expectations' must be a non-empty list of rules")
    lines = lines or []
    expectations = tuple(
        _parse_item(item, i, lines[i] if i < len(lines) else None, source) for i, item in enumerate(items))
    return SuiteSpec(name=data["suite"], table=data["table"], expectations=expectations,
                     description=str(data.get("description") or ""), path=path)


def _parse_item(item: Any, index: int, line: int | None, source: str) -> ExpectationSpec:
    where = f"{source}: expectations[{index}]" + (f" (line {line})" if line else "")
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
                           description=str(item.get("description") or ""), index=index, line=line)


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


def _item_lines(root: yaml.Node | None) -> list[int]:
    """1-based line of every item under ``expectations``, for error messages."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "expectations" and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []
