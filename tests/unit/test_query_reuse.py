"""Sandboxed DuckDB databases reused between queries (lakeglue.query.duckdb_pool): the reuse saves the setup of a
database per query but never widens what a query may read, never serves files that changed and never keeps a
database a query failed in. Real DuckDB, real Parquet files, real SQLite catalog."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_query import GOLD_COLUMNS, ORDER_COLUMNS, Env, gold_data, orders_data

from lakeglue.catalog import Column
from lakeglue.query import QueryError, duckdb_pool

GOLD = "SELECT count(*) AS n FROM ecommerce_gold.daily_revenue_by_category"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    duckdb_pool.clear()
    e = Env(tmp_path)
    orders = e.write_parquet(("silver", "orders"), orders_data(), partition_by="dt")
    e.register("ecommerce_silver", "orders", orders, ORDER_COLUMNS, partition_keys=(Column("dt", "date"),))
    gold = e.write_parquet(("gold", "daily_revenue_by_category"), gold_data())
    e.register("ecommerce_gold", "daily_revenue_by_category", gold, GOLD_COLUMNS)
    yield e
    duckdb_pool.clear()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every new DuckDB database the query engine takes (each is empty: opened for it, or in the background)."""
    calls: list[str] = []
    real = duckdb_pool.fresh

    def counting(config: Any) -> duckdb.DuckDBPyConnection:
        calls.append(":memory:")
        return real(config)

    monkeypatch.setattr(duckdb_pool, "fresh", counting)
    return calls


def gold_file(env: Env) -> Path:
    location = env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category").location
    return next(Path(location.removeprefix("file://")).glob("*.parquet"))


def test_a_repeated_query_reuses_its_database_and_other_tables_get_their_own(env: Env, opened: list[str]) -> None:
    assert env.run(GOLD).rows == [(6,)]
    assert env.run(GOLD).rows == [(6,)]
    assert len(opened) == 1
    assert env.run("SELECT count(*) AS n FROM ecommerce_silver.orders").rows == [(5,)]
    assert len(opened) == 2  # another sandbox: another database


def test_a_reused_database_reads_only_the_tables_of_its_own_query(env: Env) -> None:
    env.run("SELECT count(*) AS n FROM ecommerce_silver.orders")
    env.run(GOLD)  # both sandboxes are now idle in the pool
    with pytest.raises(QueryError, match="file system operations are disabled"):
        env.run(f"SELECT * FROM read_parquet('{gold_file(env)}')")
    with pytest.raises(QueryError, match="file system operations are disabled"):
        env.run(f"SELECT o.order_id FROM ecommerce_silver.orders AS o, read_parquet('{gold_file(env)}') AS g")


def test_files_rewritten_in_place_are_read_again(env: Env, opened: list[str]) -> None:
    assert env.run(GOLD).rows == [(6,)]
    path = gold_file(env)
    more = pa.concat_tables([gold_data(), gold_data()])
    pq.write_table(more, path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert env.run(GOLD).rows == [(12,)]
    assert len(opened) == 2


def test_a_changed_catalog_definition_gets_a_new_view(env: Env) -> None:
    assert env.run("SELECT units FROM ecommerce_gold.daily_revenue_by_category ORDER BY units LIMIT 1").types == [
        "bigint"]
    table = env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category")
    retyped = tuple(Column(c.name, "double" if c.name == "units" else c.type) for c in table.columns)
    env.catalog.update_table(table.evolve(storage=table.storage.__class__.for_format(
        "parquet", retyped, table.location)))
    res = env.run("SELECT units FROM ecommerce_gold.daily_revenue_by_category ORDER BY units LIMIT 1")
    assert (res.types, res.rows) == (["double"], [(1.0,)])


def test_a_database_a_query_failed_in_is_not_reused(env: Env, opened: list[str]) -> None:
    env.run(GOLD)
    with pytest.raises(QueryError, match="Cannot cast 'books' to INT"):
        env.run("SELECT CAST(category AS integer) AS c FROM ecommerce_gold.daily_revenue_by_category")
    assert env.run(GOLD).rows == [(6,)]
    assert len(opened) == 2  # the failed query took the idle database and closed it
