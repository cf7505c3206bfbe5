"""Read catalog tables as DataFrames, the way Glue's ``from_catalog`` does.

The catalog says where a table's data is; for partitioned tables every partition has its
own location (bronze batches live in per-attempt directories), so the partition list, not
a glob of the table root, defines the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakeglue.catalog.base import Catalog, data_locations
from lakeglue.catalog.model import Partition, Table
from lakeglue.jobs.parquet_footers import parquet_rows_under

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakeglue.storage.zones import Lake


def read_table(spark: SparkSession, catalog: Catalog, database: str, name: str) -> DataFrame:
    from pyspark.sql import functions as F

    table = catalog.get_table(database, name)
    if table.classification != "parquet":
        raise ValueError(f"{table.qualified_name} is {table.classification or 'unclassified'}; "
                         "jobs read raw formats through bronze, curated tables must be parquet")
    if not table.partition_keys:
        return spark.read.parquet(table.location)
    partitions = catalog.get_partitions(database, name)
    if not partitions:
        return empty_frame(spark, table)
    keys = [k.name for k in table.partition_keys]
    groups: dict[str, list[str]] = {}
    loose: list[Partition] = []
    for part in partitions:
        suffix = "/".join(f"{k}={v}" for k, v in zip(keys, part.values, strict=True))
        location = part.location.rstrip("/")
        if location.endswith("/" + suffix):  # hive layout: one scan per version directory
            groups.setdefault(location[: -len(suffix) - 1], []).append(location)
        else:
            loose.append(part)
    frames = []
    for base, locations in sorted(groups.items()):
        df = spark.read.option("mergeSchema", "true").option("basePath", base).parquet(*locations)
        frames.append(df.select(*(F.col(f"`{c}`").cast(_key_type(table, c)) if c in keys else F.col(f"`{c}`")
                                  for c in df.columns)))
    for part in loose:  # partitions registered at arbitrary locations: values come from the catalog
        df = spark.read.option("mergeSchema", "true").parquet(part.location)
        for key, value in zip(table.partition_keys, part.values, strict=True):
            df = df.drop(key.name).withColumn(key.name, F.lit(value).cast(key.type))
        frames.append(df)
    result = frames[0]
    for df in frames[1:]:
        result = result.unionByName(df, allowMissingColumns=True)
    return result


def table_rows(catalog: Catalog, lake: Lake, database: str, name: str) -> int:
    """Rows :func:`read_table` would give, summed from the Parquet footers of the same files
    (the table's location, or each partition's): a metric without a Spark count job."""
    return sum(parquet_rows_under(lake, location) for location in data_locations(catalog, database, name))


def _key_type(table: Table, name: str) -> str:
    return next(k.type for k in table.partition_keys if k.name == name)


def empty_frame(spark: SparkSession, table: Table) -> DataFrame:
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in table.all_columns())
    return spark.createDataFrame([], ddl)


def columns_of(df: DataFrame, exclude: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(name, Hive type string) of a DataFrame's fields, as the catalog stores them."""
    return [(f.name, f.dataType.simpleString()) for f in df.schema.fields if f.name not in exclude]
