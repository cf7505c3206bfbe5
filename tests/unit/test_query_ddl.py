"""Athena's DDL through ``run_query`` on the embedded profile: SQLite catalog (Postgres where marked), real DuckDB.

Every statement is checked by what it does to the catalog and by what a query reads afterwards,
with exact rows: external tables over CSV / JSON / Parquet files the test writes into the lake,
partitions added by MSCK REPAIR and ALTER TABLE, views expanded for DuckDB, DROP keeping or
deleting data by the managed-table rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue.catalog.sql import SqlCatalog
from lakeglue.query import QueryError, QueryResult, explain_query, run_query
from lakeglue.query.views import decode_view
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from tests.support.postgres import throwaway_catalog_url

EVENTS_DDL = """CREATE EXTERNAL TABLE IF NOT EXISTS shop.events (
  event_id bigint COMMENT 'unique per event',
  kind string,
  amount decimal(10,2))
PARTITIONED BY (dt string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'
STORED AS TEXTFILE
LOCATION '{root}/raw/events/'
TBLPROPERTIES ('skip.header.line.count'='1')"""


class Lakehouse:
    """A lake in tmp with raw files, its catalog, and ``sql`` to run statements like a user."""

    def __init__(self, tmp: Path, catalog_url: str) -> None:
        self.root = tmp / "lake"
        self.settings = Settings(lake_root=str(self.root), catalog_url=catalog_url)
        self.catalog = SqlCatalog(catalog_url)
        self.lake = Lake(self.settings)
        self.lake.ensure_zones()
        for dt, rows in {"2026-11-01": ["1|view|0.00", "2|buy|12.50"], "2026-11-02": ["3|buy|7.25"],
                         "2026-11-03": ["4|buy|1.00"]}.items():
            folder = self.root / "raw" / "events" / f"dt={dt}"
            folder.mkdir(parents=True)
            (folder / "part-0.csv").write_text("event_id|kind|amount\n" + "\n".join(rows) + "\n")
        (self.root / "raw" / "events" / "_SUCCESS").write_text("")  # litter, as Spark leaves it
        people = self.root / "raw" / "people"
        people.mkdir(parents=True)
        (people / "p.json").write_text("\n".join(json.dumps(r) for r in [
            {"id": 1, "name": "Ada", "tags": ["a", "b"]}, {"id": 2, "name": "Bo", "tags": []}]) + "\n")
        prices = self.root / "raw" / "prices"
        prices.mkdir(parents=True)
        pq.write_table(pa.table({"kind": ["buy", "view"], "fee": pa.array([2, 0], pa.int64())}), prices / "p.parquet")

    def sql(self, text: str, **kwargs: Any) -> QueryResult:
        kwargs.setdefault("output", None)
        return run_query(text, catalog=self.catalog, lake=self.lake, settings=self.settings, **kwargs)

    def rows(self, text: str, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.sql(text, **kwargs).rows]

    def events(self) -> None:
        self.sql("CREATE DATABASE shop")
        self.sql(EVENTS_DDL.format(root=f"file://{self.root}"))


@pytest.fixture
def lh(tmp_path: Path) -> Lakehouse:
    return Lakehouse(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")


@pytest.fixture(params=["sqlite", "postgres"])
def any_lh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lakehouse]:
    if request.param == "sqlite":
        yield Lakehouse(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
        return
    with throwaway_catalog_url() as url:
        yield Lakehouse(tmp_path, url)


def test_databases_create_show_drop(any_lh: Lakehouse) -> None:
    lh = any_lh
    assert lh.rows("CREATE DATABASE analytics") == [("database analytics created",)]
    assert lh.rows("CREATE SCHEMA IF NOT EXISTS analytics") == [
        ("database analytics already exists (IF NOT EXISTS): nothing changed",)]
    with pytest.raises(QueryError, match=re.escape("database analytics already exists")):
        lh.sql("create schema analytics")
    lh.sql(f"CREATE DATABASE archive COMMENT 'old' LOCATION 'file://{lh.root}/curated/archive' "
           "WITH DBPROPERTIES ('owner'='ops', 'note'='it''s old')")
    archive = lh.catalog.get_database("archive")
    assert (archive.description, archive.location_uri, archive.parameters) == (
        "old", f"file://{lh.root}/curated/archive", {"owner": "ops", "note": "it's old"})
    res = lh.sql("SHOW DATABASES")
    assert (res.columns, res.types, res.rows) == (["database_name"], ["varchar"], [("analytics",), ("archive",)])
    assert lh.rows("SHOW SCHEMAS LIKE 'an%'") == [("analytics",)]
    assert lh.rows("SHOW DATABASES 'arch*|nope'") == [("archive",)]
    lh.sql(f"CREATE EXTERNAL TABLE analytics.prices (kind string, fee bigint) STORED AS PARQUET "
           f"LOCATION 'file://{lh.root}/raw/prices'")
    with pytest.raises(QueryError, match=r"database analytics is not empty \(tables: prices\); DROP DATABASE "
                                         "analytics CASCADE"):
        lh.sql("DROP DATABASE analytics")
    assert lh.rows("DROP SCHEMA analytics CASCADE") == [
        (f"table analytics.prices dropped; its data at file://{lh.root}/raw/prices stays (external table)",),
        ("database analytics dropped",)]
    assert (lh.root / "raw" / "prices" / "p.parquet").exists()
    assert lh.rows("DROP DATABASE IF EXISTS analytics") == [
        ("database analytics does not exist (IF EXISTS): nothing changed",)]
    with pytest.raises(QueryError, match=re.escape("there is no database analytics")):
        lh.sql("DROP DATABASE analytics")
    assert lh.rows("SHOW DATABASES") == [("archive",)]


def test_external_csv_table_msck_repair_and_partitions(any_lh: Lakehouse) -> None:
    lh = any_lh
    lh.events()
    table = lh.catalog.get_table("shop", "events")
    assert (table.classification, table.storage.serde_parameters, table.parameters["skip.header.line.count"],
            table.location) == ("csv", {"field.delim": "|", "serialization.format": "|"}, "1",
                                f"file://{lh.root}/raw/events")
    assert lh.rows("SELECT count(*) FROM shop.events") == [(0,)]  # as in Athena: no partitions yet
    assert lh.rows("MSCK REPAIR TABLE shop.events") == [
        (f"Repair: Added partition to metastore shop.events:dt={d}",) for d in ("2026-11-01", "2026-11-02",
                                                                                 "2026-11-03")]
    assert lh.rows("MSCK REPAIR TABLE shop.events") == [(f"no new partitions under file://{lh.root}/raw/events",)]
    assert lh.rows("SELECT event_id, kind, amount, dt FROM shop.events WHERE dt <> '2026-11-03' ORDER BY event_id") == [
        (1, "view", pytest.approx(0), "2026-11-01"), (2, "buy", pytest.approx(12.5), "2026-11-01"),
        (3, "buy", pytest.approx(7.25), "2026-11-02")]
    assert lh.rows("SHOW PARTITIONS shop.events") == [("dt=2026-11-01",), ("dt=2026-11-02",), ("dt=2026-11-03",)]


def test_alter_table_add_and_drop_partition(lh: Lakehouse) -> None:
    lh.events()
    lh.sql("ALTER TABLE shop.events ADD PARTITION (dt = '2026-11-01') PARTITION (dt='2026-11-02') "
           f"LOCATION 'file://{lh.root}/raw/events/dt=2026-11-02/'")
    parts = {p.values: p.location for p in lh.catalog.get_partitions("shop", "events")}
    assert parts == {("2026-11-01",): f"file://{lh.root}/raw/events/dt=2026-11-01",
                     ("2026-11-02",): f"file://{lh.root}/raw/events/dt=2026-11-02"}
    assert lh.rows("SELECT sum(event_id) FROM shop.events") == [(6,)]
    assert lh.rows("ALTER TABLE shop.events ADD IF NOT EXISTS PARTITION (dt='2026-11-01')") == [
        ("partition dt=2026-11-01 already exists: skipped",)]
    with pytest.raises(QueryError, match=re.escape("partition dt=2026-11-01 of shop.events already exists")):
        lh.sql("ALTER TABLE shop.events ADD PARTITION (dt='2026-11-01')")
    with pytest.raises(QueryError, match=re.escape("must give every partition key of shop.events exactly once: dt")):
        lh.sql("ALTER TABLE shop.events ADD PARTITION (day='2026-11-01')")
    assert lh.rows("ALTER TABLE shop.events DROP PARTITION (dt='2026-11-01')", database="shop") == [
        ("partition dt=2026-11-01 dropped (its data stays)",)]
    assert lh.rows("SELECT event_id FROM events", database="shop") == [(3,)]
    assert (lh.root / "raw" / "events" / "dt=2026-11-01" / "part-0.csv").exists()
    assert lh.rows("ALTER TABLE shop.events DROP IF EXISTS PARTITION (dt='2026-11-01')") == [
        ("partition dt=2026-11-01 does not exist: skipped",)]
    with pytest.raises(QueryError, match=re.escape("partition dt=2026-11-09 of shop.events does not exist")):
        lh.sql("ALTER TABLE shop.events DROP PARTITION (dt='2026-11-09')")


def test_describe_show_columns_and_show_create_table_round_trip(lh: Lakehouse) -> None:
    lh.events()
    assert lh.rows("DESCRIBE shop.events") == [
        ("event_id", "bigint", "unique per event"), ("kind", "string", ""), ("amount", "decimal(10,2)", ""),
        ("dt", "string", ""), ("", "", ""), ("# Partition Information", "", ""),
        ("# col_name", "data_type", "comment"), ("", "", ""), ("dt", "string", "")]
    res = lh.sql("SHOW COLUMNS IN events FROM shop")
    assert (res.columns, res.rows) == (["field"], [("event_id",), ("kind",), ("amount",), ("dt",)])
    created = lh.rows("SHOW CREATE TABLE shop.events")
    text = "\n".join(r[0] for r in created)
    assert text.startswith("CREATE EXTERNAL TABLE `shop`.`events`(\n  `event_id` bigint COMMENT 'unique per event',")
    assert f"LOCATION\n  'file://{lh.root}/raw/events'" in text
    before = lh.catalog.get_table("shop", "events")
    lh.sql("DROP TABLE shop.events")
    lh.sql(text)  # what SHOW CREATE TABLE prints recreates the same table
    after = lh.catalog.get_table("shop", "events")
    assert (after.storage, after.partition_keys, after.parameters) == (
        before.storage, before.partition_keys, before.parameters)


def test_external_parquet_and_json_tables_read_exact_values(lh: Lakehouse) -> None:
    lh.sql("CREATE DATABASE shop")
    lh.sql(f"CREATE EXTERNAL TABLE shop.prices (kind string, fee bigint) STORED AS PARQUET "
           f"LOCATION 'file://{lh.root}/raw/prices/'")
    lh.sql("CREATE EXTERNAL TABLE shop.people (id int, name string, tags array<string>) "
           "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
           f"LOCATION 'file://{lh.root}/raw/people'")
    assert lh.catalog.get_table("shop", "people").storage.serde == "org.openx.data.jsonserde.JsonSerDe"
    assert lh.rows("SELECT kind, fee FROM shop.prices ORDER BY kind") == [("buy", 2), ("view", 0)]
    quoted = lh.root / "raw" / "quoted"
    quoted.mkdir()
    (quoted / "q.csv").write_text('"id";"note"\n"1";"a;b"\n"2";"say ""hi"""\n')
    lh.sql("CREATE EXTERNAL TABLE shop.notes (id string, note string) "
           "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' "
           "WITH SERDEPROPERTIES ('separatorChar'=';', 'quoteChar'='\"') "
           f"LOCATION 'file://{lh.root}/raw/quoted' TBLPROPERTIES ('skip.header.line.count'='1')")
    assert lh.rows("SELECT id, note FROM shop.notes ORDER BY id") == [("1", "a;b"), ("2", 'say "hi"')]
    plain = lh.root / "raw" / "plain"
    plain.mkdir()
    (plain / "p.txt").write_text("1\x01a,b\n2\x01c\n")
    lh.sql(f"CREATE EXTERNAL TABLE shop.plain (id int, v string) LOCATION 'file://{plain}'")  # Hive's default: ^A
    assert lh.rows("SELECT id, v FROM shop.plain ORDER BY id") == [(1, "a,b"), (2, "c")]
    assert lh.rows("SELECT id, name, cardinality(tags) FROM shop.people ORDER BY id") == [(1, "Ada", 2), (2, "Bo", 0)]


@pytest.mark.parametrize("location", [
    "file:///etc", "/tmp", "s3://bucket/raw/x", "raw/events", "file://{root}/raw/../../outside",
    "file://{root}",  # the lake root is not a zone
])
def test_locations_outside_the_lake_are_refused(lh: Lakehouse, location: str) -> None:
    lh.sql("CREATE DATABASE shop")
    loc = location.format(root=lh.root)
    with pytest.raises(QueryError, match="LOCATION") as info:
        lh.sql(f"CREATE EXTERNAL TABLE shop.t (a int) STORED AS PARQUET LOCATION '{loc}'")
    assert loc in str(info.value) or "outside" in str(info.value) or "'..'" in str(info.value)
    assert not lh.catalog.table_exists("shop", "t")
    lh.sql(EVENTS_DDL.format(root=f"file://{lh.root}"))
    with pytest.raises(QueryError, match=re.escape("partition dt=x LOCATION")):
        lh.sql(f"ALTER TABLE shop.events ADD PARTITION (dt='x') LOCATION '{loc}'")
    assert lh.catalog.get_partitions("shop", "events") == []


def test_drop_table_keeps_external_data_and_deletes_managed_ctas_data(lh: Lakehouse) -> None:
    lh.events()
    lh.sql("MSCK REPAIR TABLE shop.events")
    lh.sql("CREATE TABLE shop.buys WITH (partitioned_by = ARRAY['dt']) AS "
           "SELECT event_id, amount, dt FROM shop.events WHERE kind = 'buy'")
    buys = lh.catalog.get_table("shop", "buys")
    data_dir = Path(buys.location.removeprefix("file://"))
    assert sorted(p.name for p in data_dir.iterdir()) == ["dt=2026-11-01", "dt=2026-11-02", "dt=2026-11-03"]
    assert lh.rows("DROP TABLE shop.buys") == [
        (f"table shop.buys dropped with its data (managed table: deleted file://{data_dir})",)]
    assert not data_dir.exists() and not lh.catalog.table_exists("shop", "buys")
    lh.sql("DROP TABLE shop.events")
    assert sorted(p.name for p in (lh.root / "raw" / "events").iterdir()) == [
        "_SUCCESS", "dt=2026-11-01", "dt=2026-11-02", "dt=2026-11-03"]
    assert lh.rows("DROP TABLE IF EXISTS shop.events") == [
        ("table shop.events does not exist (IF EXISTS): nothing changed",)]
    with pytest.raises(QueryError, match=re.escape("table shop.events not found")):
        lh.sql("DROP TABLE shop.events")


def test_show_tables_and_views_with_patterns(lh: Lakehouse) -> None:
    lh.events()
    lh.sql(f"CREATE EXTERNAL TABLE shop.prices (kind string, fee bigint) STORED AS PARQUET "
           f"LOCATION 'file://{lh.root}/raw/prices'")
    lh.sql("CREATE VIEW shop.event_kinds AS SELECT DISTINCT kind FROM shop.events")
    assert lh.rows("SHOW TABLES IN shop") == [("event_kinds",), ("events",), ("prices",)]
    assert lh.rows("SHOW TABLES FROM shop LIKE 'event%'") == [("event_kinds",), ("events",)]
    assert lh.rows("SHOW TABLES 'pri*|events'", database="shop") == [("events",), ("prices",)]
    res = lh.sql("SHOW VIEWS IN shop")
    assert (res.columns, res.rows) == (["views"], [("event_kinds",)])
    with pytest.raises(QueryError, match=re.escape("there is no database shp; did you mean shop")):
        lh.sql("SHOW TABLES IN shp")


def test_views_are_catalog_views_that_duckdb_expands(lh: Lakehouse) -> None:
    lh.events()
    lh.sql("MSCK REPAIR TABLE shop.events")
    lh.sql(f"CREATE EXTERNAL TABLE shop.prices (kind string, fee bigint) STORED AS PARQUET "
           f"LOCATION 'file://{lh.root}/raw/prices'")
    # bare names in a view resolve against the session's database, as in Athena
    lh.sql("CREATE VIEW buys AS SELECT event_id, amount + fee AS total, e.dt FROM events e "
           "JOIN prices p ON e.kind = p.kind WHERE e.kind = 'buy'", database="shop")
    view = lh.catalog.get_table("shop", "buys")
    assert (view.table_type, view.location, [(c.name, c.type) for c in view.columns]) == (
        "VIRTUAL_VIEW", "", [("event_id", "bigint"), ("total", "decimal(22,2)"), ("dt", "string")])
    assert view.view_original_text.startswith("/* Presto View: ") and view.view_expanded_text == "/* Presto View */"
    assert decode_view(view).schema == "shop"
    assert lh.rows("SELECT event_id, total FROM shop.buys WHERE dt >= '2026-11-02' ORDER BY 1") == [
        (3, pytest.approx(9.25)), (4, pytest.approx(3))]
    plan = explain_query("SELECT * FROM shop.buys", catalog=lh.catalog, settings=lh.settings)
    assert "READ_CSV" in plan.upper() and "READ_PARQUET" in plan.upper()  # the view's tables, not the view
    lh.sql("CREATE VIEW shop.big_buys AS SELECT b.event_id FROM shop.buys b WHERE b.total > 5")  # a view on a view
    assert lh.rows("SELECT * FROM shop.big_buys ORDER BY event_id") == [(2,), (3,)]
    with pytest.raises(QueryError, match=re.escape("view shop.buys already exists")):
        lh.sql("CREATE VIEW shop.buys AS SELECT 1 AS one")
    lh.sql("CREATE OR REPLACE VIEW shop.buys AS SELECT event_id, amount AS total FROM shop.events")
    assert lh.catalog.get_table("shop", "buys").version == 2
    assert lh.rows("SELECT count(*) FROM shop.big_buys") == [(2,)]  # 12.50 and 7.25: reads the new definition
    assert lh.rows("SHOW CREATE VIEW shop.buys") == [
        ("CREATE VIEW `shop`.`buys` AS",), ("SELECT event_id, amount AS total FROM shop.events",)]
    assert lh.rows("DESCRIBE shop.buys") == [("event_id", "bigint", ""), ("total", "decimal(10,2)", "")]
    lh.sql("CREATE TABLE shop.buys_copy AS SELECT * FROM shop.buys")  # CTAS reads the view too
    assert lh.rows("SELECT count(*) FROM shop.buys_copy") == [(4,)]
    with pytest.raises(QueryError, match=re.escape("shop.buys is a view; use DROP VIEW")):
        lh.sql("DROP TABLE shop.buys")
    cycle = "view shop.buys reads itself: shop.buys -> shop.big_buys -> shop.buys"
    with pytest.raises(QueryError, match=re.escape(cycle)):
        lh.sql("CREATE OR REPLACE VIEW shop.buys AS SELECT event_id, event_id AS total FROM shop.big_buys")
    assert lh.rows("DROP VIEW shop.big_buys") == [("view shop.big_buys dropped",)]
    with pytest.raises(QueryError, match=re.escape("table shop.nope not found")):
        lh.sql("CREATE VIEW shop.v AS SELECT * FROM shop.nope")


def test_ddl_results_are_written_like_query_results(lh: Lakehouse) -> None:
    lh.events()
    res = lh.sql("SHOW PARTITIONS shop.events", output="csv")
    assert res.rows == [] and res.row_count == 0
    lh.sql("MSCK REPAIR TABLE shop.events")
    res = lh.sql("DESCRIBE shop.events", output="csv")
    meta = json.loads(lh.lake.read_text(res.metadata_location.removeprefix("file://")))
    assert (meta["state"], meta["statement_type"], meta["rows"]) == ("SUCCEEDED", "DDL", 9)
    csv = lh.lake.read_text(res.output_location.removeprefix("file://"))
    assert csv.splitlines()[:2] == ["col_name,data_type,comment", "event_id,bigint,unique per event"]


def test_lakeglue_query_cli_runs_ddl(lh: Lakehouse, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from lakeglue.cli import main
    from lakeglue.settings import get_settings

    monkeypatch.setenv("LAKEGLUE_HOME", str(lh.root))
    monkeypatch.setenv("LAKEGLUE_CATALOG_URL", lh.settings.catalog_url)
    get_settings.cache_clear()
    try:
        assert main(["query", "CREATE DATABASE shop"]) == 0
        assert main(["query", EVENTS_DDL.format(root=f"file://{lh.root}")]) == 0
        assert main(["query", "MSCK REPAIR TABLE events", "--database", "shop"]) == 0
        capsys.readouterr()
        assert main(["query", "SHOW PARTITIONS shop.events"]) == 0
        out = capsys.readouterr().out
        assert "dt=2026-11-01" in out and "dt=2026-11-03" in out and "3 rows" in out
        assert main(["query", "SHOW TABLES IN nope"]) == 2
        assert "there is no database nope" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_managed_data_is_not_deleted_under_a_reader_and_recreated_tables_are_external(lh: Lakehouse) -> None:
    from lakeglue.catalog.pins import pinned

    lh.events()
    lh.sql("MSCK REPAIR TABLE shop.events")
    lh.sql("CREATE TABLE shop.kinds AS SELECT DISTINCT kind FROM shop.events")
    kinds = lh.catalog.get_table("shop", "kinds")
    data_dir = Path(kinds.location.removeprefix("file://"))
    with pinned(lh.catalog, lh.settings, "query/slow-reader", [kinds]):
        for statement in ("DROP TABLE shop.kinds", "DROP DATABASE shop CASCADE"):
            with pytest.raises(QueryError, match=r"being read by query/slow-reader; .* Nothing was dropped"):
                lh.sql(statement)
    assert lh.rows("SHOW TABLES IN shop") == [("events",), ("kinds",)]  # CASCADE dropped nothing either
    assert lh.catalog.table_exists("shop", "kinds") and data_dir.is_dir()
    ddl = "\n".join(r[0] for r in lh.rows("SHOW CREATE TABLE shop.kinds"))
    assert "'lakeglue.created_by_query'=" in ddl
    lh.sql("DROP TABLE shop.kinds")
    assert not data_dir.exists()
    data_dir.mkdir(parents=True)
    pq.write_table(pa.table({"kind": ["buy"]}), data_dir / "part-0.parquet")
    assert lh.rows(ddl) == [(f"table shop.kinds created over file://{data_dir} (lakeglue.created_by_query left out: "
                             "DROP TABLE keeps an external table's data)",)]
    assert lh.rows("SELECT kind FROM shop.kinds") == [("buy",)]
    lh.sql("DROP TABLE shop.kinds")
    assert (data_dir / "part-0.parquet").exists()  # recreated by DDL: external, its data stays


@pytest.mark.parametrize("statement", [
    'CREATE DATABASE "../x"', "CREATE SCHEMA `a/b`",
    "CREATE EXTERNAL TABLE shop.`x/y` (a int) STORED AS PARQUET LOCATION 'file://{root}/raw/prices'",
    'CREATE VIEW shop."../v" AS SELECT 1 AS one',
])
def test_names_that_cannot_be_folders_are_refused(lh: Lakehouse, statement: str) -> None:
    lh.sql("CREATE DATABASE shop")
    with pytest.raises(QueryError, match="cannot be used as a folder of the lake"):
        lh.sql(statement.format(root=lh.root))
    assert [d.name for d in lh.catalog.list_databases()] == ["shop"] and lh.catalog.list_tables("shop") == []


def test_partition_values_stay_inside_the_table_folder(lh: Lakehouse) -> None:
    lh.events()
    lh.sql("ALTER TABLE shop.events ADD PARTITION (dt='../../etc')")
    [part] = lh.catalog.get_partitions("shop", "events")
    assert (part.values, part.location) == (("../../etc",), f"file://{lh.root}/raw/events/dt=..%2F..%2Fetc")
    assert lh.rows("SHOW PARTITIONS shop.events") == [("dt=../../etc",)]


def test_statements_lakeglue_does_not_run_say_what_does(lh: Lakehouse) -> None:
    with pytest.raises(QueryError, match="unsupported SHOW statement 'SHOW FUNCTIONS'"):
        lh.sql("SHOW FUNCTIONS")
    with pytest.raises(QueryError, match="expected exactly one SQL statement, got 2"):
        lh.sql("CREATE DATABASE a; CREATE DATABASE b")
    with pytest.raises(QueryError, match=r"ALTER TABLE supports ADD .* PARTITION"):
        lh.sql("ALTER TABLE shop.events RENAME TO shop.e")
    with pytest.raises(QueryError, match="needs LOCATION"):
        lh.sql("CREATE EXTERNAL TABLE shop.t (a int) STORED AS PARQUET")
    with pytest.raises(QueryError, match="STORED AS ORC"):
        lh.sql(f"CREATE EXTERNAL TABLE shop.t (a int) STORED AS ORC LOCATION 'file://{lh.root}/raw/x'")
    with pytest.raises(QueryError, match="catalog statements take no \\? parameters"):
        lh.sql("SHOW DATABASES", params=[1])
    assert lh.catalog.list_databases() == []
