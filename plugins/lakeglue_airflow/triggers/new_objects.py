"""Async triggers that detect new objects in a lake prefix (local disk or S3).

- :class:`NewObjectsEventTrigger` — for an ``AssetWatcher``: runs for as long as the asset
  is watched and fires one asset event per batch (burst) of new objects. It only
  *announces*; the run started by the event claims the objects, so a duplicate event can
  never make two runs process one object.
- :class:`NewObjectsTrigger` — for :class:`~lakeglue_airflow.sensors.NewObjectsSensor`: waits
  for a batch, *claims* it for the sensor task's batch id and fires once. Restarted (the
  triggerer died), it finds the batch's claim and fires with the same objects.

Both are rebuilt from ``serialize()`` in the triggerer, so their kwargs are plain JSON
values; the lake root and catalog URL come from the triggerer's lakeglue settings. The
detection loop itself is :class:`lakeglue.events.watch.Watcher`: back-off on failures and
an ``{"status": "error"}`` event instead of a dead trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from lakeglue.events.objects import ObjectInfo
    from lakeglue.events.watch import Watcher, WatchFailure

MODULE = "lakeglue_airflow.triggers.new_objects"


def _watch_kwargs(zone: str, prefix: str, scope: str, pattern: str | None, excludes: list[str] | None,
                  tables: list[str] | None, poll_seconds: float, min_files: int | None, quiet_seconds: float,
                  max_wait_seconds: float | None, max_files: int, max_failures: int,
                  max_backoff_seconds: float) -> dict[str, Any]:
    """The serialized form shared by both triggers (JSON primitives only: the trigger hash depends on it)."""
    return {"zone": zone, "prefix": prefix, "scope": scope, "pattern": pattern,
            "excludes": list(excludes) if excludes is not None else None,
            "tables": sorted(tables) if tables is not None else None,
            "poll_seconds": float(poll_seconds), "min_files": min_files, "quiet_seconds": float(quiet_seconds),
            "max_wait_seconds": None if max_wait_seconds is None else float(max_wait_seconds),
            "max_files": int(max_files), "max_failures": int(max_failures),
            "max_backoff_seconds": float(max_backoff_seconds)}


def build_watcher(kwargs: dict[str, Any], ledger_pipeline: str | None = None,
                  reannounce_after_seconds: float = 900.0) -> Watcher:
    """A :class:`Watcher` from trigger kwargs and this process's lakeglue settings."""
    from lakeglue.events.batching import BatchPolicy
    from lakeglue.events.claims import ClaimStore
    from lakeglue.events.listing import Location, Selection
    from lakeglue.events.watch import Watcher
    from lakeglue.settings import get_settings
    from lakeglue.storage.zones import DEFAULT_EXCLUDES

    settings = get_settings()
    excludes = kwargs["excludes"]
    selection = Selection(pattern=kwargs["pattern"],
                          excludes=DEFAULT_EXCLUDES if excludes is None else tuple(excludes),
                          tables=None if kwargs["tables"] is None else tuple(kwargs["tables"]))
    policy = BatchPolicy(min_files=kwargs["min_files"], quiet_seconds=kwargs["quiet_seconds"],
                         max_wait_seconds=kwargs["max_wait_seconds"], max_files=kwargs["max_files"])
    return Watcher(location=Location(settings, kwargs["zone"], kwargs["prefix"], selection),
                   claims=ClaimStore(settings.catalog_url), scope=kwargs["scope"], policy=policy,
                   poll_seconds=kwargs["poll_seconds"], max_failures=kwargs["max_failures"],
                   max_backoff_seconds=kwargs["max_backoff_seconds"],
                   reannounce_after_seconds=reannounce_after_seconds, ledger_pipeline=ledger_pipeline)


def success_payload(scope: str, location: str, objects: list[ObjectInfo], **extra: Any) -> dict[str, Any]:
    return {"status": "success", "scope": scope, "location": location, "count": len(objects),
            "bytes": sum(o.size for o in objects), "objects": [o.to_dict() for o in objects], **extra}


def error_payload(scope: str, failure: WatchFailure) -> dict[str, Any]:
    return {"status": "error", "scope": scope, "location": failure.location, "error": failure.error,
            "failures": failure.failures, "retry_in_seconds": failure.retry_in_seconds}


def startup_failure(kwargs: dict[str, Any], exc: Exception, failures: int) -> tuple[float, dict[str, Any] | None]:
    """Back-off delay after the ``failures``-th failed start (settings, catalog DB), and the error
    payload to fire when it completes a run of ``max_failures`` — the same rule as failed polls."""
    delay = min(kwargs["poll_seconds"] * 2 ** (failures - 1), kwargs["max_backoff_seconds"])
    if failures % kwargs["max_failures"]:
        return delay, None
    location = f"{kwargs['zone']}/{kwargs['prefix']}"
    return delay, {"status": "error", "scope": kwargs["scope"], "location": location,
                   "error": f"{type(exc).__name__}: {exc}", "failures": failures, "retry_in_seconds": delay}


class NewObjectsEventTrigger(BaseEventTrigger):
    """Fires an asset event per batch of new objects under ``<zone>/<prefix>``.

    ``pipeline`` names the ingestion-ledger sources (``<pipeline>/<table>``) so objects a
    scheduled run already ingested are not announced; ``tables`` limits the watch to those
    table folders. Announcements are recorded under ``scope``; an announcement nobody
    claimed within ``reannounce_after_seconds`` is made again (its event was lost).
    """

    def __init__(self, *, prefix: str, scope: str, zone: str = "raw", pattern: str | None = None,
                 excludes: list[str] | None = None, tables: list[str] | None = None, pipeline: str | None = None,
                 poll_seconds: float = 10.0, min_files: int | None = None, quiet_seconds: float = 10.0,
                 max_wait_seconds: float | None = 300.0, max_files: int = 1000, max_failures: int = 3,
                 max_backoff_seconds: float = 300.0, reannounce_after_seconds: float = 900.0) -> None:
        super().__init__()
        self.kwargs = _watch_kwargs(zone, prefix, scope, pattern, excludes, tables, poll_seconds, min_files,
                                    quiet_seconds, max_wait_seconds, max_files, max_failures, max_backoff_seconds)
        self.pipeline = pipeline
        self.reannounce_after_seconds = float(reannounce_after_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{MODULE}.NewObjectsEventTrigger",
                {**self.kwargs, "pipeline": self.pipeline, "reannounce_after_seconds": self.reannounce_after_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from lakeglue.events.watch import Batch

        watcher: Watcher | None = None
        failures = 0
        while watcher is None:  # e.g. the catalog database is down: report and retry, never die
            try:
                watcher = await asyncio.to_thread(build_watcher, self.kwargs, self.pipeline,
                                                  self.reannounce_after_seconds)
            except Exception as exc:
                failures += 1
                delay, payload = startup_failure(self.kwargs, exc, failures)
                self.log.warning("cannot start watching (%d failures), retrying in %.1fs: %s", failures, delay, exc)
                if payload is not None:
                    yield TriggerEvent(payload)
                await asyncio.sleep(delay)
        scope, url = self.kwargs["scope"], watcher.location.url()
        event_ids: list[str] = []

        def announce(objects: list[ObjectInfo]) -> list[ObjectInfo]:
            event_id = uuid.uuid4().hex
            event_ids.append(event_id)
            return watcher.claims.announce(scope, objects, event_id)

        self.log.info("watching %s for new objects (scope %s)", url, scope)
        async for item in watcher.batches(announce):
            if isinstance(item, Batch):
                self.log.info("announcing %d new objects under %s", len(item.objects), url)
                yield TriggerEvent(success_payload(scope, url, item.objects, event_id=event_ids[-1]))
            else:
                yield TriggerEvent(error_payload(scope, item))


class NewObjectsTrigger(BaseTrigger):
    """Waits for a batch of new objects, claims it for ``batch_id`` and fires once."""

    def __init__(self, *, prefix: str, scope: str, batch_id: str, zone: str = "raw", pattern: str | None = None,
                 excludes: list[str] | None = None, poll_seconds: float = 10.0, min_files: int | None = None,
                 quiet_seconds: float = 10.0, max_wait_seconds: float | None = 300.0, max_files: int = 1000,
                 max_failures: int = 3, max_backoff_seconds: float = 300.0) -> None:
        super().__init__()
        self.kwargs = _watch_kwargs(zone, prefix, scope, pattern, excludes, None, poll_seconds, min_files,
                                    quiet_seconds, max_wait_seconds, max_files, max_failures, max_backoff_seconds)
        self.batch_id = batch_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {k: v for k, v in self.kwargs.items() if k != "tables"}
        return (f"{MODULE}.NewObjectsTrigger", {**kwargs, "batch_id": self.batch_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from lakeglue.events.watch import Batch

        failures = 0
        while True:
            try:
                watcher = await asyncio.to_thread(build_watcher, self.kwargs)
                already = await asyncio.to_thread(watcher.claims.batch, self.kwargs["scope"], self.batch_id)
                break
            except Exception as exc:  # settings or catalog DB: retried with back-off, then the task is told
                failures += 1
                delay, payload = startup_failure(self.kwargs, exc, failures)
                if payload is not None:
                    yield TriggerEvent(payload)
                    return
                await asyncio.sleep(delay)
        scope, url = self.kwargs["scope"], watcher.location.url()
        if already:  # claimed before a triggerer restart: the same objects, nothing more
            yield TriggerEvent(success_payload(scope, url, already, batch_id=self.batch_id))
            return
        claim = functools.partial(watcher.claims.claim, scope, batch_id=self.batch_id)
        async with contextlib.aclosing(watcher.batches(claim)) as items:  # one event, then the watch is closed
            async for item in items:
                if isinstance(item, Batch):
                    yield TriggerEvent(success_payload(scope, url, item.objects, batch_id=self.batch_id))
                else:
                    yield TriggerEvent(error_payload(scope, item))
                return


SQS_TRIGGER = "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"


class SqsNotificationTrigger(BaseEventTrigger):
    """S3 event notifications on SQS, for an ``AssetWatcher``: the Amazon provider's SQS trigger.

    ``MessageQueueTrigger(scheme="sqs")`` (common-messaging provider) is stored as the Amazon
    provider's ``SqsSensorTrigger``; this class is stored the same way, so the triggerer runs the
    provider's code either way. It exists because both provider classes import boto3 (about
    1 s) when a DAG file is parsed; this one imports it only in ``run()``.
    """

    def __init__(self, *, sqs_queue: str, aws_conn_id: str = "aws_default", waiter_delay: float = 5.0,
                 max_messages: int = 10, wait_time_seconds: int = 1, region_name: str | None = None) -> None:
        super().__init__()
        self.kwargs: dict[str, Any] = {"sqs_queue": sqs_queue, "aws_conn_id": aws_conn_id,
                                       "waiter_delay": waiter_delay, "max_messages": max_messages,
                                       "wait_time_seconds": wait_time_seconds}
        if region_name:
            self.kwargs["region_name"] = region_name

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (SQS_TRIGGER, dict(self.kwargs))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger

        async for event in SqsSensorTrigger(**self.kwargs).run():
            yield event
