"""The catalog contract: behaviour every :class:`~lakeglue.catalog.base.Catalog` backend must show.

Run against SQLite (``tests/unit/test_catalog_sql.py``), Postgres
(``tests/integration/test_catalog_postgres.py``) and Glue on a moto server
(``tests/integration/test_catalog_glue.py``). A subclass provides the ``catalog`` fixture and
:meth:`CatalogContract.second_writer`; nothing else may differ between backends except what
:meth:`CatalogContract.assert_archived_equal` documents.

Also holds the foundation's catalog schema, frozen, to build pre-migration databases with.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

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
from lakeglue.catalog.base import SqlWrite
from lakeglue.catalog.model import to_dict

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


def without_update_time(table: Table) -> Table:
    return table.evolve(update_time=None)


class CatalogContract:
    """Behaviour every :class:`~lakeglue.catalog.base.Catalog` backend must show."""

    def second_writer(self, catalog: Catalog) -> Catalog:
        """Another client of the same catalog, as a concurrent task would open it."""
        raise NotImplementedError(f"{type(self).__name__} must say how a second client opens the catalog")

    def assert_archived_equal(self, archived: Table, returned: Table) -> None:
        """An archived version is the definition the update call returned, timestamps included."""
        assert archived == returned

    # -- databases ---------------------------------------------------------------------------
    def test_database_lifecycle(self, catalog: Catalog) -> None:
        created = catalog.create_database(Database(DB, "raw files", "file:///lake/raw", {"owner": "data-eng"}))
        assert created.create_time is not None
        assert (created.name, created.description, created.location_uri, created.parameters) == (
            DB, "raw files", "file:///lake/raw", {"owner": "data-eng"})
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
        assert catalog.search_tables("orders") == []

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
        assert fetched.storage.location == "file:///lake/curated/orders"
        assert fetched.storage.input_format == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
        assert fetched.storage.output_format == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
        assert fetched.storage.serde == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        assert fetched.storage.serde_parameters == {"serialization.format": "1"}
        assert fetched.storage.compressed is False
        assert fetched.partition_keys == (Column("dt", "string"),)
        assert fetched.parameters == {"classification": "parquet"}
        assert (fetched.table_type, fetched.description) == ("EXTERNAL_TABLE", "orders of the shop")
        assert catalog.table_exists(DB, "orders")
        assert not catalog.table_exists(DB, "customers")

    def test_compressed_csv_with_storage_parameters_round_trips(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        storage = replace(StorageDescriptor.for_format("csv", [Column("id", "bigint"), Column("name", "string")],
                                                       "file:///lake/raw/customers", {"field.delim": ","},
                                                       compressed=True),
                          parameters={"skip.header.line.count": "1"})
        table = Table(DB, "customers", storage, (), "EXTERNAL_TABLE", {"classification": "csv",
                                                                       "compressionType": "gzip"})
        created = catalog.create_table(table)
        assert created.storage == storage
        assert catalog.get_table(DB, "customers").storage == storage
        assert catalog.get_table(DB, "customers").partition_keys == ()

    def test_column_parameters_round_trip(self, catalog: Catalog) -> None:
        """Column parameters (the crawler's ``lakeglue.original_name``) survive create, update, versions,
        partitions; a changed column parameter is a changed table."""
        catalog.ensure_database(DB)
        renamed = Column("order_items", "bigint", "", {"lakeglue.original_name": 'Order "Items" 🚀'})
        storage = replace(make_table().storage, columns=(Column("order_id", "bigint"), renamed))
        v1 = catalog.create_table(make_table().evolve(storage=storage))
        assert catalog.get_table(DB, "orders").columns == (Column("order_id", "bigint"), renamed)
        assert catalog.get_table(DB, "orders").columns[1].parameters == {
            "lakeglue.original_name": 'Order "Items" 🚀'}
        relabelled = Column("order_items", "bigint", "", {"lakeglue.original_name": "Order Items"})
        assert relabelled != renamed and hash(relabelled) == hash(renamed)  # compared, not hashed
        v2 = catalog.update_table(v1.evolve(storage=replace(v1.storage, columns=(Column("order_id", "bigint"),
                                                                                 relabelled))))
        assert v2 != v1
        versions = catalog.get_table_versions(DB, "orders")
        assert versions[0].table.columns[1].parameters == {"lakeglue.original_name": 'Order "Items" 🚀'}
        assert catalog.get_table(DB, "orders").columns[1] == relabelled
        catalog.batch_create_partitions([make_partition(v2, "2026-11-01")])
        assert catalog.get_partition(DB, "orders", ("2026-11-01",)).storage.columns[1] == relabelled

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
        assert v3.update_time is not None and v2.update_time is not None and v3.update_time >= v2.update_time
        assert v2.parameters == {"classification": "parquet", "recordCount": "10"}
        assert catalog.get_table(DB, "orders") == v3
        versions = catalog.get_table_versions(DB, "orders")
        assert [v.version for v in versions] == [1, 2, 3]
        self.assert_archived_equal(versions[0].table, v1)
        self.assert_archived_equal(versions[1].table, v2)
        assert versions[0].archived_at is not None and versions[1].archived_at is not None
        assert versions[2].table == v3 and versions[2].archived_at is None
        assert [c.name for c in versions[0].table.columns] == ["order_id", "amount", "items"]
        assert [c.name for c in versions[2].table.columns] == ["order_id", "amount", "items", "channel"]

    def test_get_one_version(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        v1 = catalog.create_table(make_table())
        v2 = catalog.update_table(v1.evolve(description="second"))
        first = catalog.get_table_version(DB, "orders", 1)
        assert first.version == 1
        self.assert_archived_equal(first.table, v1)
        assert first.archived_at is not None
        current = catalog.get_table_version(DB, "orders", 2)
        assert (current.version, current.table, current.archived_at) == (2, v2, None)
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.orders has no version 7; versions: 1, 2")):
            catalog.get_table_version(DB, "orders", 7)
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.missing not found")):
            catalog.get_table_version(DB, "missing", 1)

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
        clients = [self.second_writer(catalog) for _ in range(writers)]
        barrier = threading.Barrier(writers)
        errors: list[BaseException] = []

        def upsert(i: int) -> None:
            barrier.wait()
            try:
                clients[i].upsert_table(make_table(writer=str(i)))
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        for _ in range(3):  # the race needs the creators to overlap; three rounds make that near certain
            if catalog.table_exists(DB, "orders"):
                catalog.delete_table(DB, "orders")
            barrier.reset()
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
        assert catalog.search_tables("orders") == []
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.orders not found")):
            catalog.delete_table(DB, "orders")
        recreated = catalog.create_table(make_table())
        assert recreated.version == 1
        assert [v.version for v in catalog.get_table_versions(DB, "orders")] == [1]

    # -- search ------------------------------------------------------------------------------
    def _search_fixture(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        catalog.ensure_database("sales_gold")
        catalog.create_table(make_table("orders", UPDATED_BY_CRAWLER="raw_crawler"))
        catalog.create_table(make_table("order_items", UPDATED_BY_CRAWLER="raw_crawler", classification="json"))
        catalog.create_table(make_table("customers", classification="csv"))
        catalog.create_table(make_table("daily_orders", database="sales_gold"))

    def test_search_by_name(self, catalog: Catalog) -> None:
        self._search_fixture(catalog)
        assert [t.qualified_name for t in catalog.search_tables("ORDER")] == [
            "sales_gold.daily_orders", "sales_raw.order_items", "sales_raw.orders"]
        assert [t.qualified_name for t in catalog.search_tables("order", database=DB)] == [
            "sales_raw.order_items", "sales_raw.orders"]
        # LIKE wildcards in the text are literal characters, not patterns
        assert [t.qualified_name for t in catalog.search_tables("r_i")] == ["sales_raw.order_items"]
        assert catalog.search_tables("%") == []
        assert catalog.search_tables("nothing_like_this") == []
        assert [t.qualified_name for t in catalog.search_tables()] == [
            "sales_gold.daily_orders", "sales_raw.customers", "sales_raw.order_items", "sales_raw.orders"]
        assert catalog.search_tables("customers")[0] == catalog.get_table(DB, "customers")

    def test_search_by_parameters(self, catalog: Catalog) -> None:
        self._search_fixture(catalog)
        assert [t.name for t in catalog.search_tables(parameters={"classification": "parquet"})] == [
            "daily_orders", "orders"]
        assert [t.name for t in catalog.search_tables(parameters={"UPDATED_BY_CRAWLER": None})] == [
            "order_items", "orders"]
        assert [t.name for t in catalog.search_tables(
            parameters={"UPDATED_BY_CRAWLER": "raw_crawler", "classification": "json"})] == ["order_items"]
        assert [t.name for t in catalog.search_tables("cust", parameters={"classification": "csv"})] == ["customers"]
        assert catalog.search_tables("cust", parameters={"classification": "parquet"}) == []
        assert catalog.search_tables(parameters={"classification": "PARQUET"}) == []  # values match exactly
        assert catalog.search_tables(parameters={"no_such_key": None}) == []

    def test_search_sees_updates(self, catalog: Catalog) -> None:
        self._search_fixture(catalog)
        orders = catalog.get_table(DB, "orders")
        catalog.update_table(orders.evolve(parameters={"classification": "parquet", "DEPRECATED_BY_CRAWLER": "x"}))
        assert [t.name for t in catalog.search_tables(parameters={"DEPRECATED_BY_CRAWLER": None})] == ["orders"]
        assert [t.name for t in catalog.search_tables(parameters={"UPDATED_BY_CRAWLER": None})] == ["order_items"]

    # -- diff --------------------------------------------------------------------------------
    def test_diff_between_versions(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        v1 = catalog.create_table(make_table())
        columns = (Column("order_id", "bigint", "primary key"), Column("amount", "double"),
                   Column("channel", "string"))
        v2 = catalog.update_table(v1.evolve(
            storage=replace(v1.storage, columns=columns, location="file:///lake/curated/orders/v2"),
            partition_keys=(Column("dt", "date"),),
            parameters={"classification": "parquet", "recordCount": "42"}))
        catalog.update_table(v2.evolve(description="unchanged schema"))

        diff = catalog.diff_versions(DB, "orders", 1, 2)
        assert [c.name for c in diff.columns.added] == ["channel"]
        assert [c.name for c in diff.columns.removed] == ["items"]
        assert [(c.name, c.old_type, c.new_type) for c in diff.columns.changed] == [("amount", "decimal(12,2)",
                                                                                      "double")]
        assert [(c.name, c.old_type, c.new_type) for c in diff.partition_keys.changed] == [("dt", "string", "date")]
        assert diff.lines() == [
            "sales_raw.orders: v1 -> v2",
            "columns:",
            "  + channel string",
            "  - items array<struct<product_id:bigint,qty:int>>",
            "  ~ amount: decimal(12,2) -> double",
            "partition keys:",
            "  ~ dt: string -> date",
            "location: file:///lake/curated/orders -> file:///lake/curated/orders/v2",
            "parameters:",
            "  + recordCount = 42",
        ]
        assert catalog.diff_versions(DB, "orders", 2, 3).lines() == [
            "sales_raw.orders: v2 -> v3", "description: orders of the shop -> unchanged schema"]
        assert catalog.diff_versions(DB, "orders", 3, 3).is_empty
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.orders has no version 9")):
            catalog.diff_versions(DB, "orders", 1, 9)

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
        assert got[0].storage.serde_parameters == {"serialization.format": "1"}
        assert got[0].parameters == {"recordCount": "10"}
        assert got[0].create_time is not None
        assert got[0].spec(table.partition_keys) == {"dt": "2026-11-01"}
        assert catalog.get_partition(DB, "orders", ("2026-11-02",)) == got[1]
        with pytest.raises(EntityNotFound, match=re.escape("partition ['1999-01-01'] of sales_raw.orders not found")):
            catalog.get_partition(DB, "orders", ("1999-01-01",))
        assert catalog.batch_create_partitions([]) == 0

    def test_many_partitions_cross_batch_limits(self, catalog: Catalog) -> None:
        """Glue takes 100 partitions per create and 25 per delete call; a catalog call takes any number."""
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        days = [f"2026-{m:02d}-{d:02d}" for m in range(1, 8) for d in range(1, 31)][:205]
        assert catalog.batch_create_partitions([make_partition(table, d) for d in days]) == 205
        assert [p.values[0] for p in catalog.get_partitions(DB, "orders")] == sorted(days)
        assert catalog.batch_delete_partitions(DB, "orders", [(d,) for d in days[:60]]) == 60
        assert [p.values[0] for p in catalog.get_partitions(DB, "orders")] == sorted(days[60:])

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
        with pytest.raises(ValueError, match=re.escape(too_many)):
            catalog.batch_create_partitions([bad])
        with pytest.raises(EntityNotFound, match=re.escape("table sales_raw.missing not found")):
            catalog.batch_create_partitions([Partition(DB, "missing", ("x",))])
        assert catalog.get_partitions(DB, "orders") == []

    def test_batch_update_partitions(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table())
        catalog.batch_create_partitions([make_partition(table, d) for d in ("2026-11-01", "2026-11-02")])
        moved = replace(make_partition(table, "2026-11-01", "file:///v2/dt=2026-11-01"),
                        parameters={"recordCount": "7"})
        assert catalog.batch_update_partitions([moved]) == 1
        got = catalog.get_partition(DB, "orders", ("2026-11-01",))
        assert (got.location, got.parameters) == ("file:///v2/dt=2026-11-01", {"recordCount": "7"})
        missing = "partition ['2026-11-05'] of sales_raw.orders not found"
        with pytest.raises(EntityNotFound, match=re.escape(missing)):
            catalog.batch_update_partitions([make_partition(table, "2026-11-02", "file:///v3/dt=2026-11-02"),
                                             make_partition(table, "2026-11-05")])
        assert [(p.values, p.location) for p in catalog.get_partitions(DB, "orders")] == [
            (("2026-11-01",), "file:///v2/dt=2026-11-01"),
            (("2026-11-02",), "file:///lake/curated/orders/dt=2026-11-02"),
        ]
        assert catalog.batch_update_partitions([]) == 0

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
        assert catalog.batch_delete_partitions(DB, "no_such_table", [("2026-11-02",)]) == 0

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

    def test_multi_key_partitions(self, catalog: Catalog) -> None:
        catalog.ensure_database(DB)
        table = catalog.create_table(make_table().evolve(partition_keys=(Column("year", "int"),
                                                                         Column("region", "string"))))
        parts = [Partition(DB, "orders", values, replace(table.storage, location=f"file:///t/{values[0]}/{values[1]}"))
                 for values in (("2026", "us"), ("2025", "eu"), ("2026", "eu"))]
        assert catalog.batch_create_partitions(parts) == 3
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2025", "eu"), ("2026", "eu"),
                                                                          ("2026", "us")]
        assert catalog.get_partition(DB, "orders", ("2026", "eu")).spec(table.partition_keys) == {
            "year": "2026", "region": "eu"}
        assert catalog.batch_delete_partitions(DB, "orders", [("2026", "eu")]) == 1
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2025", "eu"), ("2026", "us")]


    # -- a job's commit: version check, table, partitions and bookkeeping together -----------------
    def test_swap_table_commits_table_partitions_and_bookkeeping(self, catalog: Catalog, tmp_path: Path) -> None:
        catalog.ensure_database(DB)
        marks = _Bookkeeping(tmp_path)
        created = catalog.swap_table(make_table(), [make_partition(make_table(), "2026-11-01")], expected_version=0,
                                     writes=[marks.write("b1")])
        assert created.version == 1 and marks.rows() == ["b1"]
        second = catalog.swap_table(make_table(recordCount="5"), [make_partition(created, "2026-11-02")],
                                    expected_version=1, replace_partitions=False, writes=[marks.write("b2")])
        assert second.version == 2 and catalog.get_table(DB, "orders").parameters["recordCount"] == "5"
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-01",), ("2026-11-02",)]
        catalog.swap_table(make_table(), [make_partition(created, "2026-11-03")], expected_version=2)
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-03",)]  # replaced
        assert marks.rows() == ["b1", "b2"]

    def test_swap_table_planned_from_a_replaced_version_writes_nothing(self, catalog: Catalog,
                                                                       tmp_path: Path) -> None:
        catalog.ensure_database(DB)
        marks = _Bookkeeping(tmp_path)
        catalog.swap_table(make_table(), [make_partition(make_table(), "2026-11-01")], expected_version=0)
        self.second_writer(catalog).swap_table(make_table(writer="other"), [], expected_version=1,
                                               replace_partitions=False)
        with pytest.raises(ConcurrentModification, match=r"sales_raw\.orders is at version 2.*version 1"):
            catalog.swap_table(make_table(writer="stale"), [make_partition(make_table(), "2026-11-09")],
                               expected_version=1, writes=[marks.write("lost")])
        with pytest.raises(ConcurrentModification, match="did not exist"):
            catalog.swap_table(make_table(writer="stale"), [], expected_version=0, writes=[marks.write("lost")])
        current = catalog.get_table(DB, "orders")
        assert (current.version, current.parameters.get("writer")) == (2, "other")
        assert [p.values for p in catalog.get_partitions(DB, "orders")] == [("2026-11-01",)]
        assert marks.rows() == []


class _Bookkeeping:
    """A bookkeeping table in its own SQLite file: what a job commits next to its table version."""

    def __init__(self, tmp_path: Path) -> None:
        from lakeglue.catalog.sql import engine_for

        self.url = f"sqlite:///{tmp_path / 'bookkeeping.db'}"
        self.meta = sa.MetaData()
        self.t = sa.Table("marks", self.meta, sa.Column("batch", sa.String(64), primary_key=True))
        self.engine = engine_for(self.url)
        self.meta.create_all(self.engine)

    def write(self, batch: str) -> SqlWrite:
        return SqlWrite(self.url, lambda conn: conn.execute(self.t.insert().values(batch=batch)), f"mark {batch}")

    def rows(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(r.batch for r in conn.execute(sa.select(self.t)))


# -- the foundation's schema (commit 4e0014b), frozen: pre-migration catalogs are built with it -------
LEGACY_METADATA = sa.MetaData()
sa.Table("lg_databases", LEGACY_METADATA,
         sa.Column("name", sa.String(255), primary_key=True),
         sa.Column("body", sa.Text, nullable=False),
         sa.Column("create_time", sa.DateTime(timezone=True), nullable=False))
sa.Table("lg_tables", LEGACY_METADATA,
         sa.Column("database", sa.String(255), primary_key=True),
         sa.Column("name", sa.String(255), primary_key=True),
         sa.Column("version", sa.Integer, nullable=False),
         sa.Column("body", sa.Text, nullable=False),
         sa.Column("update_time", sa.DateTime(timezone=True), nullable=False))
sa.Table("lg_table_versions", LEGACY_METADATA,
         sa.Column("database", sa.String(255), primary_key=True),
         sa.Column("name", sa.String(255), primary_key=True),
         sa.Column("version", sa.Integer, primary_key=True),
         sa.Column("body", sa.Text, nullable=False),
         sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False))
sa.Table("lg_partitions", LEGACY_METADATA,
         sa.Column("database", sa.String(255), primary_key=True),
         sa.Column("table_name", sa.String(255), primary_key=True),
         sa.Column("values_key", sa.String(1024), primary_key=True),
         sa.Column("body", sa.Text, nullable=False))


def _foundation_body(obj: Table | Partition | Database) -> str:
    """The JSON body as the foundation wrote it: columns had no ``parameters`` key then."""
    data = to_dict(obj)
    for holder in (data.get("storage", {}), data):
        for key in ("columns", "partition_keys"):
            for column in holder.get(key, []):
                column.pop("parameters", None)
    return json.dumps(data)


def create_legacy_catalog(url: str) -> tuple[Table, Table]:
    """A catalog as the foundation left it: ``create_all`` tables, no version table, and data
    (a database, ``orders`` at version 2 with its archived version 1, one partition).
    Returns (archived v1, current v2)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    now = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    db = Database(DB, "legacy", "", {}, now)
    v1 = make_table(UPDATED_BY_CRAWLER="raw_crawler").evolve(version=1, create_time=now, update_time=now)
    v2 = v1.evolve(version=2, parameters={**v1.parameters, "recordCount": "3"})
    part = make_partition(v2, "2026-11-01")
    part = Partition(part.database, part.table, part.values, part.storage, part.parameters, now)
    tables = LEGACY_METADATA.tables
    LEGACY_METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(tables["lg_databases"].insert().values(name=DB, body=_foundation_body(db), create_time=now))
        conn.execute(tables["lg_tables"].insert().values(database=DB, name="orders", version=2,
                                                         body=_foundation_body(v2), update_time=now))
        conn.execute(tables["lg_table_versions"].insert().values(database=DB, name="orders", version=1,
                                                                 body=_foundation_body(v1), archived_at=now))
        conn.execute(tables["lg_partitions"].insert().values(database=DB, table_name="orders",
                                                             values_key=json.dumps(["2026-11-01"]),
                                                             body=_foundation_body(part)))
    engine.dispose()
    return v1, v2
