"""From sampled files to one table schema: format vote, table-level CSV options, widening merge.

Glue splits a folder into several tables when schemas differ; lakeglue widens instead
(int → bigint → double, new columns appended) and reports what it could not reconcile,
because one table per folder is what the pipeline downstream expects.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import fsspec

from lakeglue.crawler.classify import UnreadableFile
from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.csvinfer import delimiter_name
from lakeglue.crawler.infer import CsvHints, FileSchema, infer_file
from lakeglue.crawler.types import GlueType, widen
from lakeglue.storage.zones import FileInfo


@dataclass
class TableSchema:
    """The merged schema of one table and the table-level options its SerDe needs."""

    format: str
    compression: str
    columns: list[tuple[str, GlueType]]
    delimiter: str = ""
    header: bool | None = None
    records: int = 0
    stored_bytes: float = 0.0
    files: list[str] = field(default_factory=list)


@dataclass
class Inference:
    """Everything one table's inference produced, including what went wrong and why."""

    schema: TableSchema | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_scanned: int = 0
    bytes_read: int = 0


@dataclass(frozen=True)
class ExistingOptions:
    """What an existing catalog table already fixed: new files must fit it, not redefine it."""

    format: str
    compression: str
    columns: list[tuple[str, GlueType]]
    delimiter: str = ""
    header: bool | None = None


def _by_folder(files: Iterable[FileInfo]) -> dict[str, list[FileInfo]]:
    groups: dict[str, list[FileInfo]] = {}
    for f in files:
        groups.setdefault(posixpath.dirname(f.path), []).append(f)
    return groups


def infer_table(fs: fsspec.AbstractFileSystem, table: str, files: list[FileInfo], config: CrawlerConfig,
                existing: ExistingOptions | None = None) -> Inference:
    """Sample up to ``config.sample_files_per_folder`` readable files per leaf folder and merge them."""
    out = Inference()
    hints = _config_hints(config, existing)
    sampled: list[FileSchema] = []
    capped = 0
    for group in _by_folder(files).values():
        readable = 0
        for info in group:
            if readable >= config.sample_files_per_folder:
                capped += 1
                break
            schema = _try_infer(fs, info, config, hints, out)
            if schema is not None:
                sampled.append(schema)
                readable += 1
    if capped:
        out.notes.append(f"table {table}: read {out.files_scanned} of {len(files)} files (at most "
                         f"{config.sample_files_per_folder} readable files in each folder; {capped} folders "
                         "had more)")
    if not sampled:
        return out
    fmt = _vote_format(table, sampled, existing, out)
    kept = [s for s in sampled if s.format == fmt]
    if fmt == "csv":
        kept = _align_csv(fs, table, kept, config, existing, out)
        if not kept:
            return out
    compression = _vote_compression(table, kept, out)
    base = list(existing.columns) if existing else []
    columns = merge_columns(table, base, kept, out.notes)
    out.schema = TableSchema(
        format=fmt, compression=compression, columns=columns,
        delimiter=kept[0].delimiter if fmt == "csv" else "",
        header=kept[0].header if fmt == "csv" else None,
        records=sum(s.records for s in kept), stored_bytes=sum(s.stored_bytes for s in kept),
        files=[s.path for s in kept])
    return out


def _config_hints(config: CrawlerConfig, existing: ExistingOptions | None) -> CsvHints:
    if existing is not None and existing.format == "csv":
        return CsvHints(existing.delimiter or None, existing.header)
    header = {"PRESENT": True, "ABSENT": False}.get(config.csv_header)
    return CsvHints(None, header)


def _try_infer(fs: fsspec.AbstractFileSystem, info: FileInfo, config: CrawlerConfig, hints: CsvHints,
               out: Inference) -> FileSchema | None:
    out.files_scanned += 1
    try:
        schema = infer_file(fs, info, config.max_sample_bytes, config.max_sample_records, hints)
    except UnreadableFile as exc:
        out.errors.append((exc.path, exc.reason))
        return None
    out.bytes_read += schema.bytes_read
    out.notes.extend(f"{info.path}: {n}" for n in schema.notes)
    return schema


def _vote_format(table: str, sampled: list[FileSchema], existing: ExistingOptions | None, out: Inference) -> str:
    votes = Counter(s.format for s in sampled)
    fmt = existing.format if existing is not None else votes.most_common(1)[0][0]
    if len(votes) > 1 or fmt not in votes:
        why = "the existing table's format" if existing else "the majority of its sampled files"
        out.notes.append(f"table {table}: formats {dict(votes)} found; classification {fmt} ({why})")
    basis = "existing table" if existing else "majority of sampled files"
    for s in sampled:
        if s.format != fmt:
            out.errors.append((s.path, f"classified {s.format}, but table {table} is {fmt} ({basis}); "
                                       "excluded from the schema"))
    return fmt


def _vote_compression(table: str, kept: list[FileSchema], out: Inference) -> str:
    votes = Counter(s.compression for s in kept)
    compression = votes.most_common(1)[0][0]
    if len(votes) > 1:
        out.notes.append(f"table {table}: mixed compression {dict(votes)}; compressionType={compression} "
                         "(majority); engines detect the codec per file")
    return compression


def _align_csv(fs: fsspec.AbstractFileSystem, table: str, kept: list[FileSchema], config: CrawlerConfig,
               existing: ExistingOptions | None, out: Inference) -> list[FileSchema]:
    """One delimiter and one header rule for the whole table; disagreeing files are re-read with them."""
    delimiter = Counter(s.delimiter for s in kept).most_common(1)[0][0]
    header = Counter(bool(s.header) for s in kept).most_common(1)[0][0]
    if existing is not None and existing.format == "csv":
        delimiter = existing.delimiter or delimiter
        header = bool(existing.header) if existing.header is not None else header
    out.notes.append(f"table {table}: CSV delimiter {delimiter_name(delimiter)}, header "
                     f"{'present' if header else 'absent'} ({_header_reason(kept, header)})")
    aligned: list[FileSchema] = []
    hints = CsvHints(delimiter, header)
    for s in kept:
        if s.delimiter == delimiter and s.header == header:
            aligned.append(s)
            continue
        redo = _reinfer(fs, s, config, hints, out)
        if redo is not None:
            out.notes.append(f"{s.path}: re-read with the table's CSV options (on its own it looked like "
                             f"delimiter {delimiter_name(s.delimiter)}, header {s.header})")
            aligned.append(redo)
    return aligned


def _header_reason(kept: list[FileSchema], header: bool) -> str:
    agreeing = [s for s in kept if bool(s.header) == header]
    example = f"; {agreeing[0].path}: {agreeing[0].header_reason}" if agreeing else ""
    return f"{len(agreeing)} of {len(kept)} sampled files agree{example}"


def _reinfer(fs: fsspec.AbstractFileSystem, s: FileSchema, config: CrawlerConfig, hints: CsvHints,
             out: Inference) -> FileSchema | None:
    size = int(fs.size(s.path) or 0)
    info = FileInfo(s.path, size, 0.0)
    try:
        schema = infer_file(fs, info, config.max_sample_bytes, config.max_sample_records, hints)
    except UnreadableFile as exc:
        out.errors.append((exc.path, exc.reason))
        return None
    out.bytes_read += schema.bytes_read
    return schema


def merge_columns(table: str, base: list[tuple[str, GlueType]], schemas: list[FileSchema],
                  notes: list[str]) -> list[tuple[str, GlueType]]:
    """Widen column by column in file order; columns first seen in a later file are appended."""
    names = [n for n, _ in base]
    types = {n: t for n, t in base}
    for index, schema in enumerate(schemas):
        widened: list[str] = []
        for name, t in schema.columns:
            if name in types:
                types[name] = widen(types[name], t, name, widened)
                continue
            if base or index > 0:
                notes.append(f"table {table}: column {name} ({t}) first seen in {schema.path}; appended "
                             "(earlier files do not have it)")
            names.append(name)
            types[name] = t
        notes.extend(f"table {table}: {n} (merging {schema.path})" for n in dict.fromkeys(widened))
    return [(n, types[n]) for n in names]
