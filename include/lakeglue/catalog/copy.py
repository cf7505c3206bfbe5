"""Copy a catalog's databases, tables and partitions into another backend: moving a lake between profiles.

The embedded profile's SQLite catalog and the compose stack's Hive Metastore hold the same model, so
moving a lake is: copy its files, then copy the catalog (``lakeglue catalog copy --to thrift://…``).
Only the current definition of each table moves, through the protocol (so any backend pair works);
the target starts its own version history there. Copying again is safe: a table whose definition
and partitions already match is left alone, a changed one becomes a new version on the target.
Locations are copied as they are — rewrite them first if the files moved to another root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lakeglue.catalog.base import Catalog, EntityNotFound
from lakeglue.catalog.diff import diff_tables
from lakeglue.catalog.model import Partition


@dataclass
class CopyReport:
    databases: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.databases)} databases; {len(self.copied)} tables copied, "
                f"{len(self.unchanged)} already up to date")


def _same_partitions(a: Sequence[Partition], b: Sequence[Partition]) -> bool:
    def by_values(parts: Sequence[Partition]) -> dict[tuple[str, ...], tuple[object, object]]:
        return {tuple(p.values): (p.storage, p.parameters) for p in parts}

    return by_values(a) == by_values(b)


def copy_catalog(source: Catalog, target: Catalog, databases: Sequence[str] | None = None) -> CopyReport:
    """Make ``target`` hold every table (current definition and partitions) of ``source``'s databases."""
    report = CopyReport()
    for database in source.list_databases():
        if databases is not None and database.name not in databases:
            continue
        try:
            target.get_database(database.name)
        except EntityNotFound:
            target.create_database(database)
        report.databases.append(database.name)
        for table in source.list_tables(database.name):
            partitions = source.get_partitions(database.name, table.name)
            if target.table_exists(database.name, table.name):
                there = target.get_table(database.name, table.name)
                if diff_tables(there, table).is_empty and _same_partitions(
                        target.get_partitions(database.name, table.name), partitions):
                    report.unchanged.append(table.qualified_name)
                    continue
            target.swap_table(table.evolve(version=0), partitions, expected_version=None)
            report.copied.append(table.qualified_name)
    return report
