"""Speculative decimal arithmetic: sums of decimal products in DuckDB's 64-bit arithmetic, Trino's answer either way.

The translator gives every decimal ``+ - *`` Trino's result type; cast row by row, those wide
types move DuckDB to 128-bit arithmetic (TPC-H Q1 2.3x slower than plain DuckDB). Where only
the exact value of such an operation is used (inside a ``sum``, or inside another ``+ - *``),
the query layer first runs it in DuckDB's own type; DuckDB raises on overflow instead of
answering, and the query then runs again with Trino's types. These tests check the values and
types against Trino's (exact decimal arithmetic, ``decimal(38, s)`` sums), the fallback on
overflow (in memory and streamed to the results zone), and that nothing else changes.
"""

from __future__ import annotations

import csv
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from lakeglue.catalog import Column
from lakeglue.query import QueryError
from lakeglue.query.binding import bind_query
from lakeglue.query.duckdb_engine import DuckDBEngine
from lakeglue.query.results import ResultWriter
from lakeglue.sql import translate, translate_query
from tests.unit.test_query import Env

D = Decimal
COLUMNS = (Column("id", "bigint"), Column("g", "string"), Column("d", "decimal(12,2)"), Column("e", "decimal(15,2)"))
#: d⁵ needs 21 digits at scale 10: beyond DuckDB's 18-digit products, well within Trino's decimal(38,10).
VALUES = [(1, "x", D("10.50"), D("0.05")), (2, "y", D("-5.25"), D("0.10")), (3, "x", D("9999.99"), D("0.00")),
          (4, None, None, None), (5, "y", D("100.10"), D("0.07"))]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = Env(tmp_path_factory.mktemp("speculative"))
    data = pa.table({
        "id": pa.array([v[0] for v in VALUES], pa.int64()),
        "g": pa.array([v[1] for v in VALUES]),
        "d": pa.array([v[2] for v in VALUES], pa.decimal128(12, 2)),
        "e": pa.array([v[3] for v in VALUES], pa.decimal128(15, 2)),
    })
    env.register("spec", "t", env.write_parquet(("spec", "t"), data), COLUMNS)
    return env


def exact_sum(fn: Any, scale: int) -> Decimal:
    """Trino's sum: exact decimal arithmetic, NULL rows skipped, at the result's scale."""
    return sum((fn(d, e) for _, _, d, e in VALUES if d is not None), D(0)).quantize(D(1).scaleb(-scale))


def test_only_arithmetic_feeding_a_sum_or_arithmetic_keeps_duckdbs_type(env: Env) -> None:
    sql = "SELECT sum(d * (1 - e) * (1 + e)), d * (1 - e), avg(d * e), min(d * e) FROM spec.t GROUP BY d, e"
    exact = translate(sql, "duckdb", env.catalog)
    fast = translate(sql, "duckdb", env.catalog, speculative=True)
    # default: every operation cast to Trino's type
    assert "CAST(1 - \"t\".\"e\" AS DECIMAL(16, 2))" in exact and "AS DECIMAL(28, 4)" in exact
    # speculative: the sum's argument runs uncast, the sum keeps Trino's decimal(38, 6)
    assert 'CAST(SUM("t"."d" * (1 - "t"."e") * (1 + "t"."e")) AS DECIMAL(38, 6))' in fast
    # an output column, avg and min still see Trino's types (their result types depend on them); what feeds
    # the output column's product is only a value
    assert 'CAST("t"."d" * (1 - "t"."e") AS DECIMAL(28, 4)) AS "_col1"' in fast
    assert 'AVG(CAST("t"."d" * "t"."e" AS DECIMAL(27, 4)))' in fast
    assert 'MIN(CAST("t"."d" * "t"."e" AS DECIMAL(27, 4)))' in fast
    # other engines never speculate (Spark rounds or answers NULL where DuckDB raises)
    assert translate(sql, "spark", env.catalog, speculative=True) == translate(sql, "spark", env.catalog)


def test_sums_of_products_have_trinos_values_and_types(env: Env) -> None:
    result = env.run("SELECT sum(d * (1 - e)), sum(d * (1 - e) * (1 + e)), sum(d * d), sum(d + e * 2), "
                     "sum(d * (1 - e)) - sum(e) FROM spec.t")
    assert result.types == ["decimal(38,4)", "decimal(38,6)", "decimal(38,4)", "decimal(38,2)", "decimal(38,4)"]
    assert result.rows == [(exact_sum(lambda d, e: d * (1 - e), 4), exact_sum(lambda d, e: d * (1 - e) * (1 + e), 6),
                            exact_sum(lambda d, e: d * d, 4), exact_sum(lambda d, e: d + e * 2, 2),
                            exact_sum(lambda d, e: d * (1 - e), 4) - exact_sum(lambda d, e: e, 4))]


def test_an_overflow_of_duckdbs_arithmetic_runs_again_with_trinos_types(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "SELECT g, sum(d * d * d * d * d) FROM spec.t GROUP BY g ORDER BY g"
    ran: list[str] = []
    original = DuckDBEngine._execute

    def spy(self: DuckDBEngine, query: Any, engine_sql: str, sink: Any) -> Any:
        ran.append(engine_sql)
        return original(self, query, engine_sql, sink)

    monkeypatch.setattr(DuckDBEngine, "_execute", spy)
    result = env.run(sql)
    with localcontext() as exact:
        exact.prec = 60
        fifth = {g: sum((d ** 5 for _, gg, d, _ in VALUES if gg == g and d is not None), D(0)).quantize(D("1e-10"))
                 for g in ("x", "y")}
    assert result.types == ["varchar", "decimal(38,10)"]
    assert result.rows == [("x", fifth["x"]), ("y", fifth["y"]), (None, None)]
    bound = bind_query(sql, None, None, env.catalog)
    assert ran == [translate_query(bound, "duckdb", speculative=True), translate_query(bound, "duckdb")]

    # streamed to the results zone: only the second run's rows are there
    ran.clear()
    streamed = env.run(sql, output="csv")
    assert len(ran) == 2 and streamed.rows == result.rows
    with Path(env.lake.local_path(str(streamed.output_location))).open(newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines == [["g", "_col1"], ["x", str(result.rows[0][1])], ["y", str(result.rows[1][1])], ["", ""]]


def test_an_overflow_trino_has_too_is_still_an_error(env: Env) -> None:
    with pytest.raises(QueryError, match=r"Overflow|[Oo]ut of [Rr]ange"):
        env.run("SELECT sum(d * d * d * d * d * d * d * d * d * d * d * d * d * d * d * d * d * d * d) FROM spec.t")


def test_a_restarted_result_writer_keeps_only_what_follows(env: Env) -> None:
    writer = ResultWriter(env.lake, "restart-test", output="csv", preview_rows=10)
    writer.write(pa.record_batch({"a": pa.array([1, 2, 3])}))
    writer.restart()
    writer.write(pa.record_batch({"b": pa.array([7])}))
    output, _ = writer.commit({"query_id": "restart-test"})
    assert writer.row_count == 1 and writer.preview().to_pylist() == [{"b": 7}]
    assert Path(env.lake.local_path(output)).read_text() == "b\n7\n"
