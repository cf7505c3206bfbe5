"""Query history and one query's page: SQL, state, duration, rows, and the first rows of its result."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from lakeglue.query.history import QueryRecord, list_queries
from lakeglue.query.results import query_dir
from lakeglue.run_log import TaskRun, query_task
from lakeglue.settings import Settings
from lakeglue.storage.zones import Lake

PREVIEW_ROWS = 50


@dataclass
class QueryPage:
    record: QueryRecord
    preview_columns: list[str] = field(default_factory=list)
    preview_rows: list[list[str]] = field(default_factory=list)
    #: Local path or object URL of the result file that the result link serves.
    result_path: str | None = None
    #: The pipeline task that ran it (None for queries run from the CLI or by hand).
    ran_by: TaskRun | None = None


def query_history(settings: Settings, limit: int = 100) -> list[QueryRecord]:
    return list_queries(settings, limit=limit)


def query_page(settings: Settings, query_id: str) -> QueryPage | None:
    """The query's page, or None if the results zone has no such query."""
    from lakeglue.storage.paths import check_segment

    check_segment(query_id, "query id", "query history")  # a URL part never walks out of results/queries/
    lake = Lake(settings)
    meta_path = f"{query_dir(lake, query_id)}/metadata.json"
    if not lake.fs.exists(meta_path):
        return None
    meta = json.loads(lake.read_text(meta_path))
    page = QueryPage(QueryRecord.from_metadata(meta, lake.uri(meta_path)),
                     ran_by=query_task(settings.catalog_url, query_id))
    output = page.record.output_location
    if output and output.endswith(".csv") and lake.fs.exists(lake.fs_path(output)):
        page.result_path = lake.fs_path(output)
        with lake.fs.open(page.result_path, "rt") as fh:
            reader = csv.reader(io.StringIO("".join(next(fh, "") for _ in range(PREVIEW_ROWS + 1))))
            rows = list(reader)
        if rows:
            page.preview_columns, page.preview_rows = rows[0], rows[1:]
    elif output and lake.fs.exists(lake.fs_path(output)):
        page.result_path = lake.fs_path(output)
    return page


def result_chunks(settings: Settings, path: str, size: int = 1 << 20) -> Iterator[bytes]:
    """The result file's bytes in chunks, from wherever the lake keeps it (local or object store)."""
    lake = Lake(settings)
    with lake.fs.open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk
