"""Read a catalog table's Parquet data into pandas, the way a query engine would see it.

The catalog location is the source of truth (a versioned directory per commit), so the gate
checks exactly the data the gold step will read. Hive partition folders (``dt=2026-11-01``)
become typed columns using the catalog's partition keys; Spark/Hadoop litter (``_SUCCESS``,
``_temporary``, ``.crc``) is skipped by the ``_``/``.`` prefix rule.

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

    from lakeglue.storage.zones import Lake

_IGNORE_PREFIXES = ["_", "."]


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


def read_table_frame(table: Table, lake: Lake | None = None) -> pd.DataFrame:
    """All rows of ``table`` (data columns + partition columns) as a pandas DataFrame.

    ``lake`` is needed for tables on object storage (its filesystem reads them); local
    (``file://``) locations are read directly.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as pads

    if table.classification not in ("", "parquet"):
        raise QualityError(f"table {table.qualified_name} is {table.classification!r}; the gate reads Parquet only")
    if not table.location:
        raise QualityError(f"table {table.qualified_name} has no storage location in the catalog")
    filesystem, path = _filesystem_path(table, lake)
    empty = pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.all_columns()})
    if filesystem is None and not Path(path).exists():
        raise QualityError(f"table {table.qualified_name}: location {table.location} does not exist")
    if filesystem is not None and not filesystem.exists(path):
        return empty

    partitioning: Any = "hive"
    if table.partition_keys:
        schema = pa.schema([(k.name, arrow_type(k.type)) for k in table.partition_keys])
        partitioning = pads.partitioning(schema, flavor="hive")
    try:
        dataset = pads.dataset(path, format="parquet", partitioning=partitioning, ignore_prefixes=_IGNORE_PREFIXES,
                               filesystem=filesystem)
        if not dataset.files:
            return empty
        data = dataset.to_table()
    except (pa.ArrowInvalid, OSError) as exc:
        raise QualityError(f"table {table.qualified_name}: cannot read Parquet at {table.location}: {exc}") from exc
    return data.to_pandas(types_mapper=_nullable_dtype)


def _filesystem_path(table: Table, lake: Lake | None) -> tuple[Any, str]:
    """(None, local path) for a ``file://`` location, else (the lake's fsspec filesystem, its path there)."""
    location = table.location
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
