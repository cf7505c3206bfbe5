"""DuckDB bronze on hostile raw files: one bad file never fails a batch, and no record is lost silently.

Each case builds a raw table over exact bytes (tests/support/raw_json_lake.py), runs the real
DuckDB bronze job and asserts the exact bronze rows and quarantine records.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakeglue import records
from lakeglue.catalog.model import Column, StorageDescriptor
from lakeglue.jobs.context import JobContext
from lakeglue.jobs.duckdb.entrypoint import run_job
from lakeglue.pipelines.spec import spec_from_dict
from lakeglue.settings import Settings
from lakeglue.storage.zones import FileInfo
from tests.support.raw_json_lake import raw_json_context

STARTED = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
GOOD = b'{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n'


def _context(tmp_path: Path, files: dict[str, bytes], columns: list[Column], fmt: str = "json",
             parameters: dict[str, str] | None = None, options: dict[str, str] | None = None,
             **settings: Any) -> JobContext:
    spec = spec_from_dict({"name": "edge", "database": "edge", "source": {"prefix": "edge"},
                           "bronze": {"events": {"format": fmt, "options": options or {}}}}, check_files=False)
    ctx = raw_json_context(Settings(lake_root=str(tmp_path / "lake"), duckdb_temp_directory=str(tmp_path / "spill"),
                                    **settings), spec, files, columns, STARTED)
    if fmt != "json" or parameters:
        table = ctx.catalog.get_table("edge_raw", "events")
        storage = StorageDescriptor.for_format(fmt, columns, table.storage.location,
                                               serde_parameters={"field.delim": ","} if fmt == "csv" else None)
        extra = {"classification": fmt, **({"skip.header.line.count": "1"} if fmt == "csv" else {})}
        ctx.catalog.upsert_table(replace(table, storage=storage,
                                         parameters={**table.parameters, **extra, **(parameters or {})}))
    return ctx


def _rows(ctx: JobContext, columns: str = "CAST(id AS BIGINT), name") -> list[tuple[Any, ...]]:
    """Bronze rows (leaves are text; ids cast back for readability) with the file's name and line."""
    root = Path(ctx.lake.path("curated", "bronze", "events"))
    files = sorted(str(p) for p in root.rglob("*.parquet"))
    if not files:
        return []
    return duckdb.sql(f"SELECT {columns}, regexp_extract(_source_file, '[^/]+$', 0) AS f, _line "
                      f"FROM read_parquet({files!r}) ORDER BY f, _line, 1").fetchall()


def _quarantine(ctx: JobContext) -> list[tuple[Any, ...]]:
    qdir = Path(ctx.lake.path("quarantine", "edge", "bronze", "events"))
    found = [json.loads(line) for f in qdir.rglob("*.json") for line in f.read_text().splitlines()]
    assert all(set(r) <= set(records.QUARANTINE_FIELDS) for r in found)
    return sorted(((r["source_file"].rsplit("/", 1)[-1], r.get("line"), r["reason"], r.get("raw"), r.get("size"))
                   for r in found), key=lambda r: (r[0], r[1] or 0))


def _counts(metrics: Any) -> tuple[int, int, int, int]:
    (t,) = metrics.tables
    return t.rows_read, t.rows_written, t.rows_quarantined, t.files_quarantined


COLUMNS = [Column("id", "bigint"), Column("name", "string")]


def _truncated_gzip() -> bytes:
    data = gzip.compress(b"".join(b'{"id": %d, "name": "t"}\n' % i for i in range(2000)))
    return data[: len(data) // 2]


def test_one_bad_file_is_quarantined_whole_and_the_others_land_and_the_next_run_goes_on(tmp_path: Path) -> None:
    truncated = _truncated_gzip()
    ctx = _context(tmp_path, {"a.jsonl": GOOD, "b.jsonl.gz": b"", "c.jsonl.gz": truncated,
                              "d.jsonl": b'{"id": 3, "name": "d"}\n'}, COLUMNS)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "a", "a.jsonl", 1), (2, "b", "a.jsonl", 2), (3, "d", "d.jsonl", 1)]
    quarantined = _quarantine(ctx)
    assert [(q[0], q[1], q[4]) for q in quarantined] == [("b.jsonl.gz", None, 0), ("c.jsonl.gz", None, len(truncated))]
    assert all(q[2].startswith("unreadable file: ") and q[3] is None for q in quarantined)
    assert _counts(metrics) == (3, 3, 0, 2)
    assert metrics.tables[0].files_read == 2

    # the next batch is not blocked by the bad files: a new file is read alone
    folder = Path(ctx.lake.path("raw", "edge", "events"))
    (folder / "e.jsonl").write_bytes(b'{"id": 5, "name": "e"}\n')
    ctx.ledger.record_seen("edge/events", [FileInfo(str(folder / "e.jsonl"), 23, (folder / "e.jsonl").stat().st_mtime)])
    second = run_job("bronze", replace(ctx, batch_id="b2"))
    assert _counts(second) == (1, 1, 0, 0)
    assert (5, "e", "e.jsonl", 1) in _rows(ctx)


def test_undecodable_line_is_quarantined_alone_and_the_good_lines_of_its_file_land(tmp_path: Path) -> None:
    first = b'{"id": 1, "name": "a"}'
    ctx = _context(tmp_path, {"a.jsonl": first + b'\n{"id": 2, "name": "\xff\xfe"}\n{"id": 3, "name": "c"}\n'}, COLUMNS)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "a", "a.jsonl", 1), (3, "c", "a.jsonl", 3)]
    assert _quarantine(ctx) == [("a.jsonl", 2, records.undecodable("UTF-8", len(first) + 1 + 19),
                                 '{"id": 2, "name": "\\xff\\xfe"}', 23)]
    assert _counts(metrics) == (3, 2, 1, 0)


def test_a_file_of_random_bytes_does_not_fail_the_job_and_every_line_is_accounted_for(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(6000)
    ctx = _context(tmp_path, {"a.jsonl": GOOD, "noise.jsonl": noise}, COLUMNS)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "a", "a.jsonl", 1), (2, "b", "a.jsonl", 2)]
    quarantined = _quarantine(ctx)
    assert quarantined and {q[0] for q in quarantined} == {"noise.jsonl"}
    assert any(q[2].startswith("undecodable: not valid UTF-8 at byte ") for q in quarantined)
    read, written, rejected, files = _counts(metrics)
    assert (written, rejected, files) == (2, len(quarantined), 0) and read == written + rejected


@pytest.mark.parametrize(("encoding", "data", "expected"), [
    ("ISO-8859-1", '{"id": 1, "name": "José"}\n{"id": 2, "name": "Ærø"}\n'.encode("latin-1"), ["José", "Ærø"]),
    ("WINDOWS-1252", '{"id": 1, "name": "5 €"}\n{"id": 2, "name": "“q”"}\n'.encode("cp1252"), ["5 €", "“q”"]),
    ("UTF-16", '{"id": 1, "name": "ü"}\r\n{"id": 2, "name": "日本"}\r\n'.encode("utf-16"), ["ü", "日本"]),
])
def test_a_table_in_another_encoding_is_read_as_text_with_lineage_on_the_original_file(
        tmp_path: Path, encoding: str, data: bytes, expected: list[str]) -> None:
    ctx = _context(tmp_path, {"part-1.json": data}, COLUMNS, parameters={records.ENCODING_PARAM: encoding})
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(1, expected[0], "part-1.json", 1), (2, expected[1], "part-1.json", 2)]
    assert _quarantine(ctx) == []
    assert _counts(metrics) == (2, 2, 0, 0)


def test_the_spec_encoding_option_overrides_the_catalog(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"a.json": '{"id": 1, "name": "Çé"}\n'.encode("latin-1")}, COLUMNS,
                   options={"encoding": "latin1"})
    run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "Çé", "a.json", 1)]


def test_a_utf8_bom_is_stripped(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"a.json": b"\xef\xbb\xbf" + GOOD}, COLUMNS)
    run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "a", "a.json", 1), (2, "b", "a.json", 2)]


def test_lf_crlf_and_a_lone_cr_each_end_a_line_as_in_hadoop(tmp_path: Path) -> None:
    """DuckDB fails on mixed line ends or splits them its own way (a CRLF after LF lines as two ends: line
    numbers off by one; a lone CR after CRLF lines eats the next byte); such files are read from an LF copy."""
    files = {"lf-crlf.jsonl": b'{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\r\n{"id": 3, "name": "c"}\n',
             "crlf-cr.jsonl": b'{"id": 4, "name": "d"}\r\n{"id": 5, "name": "e"}\r{"id": 6, "name": "\xff"}\r',
             "crlf.jsonl": b'{"id": 7, "name": "g"}\r\n\r\n{"id": 8, "name": "h"}\r\n',
             "cr-inside.jsonl": b'{"id": 9, "name": "i\rj"}\n{"id": 10, "name": "k"}\n'}
    ctx = _context(tmp_path, files, COLUMNS)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(10, "k", "cr-inside.jsonl", 3), (4, "d", "crlf-cr.jsonl", 1), (5, "e", "crlf-cr.jsonl", 2),
                          (7, "g", "crlf.jsonl", 1), (8, "h", "crlf.jsonl", 3), (1, "a", "lf-crlf.jsonl", 1),
                          (2, "b", "lf-crlf.jsonl", 2), (3, "c", "lf-crlf.jsonl", 3)]
    assert [(q[0], q[1], q[2].split(":")[0], q[3]) for q in _quarantine(ctx)] == [
        ("cr-inside.jsonl", 1, "malformed JSON", '{"id": 9, "name": "i'),
        ("cr-inside.jsonl", 2, "not a JSON object", 'j"}'),
        ("crlf-cr.jsonl", 3, "undecodable", '{"id": 6, "name": "\\xff"}')]
    assert _counts(metrics) == (11, 8, 3, 0)


def test_csv_files_with_mixed_line_ends_are_read_and_blank_lines_are_no_records(tmp_path: Path) -> None:
    files = {"mixed.csv": b"id,name\n1,a\r\n2,b\r3,c\n", "blank.csv": b"id,name\n4,d\n \t \n\r\n  \r\n5,e\n",
             "crlf.csv": b"id,name\r\n6,f\r\n \t\r\n7,g\r\n", "only-blank.csv": b"  \n\n \t \n"}
    ctx = _context(tmp_path, files, CSV_COLUMNS, fmt="csv")
    metrics = run_job("bronze", ctx)
    assert sorted(r[:3] for r in _rows(ctx)) == [(1, "a", "mixed.csv"), (2, "b", "mixed.csv"), (3, "c", "mixed.csv"),
                                                 (4, "d", "blank.csv"), (5, "e", "blank.csv"), (6, "f", "crlf.csv"),
                                                 (7, "g", "crlf.csv")]
    assert _quarantine(ctx) == []
    assert _counts(metrics) == (7, 7, 0, 0)


def test_whitespace_only_json_lines_are_no_records(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"a.jsonl": b'{"id": 1, "name": "a"}\n \t \n\t\n\n   \n{"id": 2, "name": "b"}\n\t'},
                   COLUMNS)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "a", "a.jsonl", 1), (2, "b", "a.jsonl", 6)]
    assert _quarantine(ctx) == []
    assert _counts(metrics) == (2, 2, 0, 0)


def test_names_with_glob_characters_are_read_literally(tmp_path: Path) -> None:
    zst = tmp_path / "z.json.zst"
    duckdb.sql(f"""COPY (SELECT '{{"id": 6, "name": "zstd"}}' AS line) TO '{zst}'
                   (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', COMPRESSION zstd)""")
    files = {"a.json": b'{"id": 1, "name": "plain"}\n', "[a].json": b'{"id": 2, "name": "bracket"}\n',
             "[z].json.zst": zst.read_bytes(),
             "*.json": b'{"id": 3, "name": "star"}\n', "?.json": b'{"id": 4, "name": "question"}\n',
             "{a,b}.json": b'{"id": 5, "name": "braces"}\n'}
    ctx = _context(tmp_path, files, COLUMNS)
    metrics = run_job("bronze", ctx)
    assert sorted(_rows(ctx)) == [(1, "plain", "a.json", 1), (2, "bracket", "%5Ba%5D.json", 1),
                                  (3, "star", "*.json", 1), (4, "question", "%3F.json", 1),
                                  (5, "braces", "%7Ba,b%7D.json", 1), (6, "zstd", "%5Bz%5D.json.zst", 1)]
    assert _counts(metrics) == (6, 6, 0, 0)
    assert not list(Path(ctx.lake.path("staging")).rglob("file-*")), "stand-ins are removed after the batch"


def test_a_line_over_max_record_bytes_is_quarantined_with_its_size(tmp_path: Path) -> None:
    big = b'{"id": 2, "name": "' + b"x" * (20 << 20) + b'"}'
    ctx = _context(tmp_path, {"a.jsonl": b'{"id": 1, "name": "a"}\n' + big + b'\n{"id": 3, "name": "c"}\n'}, COLUMNS,
                   max_record_bytes=1 << 20)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "a", "a.jsonl", 1), (3, "c", "a.jsonl", 3)]
    assert _quarantine(ctx) == [("a.jsonl", 2, records.record_too_large(len(big), 1 << 20),
                                 big[:1024].decode(), len(big))]
    assert _counts(metrics) == (3, 2, 1, 0)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_a_single_member_zip_is_read_and_other_zips_are_quarantined_whole(tmp_path: Path) -> None:
    two = _zip({"x.json": GOOD, "y.json": GOOD})
    broken = b"PK\x03\x04 not really a zip"
    ctx = _context(tmp_path, {"one.zip": _zip({"inner.json": GOOD}), "two.zip": two, "broken.zip": broken}, COLUMNS)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx) == [(1, "a", "one.zip", 1), (2, "b", "one.zip", 2)]
    quarantined = _quarantine(ctx)
    assert [(q[0], q[1], q[4]) for q in quarantined] == [("broken.zip", None, len(broken)), ("two.zip", None, len(two))]
    assert quarantined[1][2] == records.unreadable_file(
        "zip archive holds 2 files, expected exactly one (x.json, y.json)")
    assert _counts(metrics) == (2, 2, 0, 2)


def test_keys_that_are_not_plain_names_are_read_into_their_safe_columns(tmp_path: Path) -> None:
    columns = [Column("id", "bigint"), Column("a_b", "string"), Column("meta", "struct<d_e:string,n:string>"),
               Column('we"ird', "string")]
    renamed = records.encode_original_names({"a_b": 'a"b', "meta.d_e": "d e\\"})
    line = json.dumps({"id": 1, 'a"b': "quoted", "meta": {"d e\\": "spaced", "n": "7"}, 'we"ird': "old"})
    ctx = _context(tmp_path, {"a.json": line.encode() + b"\n"}, columns, parameters=renamed)
    metrics = run_job("bronze", ctx)
    assert _rows(ctx, 'CAST(id AS BIGINT), a_b, meta, "we""ird"') == [
        (1, "quoted", {"d_e": "spaced", "n": "7"}, "old", "a.json", 1)]
    assert _counts(metrics) == (1, 1, 0, 0)


def test_csv_null_markers_become_null_and_csv_in_latin1_is_read(tmp_path: Path) -> None:
    data = "id,name\n1,NA\n2,-\n3,Zoë\n4,\n".encode("latin-1")
    ctx = _context(tmp_path, {"a.csv": data}, [Column("id", "string"), Column("name", "string")], fmt="csv",
                   parameters={**records.encode_null_markers(["NA", "-"]), records.ENCODING_PARAM: "ISO-8859-1"})
    metrics = run_job("bronze", ctx)
    assert [r[:2] for r in _rows(ctx)] == [(1, None), (2, None), (3, "Zoë"), (4, None)]
    assert _counts(metrics) == (4, 4, 0, 0)


def test_the_spec_null_markers_option_overrides_the_catalog(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"a.csv": b"id,name\n1,NA\n2,missing\n"},
                   [Column("id", "string"), Column("name", "string")], fmt="csv",
                   parameters=records.encode_null_markers(["NA"]), options={"null_markers": '["missing"]'})
    run_job("bronze", ctx)
    assert [r[:2] for r in _rows(ctx)] == [(1, "NA"), (2, None)]


def test_null_markers_holding_the_escape_character_become_null(tmp_path: Path) -> None:
    """DuckDB refuses ``\\N`` as a nullstr beside the ``\\`` escape: such markers are mapped after the read."""
    data = b'id,name\n1,\\N\n2,NA\n3,\n4,N\n5,"\\\\N"\n'
    ctx = _context(tmp_path, {"a.csv": data}, CSV_COLUMNS, fmt="csv",
                   parameters=records.encode_null_markers(["\\N", "NA"]))
    metrics = run_job("bronze", ctx)
    assert [r[:2] for r in _rows(ctx)] == [(1, None), (2, None), (3, None), (4, "N"), (5, None)]
    assert _counts(metrics) == (5, 5, 0, 0)
    ctx = _context(tmp_path / "option", {"a.csv": b"id,name\n1,\\N\n2,NA\n"}, CSV_COLUMNS, fmt="csv",
                   options={"nullValue": "\\N"})
    run_job("bronze", ctx)
    assert [r[:2] for r in _rows(ctx)] == [(1, None), (2, "NA")]


def test_counts_that_do_not_add_up_fail_the_job_before_anything_is_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakeglue.jobs.duckdb import bronze

    real = bronze.write_quarantine
    monkeypatch.setattr(bronze, "write_quarantine", lambda *a, **k: real(*a, **k) - 1)  # one record lost
    ctx = _context(tmp_path, {"a.jsonl": GOOD + b"not json\n"}, COLUMNS)
    with pytest.raises(records.AccountingError, match="nothing committed"):
        run_job("bronze", ctx)
    assert not ctx.catalog.table_exists("edge_bronze", "events")
    assert _rows(ctx) == []


def _silver_context(tmp_path: Path, silver: dict[str, Any], files: dict[str, bytes],
                    columns: list[Column]) -> JobContext:
    spec = spec_from_dict({"name": "edge", "database": "edge", "source": {"prefix": "edge"},
                           "bronze": {"events": {"format": "json"}}, "silver": silver}, check_files=False)
    return raw_json_context(Settings(lake_root=str(tmp_path / "lake"), duckdb_temp_directory=str(tmp_path / "spill")),
                            spec, files, columns, STARTED)


def test_silver_counts_duplicates_and_quarantine_so_every_bronze_row_is_accounted_for(tmp_path: Path) -> None:
    lines = b'{"id": 1, "name": "old"}\n{"id": 1, "name": "new"}\n{"id": 2, "name": "b"}\n{"id": "x", "name": "c"}\n'
    ctx = _silver_context(tmp_path, {"events": {"from": "events", "key": ["id"], "columns": {
        "id": {"type": "bigint"}, "name": {"type": "string"}}}}, {"a.jsonl": lines}, COLUMNS)
    run_job("bronze", ctx)
    (t,) = run_job("silver", ctx).tables
    assert (t.rows_read, t.rows_written, t.rows_quarantined, t.rows_duplicate) == (4, 2, 1, 1)

    # a second batch: the metric counts the duplicates of the new batch only (its first id-2 row);
    # the account also the old rows its rows replace
    folder = Path(ctx.lake.path("raw", "edge", "events"))
    (folder / "b.jsonl").write_bytes(b'{"id": 2, "name": "b2"}\n{"id": 2, "name": "b2 again"}\n')
    ctx.ledger.record_seen("edge/events", [FileInfo(str(folder / "b.jsonl"), 1, 1.0)])
    second = replace(ctx, batch_id="b2")
    run_job("bronze", second)
    (t,) = run_job("silver", second).tables
    assert (t.rows_read, t.rows_written, t.rows_quarantined, t.rows_duplicate) == (6, 2, 1, 1)
    assert sorted(duckdb.sql(f"SELECT id, name FROM read_parquet('{t.location}/*.parquet')").fetchall()) == [
        (1, "new"), (2, "b2 again")]


def test_exploded_silver_counts_in_elements(tmp_path: Path) -> None:
    lines = (b'{"id": 1, "tags": ["1", "2"]}\n{"id": 1, "tags": ["1", "2", "3"]}\n'
             b'{"id": 2, "tags": ["4", "x"]}\n{"id": 3, "tags": []}\n')
    ctx = _silver_context(tmp_path, {"tags": {
        "from": "events", "key": ["id", "pos"], "order_by": ["id"], "explode": {"column": "tags"},
        "columns": {"id": {"type": "bigint"}, "pos": {"type": "int"}, "tag": {"type": "int", "expr": "item"}}}},
        {"a.jsonl": lines}, [Column("id", "bigint"), Column("tags", "array<string>")])
    run_job("bronze", ctx)
    (t,) = run_job("silver", ctx).tables
    # 7 elements: the 2 of the first id-1 row lost the parent dedupe (duplicates: not in rows_read, which
    # counts the winning parents' elements as on Spark; the account counts them), 'x' is not an int
    assert (t.rows_read, t.rows_written, t.rows_quarantined, t.rows_duplicate) == (5, 4, 1, 2)


CSV_COLUMNS = [Column("id", "string"), Column("name", "string")]


def test_csv_bad_files_and_lines_are_quarantined_and_the_rest_lands(tmp_path: Path) -> None:
    whole = gzip.compress(b"id,name\n" + b"".join(b"%d,n\n" % i for i in range(100, 3000)))
    files = {"a.csv": b"id,name\n1,a\n2,\xffb\n3,c\n", "b.csv.gz": b"", "[c].csv": b"id,name\n4,d\n",
             "c.csv": b"id,name\n5,e\n", "d.csv.zip": _zip({"d.csv": b"id,name\n6,f\n"}),
             "e.csv.gz": whole[: len(whole) // 2]}
    ctx = _context(tmp_path, files, CSV_COLUMNS, fmt="csv")
    metrics = run_job("bronze", ctx)
    assert sorted(r[:3] for r in _rows(ctx)) == [(1, "a", "a.csv"), (3, "c", "a.csv"), (4, "d", "%5Bc%5D.csv"),
                                                 (5, "e", "c.csv"), (6, "f", "d.csv.zip")]
    assert [(q[0], q[1], q[2].split(":")[0], q[4]) for q in _quarantine(ctx)] == [
        ("a.csv", 3, "undecodable", 4), ("b.csv.gz", None, "unreadable file", 0),
        ("e.csv.gz", None, "unreadable file", len(whole) // 2)]
    assert _counts(metrics) == (6, 5, 1, 2)


@pytest.mark.parametrize("size", [3 << 20, 20 << 20], ids=["under-the-csv-buffer", "over-the-csv-buffer"])
def test_a_csv_line_over_max_record_bytes_is_quarantined_with_its_size(tmp_path: Path, size: int) -> None:
    big = b"2," + b"x" * size
    ctx = _context(tmp_path, {"a.csv": b"id,name\n1,a\n" + big + b"\n3,c\n"}, CSV_COLUMNS, fmt="csv",
                   max_record_bytes=1 << 20)
    metrics = run_job("bronze", ctx)
    assert [r[:2] for r in _rows(ctx)] == [(1, "a"), (3, "c")]
    assert [(q[0], q[1], q[2], q[4]) for q in _quarantine(ctx)] == [
        ("a.csv", 3, records.record_too_large(len(big), 1 << 20), len(big))]
    assert _counts(metrics) == (3, 2, 1, 0)


def test_an_undecodable_csv_header_does_not_eat_the_first_record(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"a.csv": b"id,n\xffme\n1,a\n2,\xff\n"}, CSV_COLUMNS, fmt="csv")
    metrics = run_job("bronze", ctx)
    assert [r[:2] for r in _rows(ctx)] == [(1, "a")]
    assert [(q[0], q[1], q[2].split(":")[0]) for q in _quarantine(ctx)] == [("a.csv", 3, "undecodable")]
    assert _counts(metrics) == (2, 1, 1, 0)


def test_a_corrupt_parquet_file_is_quarantined_whole(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    duckdb.sql(f"COPY (SELECT 1::BIGINT AS id, 'a' AS name) TO '{good}' (FORMAT parquet)")
    data = good.read_bytes()
    ctx = _context(tmp_path, {"a.parquet": data, "b.parquet": data[: len(data) // 2]}, COLUMNS, fmt="parquet")
    metrics = run_job("bronze", ctx)
    assert [r[:3] for r in _rows(ctx)] == [(1, "a", "a.parquet")]
    ((name, line, reason, raw, size),) = _quarantine(ctx)
    assert (name, line, raw, size) == ("b.parquet", None, None, len(data) // 2)
    assert reason.startswith("unreadable file: DuckDB cannot read it: ")
    assert _counts(metrics) == (1, 1, 0, 1)


def test_json_keys_differing_only_in_case_are_both_kept(tmp_path: Path) -> None:
    columns = [Column("id", "bigint"), Column("Name", "string"), Column("name_2", "string")]
    renamed = records.encode_original_names({"name_2": "name"})
    ctx = _context(tmp_path, {"a.json": b'{"id": 1, "Name": "upper", "name": "lower"}\n'}, columns,
                   parameters=renamed)
    run_job("bronze", ctx)
    assert _rows(ctx, 'CAST(id AS BIGINT), "Name", name_2') == [(1, "upper", "lower", "a.json", 1)]


def test_keys_with_dots_spaces_and_emoji(tmp_path: Path) -> None:
    columns = [Column("a_b", "string"), Column("order_items", "string"), Column("col", "string")]
    renamed = records.encode_original_names({"a_b": "a.b", "order_items": "Order Items", "col": "🙂"})
    line = json.dumps({"a.b": "dot", "Order Items": "space", "🙂": "emoji"}, ensure_ascii=False)
    ctx = _context(tmp_path, {"a.json": line.encode() + b"\n"}, columns, parameters=renamed)
    run_job("bronze", ctx)
    assert _rows(ctx, "a_b, order_items, col") == [("dot", "space", "emoji", "a.json", 1)]


@pytest.mark.slow
def test_on_s3_names_are_read_literally_and_bad_files_are_quarantined(moto: str, tmp_path: Path) -> None:
    """The object-store paths: stand-ins are copies (no symlinks on S3), gzip trailers read by range."""
    import boto3

    from lakeglue.catalog.model import Table
    from lakeglue.catalog.sql import SqlCatalog
    from lakeglue.ledger import Ledger
    from lakeglue.storage import Lake
    from tests.support.duckdb_rows import table_rows

    settings = Settings(profile="aws", lake_root="s3://hostile/lake", catalog_url=f"sqlite:///{tmp_path / 'c.db'}",
                        aws_endpoint_url=moto, duckdb_temp_directory=str(tmp_path / "spill"))
    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket="hostile")
    lake = Lake(settings)
    files = {"a.json": b'{"id": 1, "name": "plain"}\n', "[a].json": b'{"id": 2, "name": "bracket"}\n',
             "b.json.gz": gzip.compress(b'{"id": 3, "name": "gz"}\n'), "c.json.gz": _truncated_gzip(),
             "d.zip": _zip({"d.json": b'{"id": 4, "name": "zipped"}\n'}),
             "e.json": '{"id": 5, "name": "Zoë"}\n'.encode() + b'{"id": 6, "name": "\xff"}\n'}
    folder = lake.path("raw", "edge", "events")
    infos = []
    for name, data in files.items():
        with lake.fs.open(f"{folder}/{name}", "wb") as fh:
            fh.write(data)
        infos.append(FileInfo(f"{folder}/{name}", len(data), 0.0))
    catalog, ledger = SqlCatalog(settings.catalog_url), Ledger(settings.catalog_url)
    catalog.ensure_database("edge_raw")
    catalog.upsert_table(Table("edge_raw", "events", StorageDescriptor.for_format("json", tuple(COLUMNS),
                                                                                    lake.uri(folder))))
    ledger.record_seen("edge/events", infos)
    spec = spec_from_dict({"name": "edge", "database": "edge", "source": {"prefix": "edge"},
                           "bronze": {"events": {"format": "json"}}}, check_files=False)
    ctx = JobContext(spec=spec, settings=settings, lake=lake, catalog=catalog, ledger=ledger, batch_id="b1",
                     started_at=STARTED)
    metrics = run_job("bronze", ctx)
    rows = table_rows(settings, catalog, lake, "edge_bronze", "events", ["id", "name", "_source_file", "_line"])
    prefix = "s3://hostile/lake/raw/edge/events/"
    assert rows == [("1", "plain", f"{prefix}a.json", 1), ("2", "bracket", f"{prefix}%5Ba%5D.json", 1),
                    ("3", "gz", f"{prefix}b.json.gz", 1), ("4", "zipped", f"{prefix}d.zip", 1),
                    ("5", "Zoë", f"{prefix}e.json", 1)]
    qdir = lake.path("quarantine", "edge", "bronze", "events")
    quarantined = sorted((r["source_file"].rsplit("/", 1)[-1], r.get("line"), r["reason"].split(":")[0])
                         for path in lake.fs.find(qdir) for r in map(json.loads, lake.read_text(path).splitlines()))
    assert quarantined == [("c.json.gz", None, "unreadable file"), ("e.json", 2, "undecodable")]
    assert _counts(metrics) == (6, 5, 1, 1)
    assert not [p for p in lake.fs.find(lake.path("staging")) if "bronze-input" in p]
