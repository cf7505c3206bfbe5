"""Trino/Athena SQL run anywhere: the one translator every engine and every job goes through.

:func:`translate` turns a Trino-dialect statement into what DuckDB or Spark SQL runs with
Trino's values and result types (Trino and Athena get it unchanged); :func:`translate_expression`
does the same for one scalar expression (a silver column's ``expr``).
"""

from lakeglue.sql.translate import ENGINES, translate, translate_expression, translate_query

__all__ = ["ENGINES", "translate", "translate_expression", "translate_query"]
