"""Hive/Glue type strings ↔ DuckDB types, spelled exactly as the Spark engine registers them.

The catalog is shared by both engines, so a table written by DuckDB must carry the type
strings Spark's ``DataType.simpleString()`` would give (``int``, ``bigint``,
``decimal(12,2)``, ``array<struct<a:string>>``): readers, quality suites and the other
engine compare them verbatim. Timestamps are the one subtle case: Spark's ``timestamp`` is
an instant (Parquet ``isAdjustedToUTC=true``) while a naive Parquet timestamp reads back as
``timestamp_ntz``; DuckDB works on naive UTC ``TIMESTAMP`` values and the writer stores
them as ``TIMESTAMPTZ`` so Spark sees ``timestamp`` (see :mod:`lakeglue.jobs.duckdb.writer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Hive primitive name → DuckDB type (decimal is handled apart because it has parameters).
_HIVE_TO_DUCK = {
    "string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "bigint": "BIGINT", "long": "BIGINT",
    "int": "INTEGER", "integer": "INTEGER", "smallint": "SMALLINT", "short": "SMALLINT", "tinyint": "TINYINT",
    "byte": "TINYINT", "double": "DOUBLE", "float": "FLOAT", "real": "FLOAT", "boolean": "BOOLEAN",
    "date": "DATE", "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP", "binary": "BLOB",
}

#: DuckDB type id → Hive name as Spark spells it.
_DUCK_TO_HIVE = {
    "varchar": "string", "bigint": "bigint", "integer": "int", "smallint": "smallint", "tinyint": "tinyint",
    "double": "double", "float": "float", "boolean": "boolean", "date": "date", "blob": "binary",
    "timestamp with time zone": "timestamp",
}
_NAIVE_TIMESTAMPS = ("timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns")


class TypeMappingError(ValueError):
    """A column has a type the catalog (and Spark) cannot represent; the message names the column."""


@dataclass(frozen=True)
class HiveType:
    """A parsed Hive type: a primitive (``name``), or a struct/array/map with children."""

    name: str
    fields: tuple[tuple[str, HiveType], ...] = ()
    element: HiveType | None = None
    key: HiveType | None = None

    @property
    def is_struct(self) -> bool:
        return self.name == "struct"

    @property
    def is_array(self) -> bool:
        return self.name == "array"

    @property
    def is_map(self) -> bool:
        return self.name == "map"

    @property
    def is_container(self) -> bool:
        return self.name in ("struct", "array", "map")

    def to_hive(self) -> str:
        if self.is_struct:
            return "struct<" + ",".join(f"{n}:{t.to_hive()}" for n, t in self.fields) + ">"
        if self.is_array:
            assert self.element is not None
            return f"array<{self.element.to_hive()}>"
        if self.is_map:
            assert self.key is not None and self.element is not None
            return f"map<{self.key.to_hive()},{self.element.to_hive()}>"
        return self.name

    def to_duckdb(self) -> str:
        if self.is_struct:
            return "STRUCT(" + ", ".join(f"{quote_ident(n)} {t.to_duckdb()}" for n, t in self.fields) + ")"
        if self.is_array:
            assert self.element is not None
            return f"{self.element.to_duckdb()}[]"
        if self.is_map:
            assert self.key is not None and self.element is not None
            return f"MAP({self.key.to_duckdb()}, {self.element.to_duckdb()})"
        if self.name.startswith("decimal"):
            return self.name.upper()
        base = self.name.split("(", 1)[0]
        if base not in _HIVE_TO_DUCK:
            raise TypeMappingError(f"Hive type {self.name!r} has no DuckDB equivalent in lakeglue")
        return _HIVE_TO_DUCK[base]

    def as_text(self) -> HiveType:
        """Same nesting, every leaf ``string`` (map keys too): how bronze keeps JSON values verbatim."""
        if self.is_struct:
            return HiveType("struct", fields=tuple((n, t.as_text()) for n, t in self.fields))
        if self.is_array:
            assert self.element is not None
            return HiveType("array", element=self.element.as_text())
        if self.is_map:
            assert self.element is not None
            return HiveType("map", key=STRING, element=self.element.as_text())
        return STRING


STRING = HiveType("string")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def values_sql(rows: Sequence[Sequence[str | int | None]], types: Sequence[str]) -> str:
    """Rows as a literal ``VALUES`` list (strings quoted, integers verbatim, ``None`` as NULL), each
    column cast to its DuckDB type.

    Why not bind parameters: DuckDB's Python client converts bound lists through its pandas-aware
    path, importing pandas (a second or more) into every job that binds a handful of file names.
    """
    if not rows:
        raise ValueError("values_sql needs at least one row")

    def literal(value: str | int | None, duck_type: str) -> str:
        if value is None:
            return f"CAST(NULL AS {duck_type})"
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"values_sql takes str, int or None, got {type(value).__name__}: {value!r}")
        text = str(value) if isinstance(value, int) else quote_literal(value)
        return f"CAST({text} AS {duck_type})"

    lines = []
    for row in rows:
        if len(row) != len(types):
            raise ValueError(f"row {list(row)!r} has {len(row)} values for {len(types)} columns")
        lines.append("(" + ", ".join(literal(v, t) for v, t in zip(row, types, strict=True)) + ")")
    return "VALUES " + ", ".join(lines)


def parse_hive_type(text: str) -> HiveType:
    """Parse ``array<struct<a:bigint,b:decimal(12,2)>>`` and friends (Spark's simpleString grammar)."""
    parsed, rest = _parse(text.strip(), text)
    if rest.strip():
        raise TypeMappingError(f"unexpected {rest!r} after the type in {text!r}")
    return parsed


def _split_top(body: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside ``<>``/``()`` nesting."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts


def _parse(text: str, whole: str) -> tuple[HiveType, str]:
    lower = text.lower()
    for kind in ("struct", "array", "map"):
        if lower.startswith(kind + "<"):
            depth, end = 0, -1
            for i, ch in enumerate(text):
                if ch == "<":
                    depth += 1
                elif ch == ">":
                    depth -= 1
                    if depth == 0:
                        end = i
                        break
            if end < 0:
                raise TypeMappingError(f"unbalanced '<' in type {whole!r}")
            inner, rest = text[len(kind) + 1:end], text[end + 1:]
            if kind == "array":
                return HiveType("array", element=parse_hive_type(inner)), rest
            if kind == "map":
                key_text, value_text = _split_top(inner)
                return HiveType("map", key=parse_hive_type(key_text), element=parse_hive_type(value_text)), rest
            fields = []
            for part in _split_top(inner) if inner.strip() else []:
                name, sep, type_text = part.partition(":")
                if not sep:
                    raise TypeMappingError(f"struct field {part!r} has no ':type' in {whole!r}")
                fields.append((name.strip().strip("`"), parse_hive_type(type_text)))
            return HiveType("struct", fields=tuple(fields)), rest
    return HiveType(lower.replace(" ", "")), ""


def hive_type_of(duck_type: Any, column: str, naive_timestamp: str = "timestamp") -> str:
    """Hive spelling of a DuckDB type (a ``DuckDBPyType``), as Spark would register the same column.

    ``naive_timestamp`` says what a DuckDB ``TIMESTAMP`` is: ``timestamp`` for lakeglue's own
    values (written as instants), ``timestamp_ntz`` for naive timestamps copied from raw Parquet.
    """
    kind = str(duck_type.id)
    if kind == "list":
        return f"array<{hive_type_of(duck_type.children[0][1], column, naive_timestamp)}>"
    if kind == "struct":
        inner = ",".join(f"{name}:{hive_type_of(t, f'{column}.{name}', naive_timestamp)}"
                         for name, t in duck_type.children)
        return f"struct<{inner}>"
    if kind == "map":
        key, value = duck_type.children[0][1], duck_type.children[1][1]
        return f"map<{hive_type_of(key, column, naive_timestamp)},{hive_type_of(value, column, naive_timestamp)}>"
    if kind == "decimal":
        params = dict(duck_type.children)
        return f"decimal({params['precision']},{params['scale']})"
    if kind in _NAIVE_TIMESTAMPS:
        return naive_timestamp
    if kind in _DUCK_TO_HIVE:
        return _DUCK_TO_HIVE[kind]
    hint = " (cast it to BIGINT in the SQL: DuckDB sums integers into HUGEINT)" if kind == "hugeint" else ""
    raise TypeMappingError(f"column {column!r} has DuckDB type {duck_type} which the catalog cannot hold{hint}")


def has_timestamp(duck_type: Any, kinds: tuple[str, ...]) -> bool:
    """Whether a (possibly nested) DuckDB type contains one of the timestamp ``kinds``."""
    kind = str(duck_type.id)
    if kind in ("list", "struct", "map"):
        return any(has_timestamp(child, kinds) for _, child in duck_type.children)
    return kind in kinds


def storage_cast(name: str, duck_type: Any, naive_timestamp: str = "timestamp") -> str:
    """The column as written to Parquet (lakeglue timestamps as instants); cast only when that changes it."""
    ident = quote_ident(name)
    if naive_timestamp == "timestamp" and has_timestamp(duck_type, _NAIVE_TIMESTAMPS):
        return f"CAST({ident} AS {storage_type(duck_type, naive_timestamp)}) AS {ident}"
    return ident


def working_cast(source: str, name: str, duck_type: Any) -> str:
    """A file column in working types (instants as naive UTC timestamps); cast only when needed."""
    target = f"CAST({source} AS {working_type(duck_type)})" if has_timestamp(
        duck_type, ("timestamp with time zone",)) else source
    return f"{target} AS {quote_ident(name)}"


def storage_type(duck_type: Any, naive_timestamp: str = "timestamp") -> str:
    """The DuckDB type a column is written to Parquet as: lakeglue timestamps become instants."""
    kind = str(duck_type.id)
    if kind == "list":
        return f"{storage_type(duck_type.children[0][1], naive_timestamp)}[]"
    if kind == "struct":
        return "STRUCT(" + ", ".join(f"{quote_ident(n)} {storage_type(t, naive_timestamp)}"
                                     for n, t in duck_type.children) + ")"
    if kind == "map":
        key, value = duck_type.children[0][1], duck_type.children[1][1]
        return f"MAP({storage_type(key, naive_timestamp)}, {storage_type(value, naive_timestamp)})"
    if kind in _NAIVE_TIMESTAMPS and naive_timestamp == "timestamp":
        return "TIMESTAMPTZ"
    return str(duck_type)


def working_type(duck_type: Any) -> str:
    """The DuckDB type a column is processed as: instants read from Parquet become naive UTC timestamps."""
    kind = str(duck_type.id)
    if kind == "list":
        return f"{working_type(duck_type.children[0][1])}[]"
    if kind == "struct":
        return "STRUCT(" + ", ".join(f"{quote_ident(n)} {working_type(t)}" for n, t in duck_type.children) + ")"
    if kind == "map":
        return f"MAP({working_type(duck_type.children[0][1])}, {working_type(duck_type.children[1][1])})"
    if kind == "timestamp with time zone":
        return "TIMESTAMP"
    return str(duck_type)
