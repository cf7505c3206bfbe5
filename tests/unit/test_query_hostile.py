"""Queries over hostile raw text tables on real DuckDB and real files: values that do not parse, null
markers, encodings, renamed JSON keys, unreadable tables and file names that look like globs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from test_query import Env

from lakeglue import records
from lakeglue.catalog import Column
from lakeglue.cli import main
from lakeglue.query import QueryError
from lakeglue.settings import get_settings

CUSTOMER_COLUMNS = (Column("customer_id", "bigint"), Column("name", "string"), Column("age", "bigint"),
                    Column("score", "double"), Column("signup_date", "date"))


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def raw_dir(env: Env, *parts: str) -> Path:
    folder = Path(env.lake.path("raw", *parts))
    folder.mkdir(parents=True)
    return folder


def customers(env: Env, text: str, parameters: dict[str, str] | None = None,
              columns: tuple[Column, ...] = CUSTOMER_COLUMNS) -> None:
    folder = raw_dir(env, "ecommerce", "customers")
    (folder / "customers_1.csv").write_text(text)
    env.register("ecommerce_raw", "customers", str(folder), columns, classification="csv",
                 parameters={"skip.header.line.count": "1", **(parameters or {})})


def test_null_markers_in_typed_csv_columns_read_as_null_and_are_not_counted(env: Env) -> None:
    customers(env, "customer_id,name,age,score,signup_date\n"
                   "1,Ann,34,1.5,2026-10-01\n"
                   "2,NA,NA,N/A,NA\n"
                   "3,,,,\n"
                   "4,Bo,41,2.5,2026-10-03\n",
              records.encode_null_markers(["NA", "N/A"]))
    res = env.run("SELECT customer_id, name, age, score, signup_date FROM ecommerce_raw.customers ORDER BY 1",
                  output="csv")
    assert res.rows == [(1, "Ann", 34, 1.5, date(2026, 10, 1)), (2, None, None, None, None),
                        (3, None, None, None, None), (4, "Bo", 41, 2.5, date(2026, 10, 3))]
    assert res.types == ["bigint", "varchar", "bigint", "double", "date"]
    assert res.unparsed_values == [] and res.notices() == []
    assert "unparsed_values" not in json.loads(Path(str(res.metadata_location).removeprefix("file://")).read_text())


def test_ragged_csv_rows_read_like_hive(env: Env) -> None:
    customers(env, '\ufeffcustomer_id,name,age\r\n1,"Lee, Ann",34\r\n2,Bo\r\n3,"say ""hi""",5,extra,more\r\n'
                   '4,"two\r\nlines",6\r\n',
              columns=(Column("customer_id", "bigint"), Column("name", "string"), Column("age", "bigint")))
    res = env.run("SELECT * FROM ecommerce_raw.customers ORDER BY 1")
    assert res.rows == [(1, "Lee, Ann", 34), (2, "Bo", None), (3, 'say "hi"', 5), (4, "two\r\nlines", 6)]
    assert res.unparsed_values == []


def test_a_hive_null_format_alone_is_honoured(env: Env) -> None:
    customers(env, "customer_id,name,age,score,signup_date\n1,\\N,\\N,\\N,\\N\n",
              {records.NULL_FORMAT_PARAM: "\\N"})
    assert env.run("SELECT * FROM ecommerce_raw.customers").rows == [(1, None, None, None, None)]


def test_values_that_do_not_parse_read_as_null_and_are_counted_in_metadata(env: Env) -> None:
    customers(env, "customer_id,name,age,score,signup_date\n"
                   "1,Ann,thirty,1.5,2026-10-01\n"
                   "2,Bo,NA,abc,01/10/2026\n"
                   "3,Cy,12.5,2.0,2026-10-02\n"
                   "4,Di,unknown,3.0,2026-10-03\n",
              records.encode_null_markers(["NA"]))
    res = env.run("SELECT customer_id, age, score FROM ecommerce_raw.customers ORDER BY 1", output="csv")
    assert res.rows == [(1, None, 1.5), (2, None, None), (3, None, 2.0), (4, None, 3.0)]
    expected = [{"table": "ecommerce_raw.customers", "column": "age", "type": "bigint", "values": 3},
                {"table": "ecommerce_raw.customers", "column": "score", "type": "double", "values": 1}]
    assert res.unparsed_values == expected
    assert res.notices() == ["3 values in ecommerce_raw.customers.age did not parse as bigint and read as NULL",
                             "1 value in ecommerce_raw.customers.score did not parse as double and read as NULL"]
    meta = json.loads(Path(str(res.metadata_location).removeprefix("file://")).read_text())
    assert meta["unparsed_values"] == expected
    assert res.to_dict()["unparsed_values"] == expected

    # only columns the query evaluates are converted, and so counted
    assert env.run("SELECT name FROM ecommerce_raw.customers ORDER BY 1").unparsed_values == []
    dates = env.run("SELECT count(signup_date) AS n FROM ecommerce_raw.customers")
    assert (dates.rows, dates.unparsed_values) == ([(3,)], [
        {"table": "ecommerce_raw.customers", "column": "signup_date", "type": "date", "values": 1}])


def test_a_value_past_two_to_the_31_reads_in_a_bigint_column_and_is_null_in_an_int_one(env: Env) -> None:
    customers(env, "customer_id,name,age\n1,Ann,34\n3000000000,Bo,3000000000\n",
              columns=(Column("customer_id", "bigint"), Column("name", "string"), Column("age", "int")))
    res = env.run("SELECT customer_id, age FROM ecommerce_raw.customers ORDER BY 1")
    assert res.rows == [(1, 34), (3000000000, None)]
    assert res.notices() == ["1 value in ecommerce_raw.customers.age did not parse as int and read as NULL"]
    # a filter on the column does not count a value twice
    filtered = env.run("SELECT count(*) AS n FROM ecommerce_raw.customers WHERE age IS NULL OR age > 0")
    assert (filtered.rows, filtered.unparsed_values[0]["values"]) == ([(2,)], 1)


def test_partitioned_text_tables_still_prune_partitions(env: Env) -> None:
    folder = raw_dir(env, "ecommerce", "events")
    for day in ("2026-11-01", "2026-11-02"):
        (folder / f"dt={day}").mkdir()
        (folder / f"dt={day}" / "events.csv").write_text("id,n\n1,x\n2,5\n")
    env.register("ecommerce_raw", "events", str(folder), (Column("id", "bigint"), Column("n", "bigint")),
                 partition_keys=(Column("dt", "date"),), classification="csv",
                 parameters={"skip.header.line.count": "1"})
    res = env.run("SELECT id, n FROM ecommerce_raw.events WHERE dt = DATE '2026-11-02' ORDER BY 1")
    assert res.rows == [(1, None), (2, 5)]
    assert (res.stats["files_scanned"], res.stats["files_total"]) == (1, 2)
    assert res.unparsed_values[0]["values"] == 1


def test_dates_in_the_crawlers_layouts_read_as_dates(env: Env) -> None:
    from lakeglue.crawler.tabledef import COLUMN_FORMATS_PARAM

    assert records.COLUMN_FORMATS_PARAM == COLUMN_FORMATS_PARAM  # one name for crawler and query layer
    customers(env, "customer_id,eu_day,at\n1,23/11/2026,11/23/2026 14:05:00\n2,2026-11-24,junk\n",
              {records.COLUMN_FORMATS_PARAM: json.dumps({"eu_day": "%d/%m/%Y", "at": "%m/%d/%Y %H:%M:%S"})},
              columns=(Column("customer_id", "bigint"), Column("eu_day", "date"), Column("at", "timestamp")))
    res = env.run("SELECT eu_day, at FROM ecommerce_raw.customers ORDER BY customer_id")
    assert res.rows == [(date(2026, 11, 23), datetime(2026, 11, 23, 14, 5)), (date(2026, 11, 24), None)]
    assert res.notices() == ["1 value in ecommerce_raw.customers.at did not parse as timestamp and read as NULL"]


def test_a_latin1_csv_reads_its_accents(env: Env) -> None:
    folder = raw_dir(env, "ecommerce", "customers")
    (folder / "customers_1.csv").write_bytes("customer_id,name\n1,Café\n2,Zoë\n".encode("latin-1"))
    columns = (Column("customer_id", "bigint"), Column("name", "string"))
    env.register("ecommerce_raw", "customers", str(folder), columns, classification="csv",
                 parameters={"skip.header.line.count": "1", records.ENCODING_PARAM: "ISO-8859-1"})
    assert env.run("SELECT * FROM ecommerce_raw.customers ORDER BY 1").rows == [(1, "Café"), (2, "Zoë")]


def test_a_utf16_csv_reads_and_unsupported_encodings_name_the_table(env: Env) -> None:
    folder = raw_dir(env, "ecommerce", "customers")
    (folder / "customers_1.csv").write_bytes("customer_id,name\n1,Café\n".encode("utf-16-le"))
    columns = (Column("customer_id", "bigint"), Column("name", "string"))
    env.register("ecommerce_raw", "customers", str(folder), columns, classification="csv",
                 parameters={"skip.header.line.count": "1", records.ENCODING_PARAM: "UTF-16LE"})
    assert env.run("SELECT * FROM ecommerce_raw.customers").rows == [(1, "Café")]

    big = raw_dir(env, "ecommerce", "big_endian")
    (big / "customers_1.csv").write_bytes("customer_id,name\n1,Café\n".encode("utf-16-be").join([b"\xfe\xff", b""]))
    env.register("ecommerce_raw", "big_endian", str(big), columns, classification="csv",
                 parameters={"skip.header.line.count": "1", records.ENCODING_PARAM: "UTF-16"})
    with pytest.raises(QueryError, match=r"table ecommerce_raw\.big_endian: .*customers_1\.csv is UTF-16 big-endian; "
                                         "the duckdb engine reads UTF-16 little-endian only"):
        env.run("SELECT * FROM ecommerce_raw.big_endian")

    other = raw_dir(env, "ecommerce", "legacy")
    (other / "legacy.csv").write_bytes("customer_id,name\n1,\x80uro\n".encode("latin-1"))
    env.register("ecommerce_raw", "legacy", str(other), columns, classification="csv",
                 parameters={"skip.header.line.count": "1", records.ENCODING_PARAM: "WINDOWS-1252"})
    with pytest.raises(QueryError, match=r"table ecommerce_raw\.legacy is encoded WINDOWS-1252; the duckdb engine "
                                         r"reads text tables encoded UTF-8, ISO-8859-1, UTF-16LE, UTF-16"):
        env.run("SELECT * FROM ecommerce_raw.legacy")


@pytest.mark.parametrize(("encoding", "codec"), [("ISO-8859-1", "latin-1"), ("UTF-16LE", "utf-16-le")])
def test_json_lines_in_another_encoding_are_decoded(env: Env, encoding: str, codec: str) -> None:
    folder = raw_dir(env, "ecommerce", "orders")
    lines = ['{"id": 1, "na\\"me": "Café", "tags": ["é"], "n": null}', "",
             '{"id": "zwei", "na\\"me": "NA", "tags": null, "n": 2}']
    (folder / "batch_1.json").write_bytes("\n".join(lines).encode(codec) + "\n".encode(codec))
    columns = (Column("id", "bigint"), Column("na_me", "string"), Column("tags", "array<string>"),
               Column("n", "int"))
    env.register("ecommerce_raw", "orders", str(folder), columns, classification="json",
                 parameters={records.ENCODING_PARAM: encoding, **records.encode_original_names({"na_me": 'na"me'}),
                             **records.encode_null_markers(["NA"])})
    res = env.run("SELECT * FROM ecommerce_raw.orders ORDER BY n NULLS FIRST")
    assert res.rows == [(1, "Café", ["é"], None), (None, None, None, 2)]
    assert res.notices() == ["1 value in ecommerce_raw.orders.id did not parse as bigint and read as NULL"]


def test_json_in_another_encoding_without_catalog_columns_is_a_clear_error(env: Env) -> None:
    folder = raw_dir(env, "ecommerce", "orders")
    (folder / "batch_1.json").write_bytes('{"id": 1}\n'.encode("latin-1"))
    env.register("ecommerce_raw", "orders", str(folder), (), classification="json",
                 parameters={records.ENCODING_PARAM: "latin1"})
    with pytest.raises(QueryError, match=r"table ecommerce_raw\.orders is JSON encoded ISO-8859-1 and has no "
                                         "columns in the catalog; crawl it first"):
        env.run("SELECT * FROM ecommerce_raw.orders")


def test_renamed_json_keys_are_read_under_their_original_names(env: Env) -> None:
    folder = raw_dir(env, "ecommerce", "orders")
    lines = [{"order id": 1, 'say "hi"': "hello", "Items": [{"Product ID": 7, "qty": 2}], "ok": "NA"},
             {"order id": "two", 'say "hi"': "NA", "Items": [], "ok": True},
             {"order id": 3, 'say "hi"': "zed", "Items": "not a list", "ok": False}]
    (folder / "batch_1.json").write_text("".join(json.dumps(line) + "\n" for line in lines))
    columns = (Column("order_id", "bigint"), Column("say_hi", "string"),
               Column("items", "array<struct<product_id:bigint,qty:int>>"), Column("ok", "boolean"))
    renamed = {"order_id": "order id", "say_hi": 'say "hi"', "items": "Items", "items.product_id": "Product ID"}
    env.register("ecommerce_raw", "orders", str(folder), columns, classification="json",
                 parameters={**records.encode_original_names(renamed), **records.encode_null_markers(["NA"])})
    res = env.run("SELECT order_id, say_hi, items, ok FROM ecommerce_raw.orders ORDER BY say_hi NULLS LAST")
    assert res.rows == [(1, "hello", [{"product_id": 7, "qty": 2}], None), (3, "zed", None, False),
                        (None, None, [], True)]
    assert res.types == ["bigint", "varchar", "array(row(product_id bigint, qty integer))", "boolean"]
    assert res.notices() == [  # the renamed nested column is rebuilt from one cast: its bad value counts once
        "1 value in ecommerce_raw.orders.order_id did not parse as bigint and read as NULL",
        "1 value in ecommerce_raw.orders.items did not parse as array<struct<product_id:bigint,qty:int>> and read "
        "as NULL"]


def test_unreadable_tables_name_the_table_and_the_reason(env: Env) -> None:
    folder = raw_dir(env, "ecommerce", "archive")
    (folder / "orders.zip").write_bytes(b"PK\x03\x04not really")
    env.register("ecommerce_raw", "archive", str(folder), (Column("id", "bigint"),), classification="csv",
                 parameters={records.UNREADABLE_PARAM: "zip archive: read it through bronze"})
    with pytest.raises(QueryError) as info:
        env.run("SELECT * FROM ecommerce_raw.archive")
    assert str(info.value) == ("table ecommerce_raw.archive cannot be queried: zip archive: read it through bronze "
                               f"(table parameter {records.UNREADABLE_PARAM})")
    # refused before any engine runs: the same answer on Trino (no server needed) and in a CTAS
    with pytest.raises(QueryError, match=r"table ecommerce_raw\.archive cannot be queried: zip archive"):
        env.run("SELECT * FROM ecommerce_raw.archive", engine="trino")
    with pytest.raises(QueryError, match=r"table ecommerce_raw\.archive cannot be queried: zip archive"):
        env.run("CREATE TABLE ecommerce_raw.copy AS SELECT * FROM ecommerce_raw.archive")


@pytest.mark.parametrize("name", ["[a].json", "*.json", "?.json", "{a,b}.json", "a]b.json"])
def test_file_names_with_glob_characters_are_read_literally(env: Env, name: str) -> None:
    folder = raw_dir(env, "ecommerce", "odd")
    (folder / "a.json").write_text('{"id": 1}\n')
    (folder / "b.json").write_text('{"id": 2}\n')
    (folder / name).write_text('{"id": 3}\n')
    env.register("ecommerce_raw", "odd", str(folder), (Column("id", "bigint"),), classification="json")
    res = env.run("SELECT id FROM ecommerce_raw.odd ORDER BY id")
    assert (res.rows, res.stats["files_scanned"]) == ([(1,), (2,), (3,)], 3)


def test_a_glob_character_in_the_table_directory_is_literal(env: Env) -> None:
    folder = raw_dir(env, "ecommerce", "odd[1]")
    (folder / "a.json").write_text('{"id": 1}\n')
    sibling = raw_dir(env, "ecommerce", "odd1")
    (sibling / "a.json").write_text('{"id": 2}\n')
    env.register("ecommerce_raw", "odd", str(folder), (Column("id", "bigint"),), classification="json")
    assert env.run("SELECT id FROM ecommerce_raw.odd").rows == [(1,)]


@pytest.fixture
def cli_env(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("LAKEGLUE_HOME", env.settings.lake_root)
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", env.settings.catalog_url)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_the_cli_prints_a_notice_per_column_with_unparsed_values(cli_env: Env,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    customers(cli_env, "customer_id,name,age\n1,Ann,x\n2,Bo,y\n3,Cy,z\n4,Di,40\n",
              columns=(Column("customer_id", "bigint"), Column("name", "string"), Column("age", "bigint")))
    assert main(["query", "SELECT sum(age) AS total FROM ecommerce_raw.customers"]) == 0
    out, err = capsys.readouterr()
    assert "40" in out
    assert err.strip() == "notice: 3 values in ecommerce_raw.customers.age did not parse as bigint and read as NULL"


def test_a_columns_own_original_name_is_used_when_the_table_map_lacks_it() -> None:
    from dataclasses import dataclass, field

    from lakeglue.catalog import StorageDescriptor, Table
    from lakeglue.query.text_tables import source_names

    @dataclass(frozen=True)
    class ColumnWithParameters(Column):  # the shape catalog columns take once they carry parameters
        parameters: dict[str, str] = field(default_factory=dict)

    columns = (ColumnWithParameters("order_id", "bigint", parameters={records.ORIGINAL_NAME_PARAM: "Order ID"}),
               ColumnWithParameters("items", "string"), Column("plain", "string"))
    table = Table("d", "t", StorageDescriptor.for_format("json", columns, "/x"),
                  parameters={"classification": "json", **records.encode_original_names({"items": "Items"})})
    assert source_names(table) == {"order_id": "Order ID", "items": "Items", "plain": "plain"}


def test_explain_reads_text_tables_too(env: Env) -> None:
    from lakeglue.query import explain_query

    customers(env, "customer_id,name,age,score,signup_date\n1,Ann,x,1.5,2026-10-01\n")
    plan = explain_query("SELECT age FROM ecommerce_raw.customers", catalog=env.catalog, settings=env.settings)
    assert "READ_CSV" in plan.upper()


def test_the_operator_returns_and_logs_the_unparsed_values(cli_env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    from lakeglue_airflow.operators.query import LakeQueryOperator

    customers(cli_env, "customer_id,name,age\n1,Ann,x\n2,Bo,40\n",
              columns=(Column("customer_id", "bigint"), Column("name", "string"), Column("age", "bigint")))
    summary = LakeQueryOperator(task_id="raw", sql="SELECT max(age) AS oldest FROM ecommerce_raw.customers",
                                output="csv").execute({})
    assert summary["unparsed_values"] == [
        {"table": "ecommerce_raw.customers", "column": "age", "type": "bigint", "values": 1}]
    warnings = [line for line in capsys.readouterr().out.splitlines() if "[warning" in line]  # Airflow's structlog
    assert any("1 value in ecommerce_raw.customers.age did not parse as bigint and read as NULL" in line
               for line in warnings)


def test_wide_text_decimals_parse_exactly_past_eighteen_digits_and_round_like_the_wide_cast(env: Env) -> None:
    # decimal(38,s) text is parsed as decimal(18,s) when it fits (DuckDB's 128-bit text parse is very slow),
    # else with the wide cast: both give the same values, and what parses in neither is counted
    customers(env, "customer_id,amount\n1,12.345\n2,-0.005\n3,123456789012345678901234.56\n4,1e3\n5,twelve\n",
              columns=(Column("customer_id", "bigint"), Column("amount", "decimal(38,2)")))
    res = env.run("SELECT customer_id, amount FROM ecommerce_raw.customers ORDER BY 1")
    assert res.rows == [(1, Decimal("12.35")), (2, Decimal("-0.01")), (3, Decimal("123456789012345678901234.56")),
                        (4, Decimal("1000.00")), (5, None)]
    assert res.unparsed_values == [
        {"table": "ecommerce_raw.customers", "column": "amount", "type": "decimal(38,2)", "values": 1}]
