"""Event detection against S3 on the moto server: async listing, ETag versions, errors, SQS notifications.

The lake lives in ``s3://lake`` on moto (HTTP, loopback); the claim table in a SQLite file.
The SQS route uses the Amazon provider's message-queue trigger exactly as the triggerer runs it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lakeglue.events.claims import ClaimStore
from lakeglue.events.intake import read_event_payloads
from lakeglue.events.objects import ObjectInfo
from lakeglue.settings import get_settings
from lakeglue_airflow.triggers.new_objects import NewObjectsEventTrigger, NewObjectsTrigger, SqsNotificationTrigger
from tests.support.trigger_events import first_events

pytestmark = pytest.mark.airflow

FAST: dict[str, Any] = {"poll_seconds": 0.1, "quiet_seconds": 0.3, "max_wait_seconds": 10.0}


@pytest.fixture
def s3_lake(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("LAKEGLUE_HOME", "s3://lake")
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    monkeypatch.setenv("LAKEGLUE_AWS_ENDPOINT_URL", moto)
    get_settings.cache_clear()
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    yield s3
    get_settings.cache_clear()


def put(s3: Any, key: str, body: bytes) -> tuple[str, int, str]:
    etag = s3.put_object(Bucket="lake", Key=key, Body=body)["ETag"].strip('"')
    return (f"lake/{key}", len(body), etag)


def test_watcher_lists_s3_asynchronously_with_etags(s3_lake: Any) -> None:
    a = put(s3_lake, "raw/landing/dt=2026-11-01/a.json", b'{"id": 1}\n')
    b = put(s3_lake, "raw/landing/b.json", b'{"id": 2}\n{"id": 3}\n')
    put(s3_lake, "raw/landing/_SUCCESS", b"")
    put(s3_lake, "raw/elsewhere/c.json", b"{}\n")
    trigger = NewObjectsEventTrigger(prefix="landing", scope="raw/landing", **FAST)
    [event] = first_events(trigger, 1, within=20)
    assert event["location"] == "s3://lake/raw/landing" and event["status"] == "success"
    assert [(o["path"], o["size"], o["etag"]) for o in event["objects"]] == [b, a]  # sorted by path
    head = s3_lake.head_object(Bucket="lake", Key="raw/landing/b.json")
    assert event["objects"][0]["mtime"] == head["LastModified"].timestamp()


def test_missing_bucket_becomes_an_error_event(s3_lake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEGLUE_HOME", "s3://no-such-bucket")
    get_settings.cache_clear()
    trigger = NewObjectsEventTrigger(prefix="landing", scope="raw/landing", poll_seconds=0.05, max_failures=2,
                                     max_backoff_seconds=0.1)
    [event] = first_events(trigger, 1, within=20)
    assert event["status"] == "error" and event["failures"] == 2 and event["location"] == "s3://no-such-bucket/raw/landing"
    assert event["error"].startswith("ListingError: listing s3://no-such-bucket/raw/landing failed: NoSuchBucket")


def test_sensor_trigger_claims_by_etag_so_identical_reuploads_are_not_new(s3_lake: Any) -> None:
    a = put(s3_lake, "raw/landing/a.csv", b"id\n1\n")
    trigger = NewObjectsTrigger(prefix="landing", scope="raw/landing", batch_id="d.wait.run1", **FAST)
    [event] = first_events(trigger, 1, within=20)
    assert [(o["path"], o["size"], o["etag"]) for o in event["objects"]] == [a]
    put(s3_lake, "raw/landing/a.csv", b"id\n1\n")  # same bytes again: same ETag, same version
    second = NewObjectsTrigger(prefix="landing", scope="raw/landing", batch_id="d.wait.run2", **FAST)
    assert first_events(second, 1, within=1.5) == []
    changed = put(s3_lake, "raw/landing/a.csv", b"id\n1\n2\n")  # new content: a new version to process
    [event2] = first_events(second, 1, within=20)
    assert [(o["path"], o["size"], o["etag"]) for o in event2["objects"]] == [changed]


# -- S3 event notifications → SQS → message-queue trigger ------------------------------------------

@pytest.fixture
def notifications(s3_lake: Any, moto: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """S3 → SQS notifications for ``raw/ecommerce/``, and an Airflow connection to moto."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": moto, "region_name": "us-east-1"}}))
    sqs = boto3.client("sqs", endpoint_url=moto, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="lake-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3_lake.put_bucket_notification_configuration(Bucket="lake", NotificationConfiguration={
        "QueueConfigurations": [{"Id": "raw", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/ecommerce/"}]}}}]})
    return sqs, queue_url


def drain(queue_url: str, expected: int, within: float = 30) -> tuple[list[ObjectInfo], list[dict[str, Any]]]:
    """Run the SQS trigger the way the triggerer does (it returns after each event and is restarted)."""
    objects: dict[tuple[str, str], ObjectInfo] = {}
    messages: list[dict[str, Any]] = []
    loop_deadline = asyncio.run(_now()) + within
    while len(objects) < expected:
        remaining = loop_deadline - asyncio.run(_now())
        assert remaining > 0, f"only {len(objects)} of {expected} objects arrived: {sorted(objects)}"
        trigger = SqsNotificationTrigger(sqs_queue=queue_url, aws_conn_id="aws_moto", waiter_delay=0.2)
        for payload in first_events(trigger, 1, within=remaining):
            assert payload["status"] == "success"
            messages.extend(payload["message_batch"])
            for o in read_event_payloads([payload]).objects:
                objects[o.key] = o
    return sorted(objects.values()), messages


async def _now() -> float:
    return asyncio.get_running_loop().time()


def test_notifications_through_sqs_are_claimed_once_even_when_redelivered(notifications: tuple[Any, str],
                                                                           s3_lake: Any) -> None:
    sqs, queue_url = notifications
    landed = [put(s3_lake, f"raw/ecommerce/orders/dt=2026-11-0{i}/part-0.json", b'{"order_id": %d}\n' % i)
              for i in (1, 2, 3)]
    put(s3_lake, "raw/other/ignored.json", b"{}\n")  # outside the notification filter
    objects, messages = drain(queue_url, expected=3)
    assert [(o.path, o.size, o.etag) for o in objects] == landed
    store = ClaimStore(get_settings().catalog_url)
    assert [o.path for o in store.claim("ecommerce", objects, "run1")] == [p for p, _, _ in landed]

    for message in messages:  # SQS delivers at least once: the same notifications arrive again
        sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
    again, _ = drain(queue_url, expected=3)
    assert again == objects
    assert store.claim("ecommerce", again, "run2") == []  # nothing processed twice

    late = put(s3_lake, "raw/ecommerce/orders/dt=2026-11-04/part-0.json", b'{"order_id": 4}\n')
    newest, _ = drain(queue_url, expected=1)
    assert [(o.path, o.size, o.etag) for o in store.claim("ecommerce", newest, "run3")] == [late]
