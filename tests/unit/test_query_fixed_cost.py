"""The per-query work the query layer keeps between queries (translation, column check, pin durability) never
serves a stale answer: a changed table definition is translated and checked again, a statement that failed its
check fails again, and a pin written with SQLite's cheaper commit is seen at once by another connection (the
retention expirer's). Real SQLite catalog, real sqlglot, real DuckDB."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from test_query import GOLD_COLUMNS, Env, gold_data

from lakeglue.catalog import Column
from lakeglue.catalog.pins import VersionPins, pinned
from lakeglue.query import QueryError, binding, duckdb_pool
from lakeglue.query.base import BoundQuery
from lakeglue.query.binding import bind_query
from lakeglue.query.schema import catalog_schema
from lakeglue.sql import translate, translate_query

TABLE = ("ecommerce_gold", "daily_revenue_by_category")
HALF = "SELECT orders / 2 AS half FROM ecommerce_gold.daily_revenue_by_category"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    duckdb_pool.clear()
    e = Env(tmp_path)
    gold = e.write_parquet(("gold", "daily_revenue_by_category"), gold_data())
    e.register(*TABLE, gold, GOLD_COLUMNS)
    yield e
    duckdb_pool.clear()


def test_a_changed_column_type_is_translated_again(env: Env) -> None:
    table = env.catalog.get_table(*TABLE)
    assert any(c.name == "orders" and c.type == "bigint" for c in table.columns)
    as_bigint = translate_query(BoundQuery(HALF, (), None, {TABLE: table}), "duckdb")
    assert translate_query(BoundQuery(HALF, (), None, {TABLE: table}), "duckdb") == as_bigint  # kept
    columns = tuple(Column(c.name, "double") if c.name == "orders" else c for c in table.columns)
    as_double = replace(table, storage=replace(table.storage, columns=columns), version=table.version + 1)
    translated = translate_query(BoundQuery(HALF, (), None, {TABLE: as_double}), "duckdb")
    assert '"orders" // 2' in as_bigint  # Trino's integer division for a bigint column
    assert '"orders" / 2' in translated and "//" not in translated  # plain division once it is a double


def test_the_schema_sqlglot_reads_is_kept_only_for_the_same_table_definitions(env: Env) -> None:
    table = env.catalog.get_table(*TABLE)
    schema = catalog_schema({TABLE: table})
    assert catalog_schema({TABLE: env.catalog.get_table(*TABLE)}) is schema  # the check's, then the translator's
    assert schema.get_column_type(".".join(TABLE), "orders").sql() == "BIGINT"
    columns = tuple(Column(c.name, "double") if c.name == "orders" else c for c in table.columns)
    retyped = replace(table, storage=replace(table.storage, columns=columns))  # same version, other type
    assert catalog_schema({TABLE: retyped}).get_column_type(".".join(TABLE), "orders").sql() == "DOUBLE"
    assert catalog_schema({TABLE: table}) is schema


def test_a_dropped_column_fails_the_check_again(env: Env) -> None:
    sql = "SELECT category, orders FROM ecommerce_gold.daily_revenue_by_category"
    assert len(env.run(sql).rows) == 6
    table = env.catalog.get_table(*TABLE)
    kept = tuple(c for c in table.columns if c.name != "orders")
    env.catalog.update_table(replace(table, storage=replace(table.storage, columns=kept)))
    for _ in range(2):  # a failed check is not remembered: the same error every time
        with pytest.raises(QueryError, match=r"column orders .*cannot be resolved"):
            env.run(sql)


def test_a_pin_is_visible_to_another_connection_while_the_reader_runs(env: Env) -> None:
    table = env.catalog.get_table(*TABLE)
    database_file = env.settings.catalog_url.removeprefix("sqlite:///")
    with pinned(env.catalog, env.settings, "query/test", [table]) as pins:
        assert [p.version for p in pins] == [table.version]
        other = sqlite3.connect(database_file)  # another process's view of the catalog file (retention's)
        try:
            assert other.execute("SELECT count(*) FROM lg_version_pins WHERE run_id = 'query/test'").fetchone() == (1,)
        finally:
            other.close()
        assert [p.pin_id for p in VersionPins(env.settings.catalog_url).active()] == [pins[0].pin_id]
    assert VersionPins(env.settings.catalog_url).active() == []


@pytest.mark.parametrize("sql", [
    "SELECT category, sum(revenue) FROM daily_revenue_by_category GROUP BY 1 ORDER BY sum(revenue) DESC",
    "WITH t AS (SELECT dt, orders / 2 AS h FROM daily_revenue_by_category) SELECT h, count(*) FROM t GROUP BY h",
    "SELECT reduce(ARRAY[orders], 0, (s, x) -> s + x, s -> s * 2) FROM daily_revenue_by_category",
])
def test_the_checked_tree_translates_as_the_text_does(env: Env, sql: str) -> None:
    binding._checked.clear()  # a statement checked before (another test) hands over no tree
    bound = bind_query(sql, None, "ecommerce_gold", env.catalog)
    assert replace(bound, sql="SELECT 1").qualified == []  # another text never gets this statement's tree
    from_text = translate(sql, "duckdb", bound.tables, database=bound.database)
    assert len(bound.qualified) == (0 if "reduce" in sql else 1)  # reduce(…, finish) is rewritten before qualifying
    assert translate_query(bound, "duckdb") == from_text
    assert bound.qualified == []  # handed over once: the translator rewrote it in place


def test_a_fresh_database_is_empty_configured_and_never_handed_out_twice() -> None:
    """The background spare (duckdb_pool.fresh) is a new, empty database with the asked settings each time."""
    duckdb_pool.clear()
    config: dict[str, str | int] = {"threads": 1, "memory_limit": "123MB"}
    first = duckdb_pool.fresh(config)
    assert duckdb_pool._spares, "the next database is being opened in the background"
    first.execute("CREATE TABLE leftover AS SELECT 1 AS x")
    second = duckdb_pool.fresh(config)
    assert second is not first
    assert second.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)
    assert second.execute("SELECT current_setting('threads')").fetchone() == (1,)
    assert str(second.execute("SELECT current_setting('memory_limit')").fetchone()[0]).startswith("117")
    other = duckdb_pool.fresh({"threads": 2, "memory_limit": "200MB"})
    assert other.execute("SELECT current_setting('threads')").fetchone() == (2,)
    for con in (first, second, other):
        duckdb_pool.close_later(con)
    duckdb_pool.clear()
    assert not duckdb_pool._spares
