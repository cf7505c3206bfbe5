"""Self-describing formats — Parquet, ORC, Avro — read from their metadata only, never their data.

Parquet and ORC keep schema and row count in a footer, Avro in a header; reading those is
what lets the crawler handle a folder of large files in the time of a listing. Avro has
no row count in its header, so the block headers (count + size, a few bytes each) are
walked with seeks, up to :data:`MAX_AVRO_BLOCKS`; beyond that the count is extrapolated.
"""

from __future__ import annotations

import json
from typing import IO, Any

from lakeglue.crawler.types import NULL, STRING, GlueType, from_arrow, widen

PARQUET_MAGIC = b"PAR1"
ORC_MAGIC = b"ORC"
AVRO_MAGIC = b"Obj\x01"
PARQUET_EXTENSIONS = (".parquet", ".parq", ".pq")
ORC_EXTENSIONS = (".orc",)
AVRO_EXTENSIONS = (".avro",)
MAX_AVRO_BLOCKS = 10_000
_AVRO_SYNC = 16


class MetadataError(Exception):
    """The file claims a binary format but its metadata is unusable; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BinaryMeta:
    """Columns, row count, codec and bytes read of one self-describing file."""

    def __init__(self, fmt: str, columns: list[tuple[str, GlueType]], rows: int, codec: str, bytes_read: int,
                 serde_parameters: dict[str, str] | None = None, notes: list[str] | None = None) -> None:
        self.format = fmt
        self.columns = columns
        self.rows = rows
        self.codec = codec
        self.bytes_read = bytes_read
        self.serde_parameters = serde_parameters or {}
        self.notes = notes or []


def binary_format(head: bytes, data_ext: str) -> str | None:
    """The self-describing format a file claims, by magic bytes or (to report a bad file) extension."""
    if head.startswith(PARQUET_MAGIC) or data_ext in PARQUET_EXTENSIONS:
        return "parquet"
    if head.startswith(ORC_MAGIC) or data_ext in ORC_EXTENSIONS:
        return "orc"
    if head.startswith(AVRO_MAGIC) or data_ext in AVRO_EXTENSIONS:
        return "avro"
    return None


def read_metadata(fmt: str, fh: IO[bytes], size: int, head: bytes) -> BinaryMeta:
    reader = {"parquet": _parquet, "orc": _orc, "avro": _avro}[fmt]
    return reader(fh, size, head)


def _columns_from_arrow(schema: Any) -> list[tuple[str, GlueType]]:
    return [(f.name.lower(), from_arrow(f.type)) for f in schema]


def _parquet(fh: IO[bytes], size: int, head: bytes) -> BinaryMeta:
    import pyarrow.parquet as pq

    if head[:4] != PARQUET_MAGIC:
        raise MetadataError(f"Parquet extension but no PAR1 magic at the start (found {head[:4].hex()})")
    if size < 12:
        raise MetadataError(f"too small for Parquet ({size} bytes)")
    fh.seek(size - 4)
    if fh.read(4) != PARQUET_MAGIC:
        raise MetadataError("PAR1 at the start but not at the end: truncated or still being written")
    fh.seek(0)
    try:
        pf = pq.ParquetFile(fh)
        meta = pf.metadata
        schema = pf.schema_arrow
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for corrupt footers
        raise MetadataError(f"corrupt Parquet footer: {exc}") from exc
    codec = "none"
    if meta.num_row_groups and meta.num_columns:
        codec = str(meta.row_group(0).column(0).compression).lower()
        codec = "none" if codec == "uncompressed" else codec
    return BinaryMeta("parquet", _columns_from_arrow(schema), int(meta.num_rows), codec,
                      int(meta.serialized_size) + 12)


def _orc(fh: IO[bytes], size: int, head: bytes) -> BinaryMeta:
    import pyarrow.orc as orc

    if head[:3] != ORC_MAGIC:
        raise MetadataError(f"ORC extension but no 'ORC' magic at the start (found {head[:4].hex()})")
    fh.seek(0)
    try:
        of = orc.ORCFile(fh)
        schema = of.schema
        rows = int(of.nrows)
        codec = str(of.compression).lower()
        tail = int(of.file_postscript_length) + int(of.file_footer_length) + 1
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a bad tail
        raise MetadataError(f"corrupt ORC file tail (postscript/footer): {exc}") from exc
    return BinaryMeta("orc", _columns_from_arrow(schema), rows, "none" if codec == "uncompressed" else codec,
                      min(size, tail + 3))


# -- Avro ---------------------------------------------------------------------------------------
def _read_long(fh: IO[bytes]) -> int:
    """Avro's zig-zag varint."""
    value = shift = 0
    while True:
        byte = fh.read(1)
        if not byte:
            raise MetadataError("Avro header or block header cut short (truncated file)")
        b = byte[0]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1)
        shift += 7
        if shift > 63:
            raise MetadataError("corrupt Avro varint")


def _read_bytes(fh: IO[bytes]) -> bytes:
    n = _read_long(fh)
    data = fh.read(n)
    if n < 0 or len(data) != n:
        raise MetadataError("Avro header cut short (truncated file)")
    return data


def _avro_header(fh: IO[bytes]) -> tuple[dict[str, bytes], bytes]:
    meta: dict[str, bytes] = {}
    while True:
        count = _read_long(fh)
        if count == 0:
            break
        if count < 0:  # a negative count is followed by the block's byte size
            _read_long(fh)
            count = -count
        for _ in range(count):
            key = _read_bytes(fh).decode("utf-8", "replace")
            meta[key] = _read_bytes(fh)
    sync = fh.read(_AVRO_SYNC)
    if len(sync) != _AVRO_SYNC:
        raise MetadataError("Avro header without its sync marker (truncated file)")
    return meta, sync


def _count_avro_rows(fh: IO[bytes], size: int, sync: bytes) -> tuple[int, bool]:
    """Rows from block headers (seeking over block data); (count, exact)."""
    start = fh.tell()
    rows = blocks = 0
    while fh.tell() < size:
        if blocks >= MAX_AVRO_BLOCKS:
            walked = fh.tell() - start
            return round(rows * (size - start) / max(walked, 1)), False
        rows += _read_long(fh)
        length = _read_long(fh)
        fh.seek(fh.tell() + length)
        if fh.read(_AVRO_SYNC) != sync:
            raise MetadataError(f"Avro block {blocks} does not end with the file's sync marker (corrupt or "
                                "truncated)")
        blocks += 1
    return rows, True


def _avro(fh: IO[bytes], size: int, head: bytes) -> BinaryMeta:
    import fastavro

    if head[:4] != AVRO_MAGIC:
        raise MetadataError(f"Avro extension but no 'Obj\\x01' magic at the start (found {head[:4].hex()})")
    fh.seek(4)
    meta, sync = _avro_header(fh)
    header_bytes = fh.tell()
    if "avro.schema" not in meta:
        raise MetadataError("Avro header has no avro.schema")
    try:
        schema = json.loads(meta["avro.schema"])
        fastavro.parse_schema(schema)
    except (ValueError, fastavro.schema.SchemaParseException) as exc:
        raise MetadataError(f"invalid Avro schema in the header: {exc}") from exc
    if not (isinstance(schema, dict) and schema.get("type") == "record"):
        raise MetadataError("Avro schema is not a record; the crawler needs named fields for columns")
    notes: list[str] = []
    record = avro_type(schema, {}, notes, "")
    rows, exact = _count_avro_rows(fh, size, sync)
    if not exact:
        notes.append(f"row count extrapolated from the first {MAX_AVRO_BLOCKS} blocks")
    codec = meta.get("avro.codec", b"null").decode()
    codec = {"null": "none", "zstandard": "zstd"}.get(codec, codec)
    return BinaryMeta("avro", list(zip(record.fields, record.children, strict=True)), rows, codec,
                      header_bytes, {"avro.schema.literal": meta["avro.schema"].decode()}, notes)


_AVRO_PRIMITIVES = {"null": NULL, "boolean": GlueType("boolean"), "int": GlueType("int"),
                    "long": GlueType("bigint"), "float": GlueType("float"), "double": GlueType("double"),
                    "bytes": GlueType("binary"), "string": STRING}
_AVRO_LOGICAL = {"date": GlueType("date"), "timestamp-millis": GlueType("timestamp"),
                 "timestamp-micros": GlueType("timestamp"), "local-timestamp-millis": GlueType("timestamp"),
                 "local-timestamp-micros": GlueType("timestamp"), "uuid": STRING}


def avro_type(schema: Any, named: dict[str, GlueType], notes: list[str], where: str) -> GlueType:
    """Glue type of an Avro schema node (named types resolved; ``[null, T]`` unions are nullable T)."""
    if isinstance(schema, str):
        if schema in _AVRO_PRIMITIVES:
            return _AVRO_PRIMITIVES[schema]
        if schema in named:
            return named[schema]
        raise MetadataError(f"Avro schema references unknown type {schema!r} at {where or 'the root'}")
    if isinstance(schema, list):
        branches = [avro_type(s, named, notes, where) for s in schema]
        result = NULL
        for branch in branches:
            result = widen(result, branch, where, notes)
        return result
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical == "decimal":
        return GlueType("decimal", precision=int(schema["precision"]), scale=int(schema.get("scale", 0)))
    if logical in _AVRO_LOGICAL:
        return _AVRO_LOGICAL[logical]
    if kind == "record":
        fields = schema.get("fields", [])
        # a record that contains itself has no Hive type: the inner reference becomes string
        named.setdefault(schema["name"], STRING)
        names = tuple(str(f["name"]).lower() for f in fields)
        children = tuple(avro_type(f["type"], named, notes, f"{where}.{f['name']}" if where else str(f["name"]))
                         for f in fields)
        result = GlueType("struct", children, names)
        named[schema["name"]] = result
        if "namespace" in schema:
            named[f"{schema['namespace']}.{schema['name']}"] = result
        return result
    if kind == "enum":
        named[schema["name"]] = STRING
        return STRING
    if kind == "fixed":
        named[schema["name"]] = GlueType("binary")
        return GlueType("binary")
    if kind == "array":
        return GlueType("array", (avro_type(schema["items"], named, notes, f"{where}.element"),))
    if kind == "map":
        return GlueType("map", (STRING, avro_type(schema["values"], named, notes, f"{where}.value")))
    return avro_type(kind, named, notes, where)
