"""``lakeglue crawl ecommerce --plan`` on the sample lake: every planned table, column, type and partition with
its reason is printed, and the catalog and the ingestion ledger are exactly as they were before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lakeglue.catalog import open_catalog
from lakeglue.catalog.model import to_dict
from lakeglue.cli import main
from lakeglue.ledger import Ledger, ledger_t
from lakeglue.settings import get_settings


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    """The deterministic sample lake (``lakeglue sample``) in a lake of its own."""
    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    monkeypatch.delenv("LAKEGLUE_CATALOG_URL", raising=False)
    get_settings.cache_clear()
    assert main(["sample"]) == 0
    capsys.readouterr()
    yield tmp_path / "lake"
    get_settings.cache_clear()


def snapshot() -> dict[str, Any]:
    """Everything the crawler could write: databases, tables (with versions), partitions, ledger rows."""
    settings = get_settings()
    catalog = open_catalog(settings)
    state: dict[str, Any] = {"databases": [d.name for d in catalog.list_databases()], "tables": {}}
    for db in state["databases"]:
        for table in catalog.list_tables(db):
            state["tables"][table.qualified_name] = {
                "table": to_dict(table),
                "versions": [v.version for v in catalog.get_table_versions(db, table.name)],
                "partitions": [to_dict(p) for p in catalog.get_partitions(db, table.name)]}
    with Ledger(settings.catalog_url).engine.connect() as conn:
        state["ledger"] = [tuple(r) for r in conn.execute(sa.select(ledger_t).order_by(ledger_t.c.path))]
    return json.loads(json.dumps(state, default=str))


def test_plan_on_the_sample_lake_prints_tables_columns_partitions_and_writes_nothing(
        lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot()
    assert main(["crawl", "ecommerce", "--plan"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert snapshot() == before
    assert before["tables"] == {} and before["ledger"] == []

    root = lake / "raw" / "ecommerce"
    assert out[0].startswith("crawler plan (dry run, nothing written) of database ecommerce_raw: 3 tables created, "
                             "0 updated, 0 unchanged, 0 gone; partitions +7 ~0 -0; 13 of 13 files read")
    tables = out[out.index("tables:") + 1: out.index("changes:")]
    assert tables == [
        f"  - customers [create] csv — new folder {root}/customers with 1 files (1 not in the ledger)",
        "      customer_id bigint", "      name string", "      email string", "      country string",
        "      signup_date date",
        f"  - orders [create] json partitioned by dt (7 partitions) — new folder {root}/orders with 11 files "
        "(11 not in the ledger)",
        "      order_id bigint", "      customer_id bigint", "      order_ts timestamp", "      updated_at timestamp",
        "      status string", "      items array<struct<product_id:bigint,quantity:bigint,unit_price:double>>",
        "      channel string",
        f"  - products [create] parquet — new folder {root}/products with 1 files (1 not in the ledger)",
        "      product_id bigint", "      name string", "      category string", "      list_price double",
    ]
    for day in range(1, 8):
        assert (f"  - partition dt=2026-11-0{day} of orders: add (folder file://{root}/orders/dt=2026-11-0{day})"
                in out)
    assert ("  - [drift] ecommerce_raw.orders dt=2026-11-01: partition dt=2026-11-01 lacks column(s) channel; they "
            "read as NULL there") in out  # the sample's drift column appears from day 4


def test_plan_after_a_crawl_shows_only_the_change_and_still_writes_nothing(
        lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crawl", "ecommerce"]) == 0
    new = lake / "raw" / "ecommerce" / "orders" / "dt=2026-11-08" / "orders-1.jsonl"
    new.parent.mkdir()
    new.write_text(json.dumps({"order_id": 1, "customer_id": 2, "order_ts": "2026-11-08T10:00:00",
                               "updated_at": "2026-11-08T10:00:00", "status": "new", "items": [],
                               "channel": "app", "coupon": "WELCOME"}) + "\n")
    capsys.readouterr()
    before = snapshot()
    assert main(["crawl", "ecommerce", "--dry-run"]) == 0  # the old flag name still works
    out = capsys.readouterr().out.splitlines()
    assert snapshot() == before

    assert out[0].startswith("crawler plan (dry run, nothing written) of database ecommerce_raw: 0 tables created, "
                             "1 updated, 2 unchanged, 0 gone; partitions +1 ~7 -0; 1 of 14 files read")
    changes = out[out.index("changes:") + 1:]
    reason = "1 new or changed of 12 files (ingestion ledger)"
    assert changes[:2] == [
        f"  - table ecommerce_raw.orders: add column coupon string (seen in {reason})",
        "  - table ecommerce_raw.orders: SerDe org.openx.data.jsonserde.JsonSerDe {'paths': 'channel,customer_id,"
        "items,order_id,order_ts,status,updated_at'} -> org.openx.data.jsonserde.JsonSerDe {'paths': 'channel,coupon,"
        "customer_id,items,order_id,order_ts,status,updated_at'}",
    ]
    assert (f"  - partition dt=2026-11-08 of orders: add (folder file://{lake}/raw/ecommerce/orders/dt=2026-11-08)"
            in changes)
    assert "  - customers [unchanged] csv — 0 new or changed of 1 files (ingestion ledger)" in out
