"""Table lineage read from pipeline specs: which job reads which tables and writes which.

The spec already says everything lineage needs — raw folders feed raw tables, bronze tables
feed silver ones, gold SQL names the silver tables it reads — so lineage is derived, never
recorded by hand, and cannot drift from what the jobs do. The same edges serve the table
page of the Data Lake UI and the OpenLineage events of the operators.

Tables are named ``database.table``; raw sources by their URI (the raw folder of a table,
or a JDBC URL and table for ``jdbc`` sources, without the URL's query string, which may hold
credentials).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakeglue.pipelines.spec import PipelineSpec, QualitySpec
from lakeglue.settings import SQL_DIR, Settings, get_settings

#: Kinds of jobs, in pipeline order; a job is ``<pipeline>.<task id>`` (the task ids of the factory).
KINDS = ("crawl", "bronze", "silver", "quality", "gold", "query")
#: Catalog table every quality run appends to (lakeglue.quality.history_table, named here to keep this light).
QUALITY_RESULTS = "lakeglue_quality.results"


class LineageError(ValueError):
    """A spec's SQL cannot be read for lineage; the message names the file."""


@dataclass(frozen=True)
class LineageEdge:
    """One job writing ``outputs`` from ``inputs``; a job writing several tables has one edge per table,
    so silver ``customers`` depends on bronze ``customers`` only, not on every bronze table."""

    job: str
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def raw_source_uri(spec: PipelineSpec, table: str, raw_root: str | None = None) -> str:
    """Where a bronze table's raw data comes from: ``<lake>/raw/<prefix>/<table>`` or its JDBC table."""
    table_spec = spec.bronze[table]
    if table_spec.format == "jdbc":
        url = table_spec.options["url"].split("?", 1)[0].rstrip("/")
        return f"{url}/{table_spec.options['dbtable']}"
    root = raw_root if raw_root is not None else get_settings().zone_root(spec.source.zone)
    if "://" not in root:
        root = "file://" + root  # a local lake root is a plain path
    return "/".join(p.strip("/") if i else p.rstrip("/") for i, p in enumerate((root, spec.source.prefix, table)))


def sql_tables(sql: str, default_database: str | None) -> tuple[list[str], list[str]]:
    """(tables read, tables written) by one Trino-dialect statement; bare names get ``default_database``.

    CTE names are not tables; the target of CREATE TABLE AS / INSERT INTO is an output, not an input.
    sqlglot is imported here, not at module level: DAG files import this module (:func:`task_tables`).
    """
    import sqlglot
    from sqlglot import exp

    from lakeglue.sql_dialect import SOURCE_DIALECT

    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    target: Any = None
    if isinstance(tree, exp.Create | exp.Insert):
        node = tree.this
        target = node.this if isinstance(node, exp.Schema) else node
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}

    def qualified(table: Any) -> str | None:
        database = table.db or default_database
        return f"{database}.{table.name}".lower() if database else None

    reads: list[str] = []
    for table in tree.find_all(exp.Table):
        if table is target or not table.name or (not table.db and table.name in ctes):
            continue
        name = qualified(table)
        if name and name not in reads:
            reads.append(name)
    writes = [n for n in [qualified(target)] if n] if isinstance(target, exp.Table) else []
    return reads, writes


def _sql_file_tables(path: Path, default_database: str | None) -> tuple[list[str], list[str]]:
    import sqlglot

    try:
        return sql_tables(path.read_text(), default_database)
    except OSError as exc:
        raise LineageError(f"cannot read {path} for lineage: {exc}") from exc
    except sqlglot.errors.ParseError as exc:
        raise LineageError(f"{path}: not parseable as Trino SQL for lineage: {exc}") from exc


def _quality_edge(spec: PipelineSpec, item: QualitySpec) -> LineageEdge:
    return LineageEdge(f"{spec.name}.quality", "quality", (f"{spec.database_for(item.layer)}.{item.table}",),
                       (QUALITY_RESULTS,))


def pipeline_edges(spec: PipelineSpec, raw_root: str | None = None, sql_dir: Path = SQL_DIR) -> list[LineageEdge]:
    """Every edge of a pipeline, in pipeline order (crawl, bronze, silver, quality, gold, queries).

    ``raw_root`` is the raw zone's location (default: the profile's lake); gold and query SQL
    files are read from ``sql_dir``. A query reading bare table names resolves them in the gold
    database (the spec's queries run over gold); a SELECT query has no table output (its result
    is a file of the run, see the query operator's XCom).
    """
    edges: list[LineageEdge] = []
    raw_db, bronze_db = spec.database_for("raw"), spec.database_for("bronze")
    silver_db, gold_db = spec.database_for("silver"), spec.database_for("gold")
    for table, table_spec in spec.bronze.items():
        source = raw_source_uri(spec, table, raw_root)
        if table_spec.format == "jdbc":  # read straight from the database: nothing to crawl
            edges.append(LineageEdge(f"{spec.name}.bronze", "bronze", (source,), (f"{bronze_db}.{table}",)))
            continue
        edges.append(LineageEdge(f"{spec.name}.crawl", "crawl", (source,), (f"{raw_db}.{table}",)))
        edges.append(LineageEdge(f"{spec.name}.bronze", "bronze", (f"{raw_db}.{table}",), (f"{bronze_db}.{table}",)))
    edges.sort(key=lambda e: KINDS.index(e.kind))  # stable: crawl edges first, each kind in spec order
    for table, silver in spec.silver.items():
        edges.append(LineageEdge(f"{spec.name}.silver", "silver", (f"{bronze_db}.{silver.from_}",),
                                 (f"{silver_db}.{table}",)))
    edges.extend(_quality_edge(spec, item) for item in spec.quality if item.layer == "silver")
    for table, gold in spec.gold.items():
        reads, _ = _sql_file_tables(sql_dir / gold.sql, silver_db)
        edges.append(LineageEdge(f"{spec.name}.gold", "gold", tuple(reads), (f"{gold_db}.{table}",)))
    edges.extend(_quality_edge(spec, item) for item in spec.quality if item.layer == "gold")
    for query in spec.queries:
        reads, writes = _sql_file_tables(sql_dir / query.sql, gold_db)
        edges.append(LineageEdge(f"{spec.name}.query_{query.name}", "query", tuple(reads), tuple(writes)))
    return edges


def task_tables(spec: PipelineSpec, kind: str) -> list[str]:
    """Tables a pipeline task writes (for ``quality``: checks), from the spec alone — no file is read,
    so DAG parsing can call it (the task links to each table's page)."""
    bronze_files = [t for t, ts in spec.bronze.items() if ts.format != "jdbc"]
    by_kind: dict[str, list[str]] = {
        "crawl": [f"{spec.database_for('raw')}.{t}" for t in bronze_files],
        "bronze": [f"{spec.database_for('bronze')}.{t}" for t in spec.bronze],
        "silver": [f"{spec.database_for('silver')}.{t}" for t in spec.silver],
        "quality": [f"{spec.database_for(q.layer)}.{q.table}" for q in spec.quality],
        "gold": [f"{spec.database_for('gold')}.{t}" for t in spec.gold],
    }
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}; kinds are {KINDS}")
    return by_kind.get(kind, [])


def job_edges(edges: Iterable[LineageEdge], job: str) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of one job over all its edges, each name once, in edge order."""
    inputs: list[str] = []
    outputs: list[str] = []
    for edge in edges:
        if edge.job == job:
            inputs.extend(n for n in edge.inputs if n not in inputs)
            outputs.extend(n for n in edge.outputs if n not in outputs)
    return inputs, outputs


def table_lineage(specs: Iterable[PipelineSpec], qualified_name: str, depth: int | None = None,
                  raw_root: str | None = None, sql_dir: Path = SQL_DIR) -> tuple[list[str], list[str]]:
    """(upstream, downstream) of ``database.table`` across all pipelines, nearest first.

    Transitive by default (a gold table's upstream reaches its raw folders); ``depth=1`` gives
    only the direct neighbours. Quality's results table is not anyone's downstream here: it is
    a log every checked table appends to, not data derived from them. The table itself is
    never in either list, even when a cycle would lead back to it.
    """
    edges = [e for spec in specs for e in pipeline_edges(spec, raw_root, sql_dir) if e.kind != "quality"]
    name = qualified_name.lower()
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for edge in edges:
        for output in edge.outputs:
            for source in edge.inputs:
                parents.setdefault(output.lower(), []).append(source)
                children.setdefault(source.lower(), []).append(output)
    return _walk(parents, name, depth), _walk(children, name, depth)


def _walk(graph: dict[str, list[str]], start: str, depth: int | None) -> list[str]:
    """Breadth-first: the names reachable from ``start``, nearest first, each once."""
    found: list[str] = []
    seen = {start}
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    while queue:
        node, distance = queue.popleft()
        if depth is not None and distance >= depth:
            continue
        for nxt in graph.get(node, []):
            if nxt.lower() not in seen:
                seen.add(nxt.lower())
                found.append(nxt)
                queue.append((nxt.lower(), distance + 1))
    return found


def catalog_namespace(settings: Settings) -> str:
    """OpenLineage namespace of the catalog's tables: ``lakeglue+<lake root URI>``.

    Table names (``database.table``) are only unique within one lake, so the namespace names the
    lake; two profiles pointing at the same lake root share their tables' identities.
    """
    root = settings.lake_root.rstrip("/")
    return "lakeglue+" + (root if "://" in root else "file://" + root)


def dataset_identity(name: str, settings: Settings) -> tuple[str, str]:
    """(namespace, name) of a lineage name in OpenLineage's naming: a catalog table in the lake's
    namespace; a URI split into its scheme + authority and its path (``s3://bucket`` + ``key``,
    ``file`` + ``/path``, ``postgresql://host:5432`` + ``db/schema.table``)."""
    uri = name.removeprefix("jdbc:")
    if "://" not in uri:
        return catalog_namespace(settings), name
    scheme, rest = uri.split("://", 1)
    if scheme == "file":
        return "file", "/" + rest.lstrip("/")
    authority, _, path = rest.partition("/")
    return f"{scheme}://{authority}", path
