"""A database table as a bronze source on DuckDB (the "RDS" case), with Spark's JDBC semantics.

The spec's ``jdbc:postgresql://…`` URL is read with psycopg instead of a JDBC driver; the
batch is the rows above the high-water-mark bookmark (the same :class:`Bookmarks` table
as the Spark engine, so a pipeline can switch engines between runs), and column types are
mapped as Spark's Postgres dialect maps them, so the bronze schema is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakeglue.jobs.bookmarks import Bookmarks
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.metrics import TableMetrics
from lakeglue.jobs.options import expand_env, sql_literal
from lakeglue.pipelines.spec import BronzeTableSpec

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

#: Postgres type OID → Spark's type for it (``PostgresDialect``), for the types lakeglue maps.
_SCALARS = {16: "boolean", 20: "bigint", 21: "smallint", 23: "int", 25: "string", 1043: "string", 1042: "string",
            19: "string", 700: "float", 701: "double", 1082: "date", 1114: "timestamp", 1184: "timestamp",
            2950: "string", 114: "string", 3802: "string", 17: "binary"}
_NUMERIC = 1700
_CHUNK = 50_000

CommitBatch = Callable[[Any, JobContext, str, BronzeTableSpec, str, TableMetrics, dict[str, str]], None]


class JdbcSourceError(ValueError):
    """A JDBC source the DuckDB engine cannot read; the message names the table and what is wrong."""


def conninfo(url: str, table: str) -> str:
    """``jdbc:postgresql://host:port/db?…`` → the libpq URI psycopg connects with."""
    if not url.startswith("jdbc:postgresql://"):
        from lakeglue.secrets import redact

        raise JdbcSourceError(f"bronze.{table}.options.url {redact(url)!r}: the duckdb engine reads PostgreSQL "
                              "(jdbc:postgresql://…) sources only; use the spark engine for other databases")
    return "postgresql://" + url.removeprefix("jdbc:postgresql://")


def _arrow_type(column: Any, table: str) -> tuple[str, pa.DataType]:
    import pyarrow as pa

    oid = column.type_code
    if oid == _NUMERIC:
        precision, scale = (column.precision, column.scale) if column.precision else (38, 18)
        return f"decimal({precision},{scale})", pa.decimal128(precision, scale)
    hive = _SCALARS.get(oid)
    if hive is None:
        raise JdbcSourceError(f"bronze.{table}: column {column.name!r} has Postgres type oid {oid}, which the "
                              "duckdb engine does not map; cast it in a view or use the spark engine")
    arrow = {"boolean": pa.bool_(), "bigint": pa.int64(), "smallint": pa.int16(), "int": pa.int32(),
             "string": pa.string(), "float": pa.float32(), "double": pa.float64(), "date": pa.date32(),
             "timestamp": pa.timestamp("us", tz="UTC"), "binary": pa.binary()}[hive]
    return hive, arrow


def _as_utc(value: Any) -> Any:
    """Naive timestamps are read as UTC instants, as Spark does in a UTC session."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def fetch_arrow(connection: Any, query: str, table: str) -> pa.Table:
    import pyarrow as pa

    with connection.cursor() as cur:
        cur.execute(query)
        assert cur.description is not None
        fields = [(c.name, *_arrow_type(c, table)) for c in cur.description]
        columns: list[list[Any]] = [[] for _ in fields]
        while rows := cur.fetchmany(_CHUNK):
            for row in rows:
                for i, value in enumerate(row):
                    columns[i].append(_as_utc(value))
    schema = pa.schema([pa.field(name, arrow) for name, _hive, arrow in fields])
    return pa.table([pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)],
                    schema=schema)


def bronze_jdbc_table(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str, table_spec: BronzeTableSpec,
                      result: TableMetrics, commit_batch: CommitBatch) -> TableMetrics:
    """Rows above the bookmark form the batch; they are committed like any bronze batch."""
    import psycopg

    options = expand_env(table_spec.options)
    source = ctx.spec.source_key(table)
    dbtable = options["dbtable"]
    with psycopg.connect(conninfo(options["url"], table), user=options.get("user") or None,
                         password=options.get("password") or None) as connection:
        query = f"SELECT * FROM {dbtable}"
        if table_spec.bookmark_column:
            column = table_spec.bookmark_column

            def current_max() -> str | None:
                row = connection.execute(f"SELECT CAST(MAX({column}) AS VARCHAR(64)) FROM {dbtable}").fetchone()
                return None if row is None else row[0]

            window = Bookmarks(ctx.settings.catalog_url).range_for(source, ctx.batch_id, column, current_max,
                                                                   full_refresh=ctx.full_refresh)
            if window.empty:
                result.skipped_reason = f"no rows in {dbtable} with {column} past the bookmark {window.low}"
                return result
            assert window.high is not None
            conditions = [f"{column} <= {sql_literal(window.high)}"]
            if window.low is not None:
                conditions.append(f"{column} > {sql_literal(window.low)}")
            query += " WHERE " + " AND ".join(conditions)
        rows = fetch_arrow(connection, query, table)
    con.register("__lg_jdbc_rows", rows)
    from lakeglue.secrets import redact

    origin = f"{redact(options['url'])}#{dbtable}"  # lineage shows the source, never its password
    parsed = (f"SELECT *, {sql_literal(origin)} AS _source_file, CAST(NULL AS INTEGER) AS _line, "
              "CAST(NULL AS VARCHAR) AS _reject_reason, CAST(NULL AS VARCHAR) AS _raw FROM __lg_jdbc_rows")
    result.files_read = 1
    try:
        commit_batch(con, ctx, table, table_spec, parsed, result, {"source_table": origin})
    finally:
        con.unregister("__lg_jdbc_rows")
    return result
