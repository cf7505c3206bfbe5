"""The catalog contract on the Glue backend, against a real moto server over HTTP (``moto`` fixture).

Besides the shared contract: the model ↔ Glue mapping as another Glue client sees it, what
the backend does where moto differs from Glue (no VersionId check, no SearchTables, no
pagination), and the aws profile wiring of ``open_catalog``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lakeglue.catalog import Catalog, Column, ConcurrentModification, StorageDescriptor, Table, open_catalog
from lakeglue.catalog.glue import GlueCatalog, _translate, follow_next_token
from lakeglue.catalog.glue_mapping import table_from_glue, table_to_input
from lakeglue.settings import Settings
from tests.support.catalog_contract import DB, CatalogContract, make_partition, make_table, without_update_time


def _glue(endpoint: str) -> Any:
    """A plain boto3 client: "another tool" reading and writing the same Glue catalog."""
    return boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1")


class TestGlueCatalog(CatalogContract):
    @pytest.fixture
    def catalog(self, moto: str) -> Iterator[GlueCatalog]:
        yield GlueCatalog(endpoint_url=moto, region="us-east-1")

    def second_writer(self, catalog: Catalog) -> Catalog:
        assert isinstance(catalog, GlueCatalog)
        return GlueCatalog(endpoint_url=catalog.endpoint_url, region=catalog.region)

    def assert_archived_equal(self, archived: Table, returned: Table) -> None:
        """moto reports the table's latest UpdateTime on every archived version (real Glue keeps
        each version's own); everything else must be identical."""
        assert without_update_time(archived) == without_update_time(returned)


def test_table_as_other_glue_clients_see_it(moto: str) -> None:
    catalog = GlueCatalog(endpoint_url=moto)
    catalog.ensure_database(DB)
    catalog.create_table(make_table())
    raw = _glue(moto).get_table(DatabaseName=DB, Name="orders")["Table"]
    assert raw["VersionId"] == "1"
    assert {k: raw[k] for k in ("Name", "DatabaseName", "Description", "TableType", "Parameters",
                                "PartitionKeys")} == {
        "Name": "orders", "DatabaseName": DB, "Description": "orders of the shop", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet"}, "PartitionKeys": [{"Name": "dt", "Type": "string"}]}
    assert raw["StorageDescriptor"] == {
        "Columns": [{"Name": "order_id", "Type": "bigint", "Comment": "primary key"},
                    {"Name": "amount", "Type": "decimal(12,2)"},
                    {"Name": "items", "Type": "array<struct<product_id:bigint,qty:int>>"}],
        "Location": "file:///lake/curated/orders",
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "Compressed": False,
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                      "Parameters": {"serialization.format": "1"}},
        "Parameters": {},
    }
    catalog.batch_create_partitions([make_partition(catalog.get_table(DB, "orders"), "2026-11-01")])
    part = _glue(moto).get_partition(DatabaseName=DB, TableName="orders", PartitionValues=["2026-11-01"])["Partition"]
    assert (part["Values"], part["StorageDescriptor"]["Location"], part["Parameters"]) == (
        ["2026-11-01"], "file:///lake/curated/orders/dt=2026-11-01", {"recordCount": "10"})


def test_table_written_by_another_glue_client_reads_into_the_model(moto: str) -> None:
    """What a Glue crawler would write (CSV with a header, gzip) is read field by field."""
    glue = _glue(moto)
    glue.create_database(DatabaseInput={"Name": DB})
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "customers", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "compressionType": "gzip", "UPDATED_BY_CRAWLER": "c1"},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "email", "Type": "string", "Comment": "pii"}],
            "Location": "s3://lake/raw/customers/", "Compressed": True,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                          "Parameters": {"field.delim": ","}},
            "Parameters": {"skip.header.line.count": "1"}}})
    table = GlueCatalog(endpoint_url=moto).get_table(DB, "customers")
    assert table.storage == StorageDescriptor(
        columns=(Column("id", "bigint"), Column("email", "string", "pii")), location="s3://lake/raw/customers/",
        input_format="org.apache.hadoop.mapred.TextInputFormat",
        output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        serde="org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", serde_parameters={"field.delim": ","},
        compressed=True, parameters={"skip.header.line.count": "1"})
    assert (table.partition_keys, table.version, table.description) == ((Column("dt", "string"),), 1, "")
    assert table.parameters == {"classification": "csv", "compressionType": "gzip", "UPDATED_BY_CRAWLER": "c1"}
    assert table_from_glue({**table_to_input(table), "DatabaseName": DB, "VersionId": "1"}) == table.evolve(
        create_time=None, update_time=None)


def test_write_between_check_and_update_is_reported_when_server_ignores_version_id(moto: str) -> None:
    """Another process updates the table after our version check, before our UpdateTable lands.

    Real Glue refuses our stale VersionId; moto applies both. The post-update check must then
    raise instead of letting the overwrite pass silently.
    """
    catalog = GlueCatalog(endpoint_url=moto)
    catalog.ensure_database(DB)
    read = catalog.create_table(make_table())
    other_process = _glue(moto)

    def sneak_in(**_: Any) -> None:
        catalog.client.meta.events.unregister("before-call.glue.UpdateTable", sneak_in)
        theirs = read.evolve(parameters={"classification": "parquet", "writer": "other"})
        other_process.update_table(DatabaseName=DB, TableInput=table_to_input(theirs))

    catalog.client.meta.events.register("before-call.glue.UpdateTable", sneak_in)
    with pytest.raises(ConcurrentModification, match=re.escape(
            "table sales_raw.orders: another writer updated it after version 1 was read and before this update "
            "landed (the catalog server did not enforce VersionId)")):
        catalog.update_table(read.evolve(parameters={"classification": "parquet", "writer": "us"}))
    versions = catalog.get_table_versions(DB, "orders")
    assert [(v.version, v.table.parameters.get("writer")) for v in versions] == [(1, None), (2, "other"), (3, "us")]


def test_glue_refusing_a_stale_version_id_is_a_concurrent_modification() -> None:
    """Real Glue's answer to a stale VersionId (moto never sends it) maps to the catalog's conflict."""
    error = ClientError({"Error": {"Code": "ConcurrentModificationException", "Message": "version mismatch"}},
                        "UpdateTable")
    translated = _translate(error, "update table sales_raw.orders", conflict="table sales_raw.orders changed")
    assert isinstance(translated, ConcurrentModification)
    assert str(translated) == "table sales_raw.orders changed"
    other = _translate(ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetTable"),
                       "get table sales_raw.orders")
    assert (type(other).__name__, str(other)) == ("CatalogError",
                                                  "get table sales_raw.orders: Glue answered AccessDeniedException: no")


def test_follow_next_token_reads_every_page() -> None:
    """moto never paginates, so the token loop is checked against pages it serves itself."""
    pages: dict[str | None, dict[str, Any]] = {
        None: {"TableList": [1, 2], "NextToken": "a"}, "a": {"TableList": [3], "NextToken": "b"},
        "b": {"TableList": [4, 5]}}
    calls: list[dict[str, Any]] = []

    def search_tables(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return pages[kwargs.get("NextToken")]

    assert list(follow_next_token(search_tables, "TableList", ResourceShareType="ALL")) == [1, 2, 3, 4, 5]
    assert calls == [{"ResourceShareType": "ALL"}, {"ResourceShareType": "ALL", "NextToken": "a"},
                     {"ResourceShareType": "ALL", "NextToken": "b"}]


def test_search_falls_back_to_listing_when_search_tables_is_missing(moto: str) -> None:
    with pytest.raises(ClientError, match=re.escape("(500) when calling the SearchTables operation")):
        boto3.client("glue", endpoint_url=moto, region_name="us-east-1",
                     config=Config(retries={"total_max_attempts": 1})).search_tables()
    catalog = GlueCatalog(endpoint_url=moto)
    catalog.ensure_database(DB)
    catalog.ensure_database("sales_gold")
    catalog.create_table(make_table("orders"))
    catalog.create_table(make_table("daily_orders", database="sales_gold"))
    assert [t.qualified_name for t in catalog.search_tables("ORD")] == ["sales_gold.daily_orders", "sales_raw.orders"]


def test_open_catalog_in_the_aws_profile_is_glue_at_the_configured_endpoint(moto: str) -> None:
    catalog = open_catalog(Settings(profile="aws", lake_root="s3://lake", aws_endpoint_url=moto,
                                    aws_region="us-east-1"))
    assert isinstance(catalog, GlueCatalog) and isinstance(catalog, Catalog)
    assert (catalog.endpoint_url, catalog.region) == (moto, "us-east-1")
    catalog.ensure_database("from_settings")
    assert [d["Name"] for d in _glue(moto).get_databases()["DatabaseList"]] == ["from_settings"]
