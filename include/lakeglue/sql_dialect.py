"""SQL is written once, in the Trino/Athena dialect: the dialect's name and the tables a statement reads.

Turning that SQL into what an engine runs is :func:`lakeglue.sql.translate`'s job alone.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "trino"


def referenced_tables(sql: str) -> list[tuple[str | None, str]]:
    """Catalog tables a query reads (CTE names excluded), in order of first appearance."""
    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    seen: list[tuple[str | None, str]] = []
    for table in tree.find_all(exp.Table):
        if not table.name or (not table.db and table.name in ctes):
            continue
        key = (table.db or None, table.name)
        if key not in seen:
            seen.append(key)
    return seen
