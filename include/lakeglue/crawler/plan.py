"""Plan: compare what the listing and inference say with what the catalog holds, change by change.

The plan is computed without writing anything, which is what makes ``dry_run`` honest:
apply only executes a plan, it never decides. Every change carries its reason; changes
a schema change policy holds back are listed as *logged* instead of disappearing.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from lakeglue.catalog.base import Catalog
from lakeglue.catalog.model import Partition, Table
from lakeglue.crawler.classify import UnreadableFile
from lakeglue.crawler.config import CRAWL_EVENT_MODE, CRAWL_EVERYTHING, CRAWL_NEW_FOLDERS_ONLY, CrawlerConfig
from lakeglue.crawler.consistency import PartitionIssue, check_partitions
from lakeglue.crawler.events import event_listing, fs_path
from lakeglue.crawler.grouping import decide_tables, leaf_folder
from lakeglue.crawler.infer import FileSchema
from lakeglue.crawler.listing import Listing, TableFolder, build_tables, list_files, roots_at_level, table_names
from lakeglue.crawler.policy import apply_policy
from lakeglue.crawler.schema import Inference, config_hints, infer_table, sample_files
from lakeglue.crawler.tabledef import build_table, existing_options
from lakeglue.ledger import Ledger
from lakeglue.storage.zones import FileInfo, Lake

CREATE, UPDATE, UNCHANGED, SKIP = "create", "update", "unchanged", "skip"
#: Per table, partition changes beyond this many are summarised in one line.
MAX_PARTITION_LINES = 100
DEPRECATED = "DEPRECATED_BY_CRAWLER"

#: Files read once (for grouping) and reused by table inference: path → schema or failure.
Cache = dict[str, FileSchema | UnreadableFile]


@dataclass
class TablePlan:
    name: str
    folder: TableFolder
    action: str
    source: str
    table: Table | None = None
    existing: Table | None = None
    partitions_add: list[Partition] = field(default_factory=list)
    partitions_update: list[Partition] = field(default_factory=list)
    partitions_remove: list[tuple[str, ...]] = field(default_factory=list)
    #: Partition keys changed: the whole partition set is swapped in one transaction.
    replace_partitions: bool = False
    changes: list[str] = field(default_factory=list)
    #: Changes the schema change / delete policy did not let through.
    logged: list[str] = field(default_factory=list)
    #: Why the table is planned as it is (which files, which rule): one line for the plan.
    reason: str = ""
    issues: list[PartitionIssue] = field(default_factory=list)
    files_read: int = 0
    #: Listed files the ledger has not seen (or saw with another size/mtime, or only as announced).
    fresh: list[FileInfo] = field(default_factory=list)

    def desired_partitions(self) -> list[Partition]:
        return self.partitions_add + self.partitions_update


@dataclass
class CrawlPlan:
    config: CrawlerConfig
    listing: Listing
    tables: list[TablePlan] = field(default_factory=list)
    #: Tables this crawler made whose folder is gone.
    gone: list[Table] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_scanned: int = 0
    bytes_read: int = 0
    #: Announced (event) objects per ledger source, promoted to ``new`` once their table is written.
    announced: dict[str, set[str]] = field(default_factory=dict)
    #: Set when the plan must not be applied (TableThreshold exceeded).
    abort_reason: str = ""

    def absorb(self, inference: Inference) -> None:
        self.errors.extend(inference.errors)
        self.notes.extend(inference.notes)
        self.files_scanned += inference.files_scanned
        self.bytes_read += inference.bytes_read


def build_plan(config: CrawlerConfig, lake: Lake, catalog: Catalog, ledger: Ledger) -> CrawlPlan:
    existing = {t.name: t for t in catalog.list_tables(config.database)}
    ours = {n: t for n, t in existing.items() if t.parameters.get("UPDATED_BY_CRAWLER") == config.name}
    announced: dict[str, set[str]] = {}
    for entry in ledger.announced(config.source_prefix):
        announced.setdefault(entry.source, set()).add(entry.path)
    cache: Cache = {}
    if config.recrawl_policy == CRAWL_EVENT_MODE:
        listing = event_listing(config, lake, ledger, existing)
        plan = CrawlPlan(config=config, listing=listing, notes=list(listing.notes), announced=announced)
    else:
        plan = CrawlPlan(config=config, listing=Listing("", [], [], 0, []), announced=announced)
        plan.listing = _listing(plan, lake, ours, cache)
        plan.notes[:0] = plan.listing.notes
    for folder in plan.listing.tables:
        plan.tables.append(_plan_table(plan, folder, existing.get(folder.name), lake, catalog, ledger, cache))
    if config.recrawl_policy != CRAWL_EVENT_MODE:
        listed = {f.name for f in plan.listing.tables}
        for name, table in sorted(ours.items()):
            if name not in listed:
                plan.gone.append(table)
                plan.notes.append(f"table {table.qualified_name}: its folder {table.location} has no files any "
                                  f"more (delete_behavior={config.delete_behavior})")
    found = [tp.name for tp in plan.tables if tp.table is not None]
    if config.table_threshold is not None and len(found) > config.table_threshold:
        plan.abort_reason = (f"the crawl found {len(found)} tables ({', '.join(found)}), more than "
                             f"table_threshold={config.table_threshold}; nothing was written (Glue's TableThreshold)")
    return plan


def _listing(plan: CrawlPlan, lake: Lake, ours: dict[str, Table], cache: Cache) -> Listing:
    """Tables at the configured level, or where schema similarity puts them (``table_level=None``)."""
    config = plan.config
    root, files = list_files(lake, config)
    notes: list[str] = []
    if config.table_level is not None:
        roots, skipped = roots_at_level(root, files, config.table_level)
    else:
        pinned = {posixpath.relpath(fs_path(lake, t.location), root) for t in ours.values()}
        pinned = {"" if p == "." else p for p in pinned if not p.startswith("..")}
        loose = [f for f in files if not any(p == "" or f.path.startswith(posixpath.join(root, p) + "/")
                                             for p in pinned)]
        grouping = Inference()
        schemas, _ = sample_files(lake.fs, loose, config, config_hints(config), grouping, cache)
        plan.absorb(grouping)
        folders: dict[str, list[FileSchema]] = {}
        for f in loose:
            folders.setdefault(leaf_folder(root, f.path), [])
        for s in schemas:
            folders[leaf_folder(root, s.path)].append(s)
        for p in pinned:
            folders.setdefault(p, [])
        table_roots, reasons = decide_tables(folders, config.combine_compatible_schemas, frozenset(pinned))
        notes.extend(reasons)
        roots = {r: posixpath.basename(r) for r in table_roots}
        skipped = []
    names, name_notes = table_names(roots, config.table_prefix, posixpath.basename(root) or config.database)
    outside = {path for path, _ in skipped}
    tables, more_skipped, layout_notes = build_tables(root, [f for f in files if f.path not in outside], roots, names)
    return Listing(root=root, tables=tables, skipped=skipped + more_skipped, files_listed=len(files),
                   notes=notes + name_notes + layout_notes, files=files)


def _files_to_read(config: CrawlerConfig, folder: TableFolder, existing: Table | None, fresh: list[FileInfo],
                   known_dirs: set[str], notes: list[str]) -> tuple[list[FileInfo], str]:
    """Which files this run reads for a table, and the reason (the recrawl policy's rule)."""
    total = len(folder.files)
    if existing is None:
        return folder.files, f"new folder {folder.folder} with {total} files ({len(fresh)} not in the ledger)"
    if config.recrawl_policy == CRAWL_EVERYTHING:
        return folder.files, f"CRAWL_EVERYTHING: all {total} files re-sampled"
    if config.recrawl_policy == CRAWL_NEW_FOLDERS_ONLY:
        new = [f for f in folder.files if posixpath.dirname(f.path) not in known_dirs]
        skipped = [f for f in fresh if posixpath.dirname(f.path) in known_dirs]
        if skipped:
            notes.append(f"table {folder.name}: {len(skipped)} new file(s) in already crawled folders not read "
                         "(CRAWL_NEW_FOLDERS_ONLY)")
        folders = len({posixpath.dirname(f.path) for f in new})
        return new, f"CRAWL_NEW_FOLDERS_ONLY: {len(new)} files in {folders} new folder(s)"
    if config.recrawl_policy == CRAWL_EVENT_MODE:
        return fresh, f"CRAWL_EVENT_MODE: {len(fresh)} announced file(s)"
    return fresh, f"{len(fresh)} new or changed of {total} files (ingestion ledger)"


def _plan_table(plan: CrawlPlan, folder: TableFolder, existing: Table | None, lake: Lake, catalog: Catalog,
                ledger: Ledger, cache: Cache) -> TablePlan:
    config = plan.config
    tp = TablePlan(name=folder.name, folder=folder, action=SKIP, source=config.ledger_source(folder.name),
                   existing=existing)
    known = ledger.versions(tp.source)
    announced = plan.announced.get(tp.source, set())
    fresh = [f for f in folder.files if known.get(f.path) != (f.size, f.mtime) or f.path in announced]
    tp.fresh = fresh
    known_dirs = {posixpath.dirname(p) for p in known} if config.recrawl_policy == CRAWL_NEW_FOLDERS_ONLY else set()
    to_read, tp.reason = _files_to_read(config, folder, existing, fresh, known_dirs, plan.notes)
    inference: Inference | None = None
    if to_read:
        options = existing_options(existing) if existing is not None else None
        inference = infer_table(lake.fs, folder.name, to_read, config, options,
                                merge_base=existing is not None and config.recrawl_policy != CRAWL_EVERYTHING,
                                cache=cache)
        plan.absorb(inference)
        tp.files_read = inference.files_scanned
    elif existing is not None:
        plan.notes.append(f"table {folder.name}: all {len(folder.files)} files already in the ledger, unchanged; "
                          "schema not re-inferred")
    schema = inference.schema if inference else None
    if existing is None and schema is None:
        plan.notes.append(f"folder {folder.folder}: no readable file among {len(folder.files)}; no table")
        return tp
    if existing is not None and inference is not None and schema is None:
        plan.notes.append(f"table {folder.name}: none of the {len(to_read)} files read is readable; schema kept")
    desired = build_table(config, lake, folder, schema, existing, plan.notes,
                          complete_listing=config.recrawl_policy != CRAWL_EVENT_MODE)
    if existing is None:
        tp.table, tp.action = desired, CREATE
        tp.changes.append(_describe_create(desired, tp.reason))
    else:
        tp.table, applied, tp.logged = apply_policy(config, existing, desired,
                                                    lambda old, new: describe_update(old, new, tp.reason))
        tp.changes.extend(applied)
        tp.action = UPDATE if tp.table != existing else UNCHANGED
    _plan_partitions(tp, lake, catalog, complete=config.recrawl_policy != CRAWL_EVENT_MODE,
                     delete_behavior=config.delete_behavior)
    if inference is not None:
        locations = {values: lake.uri(path) for values, path in folder.partitions.items()}
        tp.issues = check_partitions(tp.table, locations, folder.file_partition, inference.files)
    return tp


def _plan_partitions(tp: TablePlan, lake: Lake, catalog: Catalog, complete: bool, delete_behavior: str) -> None:
    """Partitions to add/update; with a complete listing, vanished ones per ``delete_behavior``."""
    assert tp.table is not None
    table = tp.table
    wanted = {values: Partition(table.database, table.name, values,
                                replace(table.storage, location=lake.uri(path)))
              for values, path in sorted(tp.folder.partitions.items())}
    current = {p.values: p for p in catalog.get_partitions(table.database, table.name)} if tp.existing else {}
    keys = ", ".join(k.name for k in table.partition_keys)
    lines: list[str] = []
    logged: list[str] = []
    if tp.existing is not None and tp.existing.partition_keys != table.partition_keys:
        tp.replace_partitions = True
        tp.partitions_add = list(wanted.values())
        tp.partitions_remove = sorted(current)
        tp.changes.append(f"table {table.name}: partition keys change from "
                          f"({', '.join(k.name for k in tp.existing.partition_keys)}) to ({keys}); all "
                          f"{len(current)} partitions replaced by {len(wanted)}")
        return
    for values, p in wanted.items():
        old = current.get(values)
        if old is None:
            tp.partitions_add.append(p)
            lines.append(f"partition {_spec(table, values)} of {table.name}: add (folder {p.location})")
        elif old.storage != p.storage or DEPRECATED in old.parameters:
            params = {k: v for k, v in old.parameters.items() if k != DEPRECATED}
            tp.partitions_update.append(replace(p, parameters=params, create_time=old.create_time))
            why = ("its folder has files again" if DEPRECATED in old.parameters
                   else "inherits the table's new storage descriptor")
            lines.append(f"partition {_spec(table, values)} of {table.name}: update ({why})")
    if complete:
        for values in sorted(current):
            if values in wanted:
                continue
            spec = _spec(table, values)
            if delete_behavior == "DELETE_FROM_DATABASE":
                tp.partitions_remove.append(values)
                lines.append(f"partition {spec} of {table.name}: remove (its folder has no files)")
            elif delete_behavior == "DEPRECATE_IN_DATABASE" and DEPRECATED not in current[values].parameters:
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                old = current[values]
                tp.partitions_update.append(replace(old, parameters={**old.parameters, DEPRECATED: stamp}))
                lines.append(f"partition {spec} of {table.name}: deprecate (its folder has no files)")
            elif delete_behavior == "LOG":
                logged.append(f"partition {spec} of {table.name}: its folder has no files; kept "
                              "[delete_behavior=LOG]")
    tp.changes.extend(lines[:MAX_PARTITION_LINES])
    if len(lines) > MAX_PARTITION_LINES:
        tp.changes.append(f"... and {len(lines) - MAX_PARTITION_LINES} more partition changes of {table.name}")
    tp.logged.extend(logged[:MAX_PARTITION_LINES])
    if len(logged) > MAX_PARTITION_LINES:
        tp.logged.append(f"... and {len(logged) - MAX_PARTITION_LINES} more logged partition changes of "
                         f"{table.name}")


def _spec(table: Table, values: tuple[str, ...]) -> str:
    return "/".join(f"{k.name}={v}" for k, v in zip(table.partition_keys, values, strict=True))


def _describe_create(table: Table, reason: str) -> str:
    cols = ", ".join(f"{c.name} {c.type}" for c in table.columns)
    keys = f"; partitioned by {', '.join(k.name for k in table.partition_keys)}" if table.partition_keys else ""
    return (f"table {table.qualified_name}: create ({table.classification}, compression "
            f"{table.parameters['compressionType']}; columns {cols}{keys}) from {reason}")


def describe_update(old: Table, new: Table, reason: str) -> list[str]:
    """One line per column, key, format or parameter difference."""
    name = new.qualified_name
    out: list[str] = []
    old_cols = {c.name: c.type for c in old.columns}
    new_cols = {c.name: c.type for c in new.columns}
    for col, t in new_cols.items():
        if col not in old_cols:
            out.append(f"table {name}: add column {col} {t} (seen in {reason})")
        elif old_cols[col] != t:
            out.append(f"table {name}: column {col} type {old_cols[col]} -> {t} (widened for {reason})")
    out.extend(f"table {name}: drop column {col} (no longer in the inferred schema; {reason})"
               for col in old_cols if col not in new_cols)
    if old.partition_keys != new.partition_keys:
        out.append(f"table {name}: partition keys ({', '.join(k.name for k in old.partition_keys)}) -> "
                   f"({', '.join(k.name for k in new.partition_keys)}) (folder layout changed)")
    if old.storage.location != new.storage.location:
        out.append(f"table {name}: location {old.storage.location} -> {new.storage.location}")
    if (old.storage.serde, old.storage.serde_parameters) != (new.storage.serde, new.storage.serde_parameters):
        out.append(f"table {name}: SerDe {old.storage.serde} {old.storage.serde_parameters} -> "
                   f"{new.storage.serde} {new.storage.serde_parameters}")
    for key in sorted(set(old.parameters) | set(new.parameters)):
        before, after = old.parameters.get(key), new.parameters.get(key)
        if before != after:
            out.append(f"table {name}: parameter {key} {before!r} -> {after!r}")
    return out or [f"table {name}: storage descriptor details change"]
