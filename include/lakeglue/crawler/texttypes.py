"""Types of text values (CSV fields, JSON strings), decided from samples with a stated confidence.

Glue types text as bigint / double / string only, which turns money into ``double`` and
every non-ISO date into ``string``. Here a column's type is the most specific one that *every*
sampled value fits — ``decimal(38,s)`` for fixed-point text, ``date`` / ``timestamp`` in ISO
8601 or one of the common formats below — and when most but not all values fit a type, the
column stays ``string`` and a note says which value broke it. ``confidence`` is the share of
non-null sampled values that fit the type.

Never narrower than later data can be (a sample is not the file): integers are ``bigint`` as
in Glue (``int`` only with ``narrow_ints``, an explicit opt-in), integers beyond 64 bits are
``decimal(38,0)`` (beyond 38 digits: ``string``), fixed-point text is ``decimal(38,s)`` (the
sampled scale, the widest precision: a later value with more integer digits still fits), and
``NaN``/``Infinity`` make a column ``double``. Values in :data:`NULL_TOKENS` are ignored while
typing and reported in :attr:`TypeGuess.nulls`, so the crawler can record them as null markers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from lakeglue.crawler.types import NULL, STRING, GlueType
from lakeglue.records import NULL_MARKER_CANDIDATES

#: Field values read as "no value" while typing (records.py holds the one list; readers get the ones seen).
NULL_TOKENS = frozenset(NULL_MARKER_CANDIDATES)
#: A type that fits at least this share of values (but not all) is reported as a near miss.
NEAR_MISS = 0.9
#: Fixed-point text needs at least this many decimals to be read as decimal: one decimal
#: (``4.5``, ``3.0``) is what float printers produce, two or more with a constant scale is not.
MIN_DECIMAL_SCALE = 2
MAX_DECIMAL_SCALE = 9
#: Hive's LazySimpleSerDe reads ``yyyy-MM-dd HH:mm:ss[.f…]`` without a ``timestamp.formats`` hint.
HIVE_DEFAULT_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$")

_INT = re.compile(r"^[+-]?(\d+)$")
_FIXED = re.compile(r"^[+-]?(\d+)\.(\d+)$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: IEEE non-finite values as Python, numpy, pandas, Spark and DuckDB print and parse them.
_NON_FINITE = re.compile(r"^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})([T ])(\d{2}:\d{2})(:\d{2})?(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$")
_INT32 = 2 ** 31
_INT64 = 2 ** 63


@dataclass(frozen=True)
class TemporalFormat:
    """A non-ISO date/timestamp layout: Python's strptime spelling and Joda's (Hive ``timestamp.formats``)."""

    kind: str  # date | timestamp
    strptime: str
    java: str
    regex: re.Pattern[str]


def _dates() -> list[tuple[str, str, str]]:
    return [
        ("%Y/%m/%d", "yyyy/MM/dd", r"\d{4}/\d{1,2}/\d{1,2}"),
        ("%m/%d/%Y", "MM/dd/yyyy", r"\d{1,2}/\d{1,2}/\d{4}"),
        ("%d/%m/%Y", "dd/MM/yyyy", r"\d{1,2}/\d{1,2}/\d{4}"),
        ("%d.%m.%Y", "dd.MM.yyyy", r"\d{1,2}\.\d{1,2}\.\d{4}"),
        ("%m-%d-%Y", "MM-dd-yyyy", r"\d{1,2}-\d{1,2}-\d{4}"),
        ("%d-%m-%Y", "dd-MM-yyyy", r"\d{1,2}-\d{1,2}-\d{4}"),
        ("%d-%b-%Y", "dd-MMM-yyyy", r"\d{1,2}-[A-Za-z]{3}-\d{4}"),
        ("%d %b %Y", "dd MMM yyyy", r"\d{1,2} [A-Za-z]{3} \d{4}"),
        ("%b %d, %Y", "MMM dd, yyyy", r"[A-Za-z]{3} \d{1,2}, \d{4}"),
        ("%B %d, %Y", "MMMM dd, yyyy", r"[A-Za-z]{4,9} \d{1,2}, \d{4}"),
    ]


_TIMES = [
    (" %H:%M:%S.%f", " HH:mm:ss.SSS", r" \d{1,2}:\d{2}:\d{2}\.\d{1,6}"),
    (" %H:%M:%S", " HH:mm:ss", r" \d{1,2}:\d{2}:\d{2}"),
    (" %H:%M", " HH:mm", r" \d{1,2}:\d{2}"),
    (" %I:%M:%S %p", " hh:mm:ss a", r" \d{1,2}:\d{2}:\d{2} [AaPp][Mm]"),
    (" %I:%M %p", " hh:mm a", r" \d{1,2}:\d{2} [AaPp][Mm]"),
]


def _formats() -> tuple[TemporalFormat, ...]:
    out = [TemporalFormat("date", p, j, re.compile(f"^{r}$")) for p, j, r in _dates()]
    for dp, dj, dr in _dates():
        for tp, tj, tr in _TIMES:
            out.append(TemporalFormat("timestamp", dp + tp, dj + tj, re.compile(f"^{dr}{tr}$")))
    out.append(TemporalFormat("timestamp", "%a, %d %b %Y %H:%M:%S %z", "EEE, dd MMM yyyy HH:mm:ss Z",
                              re.compile(r"^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")))
    out.append(TemporalFormat("timestamp", "%d/%b/%Y:%H:%M:%S %z", "dd/MMM/yyyy:HH:mm:ss Z",
                              re.compile(r"^\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$")))
    return tuple(out)


TEMPORAL_FORMATS = _formats()
#: One regex for "could be any date/timestamp layout", so text columns cost one match per value.
_ANY_TEMPORAL = re.compile("|".join(f"(?:{f.regex.pattern})" for f in TEMPORAL_FORMATS)
                           + f"|(?:{_ISO_DATE.pattern})|(?:{_ISO_TIMESTAMP.pattern})")


@dataclass(frozen=True)
class TypeGuess:
    """A column's type from its sampled values, with the evidence."""

    type: GlueType
    #: Share of non-null sampled values that fit ``type`` (1.0 for every typed column).
    confidence: float
    values: int
    #: strptime spelling of a non-ISO date/timestamp layout (DuckDB and Python read it).
    strptime: str = ""
    #: Joda spelling for Hive/Athena ``timestamp.formats``; set when Hive's default cannot read the values.
    java: str = ""
    note: str = ""
    #: The raw values ignored as "no value" (null markers), in :data:`NULL_MARKER_CANDIDATES` order.
    nulls: tuple[str, ...] = ()


def is_null(value: str, tokens: frozenset[str] = NULL_TOKENS) -> bool:
    return value.strip() in tokens


def marker_order(markers: set[str] | frozenset[str]) -> list[str]:
    """Markers in the preferred order (the candidates' order, then exact spellings with spaces)."""
    rank = {m: i for i, m in enumerate(NULL_MARKER_CANDIDATES)}
    return sorted(markers, key=lambda m: (rank.get(m.strip(), len(rank)), m != m.strip(), m))


def _is_double(value: str) -> bool:
    return bool(_FLOAT.match(value) or _NON_FINITE.match(value))


def _is_int(value: str) -> bool:
    m = _INT.match(value)
    return m is not None and not (len(m.group(1)) > 1 and m.group(1)[0] == "0")


def _iso_java(values: Sequence[str]) -> str:
    """Joda patterns (comma-separated) for ISO timestamps Hive's default cannot read, else ''."""
    patterns: list[str] = []
    for v in values:
        if HIVE_DEFAULT_TIMESTAMP.match(v):
            continue
        m = _ISO_TIMESTAMP.match(v)
        if m is None:
            continue
        java = "yyyy-MM-dd" + ("'T'" if m.group(2) == "T" else " ") + "HH:mm" + (":ss" if m.group(4) else "")
        if m.group(5):
            java += "." + "S" * len(m.group(5))
        if m.group(6):
            java += "ZZ"
        if java not in patterns:
            patterns.append(java)
    return ",".join(patterns)


def _valid_iso(value: str, kind: str) -> bool:
    try:
        if kind == "date":
            date.fromisoformat(value)
        else:
            m = _ISO_TIMESTAMP.match(value)
            if m is None:
                return False
            fraction = f".{m.group(5)[:6]}" if m.group(5) else ""
            zone = m.group(6) or ""
            zone = "+00:00" if zone == "Z" else zone
            if len(zone) == 5:  # +0100 → +01:00
                zone = zone[:3] + ":" + zone[3:]
            elif len(zone) == 3:  # +01 → +01:00
                zone += ":00"
            datetime.fromisoformat(f"{m.group(1)}T{m.group(3)}{m.group(4) or ''}{fraction}{zone}")
    except ValueError:
        return False
    return True


def _fits(fmt: TemporalFormat, value: str) -> bool:
    if not fmt.regex.match(value):
        return False
    try:
        datetime.strptime(value, fmt.strptime)
    except ValueError:
        return False
    return True


def _temporal(values: Sequence[str]) -> tuple[TypeGuess | None, tuple[str, int]]:
    """A date/timestamp guess when every value fits one layout; else the best partial (name, hits)."""
    n = len(values)
    best: tuple[str, int] = ("", 0)
    probe = next((v for v in values if _ANY_TEMPORAL.match(v)), None)
    if probe is None:
        return None, best
    for kind, pattern in (("date", _ISO_DATE), ("timestamp", _ISO_TIMESTAMP)):
        hits = sum(1 for v in values if pattern.match(v) and _valid_iso(v, kind))
        if hits == n:
            return TypeGuess(GlueType(kind), 1.0, n, java=_iso_java(values) if kind == "timestamp" else ""), best
        if hits > best[1]:
            best = (f"ISO 8601 {kind}", hits)
    for fmt in TEMPORAL_FORMATS:
        if not _fits(fmt, probe):
            continue
        hits = sum(1 for v in values if _fits(fmt, v))
        if hits == n:
            others = [o.java for o in TEMPORAL_FORMATS
                      if o is not fmt and o.kind == fmt.kind and all(_fits(o, v) for v in values)]
            note = (f"every value also reads as {others[0]}; chose {fmt.java} (the first matching layout)"
                    if others else "")
            return TypeGuess(GlueType(fmt.kind), 1.0, n, strptime=fmt.strptime, java=fmt.java, note=note), best
        if hits > best[1]:
            best = (f"{fmt.kind} {fmt.java}", hits)
    return None, best


def _numeric(values: Sequence[str], narrow_ints: bool) -> tuple[TypeGuess | None, tuple[str, int]]:
    n = len(values)
    if any(_INT.match(v) and not _is_int(v) for v in values):
        return None, ("", 0)  # leading zeros: a code, not a number (see guess_type's note)
    ints = [v for v in values if _is_int(v)]
    if len(ints) == n:
        magnitudes = [int(v) for v in values]
        if all(-_INT32 <= m < _INT32 for m in magnitudes) and narrow_ints:
            return TypeGuess(GlueType("int"), 1.0, n, note="every sampled value fits 32 bits"), ("", 0)
        if all(-_INT64 <= m < _INT64 for m in magnitudes):
            return TypeGuess(GlueType("bigint"), 1.0, n), ("", 0)
        digits = max(len(v.lstrip("+-")) for v in values)
        if digits <= 38:
            return TypeGuess(GlueType("decimal", precision=38, scale=0), 1.0, n,
                             note="integers beyond 64 bits: decimal(38,0), the widest exact type every "
                                  "engine has"), ("", 0)
        return TypeGuess(STRING, 1.0, n, note=f"integers of {digits} digits: beyond decimal(38,0), kept string "
                                              "so no digit is lost"), ("", 0)
    fixed = [_FIXED.match(v) for v in values]
    if all(m is not None or _is_int(v) for m, v in zip(fixed, values, strict=True)):
        scales = {len(m.group(2)) for m in fixed if m is not None}
        with_scale = sum(1 for m in fixed if m is not None)
        if len(scales) == 1:
            scale = scales.pop()
            share = with_scale / n
            int_digits = max(len((m.group(1) if m else v).lstrip("+-")) for m, v in zip(fixed, values, strict=True))
            if MIN_DECIMAL_SCALE <= scale <= MAX_DECIMAL_SCALE and share >= NEAR_MISS and int_digits + scale <= 38:
                precision = 38  # the sampled integer digits say nothing of later values
                return TypeGuess(GlueType("decimal", precision=precision, scale=scale), share, n,
                                 note=f"{with_scale} of {n} values have exactly {scale} decimals "
                                      "(fixed-point text)"), ("", 0)
    floats = sum(1 for v in values if _is_double(v))
    finite = sum(1 for v in values if _FLOAT.match(v))
    if floats == n and finite:  # NaN/Infinity are doubles next to numbers ("Nan" alone may be a name)
        note = f"{n - finite} NaN/Infinity value(s): IEEE doubles, kept as values (not nulls)" if finite < n else ""
        return TypeGuess(GlueType("double"), 1.0, n, note=note), ("", 0)
    floats = floats if finite else 0  # only NaN/Infinity-like words ("Nan" is also a name): not numbers
    best = ("integers", len(ints)) if len(ints) >= floats else ("double", floats)
    return None, best


def guess_type(raw_values: Sequence[str], narrow_ints: bool = False, temporal_only: bool = False,
               trim: bool = True, null_tokens: frozenset[str] = NULL_TOKENS) -> TypeGuess:
    """The type of a column from its sampled text values (nulls ignored; surrounding spaces trimmed).

    ``temporal_only`` is for JSON strings: a quoted ``"00123"`` is text on purpose, but a
    quoted date is still a date. ``trim=False`` (a CSV classifier's DisableValueTrimming)
    keeps spaces, so `` 2`` is text: the SerDe will not trim it either.
    """
    values: list[str] = []
    nulls: set[str] = set()
    for raw in raw_values:  # one pass: this runs for every sampled value of every column
        stripped = raw.strip()
        if stripped in null_tokens:
            nulls.add(raw)
        else:
            values.append(stripped if trim else raw)
    guess = _guess(values, narrow_ints, temporal_only)
    if not nulls:
        return guess
    markers = nulls | {v.strip() for v in nulls}
    return replace(guess, nulls=tuple(marker_order(markers)))


def _guess(values: list[str], narrow_ints: bool, temporal_only: bool) -> TypeGuess:
    if not values:
        return TypeGuess(NULL, 1.0, 0)
    n = len(values)
    if not temporal_only:
        if all(v.lower() in ("true", "false") for v in values):
            return TypeGuess(GlueType("boolean"), 1.0, n)
        numeric, near_num = _numeric(values, narrow_ints)
        if numeric is not None:
            return numeric
    else:
        near_num = ("", 0)
    temporal, near_time = _temporal(values)
    if temporal is not None:
        return temporal
    name, hits = max(near_num, near_time, key=lambda x: x[1])
    note = ""
    if hits and hits / n >= NEAR_MISS:
        bad = next(v for v in values if not _matches_family(name, v))
        note = f"{hits} of {n} sampled values ({hits / n:.1%}) are {name}, but {bad!r} is not; kept string"
    elif any(_INT.match(v) and not _is_int(v) for v in values) and all(_INT.match(v) for v in values):
        note = "digits with leading zeros (identifiers, codes): kept string so no zero is lost"
    return TypeGuess(STRING, 1.0, n, note=note)


def _matches_family(name: str, value: str) -> bool:
    if name == "integers":
        return _is_int(value)
    if name == "double":
        return _is_double(value)
    if name.startswith("ISO 8601"):
        kind = name.rsplit(" ", 1)[1]
        pattern = _ISO_DATE if kind == "date" else _ISO_TIMESTAMP
        return bool(pattern.match(value)) and _valid_iso(value, kind)
    kind, java = name.split(" ", 1)
    fmt = next(f for f in TEMPORAL_FORMATS if f.kind == kind and f.java == java)
    return _fits(fmt, value)
