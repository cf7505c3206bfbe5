"""``lakeglue catalog versions | diff | search`` on a SQLite catalog the test fills."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lakeglue.catalog import Column
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.cli import main
from lakeglue.settings import get_settings
from tests.support.catalog_contract import DB, make_table


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlCatalog]:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", url)
    get_settings.cache_clear()
    catalog = SqlCatalog(url)
    catalog.ensure_database(DB)
    v1 = catalog.create_table(make_table())
    v2 = catalog.update_table(v1.evolve(
        storage=replace(v1.storage, columns=(*v1.storage.columns, Column("channel", "string"))),
        parameters={"classification": "parquet", "UPDATED_BY_CRAWLER": "shop_raw"}))
    catalog.update_table(v2.evolve(storage=replace(v2.storage, location="file:///lake/curated/orders/v3")))
    catalog.create_table(make_table("customers", classification="csv"))
    yield catalog
    get_settings.cache_clear()


def test_versions_lists_every_version_with_its_columns(catalog: SqlCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "versions", "sales_raw.orders"]) == 0
    lines = capsys.readouterr().out.splitlines()
    times = [v.table.update_time for v in catalog.get_table_versions(DB, "orders")]
    base = "order_id bigint, amount decimal(12,2), items array<struct<product_id:bigint,qty:int>>"
    assert lines == [f"v1 {times[0]}: {base}, dt string",
                     f"v2 {times[1]}: {base}, channel string, dt string",
                     f"v3 {times[2]}: {base}, channel string, dt string"]


def test_diff_prints_the_changes(catalog: SqlCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "diff", "sales_raw.orders", "1", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "sales_raw.orders: v1 -> v3",
        "columns:",
        "  + channel string",
        "location: file:///lake/curated/orders -> file:///lake/curated/orders/v3",
        "parameters:",
        "  + UPDATED_BY_CRAWLER = shop_raw",
    ]
    assert main(["catalog", "diff", "sales_raw.orders", "v2"]) == 0  # against the current version
    assert capsys.readouterr().out.splitlines() == [
        "sales_raw.orders: v2 -> v3", "location: file:///lake/curated/orders -> file:///lake/curated/orders/v3"]


def test_diff_errors_are_messages(catalog: SqlCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "diff", "sales_raw.orders", "1", "9"]) == 3
    assert capsys.readouterr().err == "error: table sales_raw.orders has no version 9; versions: 1, 2, 3\n"
    assert main(["catalog", "diff", "sales_raw.orders", "one"]) == 2
    assert capsys.readouterr().err == (
        "error: catalog diff expects DB.TABLE V1 [V2] with version numbers, got ['one']\n")
    assert main(["catalog", "diff", "sales_raw.nope", "1", "2"]) == 3
    assert capsys.readouterr().err == "error: table sales_raw.nope not found\n"


def test_search_by_text_and_parameters(catalog: SqlCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "search", "ORD"]) == 0
    assert capsys.readouterr().out == "sales_raw.orders (v3, parquet) file:///lake/curated/orders/v3\n"
    assert main(["catalog", "search", "--param", "classification=csv"]) == 0
    assert capsys.readouterr().out == "sales_raw.customers (v1, csv) file:///lake/curated/customers\n"
    assert main(["catalog", "search", "--param", "UPDATED_BY_CRAWLER", "--database", DB]) == 0
    assert capsys.readouterr().out == "sales_raw.orders (v3, parquet) file:///lake/curated/orders/v3\n"
    assert main(["catalog", "search", "o", "--param", "classification=json"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["catalog", "search", "--param", "=x"]) == 2
    assert capsys.readouterr().err == "error: --param expects KEY=VALUE or KEY, got '=x'\n"
