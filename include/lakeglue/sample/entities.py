"""Customers and products of the sample shop: the small dimension tables orders point at.

The values are deliberately messy in the ways real exports are (stray spaces, mixed case, blanks, a quoted
comma), because the silver layer exists to clean exactly that; a tidy sample would leave those rules untested.
Only ASCII spaces are used as "whitespace" since SQL ``trim`` (Spark, DuckDB) strips spaces, not tabs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

#: The conformed categories; silver's ``lower(trim(category))`` must land every product on one of these.
CATEGORIES = ("books", "electronics", "garden", "toys", "kitchen")

#: (name, category as written in the raw file, list price in cents). Messy names/categories on purpose.
_PRODUCTS: tuple[tuple[str, str, int], ...] = (
    ("The Pragmatic Lakehouse", " Books", 3999),
    ("Data Pipelines Pocket Guide", "books", 1999),
    ("SQL Puzzles", "BOOKS", 1450),
    ("Streaming Systems", "books ", 4595),
    ("USB-C Hub", "electronics", 3499),
    ("Noise-Cancelling Headphones", "Electronics", 19999),
    ("Mechanical Keyboard", " ELECTRONICS ", 8950),
    ("E-Reader", "electronics", 12900),
    (" Garden Hose 25m ", "garden", 2999),
    ("Pruning Shears", "Garden", 1899),
    ("Raised Bed Kit", "garden ", 7450),
    ("Seed Starter Tray", "garden", 999),
    ("Wooden Train Set", "toys", 4999),
    ("Puzzle 1000 pcs", " Toys", 1599),
    ("Building Blocks", "toys", 2999),
    ("Kite", "TOYS", 1250),
    ("Chef's Knife", "kitchen", 5999),
    ("Cast Iron Pan ", "Kitchen", 3999),
    ("Espresso Cups (set of 4)", "kitchen", 2450),
    ("Silicone Spatula", " kitchen ", 699),
)

#: Product ids start here so they never look like customer ids in a query result.
FIRST_PRODUCT_ID = 501

_FIRST_NAMES = (
    "Alice", "Bob", "Carla", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kemi", "Lars", "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Okafor", "Berg", "Rossi", "Nakamura", "Novak", "Garcia", "Khan", "Dubois", "Silva",
    "Meyer", "Costa", "Larsen", "Ivanova", "Patel", "Haddad", "Kowalski", "Murphy", "Tanaka", "Weber",
)  # fmt: skip
_COUNTRIES = ("us", "DE", "fr", "GB", "nl", "es", "SE", "jp", "br", "IN")
_DOMAINS = ("example.com", "mail.example.org", "shop.example.net")


@dataclass(frozen=True)
class Customer:
    """One row of ``customers.csv`` exactly as written (raw, uncleaned strings)."""

    customer_id: int
    name: str
    email: str
    country: str
    signup_date: date

    def csv_row(self) -> list[str]:
        return [str(self.customer_id), self.name, self.email, self.country, self.signup_date.isoformat()]


@dataclass(frozen=True)
class Product:
    """One row of ``products.parquet``; ``list_cents`` is the exact price, ``list_price`` its float column."""

    product_id: int
    name: str
    category: str
    list_cents: int

    @property
    def list_price(self) -> float:
        return self.list_cents / 100


def make_products() -> list[Product]:
    """The fixed catalogue of 20 products (not scaled: a shop's range does not grow with its traffic)."""
    return [Product(FIRST_PRODUCT_ID + i, name, category, cents) for i, (name, category, cents) in enumerate(_PRODUCTS)]


def _messy(rng: random.Random, value: str) -> str:
    """Pad ``value`` with stray spaces now and then, like hand-edited spreadsheets do."""
    roll = rng.random()
    if roll < 0.15:
        return f"  {value} "
    if roll < 0.25:
        return f"{value}  "
    return value


def _email(rng: random.Random, first: str, last: str, customer_id: int) -> str:
    clean = f"{first}.{last}.{customer_id}@{rng.choice(_DOMAINS)}".lower()
    roll = rng.random()
    if roll < 0.08:
        return ""  # missing: silver makes it NULL
    if roll < 0.12:
        return "   "  # blank but not empty: trim then nullif makes it NULL too
    if roll < 0.30:
        user, domain = clean.split("@")
        return f"  {user.title()}@{domain.title().replace('.Com', '.COM')} "  # e.g. "  Alice.Smith.3@Example.COM "
    return _messy(rng, clean)


def _country(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return rng.choice(("", "  "))  # unknown country: NULL in silver
    return _messy(rng, rng.choice(_COUNTRIES))


def make_customers(rng: random.Random, count: int, start: date) -> list[Customer]:
    """``count`` customers with ids 1..count; customer 3 has a comma in its name to exercise CSV quoting."""
    customers = []
    for customer_id in range(1, count + 1):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        if customer_id == 3:
            name = f"{last}, Jr., {first}"
        elif customer_id == 7:
            first, last = "Zoë", "Müller"  # non-ASCII: the files are UTF-8
            name = f"{first} {last}"
        else:
            name = f"{first} {last}"
        customers.append(
            Customer(
                customer_id=customer_id,
                name=_messy(rng, name),
                email=_email(rng, first.replace("ë", "e").replace("ü", "u"), last.replace("ü", "u"), customer_id),
                country=_country(rng),
                signup_date=start - timedelta(days=rng.randint(1, 900)),
            )
        )
    return customers
