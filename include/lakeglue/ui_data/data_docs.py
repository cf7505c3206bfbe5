"""Files of the GX Data Docs site in the results zone, for the Data Lake app to serve.

A browser on the Airflow UI cannot open the site's ``file://`` or ``s3://`` pages, so the app
serves them over HTTP; the site's relative links keep working under one URL prefix. Only
files inside the site directory are reachable: a path with ``..`` or an empty part is refused.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from lakeglue.quality.data_docs import data_docs_location
from lakeglue.settings import Settings
from lakeglue.storage.zones import Lake


@dataclass(frozen=True)
class SiteFile:
    path: str
    media_type: str


def site_file(settings: Settings, relative: str) -> SiteFile | None:
    """The site file at ``relative`` (``index.html``, ``validations/…/x.html``), or None if absent."""
    parts = relative.split("/")
    if not relative or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise ValueError(f"{relative!r} is not a path inside the Data Docs site")
    lake = Lake(settings)
    path = posixpath.join(lake.fs_path(data_docs_location(settings).site_dir), *parts)
    if not lake.fs.isfile(path):
        return None
    media_type = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    return SiteFile(path, media_type)


def has_site(settings: Settings) -> bool:
    return site_file(settings, "index.html") is not None


def file_chunks(settings: Settings, path: str, size: int = 1 << 20) -> Iterator[bytes]:
    lake = Lake(settings)
    with lake.fs.open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk
