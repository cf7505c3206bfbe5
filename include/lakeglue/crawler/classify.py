"""Classify one file (format + compression) from its extension and magic bytes, and read its sample.

Magic bytes win over extensions: a ``.json`` file that is really gzip gets decompressed,
a ``.parquet`` without the ``PAR1`` footer is reported instead of crashing a reader.
Text samples are capped at ``max_bytes`` *after* decompression (Glue reads at most 1 MB).
"""

from __future__ import annotations

import bz2
import gzip
import posixpath
from dataclasses import dataclass, field
from typing import IO, Any

import fsspec

from lakeglue.storage.zones import FileInfo

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"

JSON_EXTENSIONS = (".json", ".jsonl", ".ndjson")
CSV_EXTENSIONS = (".csv", ".tsv", ".txt", ".psv")
PARQUET_EXTENSIONS = (".parquet", ".parq", ".pq")
COMPRESSION_EXTENSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bzip2"}
#: Compression codecs (by extension) the crawler cannot decompress yet.
UNSUPPORTED_COMPRESSION = {".snappy": "snappy", ".sz": "snappy", ".lz4": "lz4", ".lzo": "lzo", ".zip": "zip"}
#: Formats the crawler recognises but cannot read yet (Glue reads them from metadata).
UNSUPPORTED_FORMATS = {".orc": "ORC", ".avro": "Avro"}


class UnreadableFile(Exception):
    """A file the crawler cannot use; ``reason`` goes into ``CrawlResult.errors`` with the path."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Sample:
    """What was read of one file: text (json/csv) or the Parquet footer."""

    path: str
    format: str  # parquet | json | csv
    compression: str  # none | gzip | zstd | bzip2 | snappy (parquet codec)…
    size: int
    bytes_read: int
    #: Decoded text sample (text formats only).
    text: str = ""
    #: True when ``text`` is not the whole file (cut at the byte limit).
    truncated: bool = False
    #: Stored (possibly compressed) bytes that produced ``text``: turns record counts into a size estimate.
    stored_bytes: int = 0
    #: Parquet footer facts.
    arrow_schema: Any = None
    num_rows: int = 0
    notes: list[str] = field(default_factory=list)


def split_extensions(path: str) -> tuple[str, str]:
    """(compression extension or "", data extension or "") of ``a/b/part.csv.gz`` → (".gz", ".csv")."""
    name = posixpath.basename(path).lower()
    stem, ext = posixpath.splitext(name)
    if ext in COMPRESSION_EXTENSIONS or ext in UNSUPPORTED_COMPRESSION:
        return ext, posixpath.splitext(stem)[1]
    return "", ext


def read_sample(fs: fsspec.AbstractFileSystem, info: FileInfo, max_bytes: int) -> Sample:
    """Open ``info.path`` once and return its classification and sample; raise :class:`UnreadableFile`."""
    if info.size == 0:
        raise UnreadableFile(info.path, "empty file (0 bytes)")
    comp_ext, data_ext = split_extensions(info.path)
    if comp_ext in UNSUPPORTED_COMPRESSION:
        raise UnreadableFile(info.path, f"{UNSUPPORTED_COMPRESSION[comp_ext]} compression is not supported by the "
                                        "lakeglue crawler yet")
    if data_ext in UNSUPPORTED_FORMATS:
        raise UnreadableFile(info.path, f"{UNSUPPORTED_FORMATS[data_ext]} files are not supported by the lakeglue "
                                        "crawler yet")
    try:
        with fs.open(info.path, "rb") as fh:
            head = fh.read(4)
            if head == PARQUET_MAGIC or data_ext in PARQUET_EXTENSIONS:
                return _parquet_sample(fh, info, head)
            compression = _compression(info.path, head, comp_ext)
            fh.seek(0)
            raw, truncated = _decompressed_head(fh, info.path, compression, max_bytes)
            # stored bytes behind the sample: all of it, the cut for plain text, what was decompressed otherwise
            stored = info.size if not truncated else max_bytes if compression == "none" else int(fh.tell())
            bytes_read = int(fh.tell())
    except UnreadableFile:
        raise
    except OSError as exc:
        raise UnreadableFile(info.path, f"cannot read: {exc}") from exc
    if not raw.strip():
        after = f" after {compression} decompression" if compression != "none" else ""
        raise UnreadableFile(info.path, f"no data{after} ({len(raw)} bytes, whitespace only)")
    text, notes = _decode(info.path, raw, truncated)
    fmt = _text_format(info.path, data_ext, text)
    return Sample(path=info.path, format=fmt, compression=compression, size=info.size, bytes_read=bytes_read,
                  text=text, truncated=truncated, stored_bytes=max(stored, 1), notes=notes)


def _compression(path: str, head: bytes, comp_ext: str) -> str:
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(BZIP2_MAGIC) and comp_ext == ".bz2":
        return "bzip2"
    if comp_ext:
        raise UnreadableFile(path, f"extension {comp_ext} says {COMPRESSION_EXTENSIONS[comp_ext]} but the file "
                                   f"does not start with its magic bytes (starts with {head.hex()})")
    return "none"


def _decompressed_head(fh: IO[bytes], path: str, compression: str, max_bytes: int) -> tuple[bytes, bool]:
    """Up to ``max_bytes`` of (decompressed) content and whether there was more."""
    reader: Any
    if compression == "gzip":
        reader = gzip.GzipFile(fileobj=fh, mode="rb")
    elif compression == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(fh, closefd=False, read_across_frames=True)
    elif compression == "bzip2":
        reader = bz2.BZ2File(fh, mode="rb")
    else:
        reader = fh
    try:
        data = reader.read(max_bytes + 1)
    except EOFError as exc:  # the stream ends before its trailer: a partial upload or a file still being written
        raise UnreadableFile(path, f"{compression} stream ends early (truncated file): {exc}") from exc
    except Exception as exc:  # zstd/gzip/bz2 raise their own error classes for corrupt data
        if compression == "none":
            raise
        raise UnreadableFile(path, f"corrupt {compression} data: {exc}") from exc
    return data[:max_bytes], len(data) > max_bytes


def _decode(path: str, raw: bytes, truncated: bool) -> tuple[str, list[str]]:
    if b"\x00" in raw[:65536]:
        raise UnreadableFile(path, "binary content (NUL bytes) and no known binary format magic "
                                   "(not Parquet/gzip/zstd); unknown format")
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


def _text_format(path: str, data_ext: str, text: str) -> str:
    first = text.lstrip()[:1]
    if data_ext in JSON_EXTENSIONS:
        if first not in ("{", "["):
            raise UnreadableFile(path, f"extension {data_ext} but the content does not start with a JSON "
                                       f"object (starts with {text.lstrip()[:20]!r})")
        return "json"
    if data_ext in (".csv", ".tsv", ".psv"):
        return "csv"
    return "json" if first in ("{", "[") else "csv"


def _parquet_sample(fh: IO[bytes], info: FileInfo, head: bytes) -> Sample:
    import pyarrow.parquet as pq

    if head != PARQUET_MAGIC:
        raise UnreadableFile(info.path, f"Parquet extension but no PAR1 magic at the start (found {head.hex()})")
    if info.size < 12:
        raise UnreadableFile(info.path, f"too small for Parquet ({info.size} bytes)")
    fh.seek(info.size - 4)
    if fh.read(4) != PARQUET_MAGIC:
        raise UnreadableFile(info.path, "PAR1 at the start but not at the end: truncated or still being written")
    fh.seek(0)
    try:
        pf = pq.ParquetFile(fh)
        meta = pf.metadata
        schema = pf.schema_arrow
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for corrupt footers
        raise UnreadableFile(info.path, f"corrupt Parquet footer: {exc}") from exc
    codec = "none"
    if meta.num_row_groups and meta.num_columns:
        codec = str(meta.row_group(0).column(0).compression).lower()
        codec = "none" if codec == "uncompressed" else codec
    return Sample(path=info.path, format="parquet", compression=codec, size=info.size,
                  bytes_read=int(meta.serialized_size) + 12, stored_bytes=info.size,
                  arrow_schema=schema, num_rows=int(meta.num_rows))
