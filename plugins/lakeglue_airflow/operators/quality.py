"""Airflow task that runs a pipeline's data-quality gate between silver and gold.

A thin wrapper over :func:`lakeglue.quality.run_quality`: all lakeglue and GX imports happen
in ``execute`` so that parsing a DAG that uses this operator stays cheap (GX alone takes ~4 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

#: XCom key of the compact results; also returned (``return_value``) when the gate passes.
RESULTS_XCOM_KEY = "quality_results"


class LakeQualityOperator(BaseOperator):
    """Validate every quality suite of a pipeline spec and fail (no retry) if an error rule fails.

    :param pipeline: pipeline spec name (``ecommerce``) or path to a spec file.

    The failure is an ``AirflowFailException``: a retry would see the same data, so retrying
    only delays the alert. Results are pushed to XCom before raising, so a failed run still
    shows what was wrong; every rule is also written to the ``lg_quality_results`` history.
    """

    template_fields: Sequence[str] = ("pipeline",)
    ui_color = "#f4d03f"

    def __init__(self, *, pipeline: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline

    def execute(self, context: Any) -> list[dict[str, Any]]:
        from airflow.sdk.exceptions import AirflowFailException

        from lakeglue.catalog import open_catalog
        from lakeglue.pipelines import load_pipeline
        from lakeglue.quality import QualityGateFailed, check, run_quality
        from lakeglue.settings import get_settings

        settings = get_settings()
        spec = load_pipeline(self.pipeline)
        run_id = str(context["run_id"])
        results = run_quality(spec, open_catalog(settings), settings, run_id)
        for result in results:
            (self.log.info if result.success else self.log.error)("%s", result.summary())
        payload = [result.to_dict() for result in results]
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=RESULTS_XCOM_KEY, value=payload)
        try:
            check(*results)
        except QualityGateFailed as exc:
            raise AirflowFailException(f"data-quality gate failed for pipeline {spec.name}:\n{exc}") from exc
        return payload
