"""The crawler on ORC, Avro, every compression codec and the text types beyond Glue's, on files each test writes."""

from __future__ import annotations

import bz2
import datetime as dt
import decimal
import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import fastavro
import lz4.frame
import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileSystem

from lakeglue.crawler.classify import UnreadableFile
from lakeglue.crawler.infer import CsvHints, InferOptions
from lakeglue.crawler.schema import read_files
from lakeglue.crawler.texttypes import guess_type
from lakeglue.storage.zones import FileInfo
from tests.unit.test_crawler import Env, jsonl, make_env

CSV_ROWS = "id,name\n1,Ann\n2,Bob\n3,Cid\n"


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


# -- ORC and Avro: schema and row count from metadata -------------------------------------------
def test_orc_schema_codec_and_rows_from_the_file_tail(env: Env) -> None:
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()), "qty": pa.array([1, 2, 3], pa.int32()),
        "name": ["a", "b", "c"], "price": pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("3.25")],
                                                   pa.decimal128(9, 2)),
        "at": pa.array([dt.datetime(2026, 11, 1, 10)] * 3, pa.timestamp("ms")),
        "tags": pa.array([["x"], [], ["y", "z"]], pa.list_(pa.string())),
    })
    path = env.prefix_dir / "stock" / "part-0.orc"
    path.parent.mkdir(parents=True)
    orc.write_table(table, str(path), compression="zlib")
    result = env.crawl()

    assert result.errors == []
    assert env.columns("stock") == [("id", "bigint"), ("qty", "int"), ("name", "string"),
                                    ("price", "decimal(9,2)"), ("at", "timestamp"), ("tags", "array<string>")]
    t = env.table("stock")
    assert (t.parameters["classification"], t.parameters["compressionType"], t.parameters["recordCount"]) == (
        "orc", "zlib", "3")
    assert (t.storage.input_format, t.storage.output_format, t.storage.serde) == (
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde")
    assert t.storage.compressed is True
    assert result.bytes_read < path.stat().st_size  # the tail only


AVRO_SCHEMA = {
    "type": "record", "name": "Event", "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "qty", "type": "int"},
        {"name": "name", "type": ["null", "string"]},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["VIEW", "BUY"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "double"}},
        {"name": "address", "type": {"type": "record", "name": "Address",
                                     "fields": [{"name": "City", "type": "string"}]}},
        {"name": "ship_to", "type": ["null", "Address"]},
    ],
}


def _avro_records(n: int) -> list[dict[str, object]]:
    return [{"id": i, "qty": i % 5, "name": None if i % 7 == 0 else f"n{i}", "amount": decimal.Decimal("12.50"),
             "day": dt.date(2026, 11, 1), "at": dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC), "kind": "VIEW",
             "tags": ["a"], "attrs": {"w": 1.5}, "address": {"City": "Lyon"}, "ship_to": None} for i in range(n)]


def test_avro_schema_from_the_header_and_rows_from_block_headers(env: Env) -> None:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(AVRO_SCHEMA), _avro_records(250), codec="deflate",
                    sync_interval=512)  # many small blocks: the row count walks all their headers
    path = env.write("events/part-0.avro", buf.getvalue())
    result = env.crawl()

    assert result.errors == []
    assert env.columns("events") == [
        ("id", "bigint"), ("qty", "int"), ("name", "string"), ("amount", "decimal(12,2)"), ("day", "date"),
        ("at", "timestamp"), ("kind", "string"), ("tags", "array<string>"), ("attrs", "map<string,double>"),
        ("address", "struct<city:string>"), ("ship_to", "struct<city:string>")]
    t = env.table("events")
    assert (t.parameters["classification"], t.parameters["compressionType"], t.parameters["recordCount"]) == (
        "avro", "deflate", "250")
    assert t.storage.serde == "org.apache.hadoop.hive.serde2.avro.AvroSerDe"
    assert t.storage.input_format == "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat"
    literal = json.loads(t.storage.serde_parameters["avro.schema.literal"])  # the writer's schema, verbatim
    assert (literal["name"], [f["name"] for f in literal["fields"]]) == (
        "shop.Event", [f["name"] for f in AVRO_SCHEMA["fields"]])  # type: ignore[index]
    assert result.bytes_read < 2000 < path.stat().st_size  # header only; blocks are skipped by seeking


def test_avro_with_a_broken_block_is_reported(env: Env) -> None:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(AVRO_SCHEMA), _avro_records(50), sync_interval=256)
    path = env.write("events/bad.avro", buf.getvalue()[:-20])  # the last block loses its sync marker
    result = env.crawl()
    assert result.errors == [(str(path), "Avro block 7 does not end with the file's sync marker (corrupt or "
                                         "truncated)")]
    assert result.tables_created == []


# -- compression: every codec Glue reads, by magic bytes and extension -------------------------
def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def snappy_framed(data: bytes) -> bytes:
    """The snappy framing format (stream identifier, then compressed chunks with a masked CRC-32C)."""
    raw = pa.Codec("snappy").compress(data, asbytes=True)
    crc = _crc32c(data)
    masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    body = masked.to_bytes(4, "little") + raw
    return b"\xff\x06\x00\x00sNaPpY" + b"\x00" + len(body).to_bytes(3, "little") + body


def snappy_hadoop(data: bytes) -> bytes:
    """Hadoop's BlockCompressorStream framing: uncompressed length, then compressed length + bytes."""
    raw = pa.Codec("snappy").compress(data, asbytes=True)
    return len(data).to_bytes(4, "big") + len(raw).to_bytes(4, "big") + raw


def zipped(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buf.getvalue()


def test_every_codec_is_detected_and_decompressed(env: Env) -> None:
    body = CSV_ROWS.encode()
    files = {
        "bz2_ext/a.csv.bz2": bz2.compress(body),
        "bz2_magic/a.csv": bz2.compress(body),  # no extension: the magic bytes say bzip2
        "lz4/a.csv.lz4": lz4.frame.compress(body),
        "snappy_framed/a.csv.snappy": snappy_framed(body),
        "snappy_hadoop/a.csv.snappy": snappy_hadoop(body),
        "zip/a.zip": zipped({"inner/data.csv": CSV_ROWS, "__MACOSX/._data.csv": "x"}),
    }
    for rel, data in files.items():
        env.write(rel, data)
    result = env.crawl()

    assert result.errors == []
    codecs = {"bz2_ext": "bzip2", "bz2_magic": "bzip2", "lz4": "lz4", "snappy_framed": "snappy",
              "snappy_hadoop": "snappy", "zip": "zip"}
    for table, codec in codecs.items():
        t = env.table(table)
        assert env.columns(table) == [("id", "bigint"), ("name", "string")], table
        assert (t.parameters["classification"], t.parameters["compressionType"], t.parameters["recordCount"],
                t.storage.compressed) == ("csv", codec, "3", True), table
    assert f"{env.prefix_dir}/zip/a.zip: zip member inner/data.csv" in result.decisions


def test_unreadable_compressed_files_are_reported_with_the_reason(env: Env) -> None:
    paths = {
        "lzo": env.write("t/a.csv.lzo", b"\x89LZO\x00\r\n\x1a\nxxxx"),
        "zip2": env.write("t/two.zip", zipped({"a.csv": CSV_ROWS, "b.csv": CSV_ROWS})),
        "fake_snappy": env.write("t/b.csv.snappy", CSV_ROWS.encode()),
        "cut_lz4": env.write("t/c.csv.lz4", lz4.frame.compress(CSV_ROWS.encode() * 50)[:30]),
    }
    env.write("t/ok.csv", CSV_ROWS)
    result = env.crawl()
    assert dict(result.errors) == {
        str(paths["lzo"]): "lzo compression is not supported by the lakeglue crawler (Glue reads gzip, bzip2, zstd, "
                           "lz4, snappy and zip)",
        str(paths["zip2"]): "zip archive holds 2 files (a.csv, b.csv); the crawler reads single-file archives, as "
                            "Glue does (bronze quarantines it as an unreadable file)",
        str(paths["fake_snappy"]): "not snappy: neither the snappy framing format (no sNaPpY identifier) nor "
                                   "Hadoop's snappy block format (bad block length)",
        str(paths["cut_lz4"]): "lz4 stream ends early (truncated file): Compressed file ended before the "
                               "end-of-stream marker was reached",
    }
    assert env.columns("t") == [("id", "bigint"), ("name", "string")]


# -- text types beyond bigint/double/string ------------------------------------------------------
TYPED_CSV = (
    "small,big,money,ratio,us_day,eu_day,us_ts,iso_t,zip,code\n"
    "1,3000000000,12.50,0.5,11/23/2026,23/11/2026,11/23/2026 14:05:00,2026-11-23T14:05:00Z,01234,7\n"
    "2,42,3.99,1.25,01/02/2026,01/02/2026,01/02/2026 09:00:00,2026-11-24T08:00:00Z,75001,8\n"
    "3,7,100.00,2,12/31/2026,31/12/2026,12/31/2026 23:59:59,2026-11-25T00:00:00Z,10115,n/a?\n"
)


def test_text_columns_get_bigint_decimal_and_dates_in_any_layout(env: Env) -> None:
    """Integers are bigint and decimals decimal(38,s) even when the sample is small: a sample is not the
    file, and a later 3000000000 or 123456789012.50 must not fail every reader's cast (was int/decimal(12,2))."""
    path = env.write("typed/t.csv", TYPED_CSV)
    result = env.crawl()

    assert env.columns("typed") == [
        ("small", "bigint"), ("big", "bigint"), ("money", "decimal(38,2)"), ("ratio", "double"), ("us_day", "date"),
        ("eu_day", "date"), ("us_ts", "timestamp"), ("iso_t", "timestamp"), ("zip", "string"), ("code", "string")]
    t = env.table("typed")
    assert json.loads(t.parameters["lakeglue.column.formats"]) == {
        "eu_day": "%d/%m/%Y", "us_day": "%m/%d/%Y", "us_ts": "%m/%d/%Y %H:%M:%S"}
    assert t.storage.serde_parameters["timestamp.formats"] == "MM/dd/yyyy HH:mm:ss,yyyy-MM-dd'T'HH:mm:ssZZ"
    decisions = [d.removeprefix(f"{path}: ") for d in result.decisions]
    assert not any(d.startswith("column small:") for d in decisions)
    assert "column money: 3 of 3 values have exactly 2 decimals (fixed-point text)" in decisions
    assert "column us_day: date in layout MM/dd/yyyy (every sampled value)" in decisions
    assert "column eu_day: date in layout dd/MM/yyyy (every sampled value)" in decisions
    assert "column zip: digits with leading zeros (identifiers, codes): kept string so no zero is lost" in decisions


def test_int_only_when_integer_narrowing_is_asked_for(env: Env) -> None:
    env.write("n/t.csv", "a,b\n1,x\n2,y\n")
    env.crawl()
    assert env.columns("n") == [("a", "bigint"), ("b", "string")]
    env.crawl(narrow_text_integers=True, recrawl_policy="CRAWL_EVERYTHING")
    assert env.columns("n") == [("a", "int"), ("b", "string")]


def test_guess_type_confidence_and_near_misses() -> None:
    near = guess_type([str(i) for i in range(19)] + ["abc"])
    assert (str(near.type), near.confidence, near.values) == ("string", 1.0, 20)
    assert near.note == "19 of 20 sampled values (95.0%) are integers, but 'abc' is not; kept string"
    money = guess_type(["1.25"] * 19 + ["3"])
    assert (str(money.type), money.confidence) == ("decimal(38,2)", 0.95)  # precision: later values may be larger
    assert str(guess_type(["1.25"] * 8 + ["3", "4"]).type) == "double"  # 80 % fixed-point: a float column
    ambiguous = guess_type(["01/02/2026", "03/04/2026"])
    assert (str(ambiguous.type), ambiguous.strptime) == ("date", "%m/%d/%Y")
    assert ambiguous.note == "every value also reads as dd/MM/yyyy; chose MM/dd/yyyy (the first matching layout)"
    bad_date = guess_type(["2026-02-30"])
    assert str(bad_date.type) == "string"
    assert str(guess_type(["Mon, 23 Nov 2026 10:00:00 +0000"]).type) == "timestamp"
    assert str(guess_type(["23/Nov/2026:10:00:00 +0100"]).type) == "timestamp"
    assert str(guess_type(["11/23/2026 2:05 PM", "1/2/2026 9:00 AM"]).type) == "timestamp"
    assert str(guess_type(["true", "FALSE", ""]).type) == "boolean"
    assert str(guess_type([" 2", "3 "], trim=False).type) == "string"


def test_json_strings_in_other_layouts_become_dates_and_timestamps_at_any_depth(env: Env) -> None:
    env.write("visits/a.json", jsonl(
        {"id": 1, "at": "23-Nov-2026 10:00:00", "meta": {"seen": "2026-11-23", "code": "00123"},
         "stops": [{"when": "11/23/2026"}]},
        {"id": 2, "at": "24-Nov-2026 11:30:00", "meta": {"seen": "2026-11-24", "code": "00124"},
         "stops": [{"when": "11/24/2026"}]}))
    env.crawl()
    assert env.columns("visits") == [("id", "bigint"), ("at", "timestamp"),
                                     ("meta", "struct<seen:date,code:string>"),
                                     ("stops", "array<struct<when:date>>")]
    t = env.table("visits")
    assert json.loads(t.parameters["lakeglue.column.formats"]) == {"at": "%d-%b-%Y %H:%M:%S"}
    assert t.storage.serde_parameters["timestamp.formats"] == "dd-MMM-yyyy HH:mm:ss"


# -- awkward CSV -----------------------------------------------------------------------------------
def test_quoted_csv_with_embedded_newlines_delimiters_and_quotes(env: Env) -> None:
    text = ('id,comment,score\n'
            '1,"line one\nline two, with a comma",3.5\n'
            '2,"she said ""hi""\n\nafter a blank line",4\n'
            '3,plain,5.5\n')
    path = env.write("reviews/r.csv", text)
    result = env.crawl()
    assert result.errors == []
    assert env.columns("reviews") == [("id", "bigint"), ("comment", "string"), ("score", "double")]
    t = env.table("reviews")
    assert t.parameters["recordCount"] == "3"
    assert t.parameters["averageRecordSize"] == str(round(path.stat().st_size / 3))
    assert t.storage.serde == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert t.storage.serde_parameters == {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"}


def test_an_unquoted_new_file_does_not_switch_a_quoted_tables_serde_back(env: Env) -> None:
    env.write("people/a.csv", 'id,name\n1,"Smith, Ann"\n2,Bob\n')
    env.crawl()
    env.write("people/b.csv", "id,name\n3,Cid\n4,Dee\n")
    result = env.crawl()
    assert env.table("people").storage.serde == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert [c for c in result.changes if "SerDe" in c] == []


class _RendezvousFS(LocalFileSystem):
    """A local filesystem whose first two opens wait for each other: both return only if they run at the same
    time, which is what parallel footer reads do; a sequential reader raises BrokenBarrierError after 10 s."""

    cachable = False  # a fresh barrier per instance (fsspec would otherwise reuse one instance)

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=10)
        self.lock = threading.Lock()
        self.opened = 0
        self.threads: set[str] = set()

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        with self.lock:
            self.threads.add(threading.current_thread().name)
            self.opened += 1
            rendezvous = self.opened <= 2
        if rendezvous:
            self.barrier.wait()
        return super()._open(path, mode, **kwargs)


def test_parquet_footers_are_read_in_parallel_and_results_keep_their_order(tmp_path: Path) -> None:
    infos = []
    for i in range(6):
        path = tmp_path / f"part-{i}.parquet"
        pq.write_table(pa.table({"id": pa.array([i], pa.int64()), f"c{i}": ["x"]}), path)
        infos.append(FileInfo(str(path), path.stat().st_size, 0.0))
    fs = _RendezvousFS()
    results = read_files(fs, infos, InferOptions(max_bytes=1 << 20, max_records=1000), CsvHints(), parallelism=4)
    assert fs.opened == 6  # the first two met at the barrier: they were in flight at once
    assert len(fs.threads) >= 2 and all(t.startswith("crawl-read") for t in fs.threads)
    assert [[n for n, _ in r.columns] for r in results if not isinstance(r, UnreadableFile)] == [
        ["id", f"c{i}"] for i in range(6)]
