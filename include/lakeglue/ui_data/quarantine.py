"""A table's quarantine: counts by reason and the newest records.

Jobs write rejected records as JSON lines under ``quarantine/<pipeline>/<layer>/<table>/``
and the quality gate under ``quarantine/<pipeline>/quality/<db.table>/``
(:mod:`lakeglue.jobs.quarantine`); the pipeline specs say which catalog database is which
pipeline's layer, which is how a table finds its folders.
"""

from __future__ import annotations

import json
import posixpath
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lakeglue.pipelines.spec import PipelineSpec
from lakeglue.storage.zones import Lake

#: Newest records shown on the table page.
NEWEST_SHOWN = 20
#: Records read at most per table (counts say when they stopped there).
READ_LIMIT = 100_000
LAYERS = ("bronze", "silver", "gold")


@dataclass
class QuarantineSummary:
    folders: list[str] = field(default_factory=list)
    total: int = 0
    by_reason: list[tuple[str, int]] = field(default_factory=list)
    newest: list[dict[str, Any]] = field(default_factory=list)
    #: True when READ_LIMIT records were read and more were left unread.
    capped: bool = False


def quarantine_folders(lake: Lake, specs: list[PipelineSpec], database: str, table: str) -> list[str]:
    folders = []
    for spec in specs:
        for layer in LAYERS:
            if spec.database_for(layer) == database:
                folders.append(lake.path("quarantine", spec.name, layer, table))
                folders.append(lake.path("quarantine", spec.name, "quality", f"{database}.{table}"))
    return folders


def quarantine_summary(lake: Lake, specs: list[PipelineSpec], database: str, table: str) -> QuarantineSummary:
    summary = QuarantineSummary(folders=[lake.uri(f) for f in quarantine_folders(lake, specs, database, table)])
    files: list[tuple[float, str]] = []
    for folder in quarantine_folders(lake, specs, database, table):
        if not lake.fs.exists(folder):
            continue
        for name, info in lake.fs.find(folder, detail=True).items():
            if posixpath.basename(name).startswith(("_", ".")) or info.get("type") == "directory":
                continue
            files.append((_mtime(info), name))
    reasons: Counter[str] = Counter()
    newest: list[dict[str, Any]] = []
    for _, name in sorted(files, reverse=True):  # newest files first
        for line in lake.read_text(name).splitlines():
            if not line.strip():
                continue
            if summary.total >= READ_LIMIT:
                summary.capped = True
                break
            record = json.loads(line)
            summary.total += 1
            reasons[str(record.get("reason", ""))] += 1
            if len(newest) < NEWEST_SHOWN:
                newest.append(record)
    summary.by_reason = reasons.most_common()
    summary.newest = newest
    return summary


def _mtime(info: dict[str, Any]) -> float:
    value = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
    return value.timestamp() if hasattr(value, "timestamp") else float(value)
