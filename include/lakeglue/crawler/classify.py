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
    #: Text only: the encoding the sample was decoded with (``records.normalise_encoding`` spelling) ...
    encoding: str = ""
    #: ... and how sure that is: ``bom``, ``utf-8`` (valid multi-byte UTF-8 seen), ``ascii`` (fits any
    #: ASCII-compatible encoding: no vote), ``fallback`` (not UTF-8: single-byte), ``config`` (overridden).
    encoding_evidence: str = ""


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head or any(b < 9 for b in head)


def read_sample(fs: fsspec.AbstractFileSystem, info: FileInfo, max_bytes: int, encoding: str = "") -> Sample:
    """Open ``info.path`` once and return its classification and sample; raise :class:`UnreadableFile`.

    ``encoding`` (a crawler config override) decodes text samples instead of detecting.
    """
    if info.size == 0:
        if not fs.exists(info.path):  # only 0-byte files pay for this check
            raise UnreadableFile(info.path, "not found (a broken symbolic link, or deleted since the listing)")
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
    text, decoded, notes = decode_sample(info.path, raw, truncated, encoding)
    if member:
        notes.append(f"zip member {member}")
    return Sample(path=info.path, format="text", compression=compression, size=info.size, bytes_read=bytes_read,
                  data_ext=data_ext, text=text, truncated=truncated, stored_bytes=max(stored, 1), notes=notes,
                  encoding=decoded.encoding, encoding_evidence=decoded.evidence)


@dataclass(frozen=True)
class Decoded:
    encoding: str
    evidence: str


#: Byte order marks, longest first (a UTF-32 LE BOM starts with the UTF-16 LE one).
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"), (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
         (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"), (b"\xff\xfe", "utf-16", "UTF-16"),
         (b"\xfe\xff", "utf-16", "UTF-16"))
#: Bytes Windows-1252 leaves undefined: a file holding one is not Windows-1252.
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _cut_decode(raw: bytes, codec: str, truncated: bool) -> str | None:
    """``raw`` decoded strictly; a cut at the byte limit may split a character (up to 3 bytes dropped)."""
    for cut in range(4 if truncated else 1):
        try:
            return raw[: len(raw) - cut].decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def decode_sample(path: str, raw: bytes, truncated: bool, override: str = "") -> tuple[str, Decoded, list[str]]:
    """(text, encoding decided for this file, notes): BOM, else UTF-8, else a single-byte fallback.

    Rules, in order: a crawler config ``encoding`` wins; a byte order mark names UTF-8/16/32; valid
    UTF-8 is UTF-8 (pure ASCII too, but it does not vote for the table); bytes that are mostly valid
    UTF-8 with a few bad ones are UTF-8 with undecodable lines (bronze quarantines those lines);
    otherwise the file is single-byte text: WINDOWS-1252 when it holds bytes 0x80-0x9F (printable
    there: the euro sign, curly quotes, dashes; C1 controls in ISO-8859-1), else ISO-8859-1 (the two
    agree on every other byte, and every engine reads ISO-8859-1 natively).
    """
    from lakeglue.records import normalise_encoding

    if override:
        name = normalise_encoding(override)
        text = raw.decode(codecs_name(name), errors="replace")
        notes = [f"encoding {name} set in the crawler config (detection skipped)"]
        if "\ufffd" in text:
            notes.append(f"bytes not valid {name} in the sample (replaced while inferring; bronze quarantines "
                         "those lines)")
        return text, Decoded(name, "config"), notes
    for bom, codec, name in _BOMS:
        if raw.startswith(bom):
            marked = _cut_decode(raw, codec, truncated)
            if marked is None:
                raise UnreadableFile(path, f"starts with a {name} byte order mark but is not valid {name}")
            return marked, Decoded(name, "bom"), [f"{name} byte order mark: encoding {name}"]
    if b"\x00" in raw[:65536]:
        raise UnreadableFile(path, "binary content (NUL bytes) and no known binary format magic "
                                   "(not Parquet/ORC/Avro/gzip/bzip2/zstd/lz4/snappy/zip); unknown format")
    control = sum(1 for b in raw[:65536] if b < 32 and b not in (9, 10, 12, 13, 1))
    if control > len(raw[:65536]) // 20:
        raise UnreadableFile(path, f"binary content ({control} control bytes in the first "
                                   f"{min(len(raw), 65536)}); unknown format")
    strict = _cut_decode(raw, "utf-8", truncated)
    if strict is not None:
        return strict, Decoded("UTF-8", "ascii" if raw.isascii() else "utf-8"), []
    lenient = raw.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    good = sum(1 for ch in lenient if ord(ch) > 127 and ch != "\ufffd")
    first = _first_bad(raw)
    if good >= bad:
        return lenient, Decoded("UTF-8", "utf-8"), [
            f"mostly UTF-8 ({good} multi-byte characters) with {bad} invalid byte sequence(s), the first at byte "
            f"{first}: UTF-8; bronze quarantines the undecodable lines"]
    high = {b for b in raw if 0x80 <= b <= 0x9F}
    name = "WINDOWS-1252" if high and not high & _CP1252_UNDEFINED else "ISO-8859-1"
    why = ("it holds bytes 0x80-0x9F, printable only in WINDOWS-1252" if name == "WINDOWS-1252"
           else "no byte in 0x80-0x9F, where it and WINDOWS-1252 differ")
    return raw.decode(codecs_name(name)), Decoded(name, "fallback"), [
        f"not valid UTF-8 (first invalid byte at {first}, {bad} invalid sequence(s), {good} valid multi-byte "
        f"characters); single-byte text: {name} ({why})"]


def codecs_name(name: str) -> str:
    """The Python codec of a recorded encoding name (``WINDOWS-1252`` → ``cp1252``)."""
    return {"WINDOWS-1252": "cp1252", "UTF-8": "utf-8-sig"}.get(name, name.lower())


def _first_bad(raw: bytes) -> int:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1
