"""Lifecycle rules: staging and temporary data expire, as S3 lifecycle rules would do.

Uncommitted attempts (``staging/tmp``) and table versions superseded by a newer commit are
removed once older than ``staging_ttl_days``; the directory a catalog table points to is
never touched, whatever its age.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from lakeglue.storage.zones import Lake, _mtime


@dataclass(frozen=True)
class ExpiredItem:
    path: str
    age_days: float


def expire_staging(lake: Lake, older_than_days: float | None = None, now: float | None = None,
                   dry_run: bool = False) -> list[ExpiredItem]:
    """Delete staging attempts older than the TTL; returns what was (or would be) removed."""
    ttl = lake.settings.staging_ttl_days if older_than_days is None else older_than_days
    now = time.time() if now is None else now
    root = lake.path("staging", "tmp")
    if not lake.fs.exists(root):
        return []
    expired: list[ExpiredItem] = []
    for purpose in lake.fs.ls(root, detail=False):
        for attempt in lake.fs.ls(purpose, detail=False):
            age = (now - newest_mtime(lake, attempt)) / 86400
            if age >= ttl:
                expired.append(ExpiredItem(attempt, round(age, 3)))
    if not dry_run:
        for item in expired:
            lake.fs.rm(item.path, recursive=True)
    return expired


def expire_superseded(lake: Lake, table_root: str, live_locations: Iterable[str],
                      older_than_days: float | None = None, now: float | None = None) -> list[ExpiredItem]:
    """Remove old version directories under ``table_root`` that no catalog entry points into.

    A live location protects the version directory it is in: a bronze partition lives at
    ``a-<token>/batch=<id>``, so its attempt directory is live although no location equals it.
    (Retention over the whole catalog, with pins: :mod:`lakeglue.storage.retention`.)
    """
    ttl = lake.settings.staging_ttl_days if older_than_days is None else older_than_days
    now = time.time() if now is None else now
    live = {lake.local_path(loc).rstrip("/") for loc in live_locations}
    if not lake.fs.exists(table_root):
        return []
    removed: list[ExpiredItem] = []
    for child in lake.fs.ls(table_root, detail=False):
        name = child.rstrip("/")
        if any(loc == name or loc.startswith(name + "/") for loc in live) \
                or not name.rsplit("/", 1)[-1].startswith(("v-", "a-")):
            continue
        age = (now - newest_mtime(lake, child)) / 86400
        if age >= ttl:
            lake.fs.rm(child, recursive=True)
            removed.append(ExpiredItem(child, round(age, 3)))
    return removed


def newest_mtime(lake: Lake, path: str) -> float:
    """Newest modification time of anything under ``path`` (object stores report ``LastModified``)."""
    infos = lake.fs.find(path, detail=True, withdirs=True)
    stamps = [_mtime(i) for i in infos.values() if i.get("type") != "directory" or _mtime(i)]
    return max(stamps or [_mtime(lake.fs.info(path))])
