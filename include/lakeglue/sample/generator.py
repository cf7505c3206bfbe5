"""Write the demo e-commerce lake into the raw zone, byte-for-byte reproducibly.

Reproducible because tests compare pipeline output with an independent calculation over these files, and a demo
that prints different numbers on every run cannot be checked by eye. Hence: seeded ``random.Random`` only, no
wall clock, gzip headers with ``mtime=0``, fixed CSV line endings, and Parquet written from explicit schemas.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakeglue.sample.entities import Customer, Product, make_customers, make_products
from lakeglue.sample.orders import MALFORMED_KINDS, DayOrders, build_day

PREFIX = "ecommerce"
CUSTOMERS_PER_SCALE = 50
#: 0-based index of the day whose order files are gzip-compressed (the second day).
GZIP_DAY_INDEX = 1
#: 0-based index of the first day carrying the drifted ``channel`` field (the fourth day).
DRIFT_DAY_INDEX = 3
MALFORMED_PER_SCALE = 3
#: Every tenth customer never orders, so customer value must keep customers without orders (0 / 0.00).
NON_BUYER_EVERY = 10

_PRODUCTS_SCHEMA = pa.schema(
    [
        pa.field("product_id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("category", pa.string()),
        pa.field("list_price", pa.float64()),
    ]
)


@dataclass(frozen=True)
class SampleManifest:
    """What :func:`generate` wrote; ``files`` are POSIX paths relative to the raw zone root."""

    root: Path
    files: tuple[str, ...]
    customers: int
    products: int
    days: tuple[date, ...]
    gzip_day: date
    drift_from: date | None
    orders: int  # distinct order ids: the silver order count
    order_lines: int  # non-blank lines written to order files, good and bad
    order_records: int  # lines that are JSON objects (duplicates included)
    malformed_lines: int
    duplicate_records: int  # exact_duplicates + reemitted
    exact_duplicates: int
    reemitted: int
    blank_lines: int

    def paths(self) -> list[Path]:
        """Absolute paths of the written files."""
        return [self.root / rel for rel in self.files]

    def summary(self) -> str:
        """A few human lines for the CLI and the demo."""
        last = self.days[-1].isoformat() if self.days else "-"
        first = self.days[0].isoformat() if self.days else "-"
        return "\n".join(
            [
                f"sample lake written under {self.root / PREFIX} ({len(self.files)} files)",
                f"  customers: {self.customers}   products: {self.products}",
                f"  orders: {self.orders} distinct over {len(self.days)} days ({first} .. {last}), "
                f"gzip day {self.gzip_day.isoformat()}, channel column from "
                f"{self.drift_from.isoformat() if self.drift_from else 'never'}",
                f"  order lines: {self.order_lines} = {self.order_records} records "
                f"({self.exact_duplicates} exact duplicates, {self.reemitted} re-emitted updates) "
                f"+ {self.malformed_lines} malformed; {self.blank_lines} blank line(s) ignored",
            ]
        )


def _customers_csv(customers: list[Customer]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # csv quotes the name with a comma
    writer.writerow(["customer_id", "name", "email", "country", "signup_date"])
    writer.writerows(c.csv_row() for c in customers)
    return buffer.getvalue().encode("utf-8")


def _write_products(path: Path, products: list[Product]) -> None:
    table = pa.table(
        {
            "product_id": pa.array([p.product_id for p in products], pa.int64()),
            "name": pa.array([p.name for p in products], pa.string()),
            "category": pa.array([p.category for p in products], pa.string()),
            "list_price": pa.array([p.list_price for p in products], pa.float64()),
        },
        schema=_PRODUCTS_SCHEMA,
    )
    pq.write_table(table, path, compression="snappy")


def _check_args(raw_root: Path, scale: int, days: int, overwrite: bool) -> None:
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    target = raw_root / PREFIX
    if target.exists() and any(p.is_file() for p in target.rglob("*")) and not overwrite:
        raise FileExistsError(
            f"{target} already holds files; pass overwrite=True (CLI: --overwrite) to replace the sample lake"
        )


def generate(
    raw_root: str | Path,
    scale: int = 1,
    seed: int = 42,
    days: int = 7,
    start: date = date(2026, 11, 1),
    *,
    overwrite: bool = False,
) -> SampleManifest:
    """Write ``raw_root/ecommerce/{customers,products,orders}`` and describe what was written.

    ``raw_root`` is the raw zone directory. Same arguments give byte-identical files. With ``overwrite`` an
    existing ``raw_root/ecommerce`` is removed first, so no file of an earlier, differently sized run survives.
    """
    root = Path(raw_root)
    _check_args(root, scale, days, overwrite)
    base = root / PREFIX
    if base.exists():
        shutil.rmtree(base)
    written: list[Path] = []

    def write(rel: str, data: bytes) -> None:
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    rng = random.Random(f"lakeglue-sample:{seed}:{scale}:dimensions")
    customers = make_customers(rng, CUSTOMERS_PER_SCALE * scale, start)
    products = make_products()
    write("customers/customers.csv", _customers_csv(customers))
    products_path = base / "products" / "products.parquet"
    products_path.parent.mkdir(parents=True, exist_ok=True)
    _write_products(products_path, products)
    written.append(products_path)

    buyers = [c for c in customers if c.customer_id % NON_BUYER_EVERY != 0]
    weights = [rng.choice((1.0, 1.0, 2.0, 4.0)) for _ in buyers]  # a few heavy buyers
    malformed_by_day: list[list[str]] = [[] for _ in range(days)]
    for k in range(MALFORMED_PER_SCALE * scale):
        malformed_by_day[k % days].append(MALFORMED_KINDS[k % len(MALFORMED_KINDS)])

    dates = tuple(start + timedelta(days=i) for i in range(days))
    gzip_index = min(GZIP_DAY_INDEX, days - 1)
    results: list[DayOrders] = []
    for index, day in enumerate(dates):
        result = build_day(
            seed=seed,
            scale=scale,
            day=day,
            day_index=index,
            customers=buyers,
            weights=weights,
            products=products,
            drift=index >= DRIFT_DAY_INDEX,
            file_count=2 if index % 2 == 0 else 1,
            malformed_kinds=malformed_by_day[index],
            blank_line=index == 0,
        )
        results.append(result)
        for number, lines in enumerate(result.files, start=1):
            data = "".join(f"{line}\n" for line in lines).encode("utf-8")
            rel = f"orders/dt={day.isoformat()}/orders-{number}.jsonl"
            if index == gzip_index:
                write(f"{rel}.gz", gzip.compress(data, compresslevel=6, mtime=0))
            else:
                write(rel, data)

    records = sum(r.records for r in results)
    malformed = sum(len(r.malformed) for r in results)
    exact = sum(r.exact_duplicates for r in results)
    reemitted = sum(r.reemitted for r in results)
    return SampleManifest(
        root=root,
        files=tuple(p.relative_to(root).as_posix() for p in written),
        customers=len(customers),
        products=len(products),
        days=dates,
        gzip_day=dates[gzip_index],
        drift_from=dates[DRIFT_DAY_INDEX] if days > DRIFT_DAY_INDEX else None,
        orders=sum(r.orders for r in results),
        order_lines=records + malformed,
        order_records=records,
        malformed_lines=malformed,
        duplicate_records=exact + reemitted,
        exact_duplicates=exact,
        reemitted=reemitted,
        blank_lines=sum(r.blank_lines for r in results),
    )
