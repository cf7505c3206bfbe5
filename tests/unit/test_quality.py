"""The data-quality gate: suite files, GX evaluation (pandas engine), table reading, history, operator.

GX is real (1.24, pandas engine). Its import costs ~4 s once per process; each validation
after that is ~0.1-0.3 s, so tests validate freely but build data small.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

from lakeglue.catalog import Column, Partition, StorageDescriptor, Table
from lakeglue.catalog.sql import SqlCatalog, engine_for
from lakeglue.pipelines.spec import PipelineSpec, load_spec_data, spec_from_dict
from lakeglue.quality import (
    QualityGateFailed,
    SuiteError,
    check,
    history,
    load_suite,
    metric_series,
    record_history,
    run_quality,
    validate_dataframe,
    validate_table,
)
from lakeglue.quality.errors import QualityError
from lakeglue.quality.expectation_types import EXPECTATION_TYPES
from lakeglue.quality.reader import read_table_frame
from lakeglue.quality.result import RuleResult, json_safe
from lakeglue.quality.suite import parse_suite
from lakeglue.settings import QUALITY_DIR, Settings

ORDERS = QUALITY_DIR / "ecommerce_orders.yml"
ORDER_ITEMS = QUALITY_DIR / "ecommerce_order_items.yml"
CUSTOMERS = QUALITY_DIR / "ecommerce_customers.yml"


# -- test data: well-formed demo silver tables (columns per include/pipelines/ecommerce.yml) ------------

def good_orders(n: int = 8) -> pa.Table:
    base = datetime(2026, 11, 1, 9, 0)
    return pa.table({
        "order_id": pa.array(range(1, n + 1), pa.int64()),
        "customer_id": pa.array([(i % 3) + 1 for i in range(n)], pa.int64()),
        "order_ts": pa.array([base + timedelta(hours=i) for i in range(n)], pa.timestamp("us")),
        "updated_at": pa.array([base + timedelta(hours=i, minutes=5) for i in range(n)], pa.timestamp("us")),
        "status": pa.array([("placed", "shipped", "cancelled")[i % 3] for i in range(n)], pa.string()),
        "channel": pa.array([("web", "app", "store", None)[i % 4] for i in range(n)], pa.string()),
        "dt": pa.array([date(2026, 11, 1) if i < n // 2 else date(2026, 11, 2) for i in range(n)], pa.date32()),
    })


def good_order_items() -> pa.Table:
    rows = [(1, 1, 10, 2, "19.99"), (1, 2, 11, 1, "5.00"), (2, 1, 10, 100, "19.99"), (3, 1, 12, 1, "0.00")]
    return pa.table({
        "order_id": pa.array([r[0] for r in rows], pa.int64()),
        "line_no": pa.array([r[1] for r in rows], pa.int32()),
        "product_id": pa.array([r[2] for r in rows], pa.int64()),
        "quantity": pa.array([r[3] for r in rows], pa.int32()),
        "unit_price": pa.array([Decimal(r[4]) for r in rows], pa.decimal128(12, 2)),
        "status": pa.array(["placed", "placed", "shipped", "cancelled"], pa.string()),
        "updated_at": pa.array([datetime(2026, 11, 1, 9)] * 4, pa.timestamp("us")),
        "dt": pa.array([date(2026, 11, 1)] * 3 + [date(2026, 11, 2)], pa.date32()),
    })


def good_customers() -> pa.Table:
    return pa.table({
        "customer_id": pa.array([1, 2, 3], pa.int64()),
        "name": ["Ada", "Bo", "Cy"],
        "email": ["ada@example.com", None, "cy.z@mail.example.org"],
        "country": ["DE", "FR", None],
        "signup_date": pa.array([date(2025, 1, 2), date(2025, 3, 4), date(2026, 5, 6)], pa.date32()),
    })


_HIVE = {pa.int64(): "bigint", pa.int32(): "int", pa.string(): "string", pa.date32(): "date",
         pa.timestamp("us"): "timestamp", pa.decimal128(12, 2): "decimal(12,2)"}


def write_table(catalog: SqlCatalog, database: str, name: str, data: pa.Table, root: Path,
                partition_by: tuple[str, ...] = ()) -> Table:
    """Write ``data`` as a (hive-partitioned) Parquet directory with Spark litter and register it
    (with its partitions, as lakeglue's commits do)."""
    root.mkdir(parents=True, exist_ok=True)
    if partition_by:
        pq.write_to_dataset(data, str(root), partition_cols=list(partition_by))
        first_partition = sorted(p for p in root.iterdir() if p.is_dir())[0]
        (first_partition / "_SUCCESS").write_text("")
    else:
        pq.write_table(data, str(root / "part-00000.parquet"))
    (root / "_SUCCESS").write_text("")
    (root / ".part-00000.parquet.crc").write_bytes(b"\x00garbage")
    columns = tuple(Column(f.name, _HIVE[f.type]) for f in data.schema if f.name not in partition_by)
    keys = tuple(Column(k, _HIVE[data.schema.field(k).type]) for k in partition_by)
    catalog.ensure_database(database)
    location = f"file://{root}"  # what lakeglue.storage.Lake.uri() writes (no percent-encoding)
    table = catalog.upsert_table(Table(database, name, StorageDescriptor.for_format("parquet", columns, location),
                                       partition_keys=keys, parameters={"classification": "parquet"}))
    folders = sorted(p for p in root.rglob("*") if p.is_dir() and p.relative_to(root).parts
                     and len(p.relative_to(root).parts) == len(partition_by))
    catalog.replace_partitions(database, name, [
        Partition(database, name, tuple(part.split("=", 1)[1] for part in folder.relative_to(root).parts),
                  StorageDescriptor.for_format("parquet", columns, f"file://{folder}"))
        for folder in folders] if partition_by else [])
    return table


@pytest.fixture
def catalog(tmp_path: Path) -> SqlCatalog:
    return SqlCatalog(f"sqlite:///{tmp_path / 'catalog.db'}")


@pytest.fixture
def history_url(tmp_path: Path) -> str:
    """An empty quality history (anomaly rules read it); the demo orders suite has one."""
    return f"sqlite:///{tmp_path / 'history.db'}"


def demo_spec(**changes: Any) -> PipelineSpec:
    """The real ecommerce spec (gold/queries dropped: other people's files, not needed here)."""
    path, data = load_spec_data("ecommerce")
    data = {**data, "gold": {}, "queries": [], **changes}
    return spec_from_dict(data, source=str(path))


def write_demo_silver(catalog: SqlCatalog, lake: Path, orders: pa.Table | None = None) -> None:
    write_table(catalog, "ecommerce_silver", "orders", orders if orders is not None else good_orders(),
                lake / "silver/orders/v=1", ("dt",))
    write_table(catalog, "ecommerce_silver", "order_items", good_order_items(), lake / "silver/order_items/v=1",
                ("dt",))
    write_table(catalog, "ecommerce_silver", "customers", good_customers(), lake / "silver/customers/v=1")


def write_suite(tmp_path: Path, text: str, name: str = "suite.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- suite files (no GX) ----------------------------------------------------------------------------

def test_demo_suites_hold_the_documented_rules() -> None:
    rules = {p.stem: [(e.label, e.type, e.columns, e.severity, e.kwargs) for e in load_suite(p).expectations]
             for p in (ORDERS, ORDER_ITEMS, CUSTOMERS)}
    assert rules == {
        "ecommerce_orders": [
            ('IsComplete "order_id"', "expect_column_values_to_not_be_null", ("order_id",), "error",
             {"column": "order_id"}),
            ('IsUnique "order_id"', "expect_column_values_to_be_unique", ("order_id",), "error",
             {"column": "order_id"}),
            ('IsComplete "customer_id"', "expect_column_values_to_not_be_null", ("customer_id",), "error",
             {"column": "customer_id"}),
            ('ColumnValues "status" in ["placed", "shipped", "cancelled"]', "expect_column_values_to_be_in_set",
             ("status",), "error", {"column": "status", "value_set": ["placed", "shipped", "cancelled"]}),
            ("RowCount > 0", "expect_table_row_count_to_be_between", (), "error", {"min_value": 1}),
            ('ColumnValues "channel" in ["web", "app", "store"]', "expect_column_values_to_be_in_set", ("channel",),
             "warn", {"column": "channel", "value_set": ["web", "app", "store"]}),
            ('DetectAnomalies "RowCount"', "expect_table_row_count_to_be_between", (), "warn", {}),
        ],
        "ecommerce_order_items": [
            ('IsComplete "order_id"', "expect_column_values_to_not_be_null", ("order_id",), "error",
             {"column": "order_id"}),
            ('IsComplete "product_id"', "expect_column_values_to_not_be_null", ("product_id",), "error",
             {"column": "product_id"}),
            ('ColumnValues "quantity" between 1 and 100', "expect_column_values_to_be_between", ("quantity",),
             "error", {"column": "quantity", "min_value": 1, "max_value": 100}),
            ('ColumnValues "unit_price" >= 0', "expect_column_values_to_be_between", ("unit_price",), "error",
             {"column": "unit_price", "min_value": 0}),
            ("expect_compound_columns_to_be_unique(order_id, line_no)", "expect_compound_columns_to_be_unique",
             ("order_id", "line_no"), "error", {"column_list": ["order_id", "line_no"]}),
        ],
        "ecommerce_customers": [
            ('IsComplete "customer_id"', "expect_column_values_to_not_be_null", ("customer_id",), "error",
             {"column": "customer_id"}),
            ('IsUnique "customer_id"', "expect_column_values_to_be_unique", ("customer_id",), "error",
             {"column": "customer_id"}),
            (r'ColumnValues "email" matches "^[^@\s]+@[^@\s]+\.[^@\s]+$"', "expect_column_values_to_match_regex",
             ("email",), "warn", {"column": "email", "regex": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}),
            ("RowCount > 0", "expect_table_row_count_to_be_between", (), "error", {"min_value": 1}),
        ],
    }
    orders = load_suite(ORDERS)
    assert (orders.name, orders.table, orders.path) == ("ecommerce_orders", "orders", ORDERS)
    assert [(e.index, e.origin, e.line) for e in orders.expectations] == [
        (0, "rules[0]", 7), (1, "rules[1]", 8), (2, "rules[2]", 9), (3, "rules[3]", 10), (4, "rules[4]", 11),
        (5, "rules[5]", 13), (6, "rules[6]", 15)]
    anomaly = orders.expectations[6].anomaly
    assert anomaly is not None and (anomaly.metric, anomaly.runs, anomaly.min_runs, anomaly.method, anomaly.k) == (
        "RowCount", 10, 3, "stddev", 3.0)
    items = load_suite(ORDER_ITEMS)
    assert [(e.index, e.origin, e.line) for e in items.expectations][-2:] == [
        (3, "rules[3]", 10), (4, "expectations[0]", 12)]
    assert sum(len(load_suite(p).expectations) for p in (ORDERS, ORDER_ITEMS, CUSTOMERS)) == 16


def test_demo_suite_columns_exist_in_the_silver_spec() -> None:
    spec = demo_spec()
    for item in spec.quality:
        suite = load_suite(QUALITY_DIR / item.suite)
        assert suite.table == item.table
        columns = set(spec.silver[item.table].columns)
        assert {c for e in suite.expectations for c in e.columns} <= columns, item.suite


_HEADER = "suite: s\ntable: t\nexpectations:\n"


@pytest.mark.parametrize(("text", "problem"), [
    ("suite: s\ntable: t\nexpectations: [\n  {type: x}\n",
     "not valid YAML (line 5, column 1): expected ',' or ']', but got '<stream end>'"),
    (_HEADER + "  - type: expect_column_values_to_be_unique\n    kwargs: {column: a}\n"
               "  - type: expect_column_values_to_be_uniqe\n    kwargs: {column: a}\n",
     "expectations[1] (line 6): unknown expectation type 'expect_column_values_to_be_uniqe'; "
     "did you mean 'expect_column_values_to_be_unique'?"),
    (_HEADER + "  - type: expect_column_values_to_be_in_set\n    kwargs: {column: status}\n",
     "expectations[0] (line 4): expect_column_values_to_be_in_set: missing kwargs ['value_set'] "
     "(required: ['column', 'value_set'])"),
    (_HEADER + "  - type: expect_column_values_to_not_be_null\n",
     "expectations[0] (line 4): expect_column_values_to_not_be_null: missing kwargs ['column']"),
    (_HEADER + "  - type: expect_column_values_to_not_be_null\n    kwargs: {column: a}\n    severity: fatal\n",
     "expectations[0] (line 4): expect_column_values_to_not_be_null: severity 'fatal' is not one of "
     "['error', 'warn']"),
    (_HEADER + "  - type: expect_column_values_to_not_be_null\n    kwargs: {colum: a, column: b}\n",
     "expectations[0] (line 4): expect_column_values_to_not_be_null: unknown kwargs ['colum']; allowed: "),
    (_HEADER + "  - type: expect_column_values_to_not_be_null\n    kwargs: {column: a}\n    serverity: warn\n",
     "expectations[0] (line 4): unknown keys ['serverity']; a rule has ['type', 'kwargs', 'severity', 'description']"),
    (_HEADER + "  - type: expect_compound_columns_to_be_unique\n    kwargs: {column_list: order_id}\n",
     "expectations[0] (line 4): expect_compound_columns_to_be_unique: kwargs.column_list must be a non-empty "
     "list of column names, got 'order_id'"),
    (_HEADER + "  - expect_column_values_to_not_be_null\n",
     "expectations[0] (line 4): expected a mapping with keys"),
    ("suite: s\nexpectations: []\n", "'table' is required and must be a non-empty string"),
    ("suite: s\ntable: t\nexpectations: []\n", "a suite needs at least one check: a non-empty 'rules' (compact "
                                               "rules) or 'expectations' (GX configs) list"),
    ("suite: s\ntable: t\nchecks: []\n", "unknown keys ['checks']; a suite has ['suite', 'table', 'description', "
                                         "'rules', 'expectations']"),
    ("suite: s\ntable: t\nrules: IsComplete \"a\"\n", "'rules' must be a list, got str"),
])
def test_malformed_suite_names_file_rule_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write_suite(tmp_path, text, "bad_suite.yml")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert str(info.value).startswith(f"{path}: ")
    assert problem in str(info.value)


def test_missing_suite_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"nope\.yml: suite file not found"):
        load_suite(tmp_path / "nope.yml")


# -- results without GX: wording and JSON safety -----------------------------------------------------------

def test_rule_descriptions_and_json_safety() -> None:
    import numpy as np

    almost_all = RuleResult(0, "expect_column_values_to_be_null", ("a",), "error", False,
                            unexpected_count=9999, unexpected_percent=99.99, sample=("x", None))
    assert almost_all.describe() == (
        "ERROR expect_column_values_to_be_null(a): 9999 unexpected rows (99.9%), e.g. ['x', null]")
    mean = RuleResult(1, "expect_column_mean_to_be_between", ("price",), "warn", False,
                      kwargs={"column": "price", "min_value": 1, "max_value": 5.5}, observed_value=Decimal("7.25"))
    assert mean.describe() == (
        "WARN expect_column_mean_to_be_between(price): observed 7.25, expected min_value=1, max_value=5.5")
    odd = {"nan": float("nan"), "na": pd.NA, "nat": pd.NaT, "np": np.int64(3), "npf": np.float64("nan"),
           "dec": Decimal("1.50"), "day": date(2026, 11, 1), "ts": pd.Timestamp("2026-11-01 10:00"),
           "tuple": (1, None)}
    assert json_safe(odd) == {"nan": None, "na": None, "nat": None, "np": 3, "npf": None, "dec": 1.5,
                              "day": "2026-11-01", "ts": "2026-11-01T10:00:00", "tuple": [1, None]}


# -- GX: the registry, kwarg values, evaluation ----------------------------------------------------------

def test_registry_matches_installed_gx() -> None:
    """Catches a GX upgrade that renames an expectation or changes its kwargs."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.expectation import Expectation

    internal = set(Expectation.__fields__) | {"batch_id", "library_metadata"}
    for name, etype in EXPECTATION_TYPES.items():
        cls = getattr(gxe, etype.class_name)
        assert cls.expectation_type == name
        fields = {k: f.required for k, f in cls.__fields__.items() if k not in internal}
        assert etype.required == {k for k, req in fields.items() if req}, name
        assert etype.optional == {k for k, req in fields.items() if not req}, name
    gx_types = {getattr(getattr(gxe, n), "expectation_type", None) for n in dir(gxe) if n.startswith("Expect")}
    sql_only = {"expect_query_results_to_match_comparison", "expect_table_row_count_to_equal_other_table"}
    assert gx_types - {None, ""} - sql_only == set(EXPECTATION_TYPES)


def test_bad_kwarg_value_is_a_suite_error_naming_file_and_rule(tmp_path: Path) -> None:
    path = write_suite(tmp_path, _HEADER
                       + "  - type: expect_table_row_count_to_be_between\n    kwargs: {min_value: 1}\n"
                       + "  - type: expect_column_values_to_be_in_set\n"
                       + "    kwargs: {column: status, value_set: placed}\n")
    suite = load_suite(path)  # shape is fine; GX's value check runs when the suite is evaluated
    with pytest.raises(SuiteError) as info:
        validate_dataframe(suite, pd.DataFrame({"status": ["placed"]}), "t", "r1")
    assert str(info.value) == (f"{path}: expectations[1] (line 6): expect_column_values_to_be_in_set: "
                               "invalid kwargs: value_set: value is not a valid list")


def bad_orders_frame() -> pd.DataFrame:
    n = 500
    ids = list(range(1, n + 1))
    ids[100], ids[200] = 17, 42
    customers: list[int | None] = [i % 7 + 1 for i in range(n)]
    customers[5] = customers[6] = None
    status: list[str | None] = ["placed"] * n
    status[7], status[8] = "lost", None
    channel: list[str | None] = ["web"] * n
    channel[9:12] = ["fax"] * 3
    channel[12:21] = [None] * 9
    return pd.DataFrame({
        "order_id": pd.array(ids, dtype="Int64"), "customer_id": pd.array(customers, dtype="Int64"),
        "status": pd.Series(status, dtype="str"), "channel": pd.Series(channel, dtype="str"),
    })


def test_orders_suite_on_bad_data_reports_each_failure(history_url: str) -> None:
    result = validate_dataframe(load_suite(ORDERS), bad_orders_frame(), "silver.orders", "run-7",
                                history_url=history_url)

    assert result.success is False
    assert (result.suite, result.table, result.run_id, result.row_count) == (
        "ecommerce_orders", "silver.orders", "run-7", 500)
    assert [(r.label, r.success) for r in result.rules] == [
        ('IsComplete "order_id"', True),
        ('IsUnique "order_id"', False),
        ('IsComplete "customer_id"', False),
        ('ColumnValues "status" in ["placed", "shipped", "cancelled"]', False),
        ("RowCount > 0", True),
        ('ColumnValues "channel" in ["web", "app", "store"]', False),
        ('DetectAnomalies "RowCount"', True),
    ]
    unique, nulls, status, rows, channel, anomaly = result.rules[1:]
    assert (unique.unexpected_count, unique.unexpected_percent, unique.sample) == (4, 0.8, (17, 42, 17, 42))
    assert (nulls.unexpected_count, nulls.sample) == (2, (None, None))
    assert (status.unexpected_count, status.sample) == (1, ("lost",))
    assert (rows.observed_value, rows.unexpected_count) == (500, None)
    assert (channel.severity, channel.unexpected_count, channel.sample) == ("warn", 3, ("fax", "fax", "fax"))
    assert (anomaly.observed_value, anomaly.kwargs, anomaly.metric, anomaly.note) == (
        500, {}, "RowCount", "warming up: 0 of 3 earlier runs in history, no band yet")
    expected = (
        "ecommerce_orders on silver.orders: 4 of 7 rules failed — "
        'ERROR IsUnique "order_id": 4 unexpected rows (0.8%), e.g. [17, 42, 17, 42]; '
        'ERROR IsComplete "customer_id": 2 unexpected rows (0.4%); '
        'ERROR ColumnValues "status" in ["placed", "shipped", "cancelled"]: 1 unexpected row (0.2%), e.g. [\'lost\']; '
        'WARN ColumnValues "channel" in ["web", "app", "store"]: 3 unexpected rows (0.611%), '
        "e.g. ['fax', 'fax', 'fax']")
    assert result.summary() == expected
    with pytest.raises(QualityGateFailed) as info:
        check(result)
    assert str(info.value) == expected

    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["success"] is False and payload["summary"] == expected
    assert payload["rules"][2] == {
        "index": 2, "type": "expect_column_values_to_not_be_null", "columns": ["customer_id"], "severity": "error",
        "success": False, "kwargs": {"column": "customer_id"}, "observed_value": None, "element_count": 500,
        "unexpected_count": 2, "unexpected_percent": 0.4, "sample": [None, None], "error": None,
        "label": 'IsComplete "customer_id"', "rule": 'IsComplete "customer_id"', "metric": None, "note": None}


def test_warn_failures_do_not_fail_the_gate(history_url: str) -> None:
    frame = good_orders().to_pandas()
    frame.loc[0, "channel"] = "carrier pigeon"
    result = validate_dataframe(load_suite(ORDERS), frame, "silver.orders", "r1", history_url=history_url)
    assert result.success is True
    assert [r.label for r in result.warnings] == ['ColumnValues "channel" in ["web", "app", "store"]']
    assert result.summary() == (
        "ecommerce_orders on silver.orders: 1 of 7 rules failed (warnings only, the gate passes) — "
        'WARN ColumnValues "channel" in ["web", "app", "store"]: 1 unexpected row (16.7%), e.g. [\'carrier pigeon\']')
    check(result)  # does not raise


def test_customers_suite_on_bad_data() -> None:
    frame = pd.DataFrame({
        "customer_id": pd.array([1, 2, 2, None], dtype="Int64"),
        "email": pd.Series(["a@b.de", "not-an-email", None, "x y@z.com"], dtype="str"),
    })
    result = validate_dataframe(load_suite(CUSTOMERS), frame, "silver.customers", "r1")
    assert result.summary() == (
        "ecommerce_customers on silver.customers: 3 of 4 rules failed — "
        'ERROR IsComplete "customer_id": 1 unexpected row (25%); '
        'ERROR IsUnique "customer_id": 2 unexpected rows (66.7%), e.g. [2, 2]; '
        r'WARN ColumnValues "email" matches "^[^@\s]+@[^@\s]+\.[^@\s]+$": 2 unexpected rows (66.7%), '
        "e.g. ['not-an-email', 'x y@z.com']")


def test_missing_column_and_empty_table(tmp_path: Path, catalog: SqlCatalog, history_url: str) -> None:
    no_status = pd.DataFrame({"order_id": pd.array([1], dtype="Int64"), "customer_id": pd.array([1], dtype="Int64"),
                              "channel": pd.Series(["web"], dtype="str")})
    result = validate_dataframe(load_suite(ORDERS), no_status, "silver.orders", "r1", history_url=history_url)
    assert [r.describe() for r in result.errors] == [
        'ERROR ColumnValues "status" in ["placed", "shipped", "cancelled"]: could not be evaluated: '
        'The column "status" in BatchData does not exist.']

    empty_dir = tmp_path / "lake/silver/customers/v=2"
    empty_dir.mkdir(parents=True)
    (empty_dir / "_SUCCESS").write_text("")
    catalog.ensure_database("ecommerce_silver")
    table = catalog.upsert_table(Table(
        "ecommerce_silver", "customers",
        StorageDescriptor.for_format("parquet", (Column("customer_id", "bigint"), Column("email", "string")),
                                     empty_dir.as_uri()),  # percent-encoded: v%3D2
        parameters={"classification": "parquet"}))
    empty = validate_table(load_suite(CUSTOMERS), table, "r1")
    assert empty.summary() == (
        "ecommerce_customers on ecommerce_silver.customers: 1 of 4 rules failed — "
        "ERROR RowCount > 0: observed 0, expected min_value=1")


def test_order_items_from_parquet_bad_data(tmp_path: Path, catalog: SqlCatalog) -> None:
    items = good_order_items().to_pylist()
    items[0]["quantity"] = 0
    items[1]["unit_price"] = Decimal("-0.01")
    items[2]["product_id"] = None
    items[3].update(order_id=1, line_no=1, quantity=101)  # duplicates line (1, 1)
    table = write_table(catalog, "ecommerce_silver", "order_items",
                        pa.Table.from_pylist(items, schema=good_order_items().schema),
                        tmp_path / "lake/silver/order_items/v=2", ("dt",))
    result = validate_table(load_suite(ORDER_ITEMS), table, "r1", catalog=catalog)
    assert result.success is False
    assert result.summary() == (
        "ecommerce_order_items on ecommerce_silver.order_items: 4 of 5 rules failed — "
        'ERROR IsComplete "product_id": 1 unexpected row (25%); '
        'ERROR ColumnValues "quantity" between 1 and 100: 2 unexpected rows (50%), e.g. [0, 101]; '
        'ERROR ColumnValues "unit_price" >= 0: 1 unexpected row (25%), e.g. [-0.01]; '
        "ERROR expect_compound_columns_to_be_unique(order_id, line_no): 2 unexpected rows (50%), "
        "e.g. [(order_id=1, line_no=1), (order_id=1, line_no=1)]")


# -- reading tables and the whole gate -----------------------------------------------------------------

def test_read_table_frame_reads_hive_partitions_and_skips_litter(tmp_path: Path, catalog: SqlCatalog) -> None:
    table = write_table(catalog, "ecommerce_silver", "orders", good_orders(), tmp_path / "lake/orders/v=1", ("dt",))
    assert sorted(p.name for p in (tmp_path / "lake/orders/v=1").iterdir()) == [
        ".part-00000.parquet.crc", "_SUCCESS", "dt=2026-11-01", "dt=2026-11-02"]
    frame = read_table_frame(table, catalog=catalog).sort_values("order_id", ignore_index=True)
    assert list(frame.columns) == ["order_id", "customer_id", "order_ts", "updated_at", "status", "channel", "dt"]
    assert frame["order_id"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert str(frame["order_id"].dtype) == "Int64"
    assert frame["dt"].tolist() == [date(2026, 11, 1)] * 4 + [date(2026, 11, 2)] * 4
    assert frame["channel"].isna().tolist() == [False, False, False, True] * 2


def test_read_table_frame_reads_exactly_the_catalog_partitions(tmp_path: Path, catalog: SqlCatalog) -> None:
    """After an INSERT INTO rewrote a partition elsewhere, the root still holds the stale copy, a leftover
    file and an unregistered partition folder: the gate reads only what the catalog registers."""
    root = tmp_path / "lake/orders/v=1"
    table = write_table(catalog, "ecommerce_silver", "orders", good_orders(), root, ("dt",))
    stale = good_orders().filter(pa.compute.equal(good_orders()["dt"], date(2026, 11, 2)))
    pq.write_table(stale.drop_columns(["dt"]), str(root / "stray.parquet"))  # a stale file in the table root
    orphan = root / "dt=2026-11-03"  # a partition folder the catalog never registered
    orphan.mkdir()
    pq.write_table(stale.drop_columns(["dt"]), str(orphan / "part-0.parquet"))
    rewritten = tmp_path / "lake/orders/i-2/dt=2026-11-02"  # INSERT INTO: the partition's new directory
    rewritten.mkdir(parents=True)
    pq.write_table(stale.drop_columns(["dt"]).slice(0, 2), str(rewritten / "part-0.parquet"))
    part = catalog.get_partition("ecommerce_silver", "orders", ["2026-11-02"])
    catalog.batch_update_partitions([Partition(part.database, part.table, part.values,
                                               StorageDescriptor.for_format("parquet", table.columns,
                                                                            f"file://{rewritten}"))])

    frame = read_table_frame(table, catalog=catalog).sort_values("order_id", ignore_index=True)
    assert frame["order_id"].tolist() == [1, 2, 3, 4, 5, 6]
    assert frame["dt"].tolist() == [date(2026, 11, 1)] * 4 + [date(2026, 11, 2)] * 2
    with pytest.raises(QualityError, match=r"orders is partitioned; reading it needs the catalog's partitions"):
        read_table_frame(table)


def test_read_table_frame_errors_name_the_table(tmp_path: Path) -> None:
    gone = Table("db", "t", StorageDescriptor(location=(tmp_path / "nope").as_uri()))
    with pytest.raises(QualityError, match=r"table db\.t: location file://.*/nope does not exist"):
        read_table_frame(gone)
    csv = Table("db", "raw", StorageDescriptor(location=tmp_path.as_uri()), parameters={"classification": "csv"})
    with pytest.raises(QualityError, match=r"table db\.raw is 'csv'; the gate reads Parquet only"):
        read_table_frame(csv)


def test_run_quality_passes_demo_data_and_history_accumulates(tmp_path: Path, catalog: SqlCatalog) -> None:
    """The whole gate twice: history rows, the SQL catalog table, quarantine and Data Docs after each run."""
    write_demo_silver(catalog, tmp_path / "lake")
    lake_root = tmp_path / "lake"
    settings = Settings(lake_root=str(lake_root), catalog_url=catalog.url)
    spec = demo_spec()

    first = run_quality(spec, catalog, settings, "scheduled__2026-11-23T03:00:00+00:00")
    assert [(r.suite, r.table, r.success, len(r.rules), r.row_count, r.rows_quarantined) for r in first] == [
        ("ecommerce_orders", "ecommerce_silver.orders", True, 7, 8, 0),
        ("ecommerce_order_items", "ecommerce_silver.order_items", True, 5, 4, 0),
        ("ecommerce_customers", "ecommerce_silver.customers", True, 4, 3, 0),
    ]
    assert all(rule.success for r in first for rule in r.rules)
    assert first[0].summary() == "ecommerce_orders on ecommerce_silver.orders: all 7 rules passed"
    check(*first)
    docs = lake_root / "results" / "data_docs"
    assert [Path(str(r.data_docs_page)).parent.parent.parent.parent for r in first] == [docs / "validations"] * 3
    assert all(Path(str(r.data_docs_page)).is_file() for r in first)
    assert Path(str(first[0].data_docs_page)).parts[-3:-1][0] == "scheduled__2026-11-23T03:00:00+00:00"

    bad = good_orders().to_pylist()
    bad[0]["status"] = "teleported"
    write_demo_silver(catalog, tmp_path / "lake2", pa.Table.from_pylist(bad, schema=good_orders().schema))
    second = run_quality(spec, catalog, settings, "manual__2")
    assert [r.success for r in second] == [False, True, True]
    assert second[0].summary() == (
        "ecommerce_orders on ecommerce_silver.orders: 1 of 7 rules failed — "
        'ERROR ColumnValues "status" in ["placed", "shipped", "cancelled"]: 1 unexpected row (12.5%), '
        "e.g. ['teleported']")

    # failing rows → quarantine, with the rule as the reason and the whole row
    quarantined = lake_root / "quarantine/ecommerce/quality/ecommerce_silver.orders/_batch_id=manual__2"
    assert (second[0].quarantine_location, second[0].rows_quarantined) == (str(quarantined), 1)
    [record] = [json.loads(line) for line in (quarantined / "part-00000.json").read_text().splitlines()]
    assert {k: v for k, v in record.items() if k != "raw"} == {
        "source_file": f"file://{tmp_path / 'lake2/silver/orders/v=1'}", "line": None,
        "reason": 'error: ColumnValues "status" in ["placed", "shipped", "cancelled"]', "layer": "quality",
        "table": "ecommerce_silver.orders", "batch_id": "manual__2"}
    assert json.loads(record["raw"]) == {
        "order_id": 1, "customer_id": 1, "order_ts": "2026-11-01T09:00:00", "updated_at": "2026-11-01T09:05:00",
        "status": "teleported", "channel": "web", "dt": "2026-11-01"}

    rows = history(catalog.url, table="ecommerce_silver.orders")
    first_run = "scheduled__2026-11-23T03:00:00+00:00"
    assert [(r["run_id"], r["rule"], r["rule_text"], r["column"], r["metric"], r["severity"], r["success"],
             r["observed_value"], r["unexpected_count"]) for r in rows] == [
        (run, rule, text, column, metric, severity, run == first_run or rule_ok, observed, count)
        for run in (first_run, "manual__2")
        for rule, text, column, metric, severity, rule_ok, observed, count in (
            ("expect_column_values_to_not_be_null", 'IsComplete "order_id"', "order_id", None, "error", True, None,
             0),
            ("expect_column_values_to_be_unique", 'IsUnique "order_id"', "order_id", None, "error", True, None, 0),
            ("expect_column_values_to_not_be_null", 'IsComplete "customer_id"', "customer_id", None, "error", True,
             None, 0),
            ("expect_column_values_to_be_in_set", 'ColumnValues "status" in ["placed", "shipped", "cancelled"]',
             "status", None, "error", False, None, 1 if run == "manual__2" else 0),
            ("expect_table_row_count_to_be_between", "RowCount > 0", None, "RowCount", "error", True, 8, None),
            ("expect_column_values_to_be_in_set", 'ColumnValues "channel" in ["web", "app", "store"]', "channel",
             None, "warn", True, None, 0),
            ("expect_table_row_count_to_be_between", 'DetectAnomalies "RowCount"', None, "RowCount", "warn", True,
             8, None),
        )
    ]
    assert [r["rule_index"] for r in rows] == [0, 1, 2, 3, 4, 5, 6] * 2
    assert rows[0]["evaluated_at"].tzinfo is not None and rows[0]["evaluated_at"] <= rows[7]["evaluated_at"]
    assert len(history(catalog.url)) == 2 * (7 + 5 + 4)
    assert history(catalog.url, table="ecommerce_silver.nothing") == []

    # the same history is a catalog table that the query layer reads with Trino SQL
    from lakeglue.query import run_query

    by_run = run_query('SELECT run_id, "table", count(*) AS checks, count_if(NOT success) AS failed '
                       "FROM lakeglue_quality.results GROUP BY 1, 2 ORDER BY 1, 2", output=None, catalog=catalog,
                       settings=settings)
    assert [tuple(r) for r in by_run.rows] == [
        ("manual__2", "ecommerce_silver.customers", 4, 0), ("manual__2", "ecommerce_silver.order_items", 5, 0),
        ("manual__2", "ecommerce_silver.orders", 7, 1),
        (first_run, "ecommerce_silver.customers", 4, 0), (first_run, "ecommerce_silver.order_items", 5, 0),
        (first_run, "ecommerce_silver.orders", 7, 0)]
    assert catalog.get_table("lakeglue_quality", "results").version == 1  # registered once, not per run
    assert len(list((lake_root / "curated/quality/results").glob("*.parquet"))) == 6  # one file per validation
    assert list((lake_root / "staging").rglob("*.parquet")) == []

    # Data Docs: one page per validation, the index lists both runs
    pages = sorted(p.relative_to(docs / "validations").parts[:2] for p in (docs / "validations").rglob("*.html"))
    assert pages == sorted((suite, run) for suite in ("ecommerce_customers", "ecommerce_order_items",
                                                      "ecommerce_orders") for run in (first_run, "manual__2"))
    index = (docs / "index.html").read_text()
    assert index.count("manual__2") >= 3 and "scheduled__2026-11-23" in index


def test_run_quality_rejects_a_suite_for_another_table(tmp_path: Path, catalog: SqlCatalog) -> None:
    spec = demo_spec(quality=[{"table": "customers", "suite": "ecommerce_orders.yml"}])
    settings = Settings(lake_root=str(tmp_path), catalog_url=catalog.url)
    with pytest.raises(SuiteError, match=r"ecommerce_orders\.yml: suite is for table 'orders', but pipeline "
                                         r"ecommerce uses it for silver table 'customers'"):
        run_quality(spec, catalog, settings, "r1")


@pytest.mark.postgres
def test_history_on_postgres() -> None:
    admin = sa.create_engine("postgresql://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    name = f"lg_quality_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        suite = parse_suite({"suite": "s", "table": "t", "rules": ['DetectAnomalies "RowCount"'], "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}]})
        for run, rows_in in (("a", 3), ("b", 4)):
            result = validate_dataframe(suite, pd.DataFrame({"x": range(rows_in)}), "db.t", run, history_url=url)
            assert record_history(result, url) == 2
        rows = history(url, "db.t")
        assert [(r["run_id"], r["table"], r["suite"], r["rule_text"], r["metric"], r["success"], r["observed_value"])
                for r in rows] == [
            ("a", "db.t", "s", 'DetectAnomalies "RowCount"', "RowCount", True, 3),
            ("a", "db.t", "s", None, "RowCount", True, 3),
            ("b", "db.t", "s", 'DetectAnomalies "RowCount"', "RowCount", True, 4),
            ("b", "db.t", "s", None, "RowCount", True, 4)]
        assert rows[0]["evaluated_at"].utcoffset() == timedelta(0)
        assert metric_series(url, "db.t", "RowCount", "c", runs=5) == [4, 3]
    finally:
        engine_for(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


# -- import cost and the Airflow operator ------------------------------------------------------------------

def test_imports_stay_light() -> None:
    code = ("import sys, lakeglue.quality, lakeglue.quality.runner; "
            "print(sorted(m for m in ('great_expectations', 'pandas', 'pyarrow', 'airflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _XComRecorder:
    """Stands in for the task instance: the operator only pushes XComs through it."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = json.loads(json.dumps(value, allow_nan=False))


@pytest.mark.airflow
def test_operator_passes_then_fails_the_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk import BaseOperator
    from airflow.sdk.exceptions import AirflowFailException

    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.quality import DATA_DOCS_XCOM_KEY, RESULTS_XCOM_KEY, LakeQualityOperator

    code = "import sys, lakeglue_airflow.operators.quality; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

    lake = tmp_path / "lake"
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv("LAKEGLUE_HOME", str(lake))
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", url)
    monkeypatch.setenv("LAKEGLUE_CONFIG", str(write_suite(tmp_path, "{}\n", "lakeglue.yaml")))
    get_settings.cache_clear()
    _, data = load_spec_data("ecommerce")
    spec_file = write_suite(tmp_path, yaml.safe_dump({**data, "gold": {}, "queries": []}), "ecommerce.yml")
    catalog = SqlCatalog(url)
    write_demo_silver(catalog, lake)
    index = str(lake / "results/data_docs/index.html")
    try:
        op = LakeQualityOperator(task_id="quality_gate", pipeline=str(spec_file))
        assert isinstance(op, BaseOperator) and op.template_fields == ("pipeline", "suite", "table")
        ti = _XComRecorder()
        returned = op.execute({"run_id": "manual__ok", "ti": ti})
        assert returned[0] == {
            "suite": "ecommerce_orders", "table": "ecommerce_silver.orders", "run_id": "manual__ok", "success": True,
            "row_count": 8, "rules": 7, "failed": 0, "errors": 0, "warnings": 0, "failures": [],
            "summary": "ecommerce_orders on ecommerce_silver.orders: all 7 rules passed",
            "data_docs_page": returned[0]["data_docs_page"], "quarantine_location": None, "rows_quarantined": 0}
        assert [(r["suite"], r["success"], r["rules"]) for r in returned[1:]] == [
            ("ecommerce_order_items", True, 5), ("ecommerce_customers", True, 4)]
        assert all(Path(r["data_docs_page"]).is_file() for r in returned)
        assert ti.pushed == {RESULTS_XCOM_KEY: json.loads(json.dumps(returned)), DATA_DOCS_XCOM_KEY: index}
        assert Path(index).is_file()

        dup = good_orders().to_pylist()
        dup[1]["order_id"] = 1
        write_demo_silver(catalog, tmp_path / "lake-v2", pa.Table.from_pylist(dup, schema=good_orders().schema))
        ti = _XComRecorder()
        with pytest.raises(AirflowFailException) as info:
            op.execute({"run_id": "manual__bad", "ti": ti})
        assert str(info.value) == (
            "data-quality gate failed for pipeline ecommerce:\n"
            "ecommerce_orders on ecommerce_silver.orders: 1 of 7 rules failed — "
            'ERROR IsUnique "order_id": 2 unexpected rows (25%), e.g. [1, 1]')
        assert isinstance(info.value.__cause__, QualityGateFailed)
        pushed = ti.pushed[RESULTS_XCOM_KEY]
        assert [r["success"] for r in pushed] == [False, True, True]
        assert pushed[0]["failures"] == [{"rule": 'IsUnique "order_id"', "severity": "error", "columns": ["order_id"],
                                          "unexpected_count": 2, "observed_value": None, "sample": [1, 1]}]
        assert pushed[0]["rows_quarantined"] == 2
        runs = [r["run_id"] for r in history(url, "ecommerce_silver.orders")]
        assert runs == ["manual__ok"] * 7 + ["manual__bad"] * 7

        # one table, a warn-only failure: reported in XCom, the task succeeds
        customers = good_customers().to_pylist()
        customers[1]["email"] = "not-an-email"
        write_table(catalog, "ecommerce_silver", "customers",
                    pa.Table.from_pylist(customers, schema=good_customers().schema), tmp_path / "lake-v4/customers")
        one = LakeQualityOperator(task_id="customers_gate", suite="ecommerce_customers.yml",
                                  table="ecommerce_silver.customers", data_docs=False)
        ti = _XComRecorder()
        [warned] = one.execute({"run_id": "manual__warn", "ti": ti})
        assert (warned["success"], warned["warnings"], warned["errors"], warned["data_docs_page"]) == (
            True, 1, 0, None)
        assert warned["failures"][0]["sample"] == ["not-an-email"]
        assert list(ti.pushed) == [RESULTS_XCOM_KEY]
    finally:
        get_settings.cache_clear()


@pytest.mark.airflow
def test_operator_arguments_are_checked_at_construction() -> None:
    from lakeglue_airflow.operators.quality import LakeQualityOperator

    with pytest.raises(ValueError, match="gate: give either pipeline= or suite="):
        LakeQualityOperator(task_id="gate")
    with pytest.raises(ValueError, match="gate: give either pipeline= or suite="):
        LakeQualityOperator(task_id="gate", pipeline="ecommerce", suite="ecommerce_orders.yml")
    with pytest.raises(ValueError, match="gate: table= needs suite="):
        LakeQualityOperator(task_id="gate", pipeline="ecommerce", table="db.t")
