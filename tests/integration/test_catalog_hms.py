"""The catalog contract on the Hive Metastore backend, against a real metastore (``hive_metastore`` fixture).

Besides the shared contract: what another metastore client sees of lakeglue's tables (Hive's
storage descriptor, ``EXTERNAL=TRUE``, the comment), what lakeglue makes of a table another tool
wrote, the version check when a writer gets in between, and how the settings select the backend.
The versions side store is a SQLite file per test (the bookkeeping database of the embedded profile).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog import Catalog, Column, ConcurrentModification, StorageDescriptor, open_catalog
from lakeglue.catalog.hms import HiveMetastoreCatalog, parse_thrift_url, thrift_client
from lakeglue.catalog.hms_mapping import (
    canonical_location,
    escape_partition_value,
    partition_name,
    values_from_partition_name,
)
from lakeglue.settings import Settings, SettingsError, load_settings
from tests.support.catalog_contract import DB, CatalogContract, make_partition, make_table
from tests.support.hms import Metastore

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _drop_everything(metastore: Metastore) -> None:
    """Each test starts from an empty metastore (Hive's ``default`` database always exists)."""
    with thrift_client(metastore.host, metastore.port) as client:
        for name in client.get_all_databases():
            if name != "default":
                client.drop_database(name, False, True)


@pytest.fixture
def metastore(hive_metastore: Metastore) -> Iterator[Metastore]:
    _drop_everything(hive_metastore)
    yield hive_metastore
    _drop_everything(hive_metastore)


class TestHiveMetastoreCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, metastore: Metastore, tmp_path: Path) -> Iterator[HiveMetastoreCatalog]:
        catalog = HiveMetastoreCatalog(metastore.uri, state_url=f"sqlite:///{tmp_path / 'state.db'}")
        yield catalog
        catalog.close()

    def second_writer(self, catalog: Catalog) -> Catalog:
        assert isinstance(catalog, HiveMetastoreCatalog)
        return HiveMetastoreCatalog(catalog.url, state_url=catalog.state_url)


class TestVersionCheckWithAPostgresStateDatabase:
    """The contract's concurrency cases again, with the versions kept in Postgres (as in the compose stack):
    there a second writer's archive insert waits on the first writer's uncommitted row, then fails."""

    @pytest.fixture(scope="class")
    def state_url(self) -> Iterator[str]:
        from tests.support.postgres import throwaway_catalog_url

        with throwaway_catalog_url() as url:
            yield url

    @pytest.fixture
    def catalog(self, metastore: Metastore, state_url: str) -> Iterator[HiveMetastoreCatalog]:
        catalog = HiveMetastoreCatalog(metastore.uri, state_url=state_url)
        yield catalog
        catalog.close()

    second_writer = TestHiveMetastoreCatalog.second_writer
    test_optimistic_concurrency_two_writers = CatalogContract.test_optimistic_concurrency_two_writers
    test_concurrent_read_modify_write_loses_no_update = (
        CatalogContract.test_concurrent_read_modify_write_loses_no_update)
    test_concurrent_upserts_of_a_new_table = CatalogContract.test_concurrent_upserts_of_a_new_table
    test_swap_table_planned_from_a_replaced_version_writes_nothing = (
        CatalogContract.test_swap_table_planned_from_a_replaced_version_writes_nothing)


def test_table_as_other_metastore_clients_see_it(metastore: Metastore, tmp_path: Path) -> None:
    """The raw Thrift table is a Hive external Parquet table, the way Spark and Trino expect it."""
    catalog = HiveMetastoreCatalog(metastore.uri, state_url=f"sqlite:///{tmp_path / 'state.db'}")
    catalog.ensure_database(DB)
    table = catalog.create_table(make_table())
    catalog.batch_create_partitions([make_partition(table, "2026-11-01")])
    with thrift_client(metastore.host, metastore.port) as client:
        raw = client.get_table(DB, "orders")
        part = client.get_partition(DB, "orders", ["2026-11-01"])
    assert raw.tableType == "EXTERNAL_TABLE"
    assert {k: raw.parameters[k] for k in ("EXTERNAL", "comment", "classification", "lakeglue.version")} == {
        "EXTERNAL": "TRUE", "comment": "orders of the shop", "classification": "parquet", "lakeglue.version": "1"}
    assert [(c.name, c.type, c.comment) for c in raw.sd.cols] == [
        ("order_id", "bigint", "primary key"), ("amount", "decimal(12,2)", None),
        ("items", "array<struct<product_id:bigint,qty:int>>", None)]
    assert [(c.name, c.type) for c in raw.partitionKeys] == [("dt", "string")]
    assert (raw.sd.location, raw.sd.inputFormat, raw.sd.outputFormat) == (
        "file:/lake/curated/orders", "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat")
    assert (raw.sd.serdeInfo.serializationLib, raw.sd.serdeInfo.parameters) == (
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", {"serialization.format": "1"})
    assert (part.values, part.sd.location, part.parameters["recordCount"]) == (
        ["2026-11-01"], "file:/lake/curated/orders/dt=2026-11-01", "10")


def test_table_written_by_another_client_reads_into_the_model(metastore: Metastore, tmp_path: Path) -> None:
    """A table lakeglue never wrote (no ``lakeglue.*`` parameters) is version 1 with the metastore's times."""
    from pymetastore.hive_metastore import ttypes

    catalog = HiveMetastoreCatalog(metastore.uri, state_url=f"sqlite:///{tmp_path / 'state.db'}")
    catalog.ensure_database(DB)
    sd = ttypes.StorageDescriptor(
        cols=[ttypes.FieldSchema("id", "bigint", None), ttypes.FieldSchema("email", "string", "pii")],
        location=(tmp_path / "customers").as_uri(), inputFormat="org.apache.hadoop.mapred.TextInputFormat",
        outputFormat="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat", compressed=False, numBuckets=-1,
        serdeInfo=ttypes.SerDeInfo(None, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", {"field.delim": ","}),
        bucketCols=[], sortCols=[], parameters={})
    with thrift_client(metastore.host, metastore.port) as client:
        client.create_table(ttypes.Table(tableName="customers", dbName=DB, owner="etl", createTime=0,
                                         lastAccessTime=0, retention=0, sd=sd, partitionKeys=[],
                                         parameters={"EXTERNAL": "TRUE", "skip.header.line.count": "1"},
                                         tableType="EXTERNAL_TABLE"))
    table = catalog.get_table(DB, "customers")
    assert table.storage == StorageDescriptor(
        columns=(Column("id", "bigint"), Column("email", "string", "pii")),
        location="file:" + str(tmp_path / "customers"),
        input_format="org.apache.hadoop.mapred.TextInputFormat",
        output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        serde="org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", serde_parameters={"field.delim": ","})
    assert (table.version, table.table_type, table.parameters) == (1, "EXTERNAL_TABLE",
                                                                   {"skip.header.line.count": "1"})
    assert table.create_time is not None and table.update_time is not None
    updated = catalog.update_table(table.evolve(description="now lakeglue's"))
    assert updated.version == 2
    assert [v.version for v in catalog.get_table_versions(DB, "customers")] == [1, 2]


def test_a_write_between_check_and_alter_loses_nothing(metastore: Metastore, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer commits version 2 after this one checked version 1, before its alter_table.

    The archive row of version 1 is the compare-and-swap: the late writer fails and writes nothing."""
    state = f"sqlite:///{tmp_path / 'state.db'}"
    ours, theirs = HiveMetastoreCatalog(metastore.uri, state), HiveMetastoreCatalog(metastore.uri, state)
    ours.ensure_database(DB)
    read = ours.create_table(make_table())
    real_raw_table = HiveMetastoreCatalog._raw_table

    def check_then_let_them_in(self: HiveMetastoreCatalog, database: str, name: str) -> Any:
        raw = real_raw_table(self, database, name)
        if self is ours:  # our version check has just read version 1
            monkeypatch.setattr(HiveMetastoreCatalog, "_raw_table", real_raw_table)
            theirs.update_table(read.evolve(parameters={"classification": "parquet", "writer": "them"}))
        return raw

    monkeypatch.setattr(HiveMetastoreCatalog, "_raw_table", check_then_let_them_in)
    with pytest.raises(ConcurrentModification, match=re.escape(
            "table sales_raw.orders is at version 2, the update was based on version 1")):
        ours.update_table(read.evolve(parameters={"classification": "parquet", "writer": "us"}))
    assert ours.get_table(DB, "orders").parameters["writer"] == "them"
    assert [(v.version, v.table.parameters.get("writer")) for v in ours.get_table_versions(DB, "orders")] == [
        (1, None), (2, "them")]


def test_retention_deletes_archived_versions(metastore: Metastore, tmp_path: Path) -> None:
    from lakeglue.storage.retention import delete_table_versions

    catalog = HiveMetastoreCatalog(metastore.uri, state_url=f"sqlite:///{tmp_path / 'state.db'}")
    catalog.ensure_database(DB)
    v1 = catalog.create_table(make_table())
    v2 = catalog.update_table(v1.evolve(description="second"))
    catalog.update_table(v2.evolve(description="third"))
    assert delete_table_versions(catalog, DB, "orders", [1, 3]) == 1  # the current version 3 is kept
    assert [v.version for v in catalog.get_table_versions(DB, "orders")] == [2, 3]


def test_catalog_copy_moves_a_sqlite_catalog_into_the_metastore(metastore: Metastore, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``lakeglue catalog copy --to thrift://…``: the embedded profile's catalog, as the compose stack needs it."""
    from lakeglue.catalog.sql import SqlCatalog
    from lakeglue.cli import main
    from lakeglue.settings import get_settings

    source_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    source = SqlCatalog(source_url)
    source.ensure_database(DB)
    orders = source.create_table(make_table())
    orders = source.update_table(orders.evolve(description="second version"))
    source.batch_create_partitions([make_partition(orders, d) for d in ("2026-11-01", "2026-11-02")])
    source.create_table(make_table("customers", classification="csv").evolve(partition_keys=()))
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", source_url)
    get_settings.cache_clear()
    state = f"sqlite:///{tmp_path / 'state.db'}"
    try:
        assert main(["catalog", "copy", "--to", metastore.uri, "--state-url", state]) == 0
        assert capsys.readouterr().out.strip() == "1 databases; 2 tables copied, 0 already up to date"
        assert main(["catalog", "copy", "--to", metastore.uri, "--state-url", state]) == 0
        assert capsys.readouterr().out.strip() == "1 databases; 0 tables copied, 2 already up to date"
    finally:
        get_settings.cache_clear()
    target = HiveMetastoreCatalog(metastore.uri, state)
    for name in ("orders", "customers"):
        copied, original = target.get_table(DB, name), source.get_table(DB, name)
        assert copied.evolve(version=0, create_time=None, update_time=None) == original.evolve(
            version=0, create_time=None, update_time=None)
        assert copied.version == 1  # the target's own history starts here
        assert [(p.values, p.storage, p.parameters) for p in target.get_partitions(DB, name)] == [
            (p.values, p.storage, p.parameters) for p in source.get_partitions(DB, name)]


def test_open_catalog_selects_the_metastore_from_a_thrift_url(metastore: Metastore, tmp_path: Path) -> None:
    settings = load_settings({"LAKEGLUE_CATALOG_URL": metastore.uri, "LAKEGLUE_HOME": str(tmp_path / "lake")})
    assert (settings.metastore_uri, settings.catalog_url) == (
        metastore.uri, f"sqlite:///{(tmp_path / 'lake' / 'catalog.db').resolve()}")
    catalog = open_catalog(settings)
    assert isinstance(catalog, HiveMetastoreCatalog) and isinstance(catalog, Catalog)
    assert (catalog.url, catalog.state_url) == (metastore.uri, settings.catalog_url)
    catalog.ensure_database("from_settings")
    with thrift_client(metastore.host, metastore.port) as client:
        assert "from_settings" in client.get_all_databases()
    state = load_settings({"LAKEGLUE_CATALOG_URL": metastore.uri, "LAKEGLUE_HOME": "s3://lake",
                           "LAKEGLUE_STATE_URL": "postgresql+psycopg://etl@db/lakeglue"})
    assert (state.metastore_uri, state.catalog_url) == (metastore.uri, "postgresql+psycopg://etl@db/lakeglue")
    assert state.with_overrides(default_database="x").metastore_uri == metastore.uri


def test_a_remote_lake_with_a_metastore_needs_a_state_url() -> None:
    with pytest.raises(SettingsError, match="set LAKEGLUE_STATE_URL"):
        Settings(lake_root="s3://lake", catalog_url="thrift://hms:9083")
    with pytest.raises(ValueError, match=re.escape("not a Hive Metastore URL: 'http://hms:9083'")):
        parse_thrift_url("http://hms:9083")
    assert parse_thrift_url("thrift://hive-metastore") == ("hive-metastore", 9083)


def test_partition_names_and_locations_follow_hive() -> None:
    keys = (Column("dt", "string"), Column("Region", "string"))
    assert partition_name(keys, ("2026-11-01", "a/b=c")) == "dt=2026-11-01/region=a%2Fb%3Dc"
    assert values_from_partition_name("dt=2026-11-01/region=a%2Fb%3Dc") == ("2026-11-01", "a/b=c")
    assert escape_partition_value("") == "__HIVE_DEFAULT_PARTITION__"
    assert [canonical_location(x) for x in ("file:///a/b/", "/a/b", "file:/a/b", "s3://bucket/x/")] == [
        "file:/a/b", "file:/a/b", "file:/a/b", "s3://bucket/x"]


def test_metastore_errors_say_what_to_do(tmp_path: Path) -> None:
    """An unreachable metastore and one that refuses lakeglue's schema changes are reported as such."""
    from pymetastore.hive_metastore import ttypes

    from lakeglue.catalog import CatalogError

    catalog = HiveMetastoreCatalog("thrift://127.0.0.1:1", state_url=f"sqlite:///{tmp_path / 'state.db'}")
    with pytest.raises(CatalogError, match=re.escape("Hive Metastore at thrift://127.0.0.1:1 is not reachable")):
        catalog.get_database(DB)
    refused = ttypes.InvalidOperationException(message="The following columns have types incompatible with the "
                                               "existing columns in their respective positions :\namount")
    with pytest.raises(CatalogError, match=re.escape(
            "update table sales_raw.orders: the Hive Metastore answered InvalidOperationException: The following "
            "columns have types incompatible")) as caught, catalog._errors("update table sales_raw.orders"):
        raise refused
    assert str(caught.value).endswith("hive.metastore.disallow.incompatible.col.type.changes=false)")
