"""Pure-Python checks of one raw file, for the Spark bronze job's slow path and its staging.

Spark fails a whole read when one file cannot be decompressed or parsed, and silently skips
or empties some others (a zero-byte gzip reads as no lines; a name starting with ``_`` or
``.`` is taken for a hidden file). The job reads the batch the fast way first; only when
that fails does it probe the files one by one here, quarantine the unreadable ones as whole
files and read the rest again. No Spark import: these run on the driver, file by file.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from lakeglue.jobs import raw_files

#: Suffixes Hadoop decompresses by name (the codec is chosen from the file name alone).
COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".deflate", ".zst", ".lz4", ".snappy")
_CHUNK = 1 << 20


#: The file as a whole cannot be read: its message is the detail for ``records.unreadable_file``
#: (one exception for both engines' probes).
UnreadableFile = raw_files.UnreadableFile


@dataclass(frozen=True)
class ZipMember:
    """The one file inside a single-member zip archive."""

    name: str
    size: int


def spark_hides(path: str) -> bool:
    """Names Spark's file index drops even when the file is named explicitly (Hadoop's "hidden"
    files): such files must be read under another name or they silently give no rows."""
    name = posixpath.basename(path)
    return (name.startswith("_") and "=" not in name) or name.startswith(".") or name.endswith("._COPYING_")


def is_zip(path: str) -> bool:
    return path.lower().endswith(".zip")


def compressed(path: str) -> bool:
    return path.lower().endswith(COMPRESSED_SUFFIXES)


def empty_compressed(path: str, size: int) -> str | None:
    """A compressed file of zero bytes (Spark reads it as no lines without a word): the detail, else None."""
    if size == 0 and (compressed(path) or is_zip(path)):
        return f"{posixpath.basename(path)} is empty (0 bytes): not a valid compressed file"
    return None


@contextmanager
def _opened(fs: Any, path: str) -> Iterator[IO[bytes]]:
    with fs.open(path, "rb") as fh:
        yield fh


def _drain(stream: Any) -> None:
    while stream.read(_CHUNK):
        pass


def probe(fs: Any, path: str, fmt: str, size: int | None = None) -> str | None:
    """Why the file cannot be read as a whole (decompression, archive or Parquet structure), or
    None when it can. Reads the whole file once (only on the slow path)."""
    detail = empty_compressed(path, size if size is not None else fs.size(path))
    if detail:
        return detail
    lower = path.lower()
    try:
        with _opened(fs, path) as fh:
            if is_zip(path):
                with zipfile.ZipFile(fh) as archive, archive.open(_member_info(archive, path)) as member:
                    _drain(member)
            elif raw_files.compression_of(path) in ("gzip", "bzip2"):
                with raw_files.decompressing(fh, path) as stream:
                    _drain(stream)
            elif lower.endswith(".deflate"):
                decompressor = zlib.decompressobj()
                while chunk := fh.read(_CHUNK):
                    decompressor.decompress(chunk)
                if not decompressor.eof:
                    raise UnreadableFile("deflate stream ends before its end marker")
            elif fmt == "parquet":
                import pyarrow.parquet as pq

                pq.ParquetFile(fh).read()
    except UnreadableFile as exc:
        return str(exc)
    except (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile, NotImplementedError) as exc:
        # gzip.BadGzipFile, pyarrow.ArrowInvalid (a ValueError) and truncated streams land here
        return f"{posixpath.basename(path)}: {type(exc).__name__}: {exc}"
    return None


#: Offset (in the decompressed bytes) of the first byte not valid in an encoding: the shared rule.
first_undecodable = raw_files.first_undecodable


def needs_transcoding(encoding: str) -> bool:
    """Encodings whose newline is not the one byte 0x0A (UTF-16, UTF-32): their lines cannot be
    split as bytes, so the file is decoded whole in Python and read as UTF-8."""
    return "\n".encode(encoding) != b"\n"


def normalize_line_ends(fs: Any, path: str, target: str) -> None:
    """Write the file at ``path`` (decompressed by its suffix) to ``target`` with every line end
    (``\\r\\n`` or a lone ``\\r``) as ``\\n``: for a CSV file mixing them, which Spark's multi-line
    CSV reader (one line separator, detected on the first line) cannot split. Rare: read whole.
    Only for encodings whose CR and LF are the single bytes 0x0D and 0x0A."""
    with _opened(fs, path) as fh:
        stream: Any = raw_files.decompressing(fh, path)
        try:
            data = stream.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(f"{posixpath.basename(path)}: {type(exc).__name__}: {exc}") from exc
    with fs.open(target, "wb") as out:
        out.write(raw_files.lf_line_ends(data))


def transcode(fs: Any, path: str, encoding: str, target: str) -> None:
    """Write the file at ``path`` (decompressed by its suffix) as UTF-8 to ``target``;
    :class:`UnreadableFile` naming the first byte not valid in ``encoding``."""
    with _opened(fs, path) as fh:
        stream: Any = raw_files.decompressing(fh, path)
        try:
            data = stream.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(f"{posixpath.basename(path)}: {type(exc).__name__}: {exc}") from exc
    try:
        text = data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{posixpath.basename(path)}: not valid {encoding} at byte {exc.start}") from exc
    with fs.open(target, "wb") as out:
        out.write(text.encode("utf-8"))


def _member_info(archive: zipfile.ZipFile, path: str) -> zipfile.ZipInfo:
    files = raw_files.zip_data_members(archive)
    if len(files) != 1:
        names = ", ".join(info.filename for info in files[:5]) or "none"
        raise UnreadableFile(f"{posixpath.basename(path)}: a zip archive must hold exactly one file, "
                             f"it holds {len(files)} ({names})")
    return files[0]


def extract_zip(fs: Any, path: str, target: str) -> ZipMember:
    """Copy the single member of the zip at ``path`` to ``target`` (checking its CRC on the way)."""
    try:
        with _opened(fs, path) as fh, zipfile.ZipFile(fh) as archive:
            info = _member_info(archive, path)
            with archive.open(info) as member, fs.open(target, "wb") as out:
                while chunk := member.read(_CHUNK):
                    out.write(chunk)
            return ZipMember(info.filename, info.file_size)
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, ValueError) as exc:
        raise UnreadableFile(f"{posixpath.basename(path)}: cannot extract from the zip archive "
                             f"({type(exc).__name__}: {exc})") from exc


def member_suffix(member: str) -> str:
    """The compression suffix the extracted member keeps, so Spark decompresses it by name too."""
    lower = member.lower()
    return next((s for s in COMPRESSED_SUFFIXES if lower.endswith(s)), "")
