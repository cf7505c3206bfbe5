"""Airflow task that runs an Athena/Trino-dialect query over the catalog and keeps the result in the lake.

A thin wrapper over :func:`lakeglue.query.run_query`: lakeglue (and with it DuckDB, pyarrow,
sqlglot) is imported inside ``execute`` so parsing a DAG that uses this operator stays cheap.
The rows stay in ``results/queries/<query_id>/``; XCom only carries where they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator


class LakeQueryOperator(BaseOperator):
    """Run one query and return ``{query_id, output_location, row_count, columns, …}`` as XCom.

    :param sql: the SQL text, or a path ending in ``.sql`` relative to ``include/sql``
        (``queries/top_categories.sql``).
    :param parameters: values for the query's positional ``?`` placeholders (templated, so
        ``["{{ ds }}"]`` works); they are bound by the engine, never pasted into the SQL.
    :param database: default database for bare table names.
    :param output: ``csv`` (default) or ``parquet`` (a ``result.csv`` is always written too).

    A query error (bad SQL, unknown table) fails the task without retries: rerunning the
    same SQL against the same catalog fails the same way.
    """

    template_fields: Sequence[str] = ("sql", "parameters")
    ui_color = "#c9e7d3"

    def __init__(self, *, sql: str, parameters: list[Any] | None = None, database: str | None = None,
                 output: str = "csv", engine: str = "duckdb", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.parameters = parameters
        self.database = database
        # stored under another name: BaseOperator.output is the task's XComArg
        self.output_format = output
        self.engine = engine

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from lakeglue.query import QueryError, run_query, run_query_file

        kwargs: dict[str, Any] = {"database": self.database, "output": self.output_format, "engine": self.engine}
        sql = self.sql.strip()
        try:
            if sql.endswith(".sql") and "\n" not in sql:
                self.log.info("running query file %s", sql)
                result = run_query_file(sql, self.parameters, **kwargs)
            else:
                self.log.info("running query:\n%s", sql)
                result = run_query(sql, self.parameters, **kwargs)
        except QueryError as exc:
            raise AirflowFailException(f"query {exc.query_id or ''} failed: {exc}") from exc
        self.log.info("query %s: %d rows in %.2f s → %s\n%s", result.query_id, result.row_count,
                      result.duration_s, result.output_location, result.to_table_text(20))
        return result.to_dict()
