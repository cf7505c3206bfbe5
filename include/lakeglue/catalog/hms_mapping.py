"""Model ↔ Hive Metastore Thrift structs (Database, Table, StorageDescriptor, SerDeInfo, Partition).

Pure functions, like :mod:`lakeglue.catalog.glue_mapping` (Glue's Data Catalog model *is* the
metastore's, so the storage descriptor maps field for field: the formats and SerDes of
:data:`lakeglue.catalog.model.FORMATS` go in as they are, and Spark and Trino read the
table without knowing lakeglue exists).

What the metastore has no field for travels in parameters under ``lakeglue.*`` keys, and is
taken out again on read, so ``from_hms(to_hms(x)) == x``:

* a table's version and its create/update times to the microsecond (HMS keeps whole seconds);
* column parameters (HMS' FieldSchema is name, type, comment only), as JSON;
* the location exactly as given: HMS rewrites ``file:///x/`` to ``file:/x``; the original is
  returned while it still names the same place (a location changed by another tool wins).

Hive's own conventions are kept so other engines see what they expect: the table description is
the ``comment`` parameter, and an external table carries ``EXTERNAL=TRUE`` (without it HMS 2.x
silently turns an ``EXTERNAL_TABLE`` into a managed one). Parameters the metastore maintains by
itself (``transient_lastDdlTime``, the basic statistics) are not part of the model and are dropped
on read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from pymetastore.hive_metastore import ttypes

from lakeglue.catalog.model import Column, Database, Partition, StorageDescriptor, Table

VERSION = "lakeglue.version"
CREATE_TIME = "lakeglue.create_time"
UPDATE_TIME = "lakeglue.update_time"
LOCATION = "lakeglue.location"
COLUMN_PARAMETERS = "lakeglue.column_parameters"
#: Hive's table comment (Spark's and Trino's ``COMMENT``) holds the model's description.
COMMENT = "comment"
EXTERNAL = "EXTERNAL"
OURS = frozenset({VERSION, CREATE_TIME, UPDATE_TIME, LOCATION, COLUMN_PARAMETERS})
#: Kept up to date by the metastore itself (DDL time, basic statistics); not lakeglue's parameters.
METASTORE_MANAGED = frozenset({"transient_lastDdlTime", "numFiles", "numRows", "totalSize", "rawDataSize",
                               "COLUMN_STATS_ACCURATE", "numFilesErasureCoded", "last_modified_by",
                               "last_modified_time"})
#: Characters Hive escapes in partition names (``FileUtils.escapePathName``).
_ESCAPED = set('"#%\'*/:=?\\\x7f{[]^') | {chr(c) for c in range(1, 32)}
DEFAULT_PARTITION_NAME = "__HIVE_DEFAULT_PARTITION__"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _from_epoch(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value else 0


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def canonical_location(location: str) -> str:
    """The place a location names, the way HMS' ``Path`` normalises it: scheme ``file`` for bare paths,
    one slash after ``file:``, no trailing slash."""
    loc = location.rstrip("/") or location
    if loc.startswith("/"):
        loc = "file:" + loc
    if loc.startswith("file://") and not loc.startswith("file:///"):
        return loc  # file://host/... : leave a host-qualified URI alone
    if loc.startswith("file:"):
        return "file:/" + loc.removeprefix("file:").lstrip("/")
    return loc


def _location_from_hms(stored: str | None, original: str | None) -> str:
    stored = stored or ""
    if original is not None and canonical_location(original) == canonical_location(stored):
        return original
    return stored


def escape_partition_value(value: str) -> str:
    if not value:
        return DEFAULT_PARTITION_NAME
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


def partition_name(keys: tuple[Column, ...], values: tuple[str, ...] | list[str]) -> str:
    """Hive's partition name (``dt=2026-11-01/region=eu``), as HMS keys its partitions."""
    return "/".join(f"{escape_partition_value(k.name.lower())}={escape_partition_value(v)}"
                    for k, v in zip(keys, values, strict=True))


def values_from_partition_name(name: str) -> tuple[str, ...]:
    return tuple(unquote(part.split("=", 1)[1]) for part in name.split("/"))


# -- columns -------------------------------------------------------------------------------------
def _fields(columns: tuple[Column, ...]) -> list[Any]:
    return [ttypes.FieldSchema(name=c.name, type=c.type, comment=c.comment or None) for c in columns]


def _columns(fields: list[Any] | None, parameters: Mapping[str, dict[str, str]]) -> tuple[Column, ...]:
    return tuple(Column(f.name, f.type or "", f.comment or "", dict(parameters.get(f.name) or {}))
                 for f in fields or [])


def _column_parameters(*groups: tuple[Column, ...]) -> str | None:
    """JSON ``{"columns": {name: params}, "partition_keys": {...}}`` when any column has parameters."""
    found = {label: {c.name: dict(c.parameters) for c in group if c.parameters}
             for label, group in zip(("columns", "partition_keys"), groups, strict=False)}
    found = {k: v for k, v in found.items() if v}
    return json.dumps(found, ensure_ascii=False, sort_keys=True) if found else None


def _parsed_column_parameters(parameters: Mapping[str, str]) -> dict[str, dict[str, dict[str, str]]]:
    raw = parameters.get(COLUMN_PARAMETERS)
    return json.loads(raw) if raw else {}


# -- storage -------------------------------------------------------------------------------------
def storage_to_hms(storage: StorageDescriptor) -> Any:
    return ttypes.StorageDescriptor(
        cols=_fields(storage.columns), location=storage.location or None,
        inputFormat=storage.input_format or None, outputFormat=storage.output_format or None,
        compressed=storage.compressed, numBuckets=-1,
        serdeInfo=ttypes.SerDeInfo(name=None, serializationLib=storage.serde or None,
                                   parameters=dict(storage.serde_parameters)),
        bucketCols=[], sortCols=[], parameters=dict(storage.parameters),
        skewedInfo=ttypes.SkewedInfo(skewedColNames=[], skewedColValues=[], skewedColValueLocationMaps={}),
        storedAsSubDirectories=False)


def storage_from_hms(sd: Any, original_location: str | None, column_parameters: Mapping[str, dict[str, str]]
                     ) -> StorageDescriptor:
    if sd is None:
        return StorageDescriptor()
    serde = sd.serdeInfo or ttypes.SerDeInfo()
    return StorageDescriptor(
        columns=_columns(sd.cols, column_parameters),
        location=_location_from_hms(sd.location, original_location),
        input_format=sd.inputFormat or "", output_format=sd.outputFormat or "",
        serde=serde.serializationLib or "", serde_parameters=dict(serde.parameters or {}),
        compressed=bool(sd.compressed), parameters=dict(sd.parameters or {}))


# -- databases -----------------------------------------------------------------------------------
def database_to_hms(database: Database) -> Any:
    parameters = dict(database.parameters)
    if database.create_time:
        parameters[CREATE_TIME] = _iso(database.create_time)
    parameters[LOCATION] = database.location_uri
    return ttypes.Database(name=database.name, description=database.description or None,
                           locationUri=database.location_uri or None, parameters=parameters)


def database_from_hms(db: Any) -> Database:
    parameters = dict(db.parameters or {})
    original = parameters.pop(LOCATION, None)
    created = _parse_time(parameters.pop(CREATE_TIME, None))
    location = "" if original == "" else _location_from_hms(db.locationUri, original)
    return Database(name=db.name, description=db.description or "", location_uri=location,
                    parameters={k: v for k, v in parameters.items() if k not in METASTORE_MANAGED},
                    create_time=created)


# -- tables --------------------------------------------------------------------------------------
def table_to_hms(table: Table) -> Any:
    """The Thrift ``Table`` for create_table/alter_table, carrying the model's version and times."""
    parameters = dict(table.parameters)
    if table.description:
        parameters[COMMENT] = table.description
    if table.table_type == "EXTERNAL_TABLE":
        parameters[EXTERNAL] = "TRUE"
    parameters[VERSION] = str(table.version)
    if table.create_time:
        parameters[CREATE_TIME] = _iso(table.create_time)
    if table.update_time:
        parameters[UPDATE_TIME] = _iso(table.update_time)
    parameters[LOCATION] = table.storage.location
    column_parameters = _column_parameters(table.storage.columns, table.partition_keys)
    if column_parameters:
        parameters[COLUMN_PARAMETERS] = column_parameters
    return ttypes.Table(
        tableName=table.name, dbName=table.database, owner="lakeglue", createTime=_epoch(table.create_time),
        lastAccessTime=0, retention=0, sd=storage_to_hms(table.storage), partitionKeys=_fields(table.partition_keys),
        parameters=parameters, tableType=table.table_type)


def table_from_hms(tbl: Any) -> Table:
    """A metastore table, whoever wrote it: one lakeglue never wrote is version 1, with HMS' times."""
    parameters = dict(tbl.parameters or {})
    columns = _parsed_column_parameters(parameters)
    ddl_time = parameters.get("transient_lastDdlTime")
    created = _parse_time(parameters.get(CREATE_TIME)) or _from_epoch(tbl.createTime)
    updated = _parse_time(parameters.get(UPDATE_TIME)) or _from_epoch(int(ddl_time) if ddl_time else None) or created
    table_type = tbl.tableType or "EXTERNAL_TABLE"
    description = parameters.pop(COMMENT, "")
    if table_type == "EXTERNAL_TABLE" and parameters.get(EXTERNAL, "").upper() == "TRUE":
        parameters.pop(EXTERNAL)
    return Table(
        database=tbl.dbName, name=tbl.tableName,
        storage=storage_from_hms(tbl.sd, parameters.get(LOCATION), columns.get("columns", {})),
        partition_keys=_columns(tbl.partitionKeys, columns.get("partition_keys", {})),
        table_type=table_type,
        parameters={k: v for k, v in parameters.items() if k not in OURS and k not in METASTORE_MANAGED},
        description=description, create_time=created, update_time=updated,
        version=int(parameters.get(VERSION) or 1))


# -- partitions ----------------------------------------------------------------------------------
def partition_to_hms(partition: Partition) -> Any:
    parameters = dict(partition.parameters)
    parameters[LOCATION] = partition.storage.location
    column_parameters = _column_parameters(partition.storage.columns)
    if column_parameters:
        parameters[COLUMN_PARAMETERS] = column_parameters
    return ttypes.Partition(values=list(partition.values), dbName=partition.database, tableName=partition.table,
                            createTime=_epoch(partition.create_time), lastAccessTime=0,
                            sd=storage_to_hms(partition.storage), parameters=parameters)


def partition_from_hms(part: Any) -> Partition:
    parameters = dict(part.parameters or {})
    columns = _parsed_column_parameters(parameters)
    return Partition(
        database=part.dbName, table=part.tableName, values=tuple(part.values or ()),
        storage=storage_from_hms(part.sd, parameters.get(LOCATION), columns.get("columns", {})),
        parameters={k: v for k, v in parameters.items() if k not in OURS and k not in METASTORE_MANAGED},
        create_time=_from_epoch(part.createTime))
