"""Failing rows of row-level rules → the quarantine zone, one JSON record per (row, rule).

Records have the lake's quarantine fields (:data:`lakeglue.jobs.quarantine.QUARANTINE_FIELDS`):
``source_file`` (the table location, when known), ``line`` (null: tables have no lines),
``reason`` (``error: IsUnique "order_id"``), ``raw`` (the whole row as JSON), ``layer``
(``quality``), ``table`` and ``batch_id`` (the run id). They land in
``quarantine/<pipeline>/quality/<db.table>/_batch_id=<run id>/``, replaced on a retry.

Which rows fail is GX's answer, not a re-implementation: a second GX pass over the failed
row-level rules only (none when everything passed) with a synthetic row-id column and
``unexpected_index_column_names``, whose COMPLETE result lists every failing row's id
(GX's own row sample is capped at 200). The first pass stays on the untouched data, so
table-level rules never see the extra column. Spark rows are joined back and written by
Spark, not collected; only the ids travel to the driver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from lakeglue.jobs.quarantine import quarantine_dir, replace_quarantine
from lakeglue.quality.result import QualityResult, json_safe
from lakeglue.quality.suite import SuiteSpec
from lakeglue.storage.zones import Lake

ROW_ID = "__lakeglue_row_id"
LAYER = "quality"


@dataclass(frozen=True)
class QuarantineTarget:
    """Where a validation may put failing rows."""

    lake: Lake
    #: First folder under ``quarantine/`` (the pipeline name, or the database for ad-hoc checks).
    pipeline: str
    #: Recorded as ``source_file``: the table location for catalog tables.
    source: str | None = None

    def directory(self, table: str, run_id: str) -> str:
        return quarantine_dir(self.lake, self.pipeline, LAYER, table, run_id)


def quarantine_failed_rows(suite: SuiteSpec, df: Any, result: QualityResult,
                           target: QuarantineTarget) -> tuple[str | None, int]:
    """Write the rows behind ``result``'s failed row-level rules; returns (directory, records) or (None, 0).

    The directory is as engines open it: a local path, or the ``s3://`` URL on an S3 lake.
    """
    from lakeglue.quality.gx_engine import is_spark_dataframe, run_gx

    outcome = {rule.index: rule for rule in result.rules}
    failed = [exp for exp in suite.expectations
              if exp.row_level and not outcome[exp.index].success and outcome[exp.index].error is None]
    if not failed:
        return None, 0
    spark = is_spark_dataframe(df)
    with_ids = _with_row_ids(df, spark)
    try:
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_ID],
                         "return_unexpected_index_query": False}
        by_index, _ = run_gx(replace(suite, expectations=tuple(failed)), with_ids, result.table, result.run_id,
                             result.evaluated_at, result_format, docs=None)
        reasons = [(exp.index, int(entry[ROW_ID]), f"{exp.severity}: {exp.label}")
                   for exp in failed
                   for entry in (by_index[exp.index].result or {}).get("unexpected_index_list") or []]
        if not reasons:
            return None, 0
        lake = target.lake
        final = target.directory(result.table, result.run_id)
        staged = lake.new_staging_path(f"quarantine-quality-{result.table}")
        meta = {"source_file": target.source, "line": None, "layer": LAYER, "table": result.table,
                "batch_id": result.run_id}
        if spark:
            _write_spark(with_ids, [c for c in df.columns], reasons, meta, lake.uri(staged))
        else:
            _write_pandas(lake, staged, df, reasons, meta)
        replace_quarantine(lake, staged, final)
        return lake.engine_path(final), len(reasons)  # a plain path on local disk, an s3:// URL on S3
    finally:
        if spark:
            with_ids.unpersist()


def _with_row_ids(df: Any, spark: bool) -> Any:
    if spark:
        from pyspark.sql import functions as F

        # Cached: monotonically_increasing_id must give the GX pass and the join the same ids.
        with_ids = df.withColumn(ROW_ID, F.monotonically_increasing_id()).cache()
        with_ids.count()
        return with_ids
    return df.assign(**{ROW_ID: range(len(df))})


def _record(meta: dict[str, Any], reason: str, raw: str) -> dict[str, Any]:
    return {"source_file": meta["source_file"], "line": meta["line"], "reason": reason, "raw": raw,
            "layer": meta["layer"], "table": meta["table"], "batch_id": meta["batch_id"]}


def _write_pandas(lake: Lake, staged: str, df: Any, reasons: list[tuple[int, int, str]],
                  meta: dict[str, Any]) -> None:
    lines = []
    for _index, row_id, reason in sorted(reasons):
        row = {str(k): json_safe(v) for k, v in df.iloc[row_id].to_dict().items()}
        lines.append(json.dumps(_record(meta, reason, json.dumps(row, sort_keys=False)), allow_nan=False))
    lake.write_text(f"{staged}/part-00000.json", "\n".join(lines) + "\n")


def _write_spark(with_ids: Any, columns: list[str], reasons: list[tuple[int, int, str]], meta: dict[str, Any],
                 uri: str) -> None:
    from pyspark.sql import functions as F

    spark = with_ids.sparkSession
    failing = spark.createDataFrame(reasons, f"__rule_index int, {ROW_ID} long, reason string")
    raw = F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns]), {"ignoreNullFields": "false"})
    rows = (failing.join(with_ids, ROW_ID)
            .orderBy("__rule_index", ROW_ID)
            .select(F.lit(meta["source_file"]).cast("string").alias("source_file"),
                    F.lit(None).cast("int").alias("line"), F.col("reason"), raw.alias("raw"),
                    F.lit(meta["layer"]).alias("layer"), F.lit(meta["table"]).alias("table"),
                    F.lit(meta["batch_id"]).alias("batch_id")))
    rows.coalesce(1).write.option("ignoreNullFields", "false").json(uri)
