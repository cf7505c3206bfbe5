"""The ``crawl`` task of an event-driven run: claim the announced objects, crawl, hand them to bronze.

It is the consuming end of the watcher (:mod:`lakeglue_airflow.triggers.new_objects`) and of
S3 notifications on SQS: the events that started the run name objects, this task claims them
for the run's batch (see :mod:`lakeglue.events.intake`), runs the normal crawl, then gives
exactly those files to the run's bronze batch in the ingestion ledger. Keeping the task id
``crawl`` means scheduled and event-driven DAGs have the same shape.
"""

from __future__ import annotations

from typing import Any

from lakeglue_airflow.operators.crawler import LakeCrawlerOperator


def triggering_payloads(context: Any) -> list[dict[str, Any]]:
    """Payloads of the trigger-made asset events that started this run (none for a manual run)."""
    events = context.get("triggering_asset_events") or {}
    payloads: list[dict[str, Any]] = []
    for asset in events:
        for event in events[asset]:
            extra = event.extra or {}
            if extra.get("from_trigger") and extra.get("payload") is not None:
                payloads.append(extra["payload"])
    return payloads


class EventIntakeOperator(LakeCrawlerOperator):
    """Crawl like :class:`LakeCrawlerOperator`, bracketed by the exactly-once claims of an event run."""

    ui_color = "#cfe8d5"

    def execute(self, context: Any) -> dict[str, Any]:
        from lakeglue.events.claims import ClaimStore
        from lakeglue.events.intake import claim_for_run, pipeline_location, preclaim_ledger, read_event_payloads
        from lakeglue.jobs.batches import batch_id_from_run_id
        from lakeglue.ledger import Ledger
        from lakeglue.pipelines import load_pipeline
        from lakeglue.settings import get_settings

        if self.pipeline is None:
            raise ValueError(f"{self.task_id}: an event run's intake needs pipeline= (whose raw files it claims)")
        settings = get_settings()
        spec = load_pipeline(self.pipeline)
        location = pipeline_location(spec, settings)
        batch_id = batch_id_from_run_id(str(context["run_id"]))
        events = read_event_payloads(triggering_payloads(context))
        for error in events.errors:
            self.log.error("the watcher reported: %s", error)
        if events.errors and not events.objects:
            raise RuntimeError(f"event run {context['run_id']} was started by watch failures only: "
                               + "; ".join(events.errors))
        claimed, not_ours = claim_for_run(ClaimStore(settings.catalog_url), spec, location, events, batch_id)
        self.log.info("batch %s: %d events announced %d objects; claimed %d", batch_id, events.events,
                      len(events.objects), len(claimed))
        for o in not_ours:
            self.log.info("not claimed by this run (another run has it, or outside the pipeline's tables): %s",
                          o.path)
        result = super().execute(context)
        held = preclaim_ledger(Ledger(settings.catalog_url), spec, location, claimed, batch_id)
        missing = sorted({o.path for o in claimed} - {p for paths in held.values() for p in paths})
        for path in missing:
            self.log.warning("claimed %s, but the ingestion ledger gave it to another batch or never saw it", path)
        return {**result, "batch_id": batch_id, "events": events.events, "announced": len(events.objects),
                "claimed": [o.to_dict() for o in claimed], "ledger_batch": held}
