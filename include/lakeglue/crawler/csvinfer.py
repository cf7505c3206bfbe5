"""CSV: delimiter sniffing, Glue's header rule (plus one that works on all-string files), column types.

Rows are parsed with :mod:`csv` (quotes, embedded delimiters and newlines), re-serialised
and typed by ``pyarrow.csv`` so CSV types match what Arrow-based engines will read.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections import Counter

from lakeglue.crawler.classify import Sample, UnreadableFile, split_extensions
from lakeglue.crawler.infer import CsvHints, FileSchema, covered_stored_bytes
from lakeglue.crawler.names import dedupe, sanitize_name
from lakeglue.crawler.types import GlueType, from_arrow, widen

#: Glue's CSV classifier delimiters: comma, pipe, tab, semicolon, Ctrl-A.
DELIMITERS = (",", "|", "\t", ";", "\x01")
_DELIMITER_NAMES = {",": "comma", "|": "pipe", "\t": "tab", ";": "semicolon", "\x01": "Ctrl-A"}
_SNIFF_CHARS = 64 * 1024
_SNIFF_ROWS = 50
#: Share of sniffed rows that must have the same field count for a delimiter to qualify.
_CONSISTENCY = 0.9

csv.field_size_limit(16 * 1024 * 1024)


def delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


def sniff_delimiter(text: str, truncated: bool, preferred: str = ",") -> tuple[str, int]:
    """(delimiter, columns): the candidate giving the same ≥ 2 field count on (almost) every row.

    Full consistency beats more columns; ties go to ``preferred`` (from the extension).
    Returns (preferred, 1) when nothing qualifies.
    """
    head = text[:_SNIFF_CHARS]
    cut = truncated or len(text) > _SNIFF_CHARS
    order = [preferred, *[d for d in DELIMITERS if d != preferred]]
    best: tuple[tuple[bool, int, int], str, int] | None = None
    for rank, delimiter in enumerate(order):
        rows = [r for r in itertools.islice(csv.reader(io.StringIO(head), delimiter=delimiter), _SNIFF_ROWS) if r]
        if cut and len(rows) > 1:
            rows = rows[:-1]
        if not rows:
            continue
        columns, hits = Counter(len(r) for r in rows).most_common(1)[0]
        if columns < 2 or hits / len(rows) < _CONSISTENCY:
            continue
        score = (hits == len(rows), columns, -rank)
        if best is None or score > best[0]:
            best = (score, delimiter, columns)
    if best is None:
        return preferred, 1
    return best[1], best[2]


def _preferred_delimiter(path: str) -> str:
    ext = split_extensions(path)[1]
    return {".tsv": "\t", ".psv": "|"}.get(ext, ",")


def read_rows(sample: Sample, delimiter: str, columns: int, max_rows: int) -> tuple[list[list[str]], int, str, int]:
    """(rows with ``columns`` fields, bad row count, first bad row description, characters consumed).

    When the byte limit cut the sample, the last parsed row is incomplete and dropped
    before anything is counted, so a cut row is neither data nor a "bad row".
    """
    buffer = io.StringIO(sample.text)
    reader = csv.reader(buffer, delimiter=delimiter, strict=False)
    parsed: list[tuple[list[str], int, int]] = []  # (row, end position, line number)
    good = 0
    exhausted = True
    for row in reader:
        if good >= max_rows:
            exhausted = False
            break
        parsed.append((row, buffer.tell(), reader.line_num))
        good += len(row) == columns
    if sample.truncated and exhausted and parsed and not sample.text.endswith("\n"):
        parsed.pop()
    rows: list[list[str]] = []
    bad = 0
    first_bad = ""
    consumed = 0
    for row, end, line in parsed:
        consumed = end
        if not row or row == [""]:
            continue
        if len(row) != columns:
            bad += 1
            first_bad = first_bad or f"line {line} has {len(row)} fields, expected {columns}"
            continue
        rows.append(row)
    return rows, bad, first_bad, consumed


def arrow_types(rows: list[list[str]], columns: int) -> list[GlueType]:
    """Arrow's CSV type inference (int64, double, bool, date32, timestamp, string) on these rows."""
    import pyarrow.csv as pacsv

    if not rows:
        return [GlueType("null")] * columns
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    payload = out.getvalue().encode()
    table = pacsv.read_csv(
        io.BytesIO(payload),
        read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(columns)],
                                       block_size=max(len(payload) + 1, 1 << 16)),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
    )
    return [from_arrow(t) for t in table.schema.types]


def _shape(value: str) -> frozenset[str]:
    """Character classes of a value: lower, upper, digit, space, underscore, other punctuation."""
    classes = set()
    for ch in value:
        if ch.islower():
            classes.add("a")
        elif ch.isupper():
            classes.add("A")
        elif ch.isdigit():
            classes.add("9")
        elif ch.isspace():
            classes.add(" ")
        elif ch == "_":
            classes.add("_")
        else:
            classes.add(".")
    return frozenset(classes)


def _identifier_like(value: str) -> bool:
    return bool(value) and (value[0].isalpha() or value[0] == "_") and \
        all(ch.isalnum() or ch in "_ .-()#/" for ch in value)


def looks_like_header(first: list[str], body: list[list[str]]) -> tuple[bool, str]:
    """Header test for files where every column is a string (Glue's rule cannot decide those).

    Row 1 is a header when its fields are distinct identifier-like names that never occur
    as values below, and in at least half of the columns the name's character classes
    (``customer_id`` = lower + underscore) differ from every value's (``Alice`` = upper + lower).
    """
    fields = [f.strip() for f in first]
    if len(set(fields)) != len(fields) or not all(_identifier_like(f) for f in fields):
        return False, "row 1 has repeated or non-identifier fields"
    differing = 0
    for i, name in enumerate(fields):
        values = [r[i].strip() for r in body]
        if name in values:
            return False, f"row 1 value {name!r} also occurs as data in column {i}"
        if _shape(name) not in {_shape(v) for v in values if v}:
            differing += 1
    needed = max(1, math.ceil(len(fields) / 2))
    if differing >= needed:
        return True, f"row 1 differs in form from the values below in {differing} of {len(fields)} columns"
    return False, f"row 1 looks like the data below it ({differing} of {len(fields)} columns differ)"


def infer_csv(sample: Sample, max_records: int, hints: CsvHints) -> FileSchema:
    notes = list(sample.notes)
    preferred = _preferred_delimiter(sample.path)
    delimiter, columns = sniff_delimiter(sample.text, sample.truncated, hints.delimiter or preferred)
    if hints.delimiter and delimiter != hints.delimiter:
        raise UnreadableFile(sample.path, f"delimiter is {delimiter_name(delimiter)}, but the table uses "
                                          f"{delimiter_name(hints.delimiter)}")
    if columns < 2:
        if split_extensions(sample.path)[1] not in (".csv", ".tsv", ".psv"):
            raise UnreadableFile(sample.path, "not CSV: no delimiter among comma, pipe, tab, semicolon, Ctrl-A "
                                              "gives the same ≥ 2 columns on every row, and not JSON; unknown format")
        notes.append("single-column CSV (no delimiter gives ≥ 2 columns consistently)")
    rows, bad, first_bad, consumed = read_rows(sample, delimiter, columns, max_records + 1)
    if bad:
        notes.append(f"{bad} row(s) with the wrong number of fields skipped (first: {first_bad})")
    if len(rows) < 2:
        raise UnreadableFile(sample.path, f"CSV needs at least 2 rows to infer a schema; found {len(rows)}")
    header, reason = _decide_header(rows, columns, hints)
    if header:
        names, renames = dedupe([sanitize_name(f, fallback=f"col{i}") for i, f in enumerate(rows[0])])
        notes.extend(renames)
        types = arrow_types(rows[1:], columns)
        records = len(rows) - 1
    else:
        names = [f"col{i}" for i in range(columns)]
        body = arrow_types(rows[1:], columns)
        first = arrow_types(rows[:1], columns)
        types = [widen(a, b, n, notes) for a, b, n in zip(first, body, names, strict=True)]
        records = len(rows)
    return FileSchema(path=sample.path, format="csv", compression=sample.compression,
                      columns=list(zip(names, types, strict=True)), records=records,
                      stored_bytes=covered_stored_bytes(sample, consumed), bytes_read=sample.bytes_read,
                      delimiter=delimiter, header=header, header_reason=reason, notes=notes)


def _decide_header(rows: list[list[str]], columns: int, hints: CsvHints) -> tuple[bool, str]:
    if hints.header is not None:
        return hints.header, f"header {'present' if hints.header else 'absent'} (set for the table)"
    first_types = arrow_types(rows[:1], columns)
    if not all(t.name == "string" for t in first_types):
        return False, "no header: row 1 has non-string or empty fields"
    body_types = arrow_types(rows[1:], columns)
    typed = [i for i, t in enumerate(body_types) if t.name not in ("string", "null")]
    if typed:
        return True, (f"header detected (Glue's rule): row 1 is all strings and column {typed[0]} below it is "
                      f"{body_types[typed[0]]}")
    found, why = looks_like_header(rows[0], rows[1:])
    return found, f"{'header detected' if found else 'no header'} in an all-string file: {why}"


__all__ = ["DELIMITERS", "arrow_types", "infer_csv", "looks_like_header", "sniff_delimiter"]
