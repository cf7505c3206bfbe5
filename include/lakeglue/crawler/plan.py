"""Plan: compare what the listing and inference say with what the catalog holds, change by change.

The plan is computed without writing anything, which is what makes ``dry_run`` honest:
apply only executes a plan, it never decides. Every change carries its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lakeglue.catalog.base import Catalog
from lakeglue.catalog.model import Column, Partition, StorageDescriptor, Table
from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.listing import Listing, TableFolder, list_target
from lakeglue.crawler.schema import ExistingOptions, Inference, TableSchema, infer_table
from lakeglue.crawler.types import STRING, GlueType, TypeParseError, format_type, parse_type
from lakeglue.ledger import Ledger
from lakeglue.storage.zones import FileInfo, Lake

CREATE, UPDATE, UNCHANGED, SKIP = "create", "update", "unchanged", "skip"
#: Per table, partition changes beyond this many are summarised in one line.
MAX_PARTITION_LINES = 100
#: Parameters the crawler owns; everything else on an existing table is left alone.
CRAWLER_SCHEMA_VERSION = "1.0"


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


def build_plan(config: CrawlerConfig, lake: Lake, catalog: Catalog, ledger: Ledger) -> CrawlPlan:
    listing = list_target(lake, config)
    plan = CrawlPlan(config=config, listing=listing, notes=list(listing.notes))
    existing = {t.name: t for t in catalog.list_tables(config.database)}
    for folder in listing.tables:
        plan.tables.append(_plan_table(plan, folder, existing.get(folder.name), lake, catalog, ledger))
    listed = {f.name for f in listing.tables}
    for name, table in sorted(existing.items()):
        if name not in listed and table.parameters.get("UPDATED_BY_CRAWLER") == config.name:
            plan.gone.append(table)
            plan.notes.append(f"table {table.qualified_name}: its folder {table.location} has no files any more "
                              f"(delete_behavior={config.delete_behavior})")
    return plan


def _new_or_changed(files: list[FileInfo], ledger: Ledger, source: str) -> list[FileInfo]:
    """Files the ledger has not seen with this size and mtime (read-only: dry runs use it too)."""
    known = {e.path: (e.size, e.mtime) for e in ledger.entries(source)}
    return [f for f in files if known.get(f.path) != (f.size, f.mtime)]


def _plan_table(plan: CrawlPlan, folder: TableFolder, existing: Table | None, lake: Lake, catalog: Catalog,
                ledger: Ledger) -> TablePlan:
    config = plan.config
    tp = TablePlan(name=folder.name, folder=folder, action=SKIP, source=config.ledger_source(folder.name),
                   existing=existing)
    fresh = _new_or_changed(folder.files, ledger, tp.source)
    inference: Inference | None = None
    if existing is None:
        inference = infer_table(lake.fs, folder.name, folder.files, config)
    elif fresh:
        inference = infer_table(lake.fs, folder.name, fresh, config, existing_options(existing))
    else:
        plan.notes.append(f"table {folder.name}: all {len(folder.files)} files already in the ledger, unchanged; "
                          "schema not re-inferred")
    if inference is not None:
        plan.errors.extend(inference.errors)
        plan.notes.extend(inference.notes)
        plan.files_scanned += inference.files_scanned
        plan.bytes_read += inference.bytes_read
    schema = inference.schema if inference else None
    if existing is None and schema is None:
        plan.notes.append(f"folder {folder.folder}: no readable file among {len(folder.files)}; no table")
        return tp
    if existing is not None and inference is not None and schema is None and fresh:
        plan.notes.append(f"table {folder.name}: none of the {len(fresh)} new or changed files is readable; "
                          "schema kept")
    desired = build_table(config, lake, folder, schema, existing, plan.notes)
    tp.table = desired
    if existing is None:
        tp.action = CREATE
        tp.changes.append(_describe_create(desired, folder, len(fresh)))
    elif desired == existing:
        tp.action = UNCHANGED
    else:
        tp.action = UPDATE
        tp.changes.extend(describe_update(existing, desired, len(fresh)))
    _plan_partitions(tp, lake, catalog)
    return tp


def existing_options(table: Table) -> ExistingOptions:
    p = table.parameters
    header = p.get("skip.header.line.count")
    return ExistingOptions(
        format=p.get("classification", ""), compression=p.get("compressionType", "none"),
        columns=[(c.name, _parse(c.type)) for c in table.columns], delimiter=p.get("delimiter", ""),
        header=(header == "1") if p.get("classification") == "csv" else None)


def _parse(text: str) -> GlueType:
    try:
        return parse_type(text)
    except TypeParseError:
        return STRING


def _serde_parameters(fmt: str, delimiter: str, columns: list[Column]) -> dict[str, str]:
    if fmt == "csv":
        return {"field.delim": delimiter, "serialization.format": delimiter}
    if fmt == "json":
        return {"paths": ",".join(sorted(c.name for c in columns))}
    return {"serialization.format": "1"}


def _average_record_size(schema: TableSchema | None, existing: Table | None) -> int:
    """Stored bytes per record: from the sample, blended with the existing estimate on incremental runs."""
    old_avg = float(existing.parameters.get("averageRecordSize", 0) or 0) if existing else 0.0
    old_n = int(existing.parameters.get("recordCount", 0) or 0) if existing else 0
    if schema is None or schema.records == 0:
        return max(1, round(old_avg))
    if old_avg and old_n:
        return max(1, round((old_avg * old_n + schema.stored_bytes) / (old_n + schema.records)))
    return max(1, round(schema.stored_bytes / schema.records))


def build_table(config: CrawlerConfig, lake: Lake, folder: TableFolder, schema: TableSchema | None,
                existing: Table | None, notes: list[str]) -> Table:
    """The table as the crawler wants it; carries over what the crawler does not own (comments, extra params)."""
    if schema is None:
        assert existing is not None, "a table without inference must already exist"
        opts = existing_options(existing)
        schema = TableSchema(format=opts.format, compression=opts.compression, columns=opts.columns,
                             delimiter=opts.delimiter, header=opts.header)
        inferred = False
    else:
        inferred = True
    keys = tuple(Column(k, "string") for k in folder.layout.keys)
    comments = {c.name: c.comment for c in existing.columns} if existing else {}
    columns: list[Column] = []
    for name, t in schema.columns:
        if name in folder.layout.keys:
            notes.append(f"table {folder.name}: data column {name} has the name of a partition key; dropped from "
                         "the data columns (query engines reject duplicate column names)")
            continue
        columns.append(Column(name, format_type(t), comments.get(name, "")))
    avg = _average_record_size(schema if inferred else None, existing)
    size = sum(f.size for f in folder.files)
    params = dict(existing.parameters) if existing else {}
    params.pop("DEPRECATED_BY_CRAWLER", None)
    params.update({
        "classification": schema.format,
        "compressionType": schema.compression,
        "typeOfData": "file",
        "objectCount": str(len(folder.files)),
        "sizeKey": str(size),
        "averageRecordSize": str(avg),
        "recordCount": str(round(size / avg)),
        "UPDATED_BY_CRAWLER": config.name,
        "CrawlerSchemaDeserializerVersion": CRAWLER_SCHEMA_VERSION,
        "CrawlerSchemaSerializerVersion": CRAWLER_SCHEMA_VERSION,
    })
    for key in ("delimiter", "skip.header.line.count"):
        params.pop(key, None)
    if schema.format == "csv":
        params["delimiter"] = schema.delimiter
        if schema.header:
            params["skip.header.line.count"] = "1"
    storage = StorageDescriptor.for_format(
        schema.format, columns, lake.uri(folder.folder),
        serde_parameters=_serde_parameters(schema.format, schema.delimiter, columns),
        compressed=schema.compression not in ("none", ""))
    if existing is not None:
        storage = replace(storage, parameters=dict(existing.storage.parameters))
        return existing.evolve(storage=storage, partition_keys=keys, parameters=params)
    return Table(database=config.database, name=folder.name, storage=storage, partition_keys=keys,
                 parameters=params)


def _plan_partitions(tp: TablePlan, lake: Lake, catalog: Catalog) -> None:
    assert tp.table is not None
    table = tp.table
    wanted = {values: Partition(table.database, table.name, values,
                                replace(table.storage, location=lake.uri(path)))
              for values, path in sorted(tp.folder.partitions.items())}
    current = {p.values: p for p in catalog.get_partitions(table.database, table.name)} if tp.existing else {}
    keys = ", ".join(k.name for k in table.partition_keys)
    lines: list[str] = []
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
        elif old.storage != p.storage:
            tp.partitions_update.append(replace(p, parameters=old.parameters, create_time=old.create_time))
            lines.append(f"partition {_spec(table, values)} of {table.name}: update (inherits the table's new "
                         "storage descriptor)")
    for values in sorted(current):
        if values not in wanted:
            tp.partitions_remove.append(values)
            lines.append(f"partition {_spec(table, values)} of {table.name}: remove (its folder has no files)")
    tp.changes.extend(lines[:MAX_PARTITION_LINES])
    if len(lines) > MAX_PARTITION_LINES:
        tp.changes.append(f"... and {len(lines) - MAX_PARTITION_LINES} more partition changes of {table.name}")


def _spec(table: Table, values: tuple[str, ...]) -> str:
    return "/".join(f"{k.name}={v}" for k, v in zip(table.partition_keys, values, strict=True))


def _describe_create(table: Table, folder: TableFolder, fresh: int) -> str:
    cols = ", ".join(f"{c.name} {c.type}" for c in table.columns)
    keys = f"; partitioned by {', '.join(k.name for k in table.partition_keys)}" if table.partition_keys else ""
    return (f"table {table.qualified_name}: create ({table.classification}, compression "
            f"{table.parameters['compressionType']}; columns {cols}{keys}) from new folder {folder.folder} "
            f"with {len(folder.files)} files ({fresh} not in the ledger)")


def describe_update(old: Table, new: Table, fresh: int) -> list[str]:
    """One line per column, key, format or parameter difference."""
    name = new.qualified_name
    why = f"{fresh} new or changed files" if fresh else "files listed differently"
    out: list[str] = []
    old_cols = {c.name: c.type for c in old.columns}
    new_cols = {c.name: c.type for c in new.columns}
    for col, t in new_cols.items():
        if col not in old_cols:
            out.append(f"table {name}: add column {col} {t} (seen in {why})")
        elif old_cols[col] != t:
            out.append(f"table {name}: column {col} type {old_cols[col]} -> {t} (widened for {why})")
    out.extend(f"table {name}: drop column {col} (no longer in the inferred schema)"
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
