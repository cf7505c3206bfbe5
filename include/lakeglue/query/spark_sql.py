"""Trino-dialect SQL on Spark over catalog tables, with the same checks and semantics as the query layer.

The gold job and the cross-engine tests need the *same* SQL file to mean the same thing on
Spark as on DuckDB/Athena. This binds the statement against the catalog (unknown tables and
columns fail with the same messages), exposes each catalog table as a temp view read the
way Glue's ``from_catalog`` reads it (partition by partition), and runs the type-aware
translation from :func:`lakeglue.sql.translate`. ``?`` parameters are passed to
Spark's own parameter binding, never pasted into the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lakeglue.catalog import Catalog
from lakeglue.query.binding import bind_query
from lakeglue.sql import translate_query

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def view_name(database: str, table: str) -> str:
    """The temp view a catalog table gets (``ecommerce_silver__orders``), as the gold job names them."""
    return f"{database}__{table}"


def spark_sql(spark: SparkSession, sql: str, catalog: Catalog, database: str | None = None,
              params: Sequence[Any] | None = None) -> DataFrame:
    """A DataFrame for a read-only Trino-dialect query over catalog tables."""
    from lakeglue.jobs.spark.catalog_io import read_table

    bound = bind_query(sql, params, database, catalog)
    for (db, name) in bound.tables:
        read_table(spark, catalog, db, name).createOrReplaceTempView(view_name(db, name))
    return spark.sql(translate_query(bound, "spark", view_name), args=list(bound.params) if bound.params else None)
