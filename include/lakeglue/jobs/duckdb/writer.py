"""Write query results as Parquet into a staging directory, and quarantine records as JSON lines.

Parquet layout matches Spark's writer: hive folders for partition columns (values not in
the files, ``__HIVE_DEFAULT_PARTITION__`` for NULL), snappy compression, timestamps stored
as instants so Spark reads them back as ``timestamp``. The catalog columns returned are
the Hive type strings Spark would register for the same data.

Quarantine files are JSON lines shaped like Spark's JSON writer output (fields in the
quarantine order, NULL fields omitted, compact separators), so tooling reading the
quarantine zone does not care which engine rejected a record.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lakeglue.catalog.model import Column
from lakeglue.jobs.duckdb.types import hive_type_of, quote_ident, quote_literal, storage_cast
from lakeglue.records import QUARANTINE_FIELDS

if TYPE_CHECKING:
    import duckdb
    import fsspec

#: Rows fetched per round trip when writing quarantine files.
_QUARANTINE_CHUNK = 10_000


@dataclass(frozen=True)
class Written:
    """What a Parquet write produced: catalog columns (data, then partition keys) and the row count."""

    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...]
    rows: int


def write_parquet(con: duckdb.DuckDBPyConnection, select_sql: str, directory: str,
                  partition_by: Sequence[str] = (), naive_timestamp: str = "timestamp") -> Written:
    """``COPY`` the rows of ``select_sql`` to ``directory`` (created), partitioned like Spark's ``partitionBy``."""
    rel = con.sql(select_sql)
    names, types = list(rel.columns), list(rel.types)
    missing = [p for p in partition_by if p not in names]
    if missing:
        raise ValueError(f"partition columns {missing} are not in the output columns {names}")
    hive = {n: hive_type_of(t, n, naive_timestamp) for n, t in zip(names, types, strict=True)}
    projection = [storage_cast(n, t, naive_timestamp) for n, t in zip(names, types, strict=True)]
    if "://" not in directory:  # object stores have no directories to make
        os.makedirs(directory, exist_ok=True)
    query = f"SELECT {', '.join(projection)} FROM ({select_sql})"
    if partition_by:
        keys = ", ".join(quote_ident(p) for p in partition_by)
        options = f"FORMAT parquet, COMPRESSION snappy, PARTITION_BY ({keys})"
        target_path = directory
    else:
        options = "FORMAT parquet, COMPRESSION snappy"
        target_path = posixpath.join(directory, "part-00000.parquet")
    result = con.execute(f"COPY ({query}) TO {quote_literal(target_path)} ({options})").fetchone()
    rows = int(result[0]) if result else 0
    return Written(columns=tuple(Column(n, hive[n]) for n in names if n not in partition_by),
                   partition_keys=tuple(Column(p, hive[p]) for p in partition_by), rows=rows)


def java_double(value: float) -> str:
    """Java's ``Double.toString`` (how Spark prints doubles): plain in [1e-3, 1e7), else ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "e" not in text else format(value, "f")
    shortest = Decimal(repr(abs(value)))  # the shortest round-trip digits, as Java (mostly) prints
    digits = "".join(str(d) for d in shortest.as_tuple().digits).rstrip("0") or "0"
    return ("-" if value < 0 else "") + f"{digits[0]}.{digits[1:] or '0'}E{shortest.adjusted()}"


def spark_json(value: Any) -> str:
    """A value as Spark's ``to_json``/JSON writer prints it: NULL struct fields omitted, compact, Java numbers."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{spark_json(v)}"
                              for k, v in value.items() if v is not None) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(spark_json(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = java_double(value)
        return f'"{text}"' if math.isnan(value) or math.isinf(value) else text  # JSON has no NaN: Spark quotes it
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return f'"{value.strftime("%Y-%m-%dT%H:%M:%S")}.{value.microsecond // 1000:03d}Z"'
    if isinstance(value, date):
        return f'"{value.isoformat()}"'
    return json.dumps(str(value), ensure_ascii=False)


def write_quarantine(con: duckdb.DuckDBPyConnection, select_sql: str, directory: str,
                     fs: fsspec.AbstractFileSystem) -> int:
    """Write the rows of ``select_sql`` (the quarantine fields) as ``part-00000.json`` in ``directory`` of ``fs``."""
    cursor = con.execute(f"SELECT {', '.join(quote_ident(f) for f in QUARANTINE_FIELDS)} FROM ({select_sql})")
    return write_records(_chunks(cursor), directory, fs)


def _chunks(cursor: duckdb.DuckDBPyConnection) -> Iterable[dict[str, Any]]:
    while True:
        batch = cursor.fetchmany(_QUARANTINE_CHUNK)
        if not batch:
            return
        for row in batch:
            yield dict(zip(QUARANTINE_FIELDS, row, strict=True))


def write_records(records: Iterable[dict[str, Any]], directory: str, fs: fsspec.AbstractFileSystem) -> int:
    """Records as Spark-shaped JSON lines in ``part-00000.json`` of a lake (fsspec) directory."""
    fs.makedirs(directory, exist_ok=True)
    count = 0
    with fs.open(posixpath.join(directory, "part-00000.json"), "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(spark_json(record) + "\n")
            count += 1
    return count
