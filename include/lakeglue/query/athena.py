"""The aws-profile engine: Amazon Athena over the Glue Data Catalog, through boto3.

The request is the one the Amazon provider's ``AthenaHook.run_query`` sends
(``QueryString``, ``QueryExecutionContext``, ``ResultConfiguration.OutputLocation``,
``WorkGroup``, ``ClientRequestToken``) plus ``ExecutionParameters``, which that hook has no
argument for: parameters must reach Athena as separate literals, never pasted into the
SQL. Inside Airflow the operator hands this engine the hook's client (its connection,
credentials and region), so both send the same request; outside Airflow boto3's default
chain is used with the lakeglue AWS settings.

Athena writes its own result files (``<OutputLocation><QueryExecutionId>.csv``); lakeglue
fetches the rows with ``GetQueryResults`` and keeps its usual ``results/queries/<id>/`` too,
so history and XCom look the same on every engine. CTAS / INSERT INTO run natively:
Athena writes the data and registers the table in Glue, the catalog lakeglue reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from lakeglue.catalog import Catalog
from lakeglue.query.base import BoundQuery, EngineResult, QueryError
from lakeglue.query.binding import is_write, parse_statement
from lakeglue.query.literals import literal_parameters
from lakeglue.settings import Settings
from lakeglue.sql import translate_query
from lakeglue.storage.zones import Lake

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
DEFAULT_TIMEOUT_S = 30 * 60.0
_POLL_FIRST_S, _POLL_MAX_S = 0.2, 5.0
_INTEGER_TYPES = ("tinyint", "smallint", "integer", "int", "bigint")
_FLOAT_TYPES = ("double", "float", "real")


def athena_type(info: dict[str, Any]) -> str:
    """A result column's type as lakeglue reports it (``decimal(18,2)`` from Type + Precision/Scale)."""
    kind = str(info.get("Type", "varchar")).lower()
    if kind == "decimal":
        return f"decimal({info.get('Precision', 38)},{info.get('Scale', 0)})"
    return kind


def arrow_type(kind: str) -> pa.DataType:
    """Arrow type for an Athena result type; nested types arrive as text from GetQueryResults."""
    base = kind.split("(")[0]
    if base in ("tinyint", "smallint", "integer", "int", "bigint"):
        return pa.int64() if base == "bigint" else pa.int32()
    if base in _FLOAT_TYPES:
        return pa.float64()
    if base == "decimal":
        precision, scale = (int(x) for x in kind[len("decimal("):-1].split(","))
        return pa.decimal128(precision, scale)
    if base == "boolean":
        return pa.bool_()
    if base == "date":
        return pa.date32()
    if base == "timestamp":
        return pa.timestamp("us")
    return pa.string()


def parse_value(text: str | None, kind: str) -> Any:
    """One ``VarCharValue`` as a Python value of its column's type (``None`` for NULL)."""
    if text is None:
        return None
    base = kind.split("(")[0]
    if base in _INTEGER_TYPES:
        return int(text)
    if base in _FLOAT_TYPES:
        return float(text)
    if base == "decimal":
        return Decimal(text)
    if base == "boolean":
        return text.lower() == "true"
    if base == "date":
        return date.fromisoformat(text)
    if base == "timestamp":
        return datetime.fromisoformat(text)
    return text


class AthenaEngine:
    """Runs Trino-dialect SQL unchanged on Athena; the Glue catalog resolves the tables."""

    name = "athena"
    native_writes = True

    def __init__(self, settings: Settings, lake: Lake, catalog: Catalog | None = None, client: Any = None,
                 workgroup: str | None = None, output_location: str | None = None, data_catalog: str | None = None,
                 timeout_s: float | None = None, on_submit: Callable[[str], None] | None = None) -> None:
        extra = settings.extra
        self.settings = settings
        self.lake = lake
        self.workgroup = workgroup or str(extra.get("athena_workgroup") or "primary")
        self._output_location = output_location or extra.get("athena_output_location")
        self.data_catalog = data_catalog or extra.get("athena_catalog")
        self.timeout_s = float(timeout_s or extra.get("athena_timeout_s") or DEFAULT_TIMEOUT_S)
        self.on_submit = on_submit
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("athena", endpoint_url=self.settings.aws_endpoint_url or None,
                                        region_name=self.settings.aws_region)
        return self._client

    def output_location(self, query_id: str) -> str:
        """Where Athena writes its result files: the setting, else ``<results zone>/athena/<query_id>/``."""
        if self._output_location:
            return str(self._output_location).rstrip("/") + "/"
        if self.lake.protocol != "s3":
            raise QueryError("athena writes query results to S3: set athena_output_location (s3://…) in the "
                             "settings' extra, or use an s3:// lake whose results zone it can write to")
        return self.lake.uri(self.lake.path("results", "athena", query_id or "adhoc")) + "/"

    def start_request(self, query: BoundQuery) -> dict[str, Any]:
        """StartQueryExecution arguments, shaped like ``AthenaHook.run_query`` sends them."""
        context: dict[str, str] = {}
        if query.database:
            context["Database"] = query.database
        if self.data_catalog:
            context["Catalog"] = str(self.data_catalog)
        request: dict[str, Any] = {
            "QueryString": translate_query(query, "athena"),  # unchanged: Athena runs Trino SQL
            "QueryExecutionContext": context,
            "ResultConfiguration": {"OutputLocation": self.output_location(query.query_id)},
            "WorkGroup": self.workgroup,
        }
        if query.query_id:  # idempotent: a retried request does not start the query twice
            request["ClientRequestToken"] = query.query_id
        if query.params:
            request["ExecutionParameters"] = literal_parameters(query.params)
        return request

    def wait(self, execution_id: str) -> dict[str, Any]:
        """Poll until the query is SUCCEEDED/FAILED/CANCELLED; past the deadline it is stopped."""
        deadline = time.monotonic() + self.timeout_s
        delay = _POLL_FIRST_S
        while True:
            execution: dict[str, Any] = self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            if execution["Status"]["State"] in TERMINAL_STATES:
                return execution
            if time.monotonic() + delay > deadline:
                self.client.stop_query_execution(QueryExecutionId=execution_id)
                raise QueryError(f"athena query {execution_id} did not finish within {self.timeout_s:.0f} s; "
                                 "it was cancelled")
            time.sleep(delay)
            delay = min(delay * 2, _POLL_MAX_S)

    def fetch(self, execution_id: str, statement_type: str) -> tuple[list[str], list[str], list[list[Any]], int | None]:
        """Column names, types, typed rows and (for CTAS / INSERT) the update count."""
        names: list[str] = []
        types: list[str] = []
        rows: list[list[Any]] = []
        update_count: int | None = None
        first = True
        for page in self.client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
            if "UpdateCount" in page:
                update_count = int(page["UpdateCount"])
            result_set = page.get("ResultSet", {})
            if not names:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                names = [str(c.get("Label") or c["Name"]) for c in info]
                types = [athena_type(c) for c in info]
            for row in result_set.get("Rows", []):
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                # a SELECT's first row is its header (Athena adds it to DML results)
                if first and statement_type == "DML" and values == names:
                    first = False
                    continue
                first = False
                rows.append([parse_value(v, t) for v, t in zip(values, types, strict=True)])
        return names, types, rows, update_count

    def execute(self, query: BoundQuery) -> EngineResult:
        """Run a query (or a CTAS / INSERT INTO, answered with a ``rows`` column as Trino does)."""
        return self._run(query, write=is_write(parse_statement(query.sql)))

    def _run(self, query: BoundQuery, write: bool) -> EngineResult:
        request = self.start_request(query)
        try:
            execution_id = str(self.client.start_query_execution(**request)["QueryExecutionId"])
        except Exception as exc:  # botocore ClientError / EndpointConnectionError: report, keep the cause
            raise QueryError(f"athena did not accept the query: {exc}") from exc
        if self.on_submit is not None:
            self.on_submit(execution_id)
        execution = self.wait(execution_id)
        status = execution["Status"]
        if status["State"] != "SUCCEEDED":
            reason = status.get("AthenaError", {}).get("ErrorMessage") or status.get("StateChangeReason", "")
            raise QueryError(f"athena query {execution_id} {status['State']}: {reason}")
        names, types, rows, update_count = self.fetch(execution_id, str(execution.get("StatementType", "DML")))
        statistics = execution.get("Statistics", {})
        stats = {
            "bytes_scanned": statistics.get("DataScannedInBytes"),
            "engine_execution_ms": statistics.get("EngineExecutionTimeInMillis"),
            "athena_query_execution_id": execution_id,
            "athena_output_location": execution.get("ResultConfiguration", {}).get("OutputLocation"),
            "workgroup": execution.get("WorkGroup", self.workgroup),
        }
        if write and not names:
            data = pa.table({"rows": pa.array([update_count or 0], pa.int64())})
            return EngineResult(data=data, types=["bigint"], engine_sql=query.sql, stats=stats)
        columns = [pa.array([r[i] for r in rows], arrow_type(t)) for i, t in enumerate(types)]
        data = pa.Table.from_arrays(columns, names=names) if names else pa.table({})
        return EngineResult(data=data, types=types, engine_sql=query.sql, stats=stats)

    def explain(self, query: BoundQuery, analyze: bool = False) -> str:
        """Athena's (Trino's) plan, as text: ``EXPLAIN [ANALYZE] <query>`` run like any query."""
        prefix = "EXPLAIN ANALYZE " if analyze else "EXPLAIN "
        explained = BoundQuery(sql=prefix + query.sql, params=query.params, database=query.database,
                               tables=query.tables, query_id=query.query_id)
        result = self._run(explained, write=False)
        return "\n".join(str(v) for column in result.data.columns for v in column.to_pylist())
