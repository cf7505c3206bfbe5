"""Everything a job run needs, resolved once: spec, settings, lake, catalog, ledger, batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from lakeglue.catalog import Catalog, open_catalog
from lakeglue.jobs.batches import batch_id_from_run_id, partition_value_from_path
from lakeglue.ledger import Ledger
from lakeglue.pipelines.spec import PipelineSpec, load_pipeline
from lakeglue.settings import Settings, get_settings
from lakeglue.storage.zones import Lake


@dataclass
class JobContext:
    spec: PipelineSpec
    settings: Settings
    lake: Lake
    catalog: Catalog
    ledger: Ledger
    batch_id: str
    full_refresh: bool = False
    dt_from: date | None = None
    dt_to: date | None = None
    started_at: datetime | None = None
    #: Gold reads a gated table only at a catalog version that passed its quality gate (the gate's
    #: verdict is recorded per version); another run's newer, not yet gated version blocks the table.
    gated_reads: bool = False

    @classmethod
    def create(cls, pipeline: str | PipelineSpec, run_id: str, settings: Settings | None = None,
               full_refresh: bool = False, dt_from: str | date | None = None,
               dt_to: str | date | None = None) -> JobContext:
        settings = settings or get_settings()
        spec = pipeline if isinstance(pipeline, PipelineSpec) else load_pipeline(pipeline)
        return cls(spec=spec, settings=settings, lake=Lake(settings), catalog=open_catalog(settings),
                   ledger=Ledger(settings.catalog_url), batch_id=batch_id_from_run_id(run_id),
                   full_refresh=full_refresh, dt_from=_as_date(dt_from), dt_to=_as_date(dt_to),
                   started_at=datetime.now(UTC).replace(microsecond=0))

    def in_date_range(self, path: str) -> bool:
        """Whether a raw file's ``dt=`` partition is inside the run's requested range (if any)."""
        if self.dt_from is None and self.dt_to is None:
            return True
        value = partition_value_from_path(path, "dt")
        if value is None:
            return True  # unpartitioned files (dimensions) always belong to the run
        day = date.fromisoformat(value)
        return (self.dt_from is None or day >= self.dt_from) and (self.dt_to is None or day <= self.dt_to)


def _as_date(value: Any) -> date | None:
    if value in (None, "", "None"):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"date parameter {value!r} is not an ISO date (YYYY-MM-DD)") from exc
