"""The Trino engine through the real ``trino`` client, against a small fake of Trino's HTTP protocol.

There is no Trino server on this machine (no JVM images, no Maven), so a real query
cannot run here. What *can* be checked honestly is lakeglue's side of the wire, with
the real client library doing the protocol: the statement lakeglue sends (parameters
bound through the client's ``EXECUTE IMMEDIATE … USING`` prepared-statement support,
never pasted into the SQL), the session headers (user, catalog, schema), paging over
``nextUri``, how typed values and Trino's column types become Arrow, results and
metadata files, and how server errors become QueryErrors. The fake answers with canned
results; it does not execute SQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_query import GOLD_COLUMNS, Env, gold_data

from lakeglue.query import QueryError
from lakeglue.settings import Settings
from lakeglue.storage import Lake


def sig(raw: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"rawType": raw, "arguments": list(args)}


def long(value: int) -> dict[str, Any]:
    return {"kind": "LONG", "value": value}


def of(type_signature: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "TYPE", "value": type_signature}


def field(name: str, type_signature: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NAMED_TYPE", "value": {"fieldName": {"name": name}, "typeSignature": type_signature}}


VARCHAR = sig("varchar", long(2147483647))
COLUMNS = [
    {"name": "category", "type": "varchar", "typeSignature": VARCHAR},
    {"name": "revenue", "type": "decimal(38, 2)", "typeSignature": sig("decimal", long(38), long(2))},
    {"name": "first_day", "type": "date", "typeSignature": sig("date")},
    {"name": "days", "type": "bigint", "typeSignature": sig("bigint")},
    {"name": "tags", "type": "array(varchar)", "typeSignature": sig("array", of(VARCHAR))},
    {"name": "best", "type": "row(dt date, units bigint)",
     "typeSignature": sig("row", field("dt", sig("date")), field("units", sig("bigint")))},
]
DATA = [
    ["books", "75.50", "2026-11-01", 2, ["a", "b"], ["2026-11-01", 5]],
    ["games", None, "2026-11-03", 2, [], None],
]


class FakeTrino:
    """Records every statement and answers in two pages (QUEUED with nextUri, then the rows), like Trino."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, dict[str, str]]] = []
        self.answer: dict[str, Any] = {"columns": COLUMNS, "data": DATA}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                return

            def reply(self, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                sql = self.rfile.read(int(self.headers["Content-Length"])).decode()
                fake.statements.append((sql, {k: v for k, v in self.headers.items() if k.startswith("X-Trino")}))
                query_id = f"q{len(fake.statements)}"
                self.reply({"id": query_id, "infoUri": f"{fake.url}/ui/{query_id}",
                            "nextUri": f"{fake.url}/v1/statement/executing/{query_id}/1",
                            "stats": {"state": "QUEUED"}})

            def do_GET(self) -> None:
                query_id = self.path.split("/")[-2]
                body: dict[str, Any] = {"id": query_id, "infoUri": f"{fake.url}/ui/{query_id}",
                                        "stats": {"state": "FINISHED", "processedBytes": 4096, "processedRows": 6}}
                self.reply({**body, **fake.answer})

            def do_DELETE(self) -> None:
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture
def trino() -> Iterator[FakeTrino]:
    fake = FakeTrino()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    fake.thread.join(timeout=10)


@pytest.fixture
def trino_env(tmp_path: Path, trino: FakeTrino) -> Env:
    e = Env(tmp_path)
    e.settings = Settings(lake_root=e.settings.lake_root, catalog_url=e.settings.catalog_url,
                          extra={"trino_host": "127.0.0.1", "trino_port": trino.port, "trino_request_timeout": 10})
    e.lake = Lake(e.settings)
    gold = e.write_parquet(("gold", "daily_revenue_by_category"), gold_data())
    e.register("ecommerce_gold", "daily_revenue_by_category", gold, GOLD_COLUMNS)
    return e


SQL = ("SELECT category, sum(revenue) AS revenue, min(dt) AS first_day, count(*) AS days\n"
       "FROM daily_revenue_by_category WHERE category <> ? AND dt >= ? GROUP BY category")


def test_parameters_go_through_the_clients_prepared_statement_not_the_sql(trino_env: Env, trino: FakeTrino) -> None:
    trino_env.run(SQL, ["x' OR '1'='1", date(2026, 11, 2)], database="ecommerce_gold", engine="trino")
    [(statement, headers)] = trino.statements
    escaped = SQL.replace("'", "''")
    assert statement == f"EXECUTE IMMEDIATE '{escaped}' USING 'x'' OR ''1''=''1',DATE '2026-11-02'"
    assert headers["X-Trino-User"] == "lakeglue"
    assert headers["X-Trino-Catalog"] == "lakeglue"  # docker/trino/catalog/lakeglue.properties
    assert headers["X-Trino-Schema"] == "ecommerce_gold"
    assert headers["X-Trino-Source"] == "lakeglue"


def test_without_parameters_the_sql_is_sent_verbatim(trino_env: Env, trino: FakeTrino) -> None:
    sql = "SELECT category FROM ecommerce_gold.daily_revenue_by_category"
    trino_env.run(sql, engine="trino")
    assert [s for s, _ in trino.statements] == [sql]
    assert "X-Trino-Schema" not in trino.statements[0][1]


def test_typed_values_become_arrow_results_and_files(trino_env: Env, trino: FakeTrino) -> None:
    res = trino_env.run(SQL, ["toys", date(2026, 11, 1)], database="ecommerce_gold", engine="trino", output="parquet")
    assert res.columns == ["category", "revenue", "first_day", "days", "tags", "best"]
    assert res.types == ["varchar", "decimal(38,2)", "date", "bigint", "array(varchar)", "row(dt date, units bigint)"]
    assert res.rows == [
        ("books", Decimal("75.50"), date(2026, 11, 1), 2, ["a", "b"], {"dt": date(2026, 11, 1), "units": 5}),
        ("games", None, date(2026, 11, 3), 2, [], None),
    ]
    final = Path(trino_env.lake.path("results", "queries", res.query_id))
    assert (final / "result.csv").read_text() == ("category,revenue,first_day,days,tags,best\n"
                                                  "books,75.50,2026-11-01,2,\"[a, b]\",\"{dt=2026-11-01, units=5}\"\n"
                                                  "games,,2026-11-03,2,[],\n")
    meta = json.loads((final / "metadata.json").read_text())
    assert (meta["engine"], meta["bytes_scanned"], meta["rows_scanned"], meta["trino_query_id"]) == (
        "trino", 4096, 6, "q1")
    assert meta["trino_server"] == f"http://127.0.0.1:{trino.port}"


def test_server_errors_keep_trinos_message_and_position(trino_env: Env, trino: FakeTrino) -> None:
    trino.answer = {"error": {
        "message": "line 1:8: Function 'no_such_fn' not registered", "errorCode": 44,
        "errorName": "FUNCTION_NOT_FOUND", "errorType": "USER_ERROR",
        "errorLocation": {"lineNumber": 1, "columnNumber": 8}, "failureInfo": {"type": "io.trino.spi.TrinoException"},
    }}
    with pytest.raises(QueryError) as info:
        trino_env.run("SELECT no_such_fn(category) FROM ecommerce_gold.daily_revenue_by_category", engine="trino")
    assert str(info.value) == ("trino: line 1:8: Function 'no_such_fn' not registered (line 1, column 8) "
                               "[FUNCTION_NOT_FOUND]")


def test_an_unreachable_server_is_named(trino_env: Env, trino: FakeTrino) -> None:
    trino.server.shutdown()
    trino.server.server_close()
    with pytest.raises(QueryError, match=rf"cannot reach Trino at http://127\.0\.0\.1:{trino.port}: "):
        trino_env.run("SELECT category FROM ecommerce_gold.daily_revenue_by_category", engine="trino")
