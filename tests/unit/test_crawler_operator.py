"""LakeCrawlerOperator: crawls a config in the worker and returns the run metrics (its XCom); in the aws profile
it creates/updates, runs and waits for a real Glue crawler through the Amazon provider — here against the moto
server of the ``moto`` fixture.

What moto does not emulate, so these tests cannot show: moto never reads S3 during a crawl (the crawl completes
without creating a single table), it has no ``UpdateCrawler``, ``CreateClassifier`` or ``GetCrawlerMetrics``
(a changed definition or a custom classifier would fail there; only the unchanged-definition path is exercised),
and its ``LastCrawl.Status`` is ``COMPLETED`` where Glue says ``SUCCEEDED`` — the operator judges the run by
``ListCrawls``' state, which both spell ``COMPLETED``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from lakeglue.crawler import CrawlerConfig
from lakeglue.ledger import Ledger
from lakeglue.settings import get_settings
from tests.unit.test_crawler import jsonl

pytestmark = pytest.mark.airflow

ROLE = "arn:aws:iam::123456789012:role/lakeglue-crawler"


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    get_settings.cache_clear()
    raw = tmp_path / "lake" / "raw" / "shop"
    for dt, order_id in (("2026-11-01", 1), ("2026-11-02", 2)):
        (raw / "orders" / f"dt={dt}").mkdir(parents=True)
        (raw / "orders" / f"dt={dt}" / "part-0.json").write_text(jsonl({"order_id": order_id, "amount": 9.5}))
    (raw / "orders" / "dt=2026-11-02" / "_SUCCESS").write_text("")
    yield raw
    get_settings.cache_clear()


def shop_config(**overrides: Any) -> dict[str, Any]:
    return CrawlerConfig(database="shop_raw", prefix="shop", name="shop_crawler", **overrides).to_dict()


def test_runs_a_crawler_config_and_returns_its_metrics_for_xcom(lake: Path) -> None:
    from lakeglue.catalog import open_catalog
    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    op = LakeCrawlerOperator(task_id="crawl", config=shop_config())
    metrics = op.execute({})

    assert json.loads(json.dumps(metrics)) == metrics  # XCom stores JSON
    assert (metrics["engine"], metrics["database"], metrics["tables_created"], metrics["partitions_added"],
            metrics["files_listed"], metrics["errors"]) == ("lakeglue", "shop_raw", ["orders"], 2, 2, [])
    assert metrics["tables"][0]["columns"] == [["order_id", "bigint"], ["amount", "double"]]
    catalog = open_catalog(get_settings())
    assert [p.values for p in catalog.get_partitions("shop_raw", "orders")] == [("2026-11-01",), ("2026-11-02",)]
    again = op.execute({})
    assert (again["tables_unchanged"], again["files_scanned"]) == (["orders"], 0)


def test_plan_only_writes_nothing(lake: Path) -> None:
    from lakeglue.catalog import open_catalog
    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    metrics = LakeCrawlerOperator(task_id="plan", config=shop_config(), plan_only=True).execute({})
    assert (metrics["dry_run"], metrics["tables_created"]) == (True, ["orders"])
    assert open_catalog(get_settings()).list_databases() == []
    assert Ledger(get_settings().catalog_url).entries("shop/orders") == []


def test_event_mode_crawls_the_files_of_the_triggering_asset_events(lake: Path) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.api.datamodels._generated import AssetEventDagRunReference, AssetReferenceAssetEventDagRun

    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    LakeCrawlerOperator(task_id="crawl", config=shop_config()).execute({})
    landed = lake / "orders" / "dt=2026-11-03" / "part-0.json"
    landed.parent.mkdir()
    landed.write_text(jsonl({"order_id": 3, "amount": 1.0, "coupon": "X"}))
    unannounced = lake / "orders" / "dt=2026-11-04" / "part-0.json"
    unannounced.parent.mkdir()
    unannounced.write_text(jsonl({"order_id": 4, "amount": 2.0}))
    asset = Asset(name="lakeglue.raw.shop")
    event = AssetEventDagRunReference(
        asset=AssetReferenceAssetEventDagRun(name=asset.name, uri=asset.uri, extra={}),
        extra={"from_trigger": True, "payload": {"status": "success", "files": [str(landed)], "count": 1}},
        source_task_id=None, source_dag_id=None, source_run_id=None, source_map_index=None, source_aliases=[],
        timestamp=datetime(2026, 11, 3, tzinfo=UTC))

    op = LakeCrawlerOperator(task_id="crawl", config=shop_config(), recrawl_policy="CRAWL_EVENT_MODE")
    metrics = op.execute({"triggering_asset_events": {asset: [event]}})
    assert (metrics["recrawl_policy"], metrics["files_listed"], metrics["files_scanned"]) == (
        "CRAWL_EVENT_MODE", 1, 1)
    assert metrics["tables_updated"] == ["orders"]
    assert metrics["partitions_added"] == 1
    states = {e.path: e.state for e in Ledger(get_settings().catalog_url).entries("shop/orders")}
    assert states[str(landed)] == "new"
    assert str(unannounced) not in states


def test_needs_exactly_one_of_pipeline_or_config_and_renders_the_config_template() -> None:
    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    with pytest.raises(ValueError, match="crawl: give exactly one of pipeline= or config="):
        LakeCrawlerOperator(task_id="crawl")
    with pytest.raises(ValueError, match="crawl: give exactly one of pipeline= or config="):
        LakeCrawlerOperator(task_id="crawl", pipeline="ecommerce", config=shop_config())
    op = LakeCrawlerOperator(task_id="crawl", config={**shop_config(), "prefix": "{{ params.source }}"})
    op.render_template_fields({"params": {"source": "shop/2026"}})
    assert op.crawler_config().prefix == "shop/2026"


# -- aws profile: Glue's crawler through the Amazon provider, on the moto server ------------------------------
def _moto_api(endpoint: str, action: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/state-manager/{action}", method="POST",
                                     data=json.dumps(body).encode())
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture
def aws(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """aws profile settings, an Airflow AWS connection to moto, and crawls that run for one second."""
    monkeypatch.setenv("LAKEGLUE_PROFILE", "aws")
    monkeypatch.setenv("LAKEGLUE_HOME", "s3://lakeglue-test")
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    monkeypatch.setenv("AIRFLOW_CONN_LAKEGLUE_MOTO", json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": moto, "region_name": "us-east-1"}}))
    get_settings.cache_clear()
    # moto keeps a crawl RUNNING until told otherwise; let it finish one second after it starts
    _moto_api(moto, "set-transition", {"model_name": "glue::crawl", "transition": {"progression": "time",
                                                                                    "seconds": 1}})
    try:
        yield boto3.client("glue", endpoint_url=moto, region_name="us-east-1")
    finally:
        _moto_api(moto, "unset-transition", {"model_name": "glue::crawl"})
        get_settings.cache_clear()


def test_aws_profile_creates_runs_and_waits_for_a_glue_crawler(aws: Any) -> None:
    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    op = LakeCrawlerOperator(task_id="crawl", pipeline="ecommerce", aws_conn_id="lakeglue_moto", glue_role=ROLE,
                             poll_interval=1, wait_timeout=60)
    first = op.execute({})

    assert (first["engine"], first["crawler"], first["state"]) == ("glue", "ecommerce_raw_crawler", "COMPLETED")
    crawler = aws.get_crawler(Name="ecommerce_raw_crawler")["Crawler"]
    assert crawler["State"] == "READY"
    assert crawler["Targets"]["S3Targets"] == [{
        "Path": "s3://lakeglue-test/raw/ecommerce/", "SampleSize": 10,
        "Exclusions": ["**/_SUCCESS", "**/_temporary/**", "**/*.crc", "**/.*", "**/_*"]}]
    assert (crawler["Role"], crawler["DatabaseName"]) == (ROLE, "ecommerce_raw")
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"}
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_EVERYTHING"}
    assert json.loads(crawler["Configuration"]) == {
        "Version": 1.0, "Grouping": {"TableLevelConfiguration": 4},  # lakeglue-test / raw / ecommerce / <table>
        "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}}
    assert first["definition"]["Name"] == crawler["Name"]

    second = op.execute({})  # same definition: the provider's update finds nothing to change
    crawls = aws.list_crawls(CrawlerName="ecommerce_raw_crawler")["Crawls"]
    assert sorted(c["CrawlId"] for c in crawls) == sorted([first["crawl_id"], second["crawl_id"]])
    assert {c["State"] for c in crawls} == {"COMPLETED"}
    assert aws.get_crawler(Name="ecommerce_raw_crawler")["Crawler"]["Version"] == 1
    # moto does not crawl S3: the Glue database the crawler targets was never even created
    with pytest.raises(aws.exceptions.EntityNotFoundException):
        aws.get_tables(DatabaseName="ecommerce_raw")


def test_aws_profile_plan_only_returns_the_definition_without_calling_glue(aws: Any) -> None:
    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    out = LakeCrawlerOperator(task_id="crawl", pipeline="ecommerce", aws_conn_id="lakeglue_moto", glue_role=ROLE,
                              plan_only=True).execute({})
    assert (out["engine"], out["dry_run"], out["definition"]["DatabaseName"]) == ("glue", True, "ecommerce_raw")
    assert aws.list_crawlers()["CrawlerNames"] == []


def test_aws_profile_needs_a_role(aws: Any) -> None:
    from lakeglue.crawler.glue import GlueTranslationError
    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    with pytest.raises(GlueTranslationError, match="a Glue crawler needs an IAM role"):
        LakeCrawlerOperator(task_id="crawl", pipeline="ecommerce", aws_conn_id="lakeglue_moto").execute({})


def test_openlineage_of_a_config_crawl_names_the_prefix_and_the_tables_it_found(lake: Path) -> None:
    from lakeglue_airflow.operators.crawler import LakeCrawlerOperator

    op = LakeCrawlerOperator(task_id="crawl", config=shop_config())
    op.execute({})
    lineage = op.get_openlineage_facets_on_complete(None)
    lake_root = get_settings().lake_root
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(lake))]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [(f"lakeglue+file://{lake_root}", "shop_raw.orders")]
    schema = lineage.outputs[0].facets["schema"]
    assert [(f.name, f.type) for f in schema.fields] == [("order_id", "bigint"), ("amount", "double"), ("dt", "string")]
