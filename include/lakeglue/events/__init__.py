"""New-object detection and exactly-once claiming for event-driven pipelines.

- :mod:`~.objects` — :class:`ObjectInfo` (path, size, mtime, etag) and its JSON form
- :mod:`~.listing` — local (thread) and S3 (aiobotocore, async) listing of a lake prefix
- :mod:`~.batching` — ``min_files`` / quiet period / max wait: one run per burst
- :mod:`~.claims` — the ``lg_event_claims`` table: atomic announce / claim per batch
- :mod:`~.watch` — the detection loop both Airflow triggers run, with back-off
- :mod:`~.notifications` — S3 event notifications delivered by SQS
- :mod:`~.intake` — what an event-driven run does with its events before bronze

Nothing here imports Airflow; ``lakeglue_airflow.triggers`` and ``.sensors`` wrap it.
"""

from lakeglue.events.objects import ObjectInfo, PayloadError

__all__ = ["ObjectInfo", "PayloadError"]
