"""Hostile raw files: what the crawler decides for each, and that the decision is in the plan.

Every test names the rule it checks. The crawl must never fail on a file, and must never write a
table no reader can read: what it cannot type safely it types ``string``, what the query engines
cannot read it marks ``lakeglue.unreadable``, and what a reader needs (encoding, null markers,
original names) it records with the names in :mod:`lakeglue.records`.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from lakeglue import records
from lakeglue.crawler import CrawlerConfig, CrawlerConfigError
from lakeglue.crawler.classify import decode_sample
from lakeglue.crawler.texttypes import guess_type
from tests.unit.test_crawler import DB, Env, jsonl, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def decisions_of(result_decisions: list[str], path: Path) -> list[str]:
    return [d.removeprefix(f"{path}: ") for d in result_decisions if d.startswith(f"{path}: ")]


# -- encodings -------------------------------------------------------------------------------------
LATIN1_ROWS = [(1, "José", "Málaga"), (2, "Zoë", "Köln"), (3, "Ångström", "Orléans")]


def latin1_csv() -> bytes:
    return ("id,name,city\n" + "".join(f"{i},{n},{c}\n" for i, n, c in LATIN1_ROWS)).encode("latin-1")


def test_latin1_csv_is_recorded_as_iso_8859_1(env: Env) -> None:
    """Rule: bytes not valid UTF-8 and none in 0x80-0x9F → ISO-8859-1 (what every engine reads natively)."""
    path = env.write("people/latin1.csv", latin1_csv())
    result = env.crawl()
    table = env.table("people")
    assert table.parameters[records.ENCODING_PARAM] == "ISO-8859-1"
    assert env.columns("people") == [("id", "bigint"), ("name", "string"), ("city", "string")]
    assert any(d.startswith("not valid UTF-8 (first invalid byte at") and d.endswith(
        "single-byte text: ISO-8859-1 (no byte in 0x80-0x9F, where it and WINDOWS-1252 differ)")
        for d in decisions_of(result.decisions, path))
    assert "table people: encoding ISO-8859-1 (1 of 1 sampled files with non-ASCII bytes ({'ISO-8859-1': 1}; " \
           "majority of files, ties to UTF-8))" in result.decisions


def test_windows_1252_bytes_make_a_windows_1252_table(env: Env) -> None:
    """Rule: a byte in 0x80-0x9F (here € = 0x80 and curly quotes) is printable only in WINDOWS-1252."""
    env.write("prices/p.csv", "id,label\n1,“cheap” 5€\n2,dear 9€\n".encode("cp1252"))
    env.crawl()
    assert env.table("prices").parameters[records.ENCODING_PARAM] == "WINDOWS-1252"


def test_utf16_with_bom_is_decoded_and_recorded(env: Env) -> None:
    """Rule: a byte order mark names the encoding (UTF-16 here; the NUL bytes are not 'binary')."""
    env.write("wide/w.csv", "id,name\n1,Ünïcode\n2,ok\n".encode("utf-16"))
    result = env.crawl()
    assert result.errors == []
    assert env.columns("wide") == [("id", "bigint"), ("name", "string")]
    assert env.table("wide").parameters[records.ENCODING_PARAM] == "UTF-16"


def test_utf8_bom_is_not_part_of_the_first_header(env: Env) -> None:
    env.write("bom/b.csv", b"\xef\xbb\xbfid,name\r\n1,a\r\n2,b\r\n")
    env.crawl()
    assert env.columns("bom") == [("id", "bigint"), ("name", "string")]
    assert env.table("bom").parameters[records.ENCODING_PARAM] == "UTF-8"
    assert records.ORIGINAL_NAMES_PARAM not in env.table("bom").parameters


def test_one_latin1_file_does_not_flip_a_utf8_table(env: Env) -> None:
    """Rule: the majority of files with non-ASCII bytes decides; the odd file is named in the plan."""
    env.write("people/a.csv", "id,name\n1,Zoë\n2,Élise\n")
    env.write("people/b.csv", "id,name\n3,Søren\n4,plain\n")
    odd = env.write("people/c.csv", latin1_csv())
    env.write("people/d.csv", "id,name\n5,ascii only\n6,x\n")  # ASCII fits every encoding: no vote
    result = env.crawl()
    assert env.table("people").parameters[records.ENCODING_PARAM] == "UTF-8"
    assert "table people: encoding UTF-8 (2 of 3 sampled files with non-ASCII bytes ({'UTF-8': 2, " \
           "'ISO-8859-1': 1}; majority of files, ties to UTF-8))" in result.decisions
    assert f"{odd}: decoded as ISO-8859-1, but table people is UTF-8; its lines not valid UTF-8 are " \
           "quarantined by bronze as undecodable" in result.decisions


def test_random_bytes_neither_break_the_crawl_nor_flip_utf8(env: Env) -> None:
    """A file of random bytes (NULs, controls) is unreadable on its own; the others make the table."""
    good = jsonl({"id": 1, "name": "Zoë"}, {"id": 2, "name": "b"})
    env.write("events/good-1.jsonl", good)
    noise = env.write("events/random.bin.jsonl", b"\xff" + bytes(range(256)) * 4)
    env.write("events/good-2.jsonl", jsonl({"id": 3}).encode() + b'{"id": 4, "name": "caf\xe9"}\n'
              + '{"id": 5, "name": "é"}\n'.encode())
    result = env.crawl()
    assert result.tables_created == ["events"]
    assert [p for p, _ in result.errors] == [str(noise)]
    assert env.table("events").parameters[records.ENCODING_PARAM] == "UTF-8"
    assert env.columns("events") == [("id", "bigint"), ("name", "string")]


def test_a_mostly_utf8_file_with_one_bad_byte_stays_utf8() -> None:
    """Rule: valid multi-byte UTF-8 characters outnumbering invalid sequences → UTF-8 with bad lines."""
    text, decoded, notes = decode_sample("f.jsonl", '{"a": "é"}\n{"a": "ü"}\n'.encode() + b'{"a": "\xe9"}\n',
                                         truncated=False)
    assert (decoded.encoding, decoded.evidence) == ("UTF-8", "utf-8")
    assert notes == ["mostly UTF-8 (2 multi-byte characters) with 1 invalid byte sequence(s), the first at byte "
                     "31: UTF-8; bronze quarantines the undecodable lines"]
    assert text.count("\ufffd") == 1


def test_configured_encoding_overrides_detection(env: Env) -> None:
    env.write("people/latin1.csv", latin1_csv())
    result = env.crawl(encoding="latin1")
    assert env.table("people").parameters[records.ENCODING_PARAM] == "ISO-8859-1"
    assert "table people: encoding ISO-8859-1 (set in the crawler config; not detected)" in result.decisions
    env.crawl(table_encodings={"people": "cp1252"}, recrawl_policy="CRAWL_EVERYTHING")
    assert env.table("people").parameters[records.ENCODING_PARAM] == "WINDOWS-1252"
    with pytest.raises(CrawlerConfigError, match=re.escape("CrawlerConfig.encoding='klingon' is not an encoding")):
        CrawlerConfig(database=DB, encoding="klingon")


def test_a_pipelines_crawler_takes_encoding_and_null_markers_from_the_bronze_options(env: Env) -> None:
    """The bronze reader and the catalog must agree: bronze.<table>.options.encoding / null_markers
    become the crawler's per-table overrides."""
    from lakeglue.crawler import config_for_pipeline
    from lakeglue.pipelines.spec import spec_from_dict

    spec = spec_from_dict({"name": "shop", "database": "shop", "source": {"prefix": "ecommerce"}, "bronze": {
        "people": {"format": "csv", "options": {"encoding": "latin1", "null_markers": '["NA", "?"]'}},
        "orders": {"format": "csv", "options": {"null_markers": "NA"}}, "other": {"format": "json"}}})
    config = config_for_pipeline(spec)
    assert config.table_encodings == {"people": "latin1"}
    assert (config.markers_for("people"), config.markers_for("orders"), config.markers_for("other")) == (
        ("NA", "?"), ("NA",), None)
    assert (config.encoding_for("people"), config.encoding_for("other")) == ("latin1", "")
    assert CrawlerConfig.from_dict(config.to_dict()) == config
    env.write("people/latin1.csv", latin1_csv())
    from lakeglue.crawler import crawl

    crawl(config, lake=env.lake, catalog=env.catalog, ledger=env.ledger)
    people = env.catalog.get_table(config.database, "people")
    assert people.parameters[records.ENCODING_PARAM] == "ISO-8859-1"
    assert records.null_markers(people.parameters) == ("NA", "?")


def test_encoding_of_parquet_tables_is_not_recorded(env: Env) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = env.prefix_dir / "p" / "a.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1]}), path)
    env.crawl()
    assert records.ENCODING_PARAM not in env.table("p").parameters


# -- null markers ------------------------------------------------------------------------------------
NULL_MARKERS = ["NA", "N/A", "\\N", "-", ""]


def test_null_markers_in_typed_columns_are_recorded(env: Env) -> None:
    """Rule: a candidate marker (records.NULL_MARKER_CANDIDATES) counts when the column's other values
    are typed (bigint, double); it is recorded so readers do not fail to cast 'NA' to BIGINT."""
    lines = ["id,qty,price"]
    for i, marker in enumerate(NULL_MARKERS):
        lines += [f"{2 * i + 1},{marker},{i}.5", f"{2 * i + 2},{i},{marker}"]
    path = env.write("nulls/nulls.csv", "\n".join(lines) + "\n")
    result = env.crawl()
    assert env.columns("nulls") == [("id", "bigint"), ("qty", "bigint"), ("price", "double")]
    params = env.table("nulls").parameters
    assert records.null_markers(params) == ("", "NA", "N/A", "\\N", "-")
    assert params[records.NULL_FORMAT_PARAM] == "NA"  # Hive's one marker: the first non-empty
    assert "column qty: bigint with null marker(s) '', 'NA', 'N/A', '\\\\N', '-' (ignored while typing; " \
           "recorded as lakeglue.null.markers / serialization.null.format)" in decisions_of(result.decisions, path)
    assert "table nulls: null markers ['', 'NA', 'N/A', '\\\\N', '-'] (seen in columns typed other than " \
           "string; recorded as lakeglue.null.markers and serialization.null.format)" in result.decisions


def test_a_marker_only_in_a_string_column_is_data(env: Env) -> None:
    """'NA' among country codes is Namibia: nothing recorded when no typed column needed it."""
    env.write("c/c.csv", "id,country\n1,NA\n2,FR\n3,DE\n")
    env.crawl()
    params = env.table("c").parameters
    assert records.NULL_MARKERS_PARAM not in params and records.NULL_FORMAT_PARAM not in params


def test_a_marker_needed_by_a_typed_column_is_said_to_hit_string_columns_too(env: Env) -> None:
    path = env.write("c/c.csv", "id,country,qty\n1,NA,NA\n2,FR,3\n3,DE,4\n")
    result = env.crawl()
    assert records.null_markers(env.table("c").parameters) == ("NA",)
    assert "column country: string values 'NA' read as NULL too (null markers are table-wide)" in \
        decisions_of(result.decisions, path)


def test_nan_and_infinity_are_doubles_not_nulls(env: Env) -> None:
    """NaN/Infinity are IEEE doubles every reader casts: the column is double, nothing recorded as null."""
    env.write("m/m.csv", "id,v,w\n1,1.5,3\n2,NaN,-Infinity\n3,inf,4\n")
    env.write("j/j.jsonl", b'{"id": 1, "v": NaN}\n{"id": 2, "v": Infinity}\n{"id": 3, "v": 2.5}\n'
                           b'{"id": 4, "v": "NaN"}\n{"id": 5, "v": -Infinity}\n')  # quoted too: Spark reads it
    env.crawl()
    assert env.columns("m") == [("id", "bigint"), ("v", "double"), ("w", "double")]
    assert records.NULL_MARKERS_PARAM not in env.table("m").parameters
    assert env.columns("j") == [("id", "bigint"), ("v", "double")]
    assert str(guess_type(["Nan", "Nan"]).type) == "string"  # a name, not a number: no finite value beside it


def test_configured_null_markers_override_detection(env: Env) -> None:
    env.write("n/n.csv", "id,qty\n1,NA\n2,3\n")
    env.crawl(null_markers=("NA", "?"))
    assert records.null_markers(env.table("n").parameters) == ("NA", "?")


def test_json_strings_that_look_like_markers_keep_a_date_column_string(env: Env) -> None:
    """JSON readers do not apply null markers: "NA" in a date field keeps it string (a cast would fail)."""
    env.write("j/j.jsonl", jsonl({"d": "2026-01-01"}, {"d": "NA"}))
    env.crawl()
    assert env.columns("j") == [("d", "string")]
    assert records.NULL_MARKERS_PARAM not in env.table("j").parameters


# -- no narrowing ---------------------------------------------------------------------------------------
HUGE = 2 ** 64


def test_integers_are_bigint_even_when_the_sample_fits_int(env: Env) -> None:
    """Rule: text integers are bigint (as Glue): row 1205 holds 3e9, past the 1000-record sample."""
    rows = [f"{i},{3_000_000_000 if i == 1205 else i}" for i in range(1, 1211)]
    env.write("w/w.csv", "id,k\n" + "\n".join(rows) + "\n")
    env.crawl()
    assert env.columns("w") == [("id", "bigint"), ("k", "bigint")]


def test_integers_beyond_64_bits_are_decimal_38_0_and_beyond_38_digits_string(env: Env) -> None:
    path = env.write("w/w.csv", f"id,n,m\n1,{HUGE},{10 ** 39}\n2,5,6\n")
    env.write("j/j.jsonl", jsonl({"id": 1, "n": HUGE, "m": 10 ** 39, "s": {"x": HUGE}}, {"id": 2, "n": 1, "m": 2,
                                                                                      "s": {"x": 1}}))
    result = env.crawl()
    assert env.columns("w") == [("id", "bigint"), ("n", "decimal(38,0)"), ("m", "string")]
    assert env.columns("j") == [("id", "bigint"), ("n", "decimal(38,0)"), ("m", "string"),
                                ("s", "struct<x:decimal(38,0)>")]
    assert "column m: integers of 40 digits: beyond decimal(38,0), kept string so no digit is lost" in \
        decisions_of(result.decisions, path)


def test_fixed_point_text_is_decimal_38_with_the_sampled_scale() -> None:
    """Precision 38: the sample's integer digits say nothing of later values (was decimal(12,2))."""
    assert str(guess_type(["1.25", "3.50"]).type) == "decimal(38,2)"


# -- names -----------------------------------------------------------------------------------------------
ODD_KEYS = ['a"b', "back\\slash", "with space", "😀", "שלום", "a.b", "a", "A", "1st"]


def test_json_keys_that_are_not_identifiers_become_safe_names_with_originals(env: Env) -> None:
    """Rule: records.safe_names on the raw keys (top level and nested, case-insensitive duplicates
    suffixed); originals in lakeglue.original_names (dotted safe paths) and the column's parameters."""
    rows = [{"id": n, **{k: f"{k}#{n}" for k in ODD_KEYS},
             "nest": {"x y": f"n#{n}", "Z": n, "deeper": {"k.k": True}},
             "items": [{"p q": 1}]} for n in (1, 2)]
    path = env.write("keys/keys.jsonl", jsonl(*rows))
    result = env.crawl()
    safe = records.safe_names(["id", *ODD_KEYS, "nest", "items"])
    assert safe == ["id", "a_b", "back_slash", "with_space", "col4", "col5", "a_b_2", "a", "A_2", "_1st", "nest",
                    "items"]
    assert [c for c, _ in env.columns("keys")] == safe
    table = env.table("keys")
    assert dict(env.columns("keys"))["nest"] == "struct<x_y:string,Z:bigint,deeper:struct<k_k:boolean>>"
    assert dict(env.columns("keys"))["items"] == "array<struct<p_q:bigint>>"
    assert records.original_names(table.parameters) == {
        "a_b": 'a"b', "back_slash": "back\\slash", "with_space": "with space", "col4": "😀", "col5": "שלום",
        "a_b_2": "a.b", "A_2": "A", "_1st": "1st", "nest.x_y": "x y", "nest.deeper.k_k": "k.k",
        "items.p_q": "p q"}
    by_name = {c.name: c for c in table.columns}
    assert by_name["col4"].parameters == {records.ORIGINAL_NAME_PARAM: "😀"}
    assert table.storage.serde_parameters["mapping.with_space"] == "with space"  # Athena's OpenX JsonSerDe
    assert by_name["id"].parameters == {} and by_name["nest"].parameters == {}
    assert "key 'a.b' becomes column a_b_2 (not a plain identifier or a case-insensitive duplicate; " \
           "records.safe_names); the original is kept in lakeglue.original_names" in \
           decisions_of(result.decisions, path)


def test_many_json_records_go_through_arrow_and_get_the_same_safe_names(env: Env) -> None:
    rows = [{"Order Id": n, "nest": {"a.b": n}} for n in range(100)]  # above SMALL_SAMPLE: Arrow's reader
    env.write("big/b.jsonl", jsonl(*rows))
    env.crawl()
    assert env.columns("big") == [("order_id", "bigint"), ("nest", "struct<a_b:bigint>")]
    assert records.original_names(env.table("big").parameters) == {"order_id": "Order Id", "nest.a_b": "a.b"}


def test_emoji_and_rtl_values_are_strings_and_headers_get_positional_names(env: Env) -> None:
    env.write("v/v.csv", "id,text,😀,שלום\n1,שלום עולם 😀,a,b\n2,مرحبا,c,d\n".encode())
    env.crawl()
    assert env.columns("v") == [("id", "bigint"), ("text", "string"), ("col2", "string"), ("col3", "string")]
    assert records.original_names(env.table("v").parameters) == {"col2": "😀", "col3": "שלום"}


def test_duplicate_csv_headers_get_unique_names_and_originals(env: Env) -> None:
    """Rule: crawler.names.sanitize_name + dedupe (lower snake case, ``_2`` suffixes); originals recorded."""
    path = env.write("h/h.csv", "id,Name,name,id\n1,a,b,2\n3,d,e,4\n")
    result = env.crawl()
    assert [c for c, _ in env.columns("h")] == ["id", "name", "name_2", "id_2"]
    assert records.original_names(env.table("h").parameters) == {"name": "Name", "name_2": "name", "id_2": "id"}
    assert "duplicate column name 'name' renamed to 'name_2'" in decisions_of(result.decisions, path)


def test_an_empty_header_field_above_a_string_column_is_a_missing_name(env: Env) -> None:
    """Glue's rule with empty fields: an empty row-1 field above a string column is a header without a
    name (``col<i>``, original recorded); above a typed column it is a data row's missing value."""
    path = env.write("h/h.csv", "id,name,name,,Qty,qty\n1,a,b,c,5,6\n2,d,e,f,7,8\n")
    env.write("g/g.csv", "abc,,x\ndef,5,y\nghi,6,z\n")
    result = env.crawl()
    assert [c for c, _ in env.columns("h")] == ["id", "name", "name_2", "col3", "qty", "qty_2"]
    assert records.original_names(env.table("h").parameters) == {"name_2": "name", "col3": "", "qty": "Qty",
                                                                 "qty_2": "qty"}
    assert "table h: CSV delimiter comma, header present (1 of 1 sampled files agree; " \
           f"{path}: header detected (Glue's rule): row 1 is all strings and column 0 below it is bigint " \
           "(empty header field(s) in column(s) 3))" in result.decisions
    assert env.columns("g") == [("col0", "string"), ("col1", "bigint"), ("col2", "string")]


# -- shapes -----------------------------------------------------------------------------------------------
def test_empty_whitespace_and_header_only_files_are_reported_not_tables(env: Env) -> None:
    """Rules: a 0-byte file and a whitespace-only file hold no data; a CSV needs 2 rows (header-only:
    one). Each is an error naming the file; the good file makes the table."""
    env.write("t/good.csv", "id,name\n1,a\n2,b\n")
    empty = env.write("t/empty.csv", b"")
    blank = env.write("t/blank.csv", b"  \n\n \t \n")
    header = env.write("t/header_only.csv", b"id,name\n")
    alone = env.write("lonely/header_only.csv", b"id,name\n")
    result = env.crawl()
    assert sorted(result.errors) == sorted([
        (str(empty), "empty file (0 bytes)"), (str(blank), "no data (8 bytes, whitespace only)"),
        (str(header), "CSV needs at least 2 rows to infer a schema; found 1"),
        (str(alone), "CSV needs at least 2 rows to infer a schema; found 1")])
    assert result.tables_created == ["t"]
    assert f"folder {env.prefix_dir}/lonely: no readable file among 1; no table" in result.decisions


def test_ragged_rows_are_skipped_with_a_note(env: Env) -> None:
    """Rule: the delimiter needs the same field count on 90 % of sniffed rows; rows with another count
    are skipped (bronze quarantines them). A file too ragged for any delimiter is an error, not a crash."""
    rows = [f"{i},n{i},{i}" for i in range(20)]
    rows[3], rows[7] = "10,j", "11,k,11,extra"
    path = env.write("r/r.csv", "id,name,qty\n" + "\n".join(rows) + "\n")
    ragged = env.write("s/ragged.csv", "id,name,qty\n9,i,9\n10,j\n11,k,11,extra\n12,l,12\n")
    result = env.crawl()
    assert env.columns("r") == [("id", "bigint"), ("name", "string"), ("qty", "bigint")]
    assert "2 row(s) with the wrong number of fields skipped (first: line 5 has 2 fields, expected 3)" in \
        decisions_of(result.decisions, path)
    assert [p for p, _ in result.errors] == [str(ragged)]


def test_top_level_json_array_needs_a_json_path_classifier(env: Env) -> None:
    path = env.write("arr/a.json", json.dumps([{"id": 1}, {"id": 2}]))
    result = env.crawl()
    assert result.errors == [(str(path), "top-level JSON array: add a JSON classifier with json_path '$[*]' (Glue "
                                         "needs a custom JsonPath classifier for this too); the built-in JSON "
                                         "classifier expects JSON lines (one object per line)")]
    assert result.tables_created == []


def nested(depth: int) -> object:
    value: object = {"v": 1}
    for _ in range(depth - 1):
        value = {"d": value}
    return value


def test_deep_nesting_stays_struct_to_128_levels_then_string(env: Env) -> None:
    """Rule: structs up to MAX_NESTING levels; below that the value is typed string (its JSON text)."""
    env.write("deep/d.jsonl", jsonl({"id": 1, "d": nested(100)}))
    path = env.write("deeper/d.jsonl", jsonl({"id": 1, "d": nested(300)}))
    result = env.crawl()
    t100 = dict(env.columns("deep"))["d"]
    assert t100.count("struct<") == 100 and t100.endswith("v:bigint" + ">" * 100)
    t300 = dict(env.columns("deeper"))["d"]
    assert t300.count("struct<") == 128 and "d:string" in t300
    assert "values nested deeper than 128 levels (first at line 1): typed string below that level (the JSON " \
           "text)" in decisions_of(result.decisions, path)


def test_nesting_the_parser_takes_but_typing_would_not_is_clipped(env: Env) -> None:
    """900 levels: json.loads parses it, recursive typing would exhaust the stack; values below 128
    levels are typed string (the file was an error 'cannot infer a schema (RecursionError …)')."""
    path = env.write("x/x.jsonl", '{"id": 1}\n{"id": 2, "d": ' + '{"d": ' * 900 + "1" + "}" * 900 + "}\n")
    result = env.crawl()
    assert result.errors == []
    t = dict(env.columns("x"))["d"]
    assert t.count("struct<") == 128 and "d:string" in t
    assert "values nested deeper than 128 levels (first at line 2): typed string below that level (the JSON " \
           "text)" in decisions_of(result.decisions, path)


def test_nesting_beyond_the_parser_skips_the_line_not_the_crawl(env: Env) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    path = env.write("x/x.jsonl", '{"id": 1}\n{"id": 2, "a": ' + deep + "}\n")
    result = env.crawl()
    assert env.columns("x") == [("id", "bigint")]
    assert "1 malformed line(s) skipped (first at line 2: nested too deep to parse)" in \
        decisions_of(result.decisions, path)


def test_out_of_range_dates_keep_the_column_string(env: Env) -> None:
    """Rule: a date column only when every value is a real date (year 0, month 13, 5-digit years are not)."""
    env.write("d/d.csv", "id,a,b,c\n1,0000-01-01,2026-13-45,9999-12-31\n2,2026-01-01,2026-01-01,0001-01-01\n")
    env.write("e/e.csv", "id,a\n1,99999-01-01\n2,2026-01-01\n")
    env.crawl()
    assert env.columns("d") == [("id", "bigint"), ("a", "string"), ("b", "string"), ("c", "date")]
    assert env.columns("e") == [("id", "bigint"), ("a", "string")]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_tables_are_catalogued_and_marked_unreadable_for_the_query_engines(env: Env) -> None:
    """Rule: bronze extracts single-member zips, query engines cannot read zip: compressionType=zip and
    lakeglue.unreadable with a reason that points at bronze. A multi-member zip is an error naming it."""
    env.write("z/one.zip", zip_bytes({"one.csv": b"id,name\n1,alpha\n2,beta\n"}))
    multi = env.write("z/multi.zip", zip_bytes({"part/m1.csv": b"id,name\n2,a\n3,b\n", "part/m2.csv": b"id,name\n"}))
    result = env.crawl()
    table = env.table("z")
    assert env.columns("z") == [("id", "bigint"), ("name", "string")]
    assert table.parameters["compressionType"] == "zip"
    reason = ("2 of 2 files are zip archives, which the query engines cannot read; query the bronze table instead "
              "(bronze jobs extract single-member archives)")
    assert table.parameters[records.UNREADABLE_PARAM] == reason
    assert f"table z: marked lakeglue.unreadable: {reason}" in result.decisions
    assert result.errors == [(str(multi), "zip archive holds 2 files (part/m1.csv, part/m2.csv); the crawler reads "
                                          "single-file archives, as Glue does (bronze quarantines it as an "
                                          "unreadable file)")]


def test_one_zip_among_plain_files_marks_the_table_and_magic_bytes_count_too(env: Env) -> None:
    env.write("y/a.csv", "id,name\n1,a\n2,b\n")
    env.write("y/b.csv", "id,name\n3,c\n4,d\n")
    env.write("y/c.zip", zip_bytes({"c.csv": b"id,name\n5,e\n6,f\n"}))
    env.write("x/disguised.csv", zip_bytes({"d.csv": b"id,name\n5,e\n6,f\n"}))  # zip bytes, .csv name
    env.crawl()
    assert env.table("y").parameters["compressionType"] == "none"
    assert env.table("y").parameters[records.UNREADABLE_PARAM].startswith("1 of 3 files are zip archives")
    assert env.table("x").parameters[records.UNREADABLE_PARAM].startswith("sampled files are zip archives")


def test_unreadable_mark_goes_when_the_files_are_no_longer_zip(env: Env) -> None:
    env.write("z/one.zip", zip_bytes({"one.csv": b"id,name\n1,alpha\n2,beta\n"}))
    env.crawl()
    (env.prefix_dir / "z" / "one.zip").unlink()
    env.write("z/two.csv", "id,name\n3,c\n4,d\n")
    env.crawl(recrawl_policy="CRAWL_EVERYTHING")
    assert records.UNREADABLE_PARAM not in env.table("z").parameters


def test_symlinks_are_read_as_their_target_and_a_broken_one_is_reported(env: Env, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.jsonl").write_text(jsonl({"id": 1, "name": "linked"}))
    folder = env.prefix_dir / "events"
    folder.mkdir(parents=True)
    os.symlink(outside / "target.jsonl", folder / "linked.jsonl")
    os.symlink(outside / "gone.jsonl", folder / "dangling.jsonl")
    os.symlink(folder / "loop-b.jsonl", folder / "loop-a.jsonl")
    os.symlink(folder / "loop-a.jsonl", folder / "loop-b.jsonl")
    os.symlink(outside, folder / "to_a_dir.jsonl")
    result = env.crawl()
    assert env.columns("events") == [("id", "bigint"), ("name", "string")]
    broken = "not found (a broken symbolic link, or deleted since the listing)"
    errors = dict(result.errors)
    assert {p.rsplit("/", 1)[1]: r for p, r in errors.items() if r == broken} == {
        "dangling.jsonl": broken, "loop-a.jsonl": broken, "loop-b.jsonl": broken}
    assert errors[str(folder / "to_a_dir.jsonl")].startswith("cannot read: ")


def test_mixed_line_endings_with_a_lone_cr(env: Env) -> None:
    """Rule: \\n, \\r\\n and a lone \\r (old Mac) each end a row, as Hadoop's line reader does (the csv
    module raised 'new-line character seen in unquoted field' and ended the crawl)."""
    env.write("m/mixed.csv", b"id,name,qty\n6,f,6\r\n7,g,7\r8,h,8\n")
    env.write("m/cr.csv", b"id,name,qty\r1,a,1\r2,b,2\r")
    result = env.crawl()
    assert result.errors == []
    assert env.columns("m") == [("id", "bigint"), ("name", "string"), ("qty", "bigint")]
    assert env.table("m").parameters["recordCount"] == "5"


def test_recrawls_keep_what_readers_need_and_change_nothing(env: Env) -> None:
    """Encoding, markers, original names and the zip mark survive a recrawl that reads nothing (the
    ledger says unchanged) and one that rereads everything: neither updates a table."""
    env.write("people/latin1.csv", latin1_csv())
    env.write("nulls/n.csv", "id,qty\n1,NA\n2,3\n")
    env.write("keys/k.jsonl", jsonl({"Order Id": 1, "nest": {"a.b": 2}}))
    env.write("z/one.zip", zip_bytes({"one.csv": b"id,name\n1,alpha\n2,beta\n"}))
    env.crawl()
    before = {t.name: t for t in env.catalog.list_tables(DB)}
    assert before["keys"].columns[0].parameters == {records.ORIGINAL_NAME_PARAM: "Order Id"}
    for policy in ("CRAWL_INCREMENTAL", "CRAWL_EVERYTHING"):
        result = env.crawl(recrawl_policy=policy)
        assert (result.tables_updated, sorted(result.tables_unchanged)) == ([], sorted(before)), policy
        assert {t.name: t for t in env.catalog.list_tables(DB)} == before
    env.write("keys/k2.jsonl", jsonl({"Order Id": 3, "nest": {"a.b": 4}, "New Key": 5}))
    env.crawl()
    assert records.original_names(env.table("keys").parameters) == {
        "order_id": "Order Id", "nest.a_b": "a.b", "new_key": "New Key"}


def test_a_table_catalogued_with_lowercased_json_keys_is_not_given_case_twins(env: Env) -> None:
    """Before safe names, JSON keys were lower-cased (``OrderId`` → ``orderid``). A new file's ``OrderId``
    is that column (Hive folds case; two would be a duplicate), and its key is recorded for readers."""
    from lakeglue.catalog.model import Column

    env.write("o/a.jsonl", jsonl({"OrderId": 1, "nest": {"Inner": 1}}))
    env.crawl()
    old = env.table("o")
    legacy = old.evolve(storage=replace(old.storage, columns=(Column("orderid", "bigint"),
                                                              Column("nest", "struct<inner:bigint>"))),
                        parameters={k: v for k, v in old.parameters.items() if k != records.ORIGINAL_NAMES_PARAM})
    env.catalog.update_table(legacy)
    env.write("o/b.jsonl", jsonl({"OrderId": 2, "nest": {"Inner": 2, "More": "x"}, "Extra": True}))
    result = env.crawl()
    assert env.columns("o") == [("orderid", "bigint"), ("nest", "struct<inner:bigint,More:string>"),
                                ("Extra", "boolean")]
    assert records.original_names(env.table("o").parameters) == {"orderid": "OrderId"}
    assert any(d.startswith("table o: column OrderId of ") and d.endswith(
        "is column orderid (names that differ only in case are one column)") for d in result.decisions)
    env.crawl(recrawl_policy="CRAWL_EVERYTHING")  # rebuilt from the files: the catalogued spelling stays
    assert [c for c, _ in env.columns("o")] == ["orderid", "nest", "Extra"]
    assert records.original_names(env.table("o").parameters) == {"orderid": "OrderId"}


def test_keys_differing_only_in_case_across_files_are_one_column(env: Env) -> None:
    env.write("o/a.jsonl", jsonl({"OrderId": 1}))
    env.write("o/b.jsonl", jsonl({"orderid": 2}))
    env.crawl()
    assert env.columns("o") == [("OrderId", "bigint")]
