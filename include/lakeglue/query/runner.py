"""Run Athena/Trino-dialect SQL over catalog tables and keep the result, the way Athena does.

One entry point for the CLI, the Airflow operator and tests: bind the statement to the
catalog, hand it to the engine the profile uses (DuckDB embedded, Trino in compose,
Athena in aws), and write rows + metadata under ``results/queries/<query_id>/``. Failed
queries leave a ``metadata.json`` with ``state: FAILED`` and the error, so the query
history (:mod:`lakeglue.query.history`) shows them too. ``CREATE TABLE … AS SELECT`` and
``INSERT INTO`` create or extend catalog tables; their result is one ``rows`` column. Catalog
statements (CREATE DATABASE, SHOW TABLES, DESCRIBE, CREATE VIEW, MSCK REPAIR …, see
:mod:`lakeglue.query.ddl`) run on the catalog itself, on every engine; catalog views are
expanded into subqueries before an engine sees the statement (:mod:`lakeglue.query.views`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlglot import exp

from lakeglue.catalog import Catalog, open_catalog
from lakeglue.query.base import BoundQuery, EngineResult, QueryEngine, QueryError, engine_for_profile, get_engine
from lakeglue.query.binding import bind_tree, is_write, parse_statement, require_query
from lakeglue.query.ddl import parse_ddl
from lakeglue.query.ddl_run import DdlContext, run_ddl
from lakeglue.query.results import OUTPUT_FORMATS, QueryResult, ResultWriter, arrow_rows, write_query_files
from lakeglue.query.text_tables import check_readable
from lakeglue.query.views import expanded
from lakeglue.settings import SQL_DIR, Settings, get_settings
from lakeglue.storage.zones import Lake

OutputFormat = Literal["csv", "parquet"]


def _metadata(query_id: str, sql: str, params: Sequence[Any] | None, database: str | None, engine: str,
              submitted_at: datetime, bound: BoundQuery | None, statement_type: str) -> dict[str, Any]:
    tables = []
    if bound is not None:
        tables = [{"name": t.qualified_name, "version": t.version, "location": t.location}
                  for t in bound.tables.values()]
    return {
        "query_id": query_id,
        "statement_type": statement_type,
        "sql": sql,
        "parameters": list(params or []),
        "engine": engine,
        "database": database,
        "tables": tables,
        "submitted_at": submitted_at.isoformat(),
    }


def _resolve(settings: Settings | None, lake: Lake | None, catalog: Catalog | None) -> tuple[Settings, Lake, Catalog]:
    settings = settings or (lake.settings if lake is not None else get_settings())
    return settings, lake or Lake(settings), catalog or open_catalog(settings)


def statement_type(tree: exp.Expr) -> str:
    if isinstance(tree, exp.Create):
        return "CTAS"
    return "INSERT" if isinstance(tree, exp.Insert) else "SELECT"


def _check_readable(bound: BoundQuery) -> None:
    """Tables the crawler marked unreadable fail here with its reason, before any engine runs (same on every engine)."""
    for table in bound.tables.values():
        check_readable(table)


def _execute(tree: exp.Expr, sql: str, params: Sequence[Any] | None, database: str | None, catalog: Catalog,
             lake: Lake, engine: QueryEngine, query_id: str, bound_out: list[BoundQuery],
             sink: ResultWriter | None = None) -> EngineResult:
    """Bind and run one statement; writes run natively (Athena, Trino) or are materialized by lakeglue.

    The tables the statement reads stay pinned at the versions it was bound to until it ends,
    so retention cannot delete their files mid-query.
    """
    from lakeglue.catalog.pins import pinned

    if not is_write(tree):
        bound = bind_tree(require_query(tree), sql, params, database, catalog, query_id)
        views = expanded(tree, bound.tables, database, catalog)  # catalog views: subqueries for every engine
        if views is not None:
            tree, sql = views
            bound = bind_tree(tree, sql, params, database, catalog, query_id)
        bound_out.append(bound)
        _check_readable(bound)
        with pinned(catalog, lake.settings, f"query/{query_id}", bound.tables.values()):
            if sink is not None and getattr(engine, "streams_results", False):
                return engine.execute(bound, sink=sink)  # type: ignore[call-arg]
            return engine.execute(bound)
    from lakeglue.query.writes import bind_write

    assert isinstance(tree, exp.Create | exp.Insert)
    write, whole, select = bind_write(sql, tree, params, database, catalog, query_id)
    views = expanded(tree, whole.tables, database, catalog)
    if views is not None:
        tree, sql = views
        write, whole, select = bind_write(sql, tree, params, database, catalog, query_id)
    bound_out.append(whole)
    _check_readable(select)
    with pinned(catalog, lake.settings, f"query/{query_id}", whole.tables.values()):
        if engine.native_writes:
            return engine.execute(whole)
        from lakeglue.query.materialize import run_write

        return run_write(write, select, engine, catalog, lake, query_id)


def run_query(sql: str, params: Sequence[Any] | None = None, database: str | None = None,
              output: OutputFormat | None = "csv", catalog: Catalog | None = None, lake: Lake | None = None,
              settings: Settings | None = None, engine: str | None = None,
              engine_options: dict[str, Any] | None = None) -> QueryResult:
    """Run one Trino-dialect statement; ``?`` placeholders are bound to ``params``, never interpolated.

    ``engine`` defaults to the profile's (duckdb / trino / athena). With an ``output`` the rows
    stream to ``results/queries/<query_id>/`` and the returned ``rows`` are only the first
    ``query_preview_rows`` (``row_count`` counts all; ``truncated`` says whether rows were cut),
    so a result larger than memory does not have to fit in the worker. ``output=None`` keeps the
    whole result in memory only (nothing is written to the results zone). Raises
    :class:`QueryError` (with ``query_id``) for bad SQL, unknown tables/columns or engine errors.
    """
    if output is not None and output not in OUTPUT_FORMATS:
        raise QueryError(f"output must be one of {', '.join(OUTPUT_FORMATS)} or None, got {output!r}")
    settings, lake, catalog = _resolve(settings, lake, catalog)
    engine_name = engine or engine_for_profile(settings.profile)
    query_id = str(uuid.uuid4())
    submitted_at = datetime.now(UTC)
    started = time.perf_counter()
    bound: list[BoundQuery] = []
    kind = "SELECT"
    writer = ResultWriter(lake, query_id, output, settings.query_preview_rows) if output is not None else None
    try:
        ddl = parse_ddl(sql)
        if ddl is not None:  # catalog statements (CREATE DATABASE, SHOW TABLES, MSCK …) run on the catalog
            kind = "DDL"
            result = run_ddl(ddl, DdlContext(catalog, lake, database, query_id, lambda: get_engine(
                engine_name, settings, lake, catalog, **(engine_options or {}))), sql, list(params or []))
        else:
            tree = parse_statement(sql)
            kind = statement_type(tree)
            query_engine = get_engine(engine_name, settings, lake, catalog, **(engine_options or {}))
            result = _execute(tree, sql, params, database, catalog, lake, query_engine, query_id, bound, writer)
        if writer is not None and writer.schema is None:  # not streamed by the engine: write its table
            writer.write_table(result.data)
            result.data = writer.preview()
    except BaseException as exc:
        if writer is not None:
            writer.abort()
        if not isinstance(exc, QueryError):
            raise
        exc.query_id = query_id
        if output is not None:
            failed = _metadata(query_id, sql, params, database, engine_name, submitted_at,
                               bound[0] if bound else None, kind)
            failed.update(state="FAILED", error=str(exc), duration_s=round(time.perf_counter() - started, 3))
            write_query_files(lake, query_id, failed)
        raise
    duration_s = round(time.perf_counter() - started, 3)
    rows = arrow_rows(result.data)
    row_count = writer.row_count if writer is not None else len(rows)
    columns = list(result.data.column_names)
    output_location = metadata_location = None
    if writer is not None:
        meta = _metadata(query_id, sql, params, database, engine_name, submitted_at, bound[0] if bound else None,
                         kind)
        meta.update(
            state="SUCCEEDED",
            columns=[{"name": n, "type": t} for n, t in zip(columns, result.types, strict=True)],
            rows=row_count,
            duration_s=duration_s,
            engine_sql=result.engine_sql,
            **result.stats,
        )
        output_location, metadata_location = writer.commit(meta)
    return QueryResult(query_id=query_id, columns=columns, types=result.types, rows=rows, row_count=row_count,
                       output_location=output_location, metadata_location=metadata_location,
                       duration_s=duration_s, engine=engine_name, stats=dict(result.stats))


def resolve_sql_path(path: str | Path) -> Path:
    """A .sql file path; relative paths are looked up under ``include/sql``."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = SQL_DIR / candidate
    if not candidate.is_file():
        raise QueryError(f"SQL file {candidate} not found (relative paths are resolved against {SQL_DIR})")
    return candidate


def run_query_file(path: str | Path, params: Sequence[Any] | None = None, **kwargs: Any) -> QueryResult:
    """:func:`run_query` on the contents of a .sql file (e.g. ``queries/top_categories.sql``)."""
    return run_query(resolve_sql_path(path).read_text(), params, **kwargs)


def explain_query(sql: str, params: Sequence[Any] | None = None, database: str | None = None,
                  analyze: bool = False, catalog: Catalog | None = None, settings: Settings | None = None,
                  engine: str | None = None) -> str:
    """The engine's plan for a query; with ``analyze`` it runs it and shows files scanned per table scan."""
    settings, lake, catalog = _resolve(settings, None, catalog)
    query_engine = get_engine(engine or engine_for_profile(settings.profile), settings, lake, catalog)
    tree = require_query(parse_statement(sql))
    bound = bind_tree(tree, sql, params, database, catalog)
    views = expanded(tree, bound.tables, database, catalog)
    if views is not None:
        bound = bind_tree(views[0], views[1], params, database, catalog)
    return query_engine.explain(bound, analyze=analyze)
