"""Partition schema consistency: partitions whose files disagree with their table, found at crawl time.

Athena fails a query with ``HIVE_PARTITION_SCHEMA_MISMATCH`` when a partition declares a
column type the table's type cannot be read from; Glue's crawler happily writes such
partitions. lakeglue partitions inherit the table schema (so the catalog itself is always
consistent), and this report says where the *files* of a partition do not fit it — the
rows a query would fail on or read as NULL — before anyone queries. Only partitions whose
files were read in this run are checked; an unchanged partition was checked when it was new.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lakeglue.catalog.model import Table
from lakeglue.crawler.config import SIMILARITY_THRESHOLD
from lakeglue.crawler.infer import FileSchema
from lakeglue.crawler.types import GlueType, TypeParseError, format_type, parse_type, widen

MISMATCH, DRIFT, DISSIMILAR = "mismatch", "drift", "dissimilar"
#: Formats read by name and type from self-describing files: only lossless promotions are readable.
BINARY_FORMATS = ("parquet", "orc", "avro")
_PROMOTIONS = {("tinyint", "smallint"), ("tinyint", "int"), ("tinyint", "bigint"), ("smallint", "int"),
               ("smallint", "bigint"), ("int", "bigint"), ("float", "double")}


@dataclass(frozen=True)
class PartitionIssue:
    table: str
    partition: str
    location: str
    #: mismatch (a query fails or misreads), drift (reads, with NULLs), dissimilar (< 70 % alike).
    kind: str
    column: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coercible(part: GlueType, table: GlueType, binary: bool) -> bool:
    if part == table or part.name == "null":
        return True
    if not binary:
        return widen(part, table, "", []) == table  # text: the table's type reads the partition's values
    if (part.name, table.name) in _PROMOTIONS:
        return True
    if part.name == table.name == "struct":
        fields = dict(zip(table.fields, table.children, strict=True))
        return all(n in fields and _coercible(c, fields[n], binary)
                   for n, c in zip(part.fields, part.children, strict=True))
    if part.name == table.name and part.name in ("array", "map"):
        return all(_coercible(p, t, binary) for p, t in zip(part.children, table.children, strict=True))
    return False


def _parse(text: str) -> GlueType:
    try:
        return parse_type(text)
    except TypeParseError:
        return GlueType("string")


def check_partitions(table: Table, partitions: dict[tuple[str, ...], str], file_partition: dict[str, tuple[str, ...]],
                     files: list[FileSchema]) -> list[PartitionIssue]:
    """Issues of every partition with files in ``files``, in partition order."""
    if not table.partition_keys:
        return []
    columns = {c.name: _parse(c.type) for c in table.columns}
    order = [c.name for c in table.columns]
    binary = table.classification in BINARY_FORMATS
    by_partition: dict[tuple[str, ...], list[FileSchema]] = {}
    for schema in files:
        values = file_partition.get(schema.path)
        if values is not None and values in partitions:
            by_partition.setdefault(values, []).append(schema)
    issues: list[PartitionIssue] = []
    keys = set(k.name for k in table.partition_keys)
    for values in sorted(by_partition):
        spec = "/".join(f"{k.name}={v}" for k, v in zip(table.partition_keys, values, strict=True))
        location = partitions[values]
        merged: dict[str, GlueType] = {}
        names: list[str] = []
        for schema in by_partition[values]:
            for name, t in schema.columns:
                if name in keys:
                    continue
                if name not in merged:
                    names.append(name)
                merged[name] = widen(merged[name], t, name, []) if name in merged else t

        def issue(kind: str, column: str, message: str, _spec: str = spec, _loc: str = location) -> None:
            issues.append(PartitionIssue(table.qualified_name, _spec, _loc, kind, column, message))

        for name in names:
            if name not in columns:
                issue(DRIFT, name, f"partition {spec} has column {name} ({format_type(merged[name])}) that the "
                                   "table does not have; queries do not see it")
            elif not _coercible(merged[name], columns[name], binary):
                issue(MISMATCH, name, f"HIVE_PARTITION_SCHEMA_MISMATCH: There is a mismatch between the table and "
                                      f"partition schemas. The types are incompatible and cannot be coerced. The "
                                      f"column '{name}' in table '{table.qualified_name}' is declared as type "
                                      f"'{format_type(columns[name])}', but partition '{spec}' declared column "
                                      f"'{name}' as type '{format_type(merged[name])}'.")
        missing = [n for n in order if n not in merged]
        if missing:
            issue(DRIFT, ",".join(missing), f"partition {spec} lacks column(s) {', '.join(missing)}; they read as "
                                            "NULL there")
        width = min(len(names), len(order))
        if table.classification == "csv" and names[:width] != order[:width]:
            issue(MISMATCH, ",".join(names[:width]), f"partition {spec} has CSV columns ({', '.join(names)}), the "
                                                     f"table ({', '.join(order)}); CSV is read by position, so "
                                                     "values land in the wrong columns")
        # names only: type conflicts are reported above, as mismatches
        score = len(set(merged) & set(columns)) / max(len(set(merged) | set(columns)), 1)
        if score < SIMILARITY_THRESHOLD:
            issue(DISSIMILAR, "", f"partition {spec} has a schema only {score:.0%} similar to the table's (below "
                                  f"{SIMILARITY_THRESHOLD:.0%}: Glue would have made it a separate table)")
    return issues
