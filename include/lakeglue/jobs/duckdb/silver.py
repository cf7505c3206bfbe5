"""Silver on DuckDB: typed, trimmed, deduplicated tables built from bronze by the spec's declarations.

Exactly the rules of ``jobs.spark.silver``: each column is ``try_cast(<expr> AS <type>)``
with ``expr`` written in Trino SQL (translated by :func:`lakeglue.sql.translate_expression`) and Spark's cast semantics
(:mod:`lakeglue.jobs.duckdb.casts`); choice columns resolve by their ``resolve`` rule; a
value present but not castable, or a NULL business key, sends the row to quarantine naming
the column and value; dedupe keeps the latest row per key by the ordering columns, then
``_ingested_at``, ``_source_file`` and ``_line`` (all descending), so both engines pick the
same row; an exploded array is numbered from 1 after its parent record was deduplicated.

Silver is bookmarked on bronze (the batches it has absorbed, shared with the Spark engine):
with no new batch it is skipped; a partitioned table only recomputes the partitions the new
batches touch — from every bronze batch — and carries the others into the new version as
the same files (copy-on-write), then swaps the catalog.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeglue import records
from lakeglue.catalog.model import Table
from lakeglue.jobs.commit import partition_path, plan_table_version, register_table
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.custom_steps import check_partitions_kept, resolve_all
from lakeglue.jobs.duckdb import steps
from lakeglue.jobs.duckdb.casts import text_of, try_cast
from lakeglue.jobs.duckdb.catalog_io import data_files, parquet_scan, read_table
from lakeglue.jobs.duckdb.choices import variant_expr
from lakeglue.jobs.duckdb.types import parse_hive_type, quote_ident, quote_literal, values_sql
from lakeglue.jobs.duckdb.writer import spark_json, write_parquet, write_records
from lakeglue.jobs.faults import fault_point
from lakeglue.jobs.locks import holds_writer_locks
from lakeglue.jobs.metrics import JobMetrics, TableMetrics
from lakeglue.jobs.plans import plan_silver
from lakeglue.jobs.quarantine import quarantine_dir, replace_quarantine
from lakeglue.pipelines.spec import ColumnSpec, SilverTableSpec
from lakeglue.records import SilverAccount
from lakeglue.sql import translate_expression

if TYPE_CHECKING:
    import duckdb

#: Bronze lineage carried into silver so every row can be traced to its file.
CARRIED_LINEAGE = ("_source_file", "_batch_id")
BRONZE_INTERNAL = ("_source_file", "_line", "_ingested_at", "_batch_id")
_SOURCE = "__lg_silver_source"
_STAGED = "__lg_silver_staged"
_WINNERS = "__lg_silver_winners"
_PARENT_WINNERS = "__lg_silver_parent_winners"
#: What names one bronze row of a text source (a file's line is read once per batch).
_IDENTITY = ("_batch_id", "_source_file", "_line")
#: The lineage columns that break ties in the dedupe order (see :func:`_latest_first`).
_ORDER_TAIL = ("_ingested_at", "_source_file", "_line")


@holds_writer_locks("silver")
def run_silver(con: duckdb.DuckDBPyConnection, ctx: JobContext) -> JobMetrics:
    started = time.monotonic()
    metrics = JobMetrics("silver", ctx.spec.name, ctx.batch_id)
    resolve_all(ctx.spec, "duckdb")  # custom steps: every one has a DuckDB function that imports, before any write
    for table, table_spec in ctx.spec.silver.items():
        metrics.tables.append(_silver_table(con, ctx, table, table_spec))
    metrics.duration_s = round(time.monotonic() - started, 3)
    return metrics


@dataclass(frozen=True)
class OutputColumn:
    """One silver output column: its typed value, the raw value it came from, and whether a
    present-but-uncastable raw value sends the row to quarantine."""

    name: str
    typed: str
    raw: str
    raw_type: str
    type_label: str
    checked: bool = True

    def problem(self, typed_ref: str) -> str:
        before, after = records.invalid_value_parts(self.name, self.type_label)
        return (f"CASE WHEN ({self.raw}) IS NOT NULL AND {typed_ref} IS NULL THEN "
                f"{quote_literal(before)} || {text_of(self.raw, self.raw_type)} || {quote_literal(after)} END")


class _Sources:
    """Untyped SQL of declared columns over a relation, and the DuckDB types of those expressions.

    With ``columns_ready`` the untyped values are read from ``__r_<name>`` columns a caller
    projected once (:meth:`projection`), so each expression is evaluated once per row.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, relation: str, ts: SilverTableSpec, columns: dict[str, str],
                 only: list[str] | None = None) -> None:
        self.ts, self.columns = ts, columns
        self.sql: dict[str, str] = {}
        self.columns_ready = False
        for name in only if only is not None else [n for n, c in ts.columns.items() if not c.resolve]:
            spec = ts.columns[name]
            if spec.expr:
                self.sql[name] = f"({translate_expression(spec.expr, 'duckdb', columns)})"
            elif name in columns:
                self.sql[name] = quote_ident(name)
            else:  # declared but not (yet) in bronze: schema drift, NULL until it appears
                self.sql[name] = "NULL"
        self.types: dict[str, str] = {}
        if self.sql:
            rel = con.sql(f"SELECT {', '.join(f'{v} AS {quote_ident(k)}' for k, v in self.sql.items())} "
                          f"FROM {relation}")
            self.types = {k: str(t) for k, t in zip(rel.columns, rel.types, strict=True)}

    def projection(self) -> str:
        return ", ".join(f"{v} AS {quote_ident('__r_' + k)}" for k, v in self.sql.items())

    def raw(self, name: str) -> str:
        return quote_ident(f"__r_{name}") if self.columns_ready else self.sql[name]

    def typed(self, name: str) -> str:
        return try_cast(self.raw(name), self.types[name], self.ts.columns[name].type)

    def plan(self, name: str, spec: ColumnSpec, variants: list[str]) -> list[OutputColumn]:
        """How a declared column is computed; choice columns expand per their ``resolve`` rule."""
        if not spec.resolve:
            return [OutputColumn(name, self.typed(name), self.raw(name), self.types[name], spec.type)]
        present = name in self.columns

        def variant(v: str) -> str:
            return variant_expr(name, v, present)

        duck = {v: parse_hive_type(v).to_duckdb() for v in variants}
        if spec.resolve == "cast":
            typed = "coalesce(" + ", ".join(try_cast(variant(v), duck[v], spec.type) for v in variants) + ")"
            raw = "coalesce(" + ", ".join(text_of(variant(v), duck[v]) for v in variants) + ")"
            return [OutputColumn(name, typed, raw, "VARCHAR", spec.type)]
        if spec.resolve == "project":
            if spec.type not in variants:
                raise ValueError(f"column {name}: resolve project:{spec.type} but the choice types are {variants}")
            return [OutputColumn(name, variant(spec.type), variant(spec.type), duck[spec.type], spec.type,
                                 checked=False)]
        if spec.resolve == "make_cols":
            return [OutputColumn(f"{name}_{v}", variant(v), variant(v), duck[v], v, checked=False) for v in variants]
        struct = "struct_pack(" + ", ".join(f"{quote_ident(v)} := {variant(v)}" for v in variants) + ")"
        return [OutputColumn(name, struct, struct, "STRUCT", "struct", checked=False)]


def _latest_first(order_by: list[str]) -> str:
    return ", ".join([*(f"{quote_ident(c)} DESC NULLS LAST" for c in order_by), "_ingested_at DESC NULLS LAST",
                      "_source_file DESC NULLS LAST", "_line DESC NULLS LAST"])


def _explode(con: duckdb.DuckDBPyConnection, ts: SilverTableSpec, relation: str, columns: dict[str, str]) -> str:
    """Dedupe the parent records (a re-sent order replaces all its lines), then explode with 1-based positions."""
    assert ts.explode is not None
    parent_key = [k for k in ts.key if k != ts.explode.position]
    sources = _Sources(con, relation, ts, columns, only=list(dict.fromkeys([*ts.order_by, *parent_key])))
    order = [f"__order_{c}" for c in ts.order_by]
    window = (f"PARTITION BY {', '.join(quote_ident(f'__key_{k}') for k in parent_key)} "
              f"ORDER BY {_latest_first(order)}")
    helpers = [*(f"{sources.typed(c)} AS {quote_ident(f'__order_{c}')}" for c in ts.order_by),
               *(f"{sources.typed(k)} AS {quote_ident(f'__key_{k}')}" for k in parent_key)]
    kept = ", ".join(quote_ident(n) for n in columns)
    column, alias, position = ts.explode.column, ts.explode.alias, ts.explode.position
    if _lines_identify_rows(con, relation, columns):
        # The winners are picked over the key, ordering and lineage columns only (a narrow sort), then
        # the wide parent rows (their arrays included) are taken by their lineage in one streaming
        # semi join, instead of sorting every wide row: less CPU, and the rows are never all held.
        # When the exploded keys are unique by construction, the account counts the distinct keys of
        # what was staged, so a parent taken twice cannot pass unseen: the winners then keep a hash of
        # (batch, file) beside the line instead of the file's URI (a few bytes a row instead of ~100).
        identity = (["hash({r}_batch_id, {r}_source_file)", "{r}_line"] if _keys_unique_after_explode(ts)
                    else ["{r}_batch_id", "{r}_source_file", "{r}_line"])
        ids = [f"__id{i}" for i in range(len(identity))]
        named = ", ".join(f"{expr.format(r='')} AS {i}" for expr, i in zip(identity, ids, strict=True))
        tail = "".join(f", {c}" for c in _ORDER_TAIL if c not in _IDENTITY)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {_PARENT_WINNERS} AS
            SELECT {', '.join(ids)} FROM (
                SELECT {named}, {', '.join(helpers)}, {', '.join(_IDENTITY)}{tail} FROM {relation})
            QUALIFY row_number() OVER ({window}) = 1""")
        matches = " AND ".join(f"{expr.format(r='r.')} = w.{i}" for expr, i in zip(identity, ids, strict=True))
        con.execute(f"""CREATE OR REPLACE TEMP VIEW __lg_silver_parents AS
            SELECT {', '.join(f'r.{quote_ident(n)}' for n in columns)} FROM {relation} AS r
            SEMI JOIN {_PARENT_WINNERS} AS w ON {matches}""")
    else:
        con.execute(f"""CREATE OR REPLACE TEMP VIEW __lg_silver_parents AS
            SELECT {kept} FROM (
                SELECT *, row_number() OVER ({window}) AS __rn FROM (SELECT *, {', '.join(helpers)} FROM {relation}))
            WHERE __rn = 1""")
    # Each element paired with its 1-based position inside one list, so the pairing cannot drift
    # (and a NULL or empty list gives no rows, as Spark's posexplode).
    con.execute(f"""CREATE OR REPLACE TEMP VIEW __lg_silver_exploded AS
        SELECT * EXCLUDE (__u), __u.__element AS {quote_ident(alias)},
               CAST(__u.__pos AS INTEGER) AS {quote_ident(position)}
        FROM (SELECT *, unnest(list_transform({quote_ident(column)},
                                              (__x, __i) -> {{'__element': __x, '__pos': __i}})) AS __u
              FROM __lg_silver_parents)""")
    return "__lg_silver_exploded"


def _lines_identify_rows(con: duckdb.DuckDBPyConnection, relation: str, columns: dict[str, str]) -> bool:
    """Whether every bronze row is named by its batch, file and line (rows read from text files are;
    rows of a Parquet or JDBC source have no line): then a parent is picked by that identity."""
    if not all(c in columns for c in _IDENTITY):
        return False
    row = con.execute(f"SELECT count(*) FROM {relation} WHERE "
                      + " OR ".join(f"{c} IS NULL" for c in _IDENTITY)).fetchone()
    return row is not None and int(row[0]) == 0


def _keys_unique_after_explode(ts: SilverTableSpec) -> bool:
    """Parent records are already one per parent key, so (parent key, position) cannot repeat: the
    final dedupe would keep every row, and is skipped (the same result, without a sort)."""
    if ts.explode is None:
        return False
    parent_key = [k for k in ts.key if k != ts.explode.position]
    return ts.explode.position in ts.key and bool(parent_key) and all(
        not ts.columns[k].expr and not ts.columns[k].resolve for k in ts.key)


def _relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rel = con.sql(f"SELECT * FROM {relation}")
    return {n: str(t) for n, t in zip(rel.columns, rel.types, strict=True)}


def _affected_partitions(con: duckdb.DuckDBPyConnection, ts: SilverTableSpec, sources: _Sources,
                         new_batches: set[str]) -> list[tuple[Any, ...]]:
    """Typed partition values the new bronze batches bring (NULL when a value is unusable)."""
    batches = ", ".join(quote_literal(b) for b in sorted(new_batches))
    typed = ", ".join(sources.typed(p) for p in ts.partition_by)
    return [tuple(r) for r in con.execute(f"SELECT DISTINCT {typed} FROM {_SOURCE} WHERE _batch_id IN ({batches})"
                                          ).fetchall()]


def _restrict_to(con: duckdb.DuckDBPyConnection, ts: SilverTableSpec, sources: _Sources,
                 affected: list[tuple[Any, ...]], new_batches: set[str]) -> None:
    """Keep the bronze rows of the affected partitions, and every row of the new batches."""
    keys = [f"__p{i}" for i in range(len(ts.partition_by))]
    con.execute(f"CREATE OR REPLACE TEMP TABLE __lg_silver_affected ({', '.join(f'{k} VARCHAR' for k in keys)})")
    if affected:
        rows = [[None if v is None else str(v) for v in values] for values in affected]
        con.execute(f"INSERT INTO __lg_silver_affected {values_sql(rows, ['VARCHAR'] * len(keys))}")
    matches = " AND ".join(
        f"({sources.typed(p)}) IS NOT DISTINCT FROM CAST(a.{k} AS {parse_hive_type(ts.columns[p].type).to_duckdb()})"
        for p, k in zip(ts.partition_by, keys, strict=True))
    batches = ", ".join(quote_literal(b) for b in sorted(new_batches))
    con.execute(f"""CREATE OR REPLACE TEMP VIEW __lg_silver_restricted AS
        SELECT * FROM {_SOURCE} WHERE _batch_id IN ({batches})
           OR EXISTS (SELECT 1 FROM __lg_silver_affected AS a WHERE {matches})""")


def _silver_table(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str, ts: SilverTableSpec) -> TableMetrics:
    silver_db, bronze_db = ctx.spec.database_for("silver"), ctx.spec.database_for("bronze")
    result = TableMetrics(table=f"{silver_db}.{table}")
    work = plan_silver(ctx, table, ts.from_, result)
    if work is None:
        return result
    current = work.current
    live_batches, new_batches = work.live_batches, work.new_batches
    bronze = read_table(con, ctx.catalog, ctx.lake, bronze_db, ts.from_)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_SOURCE} AS {bronze.sql}")
    relation, columns = _SOURCE, dict(bronze.columns)
    # Incremental (dynamic partition overwrite): only partitions the new batches touch are recomputed,
    # from every bronze batch; the others are carried over. Assumes a key never moves between partitions.
    affected: list[tuple[Any, ...]] | None = None
    if current is not None and ts.partition_by and not ctx.full_refresh and new_batches != live_batches:
        partition_sources = _Sources(con, _SOURCE, ts, columns, only=list(ts.partition_by))
        affected = _affected_partitions(con, ts, partition_sources, new_batches)
        _restrict_to(con, ts, partition_sources, affected, new_batches)
        relation = "__lg_silver_restricted"
    parent_elements: tuple[int, int] | None = None
    if ts.explode:
        parent_elements = _elements(con, relation, ts.explode.column, new_batches)
        relation = _explode(con, ts, relation, columns)
        columns = _relation_columns(con, relation)

    sources = _Sources(con, relation, ts, columns)
    sources.columns_ready = True
    choices = ctx.spec.bronze[ts.from_].choices
    outputs = [out for n, spec in ts.columns.items() for out in sources.plan(n, spec, choices.get(n, []))]
    typed_ref = {out.name: quote_ident(f"__t{i}") for i, out in enumerate(outputs)}
    skip = {ts.explode.column, ts.explode.alias} if ts.explode else set()
    extra = [c for c in columns if ts.keep_new_columns and c not in ts.columns and not c.startswith("_")
             and c not in skip]
    problems = [out.problem(typed_ref[out.name]) for out in outputs if out.checked]
    problems += [f"CASE WHEN {typed_ref[k]} IS NULL THEN {quote_literal(records.null_key(k))} END"
                 for k in ts.key]
    partition = ("struct_pack(" + ", ".join(f"{quote_ident(p)} := {typed_ref[p]}" for p in ts.partition_by) + ")"
                 if ts.partition_by else "NULL")
    raw_fields = ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in columns if c not in BRONZE_INTERNAL)
    # One level per step so each expression runs once per row: untyped values, typed values, the verdict.
    judged = f"""
        WITH untyped AS (SELECT *{', ' + sources.projection() if sources.sql else ''} FROM {relation}),
        typed AS (SELECT *, {', '.join(f'{out.typed} AS {typed_ref[out.name]}' for out in outputs)} FROM untyped),
        judged AS (SELECT *, nullif(concat_ws('; ', {', '.join(problems)}), '') AS __reason FROM typed)"""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_STAGED} AS {judged}
        SELECT {', '.join(f'{typed_ref[out.name]} AS {quote_ident(out.name)}' for out in outputs)}
               {''.join(f', {quote_ident(c)}' for c in extra)},
               _source_file, _batch_id, _line, _ingested_at, __reason
        FROM judged""")
    # The raw rows of the rejects (the quarantine's) are built by a second pass, and only when there are
    # rejects: kept in the stage, a NULL raw row still costs a slot per bronze column on every row.
    rejects = f"""{judged}
        SELECT _source_file, _line, __reason, struct_pack({raw_fields}) AS __raw_row, _batch_id,
               {partition} AS __partition
        FROM judged WHERE __reason IS NOT NULL"""
    try:
        good, data_columns = steps.apply_steps(con, table, ts, f"(SELECT * FROM {_STAGED} WHERE __reason IS NULL)",
                                               [*(out.name for out in outputs), *extra])  # custom Python steps
        kept = None if affected is None else sorted({spark_json(dict(zip(ts.partition_by, a, strict=True)))
                                                      for a in affected})
        _write_quarantine(con, ctx, table, kept, rejects)
        output = ", ".join(quote_ident(c) for c in [*data_columns, *CARRIED_LINEAGE])
        window = f"PARTITION BY {', '.join(quote_ident(k) for k in ts.key)} ORDER BY {_latest_first(ts.order_by)}"
        picked_winners = False
        if ts.steps:
            deduped = (f"SELECT {output} FROM (SELECT *, row_number() OVER ({window}) AS __rn FROM {good}) "
                       "WHERE __rn = 1")
        elif _keys_unique_after_explode(ts):
            deduped = f"SELECT {output} FROM {good}"
        else:
            # The winners are picked over the key and ordering columns only (a narrow sort), then the
            # whole rows are taken by their staged row id, instead of sorting every wide row.
            # The winners are kept as a table: their count is the number of distinct keys, which the
            # account compares with what the write reports (no second aggregation over the keys).
            picked_winners = True
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_WINNERS} AS SELECT rowid AS __id FROM {_STAGED} "
                        f"WHERE __reason IS NULL QUALIFY row_number() OVER ({window}) = 1")
            deduped = (f"SELECT {output} FROM {_STAGED} WHERE __reason IS NULL "
                       f"AND rowid IN (SELECT __id FROM {_WINNERS})")
        pending = plan_table_version(ctx.lake, "silver", table)
        written = write_parquet(con, deduped, ctx.lake.engine_path(pending.staged), ts.partition_by)
        account, rows_read, rows_duplicate = _account(con, ctx, ts, written.rows, pending.staged, new_batches,
                                                      parent_elements, picked_winners)
        counts = (rows_read, account.quarantined)
    finally:
        steps.release(con)
        con.execute(f"DROP TABLE IF EXISTS {_STAGED}")
        con.execute(f"DROP TABLE IF EXISTS {_WINNERS}")
        con.execute(f"DROP TABLE IF EXISTS {_PARENT_WINNERS}")
    if affected is not None and current is not None:
        rewritten = {tuple(str(v) for v in a) for a in affected}
        check_partitions_kept(ctx, table, ts, current, pending.staged, rewritten)
        _carry_unchanged_partitions(ctx, current, pending.staged, rewritten)
    account.check(result.table)
    fault_point(f"silver.{table}.before_commit")
    ctx.lake.commit(pending.staged, pending.final)
    fault_point(f"silver.{table}.before_catalog_swap")
    register_table(ctx.catalog, ctx.lake, silver_db, table, list(written.columns), pending.final,
                   partition_keys=list(written.partition_keys),
                   parameters={"source_table": f"{bronze_db}.{ts.from_}", "primary_key": ",".join(ts.key),
                               "partitions_rewritten": "all" if affected is None else str(len(affected))})
    result.rows_read, result.rows_quarantined = int(counts[0]), int(counts[1])
    result.rows_written = _row_count(con, ctx, pending.final)
    result.rows_duplicate = rows_duplicate
    result.location = pending.final
    return result


def _in_batches(batches: set[str]) -> str:
    return f"_batch_id IN ({', '.join(quote_literal(b) for b in sorted(batches))})" if batches else "false"


def _elements(con: duckdb.DuckDBPyConnection, relation: str, column: str, new_batches: set[str]) -> tuple[int, int]:
    """Array elements of the bronze rows before the parent dedupe (the unit of an exploded table):
    all of them, and those of the new batches."""
    elements = f"coalesce(len({quote_ident(column)}), 0)"
    row = con.execute(f"SELECT coalesce(sum({elements}), 0), coalesce(sum({elements}) FILTER "
                      f"(WHERE {_in_batches(new_batches)}), 0) FROM {relation}").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _account(con: duckdb.DuckDBPyConnection, ctx: JobContext, ts: SilverTableSpec, written: int, staged_dir: str,
             new_batches: set[str], parent_elements: tuple[int, int] | None,
             picked_winners: bool = False) -> tuple[SilverAccount, int, int]:
    """The silver account of the rows this run recomputed (every bronze row of the rewritten
    partitions; all of them on a full rebuild), ``rows_read`` and the duplicates of the new batches
    (the metrics).

    Unit: bronze rows; for an exploded table, array elements. ``rows_read`` of an exploded table is
    the elements of the parents that won the parent dedupe (as the Spark engine counts them); the
    elements of the losing parents are read too, and the account counts them on both sides (read
    and duplicates), as ``rows_duplicate`` counts those of the new batches. The account's duplicates are
    measured apart from the write (the good staged rows minus their distinct keys), so rows lost
    between staging and the Parquet write break it. With custom steps (which may add or drop rows;
    their output is not read twice) the duplicates are the good rows not written.
    """
    new = _in_batches(new_batches)
    row = con.execute(f"SELECT count(*), count(__reason), count(*) FILTER (WHERE __reason IS NULL AND {new}), "
                      f"count(*) FILTER (WHERE {new}) FROM {_STAGED}").fetchone()
    assert row is not None
    staged, quarantined, good_new, staged_new = (int(v) for v in row)
    good = staged - quarantined
    if ts.steps:
        duplicates = good - written
    else:
        distinct = _distinct_keys(con, ts, picked_winners)
        duplicates = good - distinct
    files = data_files(ctx.lake, ctx.lake.fs_path(staged_dir))
    kept = con.execute(f"SELECT count(*) FROM {parquet_scan(files)} WHERE {new}").fetchone() if files else (0,)
    new_duplicates = good_new - int(kept[0] if kept else 0)
    bronze_rows = staged
    if parent_elements is not None:
        every, of_new = parent_elements
        duplicates += every - staged
        new_duplicates += of_new - staged_new
        bronze_rows = every
    account = SilverAccount(bronze_rows=bronze_rows, silver_rows=written, quarantined=quarantined,
                            duplicates=duplicates)
    return account, staged, new_duplicates


def _distinct_keys(con: duckdb.DuckDBPyConnection, ts: SilverTableSpec, picked_winners: bool) -> int:
    """Distinct keys among the good staged rows: the dedupe's winners when it picked them, else counted."""
    if picked_winners:
        row = con.execute(f"SELECT count(*) FROM {_WINNERS}").fetchone()
    else:
        keys = ", ".join(quote_ident(k) for k in ts.key)
        row = con.execute(f"SELECT count(DISTINCT ({keys})) FROM {_STAGED} WHERE __reason IS NULL").fetchone()
    return int(row[0]) if row else 0


def _row_count(con: duckdb.DuckDBPyConnection, ctx: JobContext, directory: str) -> int:
    """Rows of the committed version, carried partitions included (Parquet footers only)."""
    files = data_files(ctx.lake, ctx.lake.fs_path(directory))
    if not files:
        return 0
    row = con.execute(f"SELECT count(*) FROM {parquet_scan(files)}").fetchone()
    return int(row[0]) if row else 0


def _carry_unchanged_partitions(ctx: JobContext, current: Table, staged: str, rewritten: set[tuple[str, ...]]) -> None:
    """Link the current version's untouched partitions into the new version (copy-on-write)."""
    keys = [k.name for k in current.partition_keys]
    for part in ctx.catalog.get_partitions(current.database, current.name):
        if tuple(part.values) in rewritten:
            continue
        ctx.lake.link_tree(ctx.lake.fs_path(part.location), partition_path(staged, keys, part.values))


def _previous_records(ctx: JobContext, final: str, rewritten: list[str]) -> Iterator[dict[str, Any]]:
    """Quarantine records of partitions this incremental run does not rewrite (kept as they were)."""
    for path in data_files(ctx.lake, final) if ctx.lake.fs.exists(final) else []:
        for line in ctx.lake.read_text(path).splitlines():
            record = json.loads(line)
            if record.get("partition") is None or record["partition"] not in rewritten:
                yield record


def _write_quarantine(con: duckdb.DuckDBPyConnection, ctx: JobContext, table: str,
                      rewritten: list[str] | None, rejects: str) -> None:
    """Silver's quarantine mirrors the table: rebuilt whole, or — on an incremental run — the
    records of untouched partitions are carried over and those of rewritten ones replaced.

    ``rejects`` computes the rejected rows (with their raw rows) again; it must find exactly the
    rejects the stage holds, or nothing is written."""
    final = quarantine_dir(ctx.lake, ctx.spec.name, "silver", table, "all")
    staged = ctx.lake.new_staging_path(f"quarantine-silver-{table}")
    previous = list(_previous_records(ctx, final, rewritten)) if rewritten is not None else []
    row = con.execute(f"SELECT count(__reason) FROM {_STAGED}").fetchone()
    expected = int(row[0]) if row else 0
    cursor = con.execute(f"SELECT * FROM ({rejects}) ORDER BY _source_file, _line, __reason") if expected else None
    found = 0

    def records() -> Iterator[dict[str, Any]]:
        nonlocal found
        while cursor is not None and (batch := cursor.fetchmany(10_000)):
            found += len(batch)
            for source_file, line, reason, raw_row, batch_id, partition in batch:
                yield {"source_file": source_file, "line": line, "reason": reason, "raw": spark_json(raw_row),
                       "layer": "silver", "table": table, "batch_id": batch_id,
                       "partition": None if partition is None else spark_json(partition)}
        yield from previous

    write_records(records(), staged, ctx.lake.fs)
    if found != expected:
        ctx.lake.fs.rm(staged, recursive=True)
        raise RuntimeError(f"silver {table}: the quarantine pass found {found} rejected rows, the stage holds "
                           f"{expected}; nothing committed")
    replace_quarantine(ctx.lake, staged, final)
