"""The Glue-shaped catalog model: databases, tables, storage descriptors, partitions, versions.

Immutable dataclasses so a table read from the catalog cannot be changed behind the
catalog's back; updates go through :class:`~lakeglue.catalog.base.Catalog` and archive the
previous version. Types are Hive/Glue type strings (``bigint``, ``decimal(10,2)``,
``array<struct<a:int>>``) so every backend and engine shares one vocabulary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

# Glue's input/output formats and SerDes per classification, as its crawler writes them.
FORMATS: dict[str, dict[str, str]] = {
    "parquet": {
        "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "serde": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    },
    "csv": {
        "input_format": "org.apache.hadoop.mapred.TextInputFormat",
        "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "serde": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
    },
    "json": {
        "input_format": "org.apache.hadoop.mapred.TextInputFormat",
        "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "serde": "org.openx.data.jsonserde.JsonSerDe",
    },
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str = ""
    #: Glue's Column.Parameters (e.g. ``lakeglue.original_name``: the raw key or header the column came
    #: from). Compared, so a changed parameter is a table change, but not hashed (a dict cannot be).
    parameters: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class StorageDescriptor:
    columns: tuple[Column, ...] = ()
    location: str = ""
    input_format: str = ""
    output_format: str = ""
    serde: str = ""
    serde_parameters: dict[str, str] = field(default_factory=dict)
    compressed: bool = False
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_format(cls, classification: str, columns: tuple[Column, ...] | list[Column], location: str,
                   serde_parameters: dict[str, str] | None = None, compressed: bool = False) -> StorageDescriptor:
        fmt = FORMATS.get(classification, FORMATS["parquet"])
        return cls(columns=tuple(columns), location=location, input_format=fmt["input_format"],
                   output_format=fmt["output_format"], serde=fmt["serde"],
                   serde_parameters=dict(serde_parameters or {}), compressed=compressed)


@dataclass(frozen=True)
class Database:
    name: str
    description: str = ""
    location_uri: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    create_time: datetime | None = None


@dataclass(frozen=True)
class Table:
    database: str
    name: str
    storage: StorageDescriptor = field(default_factory=StorageDescriptor)
    partition_keys: tuple[Column, ...] = ()
    table_type: str = "EXTERNAL_TABLE"
    parameters: dict[str, str] = field(default_factory=dict)
    description: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    #: Version number assigned by the catalog; 1 for a new table, +1 per update.
    version: int = 0
    #: A view's SQL as Glue keeps it (``table_type`` ``VIRTUAL_VIEW``): Athena/Trino's encoded
    #: ``/* Presto View: … */`` text, see :mod:`lakeglue.query.views`. Empty for tables.
    view_original_text: str = ""
    view_expanded_text: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def location(self) -> str:
        return self.storage.location

    @property
    def classification(self) -> str:
        return self.parameters.get("classification", "")

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.storage.columns

    def all_columns(self) -> tuple[Column, ...]:
        """Data columns followed by partition keys, the order query engines expose."""
        return self.storage.columns + self.partition_keys

    def evolve(self, **changes: Any) -> Table:
        return replace(self, **changes)


@dataclass(frozen=True)
class Partition:
    database: str
    table: str
    values: tuple[str, ...]
    storage: StorageDescriptor = field(default_factory=StorageDescriptor)
    parameters: dict[str, str] = field(default_factory=dict)
    create_time: datetime | None = None

    @property
    def location(self) -> str:
        return self.storage.location

    def spec(self, keys: tuple[Column, ...]) -> dict[str, str]:
        return {k.name: v for k, v in zip(keys, self.values, strict=True)}


@dataclass(frozen=True)
class TableVersion:
    version: int
    table: Table
    archived_at: datetime | None = None


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-JSON form (datetimes as ISO strings) for storage in backends and for XCom."""
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return value
    return convert(asdict(obj))


def column_from_dict(data: dict[str, Any]) -> Column:
    """A stored column; bodies written before columns had parameters simply have none."""
    return Column(name=data["name"], type=data.get("type", ""), comment=data.get("comment", ""),
                  parameters=dict(data.get("parameters") or {}))


def storage_from_dict(data: dict[str, Any]) -> StorageDescriptor:
    return StorageDescriptor(
        columns=tuple(column_from_dict(c) for c in data.get("columns", [])),
        location=data.get("location", ""),
        input_format=data.get("input_format", ""),
        output_format=data.get("output_format", ""),
        serde=data.get("serde", ""),
        serde_parameters=dict(data.get("serde_parameters", {})),
        compressed=bool(data.get("compressed", False)),
        parameters=dict(data.get("parameters", {})),
    )


def table_from_dict(data: dict[str, Any]) -> Table:
    return Table(
        database=data["database"],
        name=data["name"],
        storage=storage_from_dict(data.get("storage", {})),
        partition_keys=tuple(column_from_dict(c) for c in data.get("partition_keys", [])),
        table_type=data.get("table_type", "EXTERNAL_TABLE"),
        parameters=dict(data.get("parameters", {})),
        description=data.get("description", ""),
        create_time=_parse_dt(data.get("create_time")),
        update_time=_parse_dt(data.get("update_time")),
        version=int(data.get("version", 0)),
        view_original_text=data.get("view_original_text", ""),
        view_expanded_text=data.get("view_expanded_text", ""),
    )


def _parse_dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
