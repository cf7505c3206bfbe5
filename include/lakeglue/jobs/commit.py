"""Atomic table commits: write to staging, move to a fresh version directory, swap the catalog.

Readers resolve a table through the catalog, so until the catalog points at the new
directory they keep reading the previous one; a job killed at any point leaves the
previous table intact. Superseded directories are removed later by lifecycle rules.

Inside a job (:func:`lakeglue.jobs.locks.table_writers`) the swap is optimistic and atomic:
it names the version the job planned from, and the table, its partitions and the job's
bookkeeping for it (ledger ``done`` states, silver's consumed batches, JDBC ranges) are one
catalog transaction — a run that planned from a version someone else replaced meanwhile
fails with :class:`~lakeglue.catalog.base.ConcurrentModification` and writes nothing.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lakeglue.catalog.base import Catalog
from lakeglue.catalog.model import Column, Partition, StorageDescriptor, Table
from lakeglue.jobs.locks import TableWrite, active_write
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
    keys = [k.name for k in partition_keys]
    parts = [Partition(database, name, values, StorageDescriptor.for_format(
                 "parquet", merged, lake.uri(partition_path(location, keys, values))))
             for values in partition_values_in(lake, location, keys)]
    return _swap(catalog, table, parts, replace_partitions=True)


def _swap(catalog: Catalog, table: Table, partitions: list[Partition], *, replace_partitions: bool) -> Table:
    """Commit through the job's :class:`TableWrite` when it holds one (checked version, bookkeeping
    in the same transaction), else on top of whatever is current."""
    write: TableWrite | None = active_write(table.database, table.name)
    stored = catalog.swap_table(table, partitions, replace_partitions=replace_partitions,
                                expected_version=None if write is None else write.expected_version,
                                writes=() if write is None else list(write.pending))
    if write is not None:
        write.pending.clear()
        write.expected_version = stored.version  # a second commit of the same job builds on its first
        write.committed = True
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
    partition = Partition(database, name, (batch_id,), StorageDescriptor.for_format(
        "parquet", merged, lake.uri(posixpath.join(attempt_dir, f"{batch_key}={batch_id}"))))
    return _swap(catalog, table, [partition], replace_partitions=replace_all)
