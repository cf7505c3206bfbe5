"""Parameter values as Trino/Athena SQL literals, for engines whose protocol takes literals.

Athena's ``ExecutionParameters`` and Trino's ``EXECUTE … USING`` both take each value as a
separate literal that the server parses on its own — never pasted into the query text —
so ``x' OR '1'='1`` arrives as one string value. We still build each literal with the
quoting rules of the Trino grammar and re-parse it to prove it is exactly one literal
before sending it (the same formatting the ``trino`` client uses, so both engines agree).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lakeglue.query.base import QueryError
from lakeglue.sql_dialect import SOURCE_DIALECT

_LITERAL_NODES = (exp.Literal, exp.Null, exp.Boolean)


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def trino_literal(value: Any) -> str:
    """One parameter value as a Trino literal: ``'it''s'``, ``42``, ``DATE '2026-11-01'``, ``NULL`` …"""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise QueryError(f"parameter value {value!r} has no SQL literal; pass a finite number")
        return f"DOUBLE {_string(repr(value))}"
    if isinstance(value, Decimal):
        return f"DECIMAL {_string(format(value, 'f'))}"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise QueryError(f"parameter value {value!r} has a time zone; pass a naive UTC timestamp")
        return f"TIMESTAMP {_string(value.isoformat(sep=' '))}"
    if isinstance(value, date):
        return f"DATE {_string(value.isoformat())}"
    if isinstance(value, time):
        return f"TIME {_string(value.isoformat())}"
    if isinstance(value, str):
        return _string(value)
    raise QueryError(f"parameter values must be str, int, float, Decimal, bool, date, datetime, time or None; "
                     f"got {type(value).__name__} {value!r}")


def is_single_literal(text: str) -> bool:
    """True if ``text`` parses as exactly one literal value (optionally typed: ``DATE '…'``)."""
    try:
        node = sqlglot.parse_one(text, read=SOURCE_DIALECT)
    except SqlglotError:
        return False
    if isinstance(node, exp.Cast):  # DATE '…' / DECIMAL '…' parse as a cast of a string literal
        node = node.this
    return isinstance(node, _LITERAL_NODES) or (isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal))


def literal_parameters(params: tuple[Any, ...]) -> list[str]:
    """All parameters as literals, each checked to be one literal and nothing else."""
    literals = [trino_literal(v) for v in params]
    for i, text in enumerate(literals):
        if not is_single_literal(text):  # defence in depth: the formatter above should make this impossible
            raise QueryError(f"parameter {i + 1} ({params[i]!r}) does not form a single SQL literal")
    return literals
