"""Error messages of the query layer: the unknown table or column, where it is, and what was probably meant."""

from __future__ import annotations

import pytest
from test_query import Env, env  # noqa: F401 - the fixture is used by name

from lakeglue.query import QueryError

ORDER_COLUMNS_TEXT = "order_id, customer_id, status, amount, tags, order_ts, coupon, dt"


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT order_id, statu FROM ecommerce_silver.orders",
     "column statu (line 1, column 18) cannot be resolved; did you mean status?; "
     f"columns of ecommerce_silver.orders ({ORDER_COLUMNS_TEXT})"),
    ("SELECT o.order_id,\n       o.amout\nFROM ecommerce_silver.orders AS o\nWHERE o.status = 'shipped'",
     "column amout (line 2, column 8) cannot be resolved; did you mean amount?; "
     f"columns of ecommerce_silver.orders ({ORDER_COLUMNS_TEXT})"),
    ("SELECT status, count(*) FROM ecommerce_silver.orders\nGROUP BY status\nHAVING max(custmer_id) > 10",
     "column custmer_id (line 3, column 12) cannot be resolved; did you mean customer_id?; "
     f"columns of ecommerce_silver.orders ({ORDER_COLUMNS_TEXT})"),
    ("SELECT revenue_total FROM ecommerce_gold.daily_revenue_by_category",
     "column revenue_total (line 1, column 8) cannot be resolved; did you mean revenue?; columns of "
     "ecommerce_gold.daily_revenue_by_category (dt, category, revenue, units, orders)"),
    ("SELECT zzz FROM ecommerce_gold.customer_lifetime_value",
     "column zzz (line 1, column 8) cannot be resolved; columns of ecommerce_gold.customer_lifetime_value "
     "(customer_id)"),
])
def test_unknown_columns_are_named_located_and_matched(env: Env, sql: str, message: str) -> None:  # noqa: F811
    with pytest.raises(QueryError) as info:
        env.run(sql)
    assert str(info.value) == message


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT * FROM ecommerce_gold.daily_revenue",
     "table ecommerce_gold.daily_revenue not found in the catalog (line 1, column 15); did you mean "
     "ecommerce_gold.daily_revenue_by_category?; tables in ecommerce_gold: customer_lifetime_value, "
     "daily_revenue_by_category"),
    ("SELECT count(*)\nFROM ecommerce_gold.orders",
     "table ecommerce_gold.orders not found in the catalog (line 2, column 6); did you mean "
     "ecommerce_silver.orders?; tables in ecommerce_gold: customer_lifetime_value, daily_revenue_by_category"),
    ("SELECT * FROM ecommerce_silvr.orders",
     "table ecommerce_silvr.orders not found in the catalog (line 1, column 15): there is no database "
     "ecommerce_silvr; did you mean ecommerce_silver?; databases: ecommerce_gold, ecommerce_silver"),
])
def test_unknown_tables_suggest_near_matches(env: Env, sql: str, message: str) -> None:  # noqa: F811
    with pytest.raises(QueryError) as info:
        env.run(sql)
    assert str(info.value) == message


@pytest.mark.parametrize(("sql", "rows"), [
    # names the query defines itself, which a naive check would call unknown
    ("SELECT o.order_id, t.tag FROM ecommerce_silver.orders AS o CROSS JOIN UNNEST(o.tags) AS t(tag) ORDER BY 1, 2",
     [(1, "gift"), (1, "promo"), (3, "promo"), (5, "bulk")]),
    ("SELECT status AS s, count(*) AS n FROM ecommerce_silver.orders GROUP BY 1 ORDER BY n DESC, s",
     [("shipped", 3), ("cancelled", 1), ("pending", 1)]),
    ("SELECT filter(tags, x -> x <> 'promo') AS kept FROM ecommerce_silver.orders ORDER BY order_id",
     [(["gift"],), ([],), ([],), (None,), (["bulk"],)]),
    ("WITH c AS (SELECT customer_id AS cid FROM ecommerce_silver.orders) SELECT cid FROM c GROUP BY cid ORDER BY cid",
     [(10,), (11,), (12,)]),
])
def test_query_defined_names_are_not_reported(env: Env, sql: str, rows: list[tuple[object, ...]]) -> None:  # noqa: F811
    assert env.run(sql).rows == rows


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT order_id\nFROM ecommerce_silver.orders\nWHERE status = 'shipped' AND AND customer_id = 1",
     "SQL syntax error at line 3, column 30 near 'AND': AND is missing its expression"),
    ("SELECT (order_id FROM ecommerce_silver.orders",
     "SQL syntax error at line 1, column 18 near 'FROM': Expecting )"),
])
def test_syntax_errors_show_line_and_column(env: Env, sql: str, message: str) -> None:  # noqa: F811
    with pytest.raises(QueryError) as info:
        env.run(sql)
    assert str(info.value) == message
