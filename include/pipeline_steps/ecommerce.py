"""Example steps for an orders table (used by tests/integration/test_custom_steps.py).

Each step is written once per engine with the same meaning, so a silver table built with them
is the same on Spark and DuckDB:

* ``flag_big_orders`` drops the shop's own test orders (``customer_id`` 0; NULL is kept) and adds
  ``big_order`` (``amount >= BIG_ORDER_AMOUNT``; NULL when the amount is NULL) — plain DataFrame
  / relation operations;
* ``amount_band`` adds ``amount_band`` with the pure-Python :func:`band`: a Python UDF on Spark
  (executors unpickle it, so this package must reach them), a pyarrow.Table on DuckDB.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyspark.sql import DataFrame

#: Orders of at least this amount are "big".
BIG_ORDER_AMOUNT = 100
#: The customer the shop places test orders as.
TEST_CUSTOMER_ID = 0


def band(amount: Decimal | None) -> str | None:
    """The amount band of an order: small under 20, medium under 100, else large."""
    if amount is None:
        return None
    if amount < 20:
        return "small"
    return "medium" if amount < BIG_ORDER_AMOUNT else "large"


def flag_big_orders_spark(df: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    kept = df.filter(F.col("customer_id").isNull() | (F.col("customer_id") != TEST_CUSTOMER_ID))
    return kept.withColumn("big_order", F.col("amount") >= F.lit(BIG_ORDER_AMOUNT))


def flag_big_orders_duckdb(rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    kept = rel.filter(f"customer_id IS DISTINCT FROM {TEST_CUSTOMER_ID}")
    return kept.project(f"*, amount >= {BIG_ORDER_AMOUNT} AS big_order")


def amount_band_spark(df: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    # A plain (pickled) Python UDF: executors need only this package, not pyarrow.
    return df.withColumn("amount_band", F.udf(band, "string", useArrow=False)(F.col("amount")))


def amount_band_duckdb(rel: duckdb.DuckDBPyRelation) -> pa.Table:
    import pyarrow as pa

    table = rel.to_arrow_table()
    bands = pa.array([band(v) for v in table.column("amount").to_pylist()], pa.string())
    return table.append_column("amount_band", bands)
