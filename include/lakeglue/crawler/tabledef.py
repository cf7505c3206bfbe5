"""The catalog table a crawl wants: storage descriptor, SerDe, Glue's crawler parameters.

Kept apart from planning so that "what the table should look like" has one definition,
used for new tables, updates and the dry-run plan alike. What the crawler does not own on
an existing table (column comments, user parameters, storage parameters) is carried over.
"""

from __future__ import annotations

import json
from dataclasses import replace

from lakeglue import records
from lakeglue.catalog.model import FORMATS, Column, StorageDescriptor, Table
from lakeglue.crawler.config import CrawlerConfig
from lakeglue.crawler.custom import LAZY_SIMPLE_SERDE, OPEN_CSV_SERDE
from lakeglue.crawler.listing import TableFolder
from lakeglue.crawler.schema import ExistingOptions, TableSchema
from lakeglue.crawler.types import STRING, GlueType, TypeParseError, format_type, parse_type
from lakeglue.storage.zones import Lake

CRAWLER_SCHEMA_VERSION = "1.0"
#: Table parameter holding non-ISO date/timestamp layouts per column (strptime; DuckDB reads them).
COLUMN_FORMATS_PARAM = records.COLUMN_FORMATS_PARAM
#: Input/output formats and SerDes of the classifications the shared model does not list.
_MORE_FORMATS: dict[str, dict[str, str]] = {
    "orc": {"input_format": "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
            "output_format": "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            "serde": "org.apache.hadoop.hive.ql.io.orc.OrcSerde"},
    "avro": {"input_format": "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
             "output_format": "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
             "serde": "org.apache.hadoop.hive.serde2.avro.AvroSerDe"},
}
#: Parameters a crawl rewrites every time; anything else on a table is the user's.
_OWNED = ("delimiter", "skip.header.line.count", "jsonPath", COLUMN_FORMATS_PARAM, "DEPRECATED_BY_CRAWLER",
          records.ENCODING_PARAM, records.NULL_FORMAT_PARAM, records.NULL_MARKERS_PARAM, records.UNREADABLE_PARAM,
          records.ORIGINAL_NAMES_PARAM)


def storage_descriptor(schema: TableSchema, columns: list[Column], location: str) -> StorageDescriptor:
    fmt = FORMATS.get(schema.format) or _MORE_FORMATS.get(schema.format) or FORMATS["csv"]  # grok: text
    serde = schema.serde or fmt["serde"]
    if schema.format == "csv" and not schema.serde and schema.quoted:
        serde = OPEN_CSV_SERDE  # LazySimpleSerDe would keep the quotes and split on quoted delimiters
    return StorageDescriptor(columns=tuple(columns), location=location, input_format=fmt["input_format"],
                             output_format=fmt["output_format"], serde=serde,
                             serde_parameters=serde_parameters(schema, serde, columns),
                             compressed=schema.compression not in ("none", ""))


def serde_parameters(schema: TableSchema, serde: str, columns: list[Column]) -> dict[str, str]:
    params: dict[str, str]
    if schema.format == "csv" and serde == OPEN_CSV_SERDE:
        params = {"separatorChar": schema.delimiter, "quoteChar": schema.serde_parameters.get("quoteChar", '"'),
                  "escapeChar": "\\"}
    elif schema.format == "csv" or serde == LAZY_SIMPLE_SERDE:
        params = {"field.delim": schema.delimiter, "serialization.format": schema.delimiter}
    elif schema.format == "json":
        params = {"paths": ",".join(sorted(c.name for c in columns))}
        # the OpenX JsonSerDe (Athena, Hive) reads a renamed top-level key through mapping.<column>
        params.update({f"mapping.{c.name}": schema.original_names[c.name] for c in columns
                       if c.name in schema.original_names})
    else:
        params = {"serialization.format": "1"} if not schema.serde_parameters else {}
        params.update(schema.serde_parameters)
    if schema.timestamp_formats:
        params["timestamp.formats"] = ",".join(schema.timestamp_formats)
    return params


def existing_options(table: Table) -> ExistingOptions:
    p = table.parameters
    header = p.get("skip.header.line.count")
    return ExistingOptions(
        format=p.get("classification", ""), compression=p.get("compressionType", "none"),
        columns=[(c.name, parse_or_string(c.type)) for c in table.columns], delimiter=p.get("delimiter", ""),
        header=(header == "1") if p.get("classification") == "csv" else None,
        quote_char=table.storage.serde_parameters.get("quoteChar", '"'),
        quoted=table.storage.serde == OPEN_CSV_SERDE, encoding=p.get(records.ENCODING_PARAM, ""),
        null_markers=tuple(records.null_markers(p)), original_names=records.original_names(p))


def parse_or_string(text: str) -> GlueType:
    try:
        return parse_type(text)
    except TypeParseError:
        return STRING


def schema_of_table(table: Table) -> TableSchema:
    """A TableSchema that rebuilds ``table`` as it is (no inference this run)."""
    opts = existing_options(table)
    formats = json.loads(table.parameters.get(COLUMN_FORMATS_PARAM, "{}"))
    timestamp = table.storage.serde_parameters.get("timestamp.formats", "")
    return TableSchema(format=opts.format, compression=opts.compression, columns=opts.columns,
                       delimiter=opts.delimiter, header=opts.header,
                       quoted=table.storage.serde == OPEN_CSV_SERDE,
                       serde=table.storage.serde if table.storage.serde not in ("", _default_serde(opts.format))
                       else "",
                       serde_parameters={k: v for k, v in table.storage.serde_parameters.items()
                                         if k not in ("timestamp.formats",)},
                       table_parameters={k: table.parameters[k] for k in ("jsonPath",) if k in table.parameters},
                       column_formats=formats, timestamp_formats=[t for t in timestamp.split(",") if t],
                       encoding=opts.encoding, null_markers=list(opts.null_markers),
                       original_names=dict(opts.original_names),
                       unreadable="zip" if records.UNREADABLE_PARAM in table.parameters else "")


def zip_reason(folder: TableFolder, schema: TableSchema, existing: Table | None, complete_listing: bool) -> str:
    """Why the query engines cannot read the table, when some of its files are zip archives ("" if none).

    Bronze jobs extract single-member zips; DuckDB, Trino and Athena read no zip at all, so the raw
    table is still catalogued (bronze needs it) but marked, and the query layer shows this reason.
    Decided from the listing (``.zip`` names, no I/O) and from the sampled files' magic bytes.
    """
    zips = sum(1 for f in folder.files if f.path.lower().endswith(".zip"))
    if not zips and schema.unreadable != "zip":
        if complete_listing or existing is None:
            return ""
        return existing.parameters.get(records.UNREADABLE_PARAM, "")  # event mode sees only announced files
    count = f"{zips} of {len(folder.files)} files are" if zips else "sampled files are"
    return (f"{count} zip archives, which the query engines cannot read; query the bronze table instead "
            "(bronze jobs extract single-member archives)")


def _default_serde(fmt: str) -> str:
    return (FORMATS.get(fmt) or _MORE_FORMATS.get(fmt) or {}).get("serde", "")


def average_record_size(schema: TableSchema | None, existing: Table | None) -> float:
    """Stored bytes per record: from the sample, blended with the existing estimate on incremental runs.

    Kept unrounded for ``recordCount`` (Glue's estimate sizeKey / averageRecordSize), so a
    table whose files were all read gets its exact row count; the parameter itself is rounded.
    """
    old_avg = float(existing.parameters.get("averageRecordSize", 0) or 0) if existing else 0.0
    old_n = int(existing.parameters.get("recordCount", 0) or 0) if existing else 0
    if schema is None or schema.records == 0:
        return max(1.0, old_avg)
    if old_avg and old_n:
        return max(1.0, (old_avg * old_n + schema.stored_bytes) / (old_n + schema.records))
    return max(1.0, schema.stored_bytes / schema.records)


def build_table(config: CrawlerConfig, lake: Lake, folder: TableFolder, schema: TableSchema | None,
                existing: Table | None, notes: list[str], complete_listing: bool = True) -> Table:
    """The table as the crawler wants it (UPDATE_IN_DATABASE); carries over what the crawler does not own.

    ``complete_listing`` is False in event mode, where ``folder.files`` holds only the
    announced files: object count and size then grow from the existing table's.
    """
    if schema is None:
        assert existing is not None, "a table without inference must already exist"
        schema, inferred = schema_of_table(existing), False
    else:
        inferred = True
    keys = tuple(Column(k, "string") for k in folder.layout.keys)
    comments = {c.name: c.comment for c in existing.columns} if existing else {}
    kept_params = {c.name: {k: v for k, v in c.parameters.items() if k != records.ORIGINAL_NAME_PARAM}
                   for c in existing.columns} if existing else {}
    columns: list[Column] = []
    for name, t in schema.columns:
        if name in folder.layout.keys:
            notes.append(f"table {folder.name}: data column {name} has the name of a partition key; dropped from "
                         "the data columns (query engines reject duplicate column names)")
            continue
        params = dict(kept_params.get(name, {}))
        if name in schema.original_names:
            params[records.ORIGINAL_NAME_PARAM] = schema.original_names[name]
        columns.append(Column(name, format_type(t), comments.get(name, ""), params))
    avg = average_record_size(schema if inferred else None, existing)
    count, size = len(folder.files), sum(f.size for f in folder.files)
    if not complete_listing and existing is not None:
        count += int(existing.parameters.get("objectCount", 0) or 0)
        size += int(existing.parameters.get("sizeKey", 0) or 0)
    params = {k: v for k, v in (existing.parameters if existing else {}).items() if k not in _OWNED}
    params.update({
        "classification": schema.format,
        "compressionType": schema.compression,
        "typeOfData": "file",
        "objectCount": str(count),
        "sizeKey": str(size),
        "averageRecordSize": str(max(1, round(avg))),
        "recordCount": str(round(size / avg)),
        "UPDATED_BY_CRAWLER": config.name,
        "CrawlerSchemaDeserializerVersion": CRAWLER_SCHEMA_VERSION,
        "CrawlerSchemaSerializerVersion": CRAWLER_SCHEMA_VERSION,
    })
    params.update(schema.table_parameters)
    if schema.format == "csv":
        params["delimiter"] = schema.delimiter
        if schema.header:
            params["skip.header.line.count"] = "1"
    if schema.encoding:
        params[records.ENCODING_PARAM] = schema.encoding
    params.update(records.encode_null_markers(schema.null_markers))
    params.update(records.encode_original_names(schema.original_names))
    unreadable = zip_reason(folder, schema, existing, complete_listing)
    if unreadable:
        params[records.UNREADABLE_PARAM] = unreadable
        notes.append(f"table {folder.name}: marked {records.UNREADABLE_PARAM}: {unreadable}")
    kept_formats = {c.name: schema.column_formats[c.name] for c in columns if c.name in schema.column_formats}
    if kept_formats:
        params[COLUMN_FORMATS_PARAM] = json.dumps(kept_formats, sort_keys=True)
    storage = storage_descriptor(schema, columns, lake.uri(folder.folder))
    if existing is not None:
        storage = replace(storage, parameters=dict(existing.storage.parameters))
        return existing.evolve(storage=storage, partition_keys=keys, parameters=params)
    return Table(database=config.database, name=folder.name, storage=storage, partition_keys=keys,
                 parameters=params)
