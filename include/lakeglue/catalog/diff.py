"""What changed between two versions of a table: a pure function every backend shares.

Backends only fetch the two versions; the comparison lives here so that ``lakeglue catalog
diff`` reads the same on SQLite, Postgres and Glue, and so it can be tested without a catalog.
Types are compared after normalising case and whitespace (``DECIMAL(12, 2)`` is
``decimal(12,2)``): Hive and Glue treat them as the same type, and a diff that flags them
would send people chasing changes that are not there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lakeglue.catalog.model import Column, Table


@dataclass(frozen=True)
class ColumnChange:
    """A column present in both versions whose type, comment or parameters differ."""

    name: str
    old_type: str
    new_type: str
    old_comment: str = ""
    new_comment: str = ""
    old_parameters: dict[str, str] = field(default_factory=dict, hash=False)
    new_parameters: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def type_changed(self) -> bool:
        return normalize_type(self.old_type) != normalize_type(self.new_type)


@dataclass(frozen=True)
class ColumnsDiff:
    added: tuple[Column, ...] = ()
    removed: tuple[Column, ...] = ()
    changed: tuple[ColumnChange, ...] = ()
    #: The columns both versions share appear in a different order (matters for CSV and positional readers).
    reordered: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.reordered)


@dataclass(frozen=True)
class MappingDiff:
    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class ValueChange:
    """A scalar field of the table or its storage descriptor, before and after."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class TableDiff:
    database: str
    table: str
    old_version: int
    new_version: int
    columns: ColumnsDiff = field(default_factory=ColumnsDiff)
    partition_keys: ColumnsDiff = field(default_factory=ColumnsDiff)
    location: ValueChange | None = None
    #: input/output format, SerDe, compression, table type, description.
    fields: tuple[ValueChange, ...] = ()
    serde_parameters: MappingDiff = field(default_factory=MappingDiff)
    storage_parameters: MappingDiff = field(default_factory=MappingDiff)
    parameters: MappingDiff = field(default_factory=MappingDiff)

    @property
    def is_empty(self) -> bool:
        return (self.columns.is_empty and self.partition_keys.is_empty and self.location is None
                and not self.fields and self.serde_parameters.is_empty and self.storage_parameters.is_empty
                and self.parameters.is_empty)

    def lines(self) -> list[str]:
        """The diff as text, one change per line (``+`` added, ``-`` removed, ``~`` changed)."""
        out = [f"{self.database}.{self.table}: v{self.old_version} -> v{self.new_version}"]
        if self.is_empty:
            out.append("  no differences")
            return out
        out += _columns_lines("columns", self.columns)
        out += _columns_lines("partition keys", self.partition_keys)
        if self.location is not None:
            out.append(f"location: {self.location.old or '(none)'} -> {self.location.new or '(none)'}")
        for change in self.fields:
            out.append(f"{change.field}: {change.old or '(none)'} -> {change.new or '(none)'}")
        out += _mapping_lines("parameters", self.parameters)
        out += _mapping_lines("serde parameters", self.serde_parameters)
        out += _mapping_lines("storage parameters", self.storage_parameters)
        return out


def normalize_type(type_string: str) -> str:
    return "".join(type_string.split()).lower()


def diff_columns(old: tuple[Column, ...], new: tuple[Column, ...]) -> ColumnsDiff:
    """Match columns by name (case-insensitive, as Hive and Glue do) and report what moved."""
    old_by = {c.name.lower(): c for c in old}
    new_by = {c.name.lower(): c for c in new}
    added = tuple(c for c in new if c.name.lower() not in old_by)
    removed = tuple(c for c in old if c.name.lower() not in new_by)
    changed = []
    for col in new:
        before = old_by.get(col.name.lower())
        if before is None:
            continue
        change = ColumnChange(col.name, before.type, col.type, before.comment, col.comment,
                              dict(before.parameters), dict(col.parameters))
        if change.type_changed or before.comment != col.comment or before.parameters != col.parameters:
            changed.append(change)
    shared_old = [c.name.lower() for c in old if c.name.lower() in new_by]
    shared_new = [c.name.lower() for c in new if c.name.lower() in old_by]
    return ColumnsDiff(added, removed, tuple(changed), reordered=shared_old != shared_new)


def diff_mappings(old: Mapping[str, str], new: Mapping[str, str]) -> MappingDiff:
    return MappingDiff(
        added={k: new[k] for k in sorted(new) if k not in old},
        removed={k: old[k] for k in sorted(old) if k not in new},
        changed={k: (old[k], new[k]) for k in sorted(new) if k in old and old[k] != new[k]},
    )


def diff_tables(old: Table, new: Table) -> TableDiff:
    """Everything that differs between two definitions of one table (times are not changes)."""
    scalar_fields = [
        ("input format", old.storage.input_format, new.storage.input_format),
        ("output format", old.storage.output_format, new.storage.output_format),
        ("serde", old.storage.serde, new.storage.serde),
        ("compressed", str(old.storage.compressed).lower(), str(new.storage.compressed).lower()),
        ("table type", old.table_type, new.table_type),
        ("description", old.description, new.description),
    ]
    location = (ValueChange("location", old.location, new.location)
                if old.location != new.location else None)
    return TableDiff(
        database=new.database, table=new.name, old_version=old.version, new_version=new.version,
        columns=diff_columns(old.storage.columns, new.storage.columns),
        partition_keys=diff_columns(old.partition_keys, new.partition_keys),
        location=location,
        fields=tuple(ValueChange(name, a, b) for name, a, b in scalar_fields if a != b),
        serde_parameters=diff_mappings(old.storage.serde_parameters, new.storage.serde_parameters),
        storage_parameters=diff_mappings(old.storage.parameters, new.storage.parameters),
        parameters=diff_mappings(old.parameters, new.parameters),
    )


def _columns_lines(title: str, diff: ColumnsDiff) -> list[str]:
    if diff.is_empty:
        return []
    out = [f"{title}:"]
    out += [f"  + {c.name} {c.type}" for c in diff.added]
    out += [f"  - {c.name} {c.type}" for c in diff.removed]
    for ch in diff.changed:
        if ch.type_changed:
            out.append(f"  ~ {ch.name}: {ch.old_type} -> {ch.new_type}")
        if ch.old_comment != ch.new_comment:
            out.append(f"  ~ {ch.name} comment: {ch.old_comment!r} -> {ch.new_comment!r}")
        if ch.old_parameters != ch.new_parameters:
            out.append(f"  ~ {ch.name} parameters: {ch.old_parameters!r} -> {ch.new_parameters!r}")
    if diff.reordered:
        out.append("  ~ order of the existing columns changed")
    return out


def _mapping_lines(title: str, diff: MappingDiff) -> list[str]:
    if diff.is_empty:
        return []
    out = [f"{title}:"]
    out += [f"  + {k} = {v}" for k, v in diff.added.items()]
    out += [f"  - {k} = {v}" for k, v in diff.removed.items()]
    out += [f"  ~ {k}: {a} -> {b}" for k, (a, b) in diff.changed.items()]
    return out
