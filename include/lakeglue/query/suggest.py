"""Name the unknown table or column in a query and suggest the near match the user probably meant.

Athena answers a typo with ``Column 'statu' cannot be resolved``; lakeglue also says where
it is and what exists (``did you mean status?``), before any engine runs. The column check
uses sqlglot's qualifier over the catalog schema and only reports a name that is neither
a column of a referenced table nor an alias in the query, so a construct sqlglot cannot
model never blocks a valid query: the engine then decides.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from lakeglue.catalog import Table
from lakeglue.query.base import QueryError
from lakeglue.query.schema import catalog_schema, qualify_table_names
from lakeglue.sql_dialect import SOURCE_DIALECT

_UNRESOLVED = re.compile(r"Column '(?P<a>[^']+)' could not be resolved|Unknown column: (?P<b>\S+)")


def did_you_mean(name: str, candidates: Sequence[str], key: Callable[[str], str] | None = None) -> str:
    """``"; did you mean x?"`` (or ``x or y``) for close matches of ``name``, else ``""``.

    ``key`` maps a candidate to the text compared with ``name`` (``silver.orders`` is
    compared as ``orders``), so qualified suggestions rank by their table name.
    """
    keyed: dict[str, list[str]] = {}
    for candidate in candidates:
        keyed.setdefault((key(candidate) if key else candidate).lower(), []).append(candidate)
    scored = sorted(((difflib.SequenceMatcher(None, name.lower(), k).ratio(), k) for k in keyed), reverse=True)
    best = scored[0][0] if scored else 0.0
    # only the clearly closest names: "ecommerce_glod" suggests ecommerce_gold, not also ecommerce_silver
    close = [k for score, k in scored if score >= max(0.6, best - 0.1)]
    matches = [c for k in close for c in keyed[k]][:3]
    if not matches:
        return ""
    return f"; did you mean {' or '.join(matches)}?"


def position(node: exp.Expression | None) -> str:
    """`` (line L, column C)``: where ``node`` starts in the SQL text (sqlglot keeps token positions).

    A qualified name starts at its first part (``ecommerce_gold`` of ``ecommerce_gold.foo``).
    """
    if node is None:
        return ""
    parts = [node.args.get(k) for k in ("catalog", "db", "table", "this")]
    idents = [p for p in parts if isinstance(p, exp.Identifier) and p.meta.get("line") is not None]
    if not idents:
        return ""
    meta = idents[0].meta
    column = int(meta["col"]) - (int(meta.get("end", 0)) - int(meta.get("start", 0)))
    return f" (line {meta['line']}, column {column})"


def query_names(tree: exp.Expr) -> set[str]:
    """Names a query defines itself: select aliases, CTE and derived-table column lists, UNNEST aliases."""
    names = {a.alias.lower() for a in tree.find_all(exp.Alias) if a.alias}
    for alias in tree.find_all(exp.TableAlias):
        names.update(c.name.lower() for c in alias.columns)
        if alias.name:
            names.add(alias.name.lower())
    names.update(lam.name.lower() for fn in tree.find_all(exp.Lambda) for lam in fn.expressions)
    return names


def _unresolved_name(tree: exp.Expr, tables: Mapping[tuple[str, str], Table], database: str | None,
                     keep: list[exp.Expr] | None = None) -> str | None:
    """A column name sqlglot's qualifier cannot place, or None; ``keep`` receives the qualified copy."""
    try:
        qualified = qualify(qualify_table_names(tree.copy(), database), dialect=SOURCE_DIALECT,
                            schema=catalog_schema(tables), validate_qualify_columns=True)
    except OptimizeError as exc:
        match = _UNRESOLVED.search(str(exc))
        return (match.group("a") or match.group("b")) if match else None
    except SqlglotError:
        return None
    # the qualifier leaves names it could not place unqualified without complaining (e.g. in HAVING);
    # ORDER BY names of output columns are placed (it points ORDER BY sum(x) / ORDER BY 2 at their alias)
    if keep is not None:
        keep.append(qualified)
    loose = [c.name for c in qualified.find_all(exp.Column) if not c.table and c.name and not _orders_output(c)]
    return loose[0] if loose else None


def _orders_output(column: exp.Column) -> bool:
    """True for an ORDER BY reference to an output column of the query it orders."""
    order = column.find_ancestor(exp.Order)
    query = order.parent if order is not None else None
    return isinstance(query, exp.Query) and column.name in {s.alias_or_name for s in query.selects}


def check_columns(tree: exp.Expr, tables: Mapping[tuple[str, str], Table], database: str | None,
                  keep: list[exp.Expr] | None = None) -> None:
    """Raise a QueryError naming an unknown column, where it is and its near matches; else return.

    ``keep`` (a list) receives the qualified copy of ``tree`` the check made, when sqlglot could
    qualify it: the translator qualifies the same statement against the same schema, and can
    start from this copy instead of parsing and qualifying the text again.
    """
    if not tables:
        return
    name = _unresolved_name(tree, tables, database, keep)
    if name is None:
        return
    columns = {c.name: None for t in tables.values() for c in t.all_columns()}
    if name.lower() in {c.lower() for c in columns} | query_names(tree):
        return  # sqlglot could not place a name that does exist: not a typo, let the engine run it
    node = next((c for c in tree.find_all(exp.Column) if c.name.lower() == name.lower()), None)
    where = position(node)
    owners = ", ".join(f"{t.qualified_name} ({', '.join(c.name for c in t.all_columns())})" for t in tables.values())
    raise QueryError(f"column {name}{where} cannot be resolved{did_you_mean(name, list(columns))}; "
                     f"columns of {owners}")
