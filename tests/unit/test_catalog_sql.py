"""The catalog contract, run here on SQLite; ``tests/integration/test_catalog_postgres.py`` reuses it.

Every backend (SQL today, Glue and Hive later) must pass :class:`CatalogContract`: a
subclass only provides the ``catalog`` fixture and, if needed, :meth:`second_writer`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lakeglue.catalog import (
    AlreadyExists,
    Catalog,
    Column,
    ConcurrentModification,
    Database,
    EntityNotFound,
    Partition,
    StorageDescriptor,
    Table,
)
from lakeglue.catalog.sql import SqlCatalog

DB = "sales_raw"


def make_table(name: str = "orders", database: str = DB, **params: str) -> Table:
    columns = (Column("order_id", "bigint", "primary key"), Column("amount", "decimal(12,2)"),
               Column("items", "array<struct<product_id:bigint,qty:int>>"))
    storage = StorageDescriptor.for_format("parquet", columns, f"file:///lake/curated/{name}",
                                           serde_parameters={"serialization.format": "1"})
    return Table(database=database, name=name, storage=storage, partition_keys=(Column("dt", "string"),),
                 parameters={"classification": "parquet", **params}, description="orders of the shop")


def make_partition(table: Table, value: str, location: str | None = None) -> Partition:
    storage = replace(table.storage, location=location or f"{table.location}/dt={value}")
    return Partition(table.database, table.name, (value,), storage, {"recordCount": "10"})


class CatalogContract:
    """Behaviour every :class:`~lakeglue.catalog.base.Catalog` backend must show."""

    def second_writer(self, catalog: Catalog) -> Catalog:
        """Another client of the same catalog, as a concurrent task would open it."""
        assert isinstance(catalog, SqlCatalog)
        return SqlCatalog(catalog.url)

    # -- databases ---------------------------------------------------------------------------
    def test_database_lifecycle(self, catalog: Catalog) -> None:
        created = catalog.create_database(Database(DB, "raw files", "file:///lake/raw", {"owner": "data-eng"}))
        assert created.create_time is not None
        assert catalog.get_database(DB) == created
        assert [d.name for d in catalog.list_databases()] == [DB]
        with pytest.raises(AlreadyExists, match=re.escape("database 'sales_raw' already exists")):
            catalog.create_database(Database(DB))
        assert catalog.ensure_database(DB) == created  # idempotent, keeps the original
        other = catalog.ensure_database("sales_gold", "gold tables")
        assert (other.name, other.description) == ("sales_gold", "gold tables")
        assert [d.name for d in catalog.list_databases()] == ["sales_gold", DB]
        catalog.delete_database("sales_gold")
        with pytest.raises(EntityNotFound, match=re.escape("database 'sales_gold' not found")):
            catalog.get_database("sales_gold")
        with pytest.raises(EntityNotFound, match=re.escape("database 'nope' not found")):
            catalog.delete_database("nope")

    def test_delete_database_removes_its_tables(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        catalog.batch_create_partitions([make_partition(table, "2026-11-01")])
        catalog.delete_database(DB)
        assert catalog.list_tables(DB) == []
        assert catalog.get_partitions(DB, "orders") == []
        catalog.ensure_database(DB)
        assert not catalog.table_exists(DB, "orders")

    # -- tables ------------------------------------------------------------------------------
    def test_create_and_get_round_trip(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        created = catalog.create_table(make_table())
        assert created.version == 1
        assert created.create_time is not None and created.update_time == created.create_time
        fetched = catalog.get_table(DB, "orders")
        assert fetched == created
        assert fetched.columns == (Column("order_id", "bigint", "primary key"), Column("amount", "decimal(12,2)"),
                                   Column("items", "array<struct<product_id:bigint,qty:int>>"))
        assert fetched.storage.serde == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        assert fetched.storage.serde_parameters == {"serialization.format": "1"}
        assert fetched.partition_keys == (Column("dt", "string"),)
        assert fetched.parameters == {"classification": "parquet"}
        assert catalog.table_exists(DB, "orders")
        assert not catalog.table_exists(DB, "customers")

    def test_create_errors(self, catalog: Catalog) -> None:
        with pytest.raises(EntityNotFound, match=re.escape("database 'sales_raw' not found")):
            catalog.create_table(make_table())
        catalog.ensure_database(DB)
        catalog.create_table(make_table())
        with pytest.raises(AlreadyExists, match=re.escape("table sales_raw.orders already exists")):
            catalog.create_table(make_table())
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.missing not found")):
            catalog.get_table(DB, "missing")

    def test_list_tables_is_sorted_and_per_database(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        catalog.ensure_database("other")
        for name in ("products", "customers", "orders"):
            catalog.create_table(make_table(name))
        catalog.create_table(make_table("elsewhere", database="other"))
        assert [t.name for t in catalog.list_tables(DB)] == ["customers", "orders", "products"]
        assert [t.qualified_name for t in catalog.list_tables("other")] == ["other.elsewhere"]
        assert catalog.list_tables("no_such_db") == []

    def test_update_archives_previous_versions(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        v1 = catalog.create_table(make_table())
        v2 = catalog.update_table(v1.evolve(parameters={**v1.parameters, "recordCount": "10"}))
        wider = (*v2.storage.columns, Column("channel", "string"))
        v3 = catalog.update_table(v2.evolve(storage=replace(v2.storage, columns=wider)))

        assert (v2.version, v3.version) == (2, 3)
        assert v3.create_time == v1.create_time
        assert v3.update_time is not None and v3.update_time >= v2.update_time  # type: ignore[operator]
        assert catalog.get_table(DB, "orders") == v3
        versions = catalog.get_table_versions(DB, "orders")
        assert [v.version for v in versions] == [1, 2, 3]
        assert versions[0].table == v1
        assert versions[1].table == v2
        assert versions[0].archived_at is not None
        assert versions[2].table == v3 and versions[2].archived_at is None
        assert [c.name for c in versions[0].table.columns] == ["order_id", "amount", "items"]

    def test_update_of_missing_table(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.orders not found")):
            catalog.update_table(make_table())

    def test_optimistic_concurrency_two_writers(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        catalog.create_table(make_table())
        other = self.second_writer(catalog)
        read_by_a = catalog.get_table(DB, "orders")
        read_by_b = other.get_table(DB, "orders")

        won = catalog.update_table(read_by_a.evolve(parameters={"classification": "parquet", "writer": "a"}))
        stale = "table sales_raw.orders is at version 2, the update was based on version 1"
        with pytest.raises(ConcurrentModification, match=re.escape(stale)):
            other.update_table(read_by_b.evolve(parameters={"classification": "parquet", "writer": "b"}))

        assert catalog.get_table(DB, "orders") == won
        assert won.parameters["writer"] == "a"
        assert [v.version for v in catalog.get_table_versions(DB, "orders")] == [1, 2]
        with pytest.raises(ConcurrentModification):
            catalog.update_table(won, expected_version=1)
        retried = other.update_table(other.get_table(DB, "orders").evolve(
            parameters={"classification": "parquet", "writer": "b"}))
        assert (retried.version, retried.parameters["writer"]) == (3, "b")

    def test_concurrent_read_modify_write_loses_no_update(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        catalog.create_table(make_table())
        writers = 4
        errors: list[BaseException] = []
        conflicts: list[int] = []

        def add_parameter(i: int) -> None:
            client = self.second_writer(catalog)
            try:
                for _ in range(50):
                    current = client.get_table(DB, "orders")
                    try:
                        client.update_table(current.evolve(parameters={**current.parameters, f"w{i}": "1"}))
                        return
                    except ConcurrentModification:
                        conflicts.append(i)
                raise AssertionError(f"writer {i} never got its update in")
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=add_parameter, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        final = catalog.get_table(DB, "orders")
        assert final.version == 1 + writers
        assert {k for k in final.parameters if k.startswith("w")} == {f"w{i}" for i in range(writers)}
        assert [v.version for v in catalog.get_table_versions(DB, "orders")] == list(range(1, writers + 2))

    def test_concurrent_upserts_of_a_new_table(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        writers = 8
        barrier = threading.Barrier(writers)
        errors: list[BaseException] = []

        def upsert(i: int) -> None:
            client = self.second_writer(catalog)
            barrier.wait()
            try:
                client.upsert_table(make_table(writer=str(i)))
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        for _ in range(3):  # the race needs the creators to overlap; three rounds make that near certain
            if catalog.table_exists(DB, "orders"):
                catalog.delete_table(DB, "orders")
            threads = [threading.Thread(target=upsert, args=(i,)) for i in range(writers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            if errors:
                raise errors[0]
            assert catalog.get_table(DB, "orders").version == writers

    def test_upsert_creates_then_updates_on_top_of_current(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        first = catalog.upsert_table(make_table())
        assert first.version == 1
        catalog.update_table(first.evolve(parameters={"classification": "parquet", "by": "someone else"}))
        stale = make_table(recordCount="5")  # version 0: the caller never read the table
        second = catalog.upsert_table(stale)
        assert second.version == 3
        assert catalog.get_table(DB, "orders").parameters == {"classification": "parquet", "recordCount": "5"}

    def test_delete_table(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        catalog.update_table(table.evolve(description="v2"))
        catalog.batch_create_partitions([make_partition(table, "2026-11-01")])
        catalog.delete_table(DB, "orders")
        assert not catalog.table_exists(DB, "orders")
        assert catalog.get_partitions(DB, "orders") == []
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.orders not found")):
            catalog.delete_table(DB, "orders")
        recreated = catalog.create_table(make_table())
        assert recreated.version == 1
        assert [v.version for v in catalog.get_table_versions(DB, "orders")] == [1]

    # -- partitions --------------------------------------------------------------------------
    def test_batch_create_and_get_partitions(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        parts = [make_partition(table, d) for d in ("2026-11-02", "2026-11-01")]
        assert catalog.batch_create_partitions(parts) == 2
        got = catalog.get_partitions(DB, "orders")
        assert [p.values for p in got] == [("2026-11-01",), ("2026-11-02",)]
        assert [p.location for p in got] == ["file:///lake/curated/orders/dt=2026-11-01",
                                             "file:///lake/curated/orders/dt=2026-11-02"]
        assert got[0].storage.columns == table.storage.columns
        assert got[0].parameters == {"recordCount": "10"}
        assert got[0].create_time is not None
        assert got[0].spec(table.partition_keys) == {"dt": "2026-11-01"}
        assert catalog.batch_create_partitions([]) == 0

    def test_batch_create_is_all_or_nothing(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        catalog.batch_create_partitions([make_partition(table, "2026-11-01")])
        duplicate = "partition ['2026-11-01'] of sales_raw.orders already exists"
        with pytest.raises(AlreadyExists, match=re.escape(duplicate)):
            catalog.batch_create_partitions([make_partition(table, "2026-11-03"), make_partition(table, "2026-11-01")])
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-01",)]

    def test_partition_values_must_match_keys(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        bad = Partition(DB, "orders", ("2026", "11"), table.storage)
        too_many = "partition ('2026', '11') of sales_raw.orders has 2 values; the table has 1 partition keys"
        with pytest.raises(ValueError, match=re.escape(too_many)):
            catalog.batch_upsert_partitions([bad])
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.missing not found")):
            catalog.batch_create_partitions([Partition(DB, "missing", ("x",))])

    def test_batch_upsert_partitions(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        catalog.batch_create_partitions([make_partition(table, "2026-11-01")])
        moved = make_partition(table, "2026-11-01", "file:///lake/curated/orders/v2/dt=2026-11-01")
        assert catalog.batch_upsert_partitions([moved, make_partition(table, "2026-11-02")]) == 2
        got = catalog.get_partitions(DB, "orders")
        assert [(p.values, p.location) for p in got] == [
            (("2026-11-01",), "file:///lake/curated/orders/v2/dt=2026-11-01"),
            (("2026-11-02",), "file:///lake/curated/orders/dt=2026-11-02"),
        ]

    def test_batch_delete_partitions(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        catalog.batch_create_partitions([make_partition(table, d) for d in ("2026-11-01", "2026-11-02", "2026-11-03")])
        assert catalog.batch_delete_partitions(DB, "orders", [("2026-11-01",), ("2026-11-03",), ("1999-01-01",)]) == 2
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-02",)]

    def test_replace_partitions_swaps_the_whole_set(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        catalog.batch_create_partitions([make_partition(table, d) for d in ("2026-11-01", "2026-11-02")])
        catalog.replace_partitions(DB, "orders", [make_partition(table, "2026-11-02", "file:///v2/dt=2026-11-02"),
                                                  make_partition(table, "2026-11-03")])
        assert [(p.values, p.location) for p in catalog.get_partitions(DB, "orders")] == [
            (("2026-11-02",), "file:///v2/dt=2026-11-02"),
            (("2026-11-03",), "file:///lake/curated/orders/dt=2026-11-03"),
        ]
        catalog.replace_partitions(DB, "orders", [])
        assert catalog.get_partitions(DB, "orders") == []

    def test_partitions_are_per_table(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        orders = catalog.create_table(make_table("orders"))
        items = catalog.create_table(make_table("order_items"))
        catalog.batch_create_partitions([make_partition(orders, "2026-11-01"), make_partition(items, "2026-11-09")])
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-01",)]
        assert [p.values for p in catalog.get_partitions(DB, "order_items")] == [("2026-11-09",)]


class TestSqliteCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, tmp_path: Path) -> Iterator[SqlCatalog]:
        yield SqlCatalog(f"sqlite:///{tmp_path / 'catalog.db'}")


def test_sql_catalog_needs_a_url() -> None:
    with pytest.raises(ValueError, match=re.escape("SqlCatalog needs a SQLAlchemy URL")):
        SqlCatalog("")


def test_sqlite_file_is_created_with_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "catalog.db"
    SqlCatalog(f"sqlite:///{path}").ensure_database(DB)
    assert path.is_file()
