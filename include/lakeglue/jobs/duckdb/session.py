"""The one place DuckDB job connections are made, so every job and test gets the same settings.

A job gets a fresh in-memory database with a memory cap and a spill directory (settings
``duckdb_memory_limit`` / ``duckdb_temp_directory``), so batches larger than memory spill
to disk instead of failing; the session time zone is UTC as in the Spark session, and
insertion order is not preserved (row order is not a guarantee of any table, and keeping it
costs memory and parallelism); the one statement that needs it — bronze numbering lines by
their position in the file — turns it on for itself. Partitioned writes flush per row group and
the allocator returns freed memory (see :func:`connect`): peak memory is a goal of the engine.
The macros registered here are the Spark/Java formatting rules bronze and silver must
reproduce (see :mod:`lakeglue.jobs.duckdb.casts`). A lake on S3 gets the httpfs extension and
credentials (:mod:`lakeglue.jobs.duckdb.object_store`).
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from lakeglue.jobs.duckdb.object_store import configure_s3, is_object_store
from lakeglue.jobs.duckdb.types import quote_literal
from lakeglue.settings import Settings, get_settings

if TYPE_CHECKING:
    import duckdb

#: Java's ``Double.toString`` (what Spark prints for a double): plain notation in [1e-3, 1e7),
#: otherwise ``d.dddE±n``. DuckDB prints the shortest round-trip digits like Python's repr, so
#: only the notation has to be rebuilt from those digits.
_MACROS = (
    """CREATE OR REPLACE MACRO lg_sci_digits(b) AS CASE
        WHEN contains(b, 'e') THEN replace(split_part(b, 'e', 1), '.', '')
        WHEN split_part(b, '.', 1) <> '0' THEN split_part(b, '.', 1) || split_part(b, '.', 2)
        ELSE ltrim(split_part(b, '.', 2), '0') END""",
    """CREATE OR REPLACE MACRO lg_sci_exponent(b) AS CASE
        WHEN contains(b, 'e') THEN CAST(split_part(b, 'e', 2) AS INTEGER)
        WHEN split_part(b, '.', 1) <> '0' THEN length(split_part(b, '.', 1)) - 1
        ELSE -(length(split_part(b, '.', 2)) - length(ltrim(split_part(b, '.', 2), '0')) + 1) END""",
    """CREATE OR REPLACE MACRO lg_sci_format(digits, exponent) AS
        digits[1] || '.' || coalesce(nullif(digits[2:], ''), '0') || 'E' || CAST(exponent AS VARCHAR)""",
    """CREATE OR REPLACE MACRO lg_java_sci(s) AS
        CASE WHEN starts_with(s, '-') THEN '-' ELSE '' END
        || lg_sci_format(coalesce(nullif(rtrim(lg_sci_digits(ltrim(s, '-')), '0'), ''), '0'),
                         lg_sci_exponent(ltrim(s, '-')))""",
    """CREATE OR REPLACE MACRO lg_java_double(d) AS CASE
        WHEN d IS NULL THEN NULL
        WHEN isnan(d) THEN 'NaN'
        WHEN isinf(d) THEN CASE WHEN d > 0 THEN 'Infinity' ELSE '-Infinity' END
        WHEN d = 0 OR (abs(d) >= 1e-3 AND abs(d) < 1e7) THEN CAST(d AS VARCHAR)
        ELSE lg_java_sci(CAST(d AS VARCHAR)) END""",
    # A JSON value as Spark's JSON reader renders it into a string field: strings unquoted,
    # doubles in Java notation, integers verbatim (even beyond 64 bits), objects/arrays as compact JSON.
    """CREATE OR REPLACE MACRO lg_json_leaf(j) AS CASE json_type(j)
        WHEN 'VARCHAR' THEN j ->> '$'
        WHEN 'DOUBLE' THEN CASE WHEN regexp_full_match(CAST(j AS VARCHAR), '-?[0-9]+') THEN CAST(j AS VARCHAR)
                                ELSE lg_java_double(CAST(j AS DOUBLE)) END
        WHEN 'NULL' THEN NULL
        ELSE CAST(j AS VARCHAR) END""",
)


#: DuckDB's Parquet row group (rows).
_ROW_GROUP_ROWS = 122_880


def temp_directory(settings: Settings) -> str:
    return settings.duckdb_temp_directory or os.path.join(tempfile.gettempdir(), "lakeglue-duckdb")


def connect(settings: Settings | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A configured in-memory DuckDB for one job run (close it when the job ends)."""
    import duckdb

    settings = settings or get_settings()
    spill = temp_directory(settings)
    os.makedirs(spill, exist_ok=True)
    con = duckdb.connect(":memory:")
    try:
        # literals, not bound parameters: binding goes through the client's pandas-aware conversion
        con.execute(f"SET memory_limit = {quote_literal(settings.duckdb_memory_limit)}")
        con.execute(f"SET temp_directory = {quote_literal(spill)}")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")
        # Memory: a partitioned COPY (silver) flushes a partition's rows once they fill a row group instead
        # of buffering half a million rows per thread and partition; freed memory goes back to the system
        # between statements, so one table's staging does not raise the next one's peak.
        con.execute(f"SET partitioned_write_flush_threshold = {_ROW_GROUP_ROWS}")
        con.execute("SET allocator_background_threads = true")
        con.execute("SET default_null_order = 'nulls_last'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        for macro in _MACROS:
            con.execute(macro)
        if is_object_store(settings):
            configure_s3(con, settings)
    except duckdb.Error as exc:
        con.close()
        raise ValueError(f"cannot configure DuckDB (memory_limit={settings.duckdb_memory_limit!r}, "
                         f"temp_directory={spill!r}): {exc}") from exc
    return con
