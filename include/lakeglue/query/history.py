"""Query history, like Athena's "Recent queries": every run, newest first, read from the results zone.

Each query already leaves ``results/queries/<query_id>/metadata.json`` (SUCCEEDED or
FAILED) behind, so the history *is* those files: no second store to keep in sync, it
works the same on a local lake and on S3, and deleting a result directory (lifecycle)
removes its history entry. Listing reads one small JSON file per query; that is fine
for the thousands of queries a results zone keeps before lifecycle rules expire them.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lakeglue.settings import Settings
from lakeglue.storage.zones import Lake

STATES = ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class QueryRecord:
    """One history entry: enough to find the query, its result and why it failed."""

    query_id: str
    submitted_at: datetime
    state: str
    statement_type: str
    engine: str
    sql: str
    rows: int | None
    duration_s: float | None
    output_location: str | None
    metadata_location: str
    error: str | None

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], location: str) -> QueryRecord:
        return cls(
            query_id=str(meta["query_id"]),
            submitted_at=datetime.fromisoformat(str(meta["submitted_at"])),
            state=str(meta.get("state", "")),
            statement_type=str(meta.get("statement_type", "SELECT")),
            engine=str(meta.get("engine", "")),
            sql=str(meta.get("sql", "")),
            rows=meta.get("rows"),
            duration_s=meta.get("duration_s"),
            output_location=meta.get("output_location"),
            metadata_location=str(meta.get("metadata_location") or location),
            error=meta.get("error"),
        )

    def one_line_sql(self, width: int = 60) -> str:
        """The SQL without comments and line breaks, cut to ``width`` characters."""
        lines = [line.split("--", 1)[0].strip() for line in self.sql.splitlines()]
        text = " ".join(line for line in lines if line)
        return text if len(text) <= width else text[: width - 1] + "…"


def list_queries(settings: Settings | None = None, lake: Lake | None = None, limit: int | None = 50,
                 state: str | None = None) -> list[QueryRecord]:
    """The most recent queries (newest first), optionally only ``SUCCEEDED`` or ``FAILED`` ones."""
    if state is not None and state.upper() not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    lake = lake or Lake(settings)
    pattern = posixpath.join(lake.path("results", "queries"), "*", "metadata.json")
    records = []
    for path in lake.fs.glob(pattern):
        try:
            meta = json.loads(lake.read_text(path))
            record = QueryRecord.from_metadata(meta, lake.uri(path))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{lake.uri(path)} is not a lakeglue query metadata file: {exc}") from exc
        if state is None or record.state == state.upper():
            records.append(record)
    records.sort(key=lambda r: r.submitted_at, reverse=True)
    return records[:limit] if limit is not None else records


def history_table(records: list[QueryRecord]) -> str:
    """An aligned text table of history entries for the CLI."""
    header = ["submitted (UTC)", "query_id", "state", "type", "engine", "rows", "seconds", "sql / error"]
    lines = []
    for r in records:
        detail = r.one_line_sql() if r.state != "FAILED" else f"{r.one_line_sql(40)}  ← {(r.error or '')[:80]}"
        lines.append([r.submitted_at.strftime("%Y-%m-%d %H:%M:%S"), r.query_id, r.state, r.statement_type, r.engine,
                      "" if r.rows is None else str(r.rows), "" if r.duration_s is None else f"{r.duration_s:.3f}",
                      detail])
    widths = [max([len(h)] + [len(row[i]) for row in lines]) for i, h in enumerate(header)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
           "-+-".join("-" * w for w in widths)]
    out.extend(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in lines)
    out.append(f"({len(records)} {'query' if len(records) == 1 else 'queries'})")
    return "\n".join(out)
