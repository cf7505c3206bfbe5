"""One object in a watched prefix, as detection, claims and event payloads carry it.

Detection and claiming have to agree on *which version* of an object they mean: a file
overwritten upstream is new data and must be processed again, while a re-delivered
notification for the same upload must not. The version is the S3 ETag when there is one
(content identity), otherwise size + modification time (what the ingestion ledger uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class PayloadError(ValueError):
    """An event payload does not describe objects the way lakeglue writes them."""


@dataclass(frozen=True, order=True)
class ObjectInfo:
    #: fsspec path: an absolute local path, or ``bucket/key`` on S3 (the ingestion ledger's form).
    path: str
    size: int
    #: Seconds since the epoch: local mtime, or S3 LastModified.
    mtime: float
    #: S3 ETag without quotes; empty for local files.
    etag: str = ""

    @property
    def version(self) -> str:
        return self.etag or f"{self.size}:{self.mtime!r}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.version)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for trigger events and XCom (Airflow stores both as JSON)."""
        return {"path": self.path, "size": self.size, "mtime": self.mtime, "etag": self.etag}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "payload") -> ObjectInfo:
        try:
            return cls(path=str(data["path"]), size=int(data["size"]), mtime=float(data.get("mtime") or 0.0),
                       etag=str(data.get("etag") or ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadError(f"{where}: object {dict(data)!r} lacks a valid path/size/mtime ({exc})") from None
