"""The GX 1.24 expectation types a suite file may name, with the kwargs each one takes.

Why a static table instead of asking GX: importing ``great_expectations`` costs ~4 s, and a
suite file must be checkable (CLI, DAG parse, tests) without it. A unit test compares this
table with the installed GX so an upgrade that renames or adds a kwarg is caught at once.

Left out on purpose: GX-internal fields (``batch_id``, ``meta``, ``severity``, ...) and the
two SQL-datasource-only types (``expect_query_results_to_match_comparison``,
``expect_table_row_count_to_equal_other_table``), which cannot run on a DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExpectationType:
    name: str
    #: Class in ``great_expectations.expectations``; CamelCase of ``name`` except for acronyms (KL).
    class_name: str
    required: frozenset[str]
    optional: frozenset[str]

    @property
    def allowed(self) -> frozenset[str]:
        return self.required | self.optional


def camel_case(snake: str) -> str:
    """``expect_column_values_to_be_unique`` → ``ExpectColumnValuesToBeUnique``."""
    return "".join(part.capitalize() for part in snake.split("_"))


def _t(name: str, required: tuple[str, ...], optional: tuple[str, ...], class_name: str = "") -> ExpectationType:
    return ExpectationType(name, class_name or camel_case(name), frozenset(required), frozenset(optional))


_ROW = ("row_condition", "condition_parser")
_MAP = ("mostly", *_ROW)
_BETWEEN = ("min_value", "max_value", "strict_min", "strict_max")

_TYPES = (
    _t("expect_column_distinct_values_to_be_in_set", ("column", "value_set"), _ROW),
    _t("expect_column_distinct_values_to_contain_set", ("column", "value_set"), _ROW),
    _t("expect_column_distinct_values_to_equal_set", ("column", "value_set"), _ROW),
    _t("expect_column_kl_divergence_to_be_less_than", ("column",),
       (*_ROW, "partition_object", "threshold", "internal_weight_holdout", "tail_weight_holdout",
        "bucketize_data", "min_value", "max_value"),
       class_name="ExpectColumnKLDivergenceToBeLessThan"),
    _t("expect_column_max_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_mean_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_median_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_min_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_most_common_value_to_be_in_set", ("column", "value_set"), (*_ROW, "ties_okay")),
    _t("expect_column_pair_values_a_to_be_greater_than_b", ("column_A", "column_B"),
       (*_MAP, "or_equal", "ignore_row_if")),
    _t("expect_column_pair_values_to_be_equal", ("column_A", "column_B"), (*_MAP, "ignore_row_if")),
    _t("expect_column_pair_values_to_be_in_set", ("column_A", "column_B", "value_pairs_set"),
       (*_MAP, "ignore_row_if")),
    _t("expect_column_proportion_of_non_null_values_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_proportion_of_unique_values_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_quantile_values_to_be_between", ("column", "quantile_ranges"),
       (*_ROW, "allow_relative_error")),
    _t("expect_column_stdev_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_sum_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_to_exist", ("column",), ("column_index",)),
    _t("expect_column_type_to_be", ("column", "type_"), ()),
    _t("expect_column_unique_value_count_to_be_between", ("column",), _ROW + _BETWEEN),
    _t("expect_column_value_lengths_to_be_between", ("column",), _MAP + _BETWEEN),
    _t("expect_column_value_lengths_to_equal", ("column", "value"), _MAP),
    _t("expect_column_value_z_scores_to_be_less_than", ("column", "threshold", "double_sided"), _MAP),
    _t("expect_column_values_to_be_between", ("column",), _MAP + _BETWEEN),
    _t("expect_column_values_to_be_dateutil_parseable", ("column",), _MAP),
    _t("expect_column_values_to_be_decreasing", ("column",), (*_MAP, "strictly")),
    _t("expect_column_values_to_be_in_set", ("column", "value_set"), _MAP),
    _t("expect_column_values_to_be_in_type_list", ("column",), (*_MAP, "type_list")),
    _t("expect_column_values_to_be_increasing", ("column",), (*_MAP, "strictly")),
    _t("expect_column_values_to_be_json_parseable", ("column",), _MAP),
    _t("expect_column_values_to_be_null", ("column",), _MAP),
    _t("expect_column_values_to_be_of_type", ("column", "type_"), _MAP),
    _t("expect_column_values_to_be_unique", ("column",), _MAP),
    _t("expect_column_values_to_match_json_schema", ("column", "json_schema"), _MAP),
    _t("expect_column_values_to_match_like_pattern", ("column", "like_pattern"), (*_MAP, "escape")),
    _t("expect_column_values_to_match_like_pattern_list", ("column", "like_pattern_list"),
       (*_MAP, "match_on", "escape")),
    _t("expect_column_values_to_match_regex", ("column",), (*_MAP, "regex")),
    _t("expect_column_values_to_match_regex_list", ("column", "regex_list"), (*_MAP, "match_on")),
    _t("expect_column_values_to_match_strftime_format", ("column", "strftime_format"), _MAP),
    _t("expect_column_values_to_not_be_in_set", ("column", "value_set"), _MAP),
    _t("expect_column_values_to_not_be_null", ("column",), _MAP),
    _t("expect_column_values_to_not_be_outliers", ("column",), (*_MAP, "method", "multiplier")),
    _t("expect_column_values_to_not_match_like_pattern", ("column", "like_pattern"), (*_MAP, "escape")),
    _t("expect_column_values_to_not_match_like_pattern_list", ("column", "like_pattern_list"), (*_MAP, "escape")),
    _t("expect_column_values_to_not_match_regex", ("column", "regex"), _MAP),
    _t("expect_column_values_to_not_match_regex_list", ("column", "regex_list"), _MAP),
    _t("expect_compound_columns_to_be_unique", ("column_list",), (*_MAP, "ignore_row_if")),
    _t("expect_multicolumn_sum_to_equal", ("column_list", "sum_total"), (*_MAP, "ignore_row_if")),
    _t("expect_multicolumn_values_to_be_equal", ("column_list",), (*_MAP, "ignore_row_if")),
    _t("expect_select_column_values_to_be_unique_within_record", ("column_list",), (*_MAP, "ignore_row_if")),
    _t("expect_table_column_count_to_be_between", (), ("min_value", "max_value")),
    _t("expect_table_column_count_to_equal", ("value",), ()),
    _t("expect_table_columns_to_match_ordered_list", (), ("column_list",)),
    _t("expect_table_columns_to_match_set", (), ("column_set", "exact_match")),
    _t("expect_table_row_count_to_be_between", (), _ROW + _BETWEEN),
    _t("expect_table_row_count_to_equal", ("value",), _ROW),
)

EXPECTATION_TYPES: dict[str, ExpectationType] = {t.name: t for t in _TYPES}

#: kwargs that name the column(s) a rule is about, in the order they are reported.
COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list")
