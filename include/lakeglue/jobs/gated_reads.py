"""Gold reads only gated data: the source version a gold table is computed from must have passed its gate.

In the DAG gold runs after the quality gate passed, but the gate and gold are separate tasks: a
concurrent run can publish a new silver version in between, and gold reading "the current silver"
would then publish from data no gate saw. With ``JobContext.gated_reads`` a gold job reads each
source table at one catalog version, and when the spec gates that table (``quality`` names it) it
publishes only if quality history records a passing run of the gate on exactly that version; the
versions read are kept in the gold table's parameters (:data:`SOURCE_VERSIONS_PARAM`), so every
gold version says which source versions it was computed from. Engine-neutral: both engines call it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from lakeglue.catalog.model import Table
from lakeglue.jobs.context import JobContext

#: Gold table parameter: JSON map ``{"db.table": version}`` of the source versions it was computed from.
SOURCE_VERSIONS_PARAM = "lakeglue.source_versions"

R = TypeVar("R")


def read_one_version(ctx: JobContext, database: str, name: str, read: Callable[[], R],
                     attempts: int = 5) -> tuple[R, int]:
    """``read()`` (which reads the table's current version: metadata, then partitions) and the version it
    read; repeated while a commit moved the version during the read, so the result is one version."""
    before = ctx.catalog.get_table(database, name).version
    for _ in range(attempts):
        result = read()
        after = ctx.catalog.get_table(database, name).version
        if after == before:
            return result, after
        before = after
    raise RuntimeError(f"{database}.{name} got a new version during each of {attempts} reads; retry the job")


def gated_tables(ctx: JobContext) -> set[str]:
    """Qualified names of the tables the spec's quality section gates."""
    return {f"{ctx.spec.database_for(q.layer)}.{q.table}" for q in ctx.spec.quality}


def ungated_reason(ctx: JobContext, versions: dict[str, int]) -> str | None:
    """Why the source versions read may not be published from (None when all gated ones passed)."""
    from lakeglue.quality.history import gate_passed

    gated = gated_tables(ctx)
    for table, version in sorted(versions.items()):
        if table in gated and not gate_passed(ctx.settings.catalog_url, table, version):
            return (f"{table} version {version} has not passed its quality gate (a newer version than the "
                    f"gate validated, or a failed gate); not publishing from it")
    return None


def with_source_versions(parameters: dict[str, str], versions: dict[str, int]) -> dict[str, str]:
    return {**parameters, SOURCE_VERSIONS_PARAM: json.dumps(versions, sort_keys=True)}


def source_versions(table: Table) -> dict[str, int]:
    """The source versions a gold table version records (empty when it was not a gated read)."""
    raw = table.parameters.get(SOURCE_VERSIONS_PARAM)
    return {k: int(v) for k, v in json.loads(raw).items()} if raw else {}
