"""Schema of one file from its sample: Parquet from the footer, JSON lines and CSV from ≤ 1 MB / 1000 records.

Each file gets a :class:`FileSchema` (columns as :class:`GlueType` trees, record count
and the stored bytes those records occupy); merging files into a table is
:mod:`lakeglue.crawler.schema`'s job.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

import fsspec
import pyarrow as pa

from lakeglue.crawler.classify import Sample, UnreadableFile, read_sample
from lakeglue.crawler.types import NULL, STRING, GlueType, from_arrow, widen
from lakeglue.storage.zones import FileInfo

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class CsvHints:
    """Table-level CSV options a file must follow (the SerDe has one delimiter and one header rule)."""

    delimiter: str | None = None
    header: bool | None = None


@dataclass
class FileSchema:
    path: str
    format: str
    compression: str
    columns: list[tuple[str, GlueType]]
    #: Records in the sample (all rows for Parquet).
    records: int
    #: Stored bytes those records occupy (for averageRecordSize).
    stored_bytes: float
    bytes_read: int
    delimiter: str = ""
    header: bool | None = None
    #: Why the header was judged present or absent (CSV only).
    header_reason: str = ""
    notes: list[str] = field(default_factory=list)


def infer_file(fs: fsspec.AbstractFileSystem, info: FileInfo, max_bytes: int, max_records: int,
               csv_hints: CsvHints | None = None) -> FileSchema:
    """Classify, sample and infer one file; :class:`UnreadableFile` for anything unusable."""
    sample = read_sample(fs, info, max_bytes)
    if sample.format == "parquet":
        return infer_parquet(sample)
    if sample.format == "json":
        return infer_json(sample, max_records)
    from lakeglue.crawler.csvinfer import infer_csv

    return infer_csv(sample, max_records, csv_hints or CsvHints())


def infer_parquet(sample: Sample) -> FileSchema:
    schema: pa.Schema = sample.arrow_schema
    columns = [(f.name.lower(), from_arrow(f.type)) for f in schema]
    if not columns:
        raise UnreadableFile(sample.path, "Parquet file without columns")
    return FileSchema(path=sample.path, format="parquet", compression=sample.compression, columns=columns,
                      records=sample.num_rows, stored_bytes=sample.size, bytes_read=sample.bytes_read,
                      notes=list(sample.notes))


def covered_stored_bytes(sample: Sample, consumed_chars: int) -> float:
    """Stored bytes behind the first ``consumed_chars`` of the sample text (whole file if all was used)."""
    if not sample.truncated and consumed_chars >= len(sample.text):
        return float(sample.size)
    return sample.stored_bytes * consumed_chars / max(len(sample.text), 1)


def infer_json(sample: Sample, max_records: int) -> FileSchema:
    """JSON lines: malformed lines are skipped and counted, never fatal for the file."""
    text = sample.text
    lines = text.split("\n")
    if sample.truncated and not text.endswith("\n"):
        lines = lines[:-1]  # the byte limit cut the last line
    objects: list[dict[str, object]] = []
    raw_lines: list[str] = []
    bad = 0
    first_bad = ""
    consumed = 0
    for lineno, line in enumerate(lines, 1):
        consumed += len(line) + 1
        stripped = line.strip()
        if not stripped:
            continue
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            bad += 1
            first_bad = first_bad or f"line {lineno} column {exc.colno}: {exc.msg}"
            continue
        if not isinstance(obj, dict):
            bad += 1
            first_bad = first_bad or f"line {lineno}: a JSON {type(obj).__name__}, not an object"
            continue
        objects.append(obj)
        raw_lines.append(stripped)
        if len(objects) >= max_records:
            break
    notes = list(sample.notes)
    if not objects:
        objects, raw_lines = _whole_document(sample, first_bad)
        notes.append("one JSON object spread over several lines (not JSON lines); read as one record")
        bad = 0
    elif bad:
        notes.append(f"{bad} malformed line(s) skipped (first at {first_bad})")
    record = _arrow_record_type(raw_lines, notes)
    notes = list(dict.fromkeys(notes))  # one note per distinct conflict, not per record
    record = _refine_dates(record, objects)
    columns = list(zip(record.fields, record.children, strict=True))
    return FileSchema(path=sample.path, format="json", compression=sample.compression, columns=columns,
                      records=len(objects), stored_bytes=covered_stored_bytes(sample, consumed),
                      bytes_read=sample.bytes_read, notes=notes)


def _whole_document(sample: Sample, first_bad: str) -> tuple[list[dict[str, object]], list[str]]:
    stripped = sample.text.strip()
    if stripped.startswith("["):
        raise UnreadableFile(sample.path, "top-level JSON array: Glue needs a custom JsonPath classifier "
                                          "($[*]) for this, and JSON lines (one object per line) is expected")
    if not sample.truncated:
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            return [obj], [json.dumps(obj)]
    raise UnreadableFile(sample.path, f"no valid JSON object in the sampled lines ({first_bad or 'no lines'})")


def _arrow_record_type(raw_lines: list[str], notes: list[str]) -> GlueType:
    """Arrow's JSON inference on all lines at once; per line + widening when types conflict."""
    import pyarrow.json as pj

    payload = "\n".join(raw_lines).encode()
    options = pj.ReadOptions(block_size=max(len(payload) + 1, 1 << 16))
    try:
        table = pj.read_json(io.BytesIO(payload), read_options=options)
        return from_arrow(pa.struct(list(table.schema)))
    except pa.ArrowInvalid as exc:
        notes.append(f"a field has values of different JSON types ({exc}); typed record by record")
    record = GlueType("struct")
    for line in raw_lines:
        data = line.encode()
        try:
            table = pj.read_json(io.BytesIO(data),
                                 read_options=pj.ReadOptions(block_size=max(len(data) + 1, 1 << 16)))
            line_type = from_arrow(pa.struct(list(table.schema)))
        except pa.ArrowInvalid:  # mixed types inside one record (e.g. [1, "a"]): type the Python values
            line_type = python_type(json.loads(line), "", notes)
        record = widen(record, line_type, "", notes)
    return record


def python_type(value: object, where: str, notes: list[str]) -> GlueType:
    """Glue type of a decoded JSON value, widening array elements; the fallback when Arrow gives up."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return GlueType("boolean")
    if isinstance(value, int):
        return GlueType("bigint")
    if isinstance(value, float):
        return GlueType("double")
    if isinstance(value, list):
        element = NULL
        for item in value:
            element = widen(element, python_type(item, f"{where}.element", notes), f"{where}.element", notes)
        return GlueType("array", (element,))
    if isinstance(value, dict):
        names = [str(k).lower() for k in value]
        types = [python_type(v, f"{where}.{k}" if where else k, notes)
                 for k, v in zip(names, value.values(), strict=True)]
        return GlueType("struct", tuple(types), tuple(names))
    return STRING


def _refine_dates(record: GlueType, objects: list[dict[str, object]]) -> GlueType:
    """Arrow reads ``2026-11-01`` as a timestamp; when every value of a field is date-only, it is a date."""
    children = list(record.children)
    lowered = [{str(k).lower(): v for k, v in obj.items()} for obj in objects]
    for i, (name, child) in enumerate(zip(record.fields, record.children, strict=True)):
        if child.name != "timestamp":
            continue
        values = [o[name] for o in lowered if o.get(name) is not None]
        if values and all(isinstance(v, str) and _DATE_ONLY.match(v) for v in values):
            children[i] = GlueType("date")
    return GlueType("struct", tuple(children), record.fields)
