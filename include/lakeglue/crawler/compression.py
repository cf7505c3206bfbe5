"""Compressed text files: which codec (magic bytes first, extension second) and their first bytes.

Glue reads gzip, bzip2, zstd, lz4, snappy and single-file zip archives; so does this
module, with the codec named in the table's ``compressionType``. Only the head of a file
is decompressed (the sample limit applies to the *decompressed* bytes), so a 10 GB gzip
costs the same as a 10 KB one. Snappy comes in two framings with no common magic: the
snappy *framing format* (``sNaPpY`` stream identifier) and Hadoop's block format (length
prefixes, what Hive/Spark write as ``.snappy``); both are read with pyarrow's snappy codec.
"""

from __future__ import annotations

import bz2
import gzip
import posixpath
import zipfile
from collections.abc import Callable
from typing import IO, Any

from lakeglue.jobs import raw_files

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
SNAPPY_FRAMED_MAGIC = b"\xff\x06\x00\x00sNaPpY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
LZO_MAGIC = b"\x89LZO\x00\r\n\x1a\n"
_BZIP2_BLOCK_MAGICS = (b"1AY&SY", b"\x17rE8P\x90")  # first block, or end of stream (empty input)

COMPRESSION_EXTENSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bzip2",
                          ".lz4": "lz4", ".snappy": "snappy", ".sz": "snappy", ".zip": "zip"}
#: Codecs recognised (by extension or magic) that the crawler cannot decompress.
UNSUPPORTED_COMPRESSION = {".lzo": "lzo", ".xz": "xz", ".lzma": "lzma", ".7z": "7z", ".rar": "rar"}
#: A Hadoop snappy block larger than this is corruption, not data (Hadoop's default is 256 KB).
_MAX_HADOOP_BLOCK = 1 << 30


class CompressionError(Exception):
    """A compressed file cannot be read; ``reason`` names the codec and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def split_extensions(path: str) -> tuple[str, str]:
    """(compression extension or "", data extension or "") of ``a/b/part.csv.gz`` → (".gz", ".csv")."""
    name = posixpath.basename(path).lower()
    stem, ext = posixpath.splitext(name)
    if ext in COMPRESSION_EXTENSIONS or ext in UNSUPPORTED_COMPRESSION:
        return ext, posixpath.splitext(stem)[1]
    return "", ext


def detect_codec(head: bytes, comp_ext: str) -> str:
    """The codec of a file from its first 16 bytes, falling back to the extension for magic-less snappy.

    Raises :class:`CompressionError` when the extension promises a codec the bytes deny, or
    names a codec the crawler cannot read.
    """
    if comp_ext in UNSUPPORTED_COMPRESSION or head.startswith(LZO_MAGIC):
        codec = UNSUPPORTED_COMPRESSION.get(comp_ext, "lzo")
        raise CompressionError(f"{codec} compression is not supported by the lakeglue crawler (Glue reads gzip, "
                               "bzip2, zstd, lz4, snappy and zip)")
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(LZ4_FRAME_MAGIC):
        return "lz4"
    if head.startswith(SNAPPY_FRAMED_MAGIC):
        return "snappy"
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] in _BZIP2_BLOCK_MAGICS:
        return "bzip2"
    if comp_ext == ".snappy" or comp_ext == ".sz":
        return "snappy-hadoop"  # no magic: Hadoop's block format, validated while decoding
    if comp_ext:
        raise CompressionError(f"extension {comp_ext} says {COMPRESSION_EXTENSIONS[comp_ext]} but the file does "
                               f"not start with its magic bytes (starts with {head[:4].hex()})")
    return "none"


def table_codec(codec: str) -> str:
    """The ``compressionType`` name of a codec (both snappy framings are ``snappy``)."""
    return "snappy" if codec == "snappy-hadoop" else codec


def _varint(data: bytes) -> int:
    """Snappy's raw format starts with the uncompressed length as a little-endian varint."""
    value = shift = 0
    for byte in data[:10]:
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
    raise CompressionError("corrupt snappy data: bad length preamble")


def _snappy_raw(data: bytes) -> bytes:
    import pyarrow as pa

    try:
        return bytes(pa.Codec("snappy").decompress(data, decompressed_size=_varint(data), asbytes=True))
    except (OSError, ValueError) as exc:  # pyarrow raises OSError on corrupt snappy input
        raise CompressionError(f"corrupt snappy data: {exc}") from exc


def _read_exact(fh: IO[bytes], n: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) < n:
        raise EOFError(f"{what} needs {n} bytes, only {len(data)} left")
    return data


def _snappy_framed(fh: IO[bytes], limit: int) -> bytes:
    out = bytearray()
    while len(out) < limit:
        header = fh.read(4)
        if not header:
            break
        if len(header) < 4:
            raise EOFError("snappy chunk header cut short")
        kind, length = header[0], int.from_bytes(header[1:4], "little")
        body = _read_exact(fh, length, "snappy chunk")
        if kind == 0xFF:
            if body != b"sNaPpY":
                raise CompressionError("corrupt snappy framing: bad stream identifier")
        elif kind == 0x00:
            out += _snappy_raw(body[4:])  # 4-byte masked CRC-32C first (not verified: we only sample)
        elif kind == 0x01:
            out += body[4:]
        elif kind < 0x80:
            raise CompressionError(f"corrupt snappy framing: reserved unskippable chunk type {kind:#x}")
    return bytes(out)


def _snappy_hadoop(fh: IO[bytes], limit: int) -> bytes:
    out = bytearray()
    while len(out) < limit:
        header = fh.read(4)
        if not header:
            break
        block = int.from_bytes(header, "big")
        if len(header) < 4 or block > _MAX_HADOOP_BLOCK:
            raise CompressionError("not snappy: neither the snappy framing format (no sNaPpY identifier) nor "
                                   "Hadoop's snappy block format (bad block length)")
        got = 0
        while got < block:
            size = int.from_bytes(_read_exact(fh, 4, "Hadoop snappy chunk length"), "big")
            piece = _snappy_raw(_read_exact(fh, size, "Hadoop snappy chunk"))
            got += len(piece)
            out += piece
        if got != block:
            raise CompressionError(f"corrupt Hadoop snappy block: {got} bytes decoded, header says {block}")
    return bytes(out)


def _zip_member(fh: IO[bytes]) -> tuple[Any, str]:
    try:
        archive = zipfile.ZipFile(fh)
    except zipfile.BadZipFile as exc:
        raise CompressionError(f"corrupt zip archive: {exc}") from exc
    members = raw_files.zip_data_members(archive)  # the engines' rule too: what is cataloged is what is read
    if len(members) != 1:
        names = ", ".join(i.filename for i in members[:5]) or "none"
        raise CompressionError(f"zip archive holds {len(members)} files ({names}); the crawler reads single-file "
                               "archives, as Glue does (bronze quarantines it as an unreadable file)")
    return archive.open(members[0]), members[0].filename


def _stream(fh: IO[bytes], codec: str) -> tuple[Any, str]:
    if codec == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="rb"), ""
    if codec == "bzip2":
        return bz2.BZ2File(fh, mode="rb"), ""
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(fh, closefd=False, read_across_frames=True), ""
    if codec == "lz4":
        import lz4.frame

        return lz4.frame.LZ4FrameFile(fh, mode="rb"), ""
    if codec == "zip":
        return _zip_member(fh)
    return fh, ""


def decompressed_head(fh: IO[bytes], codec: str, max_bytes: int) -> tuple[bytes, bool, str]:
    """(up to ``max_bytes`` of content, whether there was more, name of the zip member or "")."""
    readers: dict[str, Callable[[IO[bytes], int], bytes]] = {"snappy": _snappy_framed,
                                                             "snappy-hadoop": _snappy_hadoop}
    member = ""
    try:
        if codec in readers:
            data = readers[codec](fh, max_bytes + 1)
        else:
            stream, member = _stream(fh, codec)
            data = stream.read(max_bytes + 1)
    except CompressionError:
        raise
    except EOFError as exc:  # the stream ends before its trailer: a partial upload or a file still being written
        raise CompressionError(f"{table_codec(codec)} stream ends early (truncated file): {exc}") from exc
    except Exception as exc:  # gzip/bz2/zstd/lz4/zip raise their own error classes for corrupt data
        if codec == "none":
            raise
        raise CompressionError(f"corrupt {table_codec(codec)} data: {exc}") from exc
    return data[:max_bytes], len(data) > max_bytes, member
