"""The Athena engine against a real moto server over HTTP: the request lakeglue sends, and how it reads results.

moto does not execute SQL: a query is SUCCEEDED at once and its rows are whatever was
queued on moto's static ``athena/query-results`` endpoint (rows exactly as queued, so
the header row real Athena puts first is queued too). What is checked is everything on
lakeglue's side of the wire: query string, execution parameters, output location,
workgroup, database; and typed rows, result files and metadata from GetQueryResults.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_query import GOLD_COLUMNS, Env, gold_data

from lakeglue.catalog import open_catalog
from lakeglue.query import QueryError
from lakeglue.query.athena import AthenaEngine
from lakeglue.query.base import BoundQuery
from lakeglue.query.literals import is_single_literal
from lakeglue.settings import Settings
from lakeglue.storage import Lake

OUTPUT = "s3://athena-results/lakeglue/"
SQL = ("SELECT category, sum(revenue) AS revenue, min(dt) AS first_day, count(*) AS days, bool_or(units > ?) AS big\n"
       "FROM daily_revenue_by_category\nWHERE category <> ? AND dt >= ?\nGROUP BY category")


def column(name: str, kind: str, precision: int = 0, scale: int = 0) -> dict[str, Any]:
    return {"Name": name, "Label": name, "Type": kind, "Precision": precision, "Scale": scale,
            "Nullable": "UNKNOWN", "CaseSensitive": kind == "varchar", "CatalogName": "hive",
            "SchemaName": "", "TableName": ""}


def queue_results(moto: str, header: list[str], rows: list[list[str | None]], info: list[dict[str, Any]]) -> None:
    """Queue one result set on moto, shaped like Athena's (header row first)."""
    def cells(values: list[str | None]) -> dict[str, Any]:
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}

    body = {"results": [{"rows": [cells(list(header))] + [cells(r) for r in rows], "column_info": info}]}
    request = urllib.request.Request(f"{moto}/moto-api/static/athena/query-results", method="POST",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


@pytest.fixture
def athena_env(tmp_path: Path, moto: str) -> Env:
    e = Env(tmp_path)
    e.settings = Settings(lake_root=e.settings.lake_root, catalog_url=e.settings.catalog_url, aws_endpoint_url=moto,
                          extra={"athena_output_location": OUTPUT, "athena_workgroup": "lakeglue_wg"})
    e.lake = Lake(e.settings)
    gold = e.write_parquet(("gold", "daily_revenue_by_category"), gold_data())
    e.register("ecommerce_gold", "daily_revenue_by_category", gold, GOLD_COLUMNS)
    athena = boto3.client("athena", endpoint_url=moto, region_name="us-east-1")
    athena.create_work_group(Name="lakeglue_wg", Configuration={"ResultConfiguration": {"OutputLocation": OUTPUT}})
    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket="athena-results")
    return e


def executions(moto: str, workgroup: str = "lakeglue_wg") -> list[dict[str, Any]]:
    athena = boto3.client("athena", endpoint_url=moto, region_name="us-east-1")
    ids = athena.list_query_executions(WorkGroup=workgroup)["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


def test_athena_request_carries_sql_parameters_output_location_workgroup_and_database(
        athena_env: Env, moto: str) -> None:
    queue_results(moto, ["category"], [], [column("category", "varchar")])
    injection = "x' OR '1'='1"
    res = athena_env.run(SQL, [3, injection, date(2026, 11, 2)], database="ecommerce_gold", engine="athena",
                         output="csv")

    [execution] = executions(moto)
    assert execution["Query"] == SQL  # sent verbatim: Trino dialect, placeholders intact, no value pasted in
    assert execution["ExecutionParameters"] == ["3", "'x'' OR ''1''=''1'", "DATE '2026-11-02'"]
    assert all(is_single_literal(p) for p in execution["ExecutionParameters"])
    assert execution["WorkGroup"] == "lakeglue_wg"
    assert execution["QueryExecutionContext"] == {"Database": "ecommerce_gold"}
    execution_id = execution["QueryExecutionId"]
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{execution_id}.csv"
    assert res.stats["athena_query_execution_id"] == execution_id
    assert res.stats["workgroup"] == "lakeglue_wg"
    meta = json.loads(Path(res.metadata_location.removeprefix("file://")).read_text())
    assert (meta["engine"], meta["parameters"], meta["athena_output_location"]) == (
        "athena", [3, injection, "2026-11-02"], f"{OUTPUT}{execution_id}.csv")


def test_athena_rows_are_typed_from_column_info_and_kept_in_the_results_zone(athena_env: Env, moto: str) -> None:
    info = [column("category", "varchar", 2147483647), column("revenue", "decimal", 38, 2),
            column("first_day", "date"), column("days", "bigint", 19), column("big", "boolean")]
    queue_results(moto, ["category", "revenue", "first_day", "days", "big"], [
        ["books", "75.50", "2026-11-01", "2", "true"],
        ["games", None, "2026-11-01", "2", "false"],
    ], info)
    res = athena_env.run(SQL, [3, "toys", date(2026, 11, 1)], database="ecommerce_gold", engine="athena",
                         output="parquet")

    assert res.columns == ["category", "revenue", "first_day", "days", "big"]
    assert res.types == ["varchar", "decimal(38,2)", "date", "bigint", "boolean"]
    assert res.rows == [("books", Decimal("75.50"), date(2026, 11, 1), 2, True),
                        ("games", None, date(2026, 11, 1), 2, False)]  # header row dropped, NULL kept
    final = Path(athena_env.lake.path("results", "queries", res.query_id))
    assert (final / "result.csv").read_text() == ("category,revenue,first_day,days,big\n"
                                                  "books,75.50,2026-11-01,2,true\ngames,,2026-11-01,2,false\n")
    # Athena (moto) also wrote its own CSV where OutputLocation says
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    key = f"lakeglue/{res.stats['athena_query_execution_id']}.csv"
    assert s3.get_object(Bucket="athena-results", Key=key)["ContentLength"] > 0


def test_catalog_errors_stop_the_query_before_athena_sees_it(athena_env: Env, moto: str) -> None:
    with pytest.raises(QueryError, match=r"table ecommerce_gold\.daily_revenue not found in the catalog"):
        athena_env.run("SELECT * FROM ecommerce_gold.daily_revenue", engine="athena")
    with pytest.raises(QueryError, match=r"the query has 1 \? placeholder\(s\) but 0 parameter\(s\)"):
        athena_env.run("SELECT * FROM ecommerce_gold.daily_revenue_by_category WHERE dt = ?", engine="athena")
    assert executions(moto) == []


def test_ctas_is_sent_to_athena_as_written(athena_env: Env, moto: str) -> None:
    sql = ("CREATE TABLE ecommerce_gold.top WITH (format = 'PARQUET', partitioned_by = ARRAY['dt']) AS "
           "SELECT category, revenue, dt FROM ecommerce_gold.daily_revenue_by_category WHERE units > ?")
    res = athena_env.run(sql, [1], engine="athena")
    [execution] = executions(moto)
    assert (execution["Query"], execution["ExecutionParameters"]) == (sql, ["1"])
    # Athena writes the files and registers the table in Glue; lakeglue's own writer stays out of it
    assert not athena_env.catalog.table_exists("ecommerce_gold", "top")
    assert res.columns == ["rows"]


def test_output_location_defaults_to_the_s3_results_zone() -> None:
    settings = Settings(lake_root="s3://lakeglue-lake", catalog_url="sqlite://")
    engine = AthenaEngine(settings=settings, lake=Lake(settings))
    query = BoundQuery(sql="SELECT 1", params=(), database=None, tables={}, query_id="q-1")
    assert engine.start_request(query) == {
        "QueryString": "SELECT 1",
        "QueryExecutionContext": {},
        "ResultConfiguration": {"OutputLocation": "s3://lakeglue-lake/results/athena/q-1/"},
        "WorkGroup": "primary",
        "ClientRequestToken": "q-1",
    }
    local = Settings(lake_root="/tmp/lakeglue-local-lake", catalog_url="sqlite://")
    with pytest.raises(QueryError, match=r"athena writes query results to S3: set athena_output_location"):
        AthenaEngine(settings=local, lake=Lake(local)).start_request(query)


@pytest.mark.airflow
def test_operator_uses_the_amazon_providers_athena_hook(athena_env: Env, moto: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from lakeglue.settings import get_settings
    from lakeglue_airflow.operators.query import LakeQueryOperator

    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO", json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": moto, "region_name": "us-east-1"}}))
    monkeypatch.setenv("LAKEGLUE_HOME", athena_env.settings.lake_root)
    monkeypatch.setenv("LAKEGLUE_PROFILE", "aws")  # the aws profile: Athena over the Glue Data Catalog
    monkeypatch.setenv("LAKEGLUE_AWS_ENDPOINT_URL", moto)
    get_settings.cache_clear()
    glue = open_catalog(get_settings())
    assert type(glue).__name__ == "GlueCatalog"
    glue.ensure_database("ecommerce_gold")
    glue.create_table(athena_env.catalog.get_table("ecommerce_gold", "daily_revenue_by_category"))
    queue_results(moto, ["n"], [["6"]], [column("n", "bigint", 19)])
    try:
        op = LakeQueryOperator(task_id="athena_count", sql="SELECT count(*) AS n FROM daily_revenue_by_category "
                               "WHERE category <> ?", parameters=["toys"], database="ecommerce_gold",
                               aws_conn_id="aws_moto", workgroup="lakeglue_wg", output_location=OUTPUT)
        summary = op.execute({})
    finally:
        get_settings.cache_clear()
    [execution] = executions(moto)
    assert (execution["Query"], execution["ExecutionParameters"], execution["WorkGroup"]) == (
        "SELECT count(*) AS n FROM daily_revenue_by_category WHERE category <> ?", ["'toys'"], "lakeglue_wg")
    assert op.athena_execution_id == execution["QueryExecutionId"]
    assert (summary["engine"], summary["row_count"], summary["columns"]) == (
        "athena", 1, [{"name": "n", "type": "bigint"}])
    # on_kill stops the execution through AthenaHook.stop_query
    op.on_kill()
    athena = boto3.client("athena", endpoint_url=moto, region_name="us-east-1")
    state = athena.get_query_execution(QueryExecutionId=execution["QueryExecutionId"])["QueryExecution"]["Status"]
    assert state["State"] == "CANCELLED"
