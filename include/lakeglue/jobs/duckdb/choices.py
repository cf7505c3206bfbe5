"""Choice columns (Glue's DynamicFrame "choice") as DuckDB SQL, with ``jobs.spark``'s rules.

Bronze keeps a declared choice column as a struct with one field per variant type (in the
order declared). A value lands in the *first* variant it fits — for JSON by its token
(``10`` fits ``bigint``, ``"15"`` does not), for CSV by Spark's ``try_cast`` of the text,
for Parquet by the file's physical type — and a ``string`` variant takes any value no
earlier variant took. Silver resolves the struct by the column's ``resolve`` rule: ``cast``
(every variant cast to the column's type, uncastable values quarantined), ``project`` (one
variant), ``make_cols`` (a column per variant) or ``make_struct`` (the struct itself).
"""

from __future__ import annotations

from collections.abc import Callable

from lakeglue.jobs.duckdb import casts
from lakeglue.jobs.duckdb.types import TypeMappingError, parse_hive_type, quote_ident, quote_literal

_INTEGRAL = {"bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT"}
#: String tokens Spark's JSON reader turns into doubles (``allowNonNumericNumbers``).
_NON_NUMERIC = ("NaN", "Infinity", "+Infinity", "-Infinity", "INF", "+INF", "-INF")


def _json_variant(path: str, variant: str) -> str:
    """The value of the JSON token at ``path`` as ``variant``, or NULL when the token does not fit it."""
    token = f"json_extract(_raw, {quote_literal(path)})"
    kind = f"json_type(_raw, {quote_literal(path)})"
    text = f"json_extract_string(_raw, {quote_literal(path)})"
    base = variant.split("(", 1)[0]
    if base in _INTEGRAL:
        return f"CASE WHEN {kind} IN ('BIGINT', 'UBIGINT') THEN TRY_CAST({token} AS {_INTEGRAL[base]}) END"
    if base in ("double", "float"):
        duck = "DOUBLE" if base == "double" else "FLOAT"
        specials = ", ".join(quote_literal(s) for s in _NON_NUMERIC)
        return (f"CASE WHEN {kind} IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST({token} AS {duck}) "
                f"WHEN {kind} = 'VARCHAR' AND {text} IN ({specials}) THEN TRY_CAST({text} AS {duck}) END")
    if base == "decimal":
        duck = parse_hive_type(variant).to_duckdb()
        from_text = casts.try_cast(text, "VARCHAR", variant)
        return (f"CASE WHEN {kind} IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
                f"THEN TRY_CAST(CAST({token} AS VARCHAR) AS {duck}) WHEN {kind} = 'VARCHAR' THEN {from_text} END")
    if base == "boolean":
        return f"CASE WHEN {kind} = 'BOOLEAN' THEN CAST({token} AS BOOLEAN) END"
    if base == "date":
        return f"CASE WHEN {kind} = 'VARCHAR' THEN {casts.try_cast(text, 'VARCHAR', 'date')} END"
    if base in ("timestamp", "timestamp_ntz"):
        return (f"CASE WHEN {kind} IN ('BIGINT', 'UBIGINT') THEN TRY_CAST(to_timestamp(CAST({token} AS DOUBLE)) "
                f"AS TIMESTAMP) WHEN {kind} = 'VARCHAR' THEN {casts.try_cast(text, 'VARCHAR', variant)} END")
    raise TypeMappingError(f"choice variant {variant!r} is not supported by the duckdb engine "
                           "(scalar variants only); run this table on the spark engine")


def first_fit(variants: list[str], value_of: Callable[[str], str], text: str) -> str:
    """``struct_pack`` of the variants: each filled when no earlier non-string variant took the value."""
    taken = "false"
    fields = []
    for variant in variants:
        duck = parse_hive_type(variant).to_duckdb()
        if variant == "string":
            fields.append(f"{quote_ident(variant)} := CASE WHEN NOT ({taken}) THEN {text} END")
            continue
        typed = value_of(variant)
        fields.append(f"{quote_ident(variant)} := CAST(CASE WHEN NOT ({taken}) THEN {typed} END AS {duck})")
        taken = f"{taken} OR ({typed}) IS NOT NULL"
    return f"struct_pack({', '.join(fields)})"


def json_choice(name: str, variants: list[str], text: str) -> str:
    """A JSON column as its choice struct; ``text`` is the column's text value (the ``string`` variant)."""
    path = f'$."{name}"'
    return first_fit(variants, lambda v: _json_variant(path, v), text)


def text_choice(text: str, variants: list[str]) -> str:
    """A CSV column as its choice struct: the first variant its text casts to (Spark's try_cast)."""
    return first_fit(variants, lambda v: casts.try_cast(text, "VARCHAR", v), text)


def parquet_choice(name: str, physical: str, variants: list[str]) -> str:
    """A Parquet column whose files have the ``physical`` variant: that field set, the others NULL."""
    fields = ", ".join(
        f"{quote_ident(v)} := CAST({quote_ident(name) if v == physical else 'NULL'} AS "
        f"{parse_hive_type(v).to_duckdb()})" for v in variants)
    return f"struct_pack({fields})"


def variant_expr(name: str, variant: str, present: bool) -> str:
    duck = parse_hive_type(variant).to_duckdb()
    return f"struct_extract({quote_ident(name)}, {quote_literal(variant)})" if present else f"CAST(NULL AS {duck})"
