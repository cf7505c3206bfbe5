"""CRAWL_EVENT_MODE: crawl only the objects events announced, without listing the prefix.

Glue's event mode consumes S3 notifications instead of listing a bucket. Here the
announcements live in the ingestion ledger (state ``announced``): an event source — the
crawler operator with the files of the asset events that triggered its run, or anything
else calling :func:`announce` — records them; the crawl reads exactly those, updates their
tables and partitions, and promotes them to ``new`` so bronze can claim them. Deletions
cannot be seen without a listing, so event mode never removes tables or partitions.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from lakeglue.catalog.model import Table
from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.listing import Listing, TableFolder, excludes_for, folder_table, relative_parts
from lakeglue.crawler.names import sanitize_name
from lakeglue.ledger import Ledger
from lakeglue.storage.zones import FileInfo, Lake, _mtime, is_excluded


def _stat(lake: Lake, path: str) -> FileInfo:
    """Size and mtime exactly as :meth:`Lake.list_files` reports them (the ledger compares the two)."""
    info = lake.fs.info(path)
    return FileInfo(path, int(info.get("size") or 0), _mtime(info))


def fs_path(lake: Lake, location: str) -> str:
    """fsspec path of a catalog location (``file:///x`` → ``/x``, ``s3://b/k`` → ``b/k``)."""
    if location.startswith("file://"):
        return location.removeprefix("file://")
    return location.split("://", 1)[1] if "://" in location else location


def _table_for(config: CrawlerConfig, lake: Lake, root: str, path: str,
               tables: dict[str, Table]) -> tuple[str, str] | None:
    """(table name, table folder) of a path: an existing table whose folder holds it, else the table level."""
    for table in tables.values():
        folder = fs_path(lake, table.location).rstrip("/")
        if path.startswith(folder + "/"):
            return table.name, folder
    parts = relative_parts(root, path)
    level = config.table_level or 1
    if len(parts) <= level or parts[0] == "..":
        return None
    return config.table_prefix + sanitize_name(parts[level - 1]), posixpath.join(root, *parts[:level])


def announce(config: CrawlerConfig, lake: Lake, ledger: Ledger, paths: Iterable[str],
             tables: list[Table] | None = None) -> tuple[int, list[tuple[str, str]]]:
    """Record announced objects in the ledger under their table's source; (count, (path, reason) rejected)."""
    root = lake.path(config.zone, config.prefix)
    known = {t.name: t for t in (tables or []) if t.parameters.get("UPDATED_BY_CRAWLER") == config.name}
    by_source: dict[str, list[FileInfo]] = {}
    rejected: list[tuple[str, str]] = []
    excludes = excludes_for(config)
    for path in sorted(set(paths)):
        rel = posixpath.relpath(path, root)
        if rel.startswith("..") or is_excluded(rel, excludes):
            rejected.append((path, f"not a data file under the crawl root {root}"))
            continue
        target = _table_for(config, lake, root, path, known)
        if target is None:
            rejected.append((path, f"not inside a table folder of {root} (table level {config.table_level or 1})"))
            continue
        try:
            by_source.setdefault(config.ledger_source(target[0]), []).append(_stat(lake, path))
        except FileNotFoundError:
            rejected.append((path, "announced but no longer exists"))
    count = sum(len(ledger.announce(source, files)) for source, files in by_source.items())
    return count, rejected


def event_listing(config: CrawlerConfig, lake: Lake, ledger: Ledger, existing: dict[str, Table]) -> Listing:
    """Tables and partitions of the announced, not yet crawled objects (current size/mtime from storage)."""
    root = lake.path(config.zone, config.prefix)
    ours = {n: t for n, t in existing.items() if t.parameters.get("UPDATED_BY_CRAWLER") == config.name}
    skipped: list[tuple[str, str]] = []
    per_table: dict[str, tuple[str, list[FileInfo]]] = {}
    entries = ledger.announced(config.source_prefix)
    for entry in entries:
        name = config.table_of_source(entry.source)
        if name is None:
            continue
        try:
            info = _stat(lake, entry.path)
        except FileNotFoundError:
            skipped.append((entry.path, "announced but no longer exists"))
            continue
        target = _table_for(config, lake, root, entry.path, ours)
        folder = target[1] if target else posixpath.dirname(entry.path)
        per_table.setdefault(name, (folder, []))[1].append(info)
    tables: list[TableFolder] = []
    for name in sorted(per_table):
        folder, files = per_table[name]
        table = ours.get(name)
        keys = tuple(k.name for k in table.partition_keys) if table is not None else None
        tf = folder_table(name, folder, files, keys)
        for f in files:
            if f.path not in tf.file_partition:
                skipped.append((f.path, f"shallower than the {len(keys or ())} partition level(s) of table {name}"))
        tf.files = [f for f in files if f.path in tf.file_partition]
        if tf.files:
            tables.append(tf)
    notes = [f"event mode: {len(entries)} announced object(s) in the ledger; no listing of {root}"]
    return Listing(root=root, tables=tables, skipped=skipped, files_listed=len(entries), notes=notes,
                   files=[f for t in tables for f in t.files])
