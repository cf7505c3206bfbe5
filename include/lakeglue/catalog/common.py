"""Catalog behaviour built only from the protocol's primitives, shared by every backend.

A backend implements storage (get/create/update/delete); what follows from those —
idempotent database creation, create-or-update with retries, version lookup and diff,
search semantics, partition arity checks — is written once here, so SQL and Glue
cannot disagree on it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from lakeglue.catalog.base import AlreadyExists, ConcurrentModification, EntityNotFound, SqlWrite
from lakeglue.catalog.diff import TableDiff, diff_tables
from lakeglue.catalog.model import Database, Partition, Table, TableVersion

if TYPE_CHECKING:
    from lakeglue.catalog.base import Catalog

#: How often ``upsert_table`` re-reads and retries when another writer committed first.
UPSERT_ATTEMPTS = 20


def matches_search(table: Table, text: str | None, parameters: Mapping[str, str | None] | None) -> bool:
    """The search rule every backend applies: name contains ``text`` (any case) and every
    parameter matches — a ``None`` value only asks for the key to be present."""
    if text and text.lower() not in table.name.lower():
        return False
    for key, value in (parameters or {}).items():
        if key not in table.parameters or (value is not None and table.parameters[key] != value):
            return False
    return True


def sort_tables(tables: Iterable[Table]) -> list[Table]:
    return sorted(tables, key=lambda t: (t.database, t.name))


def check_partition_arity(partitions: Sequence[Partition], key_counts: Mapping[tuple[str, str], int]) -> None:
    """A partition with the wrong number of values would be unreachable by any query: refuse it."""
    for p in partitions:
        expected = key_counts[(p.database, p.table)]
        if len(p.values) != expected:
            raise ValueError(f"partition {p.values} of {p.database}.{p.table} has {len(p.values)} "
                             f"values; the table has {expected} partition keys")


def version_not_found(database: str, name: str, version: int, available: Sequence[int]) -> EntityNotFound:
    listed = ", ".join(str(v) for v in available) or "none"
    return EntityNotFound(f"table {database}.{name} has no version {version}; versions: {listed}")


def table_conflict(qualified_name: str, expected: int, current: int | None) -> ConcurrentModification:
    """The error of a commit planned from a version that is no longer current."""
    planned = "did not exist" if expected == 0 else f"was at version {expected}"
    now = "exists" if current is None else ("does not exist" if current == 0 else f"is at version {current}")
    return ConcurrentModification(
        f"table {qualified_name} {now}, but this job planned from it when it {planned}: another run committed "
        "in between (or the table was dropped); nothing was written — rerun the job to plan from the current version")


def run_writes_apart(writes: Sequence[SqlWrite]) -> None:
    """Run bookkeeping writes each in its own transaction on its own database."""
    from lakeglue.catalog.sql import engine_for

    for write in writes:
        with engine_for(write.url).begin() as conn:
            write.apply(conn)


class CatalogOps:
    """Mixin with the derived operations; the backend class provides the primitives."""

    def ensure_database(self: Catalog, name: str, description: str = "") -> Database:
        try:
            return self.get_database(name)
        except EntityNotFound:
            try:
                return self.create_database(Database(name=name, description=description))
            except AlreadyExists:  # created by a concurrent task in between
                return self.get_database(name)

    def upsert_table(self: Catalog, table: Table) -> Table:
        """Create the table, or update it on top of whatever version is current."""
        for attempt in range(UPSERT_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.02 * attempt))  # spread out writers that keep colliding
            if not self.table_exists(table.database, table.name):
                try:
                    return self.create_table(table)
                except AlreadyExists:
                    continue
            try:
                current = self.get_table(table.database, table.name)
            except EntityNotFound:  # deleted between the check and the read: create it again
                continue
            try:
                return self.update_table(table.evolve(version=current.version))
            except (ConcurrentModification, EntityNotFound):
                continue
        raise ConcurrentModification(
            f"table {table.qualified_name}: gave up after {UPSERT_ATTEMPTS} conflicting writers")

    def swap_table(self: Catalog, table: Table, partitions: Sequence[Partition], *,
                   expected_version: int | None = None, replace_partitions: bool = True,
                   writes: Sequence[SqlWrite] = ()) -> Table:
        """Make ``table`` (with ``partitions``) the current version, if the current one is ``expected_version``.

        ``expected_version`` is the version the job planned from (0: the table must not exist
        yet; ``None``: on top of whatever is current). A mismatch raises
        :class:`ConcurrentModification` and writes nothing. This generic form is what backends
        without multi-object transactions (Glue) guarantee: the version check is the backend's
        own (Glue's ``VersionId``), the partitions are written after the table, and ``writes``
        run after both, each in its own transaction — a crash in between leaves the table
        committed and the bookkeeping behind (the next plan reconciles it, see docs/events.md).
        The SQL backend overrides this with one transaction for all of it.
        """
        if expected_version is None:
            stored = self.upsert_table(table)
        elif expected_version == 0:
            try:
                stored = self.create_table(table)
            except AlreadyExists as exc:
                raise table_conflict(table.qualified_name, expected_version, None) from exc
        else:
            stored = self.update_table(table.evolve(version=expected_version), expected_version=expected_version)
        if replace_partitions:
            self.replace_partitions(table.database, table.name, partitions)
        else:
            self.batch_upsert_partitions(partitions)
        run_writes_apart(writes)
        return stored

    def get_table_version(self: Catalog, database: str, name: str, version: int) -> TableVersion:
        versions = self.get_table_versions(database, name)
        for v in versions:
            if v.version == version:
                return v
        raise version_not_found(database, name, version, [v.version for v in versions])

    def diff_versions(self: Catalog, database: str, name: str, v1: int, v2: int) -> TableDiff:
        """What changed from version ``v1`` to ``v2`` (either order; ``v1`` is the "before")."""
        return diff_tables(self.get_table_version(database, name, v1).table,
                           self.get_table_version(database, name, v2).table)
