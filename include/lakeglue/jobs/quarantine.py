"""Where rejected records go, and in what shape: one JSON line per record with the reason.

Fields: ``source_file``, ``line`` (1-based, when the format has lines), ``reason`` (the
rule broken, naming the column), ``raw`` (the original text or row as JSON), ``layer``,
``table``, ``batch_id``, ``size`` (bytes of the record, or of the whole file when ``line`` is
NULL). One directory per (table, batch): a rerun replaces it.
"""

from __future__ import annotations

from lakeglue.records import QUARANTINE_FIELDS
from lakeglue.storage.zones import Lake

__all__ = ["QUARANTINE_FIELDS", "quarantine_dir", "replace_quarantine"]


def quarantine_dir(lake: Lake, pipeline: str, layer: str, table: str, batch_id: str) -> str:
    return lake.path("quarantine", pipeline, layer, table, f"_batch_id={batch_id}")


def replace_quarantine(lake: Lake, staged: str, final: str) -> None:
    """Swap a batch's quarantine output in place of a previous attempt's."""
    if lake.fs.exists(final):
        lake.fs.rm(final, recursive=True)
    lake.commit(staged, final)
