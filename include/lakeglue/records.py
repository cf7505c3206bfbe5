"""The record rules every stage shares, so the crawler, both engines and the query layer cannot drift.

One module names: the table/column parameters the crawler writes and every reader honours
(encoding, null markers, original names, unreadable tables), the lineage columns, the
quarantine record schema, the reject reasons, how a raw name becomes a column name, and
the accounting invariant each job checks before it commits. Plain Python, no engine import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# -- table and column parameters -------------------------------------------------------------
#: Character encoding of a text table's files (Hive LazySimpleSerDe's parameter name); Python codec
#: names normalised by :func:`normalise_encoding` (``UTF-8``, ``ISO-8859-1``, ``UTF-16LE`` …).
ENCODING_PARAM = "serialization.encoding"
#: Hive's null marker of a text table (one string; Athena and Trino honour it).
NULL_FORMAT_PARAM = "serialization.null.format"
#: Every null marker of the table (a JSON list; Hive can name only one, a CSV often uses several).
NULL_MARKERS_PARAM = "lakeglue.null.markers"
#: Set on a table the readers cannot read, with the reason (the crawler catalogues it anyway).
UNREADABLE_PARAM = "lakeglue.unreadable"
#: Column parameter (and table-level JSON map for nested fields): the raw key or header a column came from.
ORIGINAL_NAME_PARAM = "lakeglue.original_name"
#: Table parameter: JSON object ``{"a.b": "original key of b"}`` for every renamed field, top-level or nested.
ORIGINAL_NAMES_PARAM = "lakeglue.original_names"
#: Table parameter: JSON object ``{"column": "<strptime layout>"}`` for top-level date/timestamp columns whose
#: text is not ISO (written by the crawler, parsed with by the query layer).
COLUMN_FORMATS_PARAM = "lakeglue.column.formats"

DEFAULT_ENCODING = "UTF-8"
#: Markers the crawler recognises as "no value" in text tables, in the order it prefers them (the one
#: list: the crawler ignores exactly these while typing a column and records those it ignored).
#: ``NaN``/``nan``/``Infinity`` are not markers: they are IEEE doubles, and every reader casts them to
#: one, so a column holding them is typed ``double`` and keeps them (pandas' missing-int idiom too).
NULL_MARKER_CANDIDATES: tuple[str, ...] = ("", "NA", "N/A", "null", "NULL", "\\N", "-", "None", "Null", "n/a",
                                           "#N/A")

# -- lineage and quarantine ------------------------------------------------------------------
BATCH_KEY = "_batch_id"
LINEAGE_COLUMNS = ("_source_file", "_line", "_ingested_at", BATCH_KEY)
#: One JSON line per quarantined record. ``size`` is the record's byte size where it matters (a
#: record over the limit, a whole file); ``line`` is NULL for a whole file.
QUARANTINE_FIELDS = ("source_file", "line", "reason", "raw", "layer", "table", "batch_id", "size")

# -- reject reasons (a reason names the rule broken; values that vary follow a colon) ----------
MALFORMED_JSON = "malformed JSON: not a complete object"
NOT_OBJECT = "not a JSON object"


def ragged_csv_record(fields: int) -> str:
    """A CSV record whose field count differs from the header's (quarantined, neither padded nor cut)."""
    return f"CSV record does not have the {fields} fields of the header"


def invalid_value_parts(column: str, type_label: str) -> tuple[str, str]:
    """The text before and after a value that does not cast: ``column c: value '<v>' is not a valid t``.

    Split in two because each engine inserts the value with its own string expression.
    """
    return f"column {column}: value '", f"' is not a valid {type_label}"


def null_key(column: str) -> str:
    return f"business key column {column} is null"


def undecodable(encoding: str, offset: int | None = None) -> str:
    """A line whose bytes are not valid in the table's encoding (raw kept as escaped bytes)."""
    where = f" at byte {offset}" if offset is not None else ""
    return f"undecodable: not valid {encoding}{where}"


def record_too_large(size: int, limit: int) -> str:
    return f"record too large: {size} bytes over the limit of {limit} bytes (setting max_record_bytes)"


def unreadable_file(detail: str) -> str:
    """A whole file that cannot be decompressed, decoded or parsed: quarantined as one file."""
    return f"unreadable file: {' '.join(detail.split())[:500]}"


def escape_bytes(raw: bytes) -> str:
    """Undecodable bytes as text that keeps every byte: ASCII as is, the rest as ``\\xNN``."""
    return raw.decode("ascii", errors="backslashreplace")


# -- names -----------------------------------------------------------------------------------
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")


def is_plain_name(name: str) -> bool:
    """A name every engine and SQL dialect takes as it is (and so is kept verbatim)."""
    return bool(_PLAIN.fullmatch(name)) and len(name) <= 255


def safe_name(raw: str, fallback: str = "col") -> str:
    """A raw JSON key or CSV header as a column name: plain names unchanged, others in lower snake case.

    ``Order Items`` → ``order_items``, ``a"b`` → ``a_b``, ``ключ`` → ``col`` (the fallback), ``1st`` → ``_1st``.
    """
    if is_plain_name(raw):
        return raw
    text = _ACRONYM.sub(r"\1_\2", raw.strip())
    text = _CAMEL.sub(r"\1_\2", text)
    text = _NON_WORD.sub("_", text).strip("_").lower()[:200]
    if not text:
        return fallback
    return f"_{text}" if text[0].isdigit() else text


def safe_names(raw_names: Sequence[str], fallback: str = "col") -> list[str]:
    """Column names for a list of raw names: each made safe, collisions suffixed ``_2``, ``_3`` … in order.

    Case-insensitive collisions count (Hive and Athena fold case). Deterministic: the same raw names
    always give the same columns, in the crawler, both engines and the query layer.
    """
    out: list[str] = []
    taken: set[str] = set()
    for index, raw in enumerate(raw_names):
        base = safe_name(raw, fallback=f"{fallback}{index}")
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        out.append(name)
    return out


def original_names(parameters: Mapping[str, str]) -> dict[str, str]:
    """The table's ``{"dotted.safe.path": "original key"}`` map (empty when nothing was renamed)."""
    text = parameters.get(ORIGINAL_NAMES_PARAM, "")
    return dict(json.loads(text)) if text else {}


def encode_original_names(renamed: Mapping[str, str]) -> dict[str, str]:
    """Table parameters recording renamed fields (none when nothing was renamed)."""
    return {ORIGINAL_NAMES_PARAM: json.dumps(dict(sorted(renamed.items())), ensure_ascii=False)} if renamed else {}


# -- encodings and null markers --------------------------------------------------------------
def normalise_encoding(name: str) -> str:
    """A codec name as recorded in the catalog (``latin1`` → ``ISO-8859-1``, ``utf8`` → ``UTF-8``)."""
    import codecs

    canonical = codecs.lookup(name).name  # raises LookupError for an unknown encoding
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "iso8859-1": "ISO-8859-1", "latin-1": "ISO-8859-1",
            "cp1252": "WINDOWS-1252", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE",
            "ascii": "UTF-8"}.get(canonical, canonical.upper())


def table_encoding(parameters: Mapping[str, str], override: str | None = None) -> str:
    return normalise_encoding(override or parameters.get(ENCODING_PARAM) or DEFAULT_ENCODING)


def null_markers(parameters: Mapping[str, str], override: Iterable[str] | None = None) -> tuple[str, ...]:
    """The table's null markers: a spec override, else the crawler's list, else Hive's single marker."""
    if override is not None:
        return tuple(override)
    if parameters.get(NULL_MARKERS_PARAM):
        return tuple(json.loads(parameters[NULL_MARKERS_PARAM]))
    if NULL_FORMAT_PARAM in parameters:
        return (parameters[NULL_FORMAT_PARAM],)
    return ()


def encode_null_markers(markers: Sequence[str]) -> dict[str, str]:
    """Table parameters for detected markers: Hive's one (the first non-empty) plus the full list."""
    if not markers:
        return {}
    primary = next((m for m in markers if m), markers[0])
    return {NULL_FORMAT_PARAM: primary, NULL_MARKERS_PARAM: json.dumps(list(markers), ensure_ascii=False)}


# -- accounting ------------------------------------------------------------------------------
class AccountingError(RuntimeError):
    """A job's record counts do not add up: it must not commit (records would be lost or invented)."""


@dataclass(frozen=True)
class BronzeAccount:
    """Per table and batch: every record read is a bronze row or a quarantined record; every
    claimed file was read or quarantined as a whole file."""

    files_claimed: int
    files_quarantined: int
    records_read: int
    rows_written: int
    records_quarantined: int

    def check(self, table: str) -> None:
        if self.records_read != self.rows_written + self.records_quarantined:
            raise AccountingError(
                f"bronze {table}: {self.records_read} records read != {self.rows_written} rows written + "
                f"{self.records_quarantined} quarantined; nothing committed")
        if self.files_quarantined > self.files_claimed:
            raise AccountingError(f"bronze {table}: {self.files_quarantined} files quarantined of "
                                  f"{self.files_claimed} claimed; nothing committed")


@dataclass(frozen=True)
class SilverAccount:
    """Per table: the new bronze rows absorbed = silver rows they produced + silver quarantine +
    duplicates dropped (rows that lost the dedupe to another row of the same key) + rows a custom
    step dropped on purpose (a filter step; 0 without steps)."""

    bronze_rows: int
    silver_rows: int
    quarantined: int
    duplicates: int
    dropped_by_steps: int = 0

    def check(self, table: str) -> None:
        if self.bronze_rows != self.silver_rows + self.quarantined + self.duplicates + self.dropped_by_steps:
            steps = f" + {self.dropped_by_steps} dropped by custom steps" if self.dropped_by_steps else ""
            raise AccountingError(
                f"silver {table}: {self.bronze_rows} bronze rows != {self.silver_rows} silver rows + "
                f"{self.quarantined} quarantined + {self.duplicates} duplicates dropped{steps}; nothing committed")
