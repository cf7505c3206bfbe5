"""Which files DuckDB bronze opens for a batch, and what it quarantines before parsing.

The fast path opens the raw files as they are. A file goes through a staged stand-in only
when DuckDB could not open it faithfully: a name with glob characters (``[a].json`` would
read ``a.json``) gets a safe-named symlink (local) or copy (S3); a ``.zip`` or a table not
in UTF-8 gets a UTF-8 copy written by :mod:`lakeglue.jobs.raw_files`. Lineage always names
the real file: the stand-in's path maps to the original URI in ``__lg_files``.

When DuckDB fails on the batch anyway, :func:`prepare` runs again with ``probe=True``: every
file is read in Python; a file that cannot be read is quarantined whole, lines that are not
valid in the encoding or are over ``max_record_bytes`` are quarantined one by one and the
file is read from a clean copy in which they are empty (so line numbers stay those of the
original file). A file with mixed line ends (a lone CR, or CRLF beside LF: DuckDB's reader
fails on it or splits it wrongly) is read from a copy whose lines all end in LF, split as
Hadoop's line reader splits them.
"""

from __future__ import annotations

import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lakeglue import records
from lakeglue.jobs import progress, raw_files
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb.json_lines import spark_file_uri


@dataclass(frozen=True)
class RawFile:
    """A claimed raw file: its lake path, URI (``_source_file``) and size."""

    path: str
    uri: str
    size: int


@dataclass(frozen=True)
class FileReject:
    """A quarantine record found before parsing (``line`` None for a whole file)."""

    source_file: str
    line: int | None
    reason: str
    raw: str | None
    size: int


@dataclass
class Prepared:
    """What to read: ``files`` (engine path, URI) with ``read_from`` (the raw file each came from),
    and the records quarantined before parsing."""

    files: list[tuple[str, str]] = field(default_factory=list)
    read_from: list[RawFile] = field(default_factory=list)
    rejects: list[FileReject] = field(default_factory=list)
    probed: bool = False

    @property
    def files_quarantined(self) -> int:
        return sum(1 for r in self.rejects if r.line is None)

    @property
    def lines_quarantined(self) -> int:
        return sum(1 for r in self.rejects if r.line is not None)

    def quarantine_file(self, raw: RawFile, detail: str) -> None:
        self.rejects.append(FileReject(raw.uri, None, records.unreadable_file(detail), None, raw.size))

    def without(self, index: int, detail: str) -> Prepared:
        """The same preparation with file ``index`` quarantined whole (DuckDB cannot read it alone)."""
        out = Prepared(files=[f for i, f in enumerate(self.files) if i != index],
                       read_from=[r for i, r in enumerate(self.read_from) if i != index],
                       rejects=list(self.rejects), probed=self.probed)
        out.quarantine_file(self.read_from[index], detail)
        return out


def raw_files_of(ctx: JobContext, entries: list[tuple[str, int]]) -> list[RawFile]:
    return [RawFile(path, spark_file_uri(path, ctx.lake.protocol), size) for path, size in entries]


def prepare(ctx: JobContext, staging: str, fmt: str, encoding: str, files: list[RawFile],
            probe: bool = False, header_lines: int = 0) -> Prepared:
    """Per file: open it as is, through a safe-named stand-in, from a clean UTF-8 copy, or quarantine it.

    Stand-ins are written under ``staging`` (the caller removes it when the batch is done)."""
    lake, limit = ctx.lake, ctx.settings.max_record_bytes
    text = fmt in ("json", "csv")
    staging = posixpath.join(staging, "probed" if probe else "direct")
    out = Prepared(probed=probe)
    tracker = progress.current()
    for index, raw in enumerate(files):
        tracker.set_step(f"{'probing' if probe else 'opening'} file {index + 1}/{len(files)}")
        zipped = raw_files.compression_of(raw.path) == "zip"
        needs_copy = text and (zipped or encoding != records.DEFAULT_ENCODING)
        if zipped and not text:
            out.quarantine_file(raw, f"a zip archive cannot hold a {fmt} table's data")
            continue
        if text and (probe or needs_copy) and raw_files.probeable(raw.path):
            target = posixpath.join(staging, f"file-{index:06d}.txt")
            # a copy is needed anyway: one pass writes it; a probe alone writes one only for a file with bad lines
            scan = (raw_files.write_clean_copy(lake.fs, raw.path, raw.size, encoding, limit, target,
                                               keep_line_numbers=fmt == "json", header_lines=header_lines)
                    if needs_copy else
                    raw_files.scan_text(lake.fs, raw.path, raw.size, encoding, limit, header_lines=header_lines))
            if scan.unreadable is not None:
                out.rejects.append(FileReject(raw.uri, None, scan.unreadable, None, raw.size))
                continue
            if needs_copy or scan.rejects or scan.mixed_line_ends:  # DuckDB splits mixed line ends its own way
                if not needs_copy:
                    scan = raw_files.write_clean_copy(lake.fs, raw.path, raw.size, encoding, limit, target,
                                                      keep_line_numbers=fmt == "json", header_lines=header_lines)
                out.rejects += [FileReject(raw.uri, r.line, r.reason, r.raw, r.size) for r in scan.rejects]
                out.files.append((lake.engine_path(target), raw.uri))
                out.read_from.append(raw)
                continue
        if raw_files.has_glob_chars(raw.path):
            target = posixpath.join(staging, raw_files.staged_name(index, raw.path))
            raw_files.copy_literal(lake.fs, raw.path, target, local=lake.protocol == "file")
            out.files.append((lake.engine_path(target), raw.uri))
        else:
            out.files.append((lake.engine_path(raw.path), raw.uri))
        out.read_from.append(raw)
    return out


def truncated_gzips(ctx: JobContext, prepared: Prepared, read: dict[int, tuple[int, int]]) -> list[int]:
    """Indexes of gzip files whose trailer disagrees with what DuckDB read from them.

    ``read`` maps a file index to (lines, bytes of their text). DuckDB reads a truncated gzip up
    to where it breaks without an error; the trailer's size (mod 2**32) then almost never falls
    in the range the lines read allow (newlines of one or two bytes, a BOM), so such a file is
    read again in Python, which does notice the truncation.
    """
    gzips = [i for i, raw in enumerate(prepared.read_from)
             if raw_files.compression_of(raw.path) == "gzip" and not prepared.files[i][0].endswith(".txt")]
    if not gzips:
        return []

    def hint(index: int) -> int | None:
        raw = prepared.read_from[index]
        return raw_files.gzip_size_hint(ctx.lake.fs, raw.path, raw.size)

    if ctx.lake.protocol == "file" or len(gzips) == 1:
        hints = [hint(i) for i in gzips]
    else:  # one small ranged read per object: overlap the round trips
        with ThreadPoolExecutor(max_workers=16) as pool:
            hints = list(pool.map(hint, gzips))
    suspects = []
    for index, size in zip(gzips, hints, strict=True):
        lines, text_bytes = read.get(index, (0, 0))
        low, high = text_bytes + max(lines - 1, 0), text_bytes + 2 * lines + 3
        if size is None or not any(low <= size + k * (1 << 32) <= high for k in range(0, 1 + high // (1 << 32))):
            suspects.append(index)
    return suspects
