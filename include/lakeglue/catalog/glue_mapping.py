"""Model ↔ Glue Data Catalog API shapes (DatabaseInput, TableInput, StorageDescriptor, PartitionInput).

Pure functions, kept apart from the client so the mapping can be read against the Glue API
reference field by field and tested without a server. Empty optional strings are left out
of inputs (Glue rejects some empty strings and stores none of them); absent fields read back
as the model's defaults, so ``from_glue(to_glue(x))`` round-trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lakeglue.catalog.model import Column, Database, Partition, StorageDescriptor, Table


def _utc(value: Any) -> datetime | None:
    """boto3 returns timestamps in the local zone; the model keeps UTC."""
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v != ""}


def column_to_glue(column: Column) -> dict[str, Any]:
    out: dict[str, Any] = _drop_empty({"Name": column.name, "Type": column.type, "Comment": column.comment})
    if column.parameters:  # Glue's Column.Parameters; left out when empty like the other optional fields
        out["Parameters"] = dict(column.parameters)
    return out


def column_from_glue(data: Mapping[str, Any]) -> Column:
    return Column(data["Name"], data.get("Type", ""), data.get("Comment", ""), dict(data.get("Parameters") or {}))


def storage_to_glue(storage: StorageDescriptor) -> dict[str, Any]:
    serde = _drop_empty({"SerializationLibrary": storage.serde})
    serde["Parameters"] = dict(storage.serde_parameters)
    return {
        "Columns": [column_to_glue(c) for c in storage.columns],
        **_drop_empty({"Location": storage.location, "InputFormat": storage.input_format,
                       "OutputFormat": storage.output_format}),
        "Compressed": storage.compressed,
        "SerdeInfo": serde,
        "Parameters": dict(storage.parameters),
    }


def storage_from_glue(data: Mapping[str, Any] | None) -> StorageDescriptor:
    data = data or {}
    serde = data.get("SerdeInfo") or {}
    return StorageDescriptor(
        columns=tuple(column_from_glue(c) for c in data.get("Columns") or []),
        location=data.get("Location", ""),
        input_format=data.get("InputFormat", ""),
        output_format=data.get("OutputFormat", ""),
        serde=serde.get("SerializationLibrary", ""),
        serde_parameters=dict(serde.get("Parameters") or {}),
        compressed=bool(data.get("Compressed", False)),
        parameters=dict(data.get("Parameters") or {}),
    )


def database_to_input(database: Database) -> dict[str, Any]:
    return {**_drop_empty({"Name": database.name, "Description": database.description,
                           "LocationUri": database.location_uri}),
            "Parameters": dict(database.parameters)}


def database_from_glue(data: Mapping[str, Any]) -> Database:
    return Database(name=data["Name"], description=data.get("Description") or "",
                    location_uri=data.get("LocationUri") or "", parameters=dict(data.get("Parameters") or {}),
                    create_time=_utc(data.get("CreateTime")))


def table_to_input(table: Table) -> dict[str, Any]:
    """The TableInput for CreateTable/UpdateTable (times and version are the server's to set)."""
    return {
        **_drop_empty({"Name": table.name, "Description": table.description, "TableType": table.table_type,
                       "ViewOriginalText": table.view_original_text,
                       "ViewExpandedText": table.view_expanded_text}),
        "Parameters": dict(table.parameters),
        "PartitionKeys": [column_to_glue(c) for c in table.partition_keys],
        "StorageDescriptor": storage_to_glue(table.storage),
    }


def table_from_glue(data: Mapping[str, Any], version_id: str | None = None) -> Table:
    """A Glue Table (GetTable, GetTables, SearchTables, or a TableVersion's body).

    The model's version is Glue's ``VersionId``; a table never updated has no ``UpdateTime``
    in Glue, where the model says "updated when created".
    """
    created = _utc(data.get("CreateTime"))
    return Table(
        database=data["DatabaseName"],
        name=data["Name"],
        storage=storage_from_glue(data.get("StorageDescriptor")),
        partition_keys=tuple(column_from_glue(c) for c in data.get("PartitionKeys") or []),
        table_type=data.get("TableType") or "EXTERNAL_TABLE",
        parameters=dict(data.get("Parameters") or {}),
        description=data.get("Description") or "",
        create_time=created,
        update_time=_utc(data.get("UpdateTime")) or created,
        version=int(version_id or data.get("VersionId") or 0),
        view_original_text=data.get("ViewOriginalText") or "",
        view_expanded_text=data.get("ViewExpandedText") or "",
    )


def partition_to_input(partition: Partition) -> dict[str, Any]:
    return {"Values": list(partition.values), "StorageDescriptor": storage_to_glue(partition.storage),
            "Parameters": dict(partition.parameters)}


def partition_from_glue(data: Mapping[str, Any]) -> Partition:
    return Partition(database=data["DatabaseName"], table=data["TableName"], values=tuple(data["Values"]),
                     storage=storage_from_glue(data.get("StorageDescriptor")),
                     parameters=dict(data.get("Parameters") or {}), create_time=_utc(data.get("CreationTime")))
