"""The gate's memory budget: how much a table needs in the worker, decided from Parquet footers.

The pandas gate holds the whole table as a DataFrame, and GX adds per-rule work on top
(boolean masks, ``duplicated()`` for uniqueness). Measured on an orders-like table (600k
rows, six columns, all rules passing) the peak was 3.6 times the table's uncompressed Parquet
size, which every footer states — so the estimate (:data:`FRAME_FACTOR` times that size) is
known before a byte of data is read. Not covered: the quarantine pass over failing rows needs
memory in proportion to how many rows fail (17 times the size with a quarter of the rows
failing the status rule), which cannot be known before validating.

A table whose estimate fits ``quality_memory_budget_bytes`` (``LAKEGLUE_QUALITY_MEMORY_BUDGET_BYTES``,
default 1 GiB) is validated in the worker with pandas; a larger one is validated by GX's Spark
engine over the same catalog partitions (:func:`lakeglue.jobs.spark.catalog_io.read_table`),
whose driver memory is bounded by ``spark.driver.memory`` (``LAKEGLUE_SPARK_DRIVER_MEMORY``)
and which spills to disk. Both engines evaluate the same expectations and give the same results (the Spark tests compare
their summaries), so the budget changes where the work runs, never the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakeglue.catalog.base import data_locations

if TYPE_CHECKING:
    from lakeglue.catalog.base import Catalog
    from lakeglue.catalog.model import Table
    from lakeglue.storage.zones import Lake

#: Peak worker memory of a pandas validation, as a multiple of the table's uncompressed Parquet bytes
#: (3.6 measured, see the module docstring).
FRAME_FACTOR = 4


@dataclass(frozen=True)
class Footprint:
    """What a table's data files hold, summed from their footers."""

    files: int
    rows: int
    uncompressed_bytes: int

    @property
    def gate_bytes(self) -> int:
        """Estimated peak memory of validating the table with pandas."""
        return FRAME_FACTOR * self.uncompressed_bytes


def table_footprint(table: Table, lake: Lake, catalog: Catalog) -> Footprint:
    """Footers of the files the gate would read: the table location's, or each catalog partition's."""
    import pyarrow.parquet as pq

    files = rows = size = 0
    for location in data_locations(catalog, table.database, table.name):
        for info in lake.list_files(lake.fs_path(location)):
            with lake.fs.open(info.path, "rb") as fh:
                meta = pq.ParquetFile(fh).metadata
            files += 1
            rows += meta.num_rows
            size += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return Footprint(files, rows, size)


def fits_budget(table: Table, lake: Lake, catalog: Catalog, budget_bytes: int) -> tuple[bool, Footprint | None]:
    """Whether the pandas gate may read ``table``; a table whose footers cannot be read goes the pandas
    way too, where the reader reports what is wrong with it."""
    try:
        footprint = table_footprint(table, lake, catalog)
    except (OSError, ValueError, LookupError):  # pyarrow's errors are OSError/ValueError subclasses
        return True, None
    return footprint.gate_bytes <= budget_bytes, footprint
