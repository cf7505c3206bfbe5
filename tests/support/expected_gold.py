"""An independent oracle for the ecommerce gold tables, computed straight from the raw files on disk.

Independent on purpose: it imports nothing from ``lakeglue`` and re-implements the business rules of
``include/pipelines/ecommerce.yml`` and ``include/sql/gold/*.sql`` in plain Python over ``Decimal``, so a bug in
the crawler, bronze/silver jobs, SQL transpilation or the sample generator cannot cancel itself out in a test.

Rules mirrored (each with the SQL it stands for):

* order lines that are not a JSON object are quarantined; blank lines are ignored;
* orders are deduplicated by ``order_id``, greatest ``updated_at`` wins (silver ``key``/``order_by``);
  ``status = lower(trim(status))``; ``dt`` comes from the ``dt=`` partition folder;
* customers: dedupe by ``customer_id`` (last row wins), ``email = nullif(lower(trim(email)), '')``,
  ``country = nullif(upper(trim(country)), '')``; products: ``category = lower(trim(category))``;
* ``WHERE status <> 'cancelled'`` drops cancelled orders *and* orders with a NULL status (SQL three-valued logic);
* daily revenue: ``COALESCE(category, 'unknown')`` for lines of unknown products; revenue = quantity * unit_price;
* customer value: only orders with at least one line count (inner join with order lines), every customer appears.

SQL ``trim`` strips spaces only (Spark, DuckDB), hence ``strip(" ")`` rather than ``strip()``.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TypedDict

import pyarrow.parquet as pq

CENT = Decimal("0.01")
_ORDER_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


class RevenueRow(TypedDict):
    dt: date
    category: str
    revenue: Decimal
    units: int
    orders: int


class CustomerValueRow(TypedDict):
    customer_id: int
    email: str | None
    country: str | None
    orders: int
    lifetime_value: Decimal
    first_order_date: date | None
    last_order_date: date | None


@dataclass(frozen=True)
class _Item:
    product_id: int | None
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class _Order:
    order_id: int
    customer_id: int | None
    updated_at: datetime
    status: str | None
    dt: date
    items: tuple[_Item, ...]


@dataclass(frozen=True)
class _Customer:
    customer_id: int
    email: str | None
    country: str | None


def _sql_trim(value: str | None) -> str | None:
    return None if value is None else value.strip(" ")


def _nullif_empty(value: str | None) -> str | None:
    return None if value == "" else value


def _data_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Data files under ``folder`` in a stable order, skipping the litter the crawler excludes too."""
    if not folder.is_dir():
        raise FileNotFoundError(f"expected raw folder {folder} does not exist")
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name.endswith(suffixes)
        and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    )


def _read_customers(folder: Path) -> dict[int, _Customer]:
    customers: dict[int, _Customer] = {}
    for path in _data_files(folder, (".csv",)):
        with path.open(encoding="utf-8", newline="") as handle:
            for row_no, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    customer_id = int(row["customer_id"].strip(" "))
                except (KeyError, AttributeError, ValueError) as exc:
                    raise ValueError(f"{path}:{row_no}: column customer_id: not an integer: {row!r}") from exc
                email = _nullif_empty(_sql_trim(row.get("email")))
                country = _nullif_empty(_sql_trim(row.get("country")))
                customers[customer_id] = _Customer(
                    customer_id,
                    email.lower() if email is not None else None,
                    country.upper() if country is not None else None,
                )
    return customers


def _read_categories(folder: Path) -> dict[int, str | None]:
    categories: dict[int, str | None] = {}
    for path in _data_files(folder, (".parquet",)):
        for row in pq.read_table(path, columns=["product_id", "category"]).to_pylist():
            category = _sql_trim(row["category"])
            categories[int(row["product_id"])] = category.lower() if category is not None else None
    return categories


def _partition_date(path: Path) -> date:
    for part in reversed(path.parts):
        if part.startswith("dt="):
            return date.fromisoformat(part[3:])
    raise ValueError(f"{path}: order file is not inside a dt=YYYY-MM-DD partition folder")


def _required(obj: dict[str, object], key: str, where: str) -> object:
    if obj.get(key) is None:
        raise ValueError(f"{where}: field {key!r} missing or null; the oracle cannot model that record")
    return obj[key]


def _to_int(value: object, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValueError(f"{where}: field {key!r} is not an integer: {value!r}")
    return int(value)


def _parse_order(obj: dict[str, object], dt: date, where: str) -> _Order:
    raw_items = obj.get("items") or []
    if not isinstance(raw_items, list):
        raise ValueError(f"{where}: field 'items' is not a list: {raw_items!r}")
    items = []
    for n, item in enumerate(raw_items):
        if not isinstance(item, dict):
            raise ValueError(f"{where}: items[{n}] is not an object: {item!r}")
        product_id = item.get("product_id")
        price = _required(item, "unit_price", f"{where}: items[{n}]")
        items.append(
            _Item(
                product_id=None if product_id is None else _to_int(product_id, where, "product_id"),
                quantity=_to_int(_required(item, "quantity", f"{where}: items[{n}]"), where, "quantity"),
                unit_price=Decimal(str(price)).quantize(CENT, rounding=ROUND_HALF_UP),  # CAST AS DECIMAL(12,2)
            )
        )
    status = obj.get("status")
    customer_id = obj.get("customer_id")
    return _Order(
        order_id=_to_int(_required(obj, "order_id", where), where, "order_id"),
        customer_id=None if customer_id is None else _to_int(customer_id, where, "customer_id"),
        updated_at=datetime.fromisoformat(str(_required(obj, "updated_at", where))),
        status=status.strip(" ").lower() if isinstance(status, str) else None,
        dt=dt,
        items=tuple(items),
    )


class ExpectedGold:
    """Expected silver counts and gold rows for the ``ecommerce`` raw lake rooted at ``raw_root``."""

    def __init__(self, raw_root: Path | str, prefix: str = "ecommerce") -> None:
        base = Path(raw_root) / prefix
        self._customers = _read_customers(base / "customers")
        self._categories = _read_categories(base / "products")
        self._malformed: list[str] = []
        self._orders: dict[int, _Order] = {}
        self._read_orders(base / "orders")

    def _read_orders(self, folder: Path) -> None:
        seen_at: dict[int, str] = {}
        for path in _data_files(folder, _ORDER_SUFFIXES):
            dt = _partition_date(path)
            data = path.read_bytes()
            text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")
            for line_no, line in enumerate(text.splitlines(), start=1):
                where = f"{path}:{line_no}"
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line, parse_float=Decimal)
                except json.JSONDecodeError:
                    self._malformed.append(where)
                    continue
                if not isinstance(obj, dict):
                    self._malformed.append(where)
                    continue
                order = _parse_order(obj, dt, where)
                current = self._orders.get(order.order_id)
                if current is None or order.updated_at > current.updated_at:
                    self._orders[order.order_id] = order
                    seen_at[order.order_id] = where
                elif order.updated_at == current.updated_at and order != current:
                    raise ValueError(
                        f"{where}: order_id {order.order_id} has the same updated_at as {seen_at[order.order_id]} "
                        "but different content; which one silver keeps is undefined"
                    )

    # -- silver-level facts -------------------------------------------------------------------
    def silver_order_count(self) -> int:
        """Distinct orders after dedupe."""
        return len(self._orders)

    def silver_order_item_count(self) -> int:
        """Order lines of the deduplicated orders (all statuses)."""
        return sum(len(o.items) for o in self._orders.values())

    def silver_customer_count(self) -> int:
        return len(self._customers)

    def quarantined_line_count(self) -> int:
        """Non-blank order lines that are not a JSON object."""
        return len(self._malformed)

    def quarantined_lines(self) -> list[str]:
        """``path:line`` of every quarantined order line, in file order."""
        return list(self._malformed)

    def _billable(self) -> list[_Order]:
        # SQL: WHERE status <> 'cancelled' is NULL (so false) for a NULL status
        return [o for o in self._orders.values() if o.status is not None and o.status != "cancelled"]

    # -- gold ---------------------------------------------------------------------------------
    def daily_revenue_by_category(self) -> list[RevenueRow]:
        """Rows of ``ecommerce_gold.daily_revenue_by_category`` sorted by (dt, category)."""
        revenue: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
        units: dict[tuple[date, str], int] = defaultdict(int)
        orders: dict[tuple[date, str], set[int]] = defaultdict(set)
        for order in self._billable():
            for item in order.items:
                category = self._categories.get(item.product_id) if item.product_id is not None else None
                key = (order.dt, category if category is not None else "unknown")
                revenue[key] += item.quantity * item.unit_price
                units[key] += item.quantity
                orders[key].add(order.order_id)
        return [
            RevenueRow(
                dt=dt,
                category=category,
                revenue=revenue[(dt, category)].quantize(CENT),
                units=units[(dt, category)],
                orders=len(orders[(dt, category)]),
            )
            for dt, category in sorted(revenue)
        ]

    def customer_lifetime_value(self) -> list[CustomerValueRow]:
        """Rows of ``ecommerce_gold.customer_lifetime_value``: every customer, sorted by customer_id."""
        values: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
        for order in self._billable():
            if order.items and order.customer_id is not None:  # inner join with order lines
                value = sum((i.quantity * i.unit_price for i in order.items), Decimal(0))
                values[order.customer_id].append((order.dt, value))
        rows = []
        for customer_id in sorted(self._customers):
            customer = self._customers[customer_id]
            mine = values.get(customer_id, [])
            rows.append(
                CustomerValueRow(
                    customer_id=customer_id,
                    email=customer.email,
                    country=customer.country,
                    orders=len(mine),
                    lifetime_value=sum((v for _, v in mine), Decimal(0)).quantize(CENT),
                    first_order_date=min(d for d, _ in mine) if mine else None,
                    last_order_date=max(d for d, _ in mine) if mine else None,
                )
            )
        return rows
