"""SQL over the lake: Athena/Trino-dialect queries on catalog tables, results kept in the results zone.

``run_query`` / ``run_query_file`` are the entry points; engines (DuckDB embedded today,
Trino and Athena next) plug in through :mod:`lakeglue.query.base`.
"""

from lakeglue.query.base import ENGINES, BoundQuery, EngineResult, QueryEngine, QueryError, get_engine
from lakeglue.query.results import QueryResult
from lakeglue.query.runner import explain_query, run_query, run_query_file

__all__ = [
    "ENGINES", "BoundQuery", "EngineResult", "QueryEngine", "QueryError", "QueryResult", "explain_query",
    "get_engine", "run_query", "run_query_file",
]
