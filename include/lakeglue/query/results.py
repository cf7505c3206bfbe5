"""Query results: the in-memory :class:`QueryResult` and its files in the results zone.

Like Athena, every query leaves ``results/queries/<query_id>/`` behind: the rows
(``result.csv``, plus ``result.parquet`` on request, which keeps exact types) and a
``metadata.json`` saying what ran, on which tables, how long it took and how much it read.
The directory is written in staging and committed in one move, so a reader never sees
a half-written result.

Results are streamed, not held: :class:`ResultWriter` takes Arrow record batches as the
engine produces them, appends each to the files and keeps only the first
``query_preview_rows`` rows in memory — the rows a :class:`QueryResult` (and the Airflow
task's log and XCom) carries. A result larger than the worker's memory is therefore written
whole to the results zone; ``row_count`` counts all of it.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeglue.storage.zones import Lake

OUTPUT_FORMATS = ("csv", "parquet")
#: Rows of the preview a task's XCom carries (as text); the whole result is in the results zone.
XCOM_PREVIEW_ROWS = 20


def format_value(value: Any, null: str = "") -> str:
    """One value as Athena prints it: ISO dates, plain decimals, ``[a, b]`` arrays, ``{k=v}`` rows."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v, 'null')}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v, "null") for v in value) + "]"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


@dataclass
class QueryResult:
    """What a query returned; ``rows`` are Python values (Decimal, date, list, dict …)."""

    query_id: str
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    row_count: int
    output_location: str | None
    metadata_location: str | None
    duration_s: float
    engine: str = "duckdb"
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        """True when ``rows`` is only a preview: the whole result is in the file at ``output_location``."""
        return len(self.rows) < self.row_count

    def to_table_text(self, max_rows: int = 50) -> str:
        """An aligned text table (numbers right-aligned, NULL spelled out) for logs, CLI and demos."""
        shown = self.rows[:max_rows]
        cells = [[format_value(v, "NULL") for v in row] for row in shown]
        widths = [max([len(name)] + [len(r[i]) for r in cells]) for i, name in enumerate(self.columns)]
        numeric = [any(_is_number(row[i]) for row in shown) for i in range(len(self.columns))]

        def line(values: list[str]) -> str:
            parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
            return " | ".join(parts).rstrip()

        out = [line(list(self.columns)), "-+-".join("-" * w for w in widths)]
        out.extend(line(r) for r in cells)
        noun = "row" if self.row_count == 1 else "rows"
        more = f", showing the first {len(shown)}" if len(shown) < self.row_count else ""
        out.append(f"({self.row_count} {noun}{more})")
        return "\n".join(out)

    @property
    def unparsed_values(self) -> list[dict[str, Any]]:
        """Text-table columns where values did not parse as the column's type and read as NULL (with counts)."""
        return list(self.stats.get("unparsed_values") or [])

    def notices(self) -> list[str]:
        """One line per column with values that read as NULL because they did not parse (for CLI and logs)."""
        from lakeglue.query.text_tables import unparsed_notice

        return [unparsed_notice(entry) for entry in self.unparsed_values]

    def to_dict(self) -> dict[str, Any]:
        """Compact, JSON-safe summary without the rows (for XCom and logs); writes add what they wrote."""
        summary = self._summary()
        if self.stats.get("statement_type") in ("CTAS", "INSERT"):
            summary.update(statement_type=self.stats["statement_type"], target_table=self.stats.get("target_table"),
                           rows_written=self.rows[0][0] if self.rows else None)
        return summary

    def _summary(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "engine": self.engine,
            "columns": [{"name": n, "type": t} for n, t in zip(self.columns, self.types, strict=True)],
            "row_count": self.row_count,
            "output_location": self.output_location,
            "metadata_location": self.metadata_location,
            "duration_s": self.duration_s,
            "bytes_scanned": self.stats.get("bytes_scanned"),
            "files_scanned": self.stats.get("files_scanned"),
            **({"unparsed_values": self.unparsed_values} if self.unparsed_values else {}),
            "preview": [[format_value(v, "NULL") for v in row] for row in self.rows[:XCOM_PREVIEW_ROWS]],
        }


def arrow_rows(data: pa.Table) -> list[tuple[Any, ...]]:
    """Rows as tuples, column by column (to_pylist on the table would merge duplicate column names)."""
    columns = [column.to_pylist() for column in data.columns]
    return list(zip(*columns, strict=True))


def csv_text(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([format_value(v) for v in row] for row in rows)
    return buffer.getvalue()


def query_dir(lake: Lake, query_id: str) -> str:
    return lake.path("results", "queries", query_id)


def write_query_files(lake: Lake, query_id: str, metadata: dict[str, Any], data: pa.Table | None = None,
                      rows: list[tuple[Any, ...]] | None = None, output: str = "csv") -> tuple[str | None, str]:
    """Stage result files and ``metadata.json``, then commit them to ``results/queries/<query_id>/``.

    Without ``data`` (a failed query) only the metadata is written. Returns the URIs of the
    output file (None without data) and of the metadata file.
    """
    final = query_dir(lake, query_id)
    staged = lake.new_staging_path("query")
    lake.fs.makedirs(staged, exist_ok=True)
    output_location = None
    if data is not None:
        lake.write_text(posixpath.join(staged, "result.csv"), csv_text(data.column_names, rows or []))
        output_location = lake.uri(posixpath.join(final, "result.csv"))
        if output == "parquet":
            import pyarrow.parquet as pq

            with lake.fs.open(posixpath.join(staged, "result.parquet"), "wb") as fh:
                pq.write_table(data, fh)
            output_location = lake.uri(posixpath.join(final, "result.parquet"))
    metadata_location = lake.uri(posixpath.join(final, "metadata.json"))
    body = {**metadata, "output_location": output_location, "metadata_location": metadata_location}
    lake.write_text(posixpath.join(staged, "metadata.json"), json.dumps(body, indent=2, default=str) + "\n")
    lake.commit(staged, final)
    return output_location, metadata_location


class ResultWriter:
    """Streams one query's rows to ``results/queries/<query_id>/``, keeping only a preview in memory.

    Batches go to ``result.csv`` (and ``result.parquet`` when asked) in a staging directory as
    they arrive; :meth:`commit` adds ``metadata.json`` and moves the directory into place in one
    step, :meth:`abort` drops it (a failed query keeps only its FAILED metadata).
    """

    def __init__(self, lake: Lake, query_id: str, output: str = "csv", preview_rows: int = 1000) -> None:
        self.lake = lake
        self.query_id = query_id
        self.output = output
        self.preview_rows = max(0, preview_rows)
        self.staged = lake.new_staging_path("query")
        self.final = query_dir(lake, query_id)
        self.row_count = 0
        self.schema: pa.Schema | None = None
        self._preview: list[pa.RecordBatch] = []
        self._preview_count = 0
        self._csv: Any = None
        self._csv_writer: Any = None
        self._parquet: Any = None
        self._parquet_fh: Any = None

    def open(self, schema: pa.Schema) -> None:
        """Start the files (CSV header, Parquet schema); called once, before the first batch."""
        self.schema = schema
        self.lake.fs.makedirs(self.staged, exist_ok=True)
        self._csv = self.lake.fs.open(posixpath.join(self.staged, "result.csv"), "w", newline="")
        self._csv_writer = csv.writer(self._csv, lineterminator="\n")
        self._csv_writer.writerow(schema.names)
        if self.output == "parquet":
            import pyarrow.parquet as pq

            self._parquet_fh = self.lake.fs.open(posixpath.join(self.staged, "result.parquet"), "wb")
            self._parquet = pq.ParquetWriter(self._parquet_fh, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one batch to the files; keep its head while the preview is not full."""
        if self.schema is None:
            self.open(batch.schema)
        if batch.num_rows == 0:
            return
        self._csv_writer.writerows([format_value(v) for v in row] for row in _batch_rows(batch))
        if self._parquet is not None:
            self._parquet.write_batch(batch)
        if self._preview_count < self.preview_rows:
            head = batch.slice(0, self.preview_rows - self._preview_count)
            self._preview.append(head)
            self._preview_count += head.num_rows
        self.row_count += batch.num_rows

    def write_table(self, data: pa.Table) -> None:
        """An engine that answered with a whole table (Trino, Athena, writes): the same files, batch by batch."""
        if self.schema is None:
            self.open(data.schema)
        for batch in data.to_batches():
            self.write(batch)

    def preview(self) -> pa.Table:
        """The first ``preview_rows`` rows as an Arrow table (the result's schema even when empty)."""
        import pyarrow as pa

        assert self.schema is not None, "preview() before any schema was written"
        return pa.Table.from_batches(self._preview, schema=self.schema)

    def _close_files(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet_fh.close()
            self._parquet = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None

    def commit(self, metadata: dict[str, Any]) -> tuple[str, str]:
        """Close the files, write ``metadata.json`` and move the result into place; returns
        (output location, metadata location)."""
        self._close_files()
        name = "result.parquet" if self.output == "parquet" else "result.csv"
        output_location = self.lake.uri(posixpath.join(self.final, name))
        metadata_location = self.lake.uri(posixpath.join(self.final, "metadata.json"))
        body = {**metadata, "output_location": output_location, "metadata_location": metadata_location}
        self.lake.write_text(posixpath.join(self.staged, "metadata.json"),
                             json.dumps(body, indent=2, default=str) + "\n")
        self.lake.commit(self.staged, self.final)
        return output_location, metadata_location

    def abort(self) -> None:
        """Drop what was staged (the query failed part-way)."""
        self._close_files()
        if self.lake.fs.exists(self.staged):
            self.lake.fs.rm(self.staged, recursive=True)

    def restart(self) -> None:
        """Drop what was written so far and start empty: the engine runs the query again another way
        (see :meth:`lakeglue.query.duckdb_engine.DuckDBEngine.execute`)."""
        self.abort()
        self.row_count = 0
        self.schema = None
        self._preview = []
        self._preview_count = 0
        self._csv_writer = None


def _batch_rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """Rows of one batch as tuples, column by column (duplicate column names stay apart)."""
    return list(zip(*(column.to_pylist() for column in batch.columns), strict=True))
