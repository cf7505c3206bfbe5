"""Event claims (announce / claim / retry), S3 notification parsing and event payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lakeglue.events.claims import ANNOUNCED, CLAIMED, DONE, ClaimStore, claims_t, task_batch_id
from lakeglue.events.intake import read_event_payloads, split_by_source
from lakeglue.events.listing import Location
from lakeglue.events.notifications import objects_from_sqs_messages
from lakeglue.events.objects import ObjectInfo, PayloadError
from lakeglue.pipelines.spec import spec_from_dict
from lakeglue.settings import Settings

SCOPE = "ecommerce"


@pytest.fixture
def store(tmp_path: Path) -> ClaimStore:
    return ClaimStore(f"sqlite:///{tmp_path / 'catalog.db'}")


def obj(name: str, size: int = 10, etag: str = "") -> ObjectInfo:
    return ObjectInfo(f"/lake/raw/ecommerce/orders/{name}", size, 1_700_000_000.25, etag)


def names(objects: list[ObjectInfo]) -> list[str]:
    return [o.path.rsplit("/", 1)[1] for o in objects]


def states(store: ClaimStore) -> dict[str, tuple[str, str | None]]:
    return {c.obj.path.rsplit("/", 1)[1]: (c.state, c.batch_id) for c in store.claims(SCOPE)}


def test_claim_gives_each_object_to_one_batch(store: ClaimStore) -> None:
    assert names(store.claim(SCOPE, [obj("b"), obj("a")], "run1")) == ["a", "b"]
    assert store.claim(SCOPE, [obj("a"), obj("b")], "run2") == []  # a re-delivered event: nothing
    assert names(store.claim(SCOPE, [obj("a"), obj("b"), obj("c")], "run3")) == ["c"]
    assert states(store) == {"a": (CLAIMED, "run1"), "b": (CLAIMED, "run1"), "c": (CLAIMED, "run3")}


def test_a_retried_batch_gets_its_objects_back_and_nothing_new(store: ClaimStore) -> None:
    store.claim(SCOPE, [obj("a")], "run1")
    assert names(store.claim(SCOPE, [obj("a"), obj("late")], "run1")) == ["a"]
    assert names(store.batch(SCOPE, "run1")) == ["a"]
    assert names(store.claim(SCOPE, [obj("late")], "run2")) == ["late"]


def test_a_rewritten_object_is_a_new_version_to_claim(store: ClaimStore) -> None:
    store.claim(SCOPE, [obj("a", size=10)], "run1")
    assert store.claim(SCOPE, [obj("a", size=10)], "run2") == []
    assert [o.size for o in store.claim(SCOPE, [obj("a", size=12)], "run2")] == [12]
    s3 = [ObjectInfo("lake/raw/x.json", 5, 1.0, "etag-1")]
    assert store.claim(SCOPE, s3, "run3") == s3
    assert store.claim(SCOPE, [ObjectInfo("lake/raw/x.json", 5, 99.0, "etag-1")], "run4") == []  # same content


def test_announced_objects_are_taken_until_claimed_or_stale(store: ClaimStore) -> None:
    assert names(store.announce(SCOPE, [obj("a"), obj("b")], "ev1")) == ["a", "b"]
    assert store.taken(SCOPE, [obj("a"), obj("b"), obj("c")], reannounce_after=60) == {
        obj("a").key: ANNOUNCED, obj("b").key: ANNOUNCED}
    assert store.taken(SCOPE, [obj("a")], reannounce_after=0) == {}  # stale: may be announced again
    assert names(store.claim(SCOPE, [obj("a")], "run1")) == ["a"]
    assert store.taken(SCOPE, [obj("a")], reannounce_after=0) == {obj("a").key: CLAIMED}
    # a second announcement (event lost, or a restarted watcher) never names a claimed object
    assert names(store.announce(SCOPE, [obj("a"), obj("b")], "ev2")) == ["b"]
    assert states(store) == {"a": (CLAIMED, "run1"), "b": (ANNOUNCED, None)}
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(claims_t.c.event_id).where(claims_t.c.path == obj("b").path)).scalar() == "ev2"


def test_stale_announcement_age_is_measured_from_the_last_announcement(store: ClaimStore) -> None:
    store.announce(SCOPE, [obj("a")], "ev1")
    with store.engine.begin() as conn:  # pretend ev1 was 20 minutes ago
        conn.execute(claims_t.update().values(announced_at=datetime.now(UTC) - timedelta(minutes=20)))
    assert store.taken(SCOPE, [obj("a")], reannounce_after=900) == {}
    store.announce(SCOPE, [obj("a")], "ev2")
    assert store.taken(SCOPE, [obj("a")], reannounce_after=900) == {obj("a").key: ANNOUNCED}


def test_mark_done_and_scopes_are_independent(store: ClaimStore) -> None:
    store.claim(SCOPE, [obj("a"), obj("b")], "run1")
    assert store.mark_done(SCOPE, "run1") == 2
    assert states(store) == {"a": (DONE, "run1"), "b": (DONE, "run1")}
    assert names(store.claim("raw/landing", [obj("a")], "sensor1")) == ["a"]  # another consumer's scope


def test_task_batch_id_is_stable_safe_and_never_truncated_into_a_collision() -> None:
    assert task_batch_id("d", "wait", "manual__2026-11-23T19:55:50+00:00") == "d.wait.manual__2026-11-23T19_55_50_00_00"
    assert task_batch_id("d", "wait", "r", map_index=3) == "d.wait.r.3"
    long_a, long_b = task_batch_id("d" * 300, "t", "run-a"), task_batch_id("d" * 300, "t", "run-b")
    assert len(long_a) == 183 and long_a != long_b and long_a[:150] == long_b[:150]


# -- S3 notifications -----------------------------------------------------------------------------

def s3_record(key: str, size: int = 12, etag: str = "eadc33be", event: str = "ObjectCreated:Put") -> dict:
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": "2026-11-23T18:54:59.711Z",
            "eventName": event, "s3": {"bucket": {"name": "lake"}, "object": {"key": key, "size": size,
                                                                               "eTag": etag}}}


def test_sqs_messages_become_objects_deduplicated_and_decoded() -> None:
    messages = [
        {"MessageId": "m0", "Body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})},
        {"MessageId": "m1", "Body": json.dumps({"Records": [s3_record("raw%2Fecommerce%2Forders%2Fdt%3D2026-11-01"
                                                                      "%2Fmy+file.json")]})},
        {"MessageId": "m2", "Body": json.dumps({"Records": [  # multipart: two messages, one object
            s3_record("raw/big.parquet", 5242880, "abc-1", "ObjectCreated:Put"),
            s3_record("raw/big.parquet", 5242880, "abc-1", "ObjectCreated:CompleteMultipartUpload"),
            s3_record("raw/gone.json", 0, "", "ObjectRemoved:Delete")]})},
        {"MessageId": "m3", "Body": json.dumps({"Type": "Notification",  # S3 → SNS → SQS
                                                "Message": json.dumps({"Records": [s3_record("raw/sns.csv", 7,
                                                                                             "e7")]})})},
    ]
    mtime = datetime(2026, 11, 23, 18, 54, 59, 711000, tzinfo=UTC).timestamp()
    assert objects_from_sqs_messages(messages) == [
        ObjectInfo("lake/raw/big.parquet", 5242880, mtime, "abc-1"),
        ObjectInfo("lake/raw/ecommerce/orders/dt=2026-11-01/my file.json", 12, mtime, "eadc33be"),
        ObjectInfo("lake/raw/sns.csv", 7, mtime, "e7"),
    ]


def test_bad_notifications_name_the_message_and_position() -> None:
    with pytest.raises(PayloadError, match=r"SQS message m9: body is not JSON \(line 1, column 2"):
        objects_from_sqs_messages([{"MessageId": "m9", "Body": "{oops"}])
    with pytest.raises(PayloadError, match=r"SQS message m8 Records\[0\]: not an S3 ObjectCreated record"):
        objects_from_sqs_messages([{"MessageId": "m8", "Body": json.dumps({"Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {}}}]})}])


# -- event payloads and pipeline tables ------------------------------------------------------------

def test_payloads_from_both_routes_merge_and_errors_are_kept() -> None:
    a, b = obj("a"), obj("b")
    sqs = {"status": "success", "message_batch": [
        {"MessageId": "m1", "Body": json.dumps({"Records": [s3_record("raw/ecommerce/orders/c.json", 3, "e3")]})}]}
    batch = read_event_payloads([
        {"status": "success", "objects": [a.to_dict(), b.to_dict()]},
        {"status": "success", "objects": [b.to_dict()]},  # the same object in two events
        sqs,
        {"status": "error", "location": "s3://lake/raw/ecommerce", "error": "ClientError: AccessDenied", "failures": 3},
        None,
    ])
    assert batch.events == 4
    assert [o.path for o in batch.objects] == [a.path, b.path, "lake/raw/ecommerce/orders/c.json"]
    assert batch.errors == ["s3://lake/raw/ecommerce: ClientError: AccessDenied (3 failures in a row)"]
    with pytest.raises(PayloadError, match=r"event 0: payload has neither 'objects' nor 'message_batch': keys \['x'\]"):
        read_event_payloads([{"x": 1}])
    with pytest.raises(PayloadError, match=r"event 0: object \{'path': 'p'\} lacks a valid path/size/mtime"):
        read_event_payloads([{"objects": [{"path": "p"}]}])


def test_objects_are_split_by_ledger_source_and_strays_kept_apart(tmp_path: Path) -> None:
    spec = spec_from_dict({"name": "shop", "database": "shop", "source": {"prefix": "shop"},
                           "bronze": {"orders": {"format": "json"}, "order_items": {"format": "json"}}},
                          check_files=False)
    from lakeglue.events.intake import pipeline_location

    location = pipeline_location(spec, Settings(lake_root=str(tmp_path)))
    root = f"{tmp_path}/raw/shop"
    objects = [ObjectInfo(f"{root}/orders/dt=1/a.json", 1, 1.0), ObjectInfo(f"{root}/Order Items/b.json", 1, 1.0),
               ObjectInfo(f"{root}/top.json", 1, 1.0), ObjectInfo(f"{root}/refunds/r.json", 1, 1.0),
               ObjectInfo(f"{root}/orders/_SUCCESS", 0, 1.0), ObjectInfo(f"{tmp_path}/raw/other/x.json", 1, 1.0)]
    by_source, outside = split_by_source(spec, location, objects)
    assert {s: [o.path for o in objs] for s, objs in by_source.items()} == {
        "shop/orders": [f"{root}/orders/dt=1/a.json"], "shop/order_items": [f"{root}/Order Items/b.json"]}
    assert [o.path for o in outside] == [f"{root}/top.json", f"{root}/refunds/r.json", f"{root}/orders/_SUCCESS",
                                         f"{tmp_path}/raw/other/x.json"]
    assert isinstance(location, Location) and location.url() == root
