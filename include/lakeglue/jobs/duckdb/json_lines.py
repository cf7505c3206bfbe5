"""JSON lines → rows as DuckDB SQL, with Spark bronze's exact reading rules.

Files are read as text, one row per physical line (``read_csv`` with a NUL delimiter, no
quoting), numbered by their position in the file, so a bad line keeps its file, line
number and raw text instead of becoming a row of NULLs. Each line is then parsed into the
raw table's schema with every leaf kept as text, as Spark's ``from_json`` does:

* strings unquoted, integers verbatim, doubles in Java notation (``12.50`` → ``12.5``,
  ``1e7`` → ``1.0E7``), booleans ``true``/``false``, objects/arrays in a string field as JSON;
* a line is rejected when it is not valid JSON, not an object, or a value does not fit the
  schema's nesting (an array where a struct is declared, ...), with Spark's two reasons.

The common path is one ``json_transform`` per line; lines that may hold doubles needing
Java notation take a slower per-leaf path, and the nesting check only runs where the fast
parse produced a NULL container (a mismatch always does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lakeglue import records
from lakeglue.jobs.duckdb.choices import json_choice
from lakeglue.jobs.duckdb.types import HiveType, TypeMappingError, quote_ident, quote_literal

MALFORMED = records.MALFORMED_JSON
NOT_OBJECT = records.NOT_OBJECT
#: Python-repr doubles whose Java spelling differs (exponent form) can only come from these
#: (``[0-9][eE]|[0-9]{8}\.|0\.000`` on the line). RE2 scans a pattern that starts with a digit
#: class byte by byte (a line is mostly digits), so the digit-led parts are matched on the
#: reversed line, where they start with ``[eE]`` or ``.`` and RE2 skips ahead to those bytes:
#: about 0.75 times the CPU of the one forward regex. Reversing keeps the order of ASCII neighbours
#: (DuckDB reverses grapheme clusters; inside a JSON number every character is its own cluster).
_JAVA_NOTATION_HINT = (r"regexp_matches(reverse(_raw), '[eE][0-9]') OR regexp_matches(reverse(_raw), '\.[0-9]{8}') "
                       r"OR contains(_raw, '0.000')")
#: Jackson (Spark) rejects a trailing comma; DuckDB's parser accepts it, so it is checked apart.
_TRAILING_COMMA = r",\s*[\]}]"
_STRING_LITERAL = r'"(?:[^"\\]|\\.)*"'
#: Characters ``java.net.URI`` keeps unescaped in a path (plus every non-ASCII letter).
_URI_PATH_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'(),;:$&+=/@")


@dataclass(frozen=True)
class TextColumn:
    name: str
    type: HiveType  # already all-text (see HiveType.as_text)


def spark_file_uri(path: str, protocol: str = "file") -> str:
    """What Spark's ``input_file_name()`` returns for a file: scheme + the URI-quoted path
    (``file:///lake/raw/a%20b.json`` locally, ``s3://bucket/raw/a%20b.json`` on S3)."""
    out = []
    for ch in path:
        if ch in _URI_PATH_SAFE or (ord(ch) > 127 and ch.isprintable() and not ch.isspace()):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return f"{protocol}://" + "".join(out)


def lines_sql(paths: Sequence[str], max_line_bytes: int, strict: bool = False) -> str:
    """One row per line, in file order: ``_raw`` (NULL for an empty line) and ``_file`` (the file's
    index in ``paths``). Store it (parsed: ``parse_sql(..., numbered=False)``) with
    ``preserve_insertion_order`` on: a row's ``rowid`` then numbers its line.

    ``strict``: fail on a file whose line ends are mixed (LF beside CRLF, a lone CR) instead of
    splitting it as DuckDB does (a CRLF after LF lines counts as two line ends, a lone CR after CRLF
    lines eats the next byte); bronze then reads such a file from a copy with LF line ends. A file
    with a NUL byte fails too: the non-strict read (of probed files, whose line ends are clean) keeps
    such a line (cut at the NUL) for the parser to reject.

    One multi-file scan (DuckDB reads the files in parallel; with ``preserve_insertion_order`` the
    table it fills keeps every file's rows contiguous and in file order, so a row's ``rowid`` less
    its file's first ``rowid`` is its line). Rows carry a small file index, not the file's URI: the
    URI (and partition values taken from it) are joined back once per file by the caller, where a
    row needs them.
    """
    if not paths:
        raise ValueError("lines_sql needs at least one file")
    listed = "[" + ", ".join(quote_literal(path) for path in paths) + "]"
    return (f"SELECT line AS _raw, CAST(file_index AS INTEGER) AS _file "
            f"FROM read_csv({listed}, columns = {{'line': 'VARCHAR'}}, delim = chr(0), quote = '', "
            f"escape = '', header = false, auto_detect = false, strict_mode = {'true' if strict else 'false'}, "
            f"max_line_size = {int(max_line_bytes)}, buffer_size = {2 * int(max_line_bytes)})")


def _structure(t: HiveType, leaf: str) -> str:
    """``json_transform`` structure (a JSON document of DuckDB type names) for a text type."""
    if t.is_struct:
        return "{" + ",".join(f"{_json_key(n)}:{_structure(ft, leaf)}" for n, ft in t.fields) + "}"
    if t.is_array:
        assert t.element is not None
        return "[" + _structure(t.element, leaf) + "]"
    if t.is_map:
        assert t.element is not None
        if t.element.is_container:
            raise TypeMappingError(f"map values must be scalars for JSON bronze, got {t.to_hive()}")
        return f'"MAP(VARCHAR, {leaf})"'
    return f'"{leaf}"'


def _json_key(name: str) -> str:
    """A key of the ``json_transform`` structure document: any key, JSON-escaped."""
    return json.dumps(name, ensure_ascii=False)


def _path(parent: str, name: str) -> str:
    """A JSONPath step to a key (quotes and backslashes escaped, as DuckDB's path parser reads them)."""
    return f"{parent}.{json.dumps(name, ensure_ascii=False)}"


def json_side_type(t: HiveType, renamed: Mapping[str, str], prefix: str = "") -> HiveType:
    """``t`` with struct fields named by their raw JSON keys (``renamed``: ``{"a.b": "raw key"}``).

    The catalog holds safe column names; the raw lines hold the original keys. Lines are parsed with
    the original keys, then :func:`rename_to_safe` gives the values the catalog's names again.
    """
    if t.is_struct:
        return HiveType("struct", fields=tuple(
            (renamed.get(f"{prefix}{n}", n), json_side_type(ft, renamed, f"{prefix}{n}.")) for n, ft in t.fields))
    if t.is_array:
        assert t.element is not None
        return HiveType("array", element=json_side_type(t.element, renamed, prefix))
    return t


def rename_to_safe(expr: str, json_t: HiveType, safe_t: HiveType, depth: int = 0) -> str:
    """Rebuild a parsed value whose nested struct fields carry raw keys with the catalog's names."""
    if json_t == safe_t:
        return expr
    if safe_t.is_struct:
        parts = ", ".join(
            f"{quote_ident(sn)} := {rename_to_safe(f'{expr}.{quote_ident(jn)}', jt, st, depth)}"
            for (jn, jt), (sn, st) in zip(json_t.fields, safe_t.fields, strict=True))
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({parts}) END"
    if safe_t.is_array:
        assert json_t.element is not None and safe_t.element is not None
        var = f"r{depth}"
        return f"list_transform({expr}, {var} -> {rename_to_safe(var, json_t.element, safe_t.element, depth + 1)})"
    return expr


def _from_json_leaves(expr: str, t: HiveType, depth: int = 0) -> str:
    """Convert a value parsed with JSON leaves into text leaves (the exact, slower path)."""
    if t.is_struct:
        parts = ", ".join(f"{quote_ident(n)} := {_from_json_leaves(f'{expr}.{quote_ident(n)}', ft, depth)}"
                          for n, ft in t.fields)
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({parts}) END"
    if t.is_array:
        assert t.element is not None
        var = f"x{depth}"
        return f"list_transform({expr}, {var} -> {_from_json_leaves(var, t.element, depth + 1)})"
    if t.is_map:
        var = f"e{depth}"
        return (f"map_from_entries(list_transform(map_entries({expr}), "
                f"{var} -> {{'key': {var}.key, 'value': lg_json_leaf({var}.value)}}))")
    return f"lg_json_leaf({expr})"


def _gate(expr: str, t: HiveType, depth: int = 0) -> str | None:
    """True when the lenient parse left a NULL where a container is declared (always so on a mismatch)."""
    if not t.is_container:
        return None
    checks = [f"{expr} IS NULL"]
    if t.is_struct:
        checks += [g for n, ft in t.fields if (g := _gate(f"{expr}.{quote_ident(n)}", ft, depth)) is not None]
    elif t.is_array:
        assert t.element is not None
        if t.element.is_container:
            checks.append(f"len({expr}) > list_count({expr})")
            var = f"g{depth}"
            inner = _gate(var, t.element, depth + 1)
            if inner is not None:
                checks.append(f"coalesce(list_bool_or(list_transform({expr}, {var} -> {inner})), false)")
    return "(" + " OR ".join(checks) + ")"


def _types_ok(path: str, allowed: tuple[str, ...], wildcard: bool) -> str:
    allowed_sql = ", ".join(quote_literal(a) for a in allowed)
    if wildcard:
        return (f"coalesce(list_bool_and(list_transform(json_type(_raw, {quote_literal(path)}), "
                f"t -> t IN ({allowed_sql}))), true)")
    return f"coalesce(json_type(_raw, {quote_literal(path)}) IN ({allowed_sql}), true)"


def _nesting_ok(path: str, t: HiveType, wildcard: bool) -> list[str]:
    """Every value at a container position of the raw line has the JSON kind the schema declares."""
    if t.is_struct:
        checks = [_types_ok(path, ("OBJECT", "NULL"), wildcard)]
        for name, ft in t.fields:
            checks += _nesting_ok(_path(path, name), ft, wildcard)
        return checks
    if t.is_array:
        assert t.element is not None
        return [_types_ok(path, ("ARRAY", "NULL"), wildcard), *_nesting_ok(f"{path}[*]", t.element, True)]
    if t.is_map:
        return [_types_ok(path, ("OBJECT", "NULL"), wildcard)]
    return []


def _case_groups(names: Sequence[str]) -> list[int]:
    """Per column, which parse it belongs to: DuckDB struct names ignore case, so raw keys that
    differ only in case (``Name`` and ``name``) are parsed by separate ``json_transform`` calls
    (group 0 holds every first spelling: one parse, as before, for ordinary tables)."""
    seen: dict[str, int] = {}
    groups = []
    for name in names:
        group = seen.get(name.lower(), 0)
        seen[name.lower()] = group + 1
        groups.append(group)
    return groups


def parse_sql(lines: str, columns: Sequence[TextColumn], choices: dict[str, list[str]] | None = None,
              original_names: Mapping[str, str] | None = None, numbered: bool = True) -> str:
    """Rows of ``lines`` parsed: the columns, ``_file``, ``_line``, ``_reject_reason``, ``_raw``.

    Columns named in ``choices`` become a struct of their variants (see :mod:`.choices`). With
    ``original_names`` (the table's ``lakeglue.original_names``), a column or nested field is read
    from its raw key (``{"a.b": "raw key"}``) into its safe name.

    Without ``numbered``, ``lines`` are the rows of :func:`lines_sql` straight from the files (no
    ``_line``): every line stays a row, in order, so the table the rows are stored in numbers them
    by its ``rowid``; instead of ``_line`` the rows carry ``__len`` (the line's length) and
    ``__blank`` (a blank line: no record, never rejected).
    """
    choices = choices or {}
    safe_columns = list(columns)
    renamed = dict(original_names or {})
    columns = [TextColumn(renamed.get(c.name, c.name), json_side_type(c.type, renamed, f"{c.name}."))
               for c in safe_columns]
    groups = _case_groups([c.name for c in columns])
    ref = {c.name: f"__j{groups[i]}.{quote_ident(c.name)}" for i, c in enumerate(columns)}
    parses = []
    for group in sorted(set(groups)):
        row = HiveType("struct", fields=tuple((c.name, c.type) for i, c in enumerate(columns) if groups[i] == group))
        fast = f"json_transform(_raw, {quote_literal(_structure(row, 'VARCHAR'))})"
        slow = _from_json_leaves(f"json_transform(_raw, {quote_literal(_structure(row, 'JSON'))})", row)
        parses.append(f"CASE WHEN NOT __object THEN NULL "
                      f"WHEN {_JAVA_NOTATION_HINT} THEN {slow} "
                      f"ELSE {fast} END AS __j{group}")
    gates = [g for c in columns if (g := _gate(ref[c.name], c.type)) is not None]
    nesting = [check for c in columns for check in _nesting_ok(_path("$", c.name), c.type, False)]
    mismatch = "false"
    if gates and nesting:
        mismatch = f"CASE WHEN __j0 IS NOT NULL AND ({' OR '.join(gates)}) THEN NOT ({' AND '.join(nesting)}) " \
                   "ELSE false END"
    trailing_comma = (f"CASE WHEN regexp_matches(_raw, {quote_literal(_TRAILING_COMMA)}) THEN regexp_matches("
                      f"regexp_replace(_raw, {quote_literal(_STRING_LITERAL)}, '', 'g'), "
                      f"{quote_literal(_TRAILING_COMMA)}) ELSE false END")
    reason = (f"CASE WHEN starts_with(trim(_raw), '{{') THEN {quote_literal(MALFORMED)} "
              f"ELSE {quote_literal(NOT_OBJECT)} END")
    data = ", ".join(
        (f"CASE WHEN __object THEN {json_choice(s.name, choices[s.name], ref[c.name])} END"
         if s.name in choices else rename_to_safe(ref[c.name], c.type, s.type))
        + f" AS {quote_ident(s.name)}" for c, s in zip(columns, safe_columns, strict=True))
    blank = ("_raw IS NULL OR ((starts_with(_raw, ' ') OR starts_with(_raw, chr(9)) OR starts_with(_raw, chr(13))) "
             "AND trim(_raw, ' ' || chr(9) || chr(13)) = '')")
    if numbered:
        line, where, record, carried, judged_if = "_line", f"WHERE NOT ({blank})", "", "_line", ""
    else:  # blank lines stay rows (they are numbered too), flagged and neither parsed nor rejected
        line, where, carried = f"CAST(strlen(_raw) AS INTEGER) AS __len, {blank} AS __blank", "", "__len, __blank"
        record, judged_if = f"NOT ({blank}) AND ", "NOT __blank AND "
    # An object line (almost every line) starts with '{': only the others pay for a trimmed copy.
    return f"""
        WITH nonblank AS (
            SELECT _raw, _file, {line},
                   {record}CASE WHEN starts_with(_raw, '{{')
                                      OR starts_with(ltrim(_raw, ' ' || chr(9) || chr(10) || chr(13)), '{{')
                                 THEN json_valid(_raw) ELSE false END AS __object
            FROM ({lines}) {where}),
        parsed AS (
            SELECT *, {', '.join(parses)}
            FROM nonblank),
        judged AS (
            SELECT *, CASE WHEN {judged_if}(NOT __object OR ({trailing_comma}) OR ({mismatch})) THEN {reason} END
                          AS _reject_reason
            FROM parsed)
        SELECT {data}, _file, {carried}, _reject_reason,
               CASE WHEN _reject_reason IS NOT NULL THEN _raw END AS _raw
        FROM judged"""
