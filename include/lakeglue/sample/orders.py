"""One day of order drops: clean orders plus the defects a real upstream produces.

Each day is built from its own ``random.Random`` seeded by (seed, scale, date), so a day's content does not depend
on how many days came before it. Defects mirror what the silver layer must survive:

* exact duplicate lines (at-least-once delivery),
* re-emissions of an order with a later ``updated_at`` and a new status, sometimes placed *before* the original in
  file order, so only "greatest ``updated_at`` wins" (not "last line wins") gives the right answer,
* malformed lines (truncated object, plain text, JSON array) that bronze must quarantine,
* from the drift day on, a new ``channel`` field (schema drift).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from lakeglue.sample.entities import Customer, Product

STATUSES = ("placed", "shipped", "cancelled")
CHANNELS = ("web", "app", "store")
MALFORMED_KINDS = ("truncated", "garbage", "array")

_GARBAGE = "ERROR 503 upstream export interrupted -- partial batch follows"
_ARRAY = '["order", 0, "placed"]'  # an array of scalars: readers cannot mistake it for rows


@dataclass(frozen=True)
class LineItem:
    """One order line; ``unit_cents`` may be below the list price (discounts)."""

    product_id: int
    quantity: int
    unit_cents: int


@dataclass(frozen=True)
class OrderRecord:
    """One order event as it goes onto a JSON line."""

    order_id: int
    customer_id: int
    order_ts: datetime
    updated_at: datetime
    status: str
    items: tuple[LineItem, ...]
    channel: str | None = None

    def to_json(self) -> str:
        """Serialise by hand so ``unit_price`` always carries exactly two decimals (``12.50``, not ``12.5``)."""
        head: dict[str, object] = {
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "order_ts": self.order_ts.isoformat(timespec="seconds"),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
            "status": self.status,
        }
        if self.channel is not None:
            head["channel"] = self.channel
        items = ", ".join(
            f'{{"product_id": {i.product_id}, "quantity": {i.quantity}, '
            f'"unit_price": {i.unit_cents // 100}.{i.unit_cents % 100:02d}}}'
            for i in self.items
        )
        return json.dumps(head)[:-1] + f', "items": [{items}]}}'


@dataclass
class DayOrders:
    """The lines of each file of one day (without newlines) and what was put in them."""

    day: date
    files: list[list[str]]
    orders: int = 0
    records: int = 0
    exact_duplicates: int = 0
    reemitted: int = 0
    malformed: list[str] = field(default_factory=list)
    blank_lines: int = 0


def order_id_for(day: date, seq: int) -> int:
    """Date-derived ids (``20261101`` + 5-digit sequence) stay unique when more days are generated later."""
    return int(day.strftime("%Y%m%d")) * 100_000 + seq


def _items(rng: random.Random, products: list[Product]) -> tuple[LineItem, ...]:
    count = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
    lines = []
    for product in rng.sample(products, count):
        cents = product.list_cents
        if rng.random() < 0.25:
            cents = cents * (100 - rng.choice((5, 10, 15, 20, 25, 30))) // 100
        lines.append(LineItem(product.product_id, rng.choices((1, 2, 3, 4, 5), weights=(55, 25, 10, 6, 4))[0], cents))
    return tuple(lines)


def _clean_orders(
    rng: random.Random,
    day: date,
    count: int,
    customers: list[Customer],
    weights: list[float],
    products: list[Product],
    drift: bool,
) -> list[OrderRecord]:
    midnight = datetime.combine(day, time())
    seconds = sorted(rng.randrange(86_400) for _ in range(count))
    orders = []
    for seq, second in enumerate(seconds, start=1):
        order_ts = midnight + timedelta(seconds=second)
        orders.append(
            OrderRecord(
                order_id=order_id_for(day, seq),
                customer_id=rng.choices(customers, weights=weights)[0].customer_id,
                order_ts=order_ts,
                updated_at=order_ts + timedelta(seconds=rng.randrange(900)),
                status=rng.choices(STATUSES, weights=(55, 35, 10))[0],
                items=_items(rng, products),
                channel=rng.choices(CHANNELS, weights=(60, 30, 10))[0] if drift else None,
            )
        )
    return orders


def _malformed_line(rng: random.Random, kind: str, files: list[list[str]]) -> str:
    if kind == "truncated":  # a write cut off mid-object: never valid JSON since the closing brace is lost
        candidates = [line for lines in files for line in lines if line]
        line = rng.choice(candidates)
        return line[: len(line) // 2]
    if kind == "garbage":
        return _GARBAGE
    if kind == "array":
        return _ARRAY
    raise ValueError(f"unknown malformed line kind {kind!r}; kinds are {', '.join(MALFORMED_KINDS)}")


def _insert(rng: random.Random, lines: list[str], line: str) -> None:
    lines.insert(rng.randint(0, len(lines)), line)


def build_day(
    *,
    seed: int,
    scale: int,
    day: date,
    day_index: int,
    customers: list[Customer],
    weights: list[float],
    products: list[Product],
    drift: bool,
    file_count: int,
    malformed_kinds: list[str],
    blank_line: bool,
) -> DayOrders:
    """All lines of one ``dt=`` folder, spread over ``file_count`` files (1 or 2)."""
    rng = random.Random(f"lakeglue-sample:{seed}:{scale}:{day.isoformat()}")
    orders = _clean_orders(rng, day, rng.randint(90, 110) * scale, customers, weights, products, drift)
    half = (len(orders) + 1) // 2 if file_count == 2 else len(orders)
    home = [0 if i < half else 1 for i in range(len(orders))]  # morning/afternoon export batches
    files: list[list[str]] = [[] for _ in range(file_count)]
    for order, file_no in zip(orders, home, strict=True):
        files[file_no].append(order.to_json())
    result = DayOrders(day=day, files=files, orders=len(orders), records=len(orders))

    for index in rng.sample(range(len(orders)), scale):  # at-least-once delivery: the same line twice
        _insert(rng, files[rng.randrange(file_count)], orders[index].to_json())
        result.exact_duplicates += 1

    placed = [i for i, order in enumerate(orders) if order.status == "placed"]
    for j, index in enumerate(rng.sample(placed, min(scale, len(placed)))):
        original = orders[index]
        newer = replace(
            original,
            status="cancelled" if (day_index + j) % 2 == 0 else "shipped",
            updated_at=original.updated_at + timedelta(seconds=rng.randint(3_600, 30 * 3_600)),
        )
        # the update goes to the *other* file of the day, so it may precede the original in listing order
        _insert(rng, files[(home[index] + 1) % file_count], newer.to_json())
        result.reemitted += 1
    result.records += result.exact_duplicates + result.reemitted

    for kind in malformed_kinds:
        line = _malformed_line(rng, kind, files)
        _insert(rng, files[rng.randrange(file_count)], line)
        result.malformed.append(kind)

    if blank_line:
        _insert(rng, files[0], "")
        result.blank_lines += 1
    return result
