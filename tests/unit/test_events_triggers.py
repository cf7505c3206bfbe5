"""The Airflow triggers and the sensor on a local lake: serialize round trips, restarts, errors.

Triggers run for real (``run()`` in an event loop, short poll intervals); every wait has a deadline.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, Asset, AssetWatcher
from airflow.sdk.exceptions import AirflowException, TaskDeferred
from airflow.triggers.base import BaseEventTrigger, BaseTrigger

from lakeglue.events.claims import ClaimStore
from lakeglue.events.objects import ObjectInfo
from lakeglue.settings import get_settings
from lakeglue_airflow.sensors.new_objects import NewObjectsSensor
from lakeglue_airflow.triggers.new_objects import (
    SQS_TRIGGER,
    NewObjectsEventTrigger,
    NewObjectsTrigger,
    SqsNotificationTrigger,
)
from tests.support.trigger_events import first_events as events

pytestmark = pytest.mark.airflow

FAST: dict[str, Any] = {"poll_seconds": 0.05, "quiet_seconds": 0.2, "max_wait_seconds": 5.0}


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway embedded lake that the triggers find through lakeglue's settings."""
    monkeypatch.setenv("LAKEGLUE_HOME", str(tmp_path / "lake"))
    monkeypatch.delenv("LAKEGLUE_CATALOG_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "lake"
    get_settings.cache_clear()


def land(lake: Path, rel: str, text: str = '{"id": 1}\n') -> Path:
    path = lake / "raw" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def rebuilt(trigger: BaseTrigger) -> BaseTrigger:
    """What the triggerer does after a restart: import the classpath, call it with the kwargs."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    clone: BaseTrigger = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    return clone


def paths(payload: dict[str, Any]) -> list[str]:
    return [o["path"] for o in payload["objects"]]


# -- serialization ---------------------------------------------------------------------------------

@pytest.mark.parametrize("trigger", [
    NewObjectsEventTrigger(prefix="ecommerce", scope="ecommerce", tables=["orders", "customers"],
                           excludes=["**/_SUCCESS"], pipeline="ecommerce", min_files=5, quiet_seconds=10),
    NewObjectsEventTrigger(prefix="landing", scope="raw/landing", pattern="*.csv", max_wait_seconds=None),
    NewObjectsTrigger(prefix="landing", scope="raw/landing", batch_id="d.t.run1", pattern="**/*.json",
                      min_files=2, quiet_seconds=0),
], ids=["pipeline-watcher", "prefix-watcher", "sensor-trigger"])
def test_serialize_round_trips_through_plain_json(trigger: BaseTrigger) -> None:
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs  # JSON primitives only: a stable trigger hash
    assert rebuilt(trigger).serialize() == (classpath, kwargs)
    if isinstance(trigger, BaseEventTrigger):
        assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*rebuilt(trigger).serialize())
        Asset("lakeglue.raw.t", watchers=[AssetWatcher(name="w", trigger=trigger)])  # accepted by the watcher


def test_serialized_kwargs_are_exactly_the_documented_ones() -> None:
    classpath, kwargs = NewObjectsEventTrigger(prefix="ecommerce", scope="ecommerce", tables=["orders"],
                                               pipeline="ecommerce").serialize()
    assert classpath == "lakeglue_airflow.triggers.new_objects.NewObjectsEventTrigger"
    assert kwargs == {"zone": "raw", "prefix": "ecommerce", "scope": "ecommerce", "pattern": None, "excludes": None,
                      "tables": ["orders"], "poll_seconds": 10.0, "min_files": None, "quiet_seconds": 10.0,
                      "max_wait_seconds": 300.0, "max_files": 1000, "max_failures": 3,
                      "max_backoff_seconds": 300.0, "pipeline": "ecommerce", "reannounce_after_seconds": 900.0}


def test_sqs_trigger_is_stored_as_the_providers_trigger_and_round_trips_there() -> None:
    trigger = SqsNotificationTrigger(sqs_queue="http://127.0.0.1:5055/123456789012/lake-events",
                                     aws_conn_id="aws_moto", waiter_delay=2)
    classpath, kwargs = trigger.serialize()
    assert (classpath, kwargs) == (SQS_TRIGGER, {"sqs_queue": "http://127.0.0.1:5055/123456789012/lake-events",
                                                 "aws_conn_id": "aws_moto", "waiter_delay": 2, "max_messages": 10,
                                                 "wait_time_seconds": 1})
    provider = rebuilt(trigger)  # what the triggerer runs: the Amazon provider's SqsSensorTrigger
    assert type(provider).__name__ == "SqsSensorTrigger" and isinstance(provider, BaseEventTrigger)
    p_classpath, p_kwargs = provider.serialize()
    assert p_classpath == classpath and {k: p_kwargs[k] for k in kwargs} == kwargs
    assert rebuilt(provider).serialize() == (p_classpath, p_kwargs)
    Asset("lakeglue.raw.t", watchers=[AssetWatcher(name="w", trigger=trigger)])


def test_message_queue_trigger_is_stored_exactly_like_ours() -> None:
    msg_queue = pytest.importorskip(
        "airflow.providers.common.messaging.triggers.msg_queue",
        reason="apache-airflow-providers-common-messaging is not installed in this venv")
    theirs = msg_queue.MessageQueueTrigger(scheme="sqs", sqs_queue="http://127.0.0.1:1/1/q", aws_conn_id="aws_moto",
                                           waiter_delay=2, max_messages=10, wait_time_seconds=1)
    ours = SqsNotificationTrigger(sqs_queue="http://127.0.0.1:1/1/q", aws_conn_id="aws_moto", waiter_delay=2)
    assert theirs.serialize()[0] == ours.serialize()[0] == SQS_TRIGGER
    assert {k: theirs.serialize()[1][k] for k in ours.kwargs} == ours.kwargs


def test_event_dag_watchers_follow_the_spec_without_importing_boto3_at_parse_time() -> None:
    """sqs mode: the notification queue plus a slow listing safety net; parsing stays free of boto3."""
    code = """
import json, sys
from lakeglue.pipelines.spec import spec_from_dict
from lakeglue_airflow.factory import build_pipeline_dags, raw_asset
spec = {"name": "shop", "database": "shop", "source": {"prefix": "shop"}, "bronze": {"orders": {"format": "json"}},
        "events": {"enabled": True, "mode": "sqs", "queue_url": "http://127.0.0.1:1/1/q", "aws_conn_id": "aws_moto",
                   "poll_seconds": 2, "reconcile_seconds": 300}}
dag = build_pipeline_dags(spec)["lakeglue_shop_on_new_files"]
asset = raw_asset(spec_from_dict(spec, check_files=False))
print(json.dumps({"crawl": type(dag.get_task("crawl")).__name__, "asset": asset.name,
                  "watchers": [[w.name, *w.trigger.serialize()] for w in asset.watchers],
                  "boto3": "boto3" in sys.modules}))
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["crawl"] == "EventIntakeOperator" and got["asset"] == "lakeglue.raw.shop" and got["boto3"] is False
    [(sqs_name, sqs_path, sqs_kwargs), (list_name, list_path, list_kwargs)] = got["watchers"]
    assert (sqs_name, sqs_path, sqs_kwargs["sqs_queue"], sqs_kwargs["waiter_delay"]) == (
        "shop_s3_notifications", SQS_TRIGGER, "http://127.0.0.1:1/1/q", 2.0)
    assert (list_name, list_path) == ("shop_new_raw_files",
                                      "lakeglue_airflow.triggers.new_objects.NewObjectsEventTrigger")
    assert (list_kwargs["poll_seconds"], list_kwargs["scope"], list_kwargs["tables"], list_kwargs["pipeline"]) == (
        300.0, "shop", ["orders"], "shop")


# -- the Asset watcher trigger ------------------------------------------------------------------------

def test_watcher_announces_a_burst_once_and_a_restart_does_not_repeat_it(lake: Path) -> None:
    a, b = land(lake, "landing/a.json"), land(lake, "landing/dt=2026-11-01/b.json")
    trigger = NewObjectsEventTrigger(prefix="landing", scope="raw/landing", **FAST)
    [first] = events(trigger, 1, within=10)
    assert first["status"] == "success" and first["count"] == 2 and first["bytes"] == 20
    assert paths(first) == [str(a), str(b)]
    assert first["location"] == str(lake / "raw" / "landing") and len(first["event_id"]) == 32

    assert events(rebuilt(trigger), 1, within=1.0) == []  # restarted triggerer: nothing new, nothing repeated
    c = land(lake, "landing/c.json")
    [second] = events(rebuilt(trigger), 1, within=10)
    assert paths(second) == [str(c)]


def test_an_announcement_nobody_claimed_is_made_again_once_stale(lake: Path) -> None:
    a = land(lake, "landing/a.json")
    trigger = NewObjectsEventTrigger(prefix="landing", scope="raw/landing", reannounce_after_seconds=0.5, **FAST)
    [lost] = events(trigger, 1, within=10)  # pretend the triggerer died before Airflow stored this event
    [again] = events(rebuilt(trigger), 1, within=10)
    assert paths(again) == paths(lost) == [str(a)] and again["event_id"] != lost["event_id"]
    store = ClaimStore(get_settings().catalog_url)
    assert [o.path for o in store.claim("raw/landing", [ObjectInfo.from_dict(o) for o in again["objects"]],
                                        "run1")] == [str(a)]
    assert events(rebuilt(trigger), 1, within=1.0) == []  # claimed: never announced again


def test_watcher_reports_listing_failures_as_error_events_and_keeps_running(lake: Path) -> None:
    (lake / "raw").mkdir(parents=True)
    (lake / "raw" / "landing").write_text("a file where the prefix should be")
    trigger = NewObjectsEventTrigger(prefix="landing", scope="raw/landing", poll_seconds=0.01, max_failures=2,
                                     max_backoff_seconds=0.02)
    first, second = events(trigger, 2, within=10)
    where = str(lake / "raw" / "landing")
    assert first == {"status": "error", "scope": "raw/landing", "location": where,
                     "error": f"ListingError: listing {where} failed: it is a file, not a directory",
                     "failures": 2, "retry_in_seconds": 0.02}
    assert second["failures"] == 4


def test_an_unreachable_catalog_is_reported_not_fatal(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")  # closed port
    get_settings.cache_clear()
    watcher = NewObjectsEventTrigger(prefix="landing", scope="raw/landing", poll_seconds=0.01, max_failures=2,
                                     max_backoff_seconds=0.02)
    first, second = events(watcher, 2, within=30)
    assert (first["status"], first["location"], first["failures"], second["failures"]) == (
        "error", "raw/landing", 2, 4)
    assert first["error"].startswith("OperationalError: ") and "127.0.0.1" in first["error"]
    sensor_trigger = NewObjectsTrigger(prefix="landing", scope="raw/landing", batch_id="b", poll_seconds=0.01,
                                       max_failures=2, max_backoff_seconds=0.02)
    assert [e["status"] for e in events(sensor_trigger, 2, within=30)] == ["error"]  # one report, then it ends


# -- the sensor and its trigger ----------------------------------------------------------------------

def test_sensor_trigger_claims_for_its_batch_and_a_restart_returns_the_same_objects(lake: Path) -> None:
    a, _ = land(lake, "landing/a.csv"), land(lake, "landing/skip.json")
    trigger = NewObjectsTrigger(prefix="landing", scope="raw/landing", batch_id="dag.wait.run1", pattern="*.csv",
                                **FAST)
    [event] = events(trigger, 1, within=10)
    assert event["status"] == "success" and event["batch_id"] == "dag.wait.run1" and paths(event) == [str(a)]
    b = land(lake, "landing/b.csv")
    [restarted] = events(rebuilt(trigger), 1, within=10)
    assert paths(restarted) == [str(a)]  # exactly the first claim: b is not absorbed
    other = NewObjectsTrigger(prefix="landing", scope="raw/landing", batch_id="dag.wait.run2", pattern="*.csv",
                              **FAST)
    [next_run] = events(other, 1, within=10)
    assert paths(next_run) == [str(b)]


class FakeTI:
    map_index = -1


def sensor(**kwargs: Any) -> NewObjectsSensor:
    with DAG("ingest", schedule=None):
        return NewObjectsSensor(task_id="wait", prefix="landing", pattern="*.csv", poke_interval=0.05, timeout=60,
                                **kwargs)


def test_sensor_pokes_once_then_defers_with_its_batch(lake: Path) -> None:
    with pytest.raises(TaskDeferred) as deferred:
        sensor(quiet_period=5).execute({"ti": FakeTI(), "run_id": "manual__1"})
    trigger = deferred.value.trigger
    assert isinstance(trigger, NewObjectsTrigger) and deferred.value.method_name == "execute_complete"
    assert trigger.batch_id == "ingest.wait.manual__1" and trigger.kwargs["pattern"] == "*.csv"
    assert deferred.value.timeout is not None and deferred.value.timeout.total_seconds() == 60


def test_sensor_returns_a_ready_batch_at_the_first_poke_and_the_same_on_retry(lake: Path) -> None:
    a, b = land(lake, "landing/a.csv"), land(lake, "landing/b.csv")
    context = {"ti": FakeTI(), "run_id": "manual__2"}
    first = sensor(min_files=2).execute(context)
    assert [(o["path"], o["size"], o["etag"]) for o in first] == [(str(a), 10, ""), (str(b), 10, "")]
    land(lake, "landing/c.csv")
    assert sensor(min_files=2).execute(context) == first  # a retry of the same task instance
    with pytest.raises(TaskDeferred):  # another run: c alone is not min_files and not quiet yet
        sensor(min_files=2, quiet_period=5).execute({"ti": FakeTI(), "run_id": "manual__3"})


def test_sensor_turns_an_error_event_into_a_readable_failure(lake: Path) -> None:
    with pytest.raises(AirflowException, match=r"watching s3://lake/raw/x failed 3 times in a row: ClientError: "
                                               r"NoSuchBucket"):
        sensor().execute_complete({}, {"status": "error", "location": "s3://lake/raw/x", "failures": 3,
                                       "error": "ClientError: NoSuchBucket"})
    objects = [{"path": "/l/raw/landing/a.csv", "size": 1, "mtime": 2.0, "etag": ""}]
    assert sensor().execute_complete({}, {"status": "success", "count": 1, "bytes": 1, "batch_id": "b",
                                          "objects": objects}) == objects
