"""Raw text tables (CSV, JSON lines) read the way Athena reads them: as text first, typed second.

A crawler infers a raw table's types from a sample, so later files can break them: an ``NA``
in a ``bigint`` column, a value past 2^31 in a column sampled as ``int``, a date in another
layout. Athena (Hive's text SerDes) never fails a query for that: a value that does not
parse as its column's type reads as NULL. This module gives the DuckDB engine the same
rules for ``csv`` and ``json`` tables:

- every column is read as text (``VARCHAR``; nested JSON values as ``JSON``) and cast with
  ``TRY_CAST`` to the catalog type, so a bad value is NULL instead of a failed query;
- the table's null markers (:func:`lakeglue.records.null_markers`) read as NULL and never
  count as bad values;
- the table's encoding (:data:`lakeglue.records.ENCODING_PARAM`) is passed to the reader;
- renamed JSON keys (:data:`lakeglue.records.ORIGINAL_NAMES_PARAM`) are read under their
  original keys and exposed under the catalog's safe names;
- a table marked :data:`lakeglue.records.UNREADABLE_PARAM` is refused with the reason;
- file paths are read literally, never as glob patterns.

Counting the values that read as NULL costs nothing when there are none: each counted
column gets a DuckDB sequence, and its cast is ``coalesce(TRY_CAST(v), <nextval when v is
not NULL>)``. DuckDB evaluates the second branch only for rows whose cast failed, so the
count happens in the query's own scan, only for columns and rows the query actually
evaluates (a column the query does not touch is neither converted nor counted). The
sequences' last values are the counts. Parquet tables are never wrapped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakeglue import records
from lakeglue.catalog import Column, Table
from lakeglue.query.base import QueryError

if TYPE_CHECKING:
    import duckdb

TEXT_CLASSIFICATIONS = ("csv", "json")
#: Catalog encodings (as :func:`lakeglue.records.normalise_encoding` names them) → DuckDB ``read_csv`` encoding.
#: ``None``: DuckDB's default (UTF-8). DuckDB's ``utf-16`` is little-endian.
DUCKDB_ENCODINGS: dict[str, str | None] = {"UTF-8": None, "ISO-8859-1": "latin-1", "UTF-16LE": "utf-16",
                                           "UTF-16": "utf-16"}
#: The one text column of JSON lines read in another encoding (see :func:`json_lines_reader`).
JSON_LINE = "__lg_line"
#: Prefix of the DuckDB sequences that count a column's unparsed values (one per column, per query).
UNPARSED_SEQUENCE = "__lg_unparsed_"
#: Glob metacharacters of DuckDB's file readers; ``[c]`` matches ``c`` literally.
_GLOB_CHARS = re.compile(r"([\[*?])")
_TEXT_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR,
               exp.DataType.Type.NVARCHAR, exp.DataType.Type.NCHAR}
_INTEGER_TARGETS = {"TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT", "HUGEINT"}
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
#: Widest decimal DuckDB keeps in 64 bits; text parses into it ~250x faster than into a 128-bit one.
_NARROW_PRECISION = 18
_NESTED_TYPES = {exp.DataType.Type.STRUCT, exp.DataType.Type.ARRAY, exp.DataType.Type.MAP}


def decimal_parts(type_sql: str) -> tuple[int, int] | None:
    """(precision, scale) of a ``DECIMAL(p, s)`` type spelling (any case and spacing), else None."""
    found = _DECIMAL.fullmatch(type_sql.upper().replace(" ", ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def is_text_table(table: Table) -> bool:
    return table.classification in TEXT_CLASSIFICATIONS


def check_readable(table: Table) -> None:
    """Refuse a table the crawler marked unreadable, with its reason (e.g. a zip archive)."""
    reason = table.parameters.get(records.UNREADABLE_PARAM)
    if reason is not None:
        raise QueryError(f"table {table.qualified_name} cannot be queried: {reason or 'marked unreadable'} "
                         f"(table parameter {records.UNREADABLE_PARAM})")


def literal_path(path: str) -> str:
    """``path`` as a DuckDB file-reader argument that matches only that file (``[a].json`` is not ``a.json``).

    DuckDB treats ``*``, ``?`` and ``[`` in any path as glob syntax and has no switch to turn
    that off; wrapping each in brackets makes it match itself (``{`` and ``]`` are literal).
    """
    return _GLOB_CHARS.sub(r"[\1]", path)


def duckdb_encoding(table: Table, files: Sequence[str]) -> str | None:
    """The ``encoding`` option for the table's files (None for UTF-8); unsupported encodings are a clear error."""
    try:
        encoding = records.table_encoding(table.parameters)
    except LookupError:
        raise QueryError(f"table {table.qualified_name} has unknown encoding "
                         f"{table.parameters.get(records.ENCODING_PARAM)!r} ({records.ENCODING_PARAM})") from None
    if encoding not in DUCKDB_ENCODINGS:
        raise QueryError(f"table {table.qualified_name} is encoded {encoding}; the duckdb engine reads text tables "
                         f"encoded {', '.join(DUCKDB_ENCODINGS)} (read it through bronze, or query it on trino/athena)")
    if encoding == "UTF-16":
        for path in files:  # DuckDB decodes UTF-16 as little-endian only: a big-endian BOM would read as garbage
            with open(path, "rb") as fh:
                if fh.read(2) == b"\xfe\xff":
                    raise QueryError(f"table {table.qualified_name}: {path} is UTF-16 big-endian; the duckdb "
                                     "engine reads UTF-16 little-endian only")
    return DUCKDB_ENCODINGS[encoding]


def json_lines_reader(listed: str, encoding: str, partitioning: str) -> str:
    """JSON lines in another encoding: DuckDB's JSON reader takes UTF-8 only, its CSV reader decodes.

    Each line is read whole as one text column (``\x01`` as the delimiter: a JSON line
    cannot contain it unescaped; no quoting) and fields are extracted by :func:`json_field`.
    """
    line = _ident(JSON_LINE)
    return (f"(SELECT * FROM read_csv({listed}, columns = {{'{JSON_LINE}': 'VARCHAR'}}, header = false, "
            f"delim = chr(1), quote = '', escape = '', auto_detect = false, encoding = '{encoding}'{partitioning}) "
            f"WHERE trim({line}) <> '')")


def json_field(key: str, read_type: str) -> str:
    """A top-level field of a line read by :func:`json_lines_reader`, as ``read_json`` gives it (NULL for null)."""
    line = _ident(JSON_LINE)
    path = "'$.\"" + key.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''") + "\"'"
    if read_type == "JSON":
        return f"CASE WHEN json_type({line}, {path}) <> 'NULL' THEN json_extract({line}, {path}) END"
    return f"json_extract_string({line}, {path})"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def csv_null_strings(table: Table) -> list[str]:
    """``nullstr`` for ``read_csv``: the table's markers plus the empty field (NULL in DuckDB and bronze alike)."""
    markers = records.null_markers(table.parameters)
    return list(dict.fromkeys(["", *markers])) if markers else []


def json_null_markers(table: Table) -> list[str]:
    """JSON string values that mean NULL (a JSON ``null`` always does)."""
    return list(records.null_markers(table.parameters))


def source_names(table: Table) -> dict[str, str]:
    """Catalog column name → the key or header it has in the files (its original name when it was renamed).

    The table's map (:data:`lakeglue.records.ORIGINAL_NAMES_PARAM`) first, then a column's own
    :data:`lakeglue.records.ORIGINAL_NAME_PARAM` (on catalogs whose columns carry parameters).
    """
    renamed = records.original_names(table.parameters)
    out = {}
    for column in table.columns:
        own = (getattr(column, "parameters", None) or {}).get(records.ORIGINAL_NAME_PARAM)
        out[column.name] = renamed.get(column.name) or own or column.name
    return out


@dataclass(frozen=True)
class ColumnRead:
    """How one catalog column of a text table is read: its key in the files, the type read, the cast."""

    column: Column
    source: str
    #: DuckDB type the reader produces: VARCHAR, or JSON for nested JSON values.
    read_type: str
    #: DuckDB type of the catalog column.
    target: str

    @property
    def needs_cast(self) -> bool:
        return self.read_type != self.target


def column_reads(table: Table, duckdb_type: Any) -> list[ColumnRead]:
    """One :class:`ColumnRead` per data column (partition keys come from the catalog, not the files)."""
    sources = source_names(table)
    out = []
    for column in table.columns:
        target = duckdb_type(renamed_type(table, column))
        dtype = exp.DataType.build(target, dialect="duckdb")
        if dtype.this in _TEXT_TYPES:
            read_type = target
        elif dtype.this in _NESTED_TYPES and table.classification == "json":
            read_type = "JSON"
        else:
            read_type = "VARCHAR"
        out.append(ColumnRead(column, sources[column.name], read_type, target))
    return out


def renamed_type(table: Table, column: Column) -> str:
    """The column's Hive type with nested struct fields under their original keys (as the files spell them)."""
    renamed = {path: key for path, key in records.original_names(table.parameters).items()
               if path.startswith(column.name + ".")}
    if not renamed:
        return column.type
    tree = exp.DataType.build(column.type, dialect="hive")
    _rename_fields(tree, column.name, renamed)
    return tree.sql(dialect="hive")


def _rename_fields(node: exp.DataType, path: str, renamed: Mapping[str, str]) -> None:
    """Struct fields at ``path.<field>`` (arrays and maps are transparent) take their original keys."""
    for child in node.expressions:
        if isinstance(child, exp.ColumnDef):
            name = child.name
            kind = child.args.get("kind")
            if f"{path}.{name}" in renamed:
                child.set("this", exp.to_identifier(renamed[f"{path}.{name}"], quoted=True))
            if isinstance(kind, exp.DataType):
                _rename_fields(kind, f"{path}.{name}", renamed)
        elif isinstance(child, exp.DataType):
            _rename_fields(child, path, renamed)


def safe_value(expr: str, column: Column, table: Table, duckdb_type: Any, quote_ident: Any) -> str:
    """``expr`` (read with original nested keys) rebuilt with the catalog's nested names, when any were renamed."""
    original = renamed_type(table, column)
    if original == column.type:
        return expr
    return _rebuild(expr, exp.DataType.build(original, dialect="hive"), exp.DataType.build(column.type, dialect="hive"),
                    duckdb_type, quote_ident, depth=0)


def _rebuild(expr: str, original: exp.DataType, safe: exp.DataType, duckdb_type: Any, quote_ident: Any,
             depth: int) -> str:
    if original.sql(dialect="hive") == safe.sql(dialect="hive"):
        return expr
    if original.this == exp.DataType.Type.STRUCT:
        fields = []
        for src, dst in zip(original.expressions, safe.expressions, strict=True):
            src_kind, dst_kind = src.args["kind"], dst.args["kind"]
            value = _rebuild(f"({expr})[{_sql_string(src.name)}]", src_kind, dst_kind, duckdb_type, quote_ident,
                             depth + 1)
            fields.append(f"{quote_ident(dst.name)} := {value}")
        return f"CASE WHEN ({expr}) IS NOT NULL THEN struct_pack({', '.join(fields)}) END"
    if original.this == exp.DataType.Type.ARRAY:
        var = f"__lg_e{depth}"
        inner = _rebuild(var, original.expressions[0], safe.expressions[0], duckdb_type, quote_ident, depth + 1)
        return f"list_transform({expr}, {var} -> {inner})"
    if original.this == exp.DataType.Type.MAP:
        var = f"__lg_e{depth}"
        value = _rebuild(f"{var}.value", original.expressions[1], safe.expressions[1], duckdb_type, quote_ident,
                         depth + 1)
        return f"map_from_entries(list_transform(map_entries({expr}), {var} -> {{'key': {var}.key, 'value': {value}}}))"
    return expr


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class UnparsedCounter:
    """Counts, per text-table column, the values that were not NULL or a marker but did not parse.

    One DuckDB sequence per counted column, created on the query's connection before the
    views that call ``nextval`` on it (see the module docstring for why this costs nothing
    on rows that parse).
    """

    columns: list[tuple[str, str, str]] = field(default_factory=list)  # (table, column, catalog type)

    def sequence(self, con: duckdb.DuckDBPyConnection, table: str, column: Column) -> str:
        name = f"{UNPARSED_SEQUENCE}{len(self.columns)}"
        con.execute(f"CREATE SEQUENCE main.{name}")
        self.columns.append((table, column.name, column.type))
        return f"main.{name}"

    def counts(self, con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
        """The columns with unparsed values in the query just run: table, column, type and how many values."""
        if not self.columns:
            return []
        rows = con.execute("SELECT sequence_name, last_value FROM duckdb_sequences() "
                           "WHERE schema_name = 'main' AND starts_with(sequence_name, ?)",
                           [UNPARSED_SEQUENCE]).fetchall()
        out = []
        for name, last in sorted(rows, key=lambda r: int(str(r[0]).removeprefix(UNPARSED_SEQUENCE))):
            if last:
                table, column, type_ = self.columns[int(str(name).removeprefix(UNPARSED_SEQUENCE))]
                out.append({"table": table, "column": column, "type": type_, "values": int(last)})
        return out


def column_formats(table: Table) -> dict[str, str]:
    """strptime layouts of top-level date/timestamp columns whose text is not ISO (``{"eu_day": "%d/%m/%Y"}``)."""
    text = table.parameters.get(records.COLUMN_FORMATS_PARAM, "")
    return dict(json.loads(text)) if text else {}


def cast_text(raw: str, target: str, layout: str | None = None) -> str:
    """``raw`` (text, NULL for a marker) as ``target``, NULL when it does not parse.

    With a strptime ``layout`` (a date/timestamp column in another layout) the layout is tried
    first, then the ISO form the plain cast reads. Integer text with a decimal point is not an
    integer (Trino's rule, which the query dialect applies to casts too): a cheap ``contains``
    instead of a full integer pattern, which would double the cost of reading integer columns.
    """
    cast = f"TRY_CAST({raw} AS {target})"
    wide = decimal_parts(target)  # past 18 digits DuckDB keeps a decimal in 128 bits
    if wide and wide[0] > _NARROW_PRECISION and wide[1] < _NARROW_PRECISION:
        # the crawler types text decimals decimal(38,s); DuckDB parses text into a 128-bit decimal very slowly
        # (a CTAS of TPC-H lineitem took minutes), so values that fit 18 digits parse as DECIMAL(18,s) (same
        # rounding) and only the rest take the wide cast: coalesce evaluates it for the narrow cast's NULLs only
        narrow = f"DECIMAL({_NARROW_PRECISION},{wide[1]})"
        cast = f"coalesce(CAST(TRY_CAST({raw} AS {narrow}) AS {target}), {cast})"
    if target.upper() in _INTEGER_TARGETS:  # as Trino: '12.5' is no integer (DuckDB would round it to 13)
        cast = f"CASE WHEN NOT contains({raw}, '.') THEN {cast} END"
    if layout:
        cast = f"coalesce(TRY_CAST(try_strptime({raw}, {_sql_string(layout)}) AS {target}), {cast})"
    return cast


def counted(value: str, raw: str, sequence: str) -> str:
    """``value`` (NULL exactly when ``raw`` did not parse, or is NULL) with each failed parse counted on ``sequence``.

    ``coalesce`` evaluates its second argument only for rows whose first is NULL, so rows that
    parse never reach ``nextval``; ``value`` must appear once (``nextval`` is volatile: DuckDB
    would evaluate every copy).
    """
    return f"coalesce({value}, CASE WHEN {raw} IS NOT NULL AND nextval({_sql_string(sequence)}) IS NULL THEN NULL END)"


def unparsed_notice(entry: Mapping[str, Any]) -> str:
    """One line for the CLI / logs: ``3 values in db.t.age did not parse as bigint and read as NULL``."""
    values = int(entry["values"])
    noun = "value" if values == 1 else "values"
    return f"{values} {noun} in {entry['table']}.{entry['column']} did not parse as {entry['type']} and read as NULL"
