"""Where rejected records go, and in what shape: one JSON line per record with the reason.

Fields: ``source_file``, ``line`` (1-based, when the format has lines), ``reason`` (the
rule broken, naming the column), ``raw`` (the original text or row as JSON), ``layer``,
``table``, ``batch_id``. One directory per (table, batch): a rerun replaces it.
"""

from __future__ import annotations

from lakeglue import records
from lakeglue.storage.paths import check_segment
from lakeglue.storage.zones import Lake

QUARANTINE_FIELDS = records.QUARANTINE_FIELDS


def quarantine_dir(lake: Lake, pipeline: str, layer: str, table: str, batch_id: str) -> str:
    """``quarantine/<pipeline>/<layer>/<table>/_batch_id=<batch>``; each part must be one harmless folder
    (the batch may be a raw run id, e.g. of a quality run)."""
    check_segment(pipeline, "pipeline", "quarantine folder")
    check_segment(layer, "layer", "quarantine folder")
    check_segment(table, "table", "quarantine folder")
    check_segment(batch_id, "batch id / run id", "quarantine folder")
    return lake.path("quarantine", pipeline, layer, table, f"_batch_id={batch_id}")


def replace_quarantine(lake: Lake, staged: str, final: str) -> None:
    """Swap a batch's quarantine output in place of a previous attempt's."""
    if lake.fs.exists(final):
        lake.fs.rm(final, recursive=True)
    lake.commit(staged, final)
