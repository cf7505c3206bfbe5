"""Schema change policy: how much of what the crawler inferred may change an existing table.

Glue's ``SchemaChangePolicy.UpdateBehavior`` is ``UPDATE_IN_DATABASE`` (apply) or ``LOG``
(only new tables and partitions are created; existing tables are left exactly as they are),
and ``MergeNewColumns`` ("add new columns only") appends columns but never changes or
drops an existing one. What the policy holds back is not lost: it is reported as a
*logged* change, so the plan shows what the data says even when the catalog must not move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from lakeglue.catalog.model import Table
from lakeglue.crawler.config import CrawlerConfig


def apply_policy(config: CrawlerConfig, existing: Table, desired: Table,
                 describe: Callable[[Table, Table], list[str]]) -> tuple[Table, list[str], list[str]]:
    """(table to write, changes applied, changes only logged) for an existing table.

    ``desired`` is the table as UPDATE_IN_DATABASE would write it; ``describe(old, new)``
    gives the change lines between two versions of the table.
    """
    if desired == existing:
        return existing, [], []
    described = describe(existing, desired)
    if config.update_behavior == "LOG":
        return existing, [], [f"{line} [not applied: update_behavior=LOG]" for line in described]
    if not config.merge_new_columns:
        return desired, described, []
    old = {c.name: c for c in existing.columns}
    new_columns = [c for c in desired.columns if c.name not in old]
    columns = tuple(existing.columns) + tuple(new_columns)
    logged: list[str] = []
    wanted = {c.name: c for c in desired.columns}
    for c in existing.columns:
        if c.name not in wanted:
            logged.append(f"table {existing.qualified_name}: column {c.name} is not in the inferred schema; kept "
                          "[merge_new_columns: existing columns are never dropped]")
        elif wanted[c.name].type != c.type:
            logged.append(f"table {existing.qualified_name}: column {c.name} would change type {c.type} -> "
                          f"{wanted[c.name].type}; kept {c.type} [merge_new_columns: existing columns keep their "
                          "type]")
    serde = dict(desired.storage.serde_parameters)
    if "paths" in serde:  # the JSON SerDe lists the columns it maps
        serde["paths"] = ",".join(sorted(c.name for c in columns))
    merged = desired.evolve(storage=replace(desired.storage, columns=columns, serde_parameters=serde))
    if merged == existing:
        return existing, [], logged
    return merged, describe(existing, merged), logged
