"""Batch ids: one per pipeline run, stable across retries of that run.

The id is derived from the orchestrator's run id, so a retried task claims the same
ledger entries and overwrites the same partitions instead of adding duplicates.
"""

from __future__ import annotations

import re

from lakeglue.storage.paths import check_name

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def batch_id_from_run_id(run_id: str) -> str:
    """A path-safe batch id (Hadoop paths reject ``:``); readable, deterministic."""
    cleaned = _UNSAFE.sub("_", run_id).strip("_-")
    if not cleaned:
        raise ValueError(f"run id {run_id!r} has no usable characters for a batch id")
    return check_name(cleaned[:120], "batch id", f"run id {run_id!r}")  # the guard every path name passes


def partition_value_from_path(path: str, key: str) -> str | None:
    """Value of hive partition ``key`` in a file path (``…/dt=2026-11-01/f.json`` → ``2026-11-01``)."""
    match = re.search(rf"/{re.escape(key)}=([^/]+)/", path)
    return match.group(1) if match else None
