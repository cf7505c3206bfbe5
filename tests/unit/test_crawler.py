"""The crawler on files each test writes into its own lake: exact columns, types, partitions, metrics."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from lakeglue.catalog.model import Column, Table
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.crawler import CrawlerConfig, CrawlerConfigError, CrawlResult, crawl
from lakeglue.crawler.csvinfer import looks_like_header, sniff_delimiter
from lakeglue.crawler.names import sanitize_name
from lakeglue.crawler.partitions import detect_layout
from lakeglue.crawler.types import GlueType, format_type, parse_type, widen
from lakeglue.ledger import Ledger
from lakeglue.settings import Settings
from lakeglue.storage.zones import Lake

DB = "ecommerce_raw"


@dataclass
class Env:
    root: Path
    lake: Lake
    catalog: SqlCatalog
    ledger: Ledger

    @property
    def prefix_dir(self) -> Path:
        return self.root / "raw" / "ecommerce"

    def write(self, rel: str, data: str | bytes) -> Path:
        path = self.prefix_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def crawl(self, dry_run: bool = False, **options: Any) -> CrawlResult:
        config = CrawlerConfig(database=DB, zone="raw", prefix="ecommerce", source_prefix="ecommerce", **options)
        return crawl(config, lake=self.lake, catalog=self.catalog, ledger=self.ledger, dry_run=dry_run)

    def table(self, name: str) -> Table:
        return self.catalog.get_table(DB, name)

    def columns(self, name: str) -> list[tuple[str, str]]:
        return [(c.name, c.type) for c in self.table(name).columns]

    def uri(self, rel: str) -> str:
        return "file://" + str(self.prefix_dir / rel)


def make_env(tmp_path: Path) -> Env:
    """A lake, SQLite catalog and ledger of its own under ``tmp_path`` (shared by the test_crawler_* modules)."""
    root = tmp_path / "lake"
    settings = Settings(lake_root=str(root), catalog_url=f"sqlite:///{tmp_path / 'catalog.db'}")
    return Env(root, Lake(settings), SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url))


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def jsonl(*records: Mapping[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# -- CSV -----------------------------------------------------------------------------------------
MESSY_CSV = (
    'Customer ID,Full Name,Signup Date,Score,Active,Updated At\n'
    '1,"Smith, Alice",2024-01-05,4.5,true,2024-01-05 10:00:00\n'
    ' 2 ,"Jones\nBob",2024-02-11,3,false,2024-02-11 11:30:00\n'
    '3,,2024-03-01,N/A,true,\n'
    '4,"Quote ""Q"" Person",2024-03-02,NULL,false,2024-03-02 08:15:00\n'
)


def test_csv_with_header_and_messy_values(env: Env) -> None:
    path = env.write("customers/part-0000.csv", MESSY_CSV)
    result = env.crawl()

    assert result.tables_created == ["customers"]
    assert result.errors == []
    assert env.columns("customers") == [
        ("customer_id", "bigint"), ("full_name", "string"), ("signup_date", "date"),
        ("score", "double"), ("active", "boolean"), ("updated_at", "timestamp"),
    ]
    table = env.table("customers")
    size = path.stat().st_size
    assert table.parameters == {
        "classification": "csv", "compressionType": "none", "typeOfData": "file", "delimiter": ",",
        "skip.header.line.count": "1", "objectCount": "1", "sizeKey": str(size),
        "averageRecordSize": str(round(size / 4)), "recordCount": "4",
        "UPDATED_BY_CRAWLER": "ecommerce_raw_crawler", "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
        # what every reader needs: the encoding, the markers the typed columns hold (score N/A and
        # NULL, updated_at empty), and the headers the lower snake case names came from
        "serialization.encoding": "UTF-8", "serialization.null.format": "N/A",
        "lakeglue.null.markers": '["", "N/A", "NULL"]',
        "lakeglue.original_names": json.dumps({
            "active": "Active", "customer_id": "Customer ID", "full_name": "Full Name", "score": "Score",
            "signup_date": "Signup Date", "updated_at": "Updated At"}),
    }
    assert table.columns[0].parameters == {"lakeglue.original_name": "Customer ID"}
    assert table.partition_keys == ()
    assert table.storage.location == env.uri("customers")
    # quoted fields ("Smith, Alice"): LazySimpleSerDe would split them, so the table gets OpenCSVSerde
    assert table.storage.serde == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert table.storage.serde_parameters == {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"}
    assert table.storage.compressed is False
    assert any("header detected (Glue's rule): row 1 is all strings and column 0 below it is bigint" in d
               for d in result.decisions)


def test_csv_delimiter_sniffing_and_headerless_columns(env: Env) -> None:
    env.write("payments/p.txt", "1|card|12.5\n2|cash|3\n3|card|7.25\n")
    env.write("stock/s.tsv", "sku\tqty\nA-1\t5\nB-2\t0\n")
    env.write("eu/e.csv", "name;amount\nfoo;1,5\nbar;2,5\n")
    env.crawl()

    payments = env.table("payments")
    assert env.columns("payments") == [("col0", "bigint"), ("col1", "string"), ("col2", "double")]
    assert payments.parameters["delimiter"] == "|"
    assert "skip.header.line.count" not in payments.parameters
    assert env.columns("stock") == [("sku", "string"), ("qty", "bigint")]
    assert env.table("stock").parameters["delimiter"] == "\t"
    assert env.columns("eu") == [("name", "string"), ("amount", "string")]
    assert env.table("eu").parameters["delimiter"] == ";"


def test_all_string_csv_header_detection(env: Env) -> None:
    env.write("contacts/c.csv", "name,email,country\nAlice Smith,alice@example.com,FR\nBob Jones,bob@example.com,DE\n")
    env.write("cities/c.csv", "Alice,Paris\nBob,Berlin\nCarol,Rome\n")
    result = env.crawl()

    assert env.columns("contacts") == [("name", "string"), ("email", "string"), ("country", "string")]
    assert env.table("contacts").parameters["skip.header.line.count"] == "1"
    assert env.columns("cities") == [("col0", "string"), ("col1", "string")]
    assert "skip.header.line.count" not in env.table("cities").parameters
    assert env.table("cities").parameters["recordCount"] == "3"
    decisions = "\n".join(result.decisions)
    assert "header detected in an all-string file: row 1 differs in form from the values below in 3 of 3" in decisions
    assert "no header in an all-string file: row 1 looks like the data below it (0 of 2 columns differ)" in decisions


def test_csv_header_option_overrides_detection(env: Env) -> None:
    env.write("cities/c.csv", "Alice,Paris\nBob,Berlin\nCarol,Rome\n")
    env.crawl(csv_header="PRESENT")
    assert env.columns("cities") == [("alice", "string"), ("paris", "string")]
    assert env.table("cities").parameters["skip.header.line.count"] == "1"
    assert env.table("cities").parameters["recordCount"] == "2"


def test_looks_like_header_rules() -> None:
    assert looks_like_header(["customer_id", "city"], [["abc", "Paris"], ["def", "Rome"]])[0] is True
    assert looks_like_header(["Alice", "Paris"], [["Bob", "Berlin"]])[0] is False
    assert looks_like_header(["x", "x"], [["A", "B"]]) == (False, "row 1 has repeated or non-identifier fields")
    assert looks_like_header(["city", "zip"], [["city", "x1"]]) == \
        (False, "row 1 value 'city' also occurs as data in column 0")


def test_sniff_delimiter_prefers_consistent_count() -> None:
    assert sniff_delimiter("a;b\n1,5;2\n3,5;4\n", truncated=False) == (";", 2)
    assert sniff_delimiter("a\tb\tc\n1\t2\t3\n", truncated=False) == ("\t", 3)
    assert sniff_delimiter("just text\nmore text\n", truncated=False) == (",", 1)


# -- JSON ----------------------------------------------------------------------------------------
def test_json_lines_nested_types_and_malformed_lines(env: Env) -> None:
    env.write("orders/part-0.json", jsonl(
        {"order_id": 1, "order_ts": "2026-11-01T10:00:00", "order_date": "2026-11-01", "paid": True,
         "items": [{"product_id": 10, "quantity": 2, "unit_price": 9.99}],
         "address": {"city": "Lyon", "zip": "69001"}, "tags": ["new"]},
    ) + "{not json\n" + jsonl(
        {"order_id": 2, "order_ts": "2026-11-01T11:00:00", "order_date": "2026-11-02", "paid": False,
         "items": [{"product_id": 11, "quantity": 1, "unit_price": 5}, {"product_id": 12, "quantity": 3,
                                                                         "unit_price": 1.5}],
         "address": {"city": "Nice", "zip": None}, "tags": []},
    ))
    result = env.crawl()

    assert env.columns("orders") == [
        ("order_id", "bigint"), ("order_ts", "timestamp"), ("order_date", "date"), ("paid", "boolean"),
        ("items", "array<struct<product_id:bigint,quantity:bigint,unit_price:double>>"),
        ("address", "struct<city:string,zip:string>"), ("tags", "array<string>"),
    ]
    table = env.table("orders")
    assert table.parameters["classification"] == "json"
    assert table.storage.serde == "org.openx.data.jsonserde.JsonSerDe"
    assert table.storage.serde_parameters == {"paths": "address,items,order_date,order_id,order_ts,paid,tags"}
    assert result.errors == []
    assert (f"{env.prefix_dir}/orders/part-0.json: 1 malformed line(s) skipped "
            "(first at line 2 column 2: Expecting property name enclosed in double quotes)") in result.decisions


def test_json_conflicting_types_widen_with_a_note(env: Env) -> None:
    env.write("events/a.json", jsonl({"id": 1, "v": 1}, {"id": 2, "v": "high"}, {"id": 3, "v": 2}))
    env.write("events/b.json", jsonl({"id": 4.5, "v": 3}))
    result = env.crawl()
    assert env.columns("events") == [("id", "double"), ("v", "string")]
    file_a, file_b = f"{env.prefix_dir}/events/a.json", f"{env.prefix_dir}/events/b.json"
    assert result.decisions == [
        f"{file_a}: column v: values of type bigint and string seen; kept string",
        f"table events: column v: values of type bigint and string seen; kept string (merging {file_b})",
    ]


def test_json_large_sample_goes_through_arrow_with_the_same_types(env: Env) -> None:
    records = [{"id": i, "v": i, "at": f"2026-11-{1 + i % 28:02d}", "tags": [f"t{i}"]} for i in range(100)]
    records[50]["v"] = "high"
    path = env.write("events/big.json", jsonl(*records))
    result = env.crawl()
    assert env.columns("events") == [("id", "bigint"), ("v", "string"), ("at", "date"), ("tags", "array<string>")]
    assert result.decisions == [
        f"{path}: a field has values of different JSON types (JSON parse error: Column(/v) changed from number "
        "to string in row 50); typed record by record",
        f"{path}: column v: values of type bigint and string seen; kept string",
    ]


def test_top_level_json_array_is_reported(env: Env) -> None:
    path = env.write("things/t.json", '[{"a": 1}, {"a": 2}]')
    result = env.crawl()
    assert result.errors == [(str(path), "top-level JSON array: add a JSON classifier with json_path '$[*]' (Glue "
                                         "needs a custom JsonPath classifier for this too); the built-in JSON "
                                         "classifier expects JSON lines (one object per line)")]
    assert result.tables_created == []


# -- partitions and drift ------------------------------------------------------------------------
def write_orders(env: Env, day: str, records: list[dict[str, object]]) -> Path:
    return env.write(f"orders/dt={day}/part-0.json", jsonl(*records))


def test_drift_column_in_later_partition_is_merged(env: Env) -> None:
    write_orders(env, "2026-11-01", [{"order_id": 1, "status": "new"}])
    later = write_orders(env, "2026-11-02", [{"order_id": 2, "status": "paid", "channel": "web"}])
    result = env.crawl()

    assert env.columns("orders") == [("order_id", "bigint"), ("status", "string"), ("channel", "string")]
    assert (f"table orders: column channel (string) first seen in {later}; appended (earlier files do not "
            "have it)") in result.decisions


def test_hive_partitions_registered_with_locations(env: Env) -> None:
    write_orders(env, "2026-11-01", [{"order_id": 1}])
    write_orders(env, "2026-11-02", [{"order_id": 2}])
    env.write("orders/dt=2026-11-02/part-1.json", jsonl({"order_id": 3}))
    result = env.crawl()

    assert result.partitions_added == 2
    table = env.table("orders")
    assert table.partition_keys == (Column("dt", "string"),)
    assert table.columns == (Column("order_id", "bigint"),)
    parts = env.catalog.get_partitions(DB, "orders")
    assert [(p.values, p.location) for p in parts] == [
        (("2026-11-01",), env.uri("orders/dt=2026-11-01")),
        (("2026-11-02",), env.uri("orders/dt=2026-11-02")),
    ]
    for p in parts:  # partitions inherit the table's storage descriptor, with their own location
        assert p.storage.columns == table.storage.columns
        assert p.storage.serde == table.storage.serde
    assert table.parameters["objectCount"] == "3"


def test_unnamed_partitions(env: Env) -> None:
    env.write("clicks/2026/11/01/a.json", jsonl({"user": "u1", "n": 1}))
    env.write("clicks/2026/11/02/a.json", jsonl({"user": "u2", "n": 2}))
    env.crawl()

    assert env.table("clicks").partition_keys == (
        Column("partition_0", "string"), Column("partition_1", "string"), Column("partition_2", "string"))
    parts = env.catalog.get_partitions(DB, "clicks")
    assert [(p.values, p.location) for p in parts] == [
        (("2026", "11", "01"), env.uri("clicks/2026/11/01")),
        (("2026", "11", "02"), env.uri("clicks/2026/11/02")),
    ]


def test_partition_key_named_like_a_data_column_is_dropped_from_data(env: Env) -> None:
    write_orders(env, "2026-11-01", [{"order_id": 1, "dt": "2026-11-01"}])
    result = env.crawl()
    assert env.columns("orders") == [("order_id", "bigint")]
    assert ("table orders: data column dt has the name of a partition key; dropped from the data columns "
            "(query engines reject duplicate column names)") in result.decisions


def test_detect_layout_mixed_levels() -> None:
    layout = detect_layout([("dt=1",), ("dt=2", "x")])
    assert layout.keys == ("dt",)
    assert layout.notes == ("files sit at different folder depths (1 files at depth 1, 1 files at depth 2); "
                            "partition keys taken from the first 1 level(s)",)
    mixed = detect_layout([("dt=1",), ("day=2",)])
    assert mixed.keys == ("partition_0",)
    assert mixed.values_of(("dt=1",)) == ("dt=1",)
    assert detect_layout([("region=eu%2Fwest",)]).values_of(("region=eu%2Fwest",)) == ("eu/west",)


# -- compression and Parquet ---------------------------------------------------------------------
def test_gzip_and_zstd_json_lines(env: Env) -> None:
    body = jsonl({"id": 1, "amount": 2.5}, {"id": 2, "amount": 4})
    gz = env.write("sales/part-0.jsonl.gz", gzip.compress(body.encode()))
    env.write("returns/part-0.ndjson.zst", zstandard.ZstdCompressor().compress(body.encode()))
    result = env.crawl()

    assert result.errors == []
    for name, codec in (("sales", "gzip"), ("returns", "zstd")):
        table = env.table(name)
        assert env.columns(name) == [("id", "bigint"), ("amount", "double")]
        assert table.parameters["classification"] == "json"
        assert table.parameters["compressionType"] == codec
        assert table.storage.compressed is True
        assert table.parameters["recordCount"] == "2"
    assert env.table("sales").parameters["sizeKey"] == str(gz.stat().st_size)


def test_gzip_csv_detected_by_magic_bytes(env: Env) -> None:
    env.write("legacy/export.csv.gz", gzip.compress(b"id,when\n1,2026-01-01\n2,2026-01-02\n"))
    env.write("legacy/bad.csv.gz", b"id,when\nnot gzip at all\n")
    result = env.crawl()
    assert env.columns("legacy") == [("id", "bigint"), ("when", "date")]
    assert env.table("legacy").parameters["compressionType"] == "gzip"
    assert result.errors == [(f"{env.prefix_dir}/legacy/bad.csv.gz",
                              "extension .gz says gzip but the file does not start with its magic bytes "
                              "(starts with 69642c77)")]


def test_parquet_schema_from_footer(env: Env) -> None:
    table = pa.table({
        "product_id": pa.array([1, 2, 3], pa.int64()),
        "stock": pa.array([5, 0, 7], pa.int32()),
        "weight": pa.array([1.5, 2.0, 0.25], pa.float64()),
        "active": [True, False, True],
        "Name": ["a", "b", "c"],
        "launched": pa.array([dt.date(2026, 1, 1)] * 3, pa.date32()),
        "updated_at": pa.array([dt.datetime(2026, 1, 1, 10)] * 3, pa.timestamp("us", tz="UTC")),
        "list_price": pa.array([decimal.Decimal("9.99")] * 3, pa.decimal128(12, 2)),
        "tags": pa.array([["x"], [], ["y", "z"]], pa.list_(pa.string())),
        "dims": pa.array([{"w": 1, "h": 2.0}] * 3, pa.struct([("w", pa.int64()), ("h", pa.float64())])),
    })
    path = env.prefix_dir / "products" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    result = env.crawl()

    assert env.columns("products") == [
        ("product_id", "bigint"), ("stock", "int"), ("weight", "double"), ("active", "boolean"),
        ("name", "string"), ("launched", "date"), ("updated_at", "timestamp"), ("list_price", "decimal(12,2)"),
        ("tags", "array<string>"), ("dims", "struct<w:bigint,h:double>"),
    ]
    params = env.table("products").parameters
    assert params["classification"] == "parquet"
    assert params["compressionType"] == "snappy"
    assert params["recordCount"] == "3"
    assert env.table("products").storage.serde == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert result.bytes_read < path.stat().st_size  # footer only, not the data pages


def test_truncated_parquet_is_an_error(env: Env) -> None:
    path = env.write("products/part-0.parquet", b"PAR1" + b"\x00" * 40)
    result = env.crawl()
    assert result.errors == [(str(path), "PAR1 at the start but not at the end: truncated or still being written")]
    assert result.tables_created == []


# -- litter and bad input ------------------------------------------------------------------------
def test_litter_is_ignored(env: Env) -> None:
    env.write("orders/dt=2026-11-01/part-0.json", jsonl({"order_id": 1}))
    env.write("orders/dt=2026-11-01/_SUCCESS", "")
    env.write("orders/dt=2026-11-01/.part-0.json.crc", b"\x00\x01crc")
    env.write("orders/_temporary/0/task/part-9.json", "{half written")
    env.write("orders/dt=2026-11-01/part-0.json.crc", b"\x00\x01")
    result = env.crawl()

    assert result.errors == []
    assert result.files_listed == 1
    assert env.table("orders").parameters["objectCount"] == "1"
    assert [p.values for p in env.catalog.get_partitions(DB, "orders")] == [("2026-11-01",)]


def test_bad_files_reported_and_not_tables(env: Env) -> None:
    empty = env.write("junk/empty.csv", b"")
    binary = env.write("junk/image.dat", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    good = env.write("customers/c.csv", "id,name\n1,a\n2,b\n")
    stray = env.write("customers/notes.bin", bytes(64))
    root_file = env.write("README.md", "about this folder\n")
    result = env.crawl()

    assert sorted(result.errors) == sorted([
        (str(empty), "empty file (0 bytes)"),
        (str(binary), "binary content (NUL bytes) and no known binary format magic (not Parquet/ORC/Avro/gzip/"
                      "bzip2/zstd/lz4/snappy/zip); unknown format"),
        (str(stray), "binary content (NUL bytes) and no known binary format magic (not Parquet/ORC/Avro/gzip/"
                     "bzip2/zstd/lz4/snappy/zip); unknown format"),
    ])
    assert result.tables_created == ["customers"]
    assert env.catalog.list_tables(DB) == [env.table("customers")]
    assert env.columns("customers") == [("id", "bigint"), ("name", "string")]
    assert result.skipped == [(str(root_file), f"file directly in the crawl root {env.prefix_dir}; tables are the "
                                               "folders below it")]
    assert f"folder {env.prefix_dir}/junk: no readable file among 2; no table" in result.decisions
    assert good.exists()


def test_table_names_are_sanitized(env: Env) -> None:
    env.write("Order Items/a.json", jsonl({"a": 1}))
    env.write("ordersV2/a.json", jsonl({"a": 1}))
    env.crawl()
    assert [t.name for t in env.catalog.list_tables(DB)] == ["order_items", "orders_v2"]


# -- dry run, incremental recrawl ----------------------------------------------------------------
def seed(env: Env) -> None:
    write_orders(env, "2026-11-01", [{"order_id": 1, "status": "new"}])
    write_orders(env, "2026-11-02", [{"order_id": 2, "status": "paid"}])
    env.write("customers/c.csv", "id,name\n1,a\n2,b\n")


def test_dry_run_writes_nothing(env: Env) -> None:
    seed(env)
    result = env.crawl(dry_run=True)

    assert result.dry_run is True
    assert result.tables_created == ["customers", "orders"]
    assert result.partitions_added == 2
    assert env.catalog.list_databases() == []
    assert env.catalog.list_tables(DB) == []
    assert env.ledger.entries("ecommerce/orders") == []
    assert env.ledger.entries("ecommerce/customers") == []
    assert result.changes == [
        f"table {DB}.customers: create (csv, compression none; columns id bigint, name string) from new folder "
        f"{env.prefix_dir}/customers with 1 files (1 not in the ledger)",
        f"table {DB}.orders: create (json, compression none; columns order_id bigint, status string; "
        f"partitioned by dt) from new folder {env.prefix_dir}/orders with 2 files (2 not in the ledger)",
        f"partition dt=2026-11-01 of orders: add (folder {env.uri('orders/dt=2026-11-01')})",
        f"partition dt=2026-11-02 of orders: add (folder {env.uri('orders/dt=2026-11-02')})",
    ]
    assert result.summary().startswith("crawler plan (dry run, nothing written) of database ecommerce_raw: "
                                       "2 tables created, 0 updated, 0 unchanged, 0 gone; partitions +2 ~0 -0;")


def test_crawl_records_files_in_the_ledger(env: Env) -> None:
    seed(env)
    env.crawl()
    assert [e.path for e in env.ledger.entries("ecommerce/orders")] == [
        f"{env.prefix_dir}/orders/dt=2026-11-01/part-0.json", f"{env.prefix_dir}/orders/dt=2026-11-02/part-0.json"]
    assert {e.state for e in env.ledger.entries("ecommerce/orders")} == {"new"}
    assert [e.path for e in env.ledger.entries("ecommerce/customers")] == [f"{env.prefix_dir}/customers/c.csv"]


def test_recrawl_without_change_is_a_no_op(env: Env) -> None:
    seed(env)
    first = env.crawl()
    assert first.tables_created == ["customers", "orders"]
    second = env.crawl()

    assert second.tables_created == []
    assert second.tables_updated == []
    assert second.tables_unchanged == ["customers", "orders"]
    assert (second.files_scanned, second.bytes_read) == (0, 0)
    assert (second.partitions_added, second.partitions_updated, second.partitions_removed) == (0, 0, 0)
    assert second.changes == []
    assert env.table("orders").version == 1
    assert [v.version for v in env.catalog.get_table_versions(DB, "orders")] == [1]


def test_new_partition_folder_is_added(env: Env) -> None:
    seed(env)
    env.crawl()
    new_file = write_orders(env, "2026-11-03", [{"order_id": 3, "status": "new", "channel": "app"}])
    result = env.crawl()

    assert result.partitions_added == 1
    assert result.files_scanned == 1  # only the new file is read
    assert result.tables_updated == ["orders"]
    assert result.tables_unchanged == ["customers"]
    assert env.columns("orders") == [("order_id", "bigint"), ("status", "string"), ("channel", "string")]
    assert env.table("orders").version == 2
    assert [p.values for p in env.catalog.get_partitions(DB, "orders")] == [
        ("2026-11-01",), ("2026-11-02",), ("2026-11-03",)]
    # the older partitions inherit the widened schema
    assert {p.storage.columns for p in env.catalog.get_partitions(DB, "orders")} == {env.table("orders").columns}
    assert result.partitions_updated == 2
    assert (f"table {DB}.orders: add column channel string (seen in 1 new or changed of 3 files (ingestion "
            "ledger))") in result.changes
    assert str(new_file) in {e.path for e in env.ledger.entries("ecommerce/orders")}


def test_removed_partition_folder_is_deleted(env: Env) -> None:
    seed(env)
    env.crawl()
    (env.prefix_dir / "orders" / "dt=2026-11-01" / "part-0.json").unlink()
    result = env.crawl(delete_behavior="DELETE_FROM_DATABASE")
    assert result.partitions_removed == 1
    assert [p.values for p in env.catalog.get_partitions(DB, "orders")] == [("2026-11-02",)]
    assert "partition dt=2026-11-01 of orders: remove (its folder has no files)" in result.changes


def test_gone_table_is_logged_or_deleted(env: Env) -> None:
    seed(env)
    env.crawl()
    (env.prefix_dir / "customers" / "c.csv").unlink()
    logged = env.crawl()
    assert logged.tables_deleted == ["customers"]
    assert env.catalog.table_exists(DB, "customers")
    deprecated = env.crawl(delete_behavior="DEPRECATE_IN_DATABASE")
    assert deprecated.tables_deleted == ["customers"]
    assert env.table("customers").parameters["DEPRECATED_BY_CRAWLER"].endswith("Z")
    assert env.table("customers").version == 2
    deleted = env.crawl(delete_behavior="DELETE_FROM_DATABASE")
    assert deleted.tables_deleted == ["customers"]
    assert not env.catalog.table_exists(DB, "customers")


def test_result_to_dict_is_json_safe(env: Env) -> None:
    seed(env)
    env.write("junk/empty.json", b"")
    result = env.crawl()
    data = json.loads(json.dumps(result.to_dict()))
    assert data["tables_created"] == ["customers", "orders"]
    assert data["errors"] == [[f"{env.prefix_dir}/junk/empty.json", "empty file (0 bytes)"]]
    assert CrawlResult.from_dict(data).errors == result.errors


def test_config_rejects_bad_options() -> None:
    with pytest.raises(CrawlerConfigError, match="csv_header='maybe'"):
        CrawlerConfig(database="d", csv_header="maybe")
    with pytest.raises(CrawlerConfigError, match="sample_files_per_folder=0 must be between 1 and 249"):
        CrawlerConfig(database="d", sample_files_per_folder=0)
    assert CrawlerConfig(database="d", prefix="/ecommerce/").ledger_source("orders") == "ecommerce/orders"


# -- types and names -----------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b", "expected"), [
    ("int", "bigint", "bigint"),
    ("bigint", "double", "double"),
    ("int", "decimal(10,2)", "decimal(12,2)"),
    ("date", "timestamp", "timestamp"),
    ("array<int>", "array<bigint>", "array<bigint>"),
    ("struct<a:int>", "struct<a:bigint,b:string>", "struct<a:bigint,b:string>"),
    ("map<string,int>", "map<string,double>", "map<string,double>"),
])
def test_widen_compatible_types(a: str, b: str, expected: str) -> None:
    notes: list[str] = []
    assert format_type(widen(parse_type(a), parse_type(b), "c", notes)) == expected
    assert notes == []


def test_widen_incompatible_types_become_string_with_a_note() -> None:
    notes: list[str] = []
    assert format_type(widen(parse_type("boolean"), parse_type("bigint"), "t.flag", notes)) == "string"
    assert notes == ["column t.flag: incompatible types boolean and bigint; widened to string so no file fails "
                     "to read"]
    assert format_type(GlueType("null")) == "string"


def test_parse_type_round_trip() -> None:
    text = "array<struct<product_id:bigint,price:decimal(12,2),tags:array<string>>>"
    assert format_type(parse_type(text)) == text


@pytest.mark.parametrize(("raw", "expected"), [
    ("Order Items", "order_items"), ("ordersV2", "orders_v2"), ("HTTPLogs", "http_logs"),
    ("customer-id", "customer_id"), ("  ", "unnamed"),
])
def test_sanitize_name(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected


def test_unreadable_file_does_not_crash(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    path = env.write("locked/a.json", jsonl({"a": 1}))
    if os.geteuid() == 0:
        original: Callable[..., object] = env.lake.fs.open

        def failing_open(p: str, *args: object, **kwargs: object) -> object:
            if p == str(path):
                raise PermissionError(13, "Permission denied", p)
            return original(p, *args, **kwargs)

        monkeypatch.setattr(env.lake.fs, "open", failing_open)
    else:
        path.chmod(0)
    result = env.crawl()
    assert result.errors == [(str(path), f"cannot read: [Errno 13] Permission denied: '{path}'")]
    assert result.tables_created == []


def test_csv_files_of_one_table_share_header_and_delimiter(env: Env) -> None:
    env.write("people/a.csv", "name,city\nAnn,Paris\nBob,Rome\n")
    env.write("people/b.csv", "name,city\nx,y\nz,w\n")  # alone, row 1 looks like data
    result = env.crawl()
    assert env.columns("people") == [("name", "string"), ("city", "string")]
    assert (f"{env.prefix_dir}/people/b.csv: re-read with the table's CSV options (on its own it looked like "
            "delimiter comma, header False)") in result.decisions
    assert env.table("people").parameters["recordCount"] == "4"


def test_sampling_is_bounded_per_folder(env: Env) -> None:
    for i in range(5):
        env.write(f"logs/part-{i}.json", jsonl({"n": i}))
    env.write("logs/part-9.json", jsonl({"n": 9, "late": True}))  # beyond the sample: not read
    result = env.crawl(sample_files_per_folder=3)
    assert result.files_scanned == 3
    assert env.columns("logs") == [("n", "bigint")]
    assert env.table("logs").parameters["objectCount"] == "6"
    assert ("table logs: read 3 of 6 files (at most 3 readable files in each folder; 1 folders had more)"
            in result.decisions)


def test_sample_is_capped_at_max_records_and_count_is_estimated(env: Env) -> None:
    rows = "".join(f"{i:06d},name{i:06d}\n" for i in range(5000))  # 18 bytes per row
    env.write("big/rows.csv", "id,name\n" + rows)
    result = env.crawl()
    params = env.table("big").parameters
    # 1000 sampled records plus the 8-byte header: 18.008 bytes per record, so 90008 / 18.008 = 4998
    assert (params["averageRecordSize"], params["recordCount"]) == ("18", "4998")
    assert result.bytes_read == 8 + 5000 * 18  # under 1 MB: the whole file was read once


def test_byte_limit_drops_the_cut_row(env: Env) -> None:
    rows = "".join(f"{i:06d},name{i:06d},{i % 7}.5\n" for i in range(200))  # 22 bytes per row
    env.write("big/rows.csv", "ident,full_name,the_score\n" + rows)  # 26-byte header
    result = env.crawl(max_sample_bytes=1024)
    # 26 + 45 * 22 = 1016: the 1024-byte sample ends 8 bytes into row 46 ("000045,n", 2 fields);
    # that cut row is dropped, not reported as a row with the wrong number of fields.
    # zero-padded digits are codes, not numbers: a bigint would lose the padding
    assert env.columns("big") == [("ident", "string"), ("full_name", "string"), ("the_score", "double")]
    assert (f"{env.prefix_dir}/big/rows.csv: column ident: digits with leading zeros (identifiers, codes): kept "
            "string so no zero is lost") in result.decisions
    assert result.errors == []
    assert [d for d in result.decisions if "wrong number of fields" in d] == []
    params = env.table("big").parameters
    # averageRecordSize = 1016 bytes / 45 records (22.6, shown rounded); recordCount is Glue's estimate
    # sizeKey / averageRecordSize, from the unrounded average: 4426 / 22.58 = 196 (the file has 200 rows).
    assert (params["sizeKey"], params["averageRecordSize"], params["recordCount"]) == ("4426", "23", "196")


def test_truncated_gzip_is_an_error(env: Env) -> None:
    data = gzip.compress(jsonl(*({"n": i} for i in range(100))).encode())
    path = env.write("events/part.json.gz", data[: len(data) // 2])
    result = env.crawl()
    assert result.errors == [(str(path), "gzip stream ends early (truncated file): Compressed file ended before "
                                         "the end-of-stream marker was reached")]


def test_new_csv_file_follows_the_tables_csv_options(env: Env) -> None:
    env.write("customers/c.csv", "id,name\n1,Ann\n2,Bob\n")
    env.crawl()
    env.write("customers/d.csv", "id,name\n3,Carol\n4,Dan\n")
    result = env.crawl()
    assert result.tables_updated == ["customers"]
    assert result.files_scanned == 1
    assert env.columns("customers") == [("id", "bigint"), ("name", "string")]
    assert env.table("customers").parameters["skip.header.line.count"] == "1"
    assert result.changes == [
        f"table {DB}.customers: parameter objectCount '1' -> '2'",
        f"table {DB}.customers: parameter recordCount '2' -> '4'",
        f"table {DB}.customers: parameter sizeKey '20' -> '42'",
    ]
