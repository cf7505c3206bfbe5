"""Quality history over time: anomaly rules against earlier runs, schema upgrade, the CLI.

Real GX (pandas engine) and a real SQLite history per test; each validation is ~0.1 s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.cli import main
from lakeglue.quality import check, history, metric_series, parse_suite, record_history, validate_dataframe
from lakeglue.quality.anomaly import AnomalySpec, compute_band
from lakeglue.settings import QUALITY_DIR, get_settings
from tests.unit.test_quality import good_customers, write_table


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


def orders(n: int) -> pd.DataFrame:
    return pd.DataFrame({"order_id": pd.array(range(1, n + 1), dtype="Int64")})


def test_row_count_drop_fires_the_anomaly_rule(url: str) -> None:
    suite = parse_suite({"suite": "orders_volume", "table": "orders",
                         "rules": ["RowCount > 0", 'DetectAnomalies "RowCount"']})
    notes = []
    for i, count in enumerate([99, 101, 102, 100, 98]):
        result = validate_dataframe(suite, orders(count), "shop.orders", f"run-{i}", history_url=url)
        assert result.success, result.summary()
        record_history(result, url)
        notes.append(result.rules[1].note)
    assert notes == [
        "warming up: 0 of 3 earlier runs in history, no band yet",
        "warming up: 1 of 3 earlier runs in history, no band yet",
        "warming up: 2 of 3 earlier runs in history, no band yet",
        "band of the last 3 runs: mean 100.667, stddev 1.52753, k 3",
        "band of the last 4 runs: mean 100.5, stddev 1.29099, k 3",
    ]
    assert metric_series(url, "shop.orders", "RowCount", "now", runs=10) == [98, 100, 102, 101, 99]

    drop = validate_dataframe(suite, orders(40), "shop.orders", "run-drop", history_url=url)
    record_history(drop, url)
    assert drop.rules[1].kwargs == {"min_value": 95, "max_value": 105}
    assert drop.summary() == (
        'orders_volume on shop.orders: 1 of 2 rules failed — ERROR DetectAnomalies "RowCount": observed 40, '
        "expected min_value=95, max_value=105 (band of the last 5 runs: mean 100, stddev 1.58114, k 3)")

    # The anomalous run is left out of later bands, and a retry of a run is not compared with itself.
    assert metric_series(url, "shop.orders", "RowCount", "next", runs=10) == [98, 100, 102, 101, 99]
    back = validate_dataframe(suite, orders(103), "shop.orders", "run-drop", history_url=url)
    assert back.success and back.rules[1].note == "band of the last 5 runs: mean 100, stddev 1.58114, k 3"
    rows = history(url, table="shop.orders", run_id="run-drop")
    assert [(r["rule_text"], r["metric"], r["success"], r["observed_value"]) for r in rows] == [
        ("RowCount > 0", "RowCount", True, 40), ('DetectAnomalies "RowCount"', "RowCount", False, 40)]


def test_null_share_anomaly_with_minmax_band_only_warns(url: str) -> None:
    suite = parse_suite({"suite": "customers_email", "table": "customers", "rules": [
        'IsUnique "customer_id"',
        {"rule": 'DetectAnomalies "Completeness" "email"', "severity": "warn",
         "anomaly": {"method": "minmax", "tolerance": 0.05, "min_runs": 2, "runs": 5}}]})

    def customers(filled: int) -> pd.DataFrame:
        return pd.DataFrame({"customer_id": pd.array(range(100), dtype="Int64"),
                             "email": pd.Series([f"c{i}@x.de" if i < filled else None for i in range(100)],
                                                dtype="str")})

    for i, filled in enumerate([90, 92, 91]):
        record_history(validate_dataframe(suite, customers(filled), "shop.customers", f"r{i}", history_url=url), url)
    result = validate_dataframe(suite, customers(50), "shop.customers", "r-null-burst", history_url=url)
    assert result.success is True  # a warn rule never blocks
    check(result)
    assert result.summary() == (
        "customers_email on shop.customers: 1 of 2 rules failed (warnings only, the gate passes) — "
        'WARN DetectAnomalies "Completeness" "email": observed 0.5, expected min_value=0.855, max_value=0.966 '
        "(band of the last 3 runs: min 0.9, max 0.92, tolerance 0.05)")


def test_band_arithmetic() -> None:
    stddev = AnomalySpec(metric="Mean \"price\"", runs=3, min_runs=2, tolerance=0.1)
    band = compute_band(stddev, [10.0, 12.0, 14.0, 1000.0])  # only the 3 most recent count
    assert (band.min_value, band.max_value) == (4.8, 19.2)  # 12 ± (3*2 + 0.1*12)
    counts = compute_band(AnomalySpec(metric="RowCount", method="minmax", min_runs=1), [7.2, 9.6], whole=True)
    assert (counts.min_value, counts.max_value, counts.note) == (7, 10, "band of the last 2 runs: min 7.2, max 9.6")


def test_history_table_of_an_older_lakeglue_gets_the_new_columns(tmp_path: Path, url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            'CREATE TABLE lg_quality_results (id INTEGER PRIMARY KEY, "table" VARCHAR(512) NOT NULL, '
            "suite VARCHAR(255) NOT NULL, rule VARCHAR(255) NOT NULL, rule_index INTEGER NOT NULL, "
            '"column" VARCHAR(1024), severity VARCHAR(16) NOT NULL, success BOOLEAN NOT NULL, observed_value TEXT, '
            "unexpected_count BIGINT, unexpected_percent FLOAT, run_id VARCHAR(255) NOT NULL, "
            "evaluated_at DATETIME NOT NULL)"))
        conn.execute(sa.text(
            "INSERT INTO lg_quality_results VALUES (1, 'db.t', 's', 'expect_table_row_count_to_be_between', 0, NULL, "
            "'error', 1, '3', NULL, NULL, 'old-run', '2026-11-01 10:00:00')"))
    engine.dispose()
    suite = parse_suite({"suite": "s", "table": "t", "rules": ["RowCount > 0"]})
    record_history(validate_dataframe(suite, orders(4), "db.t", "new-run"), url)
    rows = history(url, "db.t")
    assert [(r["run_id"], r["rule"], r["rule_text"], r["metric"], r["observed_value"]) for r in rows] == [
        ("old-run", "expect_table_row_count_to_be_between", None, None, 3),
        ("new-run", "expect_table_row_count_to_be_between", "RowCount > 0", "RowCount", 4)]
    assert rows[0]["evaluated_at"] == datetime(2026, 11, 1, 10, tzinfo=UTC)


# -- the command line --------------------------------------------------------------------------------------

@pytest.fixture
def lake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlCatalog]:
    """A lake with a silver customers table whose second email is malformed (a warn rule)."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", url)
    config = tmp_path / "lakeglue.yaml"
    config.write_text("{}\n")
    monkeypatch.setenv("LAKEGLUE_CONFIG", str(config))
    get_settings.cache_clear()
    catalog = SqlCatalog(url)
    rows = good_customers().to_pylist()
    rows[1]["email"] = "not-an-email"
    write_table(catalog, "ecommerce_silver", "customers", pa.Table.from_pylist(rows, schema=good_customers().schema),
                tmp_path / "lake/curated/silver/customers/v-1")
    yield catalog
    get_settings.cache_clear()


def test_cli_quality_check_history_and_lint(lake_env: SqlCatalog, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    suite = str(QUALITY_DIR / "ecommerce_customers.yml")
    assert main(["quality", "check", suite, "--run-id", "cli-1", "--no-data-docs"]) == 0
    printed = capsys.readouterr().out
    quarantine = tmp_path / "lake/quarantine/ecommerce/quality/ecommerce_silver.customers/_batch_id=cli-1"
    assert printed.splitlines() == [
        "ecommerce_customers on ecommerce_silver.customers: 1 of 4 rules failed (warnings only, the gate passes) — "
        r'WARN ColumnValues "email" matches "^[^@\s]+@[^@\s]+\.[^@\s]+$": 1 unexpected row (33.3%), '
        "e.g. ['not-an-email']",
        f"quarantined 1 failing row records: {quarantine}"]

    rows = good_customers().to_pylist()
    rows[2]["customer_id"] = 1
    write_table(lake_env, "ecommerce_silver", "customers", pa.Table.from_pylist(rows, schema=good_customers().schema),
                tmp_path / "lake/curated/silver/customers/v-2")
    assert main(["quality", "check", suite, "--table", "ecommerce_silver.customers", "--run-id", "cli-2"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ('ecommerce_customers on ecommerce_silver.customers: 1 of 4 rules failed — ERROR IsUnique '
                      '"customer_id": 2 unexpected rows (66.7%), e.g. [1, 1]')
    assert out[2].startswith(f"Data Docs: {tmp_path}/lake/results/data_docs/validations/ecommerce_customers/cli-2/")

    assert main(["quality", "history", "--table", "ecommerce_silver.customers", "--run-id", "cli-2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 2)[2] for line in lines[:-1]] == [  # without the date and time
        'cli-2 PASS ecommerce_silver.customers IsComplete "customer_id"  unexpected=0',
        'cli-2 FAIL ecommerce_silver.customers IsUnique "customer_id"  unexpected=2',
        r'cli-2 PASS ecommerce_silver.customers ColumnValues "email" matches "^[^@\s]+@[^@\s]+\.[^@\s]+$"  '
        "unexpected=0",
        "cli-2 PASS ecommerce_silver.customers RowCount > 0  observed=3"]
    assert lines[-1] == "4 rows"
    assert main(["quality", "history", "--json", "--limit", "1"]) == 0
    [last] = json.loads(capsys.readouterr().out)
    assert (last["run_id"], last["rule_text"], last["metric"], last["observed_value"]) == (
        "cli-2", "RowCount > 0", "RowCount", 3)

    assert main(["quality", "lint", *(str(p) for p in sorted(QUALITY_DIR.glob("ecommerce_*.yml")))]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{QUALITY_DIR}/ecommerce_customers.yml: ok, 4 checks for table customers",
        f"{QUALITY_DIR}/ecommerce_order_items.yml: ok, 5 checks for table order_items",
        f"{QUALITY_DIR}/ecommerce_orders.yml: ok, 7 checks for table orders"]

    broken = tmp_path / "broken.yml"
    broken.write_text('suite: b\ntable: customers\nrules:\n  - IsComplete "customer_id"\n  - Completeness email > 1\n')
    assert main(["quality", "lint", str(broken)]) == 2
    assert capsys.readouterr().err == (
        f"error: {broken}: rules[1] (line 5): rule 'Completeness email > 1': expected a column name in double "
        "quotes, got 'email' (at character 14)\n")
    assert main(["quality", "check", str(broken), "--table", "ecommerce_silver.orders"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {broken}: rules[1] (line 5)")


# -- which catalog version a gate run validated ----------------------------------------------------------

def test_gate_records_the_validated_version_and_gate_passed_asks_by_version(tmp_path: Path) -> None:
    """A reader that must only see gated data (gold with ``gated_reads``) asks history about one version:
    a pass on version 1 says nothing about version 2, and a failed run on a version is no pass."""
    from lakeglue.quality import GateOptions, check_table
    from lakeglue.quality.history import gate_passed
    from lakeglue.settings import Settings

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    settings = Settings(lake_root=str(tmp_path / "lake"), catalog_url=url)
    catalog = SqlCatalog(url)
    options = GateOptions(data_docs=False, quarantine=False, publish=False)
    suite = parse_suite({"suite": "s", "table": "orders", "rules": ["IsUnique \"order_id\""]})
    good = pa.Table.from_pandas(orders(3), preserve_index=False)
    table = write_table(catalog, "shop", "orders", good, tmp_path / "lake/orders/v-1")
    first = check_table(suite, catalog.get_table("shop", "orders"), catalog, settings, "run-1", options=options)
    assert (first.success, first.table_version, first.location) == (True, table.version, table.location)
    assert {(r["run_id"], r["table_version"], r["location"]) for r in history(url, "shop.orders")} == {
        ("run-1", table.version, table.location)}
    assert gate_passed(url, "shop.orders", table.version)
    assert not gate_passed(url, "shop.orders", table.version + 1)

    dup = pa.Table.from_pandas(pd.DataFrame({"order_id": pd.array([1, 1], dtype="Int64")}), preserve_index=False)
    second = write_table(catalog, "shop", "orders", dup, tmp_path / "lake/orders/v-2")
    assert second.version == table.version + 1
    failed = check_table(suite, catalog.get_table("shop", "orders"), catalog, settings, "run-2", options=options)
    assert (failed.success, failed.table_version) == (False, second.version)
    assert not gate_passed(url, "shop.orders", second.version)
    assert gate_passed(url, "shop.orders", table.version)
