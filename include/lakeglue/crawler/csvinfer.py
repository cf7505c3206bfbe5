"""CSV: delimiter sniffing, Glue's header rule (plus one that works on all-string files), column types.

Rows are parsed with :mod:`csv` (quotes, embedded delimiters and newlines); each column is
typed from its sampled values by :mod:`lakeglue.crawler.texttypes` (int/bigint, decimal,
date and timestamp layouts, with the value that broke a near miss).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections import Counter

from lakeglue.crawler.classify import Sample, UnreadableFile
from lakeglue.crawler.infer import CSV_EXTENSIONS, CsvHints, FileSchema, covered_stored_bytes
from lakeglue.crawler.names import dedupe, sanitize_name
from lakeglue.crawler.texttypes import TypeGuess, guess_type, marker_order

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


def sniff_delimiter(text: str, truncated: bool, preferred: str = ",", quote_char: str = '"',
                    only: str | None = None) -> tuple[str, int]:
    """(delimiter, columns): the candidate giving the same ≥ 2 field count on (almost) every row.

    Full consistency beats more columns; ties go to ``preferred`` (from the extension).
    Returns (preferred, 1) when nothing qualifies. ``only`` tries that delimiter alone (a
    CSV classifier's), still requiring consistent rows.
    """
    head = text[:_SNIFF_CHARS]
    cut = truncated or len(text) > _SNIFF_CHARS
    order = [only] if only else [preferred, *[d for d in DELIMITERS if d != preferred]]
    best: tuple[tuple[bool, int, int], str, int] | None = None
    for rank, delimiter in enumerate(order):
        # newline="": \n, \r\n and a lone \r (old Mac) all end a row, as in Hadoop's line reader
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter, quotechar=quote_char)
        rows = [r for r in itertools.islice(reader, _SNIFF_ROWS) if r]
        if cut and len(rows) > 1:
            rows = rows[:-1]
        if not rows:
            continue
        columns, hits = Counter(len(r) for r in rows).most_common(1)[0]
        if (columns < 2 and not only) or hits / len(rows) < _CONSISTENCY:
            continue
        score = (hits == len(rows), columns, -rank)
        if best is None or score > best[0]:
            best = (score, delimiter, columns)
    if best is None:
        return preferred, 1
    return best[1], best[2]


def _preferred_delimiter(data_ext: str) -> str:
    return {".tsv": "\t", ".psv": "|"}.get(data_ext, ",")


def read_rows(sample: Sample, delimiter: str, columns: int, max_rows: int,
              quote_char: str = '"') -> tuple[list[list[str]], int, str, int]:
    """(rows with ``columns`` fields, bad row count, first bad row description, characters consumed).

    When the byte limit cut the sample, the last parsed row is incomplete and dropped
    before anything is counted, so a cut row is neither data nor a "bad row".
    """
    buffer = io.StringIO(sample.text, newline="")
    reader = csv.reader(buffer, delimiter=delimiter, quotechar=quote_char, strict=False)
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


def column_guesses(rows: list[list[str]], columns: int, narrow_ints: bool = False,
                   trim: bool = True) -> list[TypeGuess]:
    """Each column's type from all its sampled values."""
    return [guess_type([r[i] for r in rows], narrow_ints, trim=trim) for i in range(columns)]


def _quoted(text: str, delimiter: str, quote_char: str) -> bool:
    """A field opens with the quote character somewhere in the sample."""
    return text.startswith(quote_char) or f"{delimiter}{quote_char}" in text or f"\n{quote_char}" in text


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


def infer_csv(sample: Sample, max_records: int, hints: CsvHints, narrow_ints: bool = False) -> FileSchema:
    notes = list(sample.notes)
    preferred = _preferred_delimiter(sample.data_ext)
    delimiter, columns = sniff_delimiter(sample.text, sample.truncated, hints.delimiter or preferred,
                                         hints.quote_char, only=hints.delimiter if hints.allow_single_column else None)
    if hints.delimiter and delimiter != hints.delimiter:
        raise UnreadableFile(sample.path, f"delimiter is {delimiter_name(delimiter)}, but the table uses "
                                          f"{delimiter_name(hints.delimiter)}")
    if columns < 2 and not hints.allow_single_column:
        if sample.data_ext not in CSV_EXTENSIONS:
            raise UnreadableFile(sample.path, "not CSV: no delimiter among comma, pipe, tab, semicolon, Ctrl-A "
                                              "gives the same ≥ 2 columns on every row, and not JSON; unknown format")
        notes.append("single-column CSV (no delimiter gives ≥ 2 columns consistently)")
    rows, bad, first_bad, consumed = read_rows(sample, delimiter, columns, max_records + 1, hints.quote_char)
    if bad:
        notes.append(f"{bad} row(s) with the wrong number of fields skipped (first: {first_bad})")
    if len(rows) < 2:
        raise UnreadableFile(sample.path, f"CSV needs at least 2 rows to infer a schema; found {len(rows)}")
    below = column_guesses(rows[1:], columns, narrow_ints, hints.trim)
    header, reason = _decide_header(rows, columns, hints, narrow_ints, below)
    body = rows[1:] if header else rows
    if hints.names:
        if len(hints.names) != columns:
            raise UnreadableFile(sample.path, f"the CSV classifier names {len(hints.names)} columns, the file has "
                                              f"{columns}")
        names, renames = dedupe([sanitize_name(n, fallback=f"col{i}") for i, n in enumerate(hints.names)])
    elif header:
        names, renames = dedupe([sanitize_name(f, fallback=f"col{i}") for i, f in enumerate(rows[0])])
    else:
        names, renames = [f"col{i}" for i in range(columns)], []
    notes.extend(renames)
    originals = {n: f for n, f in zip(names, rows[0], strict=True) if header and not hints.names and n != f}
    if originals:
        notes.append("header names changed to lower snake case (crawler.names.sanitize_name), originals kept in "
                     f"lakeglue.original_names: {', '.join(f'{f!r} -> {n}' for n, f in originals.items())}")
    guesses = below if header else column_guesses(body, columns, narrow_ints, hints.trim)
    formats: dict[str, str] = {}
    java: list[str] = []
    markers = null_markers(names, guesses, notes)
    for name, guess in zip(names, guesses, strict=True):
        if guess.note:
            notes.append(f"column {name}: {guess.note}")
        if guess.strptime:
            formats[name] = guess.strptime
            notes.append(f"column {name}: {guess.type} in layout {guess.java} (every sampled value)")
        if guess.type.name == "timestamp" and guess.java:  # a layout Hive's default cannot read
            java.extend(j for j in guess.java.split(",") if j not in java)
    return FileSchema(path=sample.path, format="csv", compression=sample.compression,
                      columns=[(n, g.type) for n, g in zip(names, guesses, strict=True)], records=len(body),
                      stored_bytes=covered_stored_bytes(sample, consumed), bytes_read=sample.bytes_read,
                      delimiter=delimiter, header=header, header_reason=reason,
                      quoted=_quoted(sample.text, delimiter, hints.quote_char), column_formats=formats,
                      timestamp_formats=java, notes=notes, null_markers=markers, original_names=originals)


def null_markers(names: list[str], guesses: list[TypeGuess], notes: list[str]) -> list[str]:
    """The markers readers must read as NULL: those ignored while typing a column as other than string.

    ``NA`` in an otherwise integer column is a marker (without it every reader fails to cast ``NA`` to
    bigint); ``NA`` in a string column alone is data (a country code). Markers are table-wide (Hive's
    ``serialization.null.format``, DuckDB's ``nullstr``), so a string column holding one reads NULL
    there too: said in the plan.
    """
    found: set[str] = set()
    for name, guess in zip(names, guesses, strict=True):
        if guess.nulls and guess.type.name not in ("string", "null"):
            found.update(guess.nulls)
            notes.append(f"column {name}: {guess.type} with null marker(s) "
                         f"{', '.join(repr(m) for m in guess.nulls)} (ignored while typing; recorded as "
                         "lakeglue.null.markers / serialization.null.format)")
    markers = marker_order(found)
    for name, guess in zip(names, guesses, strict=True):
        shared = [m for m in guess.nulls if m in found]
        if shared and guess.type.name == "string":
            notes.append(f"column {name}: string values {', '.join(repr(m) for m in shared)} read as NULL too "
                         "(null markers are table-wide)")
    return markers


def _decide_header(rows: list[list[str]], columns: int, hints: CsvHints, narrow_ints: bool,
                   body: list[TypeGuess]) -> tuple[bool, str]:
    """Glue's rule on row 1 vs the column types below it (``body``), then the all-string test."""
    if hints.header is not None:
        return hints.header, f"header {'present' if hints.header else 'absent'} (set for the table)"
    first = column_guesses(rows[:1], columns, narrow_ints)
    typed = {i for i, g in enumerate(body) if g.type.name not in ("string", "null")}
    # an empty field in row 1 is a missing header name (col<i>) above a string column; above a typed
    # column it is more likely a missing value of a data row, so it keeps Glue's rule strict there
    empty = [i for i, g in enumerate(first) if g.type.name == "null"]
    if any(g.type.name not in ("string", "null") for g in first) or any(i in typed for i in empty) or \
            len(empty) == columns:
        return False, "no header: row 1 has non-string fields, or empty fields above typed columns"
    if typed:
        blank = f" (empty header field(s) in column(s) {', '.join(map(str, empty))})" if empty else ""
        return True, (f"header detected (Glue's rule): row 1 is all strings and column {min(typed)} below it is "
                      f"{body[min(typed)].type}{blank}")
    found, why = looks_like_header(rows[0], rows[1:])
    return found, f"{'header detected' if found else 'no header'} in an all-string file: {why}"


__all__ = ["DELIMITERS", "column_guesses", "infer_csv", "looks_like_header", "sniff_delimiter"]
