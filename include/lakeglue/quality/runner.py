"""The gate as the pipeline runs it: every suite of a pipeline spec against its catalog table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

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

log = logging.getLogger(__name__)


def validate_table(suite: SuiteSpec, table: Table, run_id: str) -> QualityResult:
    """Validate the data at the table's current catalog location."""
    return validate_dataframe(suite, read_table_frame(table), table.qualified_name, run_id)


def run_quality(spec: PipelineSpec, catalog: Catalog, settings: Settings, run_id: str,
                quality_dir: Path = QUALITY_DIR) -> list[QualityResult]:
    """Validate every ``spec.quality`` item and record its history; the caller decides whether to raise.

    All suites run even if an early one fails, so one task log shows every problem at once.
    """
    results: list[QualityResult] = []
    for item in spec.quality:
        suite = load_suite(quality_dir / item.suite)
        if suite.table != item.table:
            raise SuiteError(f"{suite.path}: suite is for table {suite.table!r}, but pipeline {spec.name} "
                             f"uses it for {item.layer} table {item.table!r}")
        table = catalog.get_table(spec.database_for(item.layer), item.table)
        result = validate_table(suite, table, run_id)
        record_history(result, settings.catalog_url)
        log.info("%s", result.summary())
        results.append(result)
    return results
