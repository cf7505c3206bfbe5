r"""A compact rule syntax close to AWS Glue DQDL, translated into GX expectation configs.

Why a second syntax: a suite of one-line rules (``IsComplete "order_id"``) reviews better in a
diff than nested expectation configs, and Glue users already know it. Each rule becomes one
(or, for ``IsPrimaryKey``, several) GX expectations, so evaluation, history and Data Docs are
the same as for expectations written as GX configs.

Rules (``"c"`` is a column name in double quotes; ``COND`` is one of ``= N``, ``> N``,
``>= N``, ``< N``, ``<= N``, ``between N and M``; ``between`` includes both bounds, as in SQL):

==========================================  =================================================================
rule                                        GX expectation
==========================================  =================================================================
``RowCount COND``                           expect_table_row_count_to_be_between (``= N``: …_to_equal)
``ColumnCount COND``                        expect_table_column_count_to_be_between (``= N``: …_to_equal)
``ColumnExists "c"``                        expect_column_to_exist
``IsComplete "c"``                          expect_column_values_to_not_be_null
``Completeness "c" COND``                   expect_column_proportion_of_non_null_values_to_be_between
``IsUnique "c" ["d" …]``                    expect_column_values_to_be_unique (several columns:
                                            expect_compound_columns_to_be_unique)
``IsPrimaryKey "c" ["d" …]``                expect_column_values_to_not_be_null per column + IsUnique
``Uniqueness "c" COND``                     expect_column_proportion_of_unique_values_to_be_between
``DistinctValuesCount "c" COND``            expect_column_unique_value_count_to_be_between
``ColumnValues "c" in [v, …]``              expect_column_values_to_be_in_set (``not in``: …_not_be_in_set)
``ColumnValues "c" = v`` / ``!= v``         expect_column_values_to_be_in_set / …_not_be_in_set with [v]
``ColumnValues "c" matches "re"``           expect_column_values_to_match_regex (``not matches``: …_not_match_regex)
``ColumnValues "c" COND``                   expect_column_values_to_be_between (``>``/``<`` strict)
``ColumnLength "c" COND``                   expect_column_value_lengths_to_be_between (``= N``: …_to_equal)
``Mean "c" COND``                           expect_column_mean_to_be_between
``Sum "c" COND``                            expect_column_sum_to_be_between
``StandardDeviation "c" COND``              expect_column_stdev_to_be_between
``DetectAnomalies "RowCount"``              the RowCount expectation, bounds = band of recent runs (anomaly.py)
``DetectAnomalies "Metric" "c"``            Metric ∈ Completeness, Uniqueness, DistinctValuesCount, Mean, Sum,
                                            StandardDeviation; also ``DetectAnomalies "ColumnCount"``
==========================================  =================================================================

Row-level rules (IsComplete, IsUnique, ColumnValues, ColumnLength) take ``with threshold >= F``
(0 ≤ F ≤ 1): the rule passes if at least that fraction of rows passes (GX's ``mostly``).
Counts (RowCount, ColumnCount, DistinctValuesCount, ColumnLength) compare with whole numbers;
``> N`` means ``>= N+1``. Null values are skipped by ColumnValues/ColumnLength/IsUnique, as GX
does; use IsComplete for nulls. Strings use double quotes; ``\"`` and ``\\`` are the only
escapes, so regexes keep their backslashes (``"^\d+$"``). Rule names are case-sensitive,
keywords (between, and, in, not, matches, with, threshold) are not.

Not supported (a clear error says so): CustomSql, where clauses, ColumnDataType,
ReferentialIntegrity, DatasetMatch and other multi-dataset rules, composite ``and``/``or`` rules.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Rule name → the syntax shown in errors and docs.
RULE_SYNTAX: dict[str, str] = {
    "RowCount": "RowCount COND",
    "ColumnCount": "ColumnCount COND",
    "ColumnExists": 'ColumnExists "c"',
    "IsComplete": 'IsComplete "c" [with threshold >= F]',
    "Completeness": 'Completeness "c" COND',
    "IsUnique": 'IsUnique "c" ["d" ...] [with threshold >= F]',
    "IsPrimaryKey": 'IsPrimaryKey "c" ["d" ...]',
    "Uniqueness": 'Uniqueness "c" COND',
    "DistinctValuesCount": 'DistinctValuesCount "c" COND',
    "ColumnValues": 'ColumnValues "c" (COND | [not] in [v, ...] | = v | != v | [not] matches "re") '
                    '[with threshold >= F]',
    "ColumnLength": 'ColumnLength "c" COND [with threshold >= F]',
    "Mean": 'Mean "c" COND',
    "Sum": 'Sum "c" COND',
    "StandardDeviation": 'StandardDeviation "c" COND',
    "DetectAnomalies": 'DetectAnomalies "Metric" ["c"]',
}

#: DQDL rule types we know but do not translate, with the reason shown to the author.
UNSUPPORTED: dict[str, str] = {
    "CustomSql": "CustomSql is not supported: GX DataFrame engines cannot run SQL; use a GX config or a rule",
    "ColumnDataType": "ColumnDataType is not supported: type names differ between pandas and Spark; "
                      "the catalog schema already fixes column types",
    "ReferentialIntegrity": "ReferentialIntegrity needs a second dataset; not supported",
    "DatasetMatch": "DatasetMatch needs a second dataset; not supported",
    "RowCountMatch": "RowCountMatch needs a second dataset; not supported",
    "AggregateMatch": "AggregateMatch needs a second dataset; not supported",
    "SchemaMatch": "SchemaMatch needs a second dataset; not supported",
    "DataFreshness": "DataFreshness is not supported yet",
    "Entropy": "Entropy is not supported: GX has no entropy expectation",
    "ColumnCorrelation": "ColumnCorrelation is not supported: GX has no correlation expectation",
    "ColumnNamesMatchPattern": "ColumnNamesMatchPattern is not supported yet",
}

#: Metric name → (GX expectation that measures it, takes a column, counts whole numbers).
METRICS: dict[str, tuple[str, bool, bool]] = {
    "RowCount": ("expect_table_row_count_to_be_between", False, True),
    "ColumnCount": ("expect_table_column_count_to_be_between", False, True),
    "Completeness": ("expect_column_proportion_of_non_null_values_to_be_between", True, False),
    "Uniqueness": ("expect_column_proportion_of_unique_values_to_be_between", True, False),
    "DistinctValuesCount": ("expect_column_unique_value_count_to_be_between", True, True),
    "Mean": ("expect_column_mean_to_be_between", True, False),
    "Sum": ("expect_column_sum_to_be_between", True, False),
    "StandardDeviation": ("expect_column_stdev_to_be_between", True, False),
}
_METRIC_BY_TYPE = {gx_type: name for name, (gx_type, _, _) in METRICS.items()}
_METRIC_BY_TYPE["expect_table_row_count_to_equal"] = "RowCount"
_METRIC_BY_TYPE["expect_table_column_count_to_equal"] = "ColumnCount"

#: Expectation types without strict_min/strict_max (``> N`` must become ``>= N+1``).
_NO_STRICT = frozenset({"expect_table_column_count_to_be_between"})
_COMPARISONS = ("=", ">", ">=", "<", "<=")


class RuleSyntaxError(ValueError):
    """A rule that cannot be translated; ``position`` is the 0-based character offset, if known."""

    def __init__(self, problem: str, position: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.position = position


@dataclass(frozen=True)
class Translation:
    """One GX expectation config produced by a rule."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Set for ``DetectAnomalies``: the metric key whose history gives the bounds.
    anomaly_metric: str | None = None


def quote(name: str) -> str:
    """``email`` → ``"email"`` (the DQDL spelling of a column name)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def metric_key(gx_type: str, kwargs: dict[str, Any]) -> str | None:
    """``RowCount`` / ``Completeness "email"`` for expectations that measure one number, else None.

    History rows carry this key so anomaly rules find earlier values of the same metric,
    whichever rule (``RowCount > 0`` or ``DetectAnomalies "RowCount"``) measured them. Rules
    with a row condition measure a subset and get no key.
    """
    name = _METRIC_BY_TYPE.get(gx_type)
    if name is None or kwargs.get("row_condition"):
        return None
    column = kwargs.get("column")
    if METRICS[name][1]:
        return f"{name} {quote(column)}" if isinstance(column, str) else None
    return name


# -- tokens ------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<op>>=|<=|!=|=|>|<)
  | (?P<punct>[\[\],])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str  # string | number | op | punct | word | end
    text: str
    value: Any
    pos: int

    def show(self) -> str:
        return "the end of the rule" if self.kind == "end" else repr(self.text)


def _unescape(body: str) -> str:
    """Only ``\\"`` and ``\\\\`` are escapes; other backslashes stay (regexes need them)."""
    return re.sub(r'\\(["\\])', r"\1", body)


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == '"':
                raise RuleSyntaxError("unterminated string (a closing \" is missing)", pos)
            raise RuleSyntaxError(f"unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "string":
            tokens.append(_Token(kind, raw, _unescape(raw[1:-1]), pos))
        elif kind == "number":
            number = float(raw)
            tokens.append(_Token(kind, raw, int(number) if re.fullmatch(r"[-+]?\d+", raw) else number, pos))
        elif kind != "ws":
            tokens.append(_Token(kind, raw, raw, pos))
        pos = match.end()
    tokens.append(_Token("end", "", None, len(text)))
    return tokens


@dataclass(frozen=True)
class _Condition:
    op: str  # = != > >= < <= between in "not in" matches "not matches"
    values: tuple[Any, ...]
    pos: int


class _Parser:
    """Recursive descent over the tokens of one rule; every error carries a position."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def is_word(self, *words: str) -> bool:
        return self.peek.kind == "word" and self.peek.text.lower() in words

    def word(self, word: str) -> None:
        token = self.next()
        if token.kind != "word" or token.text.lower() != word:
            raise RuleSyntaxError(f"expected '{word}', got {token.show()}", token.pos)

    def string(self, what: str) -> str:
        token = self.next()
        if token.kind != "string":
            raise RuleSyntaxError(f"expected {what} in double quotes, got {token.show()}", token.pos)
        if not token.value:
            raise RuleSyntaxError(f"{what} must not be empty", token.pos)
        return str(token.value)

    def column(self) -> str:
        return self.string("a column name")

    def columns(self) -> list[str]:
        names = [self.column()]
        while self.peek.kind == "string":
            names.append(self.column())
        return names

    def number(self) -> int | float:
        token = self.next()
        if token.kind != "number":
            raise RuleSyntaxError(f"expected a number, got {token.show()}", token.pos)
        return token.value

    def literal(self) -> Any:
        token = self.next()
        if token.kind not in ("number", "string"):
            raise RuleSyntaxError(f"expected a number or a \"string\", got {token.show()}", token.pos)
        return token.value

    def literal_list(self) -> list[Any]:
        start = self.next()
        if start.text != "[":
            raise RuleSyntaxError(f"expected a list like [\"a\", \"b\"], got {start.show()}", start.pos)
        values: list[Any] = []
        while True:
            if self.peek.text == "]" and not values:
                raise RuleSyntaxError("the list is empty", self.peek.pos)
            values.append(self.literal())
            token = self.next()
            if token.text == "]":
                return values
            if token.text != ",":
                raise RuleSyntaxError(f"expected ',' or ']' in the list, got {token.show()}", token.pos)

    def condition(self) -> _Condition:
        token = self.peek
        if token.kind == "op":
            self.next()
            return _Condition(token.text, (self.literal(),), token.pos)
        if self.is_word("between"):
            self.next()
            low = self.number()
            self.word("and")
            high = self.number()
            if low > high:
                raise RuleSyntaxError(f"between {low} and {high}: the lower bound is above the upper bound", token.pos)
            return _Condition("between", (low, high), token.pos)
        negated = self.is_word("not")
        if negated:
            self.next()
        if self.is_word("in"):
            self.next()
            return _Condition("not in" if negated else "in", tuple(self.literal_list()), token.pos)
        if self.is_word("matches"):
            self.next()
            return _Condition("not matches" if negated else "matches", (self.string("a regular expression"),),
                              token.pos)
        raise RuleSyntaxError(f"expected a condition (=, >, >=, <, <=, between, in, matches), got {token.show()}",
                              token.pos)

    def threshold(self) -> float | None:
        """Optional ``with threshold >= F`` → GX ``mostly``."""
        if not self.is_word("with"):
            return None
        self.next()
        self.word("threshold")
        token = self.next()
        if token.text != ">=":
            raise RuleSyntaxError(f"with threshold takes '>=' (GX 'mostly' is an at-least fraction), got "
                                  f"{token.show()}", token.pos)
        value = self.number()
        if not 0 <= value <= 1:
            raise RuleSyntaxError(f"threshold {value} must be a fraction between 0 and 1", token.pos)
        return float(value)

    def end(self) -> None:
        token = self.peek
        if token.kind != "end":
            raise RuleSyntaxError(f"unexpected {token.show()} after the end of the rule", token.pos)


# -- translation -------------------------------------------------------------------------------------------

def translate(text: str) -> list[Translation]:
    """Translate one rule (without its severity tag) into GX expectation configs."""
    parser = _Parser(text)
    head = parser.next()
    if head.kind != "word":
        raise RuleSyntaxError(f"a rule starts with its type (e.g. IsComplete), got {head.show()}", head.pos)
    if head.text in UNSUPPORTED:
        raise RuleSyntaxError(UNSUPPORTED[head.text], head.pos)
    handler = _HANDLERS.get(head.text)
    if handler is None:
        close = difflib.get_close_matches(head.text, list(_HANDLERS) + list(UNSUPPORTED), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; rule types are {', '.join(_HANDLERS)}"
        raise RuleSyntaxError(f"unknown rule type {head.text!r}{hint}", head.pos)
    translations = handler(parser)
    parser.end()
    return translations


def _bounds(rule: str, cond: _Condition, gx_type: str, whole: bool) -> dict[str, Any]:
    """min/max kwargs of a numeric COND; whole-number metrics turn ``> N`` into ``>= N+1``."""
    if cond.op not in (*_COMPARISONS, "between"):
        raise RuleSyntaxError(f"{rule} takes =, >, >=, <, <= or between, not '{cond.op}'", cond.pos)
    for value in cond.values:
        if isinstance(value, str | bool):
            raise RuleSyntaxError(f"{rule} compares with numbers, got \"{value}\"", cond.pos)
        if whole and not isinstance(value, int):
            raise RuleSyntaxError(f"{rule} counts, so it compares with whole numbers, got {value}", cond.pos)
    strict_ok = not whole and gx_type not in _NO_STRICT
    op, values = cond.op, cond.values
    if op == "between":
        return {"min_value": values[0], "max_value": values[1]}
    value = values[0]
    if op == "=":
        return {"min_value": value, "max_value": value}
    if op in (">=", "<="):
        return {"min_value" if op == ">=" else "max_value": value}
    if strict_ok:
        return {"min_value": value, "strict_min": True} if op == ">" else {"max_value": value, "strict_max": True}
    return {"min_value": value + 1} if op == ">" else {"max_value": value - 1}


def _metric_rule(name: str) -> Callable[[_Parser], list[Translation]]:
    gx_type, has_column, whole = METRICS[name]

    def handle(parser: _Parser) -> list[Translation]:
        column = {"column": parser.column()} if has_column else {}
        cond = parser.condition()
        if cond.op == "=" and gx_type in ("expect_table_row_count_to_be_between",
                                           "expect_table_column_count_to_be_between"):
            _bounds(name, cond, gx_type, whole)  # validates the value
            equal = gx_type.replace("_to_be_between", "_to_equal")
            return [Translation(equal, {"value": cond.values[0]})]
        return [Translation(gx_type, {**column, **_bounds(name, cond, gx_type, whole)})]

    return handle


def _mostly(kwargs: dict[str, Any], threshold: float | None) -> dict[str, Any]:
    return kwargs if threshold is None else {**kwargs, "mostly": threshold}


def _column_exists(parser: _Parser) -> list[Translation]:
    return [Translation("expect_column_to_exist", {"column": parser.column()})]


def _is_complete(parser: _Parser) -> list[Translation]:
    column = parser.column()
    return [Translation("expect_column_values_to_not_be_null", _mostly({"column": column}, parser.threshold()))]


def _unique(columns: list[str], threshold: float | None) -> Translation:
    if len(columns) == 1:
        return Translation("expect_column_values_to_be_unique", _mostly({"column": columns[0]}, threshold))
    return Translation("expect_compound_columns_to_be_unique", _mostly({"column_list": columns}, threshold))


def _is_unique(parser: _Parser) -> list[Translation]:
    columns = parser.columns()
    return [_unique(columns, parser.threshold())]


def _is_primary_key(parser: _Parser) -> list[Translation]:
    columns = parser.columns()
    return [*(Translation("expect_column_values_to_not_be_null", {"column": c}) for c in columns),
            _unique(columns, None)]


def _column_values(parser: _Parser) -> list[Translation]:
    column = parser.column()
    cond = parser.condition()
    threshold = parser.threshold()
    base = {"column": column}
    if cond.op in ("in", "not in"):
        gx_type = "expect_column_values_to_be_in_set" if cond.op == "in" else "expect_column_values_to_not_be_in_set"
        return [Translation(gx_type, _mostly({**base, "value_set": list(cond.values)}, threshold))]
    if cond.op in ("matches", "not matches"):
        try:
            re.compile(cond.values[0])
        except re.error as exc:
            raise RuleSyntaxError(f"invalid regular expression {cond.values[0]!r}: {exc}", cond.pos) from None
        if cond.op == "matches":
            return [Translation("expect_column_values_to_match_regex",
                                _mostly({**base, "regex": cond.values[0]}, threshold))]
        return [Translation("expect_column_values_to_not_match_regex",
                            _mostly({**base, "regex": cond.values[0]}, threshold))]
    if cond.op in ("=", "!="):
        gx_type = "expect_column_values_to_be_in_set" if cond.op == "=" else "expect_column_values_to_not_be_in_set"
        return [Translation(gx_type, _mostly({**base, "value_set": [cond.values[0]]}, threshold))]
    bounds = _bounds("ColumnValues", cond, "expect_column_values_to_be_between", whole=False)
    return [Translation("expect_column_values_to_be_between", _mostly({**base, **bounds}, threshold))]


def _column_length(parser: _Parser) -> list[Translation]:
    column = parser.column()
    cond = parser.condition()
    threshold = parser.threshold()
    bounds = _bounds("ColumnLength", cond, "expect_column_value_lengths_to_be_between", whole=True)
    if cond.op == "=":
        return [Translation("expect_column_value_lengths_to_equal",
                            _mostly({"column": column, "value": cond.values[0]}, threshold))]
    return [Translation("expect_column_value_lengths_to_be_between", _mostly({"column": column, **bounds}, threshold))]


def _detect_anomalies(parser: _Parser) -> list[Translation]:
    token = parser.peek
    name = parser.string("a metric name")
    if name not in METRICS:
        raise RuleSyntaxError(f"DetectAnomalies watches one of {', '.join(METRICS)}; got \"{name}\"", token.pos)
    gx_type, has_column, _ = METRICS[name]
    if not has_column:
        return [Translation(gx_type, {}, anomaly_metric=name)]
    if parser.peek.kind != "string":
        raise RuleSyntaxError(f'DetectAnomalies "{name}" needs a column: DetectAnomalies "{name}" "c"',
                              parser.peek.pos)
    column = parser.column()
    return [Translation(gx_type, {"column": column}, anomaly_metric=f"{name} {quote(column)}")]


_HANDLERS: dict[str, Callable[[_Parser], list[Translation]]] = {
    "RowCount": _metric_rule("RowCount"),
    "ColumnCount": _metric_rule("ColumnCount"),
    "ColumnExists": _column_exists,
    "IsComplete": _is_complete,
    "Completeness": _metric_rule("Completeness"),
    "IsUnique": _is_unique,
    "IsPrimaryKey": _is_primary_key,
    "Uniqueness": _metric_rule("Uniqueness"),
    "DistinctValuesCount": _metric_rule("DistinctValuesCount"),
    "ColumnValues": _column_values,
    "ColumnLength": _column_length,
    "Mean": _metric_rule("Mean"),
    "Sum": _metric_rule("Sum"),
    "StandardDeviation": _metric_rule("StandardDeviation"),
    "DetectAnomalies": _detect_anomalies,
}
assert set(_HANDLERS) == set(RULE_SYNTAX), "every rule type is documented in RULE_SYNTAX"
