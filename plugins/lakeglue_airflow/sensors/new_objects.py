"""``NewObjectsSensor``: wait for new objects in a lake prefix, claim them, return them.

Pokes once (a batch may already be waiting), then defers to
:class:`~lakeglue_airflow.triggers.new_objects.NewObjectsTrigger`, which frees the worker
slot while it waits. The objects are claimed for this task instance's batch in the event-claim
table, so two sensors on one prefix (overlapping runs) split the objects instead of both
taking them, and a retry returns what the first attempt claimed. The XCom value is the list of
``{"path", "size", "mtime", "etag"}`` claimed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException

from lakeglue_airflow.triggers.new_objects import NewObjectsTrigger, build_watcher


class NewObjectsSensor(BaseSensorOperator):
    """Succeeds with the new objects under ``<zone>/<prefix>`` matching ``pattern``.

    A batch is ready when ``min_files`` objects wait, or when nothing changed for
    ``quiet_period`` (so a burst of uploads is one batch), or after ``max_batch_wait``.
    ``scope`` names the claim namespace: sensors sharing it never return the same object
    (default ``<zone>/<prefix>``; give each consumer its own scope to fan out).
    """

    template_fields: Sequence[str] = ("prefix", "pattern", "scope")
    ui_color = "#e8f4d9"

    def __init__(self, *, prefix: str, zone: str = "raw", pattern: str | None = None, min_files: int | None = None,
                 quiet_period: timedelta | float = 10.0, max_batch_wait: timedelta | float | None = 300.0,
                 max_files: int = 1000, excludes: list[str] | None = None, scope: str | None = None,
                 max_failures: int = 3, poke_interval: timedelta | float = 10.0, **kwargs: Any) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.prefix = prefix
        self.zone = zone
        self.pattern = pattern
        self.min_files = min_files
        self.quiet_period = _seconds(quiet_period)
        self.max_batch_wait = None if max_batch_wait is None else _seconds(max_batch_wait)
        self.max_files = max_files
        self.excludes = excludes
        self.scope = scope
        self.max_failures = max_failures

    def _trigger(self, batch_id: str) -> NewObjectsTrigger:
        return NewObjectsTrigger(prefix=self.prefix, zone=self.zone, scope=self.scope or f"{self.zone}/{self.prefix}",
                                 batch_id=batch_id, pattern=self.pattern, excludes=self.excludes,
                                 poll_seconds=self.poke_interval, min_files=self.min_files,
                                 quiet_seconds=self.quiet_period, max_wait_seconds=self.max_batch_wait,
                                 max_files=self.max_files, max_failures=self.max_failures)

    def execute(self, context: Any) -> list[dict[str, Any]]:
        from lakeglue.events.batching import Batcher
        from lakeglue.events.claims import task_batch_id

        ti = context["ti"]
        batch_id = task_batch_id(self.dag_id, self.task_id, str(context["run_id"]), getattr(ti, "map_index", -1))
        trigger = self._trigger(batch_id)
        kwargs = trigger.serialize()[1]
        watcher = build_watcher({**kwargs, "tables": None})
        scope = kwargs["scope"]
        claimed = watcher.claims.batch(scope, batch_id)  # a retry: exactly what the first attempt claimed
        if not claimed:
            ready = Batcher(watcher.policy).observe(asyncio.run(watcher.waiting()), time.monotonic())
            claimed = watcher.claims.claim(scope, ready, batch_id) if ready else []
        if claimed:
            self.log.info("claimed %d objects under %s for batch %s", len(claimed), watcher.location.url(), batch_id)
            return [o.to_dict() for o in claimed]
        self.log.info("no batch ready under %s yet; deferring (batch %s)", watcher.location.url(), batch_id)
        self.defer(trigger=trigger, method_name="execute_complete",
                   timeout=timedelta(seconds=self.timeout) if self.timeout else None)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if not event or event.get("status") != "success":
            detail = (event or {}).get("error", "no event")
            raise AirflowException(f"watching {(event or {}).get('location', self.prefix)} failed "
                                   f"{(event or {}).get('failures', '?')} times in a row: {detail}")
        self.log.info("claimed %d objects (%d bytes) for batch %s", event["count"], event["bytes"], event["batch_id"])
        return list(event["objects"])


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
