"""Facts read from Parquet footers only (no data scan), shared by the Spark and DuckDB engines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakeglue.storage.zones import Lake


def parquet_choice_types(uri: str, choices: dict[str, list[str]], fs: Any = None) -> tuple[str, ...]:
    """Which declared variant each choice column has in this file (from its footer only).

    ``fs`` is the lake's fsspec file system, so an object-store lake is read with its own
    endpoint and credentials; without it ``uri`` is opened with fsspec's defaults.
    """
    if not choices:
        return ()
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    simple = {pa.int64(): "bigint", pa.int32(): "int", pa.int16(): "smallint", pa.float64(): "double",
              pa.float32(): "float", pa.string(): "string", pa.large_string(): "string", pa.bool_(): "boolean",
              pa.date32(): "date"}
    with (fs.open(fs._strip_protocol(uri), "rb") if fs is not None else fsspec.open(uri, "rb")) as fh:
        schema = pq.read_schema(fh)
    found = []
    for name, variants in sorted(choices.items()):
        if name not in schema.names:
            found.append("absent")
            continue
        arrow_type = schema.field(name).type
        glue_type = simple.get(arrow_type, str(arrow_type))
        if glue_type not in variants:
            raise ValueError(f"{uri}: column {name} is {glue_type}, which is not one of its declared "
                             f"choice types {variants}")
        found.append(glue_type)
    return tuple(found)


def parquet_rows_under(lake: Lake, directory: str) -> int:
    """Rows of the Parquet data files below ``directory`` (a path or a lake URL), from footers.

    Counts what a copy-on-write commit carried over unchanged, or what a job reads of a
    catalog table, without a scan (Spark would run a job per count).
    """
    import pyarrow.parquet as pq

    total = 0
    for info in lake.list_files(lake.fs_path(directory)):
        with lake.fs.open(info.path, "rb") as fh:
            total += pq.ParquetFile(fh).metadata.num_rows
    return total
