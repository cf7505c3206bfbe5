"""SQL is written once, in the Trino/Athena dialect; this turns it into what an engine runs.

sqlglot does the dialect work; lakeglue only adds the rewrite of catalog table names
(``db.table``) into the relation an engine registered for them (a DuckDB view, a Spark
temp view), so the same SQL file runs on DuckDB, Spark SQL, Trino and Athena.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "trino"

#: Maps (database or None, table) to the identifier the target engine knows the table by.
RelationResolver = Callable[[str | None, str], str]


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


def transpile(sql: str, engine: str, resolve: RelationResolver | None = None) -> str:
    """Trino SQL → ``engine`` SQL, with catalog tables renamed by ``resolve``."""
    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    if resolve is not None:
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}

        def rename(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and node.name and not (not node.db and node.name in ctes):
                new = exp.to_table(resolve(node.db or None, node.name))
                alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
                new.set("alias", alias)
                return new
            return node

        tree = tree.transform(rename)
    return tree.sql(dialect=engine)


def transpile_expression(expression: str, engine: str) -> str:
    """One scalar expression (a silver column's ``expr``) from Trino to ``engine``."""
    return sqlglot.parse_one(expression, read=SOURCE_DIALECT).sql(dialect=engine)
