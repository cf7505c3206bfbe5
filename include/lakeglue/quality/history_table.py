"""Quality history as a catalog table, so ``lakeglue query`` (DuckDB/Trino/Athena) can read it with SQL.

The SQL history table lives in the catalog's database, which the query engines do not read:
they read catalog tables over files. So every validation also appends its rows as one
Parquet file under ``curated/quality/results/`` and the catalog gets a table
``lakeglue_quality.results`` over that directory (registered once; a new file needs no
catalog change). One file per validation means concurrent tasks never write the same file;
on local disk each file is written to staging and moved into place, on S3 an object only
appears once its upload completes, so readers never see half a file.

Columns are those of :data:`lakeglue.quality.history.HISTORY_COLUMNS`; ``table`` and
``column`` are reserved words in SQL, so quote them: ``SELECT "table", rule, success FROM
lakeglue_quality.results``. ``evaluated_at`` is a UTC timestamp without zone.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from typing import TYPE_CHECKING

from lakeglue.catalog.model import Column, StorageDescriptor, Table
from lakeglue.quality.history import HISTORY_COLUMNS, history_rows
from lakeglue.quality.result import QualityResult
from lakeglue.storage.zones import Lake

if TYPE_CHECKING:
    from lakeglue.catalog.base import Catalog

HISTORY_DATABASE = "lakeglue_quality"
HISTORY_TABLE = "results"

#: Catalog (Hive) type of every history column, in :data:`HISTORY_COLUMNS` order.
HIVE_TYPES = {
    "table": "string", "suite": "string", "rule": "string", "rule_index": "int", "rule_text": "string",
    "column": "string", "metric": "string", "severity": "string", "success": "boolean", "observed_value": "string",
    "unexpected_count": "bigint", "unexpected_percent": "double", "run_id": "string", "evaluated_at": "timestamp",
}
assert tuple(HIVE_TYPES) == HISTORY_COLUMNS


def history_location(lake: Lake) -> str:
    """fsspec path of the Parquet history directory."""
    return lake.path("curated", "quality", HISTORY_TABLE)


def catalog_table(lake: Lake) -> Table:
    columns = tuple(Column(name, hive_type) for name, hive_type in HIVE_TYPES.items())
    return Table(HISTORY_DATABASE, HISTORY_TABLE,
                 StorageDescriptor.for_format("parquet", columns, lake.uri(history_location(lake))),
                 parameters={"classification": "parquet"},
                 description="Data-quality results, one row per check per validation (lakeglue quality gate)")


def ensure_history_table(lake: Lake, catalog: Catalog) -> Table:
    """Register ``lakeglue_quality.results`` unless it already describes this lake's history."""
    wanted = catalog_table(lake)
    if catalog.table_exists(HISTORY_DATABASE, HISTORY_TABLE):
        current = catalog.get_table(HISTORY_DATABASE, HISTORY_TABLE)
        if current.columns == wanted.columns and current.location == wanted.location:
            return current
    catalog.ensure_database(HISTORY_DATABASE, "lakeglue data-quality history")
    return catalog.upsert_table(wanted)


def publish_history(result: QualityResult, lake: Lake, catalog: Catalog) -> str:
    """Append ``result``'s rows as one Parquet file and make sure the catalog table exists; returns the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = history_rows(result)
    for row in rows:  # naive UTC: DuckDB would shift a zoned timestamp by the session time zone
        when = row["evaluated_at"]
        row["evaluated_at"] = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    schema = pa.schema([(name, _arrow_type(hive)) for name, hive in HIVE_TYPES.items()])
    data = pa.Table.from_pylist(rows, schema=schema)
    name = f"{result.evaluated_at:%Y%m%dT%H%M%S%f}-{_safe(result.suite)}-{uuid.uuid4().hex[:8]}.parquet"
    final = f"{history_location(lake)}/{name}"
    if lake.protocol == "file":
        staging_dir = lake.new_staging_path("quality-history")
        staged = f"{staging_dir}/{name}"
        lake.fs.makedirs(staging_dir, exist_ok=True)
        with lake.fs.open(staged, "wb") as fh:
            pq.write_table(data, fh)
        lake.commit(staged, final)
        lake.fs.rm(staging_dir, recursive=True)  # now empty
    else:
        # An object appears whole when its upload completes (single or multipart PUT), so it is written in
        # place: a staged copy would only double the requests.
        with lake.fs.open(final, "wb") as fh:
            pq.write_table(data, fh)
    ensure_history_table(lake, catalog)
    return final


def _arrow_type(hive_type: str) -> object:
    import pyarrow as pa

    return {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "boolean": pa.bool_(),
            "double": pa.float64(), "timestamp": pa.timestamp("us")}[hive_type]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "suite"
