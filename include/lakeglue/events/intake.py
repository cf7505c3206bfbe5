"""The consuming half of an event-driven run: claim the announced objects, then hand them to bronze.

A pipeline's event run starts from Airflow asset events whose payloads came from lakeglue's
watcher (``{"status": "success", "objects": [...]}``), from S3 notifications through SQS
(``{"message_batch": [...]}``) or report a failed watch (``{"status": "error"}``). The run:

1. claims the announced objects for its batch in the event-claim table (a duplicate event
   or a re-delivered notification finds them taken and claims nothing),
2. crawls (the crawler records every raw file in the ingestion ledger), then
3. pre-claims exactly its objects in the ingestion ledger under the same batch id, so the
   bronze job — which keeps a batch's earlier claim on a retry — reads those files.

Both claims are single SQL transactions keyed by the run's batch id, so a retried task gets
the same objects back and a second run never gets them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakeglue.events.listing import Location, Selection
from lakeglue.events.notifications import objects_from_sqs_messages
from lakeglue.events.objects import ObjectInfo, PayloadError
from lakeglue.settings import Settings
from lakeglue.storage.zones import DEFAULT_EXCLUDES

if TYPE_CHECKING:
    from lakeglue.events.claims import ClaimStore
    from lakeglue.ledger import Ledger
    from lakeglue.pipelines.spec import PipelineSpec


@dataclass
class EventBatch:
    """What a run's triggering events announced, merged (Airflow may hand a run several events)."""

    objects: list[ObjectInfo] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events: int = 0


def read_event_payloads(payloads: Iterable[Mapping[str, Any] | None]) -> EventBatch:
    found: dict[tuple[str, str], ObjectInfo] = {}
    batch = EventBatch()
    for i, payload in enumerate(payloads):
        if payload is None:
            continue
        batch.events += 1
        if not isinstance(payload, Mapping):
            raise PayloadError(f"event {i}: payload is {type(payload).__name__}, expected an object")
        if payload.get("status") == "error":
            batch.errors.append(f"{payload.get('location', '?')}: {payload.get('error', 'unknown error')} "
                                f"({payload.get('failures', '?')} failures in a row)")
            continue
        if "message_batch" in payload:
            objects = objects_from_sqs_messages(payload["message_batch"] or [])
        elif "objects" in payload:
            objects = [ObjectInfo.from_dict(o, f"event {i}") for o in payload["objects"] or []]
        else:
            raise PayloadError(f"event {i}: payload has neither 'objects' nor 'message_batch': "
                               f"keys {sorted(payload)}")
        for o in objects:
            found.setdefault(o.key, o)
    batch.objects = sorted(found.values())
    return batch


def pipeline_selection(spec: PipelineSpec) -> Selection:
    """The crawler's view of a pipeline's raw files: its excludes, its bronze tables' folders."""
    return Selection(excludes=tuple(spec.source.excludes) + DEFAULT_EXCLUDES, tables=tuple(sorted(spec.bronze)))


def pipeline_location(spec: PipelineSpec, settings: Settings) -> Location:
    return Location(settings, spec.source.zone, spec.source.prefix, pipeline_selection(spec))


def pipeline_scope(spec: PipelineSpec) -> str:
    """Claim scope of a pipeline's event runs (sensors default to ``<zone>/<prefix>``)."""
    return spec.name


def split_by_source(spec: PipelineSpec, location: Location, objects: Iterable[ObjectInfo]
                    ) -> tuple[dict[str, list[ObjectInfo]], list[ObjectInfo]]:
    """Objects per ingestion-ledger source (``<pipeline>/<table>``), and those outside every table."""
    by_source: dict[str, list[ObjectInfo]] = {}
    outside: list[ObjectInfo] = []
    root = location.root.rstrip("/") + "/"
    for o in objects:
        relative = o.path[len(root):] if o.path.startswith(root) else None
        if relative is None or not location.selection.matches(relative):
            outside.append(o)
            continue
        table = location.selection.table_of(relative)
        assert table is not None  # matches() requires a table folder
        by_source.setdefault(spec.source_key(table), []).append(o)
    return by_source, outside


def claim_for_run(store: ClaimStore, spec: PipelineSpec, location: Location, batch: EventBatch,
                  batch_id: str) -> tuple[list[ObjectInfo], list[ObjectInfo]]:
    """Claim the run's announced objects; returns (claimed by this batch, announced but not ours)."""
    by_source, outside = split_by_source(spec, location, batch.objects)
    candidates = [o for objects in by_source.values() for o in objects]
    claimed = store.claim(pipeline_scope(spec), candidates, batch_id)
    mine = {o.key for o in claimed}
    return claimed, outside + [o for o in candidates if o.key not in mine]


def preclaim_ledger(ledger: Ledger, spec: PipelineSpec, location: Location, claimed: list[ObjectInfo],
                    batch_id: str) -> dict[str, list[str]]:
    """After the crawl: give the run's claimed files to its bronze batch in the ingestion ledger.

    Returns the ledger paths the batch holds per source. Sources without event objects are
    left alone: bronze then takes what the ledger has as new there (a file that landed after
    the announcement), which the watcher consequently never announces again.
    """
    by_source, _ = split_by_source(spec, location, claimed)
    held: dict[str, list[str]] = {}
    for source, objects in sorted(by_source.items()):
        entries = ledger.claim(source, batch_id, paths=[o.path for o in objects])
        held[source] = [e.path for e in entries]
    return held
