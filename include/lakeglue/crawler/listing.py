"""One listing of the target prefix, cut into tables and their partitions.

Where tables start is decided elsewhere (a fixed table level, schema similarity, or the
catalog's existing tables); this module only assigns files to table folders and folders
below a table root to partitions. The listing is the only I/O a no-op recrawl pays for,
so everything here works on the file list alone and never opens a file.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass, field

from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.names import sanitize_name
from lakeglue.crawler.partitions import PartitionLayout, detect_layout
from lakeglue.storage.zones import DEFAULT_EXCLUDES, FileInfo, Lake


@dataclass
class TableFolder:
    """A table root folder and the files below it: the files of one catalog table."""

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
    #: Every listed data file (litter excluded), sorted by path.
    files: list[FileInfo] = field(default_factory=list)


def excludes_for(config: CrawlerConfig) -> tuple[str, ...]:
    return tuple(config.excludes) + (DEFAULT_EXCLUDES if config.use_default_excludes else ())


def relative_parts(root: str, path: str) -> list[str]:
    """Path components below ``root`` (string slicing: listings always return paths under their root)."""
    if path.startswith(root + "/"):
        return path[len(root) + 1:].split("/")
    return posixpath.relpath(path, root).split("/")


class ExcludeMatcher:
    """:func:`lakeglue.storage.zones.is_excluded` with the globs compiled into one regex per rule kind.

    A listing of 10,000 files calls it 10,000 times, so the fnmatch loop matters. A folder
    whose *name* matches a ``**/name`` or ``**/name/**`` pattern is pruned whole (every file
    below it would be excluded anyway), which leaves two regex matches per file.
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        def rx(globs: list[str]) -> re.Pattern[str] | None:
            return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs)) if globs else None

        self.full = rx(list(patterns))
        self.any_part = rx([p[3:] for p in patterns if p.startswith("**/")])
        self.dir_part = rx([p[3:-3] for p in patterns if p.startswith("**/") and p.endswith("/**")])

    @staticmethod
    def _hit(regex: re.Pattern[str] | None, text: str) -> bool:
        return regex is not None and regex.match(text) is not None

    def prunes(self, folder_name: str) -> bool:
        return self._hit(self.any_part, folder_name) or self._hit(self.dir_part, folder_name)

    def excluded_file(self, relative_path: str, name: str) -> bool:
        """For a file whose folders were not pruned: only the rules on the whole path and the name remain."""
        return (self._hit(self.full, relative_path) or self._hit(self.any_part, relative_path)
                or self._hit(self.any_part, name))

    def excluded(self, relative_path: str) -> bool:
        rel = relative_path.lstrip("/")
        parts = rel.split("/")
        return self.excluded_file(rel, parts[-1]) or any(self.prunes(p) for p in parts[:-1])


def _list_local(root: str, matcher: ExcludeMatcher) -> list[FileInfo]:
    """``os.scandir`` walk with the same size/mtime as fsspec's local ``find`` (lstat mtime, target size)."""
    out: list[FileInfo] = []
    stack = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if not matcher.prunes(entry.name):
                    stack.append((entry.path, child))
                continue
            if matcher.excluded_file(child, entry.name):
                continue
            st = entry.stat(follow_symlinks=False)
            try:
                size = entry.stat().st_size if entry.is_symlink() else st.st_size
            except OSError:  # a broken symlink: listed with size 0, reported when read (never a crash)
                size = 0
            out.append(FileInfo(path=entry.path, size=int(size), mtime=st.st_mtime))
    return sorted(out, key=lambda f: f.path)


def list_files(lake: Lake, config: CrawlerConfig) -> tuple[str, list[FileInfo]]:
    """(crawl root, its data files): one recursive listing, litter excluded.

    Local lakes are walked with ``os.scandir`` (a no-change recrawl is this listing and
    little else); object stores go through the Lake's fsspec listing.
    """
    root = lake.path(config.zone, config.prefix)
    if lake.protocol == "file":
        return root, _list_local(root, ExcludeMatcher(excludes_for(config)))
    return root, lake.list_files(root, excludes_for(config))


def roots_at_level(root: str, files: list[FileInfo], level: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Table folders at ``level`` below the root (relative path → folder name), and files above that level."""
    roots: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    for f in files:
        parts = relative_parts(root, f.path)
        if len(parts) <= level:
            where = (f"directly in the crawl root {root}; tables are the folders below it" if len(parts) == 1
                     else f"{len(parts) - 1} folder(s) below the crawl root, above the table level {level}")
            skipped.append((f.path, f"file {where}"))
            continue
        rel = "/".join(parts[:level])
        roots.setdefault(rel, parts[level - 1])
    return roots, skipped


def table_names(roots: dict[str, str], table_prefix: str, root_name: str) -> tuple[dict[str, str], list[str]]:
    """Catalog name per table folder: the folder's name, or its whole relative path when names collide."""
    def base(rel: str) -> str:
        return table_prefix + sanitize_name(roots[rel] if rel else root_name)

    counts: dict[str, int] = {}
    for rel in roots:
        counts[base(rel)] = counts.get(base(rel), 0) + 1
    names: dict[str, str] = {}
    notes: list[str] = []
    for rel in sorted(roots):
        name = base(rel)
        if counts[name] > 1 and "/" in rel:
            longer = table_prefix + sanitize_name(rel.replace("/", "_"))
            notes.append(f"folders named {roots[rel]!r} at several places; {rel!r} becomes table {longer!r}")
            name = longer
        elif name != table_prefix + (roots[rel] if rel else root_name):
            notes.append(f"folder {roots[rel] if rel else root_name!r} becomes table {name!r} (catalog names are "
                         "lower snake case)")
        names[rel] = name
    return names, notes


def build_tables(root: str, files: list[FileInfo], roots: dict[str, str], names: dict[str, str],
                 ) -> tuple[list[TableFolder], list[tuple[str, str]], list[str]]:
    """Assign every file to the deepest table root above it; partitions from the folders in between."""
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    by_root: dict[str, list[tuple[FileInfo, tuple[str, ...]]]] = {}
    for f in files:
        parts = relative_parts(root, f.path)
        owner = next((cand for cand in ("/".join(parts[:depth]) for depth in range(len(parts) - 1, -1, -1))
                      if cand in roots), None)  # the deepest table folder above the file
        if owner is None:
            skipped.append((f.path, "file outside every table folder (its siblings' folders became separate "
                                    "tables)"))
            continue
        depth = len(owner.split("/")) if owner else 0
        by_root.setdefault(owner, []).append((f, tuple(parts[depth:-1])))
    tables: list[TableFolder] = []
    owner_of: dict[str, str] = {}
    for rel in sorted(by_root, key=lambda r: names[r]):
        entries = by_root[rel]
        name = names[rel]
        if name in owner_of:
            for f, _ in entries:
                skipped.append((f.path, f"folder {rel!r} maps to table name {name!r}, already taken by folder "
                                        f"{owner_of[name]!r}"))
            continue
        owner_of[name] = rel
        folder = posixpath.join(root, rel) if rel else root
        layout = detect_layout([dirs for _, dirs in entries])
        notes.extend(f"table {name}: {n}" for n in layout.notes)
        table = TableFolder(name=name, folder=folder, files=[f for f, _ in entries], layout=layout)
        seen: dict[tuple[str, ...], tuple[str, ...]] = {}  # one parse per folder, not per file
        for f, dirs in entries:
            key = dirs[: layout.depth]
            if key not in seen:
                seen[key] = layout.values_of(key)
                if layout.depth:
                    table.partitions.setdefault(seen[key], posixpath.join(folder, *key))
            table.file_partition[f.path] = seen[key]
        tables.append(table)
    return tables, skipped, notes


def folder_table(name: str, folder: str, files: list[FileInfo], keys: tuple[str, ...] | None = None) -> TableFolder:
    """A table over ``files`` below ``folder``; ``keys`` pins the partition keys (event mode, existing tables)."""
    entries = [(f, tuple(posixpath.relpath(f.path, folder).split("/")[:-1])) for f in files]
    layout = detect_layout([d for _, d in entries]) if keys is None else PartitionLayout(keys)
    table = TableFolder(name=name, folder=folder, files=files, layout=layout)
    for f, dirs in entries:
        if len(dirs) < layout.depth:
            continue
        values = layout.values_of(dirs)
        table.file_partition[f.path] = values
        if layout.depth:
            table.partitions.setdefault(values, posixpath.join(folder, *dirs[: layout.depth]))
    return table
