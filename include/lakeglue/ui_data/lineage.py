"""Upstream and downstream tables of a catalog table, from the pipeline specs.

A spec already says every edge: raw table → bronze table of the same name, bronze ``from`` →
silver, the tables a gold or query SQL file reads → its output. Reading the specs (not run
history) shows lineage before anything ran, and a table no spec names has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from lakeglue.pipelines.spec import PipelineSpec
from lakeglue.settings import SQL_DIR


@dataclass(frozen=True)
class Edge:
    """``inputs`` → ``outputs`` through ``job`` (``bronze``, ``silver``, ``gold``, ``query``)."""

    job: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def sql_tables(sql: str, default_database: str) -> tuple[str, ...]:
    """Qualified tables a SQL statement reads (CTE names are not tables)."""
    tree = sqlglot.parse_one(sql, read="trino")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = set()
    for table in tree.find_all(exp.Table):
        if not table.db and table.name in ctes:
            continue
        names.add(f"{table.db or default_database}.{table.name}")
    return tuple(sorted(names))


def pipeline_edges(spec: PipelineSpec) -> list[Edge]:
    raw, bronze = spec.database_for("raw"), spec.database_for("bronze")
    silver, gold = spec.database_for("silver"), spec.database_for("gold")
    edges = [Edge("bronze", (f"{raw}.{name}",), (f"{bronze}.{name}",)) for name in spec.bronze]
    edges += [Edge("silver", (f"{bronze}.{table.from_}",), (f"{silver}.{name}",))
              for name, table in spec.silver.items()]
    for name, table in spec.gold.items():
        path = SQL_DIR / table.sql
        inputs = sql_tables(path.read_text(), gold) if path.is_file() else ()
        edges.append(Edge("gold", inputs, (f"{gold}.{name}",)))
    for query in spec.queries:
        path = SQL_DIR / query.sql
        inputs = sql_tables(path.read_text(), gold) if path.is_file() else ()
        edges.append(Edge("query", inputs, (f"query:{query.name}",)))
    return edges


def table_lineage(specs: Iterable[PipelineSpec], qualified: str) -> tuple[list[str], list[str]]:
    """(upstream, downstream) of ``db.table``: the tables one edge away, sorted."""
    up: set[str] = set()
    down: set[str] = set()
    for spec in specs:
        for edge in pipeline_edges(spec):
            if qualified in edge.outputs:
                up.update(edge.inputs)
            if qualified in edge.inputs:
                down.update(edge.outputs)
    return sorted(up), sorted(down)
