"""The sample lake generator and the independent expected-gold oracle (no Spark, no catalog)."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.sample import SampleManifest, generate
from tests.support.expected_gold import ExpectedGold

DATES = [date(2026, 11, d) for d in range(1, 8)]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    return generate(tmp_path_factory.mktemp("lake") / "raw")


def _order_files(manifest: SampleManifest) -> list[Path]:
    return [p for p in manifest.paths() if "/orders/" in p.as_posix()]


def _lines(path: Path) -> list[str]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8").split("\n")[:-1]


def _objects(manifest: SampleManifest) -> list[tuple[Path, int, dict[str, Any]]]:
    """Every JSON-object line of every order file, in listing order, as (file, line index, object)."""
    found = []
    for path in sorted(_order_files(manifest)):
        for index, line in enumerate(_lines(path)):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                found.append((path, index, obj))
    return found


# -- generator ---------------------------------------------------------------------------------
def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_byte_identical_lakes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", days=3)
    second = generate(tmp_path / "b", days=3)
    other_seed = generate(tmp_path / "c", days=3, seed=7)

    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert a == b
    assert first.files == second.files
    assert a.keys() == c.keys()
    differing = {k for k, v in a.items() if c[k] != v}
    # products are a fixed catalogue; customers and every order file depend on the seed
    assert differing == set(first.files) - {"ecommerce/products/products.parquet"}
    assert other_seed.customers == 50


def test_layout_and_manifest_of_the_default_sample(sample: SampleManifest) -> None:
    assert sample.files == (
        "ecommerce/customers/customers.csv",
        "ecommerce/products/products.parquet",
        "ecommerce/orders/dt=2026-11-01/orders-1.jsonl",
        "ecommerce/orders/dt=2026-11-01/orders-2.jsonl",
        "ecommerce/orders/dt=2026-11-02/orders-1.jsonl.gz",
        "ecommerce/orders/dt=2026-11-03/orders-1.jsonl",
        "ecommerce/orders/dt=2026-11-03/orders-2.jsonl",
        "ecommerce/orders/dt=2026-11-04/orders-1.jsonl",
        "ecommerce/orders/dt=2026-11-05/orders-1.jsonl",
        "ecommerce/orders/dt=2026-11-05/orders-2.jsonl",
        "ecommerce/orders/dt=2026-11-06/orders-1.jsonl",
        "ecommerce/orders/dt=2026-11-07/orders-1.jsonl",
        "ecommerce/orders/dt=2026-11-07/orders-2.jsonl",
    )
    assert sorted(p.name for p in (sample.root / "ecommerce" / "orders").iterdir()) == [
        f"dt={d.isoformat()}" for d in DATES
    ]
    assert sample.days == tuple(DATES)
    assert (sample.gzip_day, sample.drift_from) == (date(2026, 11, 2), date(2026, 11, 4))
    # pinned numbers of seed 42 / scale 1: a change here means the demo's printed results change too
    assert (sample.customers, sample.products, sample.orders) == (50, 20, 712)
    assert (sample.order_lines, sample.order_records, sample.malformed_lines) == (729, 726, 3)
    assert (sample.exact_duplicates, sample.reemitted, sample.duplicate_records, sample.blank_lines) == (7, 7, 14, 1)
    assert "712 distinct over 7 days (2026-11-01 .. 2026-11-07)" in sample.summary()


def test_gzip_day_is_real_gzip_with_a_zero_mtime(sample: SampleManifest) -> None:
    gz = sample.root / "ecommerce/orders/dt=2026-11-02/orders-1.jsonl.gz"
    raw = gz.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\x00\x00\x00\x00"  # header mtime: no wall clock in the bytes
    lines = _lines(gz)
    garbage = [line for line in lines if not line.startswith('{"order_id": 202611020')]
    assert garbage == ["ERROR 503 upstream export interrupted -- partial batch follows"]
    assert [p for p in _order_files(sample) if p.suffix == ".gz"] == [gz]


def test_every_record_belongs_to_its_partition_and_references_existing_rows(sample: SampleManifest) -> None:
    base = sample.root / "ecommerce"
    with (base / "customers/customers.csv").open(encoding="utf-8", newline="") as handle:
        customer_ids = {int(row["customer_id"]) for row in csv.DictReader(handle)}
    product_ids = set(pq.read_table(base / "products/products.parquet")["product_id"].to_pylist())
    price = re.compile(r'"unit_price": \d+\.\d\d[,}]')
    for path, index, obj in _objects(sample):
        where = f"{path}:{index + 1}"
        assert path.parent.name == f"dt={obj['order_ts'][:10]}", where
        assert obj["updated_at"] >= obj["order_ts"], where
        assert obj["status"] in {"placed", "shipped", "cancelled"}, where
        assert obj["customer_id"] in customer_ids and obj["customer_id"] % 10 != 0, where
        assert obj["items"], where
        for item in obj["items"]:
            assert item["product_id"] in product_ids and 1 <= item["quantity"] <= 5, where
        line = _lines(path)[index]
        assert len(price.findall(line)) == len(obj["items"]), where  # always two decimals: 12.50, not 12.5


def test_channel_column_appears_from_the_fourth_day_on(sample: SampleManifest) -> None:
    channels_by_day: dict[str, set[str | None]] = {}
    for path, _, obj in _objects(sample):
        channels_by_day.setdefault(path.parent.name[3:], set()).add(obj.get("channel"))
    assert channels_by_day == {
        "2026-11-01": {None},
        "2026-11-02": {None},
        "2026-11-03": {None},
        "2026-11-04": {"web", "app", "store"},
        "2026-11-05": {"web", "app", "store"},
        "2026-11-06": {"web", "app", "store"},
        "2026-11-07": {"web", "app", "store"},
    }


def test_malformed_blank_and_duplicate_lines_match_the_manifest(sample: SampleManifest) -> None:
    malformed: list[str] = []
    good: list[str] = []
    blank = 0
    for path in _order_files(sample):
        for line in _lines(path):
            if not line.strip():
                blank += 1
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                malformed.append(line)
                continue
            (good if isinstance(obj, dict) else malformed).append(line)
    assert blank == sample.blank_lines == 1
    assert len(malformed) == sample.malformed_lines == 3
    kinds = sorted("array" if m.startswith("[") else "truncated" if m.startswith("{") else "garbage" for m in malformed)
    assert kinds == ["array", "garbage", "truncated"]
    assert len(good) == sample.order_records
    assert len(good) + len(malformed) == sample.order_lines

    exact = sum(n - 1 for n in Counter(good).values())
    assert exact == sample.exact_duplicates
    versions: dict[int, set[str]] = {}
    for line in set(good):
        versions.setdefault(json.loads(line)["order_id"], set()).add(line)
    assert len(versions) == sample.orders
    assert sum(len(v) - 1 for v in versions.values()) == sample.reemitted == 7


def test_reemitted_orders_only_change_status_and_updated_at(sample: SampleManifest) -> None:
    by_id: dict[int, list[tuple[tuple[str, int], dict[str, Any]]]] = {}
    for path, index, obj in _objects(sample):
        by_id.setdefault(obj["order_id"], []).append(((path.as_posix(), index), obj))
    newer_listed_first = 0
    transitions: Counter[tuple[str, str]] = Counter()
    for records in by_id.values():
        distinct = {json.dumps(obj, sort_keys=True): (pos, obj) for pos, obj in records}
        if len(distinct) == 1:
            continue
        (pos_a, a), (pos_b, b) = sorted(distinct.values(), key=lambda x: x[1]["updated_at"])
        assert a["updated_at"] < b["updated_at"]
        assert {k: v for k, v in a.items() if k not in ("status", "updated_at")} == {
            k: v for k, v in b.items() if k not in ("status", "updated_at")
        }
        transitions[(a["status"], b["status"])] += 1
        newer_listed_first += int(pos_b < pos_a)
    assert transitions == {("placed", "cancelled"): 4, ("placed", "shipped"): 3}
    # so "last line wins" would be wrong for these: only max(updated_at) is right
    assert newer_listed_first == 3


def test_customers_csv_is_messy_but_well_formed(sample: SampleManifest) -> None:
    path = sample.root / "ecommerce/customers/customers.csv"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("customer_id,name,email,country,signup_date\n")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["customer_id"]) for r in rows] == list(range(1, 51))
    assert rows[2]["name"].strip(" ") == "Tanaka, Jr., Nils"
    assert '3,"Tanaka, Jr., Nils",' in text
    assert rows[6]["name"] == "Zoë Müller"
    emails = [r["email"] for r in rows]
    assert sum(e.strip(" ") == "" for e in emails) == 7  # "" and "   " alike
    assert sum(e != e.strip(" ") for e in emails) == 16
    assert sum(e.strip(" ") != e.strip(" ").lower() for e in emails) == 4
    assert "  Alice.Weber.8@Example.COM " in emails
    assert sum(r["country"].strip(" ") == "" for r in rows) == 5
    assert sum(r["name"] != r["name"].strip(" ") for r in rows) == 12
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["signup_date"]) for r in rows)


def test_products_parquet_schema_and_categories(sample: SampleManifest) -> None:
    table = pq.read_table(sample.root / "ecommerce/products/products.parquet")
    assert table.schema.names == ["product_id", "name", "category", "list_price"]
    assert [f.type for f in table.schema] == [pa.int64(), pa.string(), pa.string(), pa.float64()]
    rows = table.to_pylist()
    assert [r["product_id"] for r in rows] == list(range(501, 521))
    assert Counter(r["category"].strip(" ").lower() for r in rows) == {
        "books": 4, "electronics": 4, "garden": 4, "toys": 4, "kitchen": 4,
    }  # fmt: skip
    assert {" Books", "books", "BOOKS", " ELECTRONICS ", " kitchen "} <= {r["category"] for r in rows}
    assert all(Decimal(repr(r["list_price"])) == Decimal(repr(r["list_price"])).quantize(Decimal("0.01")) for r in rows)


def test_scale_multiplies_customers_orders_and_defects(tmp_path: Path) -> None:
    manifest = generate(tmp_path, scale=2, days=3)
    assert (manifest.customers, manifest.products, manifest.malformed_lines) == (100, 20, 6)
    assert (manifest.exact_duplicates, manifest.reemitted) == (6, 6)
    assert 3 * 90 * 2 <= manifest.orders <= 3 * 110 * 2
    assert manifest.drift_from is None  # only three days: the drift day never comes
    assert manifest.gzip_day == date(2026, 11, 2)


def test_refuses_to_mix_with_an_existing_lake_unless_overwriting(tmp_path: Path) -> None:
    generate(tmp_path, days=3)
    with pytest.raises(FileExistsError, match=r"ecommerce already holds files; pass overwrite=True"):
        generate(tmp_path, days=2)
    manifest = generate(tmp_path, days=2, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "ecommerce" / "orders").iterdir()) == ["dt=2026-11-01", "dt=2026-11-02"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        manifest.files
    )


@pytest.mark.parametrize(("kwargs", "message"), [({"scale": 0}, "scale must be >= 1"), ({"days": 0}, "days must")])
def test_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, scale=kwargs.get("scale", 1), days=kwargs.get("days", 7))


# -- expected gold on a hand-checkable lake -----------------------------------------------------
def _order(order_id: int, customer_id: int | None, updated_at: str, status: str | None, items: list[tuple]) -> str:
    """A raw order line; prices are written verbatim (``"10.50"`` → ``10.50``) as the upstream would."""
    head = json.dumps(
        {
            "order_id": order_id,
            "customer_id": customer_id,
            "order_ts": updated_at[:10] + "T08:00:00",
            "updated_at": updated_at,
            "status": status,
        }
    )
    lines = ", ".join(f'{{"product_id": {p}, "quantity": {q}, "unit_price": {price}}}' for p, q, price in items)
    return f'{head[:-1]}, "items": [{lines}]}}'


@pytest.fixture
def tiny_lake(tmp_path: Path) -> Path:
    base = tmp_path / "ecommerce"
    (base / "customers").mkdir(parents=True)
    (base / "customers/customers.csv").write_text(
        "customer_id,name,email,country,signup_date\n"
        "1,Ann,  Ann@Example.COM ,  de ,2026-01-01\n"
        "2,Ben,,,2026-01-02\n"
        "3,Cy,old@example.com,fr,2026-01-03\n"
        "3,Cy, New@Example.com ,FR ,2026-01-04\n"  # same id again: the last row wins
        '4,"Doe, Jr., Dan",   ,us,2026-01-05\n',
        encoding="utf-8",
    )
    (base / "products").mkdir()
    pq.write_table(
        pa.table({"product_id": [10, 11, 12], "name": ["B", "T", "X"], "category": [" Books ", "TOYS", None]}),
        base / "products/products.parquet",
    )
    day1 = base / "orders/dt=2026-11-01"
    day1.mkdir(parents=True)
    first = _order(1, 1, "2026-11-01T09:00:00", "placed", [(10, 2, "10.50"), (11, 1, "3.25")])
    day1.joinpath("orders-1.jsonl").write_text(
        "\n".join(
            [
                first,
                first,  # exact duplicate
                _order(2, 1, "2026-11-01T12:00:00", "cancelled", [(10, 1, "99.99")]),  # newer, listed first
                "",
                _order(2, 1, "2026-11-01T10:00:00", "placed", [(10, 1, "99.99")]),
                _order(3, 2, "2026-11-01T11:00:00", " Shipped ", [(99, 3, "1.10"), (12, 1, "5.00")]),
                '{"order_id": 4, "customer_id": 3, "order_ts": "2026-11-',
                "this is not json",
                "[1, 2]",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    day1.joinpath(".orders-0.jsonl").write_text("hidden litter, must be ignored\n", encoding="utf-8")
    day2 = base / "orders/dt=2026-11-02"
    day2.mkdir()
    day2_lines = [
        _order(5, 3, "2026-11-02T08:00:00", "placed", [(11, 4, "2.5")]),
        _order(6, 3, "2026-11-02T08:00:00", None, [(10, 1, "7.00")]),  # NULL status: never billable
        _order(7, 1, "2026-11-02T08:00:00", "shipped", []),  # no lines: not an order of value
        _order(8, 77, "2026-11-02T08:00:00", "placed", [(10, 1, "4.99")]),  # customer unknown to customers
        _order(5, 3, "2026-11-02T07:00:00", "cancelled", [(11, 4, "2.5")]),  # older version listed last
    ]
    day2.joinpath("orders-1.jsonl.gz").write_bytes(gzip.compress(("\n".join(day2_lines) + "\n").encode(), mtime=0))
    day2.joinpath("_SUCCESS").write_bytes(b"")
    return tmp_path


def test_expected_gold_on_a_hand_checked_lake(tiny_lake: Path) -> None:
    gold = ExpectedGold(tiny_lake)

    assert gold.silver_order_count() == 7  # 1, 2, 3, 5, 6, 7, 8 — order 4 only exists as a truncated line
    assert gold.silver_order_item_count() == 8
    assert gold.silver_customer_count() == 4
    assert gold.quarantined_line_count() == 3
    assert [q.rsplit("/", 2)[-2:] for q in gold.quarantined_lines()] == [
        ["dt=2026-11-01", "orders-1.jsonl:7"],
        ["dt=2026-11-01", "orders-1.jsonl:8"],
        ["dt=2026-11-01", "orders-1.jsonl:9"],
    ]
    d1, d2 = date(2026, 11, 1), date(2026, 11, 2)
    assert gold.daily_revenue_by_category() == [
        {"dt": d1, "category": "books", "revenue": Decimal("21.00"), "units": 2, "orders": 1},
        {"dt": d1, "category": "toys", "revenue": Decimal("3.25"), "units": 1, "orders": 1},
        {"dt": d1, "category": "unknown", "revenue": Decimal("8.30"), "units": 4, "orders": 1},
        {"dt": d2, "category": "books", "revenue": Decimal("4.99"), "units": 1, "orders": 1},
        {"dt": d2, "category": "toys", "revenue": Decimal("10.00"), "units": 4, "orders": 1},
    ]
    assert gold.customer_lifetime_value() == [
        {"customer_id": 1, "email": "ann@example.com", "country": "DE", "orders": 1,
         "lifetime_value": Decimal("24.25"), "first_order_date": d1, "last_order_date": d1},
        {"customer_id": 2, "email": None, "country": None, "orders": 1,
         "lifetime_value": Decimal("8.30"), "first_order_date": d1, "last_order_date": d1},
        {"customer_id": 3, "email": "new@example.com", "country": "FR", "orders": 1,
         "lifetime_value": Decimal("10.00"), "first_order_date": d2, "last_order_date": d2},
        {"customer_id": 4, "email": None, "country": "US", "orders": 0,
         "lifetime_value": Decimal("0.00"), "first_order_date": None, "last_order_date": None},
    ]  # fmt: skip
    assert [str(r["revenue"]) for r in gold.daily_revenue_by_category()] == ["21.00", "3.25", "8.30", "4.99", "10.00"]


def test_expected_gold_refuses_ambiguous_duplicates(tiny_lake: Path) -> None:
    path = tiny_lake / "ecommerce/orders/dt=2026-11-01/orders-2.jsonl"
    path.write_text(_order(1, 1, "2026-11-01T09:00:00", "shipped", [(10, 2, "10.50")]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"orders-2\.jsonl:1: order_id 1 has the same updated_at as .*orders-1"):
        ExpectedGold(tiny_lake)


def test_expected_gold_needs_partition_folders(tiny_lake: Path) -> None:
    (tiny_lake / "ecommerce/orders/loose.jsonl").write_text("{}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"loose\.jsonl: order file is not inside a dt=YYYY-MM-DD partition"):
        ExpectedGold(tiny_lake)


# -- expected gold over the generated lake ------------------------------------------------------
def test_expected_gold_agrees_with_the_manifest_and_with_itself(sample: SampleManifest) -> None:
    gold = ExpectedGold(sample.root)
    revenue = gold.daily_revenue_by_category()
    value = gold.customer_lifetime_value()

    assert gold.silver_order_count() == sample.orders
    assert gold.quarantined_line_count() == sample.malformed_lines
    assert [r["customer_id"] for r in value] == list(range(1, 51))
    assert sorted({r["category"] for r in revenue}) == ["books", "electronics", "garden", "kitchen", "toys"]
    assert sorted({r["dt"] for r in revenue}) == DATES
    # every ordering customer exists, so both gold tables account for the same money
    assert sum(r["revenue"] for r in revenue) == sum(r["lifetime_value"] for r in value) == Decimal("84574.86")
    non_buyers = [r for r in value if r["customer_id"] % 10 == 0]
    assert [(r["orders"], r["lifetime_value"], r["first_order_date"]) for r in non_buyers] == [
        (0, Decimal("0.00"), None)
    ] * 5
    billable = {
        obj["order_id"]: obj for _, _, obj in sorted(_objects(sample), key=lambda x: x[2]["updated_at"])
    }  # latest version per order, computed here without the oracle
    billable = {k: v for k, v in billable.items() if v["status"] != "cancelled"}
    assert sum(r["orders"] for r in value) == len(billable)
    assert sum(r["units"] for r in revenue) == sum(i["quantity"] for o in billable.values() for i in o["items"])
