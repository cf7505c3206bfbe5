"""Where bytes live: one :class:`Lake` object hides local disk vs. S3 behind fsspec.

Paths handed out are *fsspec paths* (no protocol for local disk, ``bucket/key`` for S3);
:meth:`Lake.uri` turns them into URLs for engines (Spark, DuckDB) that need a scheme.
"""

from __future__ import annotations

import fnmatch
import posixpath
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fsspec

from lakeglue.settings import ZONES, Settings, get_settings
from lakeglue.storage.paths import UnsafePathError, check_subpath, ensure_inside

#: Files no crawler or job should ever treat as data (Glue's defaults plus Spark/Hadoop litter).
DEFAULT_EXCLUDES = ("**/_SUCCESS", "**/_temporary/**", "**/*.crc", "**/.*", "**/_*")


@dataclass(frozen=True)
class FileInfo:
    """One object in a zone: enough to decide whether it is new or changed (the ledger key)."""

    path: str
    size: int
    mtime: float

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


def is_excluded(relative_path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Glob match on a path relative to the listing root; ``**/x`` also matches ``x`` at top level."""
    rel = relative_path.lstrip("/")
    parts = rel.split("/")
    for pattern in patterns:
        if fnmatch.fnmatch(rel, pattern):
            return True
        if pattern.startswith("**/"):
            tail = pattern[3:]
            if fnmatch.fnmatch(rel, tail) or any(fnmatch.fnmatch(p, tail) for p in parts):
                return True
            if tail.endswith("/**") and any(fnmatch.fnmatch(p, tail[:-3]) for p in parts[:-1]):
                return True
    return False


def _mtime(info: dict[str, Any]) -> float:
    value = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class Lake:
    """The zones of one lake and the file operations stages need."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        fs, root = fsspec.core.url_to_fs(self.settings.lake_root, **storage_options(self.settings))
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self.protocol = "file" if protocol in ("file", "local") else protocol

    # -- paths -----------------------------------------------------------------------------
    def path(self, zone: str, *parts: str) -> str:
        """fsspec path of ``parts`` inside ``zone``.

        Each part may be a sub-path relative to the zone (``landing/orders``; a leading ``/`` means the
        zone's root, as before); URLs, ``..`` and ``.`` parts are refused
        (:class:`~lakeglue.storage.paths.UnsafePathError`), and the joined path is checked to lie inside
        the zone, so no name that reaches a path can make it point outside its zone.
        """
        if zone not in ZONES:
            raise ValueError(f"unknown zone {zone!r}; zones are {', '.join(ZONES)}")
        clean = [seg for p in parts if p
                 for seg in check_subpath(p, f"path part of the {zone} zone", zone_relative=True)]
        return ensure_inside(self.zone_path(zone), posixpath.join(self.root, zone, *clean), f"{zone} path")

    def zone_path(self, zone: str) -> str:
        """fsspec path of a zone's root folder."""
        return posixpath.join(self.root, zone)

    def check_inside(self, path: str, *zones: str) -> str:
        """``path`` if it lies inside one of ``zones`` of this lake (default: any zone); else UnsafePathError."""
        allowed = zones or ZONES
        for zone in allowed:
            try:
                return ensure_inside(self.zone_path(zone), path)
            except UnsafePathError:
                continue
        raise UnsafePathError(f"path {path!r} is outside the {' / '.join(allowed)} zone(s) of the lake at "
                              f"{self.root}")

    def uri(self, path: str) -> str:
        """URL form of an fsspec path, for Spark/DuckDB (``file:///…`` or ``s3://…``)."""
        if "://" in path:
            return path
        if self.protocol == "file":
            return "file://" + path
        return f"{self.protocol}://{path}"

    def local_path(self, path_or_uri: str) -> str:
        """Strip ``file://`` so local engines get a plain path."""
        return path_or_uri.removeprefix("file://")

    def fs_path(self, path_or_uri: str) -> str:
        """The fsspec path of a lake URL (``s3://b/k`` → ``b/k``, ``file:///x`` → ``/x``)."""
        if "://" not in path_or_uri:
            return path_or_uri
        return str(self.fs._strip_protocol(path_or_uri))

    def engine_path(self, path_or_uri: str) -> str:
        """What an engine reading files by name (DuckDB, pyarrow) opens: a plain path on local disk,
        the URL (``s3://bucket/key``) on object storage."""
        if self.protocol == "file":
            return self.local_path(path_or_uri)
        return self.uri(self.fs_path(path_or_uri))

    def ensure_zones(self) -> None:
        for zone in ZONES:
            self.fs.makedirs(self.path(zone), exist_ok=True)

    # -- listing ---------------------------------------------------------------------------
    def list_files(self, root: str, excludes: tuple[str, ...] | list[str] = DEFAULT_EXCLUDES) -> list[FileInfo]:
        """All data files under ``root`` (recursively), litter excluded, sorted by path."""
        if not self.fs.exists(root):
            return []
        found = self.fs.find(root, detail=True)
        files = []
        for path, info in found.items():
            if info.get("type") == "directory":
                continue
            rel = posixpath.relpath(path, root)
            if is_excluded(rel, excludes):
                continue
            files.append(FileInfo(path=path, size=int(info.get("size") or 0), mtime=_mtime(info)))
        return sorted(files, key=lambda f: f.path)

    # -- atomic writes ---------------------------------------------------------------------
    def new_staging_path(self, purpose: str) -> str:
        """A fresh, unique directory in the staging zone for one attempt of one write."""
        token = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        return self.path("staging", "tmp", purpose, token)

    def commit(self, staged: str, final: str) -> None:
        """Move a fully written staging directory to its final place.

        ``final`` must not exist: every commit goes to a fresh versioned directory and the
        catalog is switched to it afterwards, so readers never see a half-written table.
        """
        self.check_inside(staged, "staging")
        self.check_inside(final, *(z for z in ZONES if z != "staging"))
        if self.fs.exists(final):
            raise FileExistsError(f"refusing to commit over existing data at {final}")
        self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
        if self.protocol == "file":
            self.fs.mv(staged, final, recursive=True)  # one rename
            return
        # Object stores have no rename: copy every object, then drop the staged ones. Readers find the
        # new version only through the catalog swap that follows, so they never see it half-copied.
        if self.fs.isfile(staged):  # one staged object becomes one final object
            self.fs.copy(staged, final)
            self.fs.rm(staged)
            return
        objects = self.fs.find(staged)  # none for an empty output: the new version is then empty too
        for path in objects:
            self.fs.copy(path, posixpath.join(final, posixpath.relpath(path, staged)))
        if objects:
            self.fs.rm(objects)

    def link_tree(self, source: str, target: str) -> int:
        """Make ``target`` hold the files of ``source`` without rewriting them.

        Used by copy-on-write commits: unchanged partitions of a table are carried into its
        new version. Local disk uses hard links (no bytes copied); object stores copy.
        """
        self.check_inside(target)
        count = 0
        for path in self.fs.find(source):
            dest = posixpath.join(target, posixpath.relpath(path, source))
            self.fs.makedirs(posixpath.dirname(dest), exist_ok=True)
            if self.protocol == "file":
                import os

                os.link(path, dest)
            else:
                self.fs.copy(path, dest)
            count += 1
        return count

    def write_text(self, path: str, text: str) -> None:
        self.check_inside(path)
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with self.fs.open(path, "w") as fh:
            fh.write(text)

    def read_text(self, path: str) -> str:
        with self.fs.open(path, "r") as fh:
            return str(fh.read())


def storage_options(settings: Settings) -> dict[str, Any]:
    """fsspec options of the lake's file system: an S3 lake talks to ``aws_endpoint_url`` when one is
    set (MinIO in compose, moto in tests) in ``aws_region``; credentials come from the usual AWS chain."""
    if not settings.lake_root.startswith(("s3://", "s3a://")):
        return {}
    client_kwargs: dict[str, Any] = {"region_name": settings.aws_region}
    if settings.aws_endpoint_url:
        client_kwargs["endpoint_url"] = settings.aws_endpoint_url
    return {"client_kwargs": client_kwargs}


def get_lake(settings: Settings | None = None) -> Lake:
    return Lake(settings)
