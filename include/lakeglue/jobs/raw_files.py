"""Pure-Python probes of raw files, for the rare batches an engine cannot read as they are.

Engines read raw files fast and in bulk; when one file of a batch cannot be read (a zero-byte
or truncated gzip, bytes not valid in the table's encoding, a line over ``max_record_bytes``,
a broken zip), the whole read fails. These helpers look at one file at a time, so the file's
own problem stays the file's problem:

* :func:`scan_text` decompresses and decodes a file line by line (bounded memory: a line over
  the limit is skipped, not held) and reports the whole-file problem, or the lines to
  quarantine with their reason; given an output it writes a clean UTF-8 copy in which every
  quarantined line is left empty (JSON lines keep their line numbers) or left out (CSV);
* :func:`single_zip_member` and :func:`open_decompressed` open ``.gz`` and single-member
  ``.zip`` files; :func:`has_glob_chars` tells which names an engine would glob instead of
  opening (``[a].json``); :func:`gzip_size_hint` reads a gzip's trailer for a cheap
  truncation check.

No engine import here (DuckDB and Spark both use it); files are opened through fsspec.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from lakeglue import records

if TYPE_CHECKING:
    import fsspec

#: Characters DuckDB, Spark and fsspec treat as glob patterns in a path.
GLOB_CHARS = frozenset("*?[]{}")
#: Raw text kept of a line over the limit (the quarantine names its full size).
TOO_LARGE_PREFIX = 1024
_READ_CHUNK = 1 << 20
_SCAN_CHUNK = 4 << 20
_UTF8_BOM = b"\xef\xbb\xbf"


class UnreadableFile(ValueError):
    """A whole raw file cannot be read; ``str()`` is the detail for :func:`records.unreadable_file`."""


@dataclass(frozen=True)
class LineReject:
    """One physical line quarantined before parsing (1-based ``line``, ``size`` in bytes)."""

    line: int
    reason: str
    raw: str
    size: int


@dataclass
class TextScan:
    """What reading a file as text found: the whole-file reason, or the lines it quarantines."""

    path: str
    size: int
    unreadable: str | None = None
    rejects: list[LineReject] = field(default_factory=list)
    lines: int = 0
    #: Line ends a reader may split otherwise than Hadoop's line reader does: a lone CR, or CRLF beside a
    #: bare LF. The clean copy ends every line with LF (a lone CR ends a line: line numbers count it).
    mixed_line_ends: bool = False

    @property
    def clean(self) -> bool:
        return self.unreadable is None and not self.rejects


def has_glob_chars(path: str) -> bool:
    """Whether a reader that globs would take this path as a pattern (so it must get a safe name)."""
    return any(ch in GLOB_CHARS for ch in path)


#: Compressions known by extension that these probes do not open (an engine may): such a file is
#: left to the engine, and quarantined whole only if the engine cannot read it either.
OTHER_COMPRESSIONS = {".zst": "zstd", ".zstd": "zstd", ".bz2": "bzip2", ".xz": "xz", ".lz4": "lz4",
                      ".snappy": "snappy", ".br": "brotli"}


def compression_of(path: str) -> str | None:
    """``gzip`` / ``zip`` (or another compression, by name) by the name's extension, as the engines
    decide; ``None`` for a plain file."""
    name = path.lower()
    if name.endswith(".gz") or name.endswith(".gzip"):
        return "gzip"
    if name.endswith(".zip"):
        return "zip"
    return next((kind for ext, kind in OTHER_COMPRESSIONS.items() if name.endswith(ext)), None)


def probeable(path: str) -> bool:
    """Whether :func:`scan_text` can read this file (plain, gzip or zip)."""
    return compression_of(path) in (None, "gzip", "zip")


def plain_suffix(path: str) -> str:
    """The extension a stand-in keeps so an engine decompresses it the same way (``.gz``, ``.zst`` …)."""
    name = path.lower()
    return next((ext for ext in (".gz", ".gzip", *OTHER_COMPRESSIONS) if name.endswith(ext)), "")


#: Zip members that are never data (macOS resource forks); hidden (dot) files are litter too.
ZIP_LITTER = ("__MACOSX/",)


def zip_data_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members of a zip that hold data: directories, ``__MACOSX/`` entries and dot-files left out.

    The one rule for "which zip is single-member", shared by the crawler and both engines, so a zip
    the crawler catalogs as one file is read as that file by DuckDB and Spark alike.
    """
    return [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith(ZIP_LITTER)
            and not posixpath.basename(i.filename).startswith(".")]


def single_zip_member(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """The name of the one data file in a zip (:func:`zip_data_members`); :class:`UnreadableFile` for a
    broken zip or one with no or several data files."""
    try:
        with fs.open(path, "rb") as fh, zipfile.ZipFile(fh) as archive:
            members = [i.filename for i in zip_data_members(archive)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise UnreadableFile(f"broken zip archive: {exc}") from exc
    if len(members) != 1:
        raise UnreadableFile(f"zip archive holds {len(members)} files, expected exactly one "
                             f"({', '.join(members[:5])}{' …' if len(members) > 5 else ''})")
    return members[0]


def decompressing(raw: IO[bytes], path: str) -> IO[bytes]:
    """``raw`` read through the stream codec its name promises (gzip or bzip2; else as it is): the one
    by-suffix rule both engines' probes use (a zip is an archive, opened by member, not here)."""
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    return raw


def lf_line_ends(data: bytes) -> bytes:
    """Every line end (``\\r\\n`` or a lone ``\\r``) as ``\\n``, the rule :func:`scan_text`'s clean copy
    follows too (for encodings whose CR and LF are the single bytes 0x0D and 0x0A)."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def first_undecodable(fs: fsspec.AbstractFileSystem, path: str, encoding: str) -> int | None:
    """Offset (in the decompressed bytes) of the first byte not valid in ``encoding``, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with fs.open(path, "rb") as fh:
        stream = decompressing(fh, path)
        while True:
            chunk = stream.read(_READ_CHUNK)
            pending = len(decoder.getstate()[0])  # bytes of a character begun in the previous chunk
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return max(0, offset - pending + exc.start)
            if not chunk:
                return None
            offset += len(chunk)


@contextmanager
def open_decompressed(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[IO[bytes]]:
    """The file's bytes, gunzipped or taken from its single zip member (by extension)."""
    kind = compression_of(path)
    with fs.open(path, "rb") as raw:
        if kind == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as fh:
                yield fh  # type: ignore[misc]
        elif kind == "zip":
            member = single_zip_member(fs, path)
            with zipfile.ZipFile(raw) as archive, archive.open(member) as fh:
                yield fh
        else:
            yield raw


def gzip_size_hint(fs: fsspec.AbstractFileSystem, path: str, size: int) -> int | None:
    """The uncompressed size mod 2**32 a gzip's trailer records (``None`` when too small to hold one).

    A truncated gzip still inflates up to where it stops (engines read it without complaint); its
    last four bytes are then not the true size, so a mismatch with what was read is a cheap hint
    to check the file for real (:func:`scan_text`).
    """
    if size < 18:
        return None
    with fs.open(path, "rb") as fh:
        fh.seek(size - 4)
        return int.from_bytes(fh.read(4), "little")


class _Reader:
    """``readline(limit)`` over any binary file (fsspec's object-store files take no limit); the
    buffer is consumed by an offset, so short lines cost no copying of the buffer."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.buffer, self.pos, self.eof = fh, b"", 0, False

    def readline(self, limit: int) -> bytes:
        while True:
            stop = self.pos + limit
            end = self.buffer.find(b"\n", self.pos, stop)
            if end != -1 or len(self.buffer) >= stop or self.eof:
                cut = end + 1 if end != -1 else min(stop, len(self.buffer))
                line, self.pos = self.buffer[self.pos:cut], cut
                return line
            chunk = self.fh.read(max(_READ_CHUNK, stop - len(self.buffer)))
            if not chunk:
                self.eof = True
            self.buffer, self.pos = self.buffer[self.pos:] + chunk, 0


def _lines(fh: IO[bytes], limit: int) -> Iterator[tuple[bytes, int, bool, int]]:
    """(line without its newline, its byte size, whether it is over ``limit``, bytes consumed), in
    bounded memory: of a line over the limit only a prefix is kept."""
    reader = _Reader(fh)
    while True:
        line = reader.readline(limit + 2)
        if not line:
            return
        consumed = len(line)
        if line.endswith(b"\n") or len(line) < limit + 2:
            body = line[:-1] if line.endswith(b"\n") else line
            body = body[:-1] if body.endswith(b"\r") else body
            if len(body) <= limit:
                yield body, len(body), False, consumed
            else:
                yield body[:TOO_LARGE_PREFIX], len(body), True, consumed
            continue
        prefix, size, last = line[:TOO_LARGE_PREFIX], len(line), line[-1:]
        while True:  # skip the rest of the long line, counting it
            line = reader.readline(_READ_CHUNK)
            if not line:
                size -= 1 if last == b"\r" else 0  # the file's last line, ended by a lone CR
                break
            consumed += len(line)
            size += len(line)
            if line.endswith(b"\n"):
                size -= 2 if (line[-2:-1] or last) == b"\r" else 1
                break
            last = line[-1:]
        yield prefix, size, True, consumed


def _utf16_big_endian(data: bytes, encoding: str) -> bool:
    return encoding.endswith("BE") or (encoding == "UTF-16" and data.startswith(b"\xfe\xff"))


def _utf16_lines(data: bytes, big: bool, limit: int) -> Iterator[tuple[bytes, int, bool, int]]:
    """UTF-16 lines split at the newline code unit (never mid-unit). The file is held whole: UTF-16
    raw data is rare and small; ASCII-compatible encodings stream (:func:`_lines`)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data[2:]
    newline, cr = (b"\x00\n", b"\x00\r") if big else (b"\n\x00", b"\r\x00")
    start = 0
    while start < len(data):
        end = start
        while True:
            end = data.find(newline, end)
            if end == -1 or (end - start) % 2 == 0:
                break
            end += 1
        body = data[start:] if end == -1 else data[start:end]
        consumed = len(body) + (0 if end == -1 else 2)
        start += consumed
        if body.endswith(cr):
            body = body[:-2]
        if len(body) <= limit:
            yield body, len(body), False, consumed
        else:
            yield body[:TOO_LARGE_PREFIX], len(body), True, consumed


class _Prepend:
    """A binary stream of ``head`` followed by the rest of ``fh``."""

    def __init__(self, head: bytes, fh: IO[bytes]) -> None:
        self.head, self.fh = head, fh

    def read(self, n: int = -1) -> bytes:
        if self.head:
            chunk = self.head if n < 0 else self.head[:n]
            self.head = self.head[len(chunk):]
            return chunk
        return self.fh.read(n)


class _LoneCrAsLf:
    """A binary stream in which a lone CR (not followed by LF) reads as LF, as Hadoop's line reader
    ends a line at ``\\n``, ``\\r\\n`` or ``\\r``. One byte for one: offsets stay those of the file.
    Notes whether the file's line ends are mixed (a lone CR, or CRLF beside a bare LF)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.held = fh, b""
        self.lone_cr = self.crlf = self.bare_lf = False

    @property
    def mixed(self) -> bool:
        return self.lone_cr or (self.crlf and self.bare_lf)

    def read(self, n: int = -1) -> bytes:
        data = b""
        while not data:
            chunk = self.fh.read(n)
            data, self.held = self.held + chunk, b""
            if not chunk:  # the end: a CR held back ends the last line
                break
            if data.endswith(b"\r"):  # a CR at the end of a chunk: its next byte decides
                data, self.held = data[:-1], b"\r"
        crs = data.count(b"\r")
        crlfs = data.count(b"\r\n") if crs else 0
        self.crlf = self.crlf or crlfs > 0
        self.bare_lf = self.bare_lf or data.count(b"\n") > crlfs
        if crs > crlfs:
            self.lone_cr = True
            data = re.sub(rb"\r(?!\n)", b"\n", data)
        return data


class _Scanner:
    """Line-by-line judgement of one file (the slow path: only for chunks that need it)."""

    def __init__(self, scan: TextScan, encoding: str, codec: str, limit: int, out: IO[bytes] | None,
                 keep_line_numbers: bool, header_lines: int = 0) -> None:
        self.scan, self.encoding, self.codec, self.limit = scan, encoding, codec, limit
        self.out, self.keep, self.header_lines = out, keep_line_numbers, header_lines
        self.number, self.offset = 0, 0

    def lines(self, lines: Iterator[tuple[bytes, int, bool, int]]) -> None:
        for body, body_size, too_large, consumed in lines:
            self.number += 1
            text: str | None = None
            if self.number <= self.header_lines:  # a header is no record: kept (readers skip it), never quarantined
                text = body.decode(self.codec, errors="replace")
            elif too_large:
                self.scan.rejects.append(LineReject(self.number, records.record_too_large(body_size, self.limit),
                                                    records.escape_bytes(body), body_size))
            else:
                try:
                    text = body.decode(self.codec)
                except UnicodeDecodeError as exc:
                    self.scan.rejects.append(LineReject(
                        self.number, records.undecodable(self.encoding, self.offset + exc.start),
                        records.escape_bytes(body), body_size))
            if self.out is not None:
                if text is not None:
                    self.out.write(text.encode("utf-8") + b"\n")
                elif self.keep:
                    self.out.write(b"\n")
            self.offset += consumed

    def chunk(self, data: bytes) -> None:
        """Whole lines: one decode and one write when every line is valid and within the limit."""
        if data and max(map(len, data.split(b"\n"))) <= self.limit:  # (a CR before a newline counts too)
            try:
                text = data.decode(self.codec)
            except UnicodeDecodeError:
                pass
            else:
                if self.out is not None:
                    text = text.replace("\r\n", "\n")
                    if not data.endswith(b"\n"):  # the file's last line, without its line end
                        text = (text[:-1] if text.endswith("\r") else text) + "\n"
                    self.out.write(text.encode("utf-8"))
                self.number += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
                self.offset += len(data)
                return
        self.lines(_lines(io.BytesIO(data), self.limit))


def scan_text(fs: fsspec.AbstractFileSystem, path: str, size: int, encoding: str, max_record_bytes: int,
              out: IO[bytes] | None = None, keep_line_numbers: bool = True, header_lines: int = 0) -> TextScan:
    """Read ``path`` as text in ``encoding``; quarantine undecodable and oversized lines, or the whole file.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (as Hadoop's line reader splits them; ``mixed_line_ends``
    tells a file whose readers may split otherwise). With ``out``, the good lines are written there as
    UTF-8 (BOM stripped, ``\\n`` line ends);
    a quarantined line is written empty when ``keep_line_numbers`` (readers skip empty lines,
    so the other lines keep their numbers), else left out. The first ``header_lines`` (a CSV header)
    are never quarantined: a bad byte there becomes U+FFFD, so the first record cannot become the
    header. Chunks of whole lines that are all
    valid are decoded and written at once; only a chunk with a bad or long line goes line by line.
    """
    scan = TextScan(path=path, size=size)
    codec = codecs.lookup(encoding).name
    if size == 0 and compression_of(path) is not None:  # Python reads an empty "gzip" as empty; engines refuse it
        scan.unreadable = records.unreadable_file(f"empty {compression_of(path)} file (0 bytes, not a valid archive)")
        return scan
    try:
        with open_decompressed(fs, path) as raw_fh:
            if codec.startswith("utf-16"):  # (its CR and LF are two-byte units: lone CRs are not looked for)
                data = raw_fh.read()
                big = _utf16_big_endian(data, encoding.upper())
                scanner = _Scanner(scan, encoding, "utf-16-be" if big else "utf-16-le", max_record_bytes, out,
                                   keep_line_numbers, header_lines)
                scanner.lines(_utf16_lines(data, big, max_record_bytes))
            else:
                fh = _LoneCrAsLf(raw_fh)
                scanner = _Scanner(scan, encoding, codec, max_record_bytes, out, keep_line_numbers, header_lines)
                _scan_chunks(fh, scanner, strip_bom=codec == "utf-8")  # type: ignore[arg-type]
                scan.mixed_line_ends = fh.mixed
            scan.lines = scanner.number
    except UnreadableFile as exc:
        scan.unreadable = records.unreadable_file(str(exc))
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        kind = compression_of(path) or "file"
        scan.unreadable = records.unreadable_file(f"cannot read {kind} ({type(exc).__name__}: {exc})")
    return scan


def _scan_chunks(fh: IO[bytes], scanner: _Scanner, strip_bom: bool) -> None:
    """Feed ``scanner`` chunks of whole lines; a line longer than a chunk switches to streaming lines."""
    rest = b""
    first = True
    while True:
        data = fh.read(_SCAN_CHUNK)
        if first and strip_bom:
            data = data + fh.read(len(_UTF8_BOM)) if 0 < len(data) < len(_UTF8_BOM) else data
            if data.startswith(_UTF8_BOM):
                data = data[len(_UTF8_BOM):]
                scanner.offset += len(_UTF8_BOM)
        first = False
        if not data:
            if rest:
                scanner.chunk(rest)
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) > max(_SCAN_CHUNK, scanner.limit + 2):
            # no line end in sight: stream the rest of the file line by line, in bounded memory
            scanner.lines(_lines(_Prepend(data, fh), scanner.limit))  # type: ignore[arg-type]
            return
        if cut:
            scanner.chunk(data[:cut])
        rest = data[cut:]


def staged_name(index: int, path: str) -> str:
    """A glob-safe name for the staged stand-in of a raw file (its index; ``.gz`` kept)."""
    return f"file-{index:06d}{plain_suffix(path)}"


def write_clean_copy(fs: fsspec.AbstractFileSystem, path: str, size: int, encoding: str, max_record_bytes: int,
                     target: str, keep_line_numbers: bool = True, header_lines: int = 0) -> TextScan:
    """:func:`scan_text` writing the clean UTF-8 copy to ``target`` (on the same filesystem)."""
    fs.makedirs(posixpath.dirname(target), exist_ok=True)
    with fs.open(target, "wb") as out:
        return scan_text(fs, path, size, encoding, max_record_bytes, out=out, keep_line_numbers=keep_line_numbers,
                         header_lines=header_lines)


def copy_literal(fs: fsspec.AbstractFileSystem, path: str, target: str, local: bool) -> None:
    """``target`` stands for ``path`` under a glob-safe name: a symlink on local disk, else a byte copy.

    (fsspec's ``copy`` expands glob characters in the source, so the copy is streamed by hand.)
    """
    import os

    fs.makedirs(posixpath.dirname(target), exist_ok=True)
    if local:
        os.symlink(path, target)
        return
    with fs.open(path, "rb") as src, fs.open(target, "wb") as dst:
        while chunk := src.read(_READ_CHUNK):
            dst.write(chunk)
