"""Athena's DDL on the aws profile: Glue catalog, S3 lake and Athena engine, all on a real moto server over HTTP.

lakeglue runs catalog statements on the catalog itself, on every engine, so on the aws profile
they change Glue exactly as Athena's own DDL would — and that is what is checked here, with a
plain boto3 Glue client as "another tool" reading the result. moto's Athena executes no SQL
(every query is SUCCEEDED at once with no rows), so no DDL is forwarded to it: the only Athena
call these tests expect is the ``LIMIT 0`` probe CREATE VIEW sends for the view's column types,
and since moto answers it without columns, the types come from sqlglot's inference here.
A read of a view reaches Athena expanded, which is also what real Athena would answer.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lakeglue.catalog import Column, StorageDescriptor, Table
from lakeglue.catalog.glue import GlueCatalog
from lakeglue.query import QueryError, QueryResult, run_query
from lakeglue.settings import Settings
from lakeglue.storage import Lake

BUCKET, PREFIX = "lake", "prod"
ROOT = f"s3://{BUCKET}/{PREFIX}"
OUTPUT = "s3://athena-results/lakeglue/"


class AwsLake:
    def __init__(self, tmp: Path, endpoint: str) -> None:
        self.settings = Settings(profile="aws", lake_root=ROOT, catalog_url=f"sqlite:///{tmp / 'ledger.db'}",
                                 aws_endpoint_url=endpoint, extra={"athena_output_location": OUTPUT})
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.glue = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1")
        self.athena = boto3.client("athena", endpoint_url=endpoint, region_name="us-east-1")
        for bucket in (BUCKET, "athena-results", "elsewhere"):
            self.s3.create_bucket(Bucket=bucket)
        for dt, rows in {"2026-11-01": "1|view\n2|buy\n", "2026-11-02": "3|buy\n"}.items():
            self.put(f"raw/events/dt={dt}/part-0.csv", "event_id|kind\n" + rows)
        self.catalog = GlueCatalog(endpoint_url=endpoint, region="us-east-1")
        self.lake = Lake(self.settings)

    def put(self, key: str, body: str) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=body.encode())

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/{prefix}")
        return sorted(o["Key"] for p in pages for o in p.get("Contents", []))

    def sql(self, text: str, **kwargs: Any) -> QueryResult:
        kwargs.setdefault("output", None)
        return run_query(text, catalog=self.catalog, lake=self.lake, settings=self.settings, **kwargs)

    def rows(self, text: str, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.sql(text, **kwargs).rows]

    def athena_queries(self) -> list[str]:
        ids = self.athena.list_query_executions()["QueryExecutionIds"]
        return [self.athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]


@pytest.fixture
def aws(tmp_path: Path, moto: str) -> Iterator[AwsLake]:
    yield AwsLake(tmp_path, moto)


EVENTS = (f"CREATE EXTERNAL TABLE shop.events (event_id bigint, kind string) PARTITIONED BY (dt string) "
          f"ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' LOCATION '{ROOT}/raw/events/' "
          "TBLPROPERTIES ('skip.header.line.count'='1')")


def test_databases_and_external_tables_land_in_glue(aws: AwsLake) -> None:
    assert aws.rows("CREATE SCHEMA shop") == [("database shop created",)]
    aws.sql("CREATE DATABASE IF NOT EXISTS shop")
    assert [d["Name"] for d in aws.glue.get_databases()["DatabaseList"]] == ["shop"]
    assert aws.rows("SHOW DATABASES") == [("shop",)]
    aws.sql(EVENTS)
    raw = aws.glue.get_table(DatabaseName="shop", Name="events")["Table"]
    assert (raw["TableType"], raw["Parameters"], raw["PartitionKeys"]) == (
        "EXTERNAL_TABLE", {"EXTERNAL": "TRUE", "skip.header.line.count": "1", "classification": "csv"},
        [{"Name": "dt", "Type": "string"}])
    sd = raw["StorageDescriptor"]
    assert (sd["Location"], sd["Columns"], sd["InputFormat"], sd["SerdeInfo"]) == (
        f"{ROOT}/raw/events", [{"Name": "event_id", "Type": "bigint"}, {"Name": "kind", "Type": "string"}],
        "org.apache.hadoop.mapred.TextInputFormat",
        {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
         "Parameters": {"field.delim": "|", "serialization.format": "|"}})
    assert aws.rows("SHOW TABLES IN shop") == [("events",)]
    assert aws.rows("SHOW COLUMNS IN shop.events") == [("event_id",), ("kind",), ("dt",)]
    assert aws.rows("DESCRIBE shop.events")[:3] == [("event_id", "bigint", ""), ("kind", "string", ""),
                                                    ("dt", "string", "")]
    assert ("LOCATION",) in aws.rows("SHOW CREATE TABLE shop.events")
    with pytest.raises(QueryError, match="is outside the raw / "):
        aws.sql("CREATE EXTERNAL TABLE shop.other (a int) STORED AS PARQUET LOCATION 's3://elsewhere/data/'")
    with pytest.raises(QueryError, match=re.escape("is not on the lake's storage")):
        aws.sql(f"CREATE EXTERNAL TABLE shop.other (a int) STORED AS PARQUET LOCATION 'file://{ROOT}/raw'")
    assert [t["Name"] for t in aws.glue.get_tables(DatabaseName="shop")["TableList"]] == ["events"]
    assert aws.athena_queries() == []  # DDL ran on Glue, never on (moto's non-executing) Athena


def test_msck_repair_and_alter_partitions_on_glue(aws: AwsLake) -> None:
    aws.sql("CREATE DATABASE shop")
    aws.sql(EVENTS)
    assert aws.rows("MSCK REPAIR TABLE shop.events") == [
        ("Repair: Added partition to metastore shop.events:dt=2026-11-01",),
        ("Repair: Added partition to metastore shop.events:dt=2026-11-02",)]

    def glue_partitions() -> dict[str, str]:
        parts = aws.glue.get_partitions(DatabaseName="shop", TableName="events")["Partitions"]
        return {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in parts}

    assert glue_partitions() == {"2026-11-01": f"{ROOT}/raw/events/dt=2026-11-01",
                                 "2026-11-02": f"{ROOT}/raw/events/dt=2026-11-02"}
    aws.put("raw/late/batch-7/part-0.csv", "event_id|kind\n9|buy\n")
    aws.sql(f"ALTER TABLE shop.events ADD IF NOT EXISTS PARTITION (dt='2026-11-02') "
            f"PARTITION (dt='2026-11-09') LOCATION '{ROOT}/raw/late/batch-7/'")
    assert glue_partitions()["2026-11-09"] == f"{ROOT}/raw/late/batch-7"
    with pytest.raises(QueryError, match="partition dt=x LOCATION"):
        aws.sql("ALTER TABLE shop.events ADD PARTITION (dt='x') LOCATION 's3://elsewhere/x/'")
    aws.sql("ALTER TABLE shop.events DROP PARTITION (dt='2026-11-01')")
    assert sorted(glue_partitions()) == ["2026-11-02", "2026-11-09"]
    assert aws.rows("SHOW PARTITIONS shop.events") == [("dt=2026-11-02",), ("dt=2026-11-09",)]
    assert aws.keys("raw/events/dt=2026-11-01/") == [f"{PREFIX}/raw/events/dt=2026-11-01/part-0.csv"]  # data stays


def test_drop_table_and_database_on_glue_keep_external_data_and_delete_managed_data(aws: AwsLake) -> None:
    aws.sql("CREATE DATABASE shop")
    aws.sql(EVENTS)
    # a table lakeglue's CTAS made (what materialize registers), with its Parquet under curated/
    aws.put("curated/shop/buys/v-1/dt=2026-11-01/part-0.parquet", "PAR1")
    aws.catalog.create_table(Table("shop", "buys", StorageDescriptor.for_format(
        "parquet", (Column("event_id", "bigint"),), f"{ROOT}/curated/shop/buys/v-1"),
        parameters={"classification": "parquet", "lakeglue.created_by_query": "q-1"}))
    aws.put("curated/shop/buys/v-0/old.parquet", "PAR1")  # another table version's folder is not touched
    assert aws.rows("DROP TABLE shop.buys") == [
        (f"table shop.buys dropped with its data (managed table: deleted {ROOT}/curated/shop/buys/v-1)",)]
    assert aws.keys("curated/") == [f"{PREFIX}/curated/shop/buys/v-0/old.parquet"]
    with pytest.raises(QueryError, match="is not empty"):
        aws.sql("DROP DATABASE shop")
    aws.sql("DROP DATABASE shop CASCADE")
    assert aws.glue.get_databases()["DatabaseList"] == []
    assert len(aws.keys("raw/events/")) == 2  # external data stays


def test_views_are_stored_as_athena_presto_views_in_glue(aws: AwsLake) -> None:
    aws.sql("CREATE DATABASE shop")
    aws.sql(EVENTS)
    aws.sql("CREATE VIEW buys AS SELECT event_id, upper(kind) AS kind, dt FROM events WHERE kind = 'buy'",
            database="shop")
    raw = aws.glue.get_table(DatabaseName="shop", Name="buys")["Table"]
    assert (raw["TableType"], raw["ViewExpandedText"], raw["Parameters"]) == (
        "VIRTUAL_VIEW", "/* Presto View */", {"presto_view": "true", "comment": "Presto View"})
    text = raw["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */")
    body = json.loads(base64.b64decode(text[len("/* Presto View: "):-3]))
    assert body == {"originalSql": "SELECT event_id, UPPER(kind) AS kind, dt FROM events WHERE kind = 'buy'",
                    "catalog": "awsdatacatalog", "schema": "shop", "owner": "lakeglue", "runAsInvoker": False,
                    "properties": {},
                    "columns": [{"name": "event_id", "type": "bigint"}, {"name": "kind", "type": "varchar"},
                                {"name": "dt", "type": "varchar"}]}
    assert [c["Name"] for c in raw["StorageDescriptor"]["Columns"]] == ["event_id", "kind", "dt"]
    assert aws.rows("SHOW VIEWS IN shop") == [("buys",)]
    aws.sql("SELECT count(*) FROM shop.buys WHERE dt = '2026-11-02'")
    probe, sent = aws.athena_queries()  # moto lists them oldest first
    assert sent == ("SELECT COUNT(*) FROM (SELECT event_id, UPPER(kind) AS kind, dt FROM shop.events "
                       "WHERE kind = 'buy') AS buys WHERE dt = '2026-11-02'")
    assert probe.startswith("SELECT * FROM (SELECT event_id, UPPER(kind) AS kind") and probe.endswith("LIMIT 0")
    aws.sql("CREATE OR REPLACE VIEW shop.buys AS SELECT event_id FROM shop.events")
    replaced = aws.glue.get_table(DatabaseName="shop", Name="buys")["Table"]
    assert (replaced["VersionId"], [c["Name"] for c in replaced["StorageDescriptor"]["Columns"]]) == ("2", ["event_id"])
    assert aws.rows("SHOW CREATE VIEW shop.buys") == [("CREATE VIEW `shop`.`buys` AS",),
                                                      ("SELECT event_id FROM shop.events",)]
    aws.sql("DROP VIEW shop.buys")
    assert [t["Name"] for t in aws.glue.get_tables(DatabaseName="shop")["TableList"]] == ["events"]
