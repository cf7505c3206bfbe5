"""Read a catalog table's Parquet data into pandas, the way a query engine would see it.

The catalog is the source of truth, as for every other reader (the query layer's
:func:`lakeglue.query.duckdb_tables.list_table_files`): an unpartitioned table is the files
under its location (a versioned directory per commit); a partitioned table is exactly its
registered partitions, each at its own location, with the partition values the catalog
gives them (typed by the catalog's partition keys). Reading the table root instead would
also read superseded bronze attempts, partitions an INSERT INTO rewrote elsewhere, and
stray files, so the gate would check rows the gold step never sees. Spark/Hadoop litter
(``_SUCCESS``, ``_temporary``, ``.crc``) is skipped by the ``_``/``.`` prefix rule.

Tables of an S3 lake are read through the lake's fsspec filesystem (``s3fs`` with the lake's
endpoint and region), which pyarrow.dataset accepts as is: one client configuration for the
whole lake, MinIO and moto included. An object store has no empty directories, so a location
without objects (an empty commit) reads as an empty table there, as DuckDB's reader does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from lakeglue.catalog.model import Table
from lakeglue.quality.errors import QualityError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from lakeglue.catalog.base import Catalog
    from lakeglue.storage.zones import Lake

_IGNORE_PREFIXES = ["_", "."]
#: The partition value Hive and Spark write for NULL.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def local_path(location: str) -> str:
    """``file:///lake/x`` → ``/lake/x``; other schemes are read with the lake's filesystem (:func:`read_table_frame`).

    lakeglue writes ``"file://" + path`` unencoded, while ``Path.as_uri()`` (and Spark) encode
    ``=`` as ``%3D``; a path that only exists decoded is returned decoded.
    """
    if "://" in location and not location.startswith("file://"):
        raise QualityError(f"location {location} is not on local disk; read it with the lake's filesystem")
    path = location.removeprefix("file://")
    if path.startswith("localhost/"):
        path = path.removeprefix("localhost")
    decoded = unquote(path)
    return decoded if decoded != path and not Path(path).exists() and Path(decoded).exists() else path


def read_table_frame(table: Table, lake: Lake | None = None, catalog: Catalog | None = None) -> pd.DataFrame:
    """All rows of ``table`` (data columns + partition columns) as a pandas DataFrame.

    ``lake`` is needed for tables on object storage (its filesystem reads them); local
    (``file://``) locations are read directly. ``catalog`` is needed for a partitioned table:
    its rows are those of the partitions the catalog registers, nothing else under its root.
    """
    import pandas as pd

    if table.classification not in ("", "parquet"):
        raise QualityError(f"table {table.qualified_name} is {table.classification!r}; the gate reads Parquet only")
    if not table.location:
        raise QualityError(f"table {table.qualified_name} has no storage location in the catalog")
    empty = pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.all_columns()})
    if table.partition_keys:
        data = _read_partitions(table, lake, catalog)
    else:
        data = _read_location(table, table.location, f"location {table.location}", lake, hive=True)
    if data is None:
        return empty
    return data.to_pandas(types_mapper=_nullable_dtype)


def _read_location(table: Table, location: str, what: str, lake: Lake | None, hive: bool) -> pa.Table | None:
    """The Parquet files under one location as an Arrow table; None when it holds no data files.

    A missing local directory is an error (the catalog points at nothing); on an object store a
    location without objects is an empty commit. ``hive`` turns ``key=value`` folders below the
    location into columns (typed by the catalog's partition keys).
    """
    import pyarrow as pa
    import pyarrow.dataset as pads

    filesystem, path = _filesystem_path(table, location, lake)
    if filesystem is None and not Path(path).exists():
        raise QualityError(f"table {table.qualified_name}: {what} does not exist")
    if filesystem is not None and not filesystem.exists(path):
        return None
    partitioning: Any = "hive" if hive else None
    if hive and table.partition_keys:
        schema = pa.schema([(k.name, arrow_type(k.type)) for k in table.partition_keys])
        partitioning = pads.partitioning(schema, flavor="hive")
    try:
        dataset = pads.dataset(path, format="parquet", partitioning=partitioning, ignore_prefixes=_IGNORE_PREFIXES,
                               filesystem=filesystem)
        if not dataset.files:
            return None
        return dataset.to_table()
    except (pa.ArrowInvalid, OSError) as exc:
        raise QualityError(f"table {table.qualified_name}: cannot read Parquet at {location}: {exc}") from exc


def _read_partitions(table: Table, lake: Lake | None, catalog: Catalog | None) -> pa.Table | None:
    """The rows of every catalog partition, each with its catalog values as partition columns.

    A file column named like a partition key is dropped: the catalog's value wins, as in the
    query layer. Partitions written at different times may differ in columns or widths; they
    are combined as the query layer's ``union_by_name`` does.
    """
    import pyarrow as pa

    if catalog is None:
        raise QualityError(f"table {table.qualified_name} is partitioned; reading it needs the catalog's partitions")
    keys = [k.name for k in table.partition_keys]
    pieces: list[pa.Table] = []
    for part in catalog.get_partitions(table.database, table.name):
        what = f"partition {'/'.join(part.values)} at {part.location}"
        data = _read_location(table, part.location, what, lake, hive=False)
        if data is None:
            continue
        data = data.drop_columns([c for c in data.column_names if c in keys])
        for key, value in zip(table.partition_keys, part.values, strict=True):
            cell = None if value == HIVE_NULL else value
            constant = pa.array([cell] * data.num_rows, pa.string())
            try:
                constant = constant.cast(arrow_type(key.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise QualityError(f"table {table.qualified_name}: partition value {key.name}={value!r} is not a "
                                   f"{key.type}: {exc}") from exc
            data = data.append_column(key.name, constant)
        pieces.append(data)
    if not pieces:
        return None
    try:
        return pa.concat_tables(pieces, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise QualityError(f"table {table.qualified_name}: its partitions have incompatible schemas: {exc}") from exc


def _filesystem_path(table: Table, location: str, lake: Lake | None) -> tuple[Any, str]:
    """(None, local path) for a ``file://`` location, else (the lake's fsspec filesystem, its path there)."""
    scheme = location.split("://", 1)[0] if "://" in location else "file"
    if scheme == "file":
        return None, local_path(location)
    if lake is None or scheme not in _schemes(lake):
        where = "no lake was given" if lake is None else f"this lake is on {lake.protocol} ({lake.uri(lake.root)})"
        raise QualityError(f"table {table.qualified_name} is stored at {location}, but {where}; the gate reads "
                           f"tables of its own lake")
    return lake.fs, lake.fs_path(location)


def _schemes(lake: Lake) -> tuple[str, ...]:
    """URL schemes of the lake's filesystem (s3fs answers to ``s3`` and ``s3a``)."""
    protocol = lake.fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def arrow_type(hive_type: str) -> Any:
    """Arrow type of a Hive/Glue partition-key type; unknown types stay strings."""
    import pyarrow as pa

    mapping = {
        "date": pa.date32(), "tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(),
        "integer": pa.int32(), "bigint": pa.int64(), "boolean": pa.bool_(), "double": pa.float64(),
        "float": pa.float32(), "string": pa.string(),
    }
    return mapping.get(hive_type.strip().lower(), pa.string())


def _nullable_dtype(arrow: Any) -> Any:
    """Integers and booleans as pandas' nullable dtypes, so a null does not turn ids into floats."""
    import pandas as pd
    import pyarrow as pa

    if pa.types.is_integer(arrow):
        return pd.api.types.pandas_dtype(str(arrow).replace("int", "Int").replace("uInt", "UInt"))
    if pa.types.is_boolean(arrow):
        return pd.BooleanDtype()
    return None
