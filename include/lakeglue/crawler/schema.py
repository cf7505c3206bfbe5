"""From sampled files to one table schema: format vote, table-level CSV options, widening merge.

Glue splits a folder into several tables when schemas differ; lakeglue widens instead
(int → bigint → double, new columns appended) and reports what it could not reconcile,
because one table per folder is what the pipeline downstream expects. Files are read in
parallel (threads): footers and text heads are small reads whose latency, not bandwidth,
dominates on object stores.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import fsspec

from lakeglue.crawler.classify import UnreadableFile
from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.csvinfer import delimiter_name
from lakeglue.crawler.infer import CsvHints, FileSchema, InferOptions, infer_file
from lakeglue.crawler.texttypes import marker_order
from lakeglue.crawler.types import GlueType, widen
from lakeglue.records import DEFAULT_ENCODING, normalise_encoding
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
    quoted: bool = False
    serde: str = ""
    serde_parameters: dict[str, str] = field(default_factory=dict)
    table_parameters: dict[str, str] = field(default_factory=dict)
    column_formats: dict[str, str] = field(default_factory=dict)
    timestamp_formats: list[str] = field(default_factory=list)
    classifier: str = ""
    #: Text tables: ``records.ENCODING_PARAM`` (empty for Parquet/ORC/Avro).
    encoding: str = ""
    #: ``records.NULL_MARKERS_PARAM`` (CSV).
    null_markers: list[str] = field(default_factory=list)
    #: ``records.ORIGINAL_NAMES_PARAM``: dotted safe path → raw key or header.
    original_names: dict[str, str] = field(default_factory=dict)
    #: ``zip`` when sampled files are zip archives (``tabledef`` turns it into ``records.UNREADABLE_PARAM``).
    unreadable: str = ""


@dataclass
class Inference:
    """Everything one table's inference produced, including what went wrong and why."""

    schema: TableSchema | None = None
    #: The per-file schemas that went into ``schema`` (for the partition consistency report).
    files: list[FileSchema] = field(default_factory=list)
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
    quote_char: str = '"'
    #: The table's SerDe unquotes fields (OpenCSV): new unquoted files must not switch it back.
    quoted: bool = False
    encoding: str = ""
    null_markers: tuple[str, ...] = ()
    original_names: dict[str, str] = field(default_factory=dict)


def infer_options(config: CrawlerConfig, table: str | None = None) -> InferOptions:
    return InferOptions(max_bytes=config.max_sample_bytes, max_records=config.max_sample_records,
                        classifiers=config.classifiers, narrow_ints=config.narrow_text_integers,
                        encoding=config.encoding_for(table))


def read_files(fs: fsspec.AbstractFileSystem, files: list[FileInfo], options: InferOptions, hints: CsvHints,
               parallelism: int) -> list[FileSchema | UnreadableFile]:
    """Infer each file (in order of ``files``), ``parallelism`` at a time; failures are returned, not raised."""
    def one(info: FileInfo) -> FileSchema | UnreadableFile:
        try:
            return infer_file(fs, info, options, hints)
        except UnreadableFile as exc:
            return exc
        except Exception as exc:  # a file no rule foresaw: reported with its name, never the end of the crawl
            return UnreadableFile(info.path, f"cannot infer a schema ({type(exc).__name__}: {exc})")

    if parallelism <= 1 or len(files) <= 1:
        return [one(f) for f in files]
    with ThreadPoolExecutor(max_workers=min(parallelism, len(files)), thread_name_prefix="crawl-read") as pool:
        return list(pool.map(one, files))


def sample_files(fs: fsspec.AbstractFileSystem, files: list[FileInfo], config: CrawlerConfig, hints: CsvHints,
                 out: Inference, cache: dict[str, FileSchema | UnreadableFile] | None = None,
                 table: str | None = None) -> tuple[list[FileSchema], int]:
    """Up to ``sample_files_per_folder`` *readable* files per leaf folder: (schemas, folders capped).

    Reads go in rounds: the first N files of every folder at once, then replacements for
    folders where some were unreadable, so sampling stays bounded and parallel. Files in
    ``cache`` were read earlier in this crawl (and counted then); new reads are added to it.
    """
    cache = cache if cache is not None else {}
    groups = list(_by_folder(files).values())
    want = config.sample_files_per_folder
    taken = [0] * len(groups)
    readable = [0] * len(groups)
    found: dict[str, FileSchema] = {}
    options = infer_options(config, table)
    while True:
        batch: list[FileInfo] = []
        for i, group in enumerate(groups):
            need = want - readable[i]
            if need > 0 and taken[i] < len(group):
                batch.extend(group[taken[i]: taken[i] + need])
                taken[i] += len(group[taken[i]: taken[i] + need])
        if not batch:
            break
        cached = {f.path: cache[f.path] for f in batch if f.path in cache}
        todo = [f for f in batch if f.path not in cached]
        results = dict(zip([f.path for f in todo], read_files(fs, todo, options, hints, config.parallelism),
                           strict=True))
        for info in batch:
            if info.path in cached:
                hit = cached[info.path]
                if isinstance(hit, FileSchema):
                    found[info.path] = hit
                continue
            result = results[info.path]
            cache[info.path] = result
            out.files_scanned += 1
            if isinstance(result, UnreadableFile):
                out.errors.append((result.path, result.reason))
                continue
            out.bytes_read += result.bytes_read
            out.notes.extend(f"{info.path}: {n}" for n in result.notes)
            found[info.path] = result
        for i, group in enumerate(groups):
            readable[i] = sum(1 for f in group[: taken[i]] if f.path in found)
    ordered = [found[f.path] for group in groups for f in group if f.path in found]
    capped = sum(1 for i, group in enumerate(groups) if taken[i] < len(group))
    return ordered, capped


def _by_folder(files: Iterable[FileInfo]) -> dict[str, list[FileInfo]]:
    groups: dict[str, list[FileInfo]] = {}
    for f in files:
        groups.setdefault(posixpath.dirname(f.path), []).append(f)
    return groups


def infer_table(fs: fsspec.AbstractFileSystem, table: str, files: list[FileInfo], config: CrawlerConfig,
                existing: ExistingOptions | None = None, merge_base: bool = True,
                cache: dict[str, FileSchema | UnreadableFile] | None = None) -> Inference:
    """Sample up to ``config.sample_files_per_folder`` readable files per leaf folder and merge them.

    New files must fit an ``existing`` table's format and CSV options; ``merge_base`` starts
    the merge from its columns (incremental crawls), otherwise the schema is rebuilt from
    the files alone (CRAWL_EVERYTHING).
    """
    out = Inference()
    hints = config_hints(config, existing)
    sampled, capped = sample_files(fs, files, config, hints, out, cache, table)
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
    out.files = kept
    compression = _vote_compression(table, kept, out)
    base = list(existing.columns) if existing and merge_base else []
    aliases: dict[str, str] = {}
    columns = merge_columns(table, base, kept, out.notes, aliases,
                            spellings=tuple(n for n, _ in existing.columns) if existing else ())
    first = kept[0]
    formats: dict[str, str] = {}
    java: list[str] = []
    for s in kept:
        formats.update(s.column_formats)
        java.extend(j for j in s.timestamp_formats if j not in java)
    out.schema = TableSchema(
        format=fmt, compression=compression, columns=columns,
        delimiter=first.delimiter if fmt == "csv" else "",
        header=first.header if fmt == "csv" else None,
        records=sum(s.records for s in kept), stored_bytes=sum(s.stored_bytes for s in kept),
        files=[s.path for s in kept], quoted=any(s.quoted for s in kept) or bool(existing and merge_base
                                                                                   and existing.quoted),
        serde=first.serde,
        serde_parameters=dict(first.serde_parameters), table_parameters=dict(first.table_parameters),
        column_formats=formats, timestamp_formats=java, classifier=first.classifier)
    carry = existing if existing is not None and merge_base else None
    schema = out.schema
    schema.encoding = vote_encoding(table, kept, config.encoding_for(table), carry, out)
    schema.null_markers = table_null_markers(table, kept, config, carry, out)
    schema.original_names = dict(carry.original_names) if carry else {}
    for s in kept:
        for path, raw in s.original_names.items():
            if schema.original_names.get(path, raw) != raw:  # files name keys apart differently (rare)
                out.notes.append(f"table {table}: column {path} is key {schema.original_names[path]!r} in earlier "
                                 f"files but {raw!r} in {s.path}; readers use {raw!r} (the last file's)")
            schema.original_names[path] = raw
    for column, raw in aliases.items():  # an existing column a file spells in another case
        if column not in schema.original_names and raw != column:
            schema.original_names[column] = raw
    schema.unreadable = "zip" if compression == "zip" or any(s.compression == "zip" for s in kept) else ""
    return out


def vote_encoding(table: str, kept: list[FileSchema], override: str, existing: ExistingOptions | None,
                  out: Inference) -> str:
    """The table's encoding: the config's; else an existing table's; else the majority of files that show one.

    Files with evidence vote (a BOM, valid multi-byte UTF-8, or bytes that are not UTF-8); pure-ASCII
    files fit every candidate and abstain; a tie goes to UTF-8. So one odd file cannot flip a UTF-8
    table, and an existing table keeps its encoding on incremental crawls (a disagreeing new file is
    named here; bronze quarantines its undecodable lines). Parquet/ORC/Avro: "" (no parameter).
    """
    if not kept or not kept[0].encoding:
        return ""
    if override:
        chosen = normalise_encoding(override)
        out.notes.append(f"table {table}: encoding {chosen} (set in the crawler config; not detected)")
        return chosen
    votes = Counter(s.encoding for s in kept if s.encoding_evidence in ("bom", "utf-8", "fallback", "config"))
    if existing is not None and existing.encoding:
        chosen, why = existing.encoding, "the existing table's (incremental crawl)"
    elif not votes:
        chosen, why = DEFAULT_ENCODING, f"all {len(kept)} sampled files are ASCII"
    else:
        top = max(votes.values())
        leaders = [e for e, n in votes.items() if n == top]
        chosen = DEFAULT_ENCODING if DEFAULT_ENCODING in leaders else leaders[0]
        why = (f"{votes[chosen]} of {sum(votes.values())} sampled files with non-ASCII bytes "
               f"({dict(votes)}; majority of files, ties to UTF-8)")
    if set(votes) - {DEFAULT_ENCODING} or chosen != DEFAULT_ENCODING:  # plain UTF-8 needs no explaining
        out.notes.append(f"table {table}: encoding {chosen} ({why})")
    for s in kept:
        if s.encoding != chosen and s.encoding_evidence != "ascii":
            out.notes.append(f"{s.path}: decoded as {s.encoding}, but table {table} is {chosen}; its lines not "
                             f"valid {chosen} are quarantined by bronze as undecodable")
    return chosen


def table_null_markers(table: str, kept: list[FileSchema], config: CrawlerConfig,
                       existing: ExistingOptions | None, out: Inference) -> list[str]:
    """The config's markers, else every marker a sampled file needed (plus an existing table's)."""
    configured = config.markers_for(table)
    if configured is not None:
        out.notes.append(f"table {table}: null markers {list(configured)} (set in the crawler config)")
        return list(configured)
    found = set(existing.null_markers) if existing else set()
    for s in kept:
        found.update(s.null_markers)
    markers = marker_order(found)
    if markers:
        out.notes.append(f"table {table}: null markers {markers} (seen in columns typed other than string; "
                         "recorded as lakeglue.null.markers and serialization.null.format)")
    return markers


def config_hints(config: CrawlerConfig, existing: ExistingOptions | None = None) -> CsvHints:
    """CSV options a file must follow: an existing table's, else the crawler's header option."""
    if existing is not None and existing.format == "csv":
        return CsvHints(existing.delimiter or None, existing.header, quote_char=existing.quote_char)
    header = {"PRESENT": True, "ABSENT": False}.get(config.csv_header)
    return CsvHints(None, header)


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
    hints = CsvHints(delimiter, header, quote_char=existing.quote_char if existing else '"')
    for s in kept:
        if s.delimiter == delimiter and s.header == header:
            aligned.append(s)
            continue
        redo = _reinfer(fs, s, config, hints, out, table)
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
             out: Inference, table: str | None = None) -> FileSchema | None:
    size = int(fs.size(s.path) or 0)
    info = FileInfo(s.path, size, 0.0)
    try:
        schema = infer_file(fs, info, infer_options(config, table), hints)
    except UnreadableFile as exc:
        out.errors.append((exc.path, exc.reason))
        return None
    out.bytes_read += schema.bytes_read
    return schema


def merge_columns(table: str, base: list[tuple[str, GlueType]], schemas: list[FileSchema],
                  notes: list[str], case_aliases: dict[str, str] | None = None,
                  spellings: tuple[str, ...] = ()) -> list[tuple[str, GlueType]]:
    """Widen column by column in file order; columns first seen in a later file are appended.

    Names differing only in case are one column (Hive and Athena fold case), under the first spelling;
    ``case_aliases`` gets ``{base column: raw key}`` where a file spells a *base* column otherwise (a
    table catalogued before JSON keys kept their case: readers need the key as the files spell it).
    ``spellings``: an existing table's column names, kept when its schema is rebuilt (CRAWL_EVERYTHING).
    """
    names = [n for n, _ in base]
    types = {n: t for n, t in base}
    lowered = {n.lower(): n for n in (*spellings, *names)}
    in_base = {*names, *spellings}
    for index, schema in enumerate(schemas):
        widened: list[str] = []
        for name, t in schema.columns:
            if name not in types and name.lower() in lowered:
                target = lowered[name.lower()]
                raw = schema.original_names.get(name, name)
                notes.append(f"table {table}: column {name} of {schema.path} is column {target} (names that differ "
                             "only in case are one column)")
                if target in in_base and case_aliases is not None:
                    case_aliases.setdefault(target, raw)
                name = target
            if name in types:
                types[name] = widen(types[name], t, name, widened, fold_case=True)
                continue
            if base or index > 0:
                notes.append(f"table {table}: column {name} ({t}) first seen in {schema.path}; appended "
                             "(earlier files do not have it)")
            names.append(name)
            lowered[name.lower()] = name
            types[name] = t
        notes.extend(f"table {table}: {n} (merging {schema.path})" for n in dict.fromkeys(widened))
    return [(n, types[n]) for n in names]
