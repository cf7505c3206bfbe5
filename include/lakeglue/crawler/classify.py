"""Open one file once: self-describing formats by their metadata, text by its (decompressed) head.

Magic bytes win over extensions: a ``.json`` file that is really gzip gets decompressed,
a ``.parquet`` without the ``PAR1`` footer is reported instead of crashing a reader.
Text samples are capped at ``max_bytes`` *after* decompression (Glue reads at most 1 MB).
Which text format a sample is (a custom classifier's, JSON or CSV) is decided later, in
:mod:`lakeglue.crawler.infer`, because custom classifiers get the first word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import fsspec

from lakeglue.crawler.binary import ORC_EXTENSIONS, MetadataError, binary_format, read_metadata
from lakeglue.crawler.compression import (
    CompressionError,
    decompressed_head,
    detect_codec,
    split_extensions,
    table_codec,
)
from lakeglue.crawler.types import GlueType
from lakeglue.storage.zones import FileInfo

HEAD_BYTES = 16

__all__ = ["HEAD_BYTES", "Sample", "UnreadableFile", "read_sample", "split_extensions"]


class UnreadableFile(Exception):
    """A file the crawler cannot use; ``reason`` goes into ``CrawlResult.errors`` with the path."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Sample:
    """What was read of one file: decoded text, or the metadata of a self-describing file."""

    path: str
    format: str  # parquet | orc | avro | text
    compression: str  # none | gzip | zstd | bzip2 | lz4 | snappy | zip, or the binary format's codec
    size: int
    bytes_read: int
    #: Extension of the data inside (``.csv`` of ``a.csv.gz``, or of the zip member).
    data_ext: str = ""
    #: Decoded text sample (text only).
    text: str = ""
    #: True when ``text`` is not the whole file (cut at the byte limit).
    truncated: bool = False
    #: Stored (possibly compressed) bytes that produced ``text``: turns record counts into a size estimate.
    stored_bytes: int = 0
    #: Self-describing formats: columns and row count from the metadata.
    columns: list[tuple[str, GlueType]] = field(default_factory=list)
    num_rows: int = 0
    serde_parameters: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head or any(b < 9 for b in head)


def read_sample(fs: fsspec.AbstractFileSystem, info: FileInfo, max_bytes: int) -> Sample:
    """Open ``info.path`` once and return its classification and sample; raise :class:`UnreadableFile`."""
    if info.size == 0:
        raise UnreadableFile(info.path, "empty file (0 bytes)")
    comp_ext, data_ext = split_extensions(info.path)
    try:
        with fs.open(info.path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            fmt = None if comp_ext else binary_format(head, data_ext)
            if fmt == "orc" and data_ext not in ORC_EXTENSIONS and not _looks_binary(head):
                fmt = None  # text that happens to start with "ORC"
            if fmt is not None:
                meta = read_metadata(fmt, fh, info.size, head)
                return Sample(path=info.path, format=fmt, compression=meta.codec, size=info.size,
                              bytes_read=meta.bytes_read, data_ext=data_ext, stored_bytes=info.size,
                              columns=meta.columns, num_rows=meta.rows, serde_parameters=meta.serde_parameters,
                              notes=meta.notes)
            codec = detect_codec(head, comp_ext)
            fh.seek(0)
            raw, truncated, member = decompressed_head(fh, codec, max_bytes)
            # stored bytes behind the sample: all of it, the cut for plain text, what was decompressed otherwise
            stored = info.size if not truncated else max_bytes if codec == "none" else int(fh.tell())
            bytes_read = int(fh.tell())
    except (MetadataError, CompressionError) as exc:
        raise UnreadableFile(info.path, exc.reason) from exc
    except OSError as exc:
        raise UnreadableFile(info.path, f"cannot read: {exc}") from exc
    if member:
        data_ext = split_extensions(member)[1]
    compression = table_codec(codec)
    if not raw.strip():
        after = f" after {compression} decompression" if compression != "none" else ""
        raise UnreadableFile(info.path, f"no data{after} ({len(raw)} bytes, whitespace only)")
    text, notes = _decode(info.path, raw, truncated)
    if member:
        notes.append(f"zip member {member}")
    return Sample(path=info.path, format="text", compression=compression, size=info.size, bytes_read=bytes_read,
                  data_ext=data_ext, text=text, truncated=truncated, stored_bytes=max(stored, 1), notes=notes)


def _decode(path: str, raw: bytes, truncated: bool) -> tuple[str, list[str]]:
    if b"\x00" in raw[:65536]:
        raise UnreadableFile(path, "binary content (NUL bytes) and no known binary format magic "
                                   "(not Parquet/ORC/Avro/gzip/bzip2/zstd/lz4/snappy/zip); unknown format")
    control = sum(1 for b in raw[:65536] if b < 32 and b not in (9, 10, 12, 13, 1))
    if control > len(raw[:65536]) // 20:
        raise UnreadableFile(path, f"binary content ({control} control bytes in the first "
                                   f"{min(len(raw), 65536)}); unknown format")
    # A cut at the byte limit can split a multi-byte character; drop up to 3 trailing bytes.
    for cut in range(4 if truncated else 1):
        try:
            return raw[: len(raw) - cut].decode("utf-8-sig"), []
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), ["not valid UTF-8; decoded as Latin-1"]
