"""The Asset watchers of a pipeline's event-driven DAG, from the ``events:`` section of its spec.

``poll``: one :class:`NewObjectsEventTrigger` on the raw prefix. ``sqs``: the Amazon provider's
SQS (message-queue) trigger on the notification queue, plus the same listing trigger every ``reconcile_seconds``
as a safety net — the SQS trigger deletes messages when it receives them, so a triggerer
dying right then would otherwise lose those objects. Both routes end in the same claim, so
an object seen by both is still processed once.
"""

from __future__ import annotations

from airflow.sdk import AssetWatcher

from lakeglue.events.intake import pipeline_scope
from lakeglue.pipelines.spec import PipelineSpec
from lakeglue_airflow.triggers.new_objects import NewObjectsEventTrigger, SqsNotificationTrigger


def listing_trigger(spec: PipelineSpec, poll_seconds: float) -> NewObjectsEventTrigger:
    events = spec.events
    return NewObjectsEventTrigger(prefix=spec.source.prefix, zone=spec.source.zone, scope=pipeline_scope(spec),
                                  excludes=list(spec.source.excludes), tables=sorted(spec.bronze), pipeline=spec.name,
                                  poll_seconds=poll_seconds, min_files=events.min_files,
                                  quiet_seconds=events.quiet_seconds, max_wait_seconds=events.max_wait_seconds,
                                  max_files=events.max_files, reannounce_after_seconds=events.reannounce_after_seconds)


def pipeline_watchers(spec: PipelineSpec) -> list[AssetWatcher]:
    events = spec.events
    if events.mode == "poll":
        return [AssetWatcher(name=f"{spec.name}_new_raw_files", trigger=listing_trigger(spec, events.poll_seconds))]
    assert events.queue_url is not None  # the spec validator requires it for sqs
    watchers = [AssetWatcher(name=f"{spec.name}_s3_notifications",
                             trigger=SqsNotificationTrigger(sqs_queue=events.queue_url, aws_conn_id=events.aws_conn_id,
                                                            waiter_delay=events.poll_seconds))]
    if events.reconcile_seconds:
        watchers.append(AssetWatcher(name=f"{spec.name}_new_raw_files",
                                     trigger=listing_trigger(spec, events.reconcile_seconds)))
    return watchers
