"""The version diff as a pure function (every backend's ``diff_versions`` is this on two fetched versions)."""

from __future__ import annotations

from dataclasses import replace

from lakeglue.catalog import Column, StorageDescriptor, Table
from lakeglue.catalog.diff import ColumnChange, MappingDiff, ValueChange, diff_columns, diff_tables

BASE = Table("shop", "orders", StorageDescriptor.for_format(
    "csv", [Column("id", "bigint"), Column("amount", "decimal(12,2)"), Column("note", "string", "free text")],
    "s3://lake/raw/orders", {"field.delim": ","}), (Column("dt", "string"),), parameters={"classification": "csv"},
    version=4)


def test_identical_definitions_have_no_diff_even_across_times_and_type_spelling() -> None:
    same = BASE.evolve(version=5, storage=replace(BASE.storage, columns=(
        Column("ID", "BIGINT"), Column("amount", "DECIMAL(12, 2)"), Column("note", "string", "free text"))))
    diff = diff_tables(BASE, same)
    assert diff.is_empty
    assert diff.lines() == ["shop.orders: v4 -> v5", "  no differences"]


def test_columns_added_removed_retyped_recommented_and_reordered() -> None:
    diff = diff_columns(BASE.storage.columns, (Column("note", "string", "customer note"), Column("id", "string"),
                                               Column("channel", "string")))
    assert diff.added == (Column("channel", "string"),)
    assert diff.removed == (Column("amount", "decimal(12,2)"),)
    assert diff.changed == (ColumnChange("note", "string", "string", "free text", "customer note"),
                            ColumnChange("id", "bigint", "string", "", ""))
    assert [c.type_changed for c in diff.changed] == [False, True]
    assert diff.reordered is True


def test_every_table_field_is_compared() -> None:
    new = BASE.evolve(
        version=6, table_type="VIRTUAL_VIEW", description="now a view",
        partition_keys=(Column("dt", "date"), Column("region", "string")),
        parameters={"classification": "parquet", "recordCount": "9"},
        storage=replace(StorageDescriptor.for_format("parquet", BASE.storage.columns, "s3://lake/curated/orders",
                                                     compressed=True), parameters={"EXTERNAL": "TRUE"}))
    diff = diff_tables(BASE, new)
    assert diff.location == ValueChange("location", "s3://lake/raw/orders", "s3://lake/curated/orders")
    assert diff.parameters == MappingDiff(added={"recordCount": "9"}, changed={"classification": ("csv", "parquet")})
    assert diff.serde_parameters == MappingDiff(removed={"field.delim": ","})
    assert diff.storage_parameters == MappingDiff(added={"EXTERNAL": "TRUE"})
    assert diff.lines() == [
        "shop.orders: v4 -> v6",
        "partition keys:",
        "  + region string",
        "  ~ dt: string -> date",
        "location: s3://lake/raw/orders -> s3://lake/curated/orders",
        "input format: org.apache.hadoop.mapred.TextInputFormat -> "
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "output format: org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat -> "
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "serde: org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe -> "
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "compressed: false -> true",
        "table type: EXTERNAL_TABLE -> VIRTUAL_VIEW",
        "description: (none) -> now a view",
        "parameters:",
        "  + recordCount = 9",
        "  ~ classification: csv -> parquet",
        "serde parameters:",
        "  - field.delim = ,",
        "storage parameters:",
        "  + EXTERNAL = TRUE",
    ]


def test_column_parameters_are_compared() -> None:
    """A renamed key's original (``lakeglue.original_name``) is part of the column: its change is a diff."""
    renamed = Column("order_id", "bigint", "", {"lakeglue.original_name": "Order Id"})
    diff = diff_columns((Column("order_id", "bigint"),), (renamed,))
    assert diff.changed == (ColumnChange("order_id", "bigint", "bigint", "", "", {},
                                         {"lakeglue.original_name": "Order Id"}),)
    new = BASE.evolve(version=5, storage=replace(BASE.storage, columns=(renamed, *BASE.storage.columns[1:])))
    old = BASE.evolve(storage=replace(BASE.storage, columns=(Column("order_id", "bigint"), *BASE.storage.columns[1:])))
    assert diff_tables(old, new).lines() == [
        "shop.orders: v4 -> v5", "columns:",
        "  ~ order_id parameters: {} -> {'lakeglue.original_name': 'Order Id'}"]
