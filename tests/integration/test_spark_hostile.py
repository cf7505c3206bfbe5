"""Spark bronze and silver on hostile raw files: one bad file is that file's problem, no record is
lost without a word, and the counts add up.

One lake, one bronze run over several raw tables (JSON lines in UTF-8, ISO-8859-1 and
WINDOWS-1252, a CSV with null markers), then one silver run: every test reads that outcome.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeglue import records
from lakeglue.catalog.model import Column, StorageDescriptor, Table
from lakeglue.catalog.sql import SqlCatalog
from lakeglue.jobs.context import JobContext
from lakeglue.ledger import Ledger
from lakeglue.pipelines.spec import spec_from_dict
from lakeglue.settings import Settings
from lakeglue.storage import Lake
from lakeglue.storage.zones import FileInfo

pytestmark = [pytest.mark.spark, pytest.mark.slow]

LIMIT = 120  # max_record_bytes for the run: one line of the events table is over it
STARTED = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


BIG = b'{"id": 9, "a b": "' + b"x" * 200 + b'"}'
EVENTS = {
    # BOM on the first line, a CRLF line, an undecodable line between good ones, a line over the limit
    "a.json": (b'\xef\xbb\xbf{"id": 1, "a b": "first"}\r\n{"id": 2, "a b": "caf\xff!"}\n'
               b'{"id": 3, "x.y": "dot", "n": {"q\\"q": "quoted"}}\n' + BIG + b'\n{"id": 1, "a b": "again"}\n'),
    "[a].json": b'{"id": 20, "a b": "bracket"}\n',     # a glob would read a.json instead
    "_hidden.json": b'{"id": 30, "a b": "underscore"}\n',  # Spark takes it for a hidden file
    "one.zip": _zip({"inner.json": b'{"id": 40, "a b": "zipped"}\n{"id": 41}\n'}),
    "two.zip": _zip({"x.json": b'{"id": 50}\n', "y.json": b'{"id": 51}\n'}),
    "broken.zip": b"PK\x03\x04 not really a zip",
    "empty.json.gz": b"",
    "cut.json.gz": gzip.compress(b'{"id": 60}\n' * 2000)[:60],  # Spark's job fails on it: the slow path
    "ok.json.gz": gzip.compress(b'{"id": 70, "a b": "gz"}\n'),
}
EVENT_COLUMNS = [Column("id", "bigint"), Column("a_b", "string"), Column("x_y", "string"),
                 Column("n", "struct<q_q:string>")]
ORIGINAL_NAMES = {"a_b": "a b", "x_y": "x.y", "n.q_q": 'q"q'}
LATIN = {"l.json": b'{"name": "caf\xe9"}\n{"name": "\xff"}\n'}
CP1252 = {"w.json": b'{"name": "\x80 5"}\n{"name": "bad \x81 byte"}\n{"name": "ok"}\n'}
PEOPLE = {
    "p.csv": b"id,name,city\n1,Ann,NA\n2,-,Oslo\n3,,Rome\n4,Bo\xffb,Kyiv\n",
    "q.csv": "id,name,city\n5,R\ufffdal,Lima\n".encode() + b"6," + b"y" * 200 + b",Lima\n",  # a real U+FFFD: data
}
# Text after the first complete object: malformed (Jackson alone would keep the first object and
# drop the rest without a word); a "}" inside a string and nested objects are no such text.
GLUED = {"g.json": b'{"id": 1} {"id": 2}\n{"id": 3, "s": "} x"}\n{"id": 4, "n": {"k": "v"}}\n'
                   b'{"id": 5}{"id": 6}\n{"id": 7, "n": {"k": "w"}} {"id": 8}\n{"id": 9} x\n'
                   # a bare NaN keeps its text unquoted; a string holding the quotes keeps them
                   b'{"id": 10, "s": NaN}\n{"id": 11, "s": "\\"NaN\\""}\n'}
UTF16 = {"u.json": '{"name": "\u00fc"}\n{"name": "x"}\n'.encode("utf-16"),
         "v.json": '{"name": "cut"}\n'.encode("utf-16") + b"\x00\xd8"}  # ends inside a surrogate pair


def _raw_table(lake: Lake, catalog: SqlCatalog, ledger: Ledger, table: str, fmt: str, files: dict[str, bytes],
               columns: list[Column], parameters: dict[str, str]) -> None:
    folder = Path(lake.path("raw", "edge", table))
    folder.mkdir(parents=True)
    infos = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        infos.append(FileInfo(str(folder / name), len(data), (folder / name).stat().st_mtime))
    storage = StorageDescriptor.for_format(fmt, tuple(columns), lake.uri(str(folder)))
    catalog.upsert_table(Table("edge_raw", table, storage, parameters={"classification": fmt, **parameters}))
    ledger.record_seen(f"edge/{table}", infos)


def _uri(lake: Lake, table: str, name: str) -> str:
    return "file://" + quote(lake.path("raw", "edge", table, name))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Any]:
    from lakeglue.jobs.spark.bronze import run_bronze
    from lakeglue.jobs.spark.catalog_io import read_table
    from lakeglue.jobs.spark.silver import run_silver

    root = tmp_path_factory.mktemp("spark-hostile")
    settings = Settings(lake_root=str(root / "lake"), max_record_bytes=LIMIT)
    lake = Lake(settings)
    lake.ensure_zones()
    catalog, ledger = SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
    catalog.ensure_database("edge_raw")
    _raw_table(lake, catalog, ledger, "events", "json", EVENTS, EVENT_COLUMNS,
               records.encode_original_names(ORIGINAL_NAMES))
    _raw_table(lake, catalog, ledger, "latin", "json", LATIN, [Column("name", "string")],
               {records.ENCODING_PARAM: "ISO-8859-1"})
    _raw_table(lake, catalog, ledger, "cp", "json", CP1252, [Column("name", "string")], {})
    _raw_table(lake, catalog, ledger, "people", "csv", PEOPLE,
               [Column("id", "bigint"), Column("name", "string"), Column("city", "string")],
               {"skip.header.line.count": "1", **records.encode_null_markers(["", "NA", "-"])})
    _raw_table(lake, catalog, ledger, "glued", "json", GLUED,
               [Column("id", "bigint"), Column("s", "string"), Column("n", "struct<k:string>")], {})
    _raw_table(lake, catalog, ledger, "utf16", "json", UTF16, [Column("name", "string")],
               {records.ENCODING_PARAM: "UTF-16"})
    good = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), good)
    for table in ("parq", "parqc"):  # parqc declares a choice: its footers are read in Python first
        _raw_table(lake, catalog, ledger, table, "parquet", {"good.parquet": good.getvalue(),
                                                             "bad.parquet": b"PAR1 no footer here PAR1"},
                   [Column("id", "bigint")], {})
    spec = spec_from_dict({
        "name": "edge", "database": "edge", "source": {"prefix": "edge"},
        "bronze": {"events": {"format": "json"}, "latin": {"format": "json"},
                   "cp": {"format": "json", "options": {"encoding": "windows-1252"}},
                   "people": {"format": "csv"}, "utf16": {"format": "json"},
                   "glued": {"format": "json"}, "parq": {"format": "parquet"},
                   "parqc": {"format": "parquet", "choices": {"id": ["bigint", "string"]}}},
        "silver": {"events": {"from": "events", "key": ["id"], "order_by": ["a_b"],
                              "columns": {"id": {"type": "bigint"}, "a_b": {"type": "string"}}}},
    }, check_files=False)
    ctx = JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=ledger, batch_id="b1",
                     started_at=STARTED)
    bronze = {t.table.split(".")[-1]: t for t in run_bronze(spark, ctx).tables}
    silver = {t.table.split(".")[-1]: t for t in run_silver(spark, ctx).tables}

    def rows(layer: str, table: str, *columns: str) -> list[tuple[Any, ...]]:
        df = read_table(spark, catalog, f"edge_{layer}", table)
        return sorted((tuple(r) for r in df.select(*columns).collect()), key=repr)

    def quarantined(table: str) -> list[dict[str, Any]]:
        qdir = Path(lake.path("quarantine", "edge", "bronze", table))
        return sorted((json.loads(line) for f in qdir.rglob("*.json") for line in f.read_text().splitlines()),
                      key=lambda r: (r["source_file"], r.get("line") or 0))

    return {"lake": lake, "bronze": bronze, "silver": silver, "rows": rows, "quarantined": quarantined}


def test_bad_files_are_quarantined_whole_and_the_rest_of_the_batch_lands(run: dict[str, Any]) -> None:
    lake = run["lake"]
    files = [r for r in run["quarantined"]("events") if "line" not in r]
    assert [(r["source_file"], r["size"]) for r in files] == sorted(
        (_uri(lake, "events", n), len(EVENTS[n])) for n in ("broken.zip", "cut.json.gz", "empty.json.gz", "two.zip"))
    assert all(r["reason"].startswith("unreadable file: ") for r in files)
    by_name = {r["source_file"].rsplit("/", 1)[-1]: r["reason"] for r in files}
    assert "exactly one file, it holds 2" in by_name["two.zip"]
    assert "empty (0 bytes)" in by_name["empty.json.gz"]
    ids = run["rows"]("bronze", "events", "id", "_source_file")
    assert ids == sorted([("1", _uri(lake, "events", "a.json")), ("3", _uri(lake, "events", "a.json")),
                          ("1", _uri(lake, "events", "a.json")),
                          ("20", _uri(lake, "events", "[a].json")), ("30", _uri(lake, "events", "_hidden.json")),
                          ("40", _uri(lake, "events", "one.zip")), ("41", _uri(lake, "events", "one.zip")),
                          ("70", _uri(lake, "events", "ok.json.gz"))], key=repr)
    events = run["bronze"]["events"]
    assert (events.files_quarantined, events.files_read) == (4, 5)
    assert (events.rows_read, events.rows_written, events.rows_quarantined) == (10, 8, 2)


def test_undecodable_and_too_large_lines_are_quarantined_with_their_bytes(run: dict[str, Any]) -> None:
    lines = [r for r in run["quarantined"]("events") if "line" in r]
    assert [(r["line"], r["reason"], r.get("size")) for r in lines] == [
        (2, records.undecodable("UTF-8", 21), None),
        (4, records.record_too_large(len(BIG), LIMIT), len(BIG))]
    assert lines[0]["raw"] == records.escape_bytes(b'{"id": 2, "a b": "caf\xff!"}')
    assert BIG.decode().startswith(lines[1]["raw"]) and lines[1]["raw"]


def test_original_keys_land_in_their_safe_columns_and_the_bom_is_dropped(run: dict[str, Any]) -> None:
    got = run["rows"]("bronze", "events", "id", "a_b", "x_y", "n.q_q")
    assert ("1", "first", None, None) in got  # the BOM did not make line 1 malformed
    assert ("3", None, "dot", "quoted") in got
    assert ("40", "zipped", None, None) in got


def test_single_byte_encodings_are_decoded_and_bad_bytes_quarantined(run: dict[str, Any]) -> None:
    assert run["rows"]("bronze", "latin", "name") == [("café",), ("ÿ",)]
    assert run["rows"]("bronze", "cp", "name") == [("ok",), ("€ 5",)]
    (bad,) = run["quarantined"]("cp")
    assert (bad["line"], bad["reason"], bad["raw"]) == (
        2, records.undecodable("WINDOWS-1252", 14), records.escape_bytes(b'{"name": "bad \x81 byte"}'))
    cp = run["bronze"]["cp"]
    assert (cp.rows_read, cp.rows_written, cp.rows_quarantined) == (3, 2, 1)


def test_csv_null_markers_are_null_and_undecodable_rows_quarantined(run: dict[str, Any]) -> None:
    assert run["rows"]("bronze", "people", "id", "name", "city") == sorted(
        [("1", "Ann", None), ("2", None, "Oslo"), ("3", None, "Rome"), ("5", "R\ufffdal", "Lima")], key=repr)
    bad, big = run["quarantined"]("people")
    assert bad["reason"] == records.undecodable("UTF-8") and bad["source_file"].endswith("/p.csv")
    assert bad["raw"].startswith("4,Bo")
    size = len(b"6," + b"y" * 200 + b",Lima")  # the record as parsed, without its line end
    assert (big["reason"], big["size"]) == (records.record_too_large(size, LIMIT), size)
    people = run["bronze"]["people"]
    assert (people.rows_read, people.rows_written, people.rows_quarantined) == (6, 4, 2)


def test_utf16_lines_are_read_and_an_undecodable_utf16_file_is_quarantined_whole(run: dict[str, Any]) -> None:
    assert run["rows"]("bronze", "utf16", "name", "_line") == [("x", 2), ("\u00fc", 1)]
    (bad,) = run["quarantined"]("utf16")
    assert bad["source_file"].endswith("/v.json") and "line" not in bad
    assert bad["reason"].startswith("unreadable file: v.json: not valid UTF-16 at byte ")


def test_a_parquet_file_without_a_footer_is_quarantined_and_the_good_one_lands(run: dict[str, Any]) -> None:
    assert run["rows"]("bronze", "parq", "id") == run["rows"]("bronze", "parqc", "id.bigint") == [(1,), (2,)]
    for table in ("parq", "parqc"):
        (bad,) = run["quarantined"](table)
        assert bad["source_file"].endswith("/bad.parquet") and bad["reason"].startswith("unreadable file: ")
        parq = run["bronze"][table]
        assert (parq.files_read, parq.files_quarantined, parq.rows_read, parq.rows_written) == (1, 1, 2, 2)


def test_silver_counts_the_rows_that_lost_the_dedupe(run: dict[str, Any]) -> None:
    silver = run["silver"]["events"]
    # id 1 came twice in the batch: one row lost the dedupe; 8 bronze rows = 7 silver + 0 + 1
    assert (silver.rows_read, silver.rows_written, silver.rows_quarantined, silver.rows_duplicate) == (8, 7, 0, 1)
    assert ("1", "first") in [(str(i), a) for i, a in run["rows"]("silver", "events", "id", "a_b")]


def test_text_after_the_first_object_is_malformed_and_a_bare_nan_kept_as_text(run: dict[str, Any]) -> None:
    assert run["rows"]("bronze", "glued", "id", "s", "n.k") == [
        ("10", "NaN", None), ("11", '"NaN"', None), ("3", "} x", None), ("4", None, "v")]
    assert [(r["line"], r["reason"]) for r in run["quarantined"]("glued")] == [
        (1, records.MALFORMED_JSON), (4, records.MALFORMED_JSON), (5, records.MALFORMED_JSON),
        (6, records.MALFORMED_JSON)]
    glued = run["bronze"]["glued"]
    assert (glued.rows_read, glued.rows_written, glued.rows_quarantined) == (8, 4, 4)
