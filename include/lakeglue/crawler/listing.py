"""One listing of the target prefix, cut into tables (first-level folders) and their partitions.

The listing is the only I/O a no-op recrawl pays for, so everything here works on the
file list alone and never opens a file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.names import sanitize_name
from lakeglue.crawler.partitions import PartitionLayout, detect_layout
from lakeglue.storage.zones import DEFAULT_EXCLUDES, FileInfo, Lake


@dataclass
class TableFolder:
    """A first-level folder under the prefix: the files of one catalog table."""

    name: str
    folder: str
    files: list[FileInfo]
    layout: PartitionLayout
    #: partition values → partition folder (fsspec path); empty for an unpartitioned table.
    partitions: dict[tuple[str, ...], str] = field(default_factory=dict)
    #: file path → partition values.
    file_partition: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def leaf_groups(self) -> dict[str, list[FileInfo]]:
        """Files per directory, in listing order: the unit Glue samples from."""
        groups: dict[str, list[FileInfo]] = {}
        for f in self.files:
            groups.setdefault(posixpath.dirname(f.path), []).append(f)
        return groups


@dataclass
class Listing:
    root: str
    tables: list[TableFolder]
    skipped: list[tuple[str, str]]
    files_listed: int
    notes: list[str]


def excludes_for(config: CrawlerConfig) -> tuple[str, ...]:
    return tuple(config.excludes) + (DEFAULT_EXCLUDES if config.use_default_excludes else ())


def list_target(lake: Lake, config: CrawlerConfig) -> Listing:
    """List ``<zone>/<prefix>`` and group files by table folder; root-level files are skipped."""
    root = lake.path(config.zone, config.prefix)
    files = lake.list_files(root, excludes_for(config))
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    by_folder: dict[str, list[tuple[FileInfo, tuple[str, ...]]]] = {}
    for f in files:
        parts = posixpath.relpath(f.path, root).split("/")
        if len(parts) == 1:
            skipped.append((f.path, f"file directly in the crawl root {root}; tables are the folders below it"))
            continue
        by_folder.setdefault(parts[0], []).append((f, tuple(parts[1:-1])))

    tables: list[TableFolder] = []
    owner: dict[str, str] = {}
    for folder_name in sorted(by_folder):
        entries = by_folder[folder_name]
        name = config.table_prefix + sanitize_name(folder_name)
        folder = posixpath.join(root, folder_name)
        if name in owner:
            for f, _ in entries:
                skipped.append((f.path, f"folder {folder_name!r} maps to table name {name!r}, "
                                        f"already taken by folder {owner[name]!r}"))
            continue
        owner[name] = folder_name
        if name != folder_name:
            notes.append(f"folder {folder_name!r} becomes table {name!r} (catalog names are lower snake case)")
        layout = detect_layout([dirs for _, dirs in entries])
        notes.extend(f"table {name}: {n}" for n in layout.notes)
        table = TableFolder(name=name, folder=folder, files=[f for f, _ in entries], layout=layout)
        for f, dirs in entries:
            values = layout.values_of(dirs)
            table.file_partition[f.path] = values
            if layout.depth:
                table.partitions.setdefault(values, posixpath.join(folder, *dirs[: layout.depth]))
        tables.append(table)
    return Listing(root=root, tables=tables, skipped=skipped, files_listed=len(files), notes=notes)
