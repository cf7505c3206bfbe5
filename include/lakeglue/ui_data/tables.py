"""Catalog pages: databases and tables (searchable), and everything about one table.

Sizes and row counts come from the files the catalog points at (Parquet footers, file sizes),
not from table parameters a job may not have set, so they are true for every table the catalog
holds, whoever wrote it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lakeglue.catalog.base import Catalog
from lakeglue.catalog.diff import TableDiff
from lakeglue.catalog.model import Partition, Table
from lakeglue.lineage import table_lineage
from lakeglue.pipelines.spec import PipelineSpec, list_pipelines, load_pipeline
from lakeglue.run_log import TaskRun, version_writers
from lakeglue.settings import Settings
from lakeglue.storage.zones import Lake
from lakeglue.ui_data.quality import QualityHistory, quality_history
from lakeglue.ui_data.quarantine import QuarantineSummary, quarantine_summary

SAMPLE_ROWS = 10
#: Longer sample values are cut (nested columns print long).
SAMPLE_VALUE_CHARS = 120
#: Partitions listed on a table page (newest first); the count covers all of them.
PARTITIONS_SHOWN = 30
#: Parquet footers read at most per location for the row count (one small read each); past it the
#: page says "n/a" rather than make a page view cost thousands of object-store requests.
FOOTERS_READ_LIMIT = 2000


@dataclass(frozen=True)
class TableEntry:
    database: str
    name: str
    classification: str
    columns: int
    partition_keys: tuple[str, ...]
    version: int
    updated: datetime | None
    location: str

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"


@dataclass(frozen=True)
class DatabaseEntry:
    name: str
    description: str
    tables: list[TableEntry]


def _matches(table: Table, needle: str) -> bool:
    haystack = [table.database, table.name, table.description, table.classification,
                *(c.name for c in table.all_columns())]
    return any(needle in text.lower() for text in haystack)


def database_listing(catalog: Catalog, q: str | None = None) -> list[DatabaseEntry]:
    """Every database with its tables; ``q`` keeps tables whose database, name, description,
    format or a column name contains it (case-insensitive); databases left empty by it are dropped."""
    needle = (q or "").strip().lower()
    out = []
    for db in sorted(catalog.list_databases(), key=lambda d: d.name):
        tables = [t for t in catalog.list_tables(db.name) if not needle or _matches(t, needle)]
        if needle and not tables:
            continue
        out.append(DatabaseEntry(db.name, db.description, [
            TableEntry(t.database, t.name, t.classification, len(t.columns), tuple(k.name for k in t.partition_keys),
                       t.version, t.update_time or t.create_time, t.location)
            for t in sorted(tables, key=lambda t: t.name)]))
    return out


@dataclass(frozen=True)
class FileStats:
    files: int = 0
    bytes: int = 0
    rows: int | None = None


@dataclass(frozen=True)
class PartitionEntry:
    values: dict[str, str]
    location: str
    stats: FileStats
    created: datetime | None


@dataclass(frozen=True)
class VersionEntry:
    version: int
    when: datetime | None
    location: str
    columns: int
    writer: TaskRun | None
    current: bool


@dataclass
class TablePage:
    table: Table
    stats: FileStats
    partition_count: int
    newest_partition: dict[str, str] | None
    partitions: list[PartitionEntry]
    versions: list[VersionEntry]
    sample_columns: list[str] = field(default_factory=list)
    sample_rows: list[list[str]] = field(default_factory=list)
    sample_error: str | None = None
    quality: QualityHistory | None = None
    quarantine: QuarantineSummary | None = None
    #: Direct neighbours (one job away): catalog tables, or raw source URIs upstream of raw tables.
    upstream: list[str] = field(default_factory=list)
    downstream: list[str] = field(default_factory=list)
    #: Everything further away, nearest first (a gold table's raw folders, a raw table's gold tables).
    upstream_all: list[str] = field(default_factory=list)
    downstream_all: list[str] = field(default_factory=list)


def data_files(lake: Lake, location: str) -> list[dict[str, Any]]:
    """Data files under ``location`` (markers such as ``_SUCCESS`` and hidden files left out)."""
    path = lake.fs_path(location)
    if not lake.fs.exists(path):
        return []
    found = lake.fs.find(path, detail=True)
    return [info for name, info in sorted(found.items())
            if not posixpath.basename(name).startswith(("_", ".")) and info.get("type") != "directory"]


def file_stats(lake: Lake, location: str, parquet: bool) -> FileStats:
    """Files, bytes and (Parquet: from the footers, no data read) rows under a location."""
    files = data_files(lake, location)
    rows: int | None = None
    if parquet and len(files) <= FOOTERS_READ_LIMIT:
        import pyarrow.parquet as pq

        rows = 0
        for info in files:
            with lake.fs.open(info["name"], "rb") as fh:
                rows += pq.ParquetFile(fh).metadata.num_rows
    return FileStats(len(files), sum(int(info.get("size") or 0) for info in files), rows)


def _sum(stats: list[FileStats]) -> FileStats:
    rows = None if any(s.rows is None for s in stats) else sum(s.rows or 0 for s in stats)
    return FileStats(sum(s.files for s in stats), sum(s.bytes for s in stats), rows)


def _partition_sort_key(part: Partition) -> tuple[str, ...]:
    return part.values


def pipeline_specs() -> list[PipelineSpec]:
    return [load_pipeline(path) for path in list_pipelines()]


def table_page(catalog: Catalog, settings: Settings, database: str, name: str,
               specs: list[PipelineSpec] | None = None, sample: bool = True) -> TablePage:
    """Everything the table page shows; raises the catalog's ``EntityNotFound`` for an unknown table."""
    lake = Lake(settings)
    table = catalog.get_table(database, name)
    parquet = table.classification == "parquet"
    partitions = sorted(catalog.get_partitions(database, name), key=_partition_sort_key, reverse=True) \
        if table.partition_keys else []
    entries = [PartitionEntry(p.spec(table.partition_keys), p.location, file_stats(lake, p.location, parquet),
                              p.create_time) for p in partitions]
    stats = _sum([e.stats for e in entries]) if table.partition_keys else file_stats(lake, table.location, parquet)
    writers = version_writers(settings.catalog_url, table.qualified_name)
    versions = [VersionEntry(v.version, v.archived_at or v.table.update_time or v.table.create_time,
                             v.table.location, len(v.table.columns), writers.get(v.version),
                             v.version == table.version)
                for v in reversed(catalog.get_table_versions(database, name))]
    page = TablePage(table, stats, len(partitions), entries[0].values if entries else None,
                     entries[:PARTITIONS_SHOWN], versions)
    if sample:
        _add_sample(page, catalog, lake, settings)
    specs = pipeline_specs() if specs is None else specs
    page.quality = quality_history(settings.catalog_url, table.qualified_name)
    page.quarantine = quarantine_summary(lake, specs, database, name)
    raw_root = settings.zone_root("raw")
    page.upstream, page.downstream = table_lineage(specs, table.qualified_name, depth=1, raw_root=raw_root)
    up_all, down_all = table_lineage(specs, table.qualified_name, raw_root=raw_root)
    page.upstream_all = [n for n in up_all if n not in page.upstream]
    page.downstream_all = [n for n in down_all if n not in page.downstream]
    return page


def _add_sample(page: TablePage, catalog: Catalog, lake: Lake, settings: Settings) -> None:
    from lakeglue.query import run_query
    from lakeglue.query.results import format_value

    table = page.table
    try:
        result = run_query(f'SELECT * FROM "{table.database}"."{table.name}" LIMIT {SAMPLE_ROWS}', output=None,
                           catalog=catalog, lake=lake, settings=settings)
    except Exception as exc:  # a table the engine cannot read still gets its page, with the reason
        page.sample_error = f"{type(exc).__name__}: {exc}"
        return
    page.sample_columns = list(result.columns)
    page.sample_rows = [[_cut(format_value(v, "NULL")) for v in row] for row in result.rows]


def _cut(text: str) -> str:
    return text if len(text) <= SAMPLE_VALUE_CHARS else text[: SAMPLE_VALUE_CHARS - 1] + "…"


def version_diff(catalog: Catalog, database: str, name: str, v1: int, v2: int) -> TableDiff:
    """What changed from version ``v1`` to ``v2`` (either order is allowed; ``v1`` is the "from")."""
    return catalog.diff_versions(database, name, v1, v2)
