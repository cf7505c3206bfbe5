"""The DuckDB JSON parser's Java-notation hint (which lines take the exact per-leaf path) is split in
cheaper regexes on the reversed line: it must still flag every line the one forward regex flags, or a
double would land in Python's spelling instead of Java's."""

from __future__ import annotations

import itertools
import json

from lakeglue.jobs.duckdb.json_lines import _JAVA_NOTATION_HINT, TextColumn, parse_sql
from lakeglue.jobs.duckdb.session import connect
from lakeglue.jobs.duckdb.types import parse_hive_type, quote_literal, values_sql
from lakeglue.settings import Settings

_FORWARD = r"[0-9][eE]|[0-9]{8}\.|0\.000"
_NUMBERS = ["1e7", "1E7", "-2.5e-3", "3.0E+2", "12345678.5", "123456789012.25", "0.0001", "-0.0005", "12.50",
            "7", "1234567.5", "0.001", "100000000000000000000"]
_AROUND = ["", "é", "e\u0301", "1\u0301", "\u0600", "👍🏽", "\r"]


def test_hint_flags_every_line_the_forward_regex_flags(tmp_path: object) -> None:
    # only numbers matter (strings come out the same on both paths): non-ASCII text sits next to them
    lines = [f'{{"s": "{a}", "x": {n}, "y": [{n},{n}], "t": "{b}{a}"}}'
             for n, a, b in itertools.product(_NUMBERS, _AROUND, _AROUND)]
    con = connect(Settings(duckdb_temp_directory=str(tmp_path)))
    try:
        rows = con.execute(f"SELECT _raw, regexp_matches(_raw, {quote_literal(_FORWARD)}), {_JAVA_NOTATION_HINT} "
                           f"FROM ({values_sql([(line,) for line in lines], ('VARCHAR',))}) AS t(_raw)").fetchall()
    finally:
        con.close()
    assert len(rows) == len(lines)
    missed = [raw for raw, forward, hint in rows if forward and not hint]
    assert missed == []
    assert sum(1 for _, forward, _ in rows if forward) > len(lines) // 2  # the cases do exercise the hint
    assert not any(hint for raw, _, hint in rows if '"x": 12.50,' in raw and "\u0301" not in raw)


def test_doubles_keep_java_notation_beside_non_ascii_text(tmp_path: object) -> None:
    expected = {"1e7": "1.0E7", "12345678.5": "1.23456785E7", "0.0001": "1.0E-4", "-2.5e-3": "-0.0025",
                "12.50": "12.5", "3.0E+2": "300.0"}
    lines = [json.dumps({"s": "e\u0301👍🏽", "x": 0}).replace("0}", f"{n}}}") for n in expected]
    con = connect(Settings(duckdb_temp_directory=str(tmp_path)))
    try:
        source = (f"SELECT _raw, CAST(_line AS INTEGER) AS _file, CAST(_line AS INTEGER) AS _line FROM "
                  f"({values_sql([(line, i) for i, line in enumerate(lines)], ('VARCHAR', 'INTEGER'))}) "
                  f"AS t(_raw, _line)")
        columns = [TextColumn("s", parse_hive_type("string")), TextColumn("x", parse_hive_type("string"))]
        got = con.execute(f"SELECT x FROM ({parse_sql(source, columns)}) ORDER BY _line").fetchall()
    finally:
        con.close()
    assert [x for (x,) in got] == list(expected.values())
