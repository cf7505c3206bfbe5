"""Spark's ``try_cast`` rules as DuckDB SQL, so silver types and quarantines agree across engines.

DuckDB's own ``TRY_CAST`` is more forgiving than Spark's in ways that would silently change
data: it rounds ``'12.5'`` into the bigint 13 (Spark: invalid → quarantined), reads hex and
``1_000``, accepts ``2026/11/01`` as a date, and rounds doubles into integers. Each rule
below narrows DuckDB to what Spark accepts, or widens it where Spark is broader (``'2026-11'``
is a date, whitespace around a timestamp is ignored, a bare hour is a time).
Non-text sources follow Spark too: doubles truncate into integers, numbers print in Java's
notation, integers become timestamps as epoch seconds.
"""

from __future__ import annotations

from lakeglue.jobs.duckdb.types import HiveType, parse_hive_type, quote_literal

_INTEGRAL = {"bigint", "int", "smallint", "tinyint"}
_FLOATING = {"DOUBLE", "FLOAT"}
_INTEGRAL_DUCK = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT",
                  "UTINYINT"}
_TRUE = ("t", "true", "y", "yes", "1")
_FALSE = ("f", "false", "n", "no", "0")

#: Spark's date grammar: ``yyyy``, ``yyyy-[m]m``, or ``yyyy-[m]m-[d]d`` optionally followed by ' '/'T' and anything.
_DATE_SHORT = r"([+-]?[0-9]{4,})(?:-([0-9]{1,2}))?"
_DATE_FULL = r"([+-]?[0-9]{4,})-([0-9]{1,2})-([0-9]{1,2})(?:[ T].*)?"
#: Spark's timestamp grammar (date, then an optional time of hour[:minute[:second[.fraction]]], then a zone).
_TIMESTAMP = (r"([+-]?[0-9]{4,})(?:-([0-9]{1,2})(?:-([0-9]{1,2})(?:[ T]([0-9]{1,2})(?::([0-9]{1,2})"
              r"(?::([0-9]{1,2})(?:\.([0-9]{1,9}))?)?)?(.*))?)?)?")
_CANONICAL_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
#: Years a date or timestamp may have: DuckDB also reads year 0 (1 BC) and years past 9999, which most
#: tools cannot read back; such a value is not a valid date (its row is quarantined, as on Spark).
_FIRST_YEAR, _LAST_YEAR = 1, 9999
#: What Spark trims around a string before casting (whitespace and ASCII control characters).
_TRIM_CHARS = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"


def _trimmed(expr: str) -> str:
    return f"trim({expr}, {_TRIM_CHARS})"


def _pad(group: str, width: int) -> str:
    return f"lpad({group}, {width}, '0')"


def _year_ok(year_text: str) -> str:
    """The year (text of digits, maybe signed) is within ``_FIRST_YEAR``..``_LAST_YEAR``."""
    return f"coalesce(TRY_CAST({year_text} AS BIGINT) BETWEEN {_FIRST_YEAR} AND {_LAST_YEAR}, false)"


def _in_years(value: str) -> str:
    """``value`` (a timestamp), or NULL when its year is outside ``_FIRST_YEAR``..``_LAST_YEAR`` (only on
    the slow path: a zone can move a timestamp across a year boundary, so the result is checked)."""
    return f"CASE WHEN year({value}) BETWEEN {_FIRST_YEAR} AND {_LAST_YEAR} THEN {value} END"


def _date_from_text(expr: str) -> str:
    """The canonical ``yyyy-mm-dd`` straight to DuckDB's cast; Spark's other forms rebuilt as that.
    Years outside 1..9999 give NULL (the canonical form has four digits: only year 0 is checked)."""
    s = _trimmed(expr)
    full = quote_literal(_DATE_FULL)
    short = quote_literal(_DATE_SHORT)
    year, month, day = (f"regexp_extract({s}, {full}, {i})" for i in (1, 2, 3))
    short_year = f"regexp_extract({s}, {short}, 1)"
    short_month = f"coalesce(nullif(regexp_extract({s}, {short}, 2), ''), '1')"
    from_full = f"TRY_CAST({year} || '-' || {_pad(month, 2)} || '-' || {_pad(day, 2)} AS DATE)"
    from_short = f"TRY_CAST({short_year} || '-' || {_pad(short_month, 2)} || '-01' AS DATE)"
    return (f"CASE WHEN regexp_full_match({expr}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN "
            f"CASE WHEN NOT starts_with({expr}, '0000') THEN TRY_CAST({expr} AS DATE) END "
            f"WHEN regexp_full_match({s}, {full}) THEN CASE WHEN {_year_ok(year)} THEN {from_full} END "
            f"WHEN regexp_full_match({s}, {short}) THEN CASE WHEN {_year_ok(short_year)} THEN {from_short} END END")


def _timestamp_from_text(expr: str) -> str:
    """ISO timestamps straight to DuckDB's cast; Spark's other forms (zones, partial times) normalised first.
    Years outside 1..9999 give NULL."""
    s = _trimmed(expr)
    pattern = quote_literal(_TIMESTAMP)

    def group(i: int, default: str, width: int) -> str:
        return _pad(f"coalesce(nullif(regexp_extract({s}, {pattern}, {i}), ''), '{default}')", width)

    fraction = f"rpad(regexp_extract({s}, {pattern}, 7), 6, '0')[1:6]"
    zone = f"trim(regexp_extract({s}, {pattern}, 8))"
    zone_suffix = f"CASE WHEN {zone} = '' THEN '' WHEN {zone}[1] IN ('+', '-', 'Z') THEN {zone} ELSE ' ' || {zone} END"
    normalised = (f"regexp_extract({s}, {pattern}, 1) || '-' || {group(2, '1', 2)} || '-' || {group(3, '1', 2)}"
                  f" || ' ' || {group(4, '0', 2)} || ':' || {group(5, '0', 2)} || ':' || {group(6, '0', 2)}"
                  f" || '.' || {fraction} || {zone_suffix}")
    canonical = quote_literal(_CANONICAL_TIMESTAMP)
    zoned = f"CAST(TRY_CAST({normalised} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return (f"CASE WHEN regexp_full_match({expr}, {canonical}) THEN "
            f"CASE WHEN NOT starts_with({expr}, '0000') THEN TRY_CAST({expr} AS TIMESTAMP) END "
            f"WHEN regexp_full_match({s}, {pattern}) THEN {_in_years(zoned)} END")


def _from_text(expr: str, target: HiveType) -> str:
    name = target.name.split("(", 1)[0]
    duck = target.to_duckdb()
    if name in _INTEGRAL:
        return f"CASE WHEN regexp_full_match({expr}, '\\s*[+-]?[0-9]+\\s*') THEN TRY_CAST({expr} AS {duck}) END"
    if name in ("decimal", "double", "float"):
        # DuckDB ignores surrounding whitespace here as Spark does, but also reads '1_000': Spark does not
        return f"CASE WHEN NOT contains({expr}, '_') THEN TRY_CAST({expr} AS {duck}) END"
    if name == "boolean":
        lowered = f"lower({_trimmed(expr)})"
        return (f"CASE WHEN {lowered} IN ({', '.join(map(quote_literal, _TRUE))}) THEN true "
                f"WHEN {lowered} IN ({', '.join(map(quote_literal, _FALSE))}) THEN false END")
    if name == "date":
        return _date_from_text(expr)
    if name in ("timestamp", "timestamp_ntz"):
        return _timestamp_from_text(expr)
    return f"TRY_CAST({expr} AS {duck})"


def text_of(expr: str, source: str) -> str:
    """Spark's ``CAST(x AS STRING)`` of a DuckDB-typed expression (Java number notation)."""
    base = source.split("(", 1)[0].upper()
    if base == "VARCHAR":
        return expr
    if base == "DOUBLE":
        return f"lg_java_double({expr})"
    if base == "BOOLEAN":
        return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
    return f"CAST({expr} AS VARCHAR)"


def try_cast(expr: str, source: str, target_hive: str) -> str:
    """``try_cast(expr AS target)`` with Spark's semantics; ``source`` is the DuckDB type of ``expr``."""
    target = parse_hive_type(target_hive)
    duck = target.to_duckdb()
    base = source.split("(", 1)[0].upper()
    if source.upper() == duck.upper() or base == '"NULL"':
        return expr if base != '"NULL"' else f"CAST({expr} AS {duck})"
    name = target.name.split("(", 1)[0]
    if base == "VARCHAR":
        return _from_text(expr, target)
    if name == "string":
        return text_of(expr, source)
    if name in _INTEGRAL and (base in _FLOATING or base == "DECIMAL"):
        return f"TRY_CAST(trunc({expr}) AS {duck})"
    if name == "decimal" and base in _FLOATING:
        return f"TRY_CAST(CAST({expr} AS VARCHAR) AS {duck})"
    if name in ("timestamp", "timestamp_ntz") and base in _INTEGRAL_DUCK | _FLOATING | {"DECIMAL"}:
        return f"TRY_CAST(to_timestamp(CAST({expr} AS DOUBLE)) AS TIMESTAMP)"
    return f"TRY_CAST({expr} AS {duck})"
