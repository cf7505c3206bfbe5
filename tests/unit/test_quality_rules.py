"""The compact (DQDL-like) rule syntax: translation, clear errors, and every rule type on real GX (pandas).

Translation and error tests need no GX. The evaluation tests run one suite holding every rule
type twice — on good data (all pass) and on crafted bad data (each fails with its own
summary line) — so each type is covered for ~0.3 s of GX time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lakeglue.quality import QualityError, SuiteError, load_suite, parse_suite, validate_dataframe
from lakeglue.quality.dqdl import RULE_SYNTAX, UNSUPPORTED, metric_key, translate


@pytest.mark.parametrize(("rule", "expected"), [
    ("RowCount > 0", [("expect_table_row_count_to_be_between", {"min_value": 1})]),
    ("RowCount between 10 and 20", [("expect_table_row_count_to_be_between", {"min_value": 10, "max_value": 20})]),
    ("RowCount = 5", [("expect_table_row_count_to_equal", {"value": 5})]),
    ("RowCount < 1000", [("expect_table_row_count_to_be_between", {"max_value": 999})]),
    ("ColumnCount >= 3", [("expect_table_column_count_to_be_between", {"min_value": 3})]),
    ("ColumnCount = 7", [("expect_table_column_count_to_equal", {"value": 7})]),
    ('ColumnExists "price"', [("expect_column_to_exist", {"column": "price"})]),
    ('IsComplete "id"', [("expect_column_values_to_not_be_null", {"column": "id"})]),
    ('IsComplete "id" with threshold >= 0.95', [("expect_column_values_to_not_be_null",
                                                  {"column": "id", "mostly": 0.95})]),
    ('Completeness "email" >= 0.9', [("expect_column_proportion_of_non_null_values_to_be_between",
                                      {"column": "email", "min_value": 0.9})]),
    ('IsUnique "id"', [("expect_column_values_to_be_unique", {"column": "id"})]),
    ('IsUnique "order_id" "line_no"', [("expect_compound_columns_to_be_unique",
                                        {"column_list": ["order_id", "line_no"]})]),
    ('IsPrimaryKey "id"', [("expect_column_values_to_not_be_null", {"column": "id"}),
                           ("expect_column_values_to_be_unique", {"column": "id"})]),
    ('Uniqueness "order_id" > 0.99', [("expect_column_proportion_of_unique_values_to_be_between",
                                       {"column": "order_id", "min_value": 0.99, "strict_min": True})]),
    ('DistinctValuesCount "status" > 2', [("expect_column_unique_value_count_to_be_between",
                                           {"column": "status", "min_value": 3})]),
    ('ColumnValues "status" in ["placed","shipped","cancelled"]', [(
        "expect_column_values_to_be_in_set", {"column": "status", "value_set": ["placed", "shipped", "cancelled"]})]),
    ('ColumnValues "status" NOT IN ["deleted", 0]', [("expect_column_values_to_not_be_in_set",
                                                      {"column": "status", "value_set": ["deleted", 0]})]),
    ('ColumnValues "status" = "placed"', [("expect_column_values_to_be_in_set",
                                           {"column": "status", "value_set": ["placed"]})]),
    ('ColumnValues "qty" != 0', [("expect_column_values_to_not_be_in_set", {"column": "qty", "value_set": [0]})]),
    (r'ColumnValues "code" matches "^\d{3}-[A-Z]\"?$"', [("expect_column_values_to_match_regex",
                                                          {"column": "code", "regex": r'^\d{3}-[A-Z]"?$'})]),
    ('ColumnValues "code" not matches "^X"', [("expect_column_values_to_not_match_regex",
                                               {"column": "code", "regex": "^X"})]),
    ('ColumnValues "quantity" between 1 and 100', [("expect_column_values_to_be_between",
                                                    {"column": "quantity", "min_value": 1, "max_value": 100})]),
    ('ColumnValues "price" > 0 with threshold >= 0.9', [(
        "expect_column_values_to_be_between", {"column": "price", "min_value": 0, "strict_min": True, "mostly": 0.9})]),
    ('ColumnValues "price" <= -1.5e2', [("expect_column_values_to_be_between",
                                         {"column": "price", "max_value": -150.0})]),
    ('ColumnLength "code" between 2 and 4', [("expect_column_value_lengths_to_be_between",
                                              {"column": "code", "min_value": 2, "max_value": 4})]),
    ('ColumnLength "country" = 2', [("expect_column_value_lengths_to_equal", {"column": "country", "value": 2})]),
    ('ColumnLength "name" < 50', [("expect_column_value_lengths_to_be_between", {"column": "name", "max_value": 49})]),
    ('Mean "price" between 1.5 and 20', [("expect_column_mean_to_be_between",
                                          {"column": "price", "min_value": 1.5, "max_value": 20})]),
    ('Sum "qty" < 10', [("expect_column_sum_to_be_between", {"column": "qty", "max_value": 10, "strict_max": True})]),
    ('StandardDeviation "price" <= 3', [("expect_column_stdev_to_be_between", {"column": "price", "max_value": 3})]),
    ('DetectAnomalies "RowCount"', [("expect_table_row_count_to_be_between", {})]),
    ('DetectAnomalies "Completeness" "email"', [("expect_column_proportion_of_non_null_values_to_be_between",
                                                 {"column": "email"})]),
])
def test_rule_translation(rule: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert [(t.type, t.kwargs) for t in translate(rule)] == expected


def test_every_documented_rule_type_is_tested_and_metric_keys() -> None:
    assert set(RULE_SYNTAX) == {
        "RowCount", "ColumnCount", "ColumnExists", "IsComplete", "Completeness", "IsUnique", "IsPrimaryKey",
        "Uniqueness", "DistinctValuesCount", "ColumnValues", "ColumnLength", "Mean", "Sum", "StandardDeviation",
        "DetectAnomalies"}
    assert [t.anomaly_metric for t in translate('DetectAnomalies "Mean" "price"')] == ['Mean "price"']
    assert metric_key("expect_table_row_count_to_be_between", {"min_value": 1}) == "RowCount"
    assert metric_key("expect_column_proportion_of_non_null_values_to_be_between", {"column": 'a"b'}) == (
        r'Completeness "a\"b"')
    assert metric_key("expect_table_row_count_to_be_between", {"row_condition": "x > 1"}) is None
    assert metric_key("expect_column_values_to_be_unique", {"column": "id"}) is None
    assert "CustomSql" in UNSUPPORTED


def _suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "orders_dq.yml"
    path.write_text("suite: s\ntable: t\nrules:\n" + body)
    return path


@pytest.mark.parametrize(("body", "problem"), [
    ('  - IsComplete "order_id"\n  - IsUnqiue "order_id"\n',
     """rules[1] (line 5): rule 'IsUnqiue "order_id"': unknown rule type 'IsUnqiue'; did you mean 'IsUnique'? """
     "(at character 1)"),
    ('  - ColumnValues "quantity" between 100 and 1\n',
     """rules[0] (line 4): rule 'ColumnValues "quantity" between 100 and 1': between 100 and 1: the lower bound """
     "is above the upper bound (at character 25)"),
    ('  - ColumnValues "status" in ["a" "b"]\n',
     """rules[0] (line 4): rule 'ColumnValues "status" in ["a" "b"]': expected ',' or ']' in the list, got '"b"' """
     "(at character 31)"),
    ("  - IsComplete order_id\n",
     "rules[0] (line 4): rule 'IsComplete order_id': expected a column name in double quotes, got 'order_id' "
     "(at character 12)"),
    ('  - RowCount > 0.5\n',
     "rules[0] (line 4): rule 'RowCount > 0.5': RowCount counts, so it compares with whole numbers, got 0.5 "
     "(at character 10)"),
    ('  - IsComplete "email\n',
     """rules[0] (line 4): rule 'IsComplete "email': unterminated string (a closing " is missing) (at character 12)"""),
    ('  - IsComplete "id" [fatal]\n',
     """rules[0] (line 4): rule 'IsComplete "id" [fatal]': severity tag [fatal] is not one of [error], [warn]"""),
    ('  - rule: IsComplete "id" [warn]\n    severity: error\n',
     """rules[0] (line 4): rule 'IsComplete "id"': tag [warn] contradicts severity: error"""),
    ('  - CustomSql "select count(*) from primary"\n',
     """rules[0] (line 4): rule 'CustomSql "select count(*) from primary"': CustomSql is not supported: GX """
     "DataFrame engines cannot run SQL; use a GX config or a rule (at character 1)"),
    ('  - Mean "price" in [1, 2]\n',
     """rules[0] (line 4): rule 'Mean "price" in [1, 2]': Mean takes =, >, >=, <, <= or between, not 'in' """
     "(at character 14)"),
    ('  - IsComplete "id" with threshold > 0.9\n',
     """rules[0] (line 4): rule 'IsComplete "id" with threshold > 0.9': with threshold takes '>=' (GX 'mostly' is """
     "an at-least fraction), got '>' (at character 32)"),
    ('  - RowCount > 0 with threshold >= 0.9\n',
     "rules[0] (line 4): rule 'RowCount > 0 with threshold >= 0.9': unexpected 'with' after the end of the rule "
     "(at character 14)"),
    ('  - ColumnValues "code" matches "(["\n',
     """rules[0] (line 4): rule 'ColumnValues "code" matches "(["': invalid regular expression '([': unterminated """
     "character set at position 1 (at character 21)"),
    ('  - DetectAnomalies "Completeness"\n',
     """rules[0] (line 4): rule 'DetectAnomalies "Completeness"': DetectAnomalies "Completeness" needs a column: """
     """DetectAnomalies "Completeness" "c" (at character 31)"""),
    ('  - DetectAnomalies "RowCnt"\n',
     """rules[0] (line 4): rule 'DetectAnomalies "RowCnt"': DetectAnomalies watches one of RowCount, ColumnCount, """
     """Completeness, Uniqueness, DistinctValuesCount, Mean, Sum, StandardDeviation; got "RowCnt" """
     "(at character 17)"),
    ('  - rule: IsComplete "id"\n    anomaly: {runs: 5}\n',
     """rules[0] (line 4): rule 'IsComplete "id"': 'anomaly' options only apply to DetectAnomalies rules"""),
    ('  - rule: DetectAnomalies "RowCount"\n    anomaly: {method: zscore}\n',
     """rules[0] (line 4): rule 'DetectAnomalies "RowCount"': anomaly.method 'zscore' is not one of """
     "['stddev', 'minmax']"),
    ('  - rule: DetectAnomalies "RowCount"\n    anomaly: {runs: 2, min_runs: 3}\n',
     """rules[0] (line 4): rule 'DetectAnomalies "RowCount"': anomaly.runs (2) is below min_runs (3)"""),
    ('  - rule: DetectAnomalies "RowCount"\n    anomaly: {min_runs: 1}\n',
     """rules[0] (line 4): rule 'DetectAnomalies "RowCount"': anomaly.min_runs must be >= 2 for method stddev """
     "(a stddev needs two values)"),
    ("  - {rule: RowCount > 0, when: always}\n",
     "rules[0] (line 4): unknown keys ['when']; a rule mapping has ['rule', 'severity', 'description', 'anomaly']"),
    ("  - 42\n",
     """rules[0] (line 4): expected a rule like 'IsComplete "id"' or a mapping with a 'rule' key, got 42"""),
])
def test_malformed_rule_names_file_line_and_rule(tmp_path: Path, body: str, problem: str) -> None:
    path = _suite(tmp_path, body)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert str(info.value) == f"{path}: {problem}"


def test_severity_tag_mapping_form_and_mixed_syntaxes(tmp_path: Path) -> None:
    path = _suite(tmp_path, (
        '  - IsComplete "id"\n'
        '  - ColumnValues "status" in ["a", "b"]   [WARN]\n'
        '  - rule: IsPrimaryKey "id" "line"\n'
        "    severity: warn\n"
        "    description: one row per order line\n"
        '  - rule: DetectAnomalies "Completeness" "email"\n'
        "    anomaly: {runs: 5, min_runs: 2, method: minmax, tolerance: 0.1}\n"
        "expectations:\n"
        "  - type: expect_column_values_to_be_unique\n"
        "    kwargs: {column: id}\n"))
    suite = load_suite(path)
    assert [(e.index, e.origin, e.line, e.label, e.severity, e.description) for e in suite.expectations] == [
        (0, "rules[0]", 4, 'IsComplete "id"', "error", ""),
        (1, "rules[1]", 5, 'ColumnValues "status" in ["a", "b"]', "warn", ""),
        (2, "rules[2]", 6, 'IsPrimaryKey "id" "line" → expect_column_values_to_not_be_null(id)', "warn",
         "one row per order line"),
        (3, "rules[2]", 6, 'IsPrimaryKey "id" "line" → expect_column_values_to_not_be_null(line)', "warn",
         "one row per order line"),
        (4, "rules[2]", 6, 'IsPrimaryKey "id" "line" → expect_compound_columns_to_be_unique(id, line)', "warn",
         "one row per order line"),
        (5, "rules[3]", 9, 'DetectAnomalies "Completeness" "email"', "error", ""),
        (6, "expectations[0]", 12, "expect_column_values_to_be_unique(id)", "error", ""),
    ]
    anomaly = suite.expectations[5].anomaly
    assert anomaly is not None and (anomaly.metric, anomaly.runs, anomaly.min_runs, anomaly.method, anomaly.k,
                                    anomaly.tolerance) == ('Completeness "email"', 5, 2, "minmax", 3.0, 0.1)
    assert [e.row_level for e in suite.expectations] == [True, True, True, True, True, False, True]


# -- every rule type on real GX (pandas engine) ---------------------------------------------------------------

ALL_RULES = [
    "RowCount between 3 and 10",
    "ColumnCount = 10",
    'ColumnExists "note"',
    'IsComplete "id"',
    'Completeness "email" >= 0.5',
    'IsUnique "id"',
    'IsPrimaryKey "sku"',
    'Uniqueness "id" > 0.99',
    'DistinctValuesCount "status" between 2 and 3',
    'ColumnValues "status" in ["a", "b", "c"]',
    'ColumnValues "status" not in ["deleted"]',
    'ColumnValues "code" matches "^[A-Z]+$"',
    'ColumnValues "code" not matches "^X"',
    'ColumnValues "qty" between 1 and 100',
    'ColumnValues "qty" > 0',
    'ColumnValues "status" = "a" with threshold >= 0.4',
    'ColumnValues "name" != "test"',
    'ColumnLength "code" between 2 and 4',
    'ColumnLength "country" = 2',
    'Mean "price" between 1 and 10',
    'Sum "qty" <= 500',
    'StandardDeviation "price" < 5',
]


def all_rules_suite() -> Any:
    return parse_suite({"suite": "all_rules", "table": "t", "rules": ALL_RULES})


def test_every_rule_type_passes_on_good_data() -> None:
    good = pd.DataFrame({
        "id": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
        "sku": pd.array([10, 11, 12, 13, 14], dtype="Int64"),
        "email": pd.Series(["a@x.de", None, "c@x.de", "d@x.de", None], dtype="str"),
        "status": pd.Series(["a", "a", "b", "c", "a"], dtype="str"),
        "code": pd.Series(["AB", "ABC", "ABCD", "QQ", None], dtype="str"),
        "qty": pd.array([1, 50, 100, 2, 3], dtype="Int64"),
        "name": pd.Series(["n1", "n2", "n3", "n4", "n5"], dtype="str"),
        "country": pd.Series(["DE", "FR", None, "US", "NL"], dtype="str"),
        "price": pd.Series([2.0, 4.0, 6.0, 8.0, 5.0], dtype="float64"),
        "note": pd.Series([None] * 5, dtype="str"),
    })
    result = validate_dataframe(all_rules_suite(), good, "db.t", "good")
    assert [(r.label, r.success, r.error) for r in result.rules if not r.success or r.error] == []
    assert len(result.rules) == len(ALL_RULES) + 1  # IsPrimaryKey is two expectations
    assert result.summary() == f"all_rules on db.t: all {len(ALL_RULES) + 1} rules passed"
    observed = {r.label: r.observed_value for r in result.rules if r.observed_value is not None}
    assert observed == {
        "RowCount between 3 and 10": 5, "ColumnCount = 10": 10, 'Completeness "email" >= 0.5': 0.6,
        'Uniqueness "id" > 0.99': 1.0, 'DistinctValuesCount "status" between 2 and 3': 3,
        'Mean "price" between 1 and 10': 5.0, 'Sum "qty" <= 500': 156,
        'StandardDeviation "price" < 5': pytest.approx(2.2360679)}


def test_each_rule_type_fails_on_crafted_bad_data_with_its_summary() -> None:
    n = 11
    bad = pd.DataFrame({
        "id": pd.array([1, 1, None, *range(4, 12)], dtype="Int64"),
        "sku": pd.array([10, 10, 12, None, *range(14, 21)], dtype="Int64"),
        "email": pd.Series([None] * 9 + ["a@x.de", "b@x.de"], dtype="str"),
        "status": pd.Series(["a", "b", "c", "deleted"] + ["b"] * 7, dtype="str"),
        "code": pd.Series(["AB", "ABCDE", "ab", "XY"] + ["AB"] * 7, dtype="str"),
        "qty": pd.array([0, 101] + [50] * 9, dtype="Int64"),
        "name": pd.Series(["n", "test"] + ["n"] * 9, dtype="str"),
        "country": pd.Series(["DE", "DEU", "D"] + ["FR"] * 8, dtype="str"),
        "price": pd.Series([10.0, 190.0] + [100.0] * 9, dtype="float64"),
    })
    assert len(bad) == n
    result = validate_dataframe(all_rules_suite(), bad, "db.t", "bad")
    assert [r.describe() for r in result.rules] == [
        'ERROR RowCount between 3 and 10: observed 11, expected min_value=3, max_value=10',
        'ERROR ColumnCount = 10: observed 9, expected value=10',
        'ERROR ColumnExists "note": column note not found',
        'ERROR IsComplete "id": 1 unexpected row (9.09%)',
        'ERROR Completeness "email" >= 0.5: observed 0.181818, expected min_value=0.5',
        'ERROR IsUnique "id": 2 unexpected rows (20%), e.g. [1, 1]',
        'ERROR IsPrimaryKey "sku" → expect_column_values_to_not_be_null(sku): 1 unexpected row (9.09%)',
        'ERROR IsPrimaryKey "sku" → expect_column_values_to_be_unique(sku): 2 unexpected rows (20%), e.g. [10, 10]',
        'ERROR Uniqueness "id" > 0.99: observed 0.9, expected min_value=0.99, strict_min=True',
        'ERROR DistinctValuesCount "status" between 2 and 3: observed 4, expected min_value=2, max_value=3',
        'ERROR ColumnValues "status" in ["a", "b", "c"]: 1 unexpected row (9.09%), e.g. [\'deleted\']',
        'ERROR ColumnValues "status" not in ["deleted"]: 1 unexpected row (9.09%), e.g. [\'deleted\']',
        'ERROR ColumnValues "code" matches "^[A-Z]+$": 1 unexpected row (9.09%), e.g. [\'ab\']',
        'ERROR ColumnValues "code" not matches "^X": 1 unexpected row (9.09%), e.g. [\'XY\']',
        'ERROR ColumnValues "qty" between 1 and 100: 2 unexpected rows (18.2%), e.g. [0, 101]',
        'ERROR ColumnValues "qty" > 0: 1 unexpected row (9.09%), e.g. [0]',
        'ERROR ColumnValues "status" = "a" with threshold >= 0.4: 10 unexpected rows (90.9%), '
        "e.g. ['b', 'c', 'deleted', 'b', 'b']",
        'ERROR ColumnValues "name" != "test": 1 unexpected row (9.09%), e.g. [\'test\']',
        'ERROR ColumnLength "code" between 2 and 4: 1 unexpected row (9.09%), e.g. [\'ABCDE\']',
        'ERROR ColumnLength "country" = 2: 2 unexpected rows (18.2%), e.g. [\'DEU\', \'D\']',
        'ERROR Mean "price" between 1 and 10: observed 100, expected min_value=1, max_value=10',
        'ERROR Sum "qty" <= 500: observed 551, expected max_value=500',
        'ERROR StandardDeviation "price" < 5: observed 40.2492, expected max_value=5, strict_max=True',
    ]
    checks = len(ALL_RULES) + 1
    assert result.summary().startswith(f"all_rules on db.t: {checks} of {checks} rules failed — "
                                       "ERROR RowCount between 3 and 10: observed 11")


def test_anomaly_rules_need_the_history() -> None:
    suite = parse_suite({"suite": "s", "table": "t", "rules": ["RowCount > 0", 'DetectAnomalies "RowCount"']})
    with pytest.raises(QualityError, match=r"suite s: rules\[1\]: rule 'DetectAnomalies \"RowCount\"' needs the "
                                           r"quality history: pass history_url"):
        validate_dataframe(suite, pd.DataFrame({"a": [1]}), "db.t", "r1")
