"""What a crawl did (or, in a dry run, would do): metrics, plan lines, errors and reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CrawlResult:
    """Run metrics in Glue's vocabulary plus the "why" Glue never tells you.

    ``to_dict`` is JSON-safe because Airflow pushes it to XCom; ``summary`` is what a
    human reads in a task log (and what ``lakeglue crawl --plan`` prints).
    """

    database: str = ""
    dry_run: bool = False
    recrawl_policy: str = ""
    tables_created: list[str] = field(default_factory=list)
    tables_updated: list[str] = field(default_factory=list)
    tables_unchanged: list[str] = field(default_factory=list)
    #: Tables this crawler made whose folder disappeared (handled per delete_behavior).
    tables_deleted: list[str] = field(default_factory=list)
    partitions_added: int = 0
    partitions_updated: int = 0
    partitions_removed: int = 0
    files_listed: int = 0
    files_scanned: int = 0
    bytes_read: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Every table/partition/column change with its reason (the plan).
    changes: list[str] = field(default_factory=list)
    #: Changes the schema change / delete policy kept out of the catalog (UpdateBehavior=LOG …).
    logged: list[str] = field(default_factory=list)
    #: Inference decisions: header detection, widening, sampling, format votes, grouping.
    decisions: list[str] = field(default_factory=list)
    #: One entry per table: action, classification, columns, partition keys and count, reason.
    tables: list[dict[str, Any]] = field(default_factory=list)
    #: Partitions whose files do not fit their table (see :mod:`lakeglue.crawler.consistency`).
    partition_issues: list[dict[str, str]] = field(default_factory=list)
    #: Why nothing was written although this was not a dry run (TableThreshold exceeded).
    aborted: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = [list(e) for e in self.errors]
        data["skipped"] = [list(s) for s in self.skipped]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrawlResult:
        values = dict(data)
        values["errors"] = [tuple(e) for e in data.get("errors", [])]
        values["skipped"] = [tuple(s) for s in data.get("skipped", [])]
        return cls(**values)

    def summary(self) -> str:
        head = "crawler plan (dry run, nothing written)" if self.dry_run else "crawl"
        lines = [
            f"{head} of database {self.database}: {len(self.tables_created)} tables created, "
            f"{len(self.tables_updated)} updated, {len(self.tables_unchanged)} unchanged, "
            f"{len(self.tables_deleted)} gone; partitions +{self.partitions_added} "
            f"~{self.partitions_updated} -{self.partitions_removed}; {self.files_scanned} of "
            f"{self.files_listed} files read ({self.bytes_read} bytes) in {self.duration_s:.2f}s",
        ]
        if self.aborted:
            lines.append(f"ABORTED: {self.aborted}")
        if self.tables:
            lines.append("tables:")
            for t in self.tables:
                keys = f" partitioned by {', '.join(t['partition_keys'])} ({t['partitions']} partitions)" \
                    if t["partition_keys"] else ""
                lines.append(f"  - {t['name']} [{t['action']}] {t['classification']}{keys} — {t['reason']}")
                lines.extend(f"      {name} {type_}" for name, type_ in t["columns"])
        for title, items in (("changes", self.changes), ("logged, not applied", self.logged),
                             ("decisions", self.decisions)):
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  - {item}" for item in items)
        if self.partition_issues:
            lines.append("partition schema issues:")
            lines.extend(f"  - [{i['kind']}] {i['table']} {i['partition']}: {i['message']}"
                         for i in self.partition_issues)
        for title, pairs in (("errors", self.errors), ("skipped", self.skipped)):
            if pairs:
                lines.append(f"{title}:")
                lines.extend(f"  - {path}: {reason}" for path, reason in pairs)
        return "\n".join(lines)
