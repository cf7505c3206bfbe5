"""A lake whose raw zone holds given JSON-lines files, crawled by hand into one raw table: the
smallest setup for a bronze job on exact bytes (edge lines, CRLF, gzip, several files)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from lakeglue.catalog.model import Column, StorageDescriptor, Table
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.jobs.context import JobContext
from lakeglue.ledger import Ledger
from lakeglue.pipelines.spec import PipelineSpec
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from lakeglue.storage.zones import FileInfo


def raw_json_context(settings: Settings, spec: PipelineSpec, files: dict[str, bytes], columns: Sequence[Column],
                     started_at: datetime) -> JobContext:
    """``files`` (name → bytes) under raw/edge/events, registered as ``edge_raw.events`` with ``columns``
    and given to the ledger as new: a bronze job over this context reads exactly those bytes."""
    lake = Lake(settings)
    lake.ensure_zones()
    folder = Path(lake.path("raw", "edge", "events"))
    folder.mkdir(parents=True)
    infos = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        infos.append(FileInfo(str(folder / name), len(data), (folder / name).stat().st_mtime))
    catalog, ledger = SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
    catalog.ensure_database("edge_raw")
    catalog.upsert_table(Table("edge_raw", "events", StorageDescriptor.for_format(
        "json", tuple(columns), lake.uri(str(folder))), parameters={"classification": "json"}))
    ledger.record_seen("edge/events", infos)
    return JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=ledger, batch_id="b1",
                      started_at=started_at)
