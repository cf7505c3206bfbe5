"""Airflow task that runs the data-quality gate between silver and gold.

A thin wrapper over :mod:`lakeglue.quality`: every lakeglue and GX import happens in
``execute``, so parsing a DAG that uses this operator stays cheap (GX alone takes ~4 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from lakeglue_airflow.links import DataDocsLink, RunReportLink

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

#: XCom key of the compact results (one dict per validated table); also the task's return value.
RESULTS_XCOM_KEY = "quality_results"
#: XCom key of the Data Docs index page: a path, or an ``s3://`` URL on an S3 lake (absent when Data Docs are off).
DATA_DOCS_XCOM_KEY = "data_docs"


class LakeQualityOperator(BaseOperator):
    """Validate catalog tables with their suites; fail (no retry) if an ``error`` rule fails.

    Either every suite of a pipeline spec, or one suite file against one catalog table:

    :param pipeline: pipeline spec name (``ecommerce``) or path to a spec file.
    :param suite: a suite file (name under ``include/quality`` or a path), instead of ``pipeline``.
    :param table: ``DATABASE.TABLE`` for ``suite``; default: the table the pipeline specs use it for.
    :param quarantine: write rows failing row-level rules to the quarantine zone.
    :param data_docs: render GX Data Docs in the results zone after validating (local disk or S3, like the lake).

    The failure is an ``AirflowFailException``: a retry would see the same data, so retrying
    only delays the alert. The compact results and the Data Docs path are pushed to XCom
    before raising, so a failed run still shows what was wrong; every rule is also kept in
    the ``lg_quality_results`` history and the ``lakeglue_quality.results`` catalog table.
    """

    template_fields: Sequence[str] = ("pipeline", "suite", "table")
    ui_color = "#f4d03f"
    operator_extra_links = (RunReportLink(), DataDocsLink())

    def __init__(self, *, pipeline: str | None = None, suite: str | None = None, table: str | None = None,
                 quarantine: bool = True, data_docs: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if (pipeline is None) == (suite is None):
            raise ValueError(f"{self.task_id}: give either pipeline= or suite= (with an optional table=)")
        if table is not None and suite is None:
            raise ValueError(f"{self.task_id}: table= needs suite=")
        self.pipeline = pipeline
        self.suite = suite
        self.table = table
        self.quarantine = quarantine
        self.data_docs = data_docs
        #: Tables this run validated (set by ``execute``, before the gate may fail): its lineage inputs.
        self.validated_tables: list[str] = []

    def execute(self, context: Any) -> list[dict[str, Any]]:
        from airflow.sdk.exceptions import AirflowFailException

        from lakeglue.catalog import open_catalog
        from lakeglue.pipelines import load_pipeline
        from lakeglue.quality import GateOptions, QualityGateFailed, check, run_quality, run_suite_file
        from lakeglue.quality.data_docs import data_docs_location
        from lakeglue.settings import QUALITY_DIR, get_settings

        settings = get_settings()
        catalog = open_catalog(settings)
        run_id = str(context["run_id"])
        options = GateOptions(data_docs=self.data_docs, quarantine=self.quarantine)
        if self.pipeline is not None:
            spec = load_pipeline(self.pipeline)
            what = f"pipeline {spec.name}"
            results = run_quality(spec, catalog, settings, run_id, options=options)
        else:
            suite = str(self.suite)
            path = Path(suite) if "/" in suite else QUALITY_DIR / suite
            what = f"suite {suite}"
            results = [run_suite_file(path, catalog, settings, run_id, table=self.table, options=options)]
        for result in results:
            (self.log.info if result.success else self.log.error)("%s", result.summary())
        payload = [result.to_xcom() for result in results]
        self.validated_tables = [result.table for result in results]
        index = data_docs_location(settings).index if self.data_docs else None
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=RESULTS_XCOM_KEY, value=payload)
            if index is not None:
                ti.xcom_push(key=DATA_DOCS_XCOM_KEY, value=index)
        if index is not None:
            self.log.info("Data Docs: %s", index)
        try:
            check(*results)
        except QualityGateFailed as exc:
            raise AirflowFailException(f"data-quality gate failed for {what}:\n{exc}") from exc
        return payload

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """The validated tables are read; every rule's result is appended to the quality results table."""
        from lakeglue.lineage import QUALITY_RESULTS
        from lakeglue_airflow.lineage_facets import operator_lineage

        return operator_lineage(self.validated_tables, [QUALITY_RESULTS] if self.validated_tables else [])
