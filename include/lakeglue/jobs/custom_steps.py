"""Custom Python steps of silver tables, the engine-neutral part: finding the functions and the rules.

A spec's ``silver.<table>.steps`` name, per engine, a ``pipeline_steps.<module>:<function>``
(:class:`lakeglue.pipelines.spec.SilverStepSpec`). Both engines apply them at the same place —
on the batch's typed rows that passed the casts (quarantined rows never reach a step), before
dedupe and the write — and check the result with the rules here, so a step means the same on
Spark (:mod:`lakeglue.jobs.spark.steps`) and DuckDB (:mod:`lakeglue.jobs.duckdb.steps`):

* a step sees the declared columns, kept drift columns and the lineage columns ``_source_file``,
  ``_batch_id``, ``_line``, ``_ingested_at`` (never the engines' internal ``__`` columns);
* it may add columns (they land in the catalog schema) and filter rows; afterwards the key,
  ``order_by`` and partition columns and the lineage columns must still be there (dedupe orders
  by them, silver carries them), and no column may start with ``__``;
* the silver table's columns are then the step's data columns in its order, then the lineage.

Functions are imported with importlib; ``include/`` (where ``pipeline_steps`` lives) is appended to
``sys.path`` so in-process runs (the CLI, tests) find it like the DuckDB subprocess (which has it on
``PYTHONPATH``) and Spark/Glue (which get it in the shipped code zip).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lakeglue.catalog.model import Table
from lakeglue.jobs.commit import partition_path
from lakeglue.jobs.context import JobContext
from lakeglue.pipelines.spec import STEPS_PACKAGE, PipelineSpec, SilverStepSpec, SilverTableSpec

#: Lineage a step sees and must keep: dedupe breaks ties with them, silver carries the first two.
LINEAGE = ("_source_file", "_batch_id", "_line", "_ingested_at")
CARRIED_LINEAGE = ("_source_file", "_batch_id")


class StepError(RuntimeError):
    """A custom step cannot run or broke a rule; the message names the table, the step and what is wrong."""


def label(table: str, step: SilverStepSpec) -> str:
    return f"silver.{table}.steps.{step.name}"


def _ensure_include_on_path() -> None:
    from lakeglue.settings import INCLUDE_DIR

    if str(INCLUDE_DIR) not in sys.path:
        sys.path.append(str(INCLUDE_DIR))  # appended: a shipped zip or PYTHONPATH entry stays first


def resolve(table: str, step: SilverStepSpec, engine: str) -> Callable[..., Any]:
    """The step's function for ``engine``, imported; a clear :class:`StepError` when it cannot be."""
    path = step.function_for(engine)
    if path is None:
        raise StepError(f"{label(table, step)} has no {engine} function (it is {'/'.join(step.engines)}-specific) "
                        f"but the silver job runs on {engine}: add '{engine}: {STEPS_PACKAGE}.<module>:<function>' "
                        f"to the step or run silver on {step.engines[0]}")
    module_name, _, attr = path.partition(":")
    _ensure_include_on_path()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise StepError(f"{label(table, step)}: {engine} function {path!r}: module {module_name!r} not found "
                            f"(step modules live in include/{STEPS_PACKAGE}/)") from exc
        raise StepError(f"{label(table, step)}: {engine} function {path!r}: importing {module_name!r} failed: "
                        f"{exc}") from exc
    except Exception as exc:
        raise StepError(f"{label(table, step)}: {engine} function {path!r}: importing {module_name!r} failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    if not hasattr(module, attr):
        raise StepError(f"{label(table, step)}: {engine} function {path!r}: module {module_name!r} has no "
                        f"attribute {attr!r}")
    function = getattr(module, attr)
    if not callable(function):
        raise StepError(f"{label(table, step)}: {engine} function {path!r} is a {type(function).__name__}, "
                        "not callable")
    return function


def resolve_all(spec: PipelineSpec, engine: str) -> dict[str, list[tuple[SilverStepSpec, Callable[..., Any]]]]:
    """At run start: every step of every silver table has a function for ``engine`` that imports.

    Checked before any table is touched, so a pipeline whose spec pins an engine-specific step
    to the other engine (or a broken import) fails with nothing half-written.
    """
    return {table: [(step, resolve(table, step, engine)) for step in ts.steps]
            for table, ts in spec.silver.items() if ts.steps}


def required_columns(ts: SilverTableSpec) -> list[str]:
    """Columns a step must leave in place: dedupe, partitioning and lineage read them."""
    return list(dict.fromkeys([*ts.key, *ts.order_by, *ts.partition_by, *LINEAGE]))


def check_columns(table: str, step: SilverStepSpec, engine: str, ts: SilverTableSpec, columns: Sequence[str]) -> None:
    """The rules every step result obeys, whatever the engine."""
    missing = [c for c in required_columns(ts) if c not in columns]
    if missing:
        raise StepError(f"{label(table, step)} ({engine}) dropped column(s) {missing}, which silver needs "
                        f"afterwards (key {ts.key}, order_by {ts.order_by}, partition_by {ts.partition_by} and the "
                        f"lineage columns {list(LINEAGE)}); its result has {list(columns)}")
    internal = [c for c in columns if c.startswith("__")]
    if internal:
        raise StepError(f"{label(table, step)} ({engine}) returned column(s) {internal}: names starting with '__' "
                        "are reserved for the engine")
    repeated = sorted({c for c in columns if list(columns).count(c) > 1})
    if repeated:
        raise StepError(f"{label(table, step)} ({engine}) returned repeated column name(s) {repeated}")


def data_columns(columns: Iterable[str]) -> list[str]:
    """The silver table's own columns among a step result's (the lineage is appended by the engine)."""
    return [c for c in columns if c not in LINEAGE and not c.startswith("__")]


def check_partitions_kept(ctx: JobContext, table: str, ts: SilverTableSpec, current: Table, staged: str,
                          rewritten: set[tuple[str, ...]]) -> None:
    """On an incremental run, rows a step moved into a partition this run does not rewrite would sit
    next to that partition's carried files (duplicates): refuse before carrying anything."""
    if not ts.steps:
        return
    keys = [k.name for k in current.partition_keys]
    clashes = [dict(zip(keys, part.values, strict=True)) for part in ctx.catalog.get_partitions(
        current.database, current.name) if tuple(part.values) not in rewritten
        and ctx.lake.fs.exists(partition_path(staged, keys, part.values))]
    if clashes:
        names = ", ".join(step.name for step in ts.steps)
        raise StepError(f"silver.{table}: step(s) {names} wrote rows into partition(s) {clashes[:5]} that this "
                        "incremental run does not rewrite; steps must not change partition column values")
