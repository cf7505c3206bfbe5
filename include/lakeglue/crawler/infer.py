"""Schema of one file from its sample: custom classifiers first, then Parquet/ORC/Avro, JSON, CSV.

Each file gets a :class:`FileSchema` (columns as :class:`GlueType` trees, record count
and the stored bytes those records occupy, plus what its SerDe needs); merging files into
a table is :mod:`lakeglue.crawler.schema`'s job.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa

from lakeglue.crawler.classifiers import Classifier
from lakeglue.crawler.classify import Sample, UnreadableFile, read_sample
from lakeglue.crawler.texttypes import guess_type
from lakeglue.crawler.types import MAX_DECIMAL_PRECISION, NULL, STRING, GlueType, from_arrow, widen
from lakeglue.records import safe_names
from lakeglue.storage.zones import FileInfo

JSON_EXTENSIONS = (".json", ".jsonl", ".ndjson")
#: Up to this many JSON records, Python infers the structure faster than Arrow's reader starts up.
SMALL_SAMPLE = 64
CSV_EXTENSIONS = (".csv", ".tsv", ".psv")
_INT32 = 2 ** 31
_INT64 = 2 ** 63


@dataclass(frozen=True)
class CsvHints:
    """Table-level CSV options a file must follow (the SerDe has one delimiter and one header rule)."""

    delimiter: str | None = None
    header: bool | None = None
    quote_char: str = '"'
    #: Column names given by a CSV classifier (instead of a header row or col0, col1…).
    names: tuple[str, ...] = ()
    trim: bool = True
    allow_single_column: bool = False


@dataclass(frozen=True)
class InferOptions:
    """The knobs of one file's inference, taken from the crawler config."""

    max_bytes: int
    max_records: int
    classifiers: tuple[Classifier, ...] = ()
    narrow_ints: bool = False
    #: A crawler config encoding override ("" = detect per file).
    encoding: str = ""


@dataclass
class FileSchema:
    path: str
    #: The table classification this file implies (csv, json, parquet, orc, avro, or a grok classifier's).
    format: str
    compression: str
    columns: list[tuple[str, GlueType]]
    #: Records in the sample (all rows for self-describing formats).
    records: int
    #: Stored bytes those records occupy (for averageRecordSize).
    stored_bytes: float
    bytes_read: int
    delimiter: str = ""
    header: bool | None = None
    #: Why the header was judged present or absent (CSV only).
    header_reason: str = ""
    #: CSV fields in quotes were seen (Hive's LazySimpleSerDe would keep the quotes).
    quoted: bool = False
    #: SerDe class and parameters when not the classification's default (grok, OpenCSV, Avro schema).
    serde: str = ""
    serde_parameters: dict[str, str] = field(default_factory=dict)
    table_parameters: dict[str, str] = field(default_factory=dict)
    #: Columns in a non-ISO date/timestamp layout → strptime pattern (DuckDB and Python read it).
    column_formats: dict[str, str] = field(default_factory=dict)
    #: Joda patterns Hive/Athena need in ``timestamp.formats`` to read the timestamps.
    timestamp_formats: list[str] = field(default_factory=list)
    #: The custom classifier that decided this file, if any.
    classifier: str = ""
    notes: list[str] = field(default_factory=list)
    #: Text files: the encoding decided for the file and the evidence (see ``classify.decode_sample``).
    encoding: str = ""
    encoding_evidence: str = ""
    #: CSV: null markers seen in columns typed other than string (``records.NULL_MARKER_CANDIDATES``).
    null_markers: list[str] = field(default_factory=list)
    #: Renamed fields: dotted safe path → the raw key or header (``records.ORIGINAL_NAMES_PARAM``).
    original_names: dict[str, str] = field(default_factory=dict)


def infer_file(fs: fsspec.AbstractFileSystem, info: FileInfo, options: InferOptions,
               csv_hints: CsvHints | None = None) -> FileSchema:
    """Classify, sample and infer one file; :class:`UnreadableFile` for anything unusable."""
    sample = read_sample(fs, info, options.max_bytes, options.encoding)
    if sample.format != "text":
        return infer_self_describing(sample)
    schema = _infer_text(sample, options, csv_hints)
    schema.encoding, schema.encoding_evidence = sample.encoding, sample.encoding_evidence
    return schema


def _infer_text(sample: Sample, options: InferOptions, csv_hints: CsvHints | None) -> FileSchema:
    partial: tuple[float, FileSchema] | None = None
    rejections: list[str] = []
    if options.classifiers:
        from lakeglue.crawler.custom import try_custom

        certain, partial, rejections = try_custom(sample, options)
        if certain is not None:
            return certain
    try:
        schema = _builtin_text(sample, options, csv_hints or CsvHints())
    except UnreadableFile as exc:
        if partial is None:
            if rejections:
                raise UnreadableFile(exc.path, f"{exc.reason}; custom classifiers: {'; '.join(rejections)}") from exc
            raise
        certainty, schema = partial
        schema.notes.append(f"no classifier is certain; {schema.classifier} has the highest certainty "
                            f"({certainty:.2f}) and decides (the built-in ones failed: {exc.reason})")
        return schema
    schema.notes.extend(rejections)
    return schema


def _builtin_text(sample: Sample, options: InferOptions, hints: CsvHints) -> FileSchema:
    if text_format(sample) == "json":
        return infer_json(sample, options.max_records, options.narrow_ints)
    from lakeglue.crawler.csvinfer import infer_csv

    return infer_csv(sample, options.max_records, hints, options.narrow_ints)


def text_format(sample: Sample) -> str:
    """Built-in rule: JSON by extension or a leading ``{``/``[``, CSV otherwise."""
    first = sample.text.lstrip()[:1]
    if sample.data_ext in JSON_EXTENSIONS:
        if first not in ("{", "["):
            raise UnreadableFile(sample.path, f"extension {sample.data_ext} but the content does not start with a "
                                              f"JSON object (starts with {sample.text.lstrip()[:20]!r})")
        return "json"
    if sample.data_ext in CSV_EXTENSIONS:
        return "csv"
    return "json" if first in ("{", "[") else "csv"


def infer_self_describing(sample: Sample) -> FileSchema:
    if not sample.columns:
        raise UnreadableFile(sample.path, f"{sample.format} file without columns")
    return FileSchema(path=sample.path, format=sample.format, compression=sample.compression,
                      columns=list(sample.columns), records=sample.num_rows, stored_bytes=sample.size,
                      bytes_read=sample.bytes_read, serde_parameters=dict(sample.serde_parameters),
                      notes=list(sample.notes))


def covered_stored_bytes(sample: Sample, consumed_chars: int) -> float:
    """Stored bytes behind the first ``consumed_chars`` of the sample text (whole file if all was used)."""
    if not sample.truncated and consumed_chars >= len(sample.text):
        return float(sample.size)
    return sample.stored_bytes * consumed_chars / max(len(sample.text), 1)


def infer_json(sample: Sample, max_records: int, narrow_ints: bool = False) -> FileSchema:
    """JSON lines: malformed lines are skipped and counted, never fatal for the file."""
    text = sample.text
    lines = text.split("\n")
    if sample.truncated and not text.endswith("\n"):
        lines = lines[:-1]  # the byte limit cut the last line
    objects: list[dict[str, Any]] = []
    bad = 0
    first_bad = ""
    deep = ""
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
        except RecursionError:  # nested deeper than Python's parser goes: not a type to infer from
            bad += 1
            first_bad = first_bad or f"line {lineno}: nested too deep to parse"
            continue
        if not isinstance(obj, dict):
            bad += 1
            first_bad = first_bad or f"line {lineno}: a JSON {type(obj).__name__}, not an object"
            continue
        if stripped.count("{") + stripped.count("[") > MAX_NESTING:  # cheap test before a walk
            obj, clipped = clip_depth(obj)
            deep = deep or (f"line {lineno}" if clipped else "")
        objects.append(obj)
        if len(objects) >= max_records:
            break
    notes = list(sample.notes)
    if not objects:
        objects = _whole_document(sample, first_bad)
        notes.append("one JSON object spread over several lines (not JSON lines); read as one record")
    elif bad:
        notes.append(f"{bad} malformed line(s) skipped (first at {first_bad})")
    if deep:
        notes.append(f"values nested deeper than {MAX_NESTING} levels (first at {deep}): typed string below that "
                     "level (the JSON text)")
    schema = schema_of_objects(sample, objects, narrow_ints, notes)
    schema.stored_bytes = covered_stored_bytes(sample, consumed)
    return schema


def schema_of_objects(sample: Sample, objects: list[dict[str, Any]], narrow_ints: bool,
                      notes: list[str]) -> FileSchema:
    """Columns of JSON records: structure from Arrow (or Python for small samples), then text-aware leaves.

    Both structure paths give the same types because every string/timestamp leaf is
    re-typed from its values afterwards; Python is faster below :data:`SMALL_SAMPLE` records.
    """
    if len(objects) <= SMALL_SAMPLE:
        record = GlueType("struct")
        for obj in objects:
            record = widen(record, python_type(obj, "", notes), "", notes)
    else:
        record = _arrow_record_type([json.dumps(o) for o in objects], notes)
    notes[:] = list(dict.fromkeys(notes))  # one note per distinct conflict, not per record
    formats: dict[str, str] = {}
    java: list[str] = []
    record = _refine(record, list(objects), "", _Refine(narrow_ints, formats, java, notes))
    renamed: dict[str, str] = {}
    paths: dict[str, str] = {}
    record = safe_struct(record, "", "", renamed, paths)
    for path, raw in renamed.items():
        notes.append(f"key {raw!r} becomes column {path} (not a plain identifier or a case-insensitive duplicate; "
                     "records.safe_names); the original is kept in lakeglue.original_names")
    record = GlueType("struct", tuple(_cap_depth(c, 0, n, notes) for n, c in zip(record.fields, record.children,
                                                                                  strict=True)), record.fields)
    columns = list(zip(record.fields, record.children, strict=True))
    return FileSchema(path=sample.path, format="json", compression=sample.compression, columns=columns,
                      records=len(objects), stored_bytes=float(sample.size), bytes_read=sample.bytes_read,
                      column_formats={paths.get(k, k): v for k, v in formats.items()}, timestamp_formats=java,
                      notes=notes, original_names=renamed)


#: Struct/array levels a column keeps as nested types; deeper values are typed ``string`` (the JSON text:
#: every reader gives a nested value to a string column as its JSON), so no type string grows unbounded.
MAX_NESTING = 128


#: What stands for a value nested below :data:`MAX_NESTING` while typing (it is typed string anyway).
_TOO_DEEP = "<nested too deep>"


def clip_depth(obj: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``obj`` with containers below :data:`MAX_NESTING` + 1 levels replaced by a string, without recursion.

    Typing recurses once per level; a 900-level object (which ``json.loads`` still parses) would
    exhaust Python's stack in the typing, not in the parser.
    """
    root: dict[str, Any] = {}
    clipped = False
    stack: list[tuple[Any, Any, int]] = [(obj, root, 0)]
    while stack:
        source, target, depth = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            if isinstance(value, (dict, list)):
                if depth + 1 > MAX_NESTING:
                    value_out: Any = _TOO_DEEP
                    clipped = True
                else:
                    value_out = {} if isinstance(value, dict) else [None] * len(value)
                    stack.append((value, value_out, depth + 1))
            else:
                value_out = value
            target[key] = value_out
    return root, clipped


def _cap_depth(t: GlueType, depth: int, where: str, notes: list[str]) -> GlueType:
    if t.name not in ("struct", "array", "map"):
        return t
    if depth >= MAX_NESTING:
        notes.append(f"column {where}: nested deeper than {MAX_NESTING} levels; typed string (the JSON text)")
        return STRING
    if t.name == "struct":
        return GlueType("struct", tuple(_cap_depth(c, depth + 1, f"{where}.{n}" if where else n, notes)
                                        for n, c in zip(t.fields, t.children, strict=True)), t.fields)
    return GlueType(t.name, tuple(_cap_depth(c, depth + 1, where, notes) for c in t.children))


def safe_struct(t: GlueType, path: str, where: str, renamed: dict[str, str], paths: dict[str, str]) -> GlueType:
    """Struct fields under :func:`lakeglue.records.safe_names`, at any depth.

    ``renamed`` gets ``{"dotted.safe.path": raw key}`` for each renamed field; arrays and map values are
    transparent in that path (a field of the structs in array ``items`` is ``items.a_b``), as the readers
    apply it. ``paths`` maps the inference's raw paths (``items.element.When``) to the safe ones, so
    layouts found under raw names follow the rename.
    """
    if t.name == "struct":
        names = safe_names(list(t.fields))
        children = []
        for raw, safe, child in zip(t.fields, names, t.children, strict=True):
            safe_path = f"{path}.{safe}" if path else safe
            raw_where = f"{where}.{raw}" if where else raw
            paths[raw_where] = f"{paths.get(where, where)}.{safe}" if where else safe
            if safe != raw:
                renamed[safe_path] = raw
            children.append(safe_struct(child, safe_path, raw_where, renamed, paths))
        return GlueType("struct", tuple(children), tuple(names))
    if t.name == "array":
        paths[f"{where}.element"] = f"{paths.get(where, where)}.element"
        return GlueType("array", (safe_struct(t.children[0], path, f"{where}.element", renamed, paths),))
    if t.name == "map":
        paths[f"{where}.value"] = f"{paths.get(where, where)}.value"
        return GlueType("map", (t.children[0], safe_struct(t.children[1], path, f"{where}.value", renamed, paths)))
    return t


def _whole_document(sample: Sample, first_bad: str) -> list[dict[str, Any]]:
    stripped = sample.text.strip()
    if stripped.startswith("["):
        raise UnreadableFile(sample.path, "top-level JSON array: add a JSON classifier with json_path '$[*]' "
                                          "(Glue needs a custom JsonPath classifier for this too); the built-in "
                                          "JSON classifier expects JSON lines (one object per line)")
    if not sample.truncated:
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            return [obj]
    raise UnreadableFile(sample.path, f"no valid JSON object in the sampled lines ({first_bad or 'no lines'})")


def _arrow_record_type(raw_lines: list[str], notes: list[str]) -> GlueType:
    """Arrow's JSON inference on all lines at once; per line + widening when types conflict."""
    import pyarrow.json as pj

    payload = "\n".join(raw_lines).encode()
    options = pj.ReadOptions(block_size=max(len(payload) + 1, 1 << 16))
    try:
        table = pj.read_json(io.BytesIO(payload), read_options=options)
        return from_arrow(pa.struct(list(table.schema)), lower=False)
    except pa.ArrowInvalid as exc:
        notes.append(f"a field has values of different JSON types ({exc}); typed record by record")
    record = GlueType("struct")
    for line in raw_lines:
        data = line.encode()
        try:
            table = pj.read_json(io.BytesIO(data),
                                 read_options=pj.ReadOptions(block_size=max(len(data) + 1, 1 << 16)))
            line_type = from_arrow(pa.struct(list(table.schema)), lower=False)
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
        names = [str(k) for k in value]
        types = [python_type(v, f"{where}.{k}" if where else k, notes)
                 for k, v in zip(names, value.values(), strict=True)]
        return GlueType("struct", tuple(types), tuple(names))
    return STRING


#: JSON strings Spark's JSON reader (Jackson's non-numeric numbers) reads into a double column.
JSON_NON_FINITE_STRINGS = frozenset({"NaN", "Infinity", "+Infinity", "-Infinity", "INF", "+INF", "-INF"})


def _numbers_with_quoted_non_finite(present: list[Any]) -> bool:
    numbers = [v for v in present if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return bool(numbers) and all(isinstance(v, str) and v in JSON_NON_FINITE_STRINGS for v in present
                                 if not (isinstance(v, (int, float)) and not isinstance(v, bool)))


@dataclass
class _Refine:
    narrow_ints: bool
    formats: dict[str, str]
    java: list[str]
    notes: list[str]


def _refine(t: GlueType, values: list[Any], where: str, ctx: _Refine) -> GlueType:
    """Re-type leaves from their values, at any depth: strings that are all dates/timestamps (any
    layout) become date/timestamp; integers beyond 64 bits become ``decimal(38,0)`` (``string`` past
    38 digits); ``bigint`` becomes ``int`` only with the ``narrow_ints`` opt-in."""
    present = [v for v in values if v is not None]
    if t.name == "string" and _numbers_with_quoted_non_finite(present):
        ctx.notes[:] = [n for n in ctx.notes if not n.startswith(f"column {where}: values of type ")]  # not kept
        ctx.notes.append(f"column {where}: numbers and quoted NaN/Infinity; double (Spark's JSON reader and the "
                         "DuckDB engine read those strings as doubles)")
        return GlueType("double")
    if t.name in ("string", "timestamp"):
        texts = [v for v in present if isinstance(v, str)]
        if not texts or len(texts) != len(present):
            return t
        # no null markers in JSON: a reader gives a JSON string "NA" to the date column as it is
        guess = guess_type(texts, temporal_only=True, null_tokens=frozenset())
        if guess.type.name not in ("date", "timestamp"):
            return STRING  # also Arrow's timestamp guesses that the stricter check rejects
        if guess.strptime:
            ctx.formats[where] = guess.strptime
            if guess.type.name == "timestamp" and guess.java not in ctx.java:
                ctx.java.append(guess.java)
            ctx.notes.append(f"column {where}: {guess.type} in layout {guess.java} (every sampled value)")
        if guess.note:
            ctx.notes.append(f"column {where}: {guess.note}")
        return guess.type
    if t.name in ("bigint", "double"):
        ints = [v for v in present if isinstance(v, int) and not isinstance(v, bool)]
        if not ints or len(ints) != len(present):
            return t
        if any(not -_INT64 <= v < _INT64 for v in ints):  # Arrow says double, Python bigint: both would lose
            digits = max(len(str(abs(v))) for v in ints)
            if digits <= MAX_DECIMAL_PRECISION:
                ctx.notes.append(f"column {where}: integers beyond 64 bits; decimal(38,0), the widest exact type")
                return GlueType("decimal", precision=MAX_DECIMAL_PRECISION, scale=0)
            ctx.notes.append(f"column {where}: integers of {digits} digits, beyond decimal(38,0); string")
            return STRING
        if t.name == "bigint" and ctx.narrow_ints and all(-_INT32 <= v < _INT32 for v in ints):
            return GlueType("int")
        return t
    if t.name == "struct":
        dicts = [v for v in present if isinstance(v, dict)]  # decoded JSON: keys are already str
        return GlueType("struct", tuple(_refine(c, [d.get(n) for d in dicts], f"{where}.{n}" if where else n, ctx)
                                        for n, c in zip(t.fields, t.children, strict=True)), t.fields)
    if t.name == "array":
        items = [item for v in present if isinstance(v, list) for item in v]
        return GlueType("array", (_refine(t.children[0], items, f"{where}.element", ctx),))
    if t.name == "map":
        items = [item for v in present if isinstance(v, dict) for item in v.values()]
        return GlueType("map", (t.children[0], _refine(t.children[1], items, f"{where}.value", ctx)))
    return t
