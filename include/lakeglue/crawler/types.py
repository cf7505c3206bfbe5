"""Glue/Hive type strings as a tiny tree, so schemas from different files can be *widened*.

Every file yields Arrow types; the catalog speaks Hive strings (``bigint``,
``array<struct<a:int>>``). Merging two files' schemas has to look inside nested types
(a struct that gained a field in a later file must keep both fields), which string
comparison cannot do, hence the parse → merge → format round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

#: Integral types in widening order, with the decimal digits each needs.
_INTEGRAL_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}
_INTEGRAL_ORDER = tuple(_INTEGRAL_DIGITS)
_FLOATING = ("float", "double")
MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class GlueType:
    """One node: ``name`` is a primitive (``bigint``), ``decimal``, ``array``, ``map`` or ``struct``."""

    name: str
    #: array: (element,); map: (key, value); struct: field types in order.
    children: tuple[GlueType, ...] = ()
    #: struct field names, parallel to ``children``.
    fields: tuple[str, ...] = ()
    precision: int = 0
    scale: int = 0

    def __str__(self) -> str:
        return format_type(self)


NULL = GlueType("null")  # "no value seen yet": widens to anything, written out as string
STRING = GlueType("string")


def format_type(t: GlueType) -> str:
    """The Hive type string; a leftover ``null`` (never saw a value) becomes ``string`` like Glue does."""
    if t.name == "null":
        return "string"
    if t.name == "decimal":
        return f"decimal({t.precision},{t.scale})"
    if t.name == "array":
        return f"array<{format_type(t.children[0])}>"
    if t.name == "map":
        return f"map<{format_type(t.children[0])},{format_type(t.children[1])}>"
    if t.name == "struct":
        inner = ",".join(f"{n}:{format_type(c)}" for n, c in zip(t.fields, t.children, strict=True))
        return f"struct<{inner}>"
    return t.name


# -- parsing ------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*([<>(),:]|[^<>(),:\s]+)")


class TypeParseError(ValueError):
    pass


def parse_type(text: str) -> GlueType:
    """Parse a Hive type string (as stored in the catalog) back into a tree."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    pos, result = _parse(tokens, 0, text)
    if pos != len(tokens):
        raise TypeParseError(f"unexpected {tokens[pos]!r} in type {text!r}")
    return result


def _expect(tokens: list[str], pos: int, token: str, text: str) -> int:
    if pos >= len(tokens) or tokens[pos] != token:
        found = tokens[pos] if pos < len(tokens) else "end of text"
        raise TypeParseError(f"expected {token!r} in type {text!r}, found {found!r}")
    return pos + 1


def _parse(tokens: list[str], pos: int, text: str) -> tuple[int, GlueType]:
    if pos >= len(tokens):
        raise TypeParseError(f"type {text!r} ends too early")
    name = tokens[pos].lower()
    pos += 1
    if name == "array":
        pos = _expect(tokens, pos, "<", text)
        pos, elem = _parse(tokens, pos, text)
        return _expect(tokens, pos, ">", text), GlueType("array", (elem,))
    if name == "map":
        pos = _expect(tokens, pos, "<", text)
        pos, key = _parse(tokens, pos, text)
        pos = _expect(tokens, pos, ",", text)
        pos, value = _parse(tokens, pos, text)
        return _expect(tokens, pos, ">", text), GlueType("map", (key, value))
    if name == "struct":
        pos = _expect(tokens, pos, "<", text)
        names: list[str] = []
        children: list[GlueType] = []
        while pos < len(tokens) and tokens[pos] != ">":
            if names:
                pos = _expect(tokens, pos, ",", text)
            names.append(tokens[pos])
            pos = _expect(tokens, pos + 1, ":", text)
            pos, child = _parse(tokens, pos, text)
            children.append(child)
        return _expect(tokens, pos, ">", text), GlueType("struct", tuple(children), tuple(names))
    if name in ("decimal", "varchar", "char") and pos < len(tokens) and tokens[pos] == "(":
        args: list[int] = []
        pos += 1
        while tokens[pos] != ")":
            if tokens[pos] != ",":
                args.append(int(tokens[pos]))
            pos += 1
        pos += 1
        if name != "decimal":
            return pos, STRING  # varchar(n)/char(n) widen like string
        return pos, GlueType("decimal", precision=args[0], scale=args[1] if len(args) > 1 else 0)
    if name == "decimal":
        return pos, GlueType("decimal", precision=10, scale=0)  # Hive's default
    return pos, GlueType(name)


# -- Arrow → Glue -------------------------------------------------------------------------------
def from_arrow(t: pa.DataType, lower: bool = True) -> GlueType:
    """Map an Arrow type onto the Hive vocabulary; struct field names are lower-cased like Hive does
    (``lower=False`` keeps them: JSON keys, renamed later by ``records.safe_names``)."""
    if pa.types.is_dictionary(t):
        return from_arrow(t.value_type, lower)
    if pa.types.is_null(t):
        return NULL
    if pa.types.is_boolean(t):
        return GlueType("boolean")
    if pa.types.is_integer(t):
        return GlueType(_arrow_integer(t))
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return GlueType("float")
    if pa.types.is_float64(t):
        return GlueType("double")
    if pa.types.is_decimal(t):
        return GlueType("decimal", precision=t.precision, scale=t.scale)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return STRING
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return GlueType("binary")
    if pa.types.is_date(t):
        return GlueType("date")
    if pa.types.is_timestamp(t):
        return GlueType("timestamp")
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or \
            pa.types.is_list_view(t):
        return GlueType("array", (from_arrow(t.value_type, lower),))
    if pa.types.is_map(t):
        return GlueType("map", (from_arrow(t.key_type, lower), from_arrow(t.item_type, lower)))
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        return GlueType("struct", tuple(from_arrow(f.type, lower) for f in fields),
                        tuple(f.name.lower() if lower else f.name for f in fields))
    # time, duration, interval, unions: Hive has no equivalent; string keeps the data readable.
    return STRING


def _arrow_integer(t: pa.DataType) -> str:
    bits = t.bit_width + (1 if pa.types.is_unsigned_integer(t) else 0)  # unsigned needs one more bit
    if bits <= 8:
        return "tinyint"
    if bits <= 16:
        return "smallint"
    if bits <= 32:
        return "int"
    return "bigint"


# -- widening -----------------------------------------------------------------------------------
def widen(a: GlueType, b: GlueType, where: str, notes: list[str], fold_case: bool = False) -> GlueType:
    """The narrowest type that holds values of both; incompatible types become string (noted).

    ``where`` names the column (``items.element.price``) for the note, so a reader of the
    crawl result can see exactly which column lost its type and why.
    """
    if a == b:
        return a
    if a.name == "null":
        return b
    if b.name == "null":
        return a
    if a.name == "struct" and b.name == "struct":
        return _widen_struct(a, b, where, notes, fold_case)
    if a.name == "array" and b.name == "array":
        return GlueType("array", (widen(a.children[0], b.children[0], f"{where}.element", notes, fold_case),))
    if a.name == "map" and b.name == "map":
        return GlueType("map", (widen(a.children[0], b.children[0], f"{where}.key", notes, fold_case),
                                widen(a.children[1], b.children[1], f"{where}.value", notes, fold_case)))
    numeric = _widen_numeric(a, b)
    if numeric is not None:
        return numeric
    if {a.name, b.name} == {"date", "timestamp"}:
        return GlueType("timestamp")
    if "string" in (a.name, b.name):
        other = b if a.name == "string" else a
        notes.append(f"column {where}: values of type {format_type(other)} and string seen; kept string")
        return STRING
    notes.append(f"column {where}: incompatible types {format_type(a)} and {format_type(b)}; "
                 f"widened to string so no file fails to read")
    return STRING


def _widen_struct(a: GlueType, b: GlueType, where: str, notes: list[str], fold_case: bool) -> GlueType:
    """With ``fold_case``, fields match case-insensitively (Hive folds case: ``Id`` and ``id`` are one field;
    first spelling kept): for merging files' *safe* schemas. Raw JSON keys keep case (``a`` and ``A`` are
    two keys until ``records.safe_names`` tells them apart)."""
    names = list(a.fields)
    types = list(a.children)
    lowered = [n.lower() if fold_case else n for n in names]
    for name, child in zip(b.fields, b.children, strict=True):
        key = name.lower() if fold_case else name
        if key in lowered:
            i = lowered.index(key)
            types[i] = widen(types[i], child, f"{where}.{names[i]}" if where else names[i], notes, fold_case)
        else:
            names.append(name)
            lowered.append(key)
            types.append(child)
    return GlueType("struct", tuple(types), tuple(names))


def _digits(t: GlueType) -> tuple[int, int] | None:
    """(integer digits, scale) of an exact numeric type, None for anything else."""
    if t.name in _INTEGRAL_DIGITS:
        return _INTEGRAL_DIGITS[t.name], 0
    if t.name == "decimal":
        return t.precision - t.scale, t.scale
    return None


def _widen_numeric(a: GlueType, b: GlueType) -> GlueType | None:
    if a.name in _INTEGRAL_DIGITS and b.name in _INTEGRAL_DIGITS:
        return GlueType(max(a.name, b.name, key=_INTEGRAL_ORDER.index))
    da, db = _digits(a), _digits(b)
    if da is not None and db is not None:  # at least one decimal
        scale = max(da[1], db[1])
        precision = min(MAX_DECIMAL_PRECISION, max(da[0], db[0]) + scale)
        return GlueType("decimal", precision=precision, scale=scale)
    numeric = set(_INTEGRAL_DIGITS) | {"decimal", *_FLOATING}
    if a.name in numeric and b.name in numeric:
        return GlueType("float") if a.name == b.name == "float" else GlueType("double")
    return None
