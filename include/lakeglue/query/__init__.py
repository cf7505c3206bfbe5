"""SQL over the lake: Athena/Trino-dialect statements on catalog tables, results kept in the results zone.

``run_query`` / ``run_query_file`` are the entry points; the engine follows the profile
(DuckDB embedded, Trino in compose, Athena in aws) and plugs in through
:mod:`lakeglue.query.base`. ``CREATE TABLE … AS SELECT`` and ``INSERT INTO`` create or extend
catalog tables; ``list_queries`` is the query history.
"""

from lakeglue.query.base import (
    ENGINES,
    BoundQuery,
    EngineResult,
    QueryEngine,
    QueryError,
    engine_for_profile,
    get_engine,
)
from lakeglue.query.history import QueryRecord, history_table, list_queries
from lakeglue.query.results import QueryResult
from lakeglue.query.runner import explain_query, resolve_sql_path, run_query, run_query_file

__all__ = [
    "ENGINES", "BoundQuery", "EngineResult", "QueryEngine", "QueryError", "QueryRecord", "QueryResult",
    "engine_for_profile", "explain_query", "get_engine", "history_table", "list_queries", "resolve_sql_path",
    "run_query", "run_query_file",
]
