"""List the objects under a watched prefix: local disk (in a thread) or S3 (async).

Triggers run inside the triggerer's event loop next to every other trigger, so S3 is
listed with aiobotocore's async paginator rather than a blocking client; local disk has no
async API and is listed by ``os.scandir`` in a worker thread. Both return the same
:class:`ObjectInfo` records, with paths in the form the Lake and the ingestion ledger use.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from lakeglue.crawler.names import sanitize_name
from lakeglue.events.objects import ObjectInfo
from lakeglue.settings import ZONES, Settings
from lakeglue.storage.zones import DEFAULT_EXCLUDES, is_excluded


class ListingError(RuntimeError):
    """Listing a watched location failed; the message names the location and the cause."""


@dataclass(frozen=True)
class Selection:
    """Which listed objects count: a glob, litter excludes, and (for a pipeline) its table folders.

    Patterns match the path relative to the watched prefix (``*`` crosses ``/``; ``**/x``
    also matches ``x`` at the top), the same rule the crawler's excludes follow.
    """

    pattern: str | None = None
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES
    #: Only files inside these table folders (crawler-sanitised names); files directly in the
    #: prefix are not tables and are never announced.
    tables: tuple[str, ...] | None = None

    def matches(self, relative: str) -> bool:
        if is_excluded(relative, self.excludes):
            return False
        if self.pattern and not is_excluded(relative, (self.pattern,)):
            return False
        if self.tables is not None:
            head, sep, _ = relative.partition("/")
            if not sep or sanitize_name(head) not in self.tables:
                return False
        return True

    def table_of(self, relative: str) -> str | None:
        head, sep, _ = relative.partition("/")
        return sanitize_name(head) if sep else None


@dataclass(frozen=True)
class Location:
    """A watched prefix of one lake zone, resolved against the lake root of the settings."""

    settings: Settings
    zone: str
    prefix: str
    selection: Selection = field(default_factory=Selection)

    def __post_init__(self) -> None:
        if self.zone not in ZONES:
            raise ValueError(f"unknown zone {self.zone!r}; zones are {', '.join(ZONES)}")

    @property
    def is_s3(self) -> bool:
        return self.settings.lake_root.startswith(("s3://", "s3a://"))

    @property
    def root(self) -> str:
        """fsspec path of the prefix: ``/abs/lake/raw/x`` or ``bucket/lake/raw/x``."""
        root = self.settings.lake_root
        base = root.split("://", 1)[1] if self.is_s3 else root.removeprefix("file://")
        parts = [p.strip("/") for p in (self.zone, self.prefix) if p.strip("/")]
        return posixpath.join(base.rstrip("/"), *parts)

    def url(self) -> str:
        return f"s3://{self.root}" if self.is_s3 else self.root

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.root)

    async def list(self) -> list[ObjectInfo]:
        """Every selected object under the prefix, sorted by path; raises :class:`ListingError`."""
        async with self.lister() as lister:
            return await lister.list()

    @contextlib.asynccontextmanager
    async def lister(self) -> AsyncIterator[Lister]:
        """A lister for repeated polls: on S3 it keeps one client (and its connections) open."""
        if not self.is_s3:
            yield Lister(self, None)
            return
        from aiobotocore.session import get_session

        settings = self.settings
        async with get_session().create_client("s3", region_name=settings.aws_region,
                                               endpoint_url=settings.aws_endpoint_url or None) as client:
            yield Lister(self, client)


class Lister:
    def __init__(self, location: Location, s3_client: Any) -> None:
        self.location = location
        self.s3_client = s3_client

    async def list(self) -> list[ObjectInfo]:
        location = self.location
        try:
            if self.s3_client is None:
                found = await asyncio.to_thread(_list_local, location.root)
            else:
                found = await _list_s3(self.s3_client, location.root)
        except ListingError:
            raise
        except Exception as exc:  # botocore/OS errors differ by backend; the caller needs one type + the place
            raise ListingError(f"listing {location.url()} failed: {type(exc).__name__}: {exc}") from exc
        return sorted(o for o in found if location.selection.matches(location.relative(o.path)))


def _list_local(root: str) -> list[ObjectInfo]:
    if not os.path.isdir(root):
        if os.path.exists(root):
            raise ListingError(f"listing {root} failed: it is a file, not a directory")
        return []  # a prefix nobody wrote to yet is empty, not an error
    found: list[ObjectInfo] = []
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    found.append(ObjectInfo(path=entry.path, size=st.st_size, mtime=st.st_mtime))
    return found


async def _list_s3(client: Any, root: str) -> list[ObjectInfo]:
    bucket, _, key_prefix = root.partition("/")
    key_prefix = key_prefix.rstrip("/") + "/" if key_prefix else ""
    found: list[ObjectInfo] = []
    paginator = client.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith("/"):
                continue  # zero-byte "folder" markers some tools write
            found.append(ObjectInfo(path=f"{bucket}/{key}", size=int(item["Size"]),
                                    mtime=item["LastModified"].timestamp(), etag=str(item.get("ETag", "")).strip('"')))
    return found
