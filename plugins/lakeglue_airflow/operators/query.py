"""Airflow task that runs an Athena/Trino-dialect statement over the catalog and keeps the result in the lake.

A thin wrapper over :func:`lakeglue.query.run_query`: lakeglue (and with it DuckDB, pyarrow,
sqlglot, boto3) is imported inside ``execute`` so parsing a DAG that uses this operator
stays cheap. The rows stream to ``results/queries/<query_id>/`` (the worker holds only a
preview of ``query_preview_rows`` rows); XCom only carries where they are, how many there are
and a 20-row text preview.

The engine follows the profile. In **aws** it is Athena, reached through the Amazon
provider's ``AthenaHook``: the hook's client (Airflow connection, credentials, region)
sends the StartQueryExecution request and ``on_kill`` stops the query with
``AthenaHook.stop_query``. lakeglue builds the request itself because
``AthenaHook.run_query``/``AthenaOperator`` (provider 9.39) cannot pass
``ExecutionParameters``, and parameters must never be pasted into SQL. In **compose** it
is Trino through lakeglue's own engine (the ``trino`` client): the Trino provider is not
part of the pinned stack, and the common-sql ``SQLExecuteQueryOperator`` would bypass the
catalog checks, the results zone and the query history.

SQL templating: ``sql`` may be a ``.sql`` file (``template_ext``) found on the DAG's
``template_searchpath``, its folder, or ``include/sql``. Jinja in SQL may only produce
identifiers (``{{ params.table }}``), which the catalog check then validates; values go in
``parameters`` and are bound by the engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from lakeglue_airflow.links import QueryResultLink, RunReportLink

if TYPE_CHECKING:
    import jinja2
    from airflow.providers.openlineage.extractors import OperatorLineage

#: What a ``{{ … }}`` in SQL may render to: an identifier, optionally qualified (``db.table``).
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")


class SqlTemplateError(ValueError):
    """A Jinja expression in SQL rendered something other than an identifier."""


def identifier_only(value: Any) -> str:
    """Jinja ``finalize`` for SQL: every ``{{ }}`` output must be an identifier, never a value or SQL."""
    text = "" if value is None else str(value)
    if not IDENTIFIER.fullmatch(text):
        raise SqlTemplateError(
            f"a Jinja expression in the SQL rendered {text!r}; in SQL, templates may only produce identifiers "
            "(database, table or column names, checked against the catalog). Pass values as parameters=[…] "
            "with ? placeholders: they are bound by the engine, never pasted into the SQL")
    return text


def sql_template_env(env: jinja2.Environment, identifiers_only: bool = False) -> jinja2.Environment:
    """``env`` that also finds .sql files under ``include/sql`` (after the DAG's own search path)."""
    import jinja2

    from lakeglue.settings import SQL_DIR

    sql_loader = jinja2.FileSystemLoader(str(SQL_DIR))
    loader = jinja2.ChoiceLoader([env.loader, sql_loader]) if env.loader is not None else sql_loader
    if identifiers_only:
        return env.overlay(loader=loader, finalize=identifier_only)
    return env.overlay(loader=loader)


class LakeQueryOperator(BaseOperator):
    """Run one statement; return ``{query_id, output_location, row_count, columns, …}`` and push
    ``output_location`` and ``row_count`` as their own XCom keys.

    :param sql: the SQL text, or a ``.sql`` file (``queries/top_categories.sql``) on the DAG's
        template search path or under ``include/sql``. SELECT, CTAS or INSERT INTO.
    :param parameters: values for the statement's positional ``?`` placeholders (templated, so
        ``["{{ ds }}"]`` works); they are bound by the engine, never pasted into the SQL.
    :param database: default database for bare table names (templated).
    :param output: ``csv`` (default) or ``parquet`` (a ``result.csv`` is always written too).
    :param engine: override the profile's engine (``duckdb`` / ``trino`` / ``athena``).
    :param aws_conn_id: Airflow connection of the ``AthenaHook`` (aws profile).
    :param workgroup: Athena workgroup; :param output_location: Athena's S3 result location.

    A query error (bad SQL, unknown table) fails the task without retries: rerunning the
    same SQL against the same catalog fails the same way.
    """

    template_fields: Sequence[str] = ("sql", "parameters", "database")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql"}
    ui_color = "#c9e7d3"
    operator_extra_links = (RunReportLink(), QueryResultLink())

    def __init__(self, *, sql: str, parameters: list[Any] | None = None, database: str | None = None,
                 output: str = "csv", engine: str | None = None, aws_conn_id: str | None = "aws_default",
                 workgroup: str | None = None, output_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.parameters = parameters
        self.database = database
        # stored under another name: BaseOperator.output is the task's XComArg
        self.output_format = output
        self.engine = engine
        self.aws_conn_id = aws_conn_id
        self.workgroup = workgroup
        self.athena_output_location = output_location
        self.athena_execution_id: str | None = None
        #: Where this run's result went (set by ``execute``; an output dataset of its lineage).
        self.result_location: str | None = None

    def get_template_env(self, dag: Any = None) -> jinja2.Environment:
        return sql_template_env(super().get_template_env(dag=dag))

    def render_template_fields(self, context: Any, jinja_env: jinja2.Environment | None = None) -> None:
        """Render values as usual, but ``sql`` with a Jinja env whose expressions may only yield identifiers."""
        env = jinja_env or self.get_template_env()
        others = [f for f in self.template_fields if f != "sql"]
        self._do_render_template_fields(self, others, context, env, set())
        self._do_render_template_fields(self, ["sql"], context, sql_template_env(env, identifiers_only=True), set())

    def _athena_hook(self) -> Any:
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        from lakeglue.settings import get_settings

        return AthenaHook(aws_conn_id=self.aws_conn_id, region_name=get_settings().aws_region)

    def _remember_athena_query(self, execution_id: str) -> None:
        self.athena_execution_id = execution_id
        self.log.info("athena query execution id: %s", execution_id)

    def engine_options(self, engine: str) -> dict[str, Any]:
        """Athena gets the provider hook's client; the other engines need nothing from Airflow."""
        if engine != "athena":
            return {}
        options: dict[str, Any] = {"client": self._athena_hook().get_conn(), "on_submit": self._remember_athena_query}
        if self.workgroup:
            options["workgroup"] = self.workgroup
        if self.athena_output_location:
            options["output_location"] = self.athena_output_location
        return options

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from lakeglue.query import QueryError, engine_for_profile, run_query, run_query_file
        from lakeglue.settings import get_settings

        engine = self.engine or engine_for_profile(get_settings().profile)
        kwargs: dict[str, Any] = {"database": self.database, "output": self.output_format, "engine": engine,
                                  "engine_options": self.engine_options(engine)}
        sql = self.sql.strip()
        try:
            if sql.endswith(".sql") and "\n" not in sql:  # not rendered (execute called directly)
                self.log.info("running query file %s on %s", sql, engine)
                result = run_query_file(sql, self.parameters, **kwargs)
            else:
                self.log.info("running on %s:\n%s", engine, sql)
                result = run_query(sql, self.parameters, **kwargs)
        except QueryError as exc:
            raise AirflowFailException(f"query {exc.query_id or ''} failed: {exc}") from exc
        self.log.info("query %s: %d rows in %.2f s → %s\n%s", result.query_id, result.row_count,
                      result.duration_s, result.output_location, result.to_table_text(20))
        for notice in result.notices():  # raw-table values that read as NULL (also in the returned summary)
            self.log.warning("query %s: %s", result.query_id, notice)
        self.result_location = result.output_location
        ti = context.get("ti") if hasattr(context, "get") else None
        if ti is not None:
            ti.xcom_push(key="output_location", value=result.output_location)
            ti.xcom_push(key="row_count", value=result.row_count)
        return result.to_dict()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """Tables the statement reads; the table it writes (CTAS, INSERT) and the result files it left."""
        from lakeglue.lineage import sql_tables
        from lakeglue.settings import SQL_DIR
        from lakeglue_airflow.lineage_facets import operator_lineage

        sql = self.sql.strip()
        if sql.endswith(".sql") and "\n" not in sql:  # not rendered (execute called directly)
            sql = (SQL_DIR / sql).read_text()
        reads, writes = sql_tables(sql, self.database)
        location = self.result_location
        files = [location if "://" in location else "file://" + location] if location else []
        return operator_lineage(reads, [*writes, *files])

    def on_kill(self) -> None:
        """Stop the Athena query this task started; DuckDB runs in-process and ends with the task."""
        if self.athena_execution_id:
            self.log.info("stopping athena query %s", self.athena_execution_id)
            self._athena_hook().stop_query(self.athena_execution_id)
