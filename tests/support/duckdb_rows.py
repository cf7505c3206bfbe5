"""Read a catalog table's rows through the DuckDB engine's own reader, for tests of either lake (local or S3)."""

from __future__ import annotations

from typing import Any

from lakeglue.catalog import Catalog
from lakeglue.jobs.duckdb.catalog_io import read_table
from lakeglue.jobs.duckdb.session import connect
from lakeglue.settings import Settings
from lakeglue.storage import Lake


def table_rows(settings: Settings, catalog: Catalog, lake: Lake, database: str, table: str,
               columns: list[str]) -> list[tuple[Any, ...]]:
    """``columns`` of every row of ``database.table``, sorted."""
    con = connect(settings)
    try:
        rel = read_table(con, catalog, lake, database, table)
        cols = ", ".join(f'"{c}"' for c in columns)
        return sorted(con.execute(f"SELECT {cols} FROM ({rel.sql})").fetchall())
    finally:
        con.close()
