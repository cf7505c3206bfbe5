"""Atomic table commits: write to staging, move to a fresh version directory, swap the catalog.

Readers resolve a table through the catalog, so until the catalog points at the new
directory they keep reading the previous one; a job killed at any point leaves the
previous table intact. Superseded directories are removed later by lifecycle rules.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lakeglue.catalog.base import Catalog
from lakeglue.catalog.model import Column, Partition, StorageDescriptor, Table
from lakeglue.storage.paths import check_name, check_segment
from lakeglue.storage.zones import Lake


def version_token() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class PendingWrite:
    """Where a job writes (``staged``) and where the commit will put it (``final``)."""

    staged: str
    final: str


def plan_table_version(lake: Lake, layer: str, table: str) -> PendingWrite:
    """A whole-table rewrite (silver, gold): ``curated/<layer>/<table>/v-<token>``."""
    token = version_token()
    return PendingWrite(lake.new_staging_path(f"{layer}-{table}"), lake.path("curated", layer, table, f"v-{token}"))


def plan_batch_attempt(lake: Lake, layer: str, table: str) -> PendingWrite:
    """One attempt at one batch partition (bronze): ``curated/<layer>/<table>/a-<token>``."""
    token = version_token()
    return PendingWrite(lake.new_staging_path(f"{layer}-{table}"), lake.path("curated", layer, table, f"a-{token}"))


def partition_values_in(lake: Lake, root: str, keys: Sequence[str]) -> list[tuple[str, ...]]:
    """Hive partition values present under a written directory, read from its folder names."""
    if not keys:
        return []
    values: set[tuple[str, ...]] = set()
    for path in lake.fs.find(root):
        rel = posixpath.relpath(path, root).split("/")[:-1]
        kv = dict(seg.split("=", 1) for seg in rel if "=" in seg)
        if all(k in kv for k in keys):
            values.add(tuple(kv[k] for k in keys))
    return sorted(values)


def partition_path(location: str, keys: Sequence[str], values: Sequence[str]) -> str:
    """``location/k=v/…`` for values in the folder form the engine wrote (already escaped by it);
    a key that is not a plain name, or a folder that would not be one folder, is refused."""
    return posixpath.join(location, *[check_segment(f"{check_name(k, 'partition column')}={v}", "partition folder")
                                      for k, v in zip(keys, values, strict=True)])


def merge_columns(previous: Sequence[Column], current: Sequence[Column]) -> list[Column]:
    """Previous columns in their order (with current types), then new ones: drift only adds."""
    by_name = {c.name: c for c in current}
    known = {c.name for c in previous}
    return [by_name.get(c.name, c) for c in previous] + [c for c in current if c.name not in known]


def register_table(catalog: Catalog, lake: Lake, database: str, name: str, columns: Sequence[Column],
                   location: str, partition_keys: Sequence[Column] = (), parameters: dict[str, str] | None = None,
                   *, keep_previous_columns: bool = False) -> Table:
    """Create or update a Parquet table whose data was rewritten as a whole at ``location``.

    The partition set is replaced in the same step, from the hive folders present under
    ``location``. With ``keep_previous_columns`` columns absent from this write stay in the
    schema (nullable), so appended tables only ever gain columns.
    """
    catalog.ensure_database(database)
    merged = list(columns)
    if keep_previous_columns and catalog.table_exists(database, name):
        merged = merge_columns(catalog.get_table(database, name).columns, columns)
    params = {"classification": "parquet", "typeOfData": "file", "UPDATED_BY_JOB": "lakeglue",
              **(parameters or {})}
    table = Table(database=database, name=name,
                  storage=StorageDescriptor.for_format("parquet", merged, lake.uri(location)),
                  partition_keys=tuple(partition_keys), parameters=params)
    stored = catalog.upsert_table(table)
    keys = [k.name for k in partition_keys]
    parts = [Partition(database, name, values, StorageDescriptor.for_format(
                 "parquet", merged, lake.uri(partition_path(location, keys, values))))
             for values in partition_values_in(lake, location, keys)]
    catalog.replace_partitions(database, name, parts)
    return stored


def register_batch_partition(catalog: Catalog, lake: Lake, database: str, name: str, columns: Sequence[Column],
                             table_root: str, attempt_dir: str, batch_key: str, batch_id: str,
                             parameters: dict[str, str] | None = None, replace_all: bool = False) -> Table:
    """Add (or replace) one batch partition of an appended table such as bronze.

    ``replace_all`` drops every other batch partition in the same transaction (a full refresh).
    """
    catalog.ensure_database(database)
    merged = list(columns)
    if catalog.table_exists(database, name) and not replace_all:
        merged = merge_columns(catalog.get_table(database, name).columns, columns)
    params = {"classification": "parquet", "typeOfData": "file", "UPDATED_BY_JOB": "lakeglue",
              **(parameters or {})}
    table = Table(database=database, name=name,
                  storage=StorageDescriptor.for_format("parquet", merged, lake.uri(table_root)),
                  partition_keys=(Column(batch_key, "string"),), parameters=params)
    stored = catalog.upsert_table(table)
    partition = Partition(database, name, (batch_id,), StorageDescriptor.for_format(
        "parquet", merged, lake.uri(posixpath.join(attempt_dir, f"{batch_key}={batch_id}"))))
    if replace_all:
        catalog.replace_partitions(database, name, [partition])
    else:
        catalog.batch_upsert_partitions([partition])
    return stored
