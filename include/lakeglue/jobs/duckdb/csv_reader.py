"""CSV → rows of strings with Spark bronze's rules, in DuckDB.

Spark reads CSV with the raw table's column names, every column a string, ``"`` quotes,
``\\`` escapes, multi-line quoted values, whitespace kept, empty values as NULL, and puts a
record whose field count differs from the header into ``_corrupt_record``. DuckDB's strict
CSV parser with the same options gives the same rows; records it rejects are taken from
its rejects table (with the raw text) and quarantined with Spark's reason; a line of
whitespace only (spaces, tabs, CR) is no record, as Spark drops blank lines. Like Spark,
CSV rows get no line number (a quoted value may span lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lakeglue import records
from lakeglue.catalog.model import Table
from lakeglue.jobs.duckdb.choices import text_choice
from lakeglue.jobs.duckdb.types import quote_ident, quote_literal
from lakeglue.pipelines.spec import BronzeTableSpec

if TYPE_CHECKING:
    import duckdb

#: Spark CSV option → DuckDB ``read_csv`` parameter, for the options both engines understand.
SUPPORTED_OPTIONS = {"sep": "delim", "delimiter": "delim", "quote": "quote", "escape": "escape",
                     "nullValue": "nullstr", "encoding": "encoding", "charset": "encoding", "comment": "comment"}
#: Options bronze handles before DuckDB reads: the encoding (files not in UTF-8 are read from a UTF-8
#: copy, see :mod:`lakeglue.jobs.duckdb.raw_input`) and the null markers (a JSON list).
HANDLED_OPTIONS = ("header", "encoding", "charset", "null_markers")
_FIELD_COUNT_ERRORS = ("MISSING COLUMNS", "TOO MANY COLUMNS")
_TABLE = "__lg_csv"


def buffer_size(max_record_bytes: int) -> int:
    """DuckDB's CSV read buffer. With ``store_rejects`` DuckDB drops a line longer than its buffer
    without a reject (a line between ``max_line_size`` and the buffer is rejected), so bronze checks
    the files larger than this apart (:func:`lakeglue.jobs.duckdb.bronze._csv_lines_suspect`)."""
    return max(16 << 20, 2 * int(max_record_bytes) + 64)


class CsvOptionError(ValueError):
    """A bronze CSV option the DuckDB engine cannot honour; the message names the table and option."""


def reader_options(raw: Table, table: str, table_spec: BronzeTableSpec) -> dict[str, str]:
    header = table_spec.options.get("header", "true" if raw.parameters.get("skip.header.line.count") else "false")
    options = {"header": "true" if header.strip().lower() == "true" else "false",
               "delim": raw.storage.serde_parameters.get("field.delim", raw.parameters.get("delimiter", ",")),
               "quote": '"', "escape": "\\"}
    for key, value in table_spec.options.items():
        if key in HANDLED_OPTIONS:
            continue
        if key not in SUPPORTED_OPTIONS:
            raise CsvOptionError(f"bronze.{table}.options.{key} is not supported by the duckdb engine "
                                 f"(supported: {', '.join(sorted([*HANDLED_OPTIONS, *SUPPORTED_OPTIONS]))}); "
                                 "use the spark engine for this table")
        options[SUPPORTED_OPTIONS[key]] = value
    return options


def _clashes(marker: str, options: dict[str, str]) -> bool:
    """Whether DuckDB refuses ``marker`` as a ``nullstr`` (it must not hold the delimiter, quote or escape
    character: ``\\N`` with the ``\\`` escape). Such a marker is compared with the values after the read."""
    return any(ch and ch in marker for ch in (options.get("delim"), options.get("quote"), options.get("escape")))


def read_csv_sql(con: duckdb.DuckDBPyConnection, raw: Table, table: str, table_spec: BronzeTableSpec,
                 files: list[tuple[str, str]], files_table: str, null_markers: Sequence[str] = (),
                 max_record_bytes: int | None = None) -> str:
    """Materialise the batch's CSV rows (good and rejected) and return the SELECT over them.

    ``files_table`` holds the batch's files (``file_id``, ``path``); rows carry ``_file``, the file id.
    A value equal to one of ``null_markers`` (or empty, as Spark reads it) becomes NULL. DuckDB errors
    are left to the caller, which isolates the file that causes them."""
    names = [c.name for c in raw.columns]
    if not names:
        raise CsvOptionError(f"raw table {raw.qualified_name} has no columns; crawl it before bronze")
    options = reader_options(raw, table, table_spec)
    data_nulls = ""
    late: list[str] = []  # markers DuckDB refuses as nullstr: mapped to NULL after the read
    if "nullstr" in options and _clashes(options["nullstr"], options):
        late = [options.pop("nullstr")]
    elif null_markers and "nullstr" not in options:
        markers = list(dict.fromkeys(["", *null_markers]))
        late = [m for m in markers if _clashes(m, options)]
        data_nulls = f", nullstr = [{', '.join(quote_literal(m) for m in markers if m not in late)}]"
    if max_record_bytes:
        data_nulls += f", max_line_size = {int(max_record_bytes) + 16}, buffer_size = {buffer_size(max_record_bytes)}"
    if not files:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_TABLE} AS SELECT "
                    + ", ".join(f"CAST(NULL AS VARCHAR) AS {quote_ident(n)}" for n in names)
                    + ", CAST(NULL AS INTEGER) AS _file, CAST(NULL AS INTEGER) AS _line, "
                      "CAST(NULL AS VARCHAR) AS _reject_reason, CAST(NULL AS VARCHAR) AS _raw WHERE false")
        return f"SELECT * FROM {_TABLE}"
    columns = "{" + ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names) + "}"
    option_sql = ", ".join(f"{k} = {v}" if k == "header" else f"{k} = {quote_literal(v)}" for k, v in options.items())
    paths = "[" + ", ".join(quote_literal(p) for p, _ in files) + "]"

    def value(n: str) -> str:
        if not late:
            return f"d.{quote_ident(n)}"
        return (f"CASE WHEN d.{quote_ident(n)} IN ({', '.join(quote_literal(m) for m in late)}) THEN NULL "
                f"ELSE d.{quote_ident(n)} END")

    data = ", ".join(text_choice(value(n), table_spec.choices[n]) + f" AS {quote_ident(n)}"
                     if n in table_spec.choices else f"{value(n)} AS {quote_ident(n)}" for n in names)
    con.execute("DROP TABLE IF EXISTS __lg_csv_errors")
    con.execute("DROP TABLE IF EXISTS __lg_csv_scans")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_TABLE} AS
        SELECT {data}, f.file_id AS _file, CAST(NULL AS INTEGER) AS _line,
               CAST(NULL AS VARCHAR) AS _reject_reason, CAST(NULL AS VARCHAR) AS _raw
        FROM read_csv({paths}, columns = {columns}, {option_sql}{data_nulls}, auto_detect = false,
                      strict_mode = true, filename = '__file', store_rejects = true,
                      rejects_table = '__lg_csv_errors', rejects_scan = '__lg_csv_scans') AS d
        JOIN {files_table} AS f ON d.__file = f.path""")
    reason = records.ragged_csv_record(len(names))
    nulls = ", ".join(f"NULL AS {quote_ident(n)}" for n in names)
    counted = ", ".join(quote_literal(e) for e in _FIELD_COUNT_ERRORS)
    con.execute(f"""INSERT INTO {_TABLE}
        SELECT {nulls}, f.file_id, CAST(NULL AS INTEGER),
               CASE WHEN bool_and(e.error_type IN ({counted})) THEN {quote_literal(reason)}
                    ELSE 'CSV record cannot be parsed: ' || string_agg(DISTINCT lower(e.error_type), ', ') END,
               any_value(rtrim(e.csv_line, chr(10)))
        FROM __lg_csv_errors AS e JOIN __lg_csv_scans AS s USING (scan_id, file_id)
        JOIN {files_table} AS f ON s.file_path = f.path
        WHERE trim(e.csv_line, ' ' || chr(9) || chr(10) || chr(13)) <> ''
        GROUP BY f.file_id, e.line""")
    return f"SELECT * FROM {_TABLE}"
