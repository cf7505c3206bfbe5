"""Bounded memory in the query path: results stream to the results zone, Python keeps a preview.

Real DuckDB over a real Parquet table; the preview limit is set small so the result is many
times larger than what the returned object (and the task's XCom) may hold.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog import Column, StorageDescriptor, Table
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.query import QueryError, list_queries, run_query
from lakeglue.query.base import BoundQuery
from lakeglue.query.duckdb_engine import DuckDBEngine, spill_directory
from lakeglue.settings import Settings
from lakeglue.storage import Lake

ROWS = 30_000
PREVIEW = 50


@pytest.fixture
def env(tmp_path: Path) -> tuple[Settings, Lake, SqlCatalog]:
    settings = Settings(lake_root=str(tmp_path / "lake"), catalog_url=f"sqlite:///{tmp_path / 'catalog.db'}",
                        query_preview_rows=PREVIEW, query_memory_limit="96MB",
                        duckdb_temp_directory=str(tmp_path / "spill"))
    lake = Lake(settings)
    lake.ensure_zones()
    catalog = SqlCatalog(settings.catalog_url)
    location = lake.path("curated", "gold", "events", "v-1")
    lake.fs.makedirs(location, exist_ok=True)
    pq.write_table(pa.table({
        "id": pa.array(range(ROWS), pa.int64()),
        "label": pa.array([f"event-{i:06d}" for i in range(ROWS)], pa.string()),
        "amount": pa.array([Decimal(i) / 100 for i in range(ROWS)], pa.decimal128(12, 2)),
    }), f"{location}/part-0.parquet")
    catalog.ensure_database("gold")
    catalog.create_table(Table("gold", "events", StorageDescriptor.for_format(
        "parquet", (Column("id", "bigint"), Column("label", "string"), Column("amount", "decimal(12,2)")),
        lake.uri(location)), parameters={"classification": "parquet"}))
    return settings, lake, catalog


def test_a_large_result_is_written_whole_while_only_the_preview_is_kept(
        env: tuple[Settings, Lake, SqlCatalog]) -> None:
    settings, lake, catalog = env
    result = run_query("SELECT id, label, amount, sum(id) OVER () AS total FROM gold.events ORDER BY id DESC",
                       settings=settings, lake=lake, catalog=catalog, output="parquet")

    # in memory: the preview only, but the count of everything
    assert (result.row_count, len(result.rows), result.truncated) == (ROWS, PREVIEW, True)
    assert result.rows[0] == (ROWS - 1, f"event-{ROWS - 1:06d}", Decimal("299.99"), ROWS * (ROWS - 1) // 2)
    assert result.types == ["bigint", "varchar", "decimal(12,2)", "bigint"]  # HUGEINT sum cast per batch
    summary = result.to_dict()
    assert summary["row_count"] == ROWS and len(summary["preview"]) == 20
    assert summary["preview"][0] == [str(ROWS - 1), f"event-{ROWS - 1:06d}", "299.99", str(ROWS * (ROWS - 1) // 2)]

    # in the results zone: every row, in both formats, and metadata counting them all
    folder = Path(lake.local_path(str(result.output_location))).parent
    with (folder / "result.csv").open(newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == ["id", "label", "amount", "total"] and len(lines) == ROWS + 1
    assert lines[1][:3] == [str(ROWS - 1), f"event-{ROWS - 1:06d}", "299.99"] and lines[-1][:3] == ["0",
                                                                                                  "event-000000",
                                                                                                  "0.00"]
    written = pq.read_table(folder / "result.parquet")
    assert written.num_rows == ROWS and written.schema.field("total").type == pa.int64()
    assert written.column("id").to_pylist()[:3] == [ROWS - 1, ROWS - 2, ROWS - 3]
    meta = json.loads((folder / "metadata.json").read_text())
    assert (meta["state"], meta["rows"]) == ("SUCCEEDED", ROWS)
    assert [q.rows for q in list_queries(lake=lake)] == [ROWS]
    assert lake.fs.ls(lake.path("staging", "tmp", "query"), detail=False) == []  # staged, then moved


def test_small_results_and_in_memory_results_are_whole(env: tuple[Settings, Lake, SqlCatalog]) -> None:
    settings, lake, catalog = env
    small = run_query("SELECT id FROM gold.events WHERE id < 3 ORDER BY id", settings=settings, lake=lake,
                      catalog=catalog)
    assert (small.rows, small.row_count, small.truncated) == ([(0,), (1,), (2,)], 3, False)
    empty = run_query("SELECT id FROM gold.events WHERE id < 0", settings=settings, lake=lake, catalog=catalog)
    assert (empty.rows, empty.row_count) == ([], 0)
    assert Path(lake.local_path(str(empty.output_location))).read_text() == "id\n"
    whole = run_query("SELECT id FROM gold.events", settings=settings, lake=lake, catalog=catalog, output=None)
    assert (len(whole.rows), whole.row_count, whole.output_location) == (ROWS, ROWS, None)


def test_a_query_failing_mid_stream_leaves_only_its_failed_metadata(env: tuple[Settings, Lake, SqlCatalog]) -> None:
    settings, lake, catalog = env
    with pytest.raises(QueryError, match="duckdb could not run the query") as failure:
        # the cast fails on the row with id 20000, after earlier batches were streamed out
        run_query("SELECT id, CAST(CASE WHEN id = 20000 THEN 'x' ELSE '1' END AS integer) AS n FROM gold.events",
                  settings=settings, lake=lake, catalog=catalog)
    [record] = list_queries(lake=lake)
    assert (record.query_id, record.state, record.output_location) == (failure.value.query_id, "FAILED", None)
    assert lake.fs.ls(lake.path("staging", "tmp", "query"), detail=False) == []


def test_the_query_engine_runs_with_a_memory_limit_and_its_own_spill_folder(
        env: tuple[Settings, Lake, SqlCatalog], tmp_path: Path) -> None:
    settings, lake, catalog = env
    engine = DuckDBEngine(settings, lake, catalog)
    with engine.connect(BoundQuery("SELECT 1", (), None, {})) as (con, _tables):
        limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')") \
            .fetchone() or ("", "")
    assert limit in ("91.5 MiB", "96.0 MB", "91.5MiB", "96MB"), limit
    assert spill == spill_directory(settings) and spill.startswith(str(tmp_path / "spill" / "query-"))
