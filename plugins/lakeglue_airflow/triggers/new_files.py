"""Event trigger: fires when files that the ingestion ledger has never seen land in a raw prefix.

Used by an ``AssetWatcher`` so a pipeline's event DAG runs when data arrives. It only
*announces*; the run's crawler records the files and bronze claims them through the
ledger, so a re-announcement (e.g. after a triggerer restart) finds nothing new to do.
Files are announced once they have been quiet (unchanged) for ``quiet_seconds``, so a
burst of uploads becomes one event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent


def _unseen_files(pipeline: str, prefix: str, excludes: list[str]) -> dict[str, tuple[int, float]]:
    """Files under ``raw/<prefix>`` not yet in the ledger (blocking: runs in a thread)."""
    from lakeglue.ledger import Ledger
    from lakeglue.settings import get_settings
    from lakeglue.storage import Lake

    settings = get_settings()
    lake = Lake(settings)
    root = lake.path("raw", prefix)
    files = lake.list_files(root, excludes)
    known: set[str] = set()
    ledger = Ledger(settings.catalog_url)
    for table in {f.path[len(root) + 1:].split("/", 1)[0] for f in files}:
        known.update(e.path for e in ledger.entries(f"{pipeline}/{table}"))
    return {f.path: (f.size, f.mtime) for f in files if f.path not in known}


class NewRawFilesTrigger(BaseEventTrigger):
    def __init__(self, pipeline: str, prefix: str, excludes: list[str] | None = None,
                 poll_seconds: float = 10.0, quiet_seconds: float = 0.0) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.prefix = prefix
        self.excludes = list(excludes or [])
        self.poll_seconds = poll_seconds
        self.quiet_seconds = quiet_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("lakeglue_airflow.triggers.new_files.NewRawFilesTrigger",
                {"pipeline": self.pipeline, "prefix": self.prefix, "excludes": self.excludes,
                 "poll_seconds": self.poll_seconds, "quiet_seconds": self.quiet_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        announced: set[str] = set()
        previous: dict[str, tuple[int, float]] = {}
        while True:
            try:
                unseen = await asyncio.to_thread(_unseen_files, self.pipeline, self.prefix, self.excludes)
            except Exception as exc:  # listing failures are reported, not fatal
                yield TriggerEvent({"status": "error", "pipeline": self.pipeline, "error": repr(exc)})
                await asyncio.sleep(self.poll_seconds)
                continue
            fresh = {p: s for p, s in unseen.items() if p not in announced}
            settled = not self.quiet_seconds or all(previous.get(p) == s for p, s in fresh.items())
            if fresh and settled:
                announced.update(fresh)
                yield TriggerEvent({"status": "success", "pipeline": self.pipeline,
                                    "files": sorted(fresh), "count": len(fresh)})
            previous = unseen
            await asyncio.sleep(self.quiet_seconds if fresh and not settled else self.poll_seconds)
