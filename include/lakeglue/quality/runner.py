"""The gate as the pipeline runs it: suites against catalog tables, with history, quarantine and Data Docs.

Per validated table: read the table's current catalog location, validate (bounds of anomaly
rules from history), write failing rows of row-level rules to quarantine, append the results
to the history table and to its Parquet mirror ``lakeglue_quality.results``. After all
tables of a run: render their Data Docs pages and the index once. The caller decides what a
failure means (``check`` raises :class:`QualityGateFailed`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeglue.quality.errors import SuiteError
from lakeglue.quality.gx_engine import validate_dataframe
from lakeglue.quality.history import record_history
from lakeglue.quality.reader import read_table_frame
from lakeglue.quality.result import QualityResult
from lakeglue.quality.suite import SuiteSpec, load_suite
from lakeglue.settings import QUALITY_DIR, Settings

if TYPE_CHECKING:  # pydantic (the spec model) is not needed to run a gate
    from lakeglue.catalog.base import Catalog
    from lakeglue.catalog.model import Table
    from lakeglue.pipelines.spec import PipelineSpec
    from lakeglue.storage.zones import Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateOptions:
    """What a gate run writes besides the SQL history."""

    #: Keep GX results in the results zone and render Data Docs (local disk or S3, like the lake).
    data_docs: bool = True
    #: Write rows failing row-level rules to the quarantine zone.
    quarantine: bool = True
    #: Append results to the Parquet catalog table ``lakeglue_quality.results`` (SQL over the lake).
    publish: bool = True


def validate_table(suite: SuiteSpec, table: Table, run_id: str, lake: Lake | None = None,
                   catalog: Catalog | None = None, **options: Any) -> QualityResult:
    """Validate the data at the table's current catalog location (options as for ``validate_dataframe``);
    ``lake`` reads tables on object storage, ``catalog`` gives a partitioned table's partitions."""
    return validate_dataframe(suite, read_table_frame(table, lake, catalog), table.qualified_name, run_id,
                              **options)


def check_dataframe(suite: SuiteSpec, df: Any, table_name: str, catalog: Catalog, settings: Settings, run_id: str,
                    *, pipeline: str, source: str | None = None,
                    options: GateOptions = GateOptions(), table_version: int | None = None) -> QualityResult:
    """Validate a pandas or Spark DataFrame and record the result everywhere it is kept (Data Docs built later).

    ``table_version`` is the catalog version the frame was read from; it is recorded with ``source``
    (the location) so a reader can later ask whether that version passed (:func:`history.gate_passed`)."""
    from dataclasses import replace

    from lakeglue.quality.data_docs import data_docs_location
    from lakeglue.quality.history_table import publish_history
    from lakeglue.quality.quarantine import QuarantineTarget
    from lakeglue.storage.paths import check_segment
    from lakeglue.storage.zones import Lake

    check_segment(run_id, "run id", f"quality run of {table_name}")  # names Data Docs and quarantine folders
    lake = Lake(settings)
    docs = data_docs_location(settings) if options.data_docs else None
    target = QuarantineTarget(lake, pipeline, source=source) if options.quarantine else None
    result = validate_dataframe(suite, df, table_name, run_id, history_url=settings.catalog_url, docs=docs,
                                quarantine=target)
    if table_version is not None:
        result = replace(result, table_version=table_version, location=source)
    record_history(result, settings.catalog_url)
    if options.publish:
        publish_history(result, lake, catalog)
    log.info("%s", result.summary())
    if result.quarantine_location:
        log.info("%d failing row records of %s written to %s", result.rows_quarantined, result.table,
                 result.quarantine_location)
    return result


def check_table(suite: SuiteSpec, table: Table, catalog: Catalog, settings: Settings, run_id: str, *,
                pipeline: str | None = None, options: GateOptions = GateOptions()) -> QualityResult:
    """:func:`check_dataframe` on the data at the table's current catalog location (read from the lake).

    Within the memory budget (:mod:`lakeglue.quality.budget`) the table is read into pandas in this
    process; a larger table is validated by GX's Spark engine, with the same rules and results.
    """
    from lakeglue.quality.budget import fits_budget
    from lakeglue.storage.zones import Lake

    lake = Lake(settings)
    fits, footprint = fits_budget(table, lake, catalog, settings.quality_memory_budget_bytes)
    if fits or table.classification != "parquet":
        table, frame = _read_one_version(table, lake, catalog)
        check: dict[str, Any] = {"pipeline": pipeline or table.database, "source": table.location,
                                 "options": options, "table_version": table.version}
        return check_dataframe(suite, frame, table.qualified_name, catalog, settings, run_id, **check)
    check = {"pipeline": pipeline or table.database, "source": table.location, "options": options}
    assert footprint is not None
    log.info("%s: %d rows, %d uncompressed bytes; the pandas gate would need ~%d bytes, over its budget of %d "
             "(LAKEGLUE_QUALITY_MEMORY_BUDGET_BYTES): validating on Spark", table.qualified_name, footprint.rows,
             footprint.uncompressed_bytes, footprint.gate_bytes, settings.quality_memory_budget_bytes)
    return _check_on_spark(suite, table, catalog, settings, run_id, **check)


def _read_one_version(table: Table, lake: Lake, catalog: Catalog, attempts: int = 5) -> tuple[Table, Any]:
    """The rows of one catalog version of ``table`` and that version.

    A partitioned table is read as the table's metadata, then its partitions: a commit landing in
    between would mix two versions, so the read is repeated until the version did not move while
    reading (bounded: a table committed that often is read once more and the last version kept)."""
    frame = read_table_frame(table, lake, catalog)
    for _ in range(attempts):
        if not catalog.table_exists(table.database, table.name):
            break
        now = catalog.get_table(table.database, table.name)
        if now.version == table.version:
            break
        table, frame = now, read_table_frame(now, lake, catalog)
    return table, frame


def _check_on_spark(suite: SuiteSpec, table: Table, catalog: Catalog, settings: Settings, run_id: str,
                    **check: Any) -> QualityResult:
    """Validate a table too large for the worker's memory with GX's Spark engine (a local session unless
    one is already running, e.g. in ``lakeglue run``); the session is stopped if it was started here."""
    from pyspark.sql import SparkSession

    from lakeglue.jobs.spark.catalog_io import read_table
    from lakeglue.jobs.spark.session import build_spark

    started_here = SparkSession.getActiveSession() is None
    spark = build_spark(f"lakeglue-quality-{table.qualified_name}", settings)
    try:
        frame = read_table(spark, catalog, table.database, table.name).cache()
        try:
            return check_dataframe(suite, frame, table.qualified_name, catalog, settings, run_id, **check)
        finally:
            frame.unpersist()
    finally:
        if started_here:
            spark.stop()


def gate_job_output(spec: PipelineSpec, layer: str, table: str, df: Any, catalog: Catalog, settings: Settings,
                    run_id: str, source: str | None = None,
                    options: GateOptions = GateOptions()) -> QualityResult | None:
    """In-job gate: validate the Spark DataFrame a job is about to publish with the suite its spec names.

    Returns None when the spec has no suite for ``layer``/``table``. The caller raises with
    ``check(result)`` before committing, so an ``error`` failure leaves the published table as
    it was. ``df`` should be cached or read back from the staged output (GX runs one Spark job
    per metric).
    """
    item = next((q for q in spec.quality if q.table == table and q.layer == layer), None)
    if item is None:
        return None
    suite = load_suite(QUALITY_DIR / item.suite)
    result = check_dataframe(suite, df, f"{spec.database_for(layer)}.{table}", catalog, settings, run_id,
                             pipeline=spec.name, source=source, options=options)
    return finish([result], settings, options)[0]


def finish(results: list[QualityResult], settings: Settings, options: GateOptions) -> list[QualityResult]:
    """Render the Data Docs of a run's results (one index build); returns them with their pages."""
    if not options.data_docs or not results:
        return results
    from lakeglue.quality.data_docs import build_data_docs, data_docs_location

    index, results = build_data_docs(data_docs_location(settings), results)
    log.info("Data Docs: %s", index)
    return results


def run_quality(spec: PipelineSpec, catalog: Catalog, settings: Settings, run_id: str,
                quality_dir: Path = QUALITY_DIR, options: GateOptions = GateOptions()) -> list[QualityResult]:
    """Validate every ``spec.quality`` item; the caller decides whether to raise.

    All suites run even if an early one fails, so one task log shows every problem at once.
    """
    results: list[QualityResult] = []
    for item in spec.quality:
        suite = load_suite(quality_dir / item.suite)
        if suite.table != item.table:
            raise SuiteError(f"{suite.path}: suite is for table {suite.table!r}, but pipeline {spec.name} "
                             f"uses it for {item.layer} table {item.table!r}")
        table = catalog.get_table(spec.database_for(item.layer), item.table)
        results.append(check_table(suite, table, catalog, settings, run_id, pipeline=spec.name, options=options))
    return finish(results, settings, options)


def resolve_suite_table(suite: SuiteSpec, table: str | None) -> tuple[str, str, str | None]:
    """(database, table, pipeline) a suite file validates: ``table`` if given (``db.table``), else the
    pipeline spec that lists the suite file in its ``quality`` section."""
    from lakeglue.pipelines.spec import list_pipelines, load_pipeline

    if table:
        database, _, name = table.partition(".")
        if not name:
            raise SuiteError(f"table must be DATABASE.TABLE, got {table!r}")
        if name != suite.table:
            raise SuiteError(f"{suite.path}: suite is for table {suite.table!r}, not {table!r}")
        return database, name, None
    uses: list[tuple[str, str, str | None]] = []
    for spec_path in list_pipelines():
        spec = load_pipeline(spec_path)
        uses.extend((spec.database_for(q.layer), q.table, spec.name) for q in spec.quality
                    if suite.path is not None and q.suite == suite.path.name)
    if len(uses) != 1:
        found = ", ".join(f"{db}.{t} (pipeline {p})" for db, t, p in uses) or "no pipeline spec uses it"
        raise SuiteError(f"{suite.path}: cannot tell which table to validate ({found}); pass the table as "
                         f"DATABASE.TABLE")
    return uses[0]


def run_suite_file(path: str | Path, catalog: Catalog, settings: Settings, run_id: str, table: str | None = None,
                   options: GateOptions = GateOptions()) -> QualityResult:
    """Validate one suite file against its catalog table (CLI, single-table operator)."""
    suite = load_suite(path)
    database, name, pipeline = resolve_suite_table(suite, table)
    result = check_table(suite, catalog.get_table(database, name), catalog, settings, run_id, pipeline=pipeline,
                         options=options)
    return finish([result], settings, options)[0]
