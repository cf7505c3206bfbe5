"""The compose-profile engine: Trino (hive connector over the Hive Metastore + MinIO), via the ``trino`` client.

SQL is sent unchanged — it is already Trino's dialect — with the catalog database as the
session schema, so bare table names resolve as they do on DuckDB and Athena. Parameters
go through the client's prepared-statement support (``EXECUTE IMMEDIATE '…' USING
<literal>, …``): the server binds each value as a literal, the SQL text never contains
them. CTAS / INSERT INTO run natively; the hive connector writes the files and registers
the table in the metastore both Trino and Spark read.

Result values arrive typed (the client maps ``decimal`` to ``Decimal``, ``date`` to
``date`` …) and are turned into Arrow with the types Trino reports for the columns.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lakeglue.catalog import Catalog
from lakeglue.query.base import BoundQuery, EngineResult, QueryError
from lakeglue.settings import Settings
from lakeglue.sql import translate_query
from lakeglue.storage.zones import Lake

#: Where the compose stack's Trino listens (docker-compose.yaml) and its catalog (docker/trino/catalog/).
DEFAULTS = {"host": "trino", "port": 8080, "user": "lakeglue", "catalog": "lakeglue", "http_scheme": "http"}

_SCALARS: dict[Any, pa.DataType] = {
    exp.DataType.Type.BIGINT: pa.int64(), exp.DataType.Type.INT: pa.int32(), exp.DataType.Type.SMALLINT: pa.int16(),
    exp.DataType.Type.TINYINT: pa.int8(), exp.DataType.Type.DOUBLE: pa.float64(), exp.DataType.Type.FLOAT: pa.float32(),
    exp.DataType.Type.BOOLEAN: pa.bool_(), exp.DataType.Type.DATE: pa.date32(), exp.DataType.Type.VARCHAR: pa.string(),
    exp.DataType.Type.CHAR: pa.string(), exp.DataType.Type.TEXT: pa.string(), exp.DataType.Type.VARBINARY: pa.binary(),
    exp.DataType.Type.TIMESTAMP: pa.timestamp("us"), exp.DataType.Type.TIMESTAMP_S: pa.timestamp("us"),
    exp.DataType.Type.TIMESTAMP_MS: pa.timestamp("us"),
}


def _arrow(dtype: exp.DataType) -> pa.DataType:
    if dtype.this in _SCALARS:
        return _SCALARS[dtype.this]
    args = [e for e in dtype.expressions if isinstance(e, exp.DataType | exp.ColumnDef)]
    if dtype.this == exp.DataType.Type.DECIMAL:
        precision, scale = (int(p.name) for p in dtype.expressions) if dtype.expressions else (38, 0)
        return pa.decimal128(precision, scale)
    if dtype.this == exp.DataType.Type.ARRAY and args:
        return pa.list_(_arrow(_as_type(args[0])))
    if dtype.this == exp.DataType.Type.MAP and len(args) == 2:
        return pa.map_(_arrow(_as_type(args[0])), _arrow(_as_type(args[1])))
    if dtype.this == exp.DataType.Type.STRUCT:
        return pa.struct([pa.field(c.name, _arrow(_as_type(c))) for c in args if isinstance(c, exp.ColumnDef)])
    return pa.string()


def _as_type(node: exp.Expression) -> exp.DataType:
    if isinstance(node, exp.ColumnDef):
        kind = node.args.get("kind")
        assert isinstance(kind, exp.DataType)
        return kind
    assert isinstance(node, exp.DataType)
    return node


def arrow_type(trino_type: str) -> pa.DataType:
    """Arrow type for a Trino column type (``decimal(18, 2)``, ``array(row(a bigint))`` …); others → string."""
    try:
        return _arrow(exp.DataType.build(trino_type, dialect="trino"))
    except SqlglotError:
        return pa.string()


def arrow_value(value: Any, dtype: pa.DataType) -> Any:
    """A client value in the shape pyarrow wants: rows as dicts, maps as item lists, unknown types as text."""
    if value is None:
        return None
    if pa.types.is_struct(dtype):
        fields = [dtype.field(i) for i in range(dtype.num_fields)]
        return {f.name: arrow_value(v, f.type) for f, v in zip(fields, value, strict=True)}
    if pa.types.is_list(dtype):
        return [arrow_value(v, dtype.value_type) for v in value]
    if pa.types.is_map(dtype):
        return [(arrow_value(k, dtype.key_type), arrow_value(v, dtype.item_type)) for k, v in value.items()]
    if pa.types.is_string(dtype) and not isinstance(value, str):
        return str(value)
    return value


def normalize_type(trino_type: str) -> str:
    """``decimal(18, 2)`` → ``decimal(18,2)``, as the other engines report it."""
    return trino_type.replace(", ", ",") if trino_type.startswith("decimal") else trino_type


class TrinoEngine:
    """Runs Trino-dialect SQL on a Trino coordinator through the ``trino`` DB-API client."""

    name = "trino"
    native_writes = True

    def __init__(self, settings: Settings, lake: Lake, catalog: Catalog | None = None, connection: Any = None,
                 **options: Any) -> None:
        unknown = sorted(set(options) - set(DEFAULTS) - {"request_timeout"})
        if unknown:
            raise QueryError(f"unknown trino engine option(s) {', '.join(unknown)}; options: "
                             f"{', '.join([*DEFAULTS, 'request_timeout', 'connection'])}")
        self.settings = settings
        self.lake = lake
        extra = settings.extra
        self.config = {key: options.get(key, extra.get(f"trino_{key}", default)) for key, default in DEFAULTS.items()}
        self.request_timeout = float(options.get("request_timeout", extra.get("trino_request_timeout", 60)))
        self._connection = connection

    def connect(self, schema: str | None) -> Any:
        if self._connection is not None:
            return self._connection
        import trino

        return trino.dbapi.connect(
            host=str(self.config["host"]), port=int(self.config["port"]), user=str(self.config["user"]),
            catalog=str(self.config["catalog"]), schema=schema, http_scheme=str(self.config["http_scheme"]),
            source="lakeglue", request_timeout=self.request_timeout,
            # every supported Trino (the compose stack runs 476) has EXECUTE IMMEDIATE: skip the client's probe
            legacy_prepared_statements=False,
        )

    def where(self) -> str:
        return f"{self.config['http_scheme']}://{self.config['host']}:{self.config['port']}"

    def run(self, sql: str, params: tuple[Any, ...],
            schema: str | None) -> tuple[list[str], list[str], list[Any], dict[str, Any]]:
        """Send one statement; names, Trino types, rows and the server's stats."""
        import trino

        connection = self.connect(schema)
        cursor = connection.cursor()
        try:
            cursor.execute(sql, list(params) if params else None)
            rows = cursor.fetchall()
            description = cursor.description or []
            stats = dict(cursor.stats or {})
        except trino.exceptions.TrinoUserError as exc:
            location = exc.error_location
            where = f" (line {location[0]}, column {location[1]})" if location else ""
            raise QueryError(f"trino: {exc.message}{where} [{exc.error_name}]") from exc
        except trino.exceptions.TrinoQueryError as exc:
            raise QueryError(f"trino failed to run the query: {exc.message} [{exc.error_name}]") from exc
        except (trino.exceptions.OperationalError, trino.exceptions.HttpError) as exc:
            raise QueryError(f"cannot reach Trino at {self.where()}: {exc}") from exc
        finally:
            cursor.close()
            if self._connection is None:
                connection.close()
        return [str(d[0]) for d in description], [normalize_type(str(d[1])) for d in description], rows, stats

    def execute(self, query: BoundQuery) -> EngineResult:
        sql = translate_query(query, "trino")  # unchanged: Trino's own dialect
        names, types, rows, stats = self.run(sql, query.params, query.database)
        arrow_types = [arrow_type(t) for t in types]
        columns = [pa.array([arrow_value(r[i], t) for r in rows], t) for i, t in enumerate(arrow_types)]
        data = pa.Table.from_arrays(columns, names=names)
        info = {
            "bytes_scanned": stats.get("processedBytes"),
            "rows_scanned": stats.get("processedRows"),
            "trino_query_id": stats.get("queryId"),
            "trino_server": self.where(),
        }
        return EngineResult(data=data, types=types, engine_sql=sql, stats=info)

    def explain(self, query: BoundQuery, analyze: bool = False) -> str:
        prefix = "EXPLAIN ANALYZE " if analyze else "EXPLAIN "
        _names, _types, rows, _stats = self.run(prefix + translate_query(query, "trino"), query.params, query.database)
        return "\n".join(str(row[0]) for row in rows)
