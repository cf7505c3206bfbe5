"""The hostile-file corpus: raw files that break naive readers, written into a lake's raw zone.

Each case is a function that writes its files into one table folder (``raw/<lake>/<table>/``)
and says in its docstring what it breaks and what lakeglue promises to do with it (where the
rule leaves a choice, the choice a Glue/Athena user would expect). Cases that share a table
sit beside each other as neighbours, so a job that fails on one file fails every case of the
table: "one bad file does not sink the others" is tested by the grouping itself.

The expected outcome of every record (silver row, quarantine with reason, or duplicate) is
not here but in one table at the top of ``test_faults.py``, so the lead can adjust a choice in
one place. Everything is deterministic (fixed seeds, fixed ids), small, and written in well
under a second; the two lakes (JSON and CSV) together hold a dozen tables.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Pipelines (one lake each): name → prefix under the raw zone (the same, as the spec's source prefix).
JSON_LAKE = "fj"
CSV_LAKE = "fc"

#: The JSON lake's ``max_record_bytes`` (env ``LAKEGLUE_MAX_RECORD_BYTES``): small, so the
#: over-the-limit line costs 6 MiB instead of 20 MB, yet above a real multi-MB line (3 MiB) and
#: above DuckDB's default 2 MB line buffer, so that limit is exercised too.
MAX_RECORD_BYTES = 4 << 20
ACCEPTED_LONG_NAME = 3 << 20
REJECTED_LONG_NAME = 6 << 20
#: Depth of the deeply nested JSON object. Kept at 32: DuckDB bronze time grows steeply with depth
#: (on a loaded 2-core box ~5 s at 30, ~100 s at 100 for a 2-line file).
DEEP = 32
#: Rows before the value that makes a CSV integer column need 64 bits: past the crawler's
#: 1000-record sample, so only "never narrow text integers to int" keeps it readable.
WIDE_AFTER = 1200
BIG_INT = 3_000_000_000  # > 2^31
HUGE_INT = 18_446_744_073_709_551_616  # 2^64: beyond bigint and unsigned 64 bits


@dataclass(frozen=True)
class Case:
    name: str
    lake: str
    table: str
    write: Callable[[Path, Path], None]  # (table folder, raw zone root)

    @property
    def doc(self) -> str:
        return " ".join((self.write.__doc__ or "").split())


CASES: dict[str, Case] = {}


def case(lake: str, table: str) -> Callable[[Callable[[Path, Path], None]], Callable[[Path, Path], None]]:
    def register(fn: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
        name = fn.__name__.removeprefix("case_")
        CASES[name] = Case(name, lake, table, fn)
        return fn
    return register


def jsonl(*records: Mapping[str, object], eol: str = "\n") -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + eol for r in records).encode()


def random_line(rng: random.Random, length: int) -> bytes:
    """Bytes that are never valid UTF-8 (a leading 0xFF), with no CR or LF inside."""
    body = bytes(b for b in rng.randbytes(length * 2) if b not in (0x0A, 0x0D))[:length - 1]
    return b"\xff" + body


#: The random lines of ``random.bin.jsonl`` (regenerated identically by the test for its expectations).
def random_lines() -> list[bytes]:
    rng = random.Random(15)
    return [random_line(rng, n) for n in (40, 300, 7, 1200)]


# -- the JSON lake ------------------------------------------------------------------------------
@case(JSON_LAKE, "events")
def case_non_utf8(folder: Path, raw: Path) -> None:
    """A file of random bytes (every line invalid UTF-8) between two good files, and one good
    file with a Latin-1 byte inside one line. Each undecodable line is quarantined on its own
    (reason ``undecodable: not valid UTF-8 …``, raw kept as escaped bytes); the good lines and
    the good files load."""
    (folder / "good-1.jsonl").write_bytes(jsonl({"id": 100, "name": "first"}, {"id": 101, "name": "second"}))
    (folder / "random.bin.jsonl").write_bytes(b"\n".join(random_lines()) + b"\n")
    (folder / "good-2.jsonl").write_bytes(
        jsonl({"id": 102, "name": "third"}) + b'{"id": 103, "name": "caf\xe9"}\n' + jsonl({"id": 104, "name": "é"}))


@case(JSON_LAKE, "events")
def case_names(folder: Path, raw: Path) -> None:
    """Objects whose names are glob or URI syntax: ``[a].json`` beside ``a.json``, ``*.json``,
    ``?.json``, ``{x}.json``, ``%41.json``. Each file is read exactly once, as itself (no
    globbing: ``[a].json`` must not read ``a.json``), and ``_source_file`` names it."""
    for i, name in enumerate(["a.json", "[a].json", "*.json", "?.json", "{x}.json", "%41.json"]):
        (folder / name).write_bytes(jsonl({"id": 110 + i, "name": name}))


@case(JSON_LAKE, "events")
def case_bom(folder: Path, raw: Path) -> None:
    """A UTF-8 byte-order mark before the first object: the BOM is not part of line 1."""
    (folder / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + jsonl({"id": 120, "name": "bom"}, {"id": 121}))


@case(JSON_LAKE, "events")
def case_line_endings(folder: Path, raw: Path) -> None:
    """CRLF endings, and a file mixing LF, CRLF and a lone CR (old Mac). Like Hadoop's line
    reader (Glue, Athena), each of ``\\n``, ``\\r\\n`` and ``\\r`` ends a line; line numbers
    count the lines so ended."""
    (folder / "crlf.jsonl").write_bytes(jsonl({"id": 130}, {"id": 131}, eol="\r\n"))
    (folder / "mixed.jsonl").write_bytes(b'{"id": 132}\r\n{"id": 133}\n{"id": 134}\r{"id": 135}\n')


@case(JSON_LAKE, "events")
def case_empty_files(folder: Path, raw: Path) -> None:
    """A zero-byte file and a whitespace-only file beside a good one: no records, no
    quarantine, no failure."""
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "blank.jsonl").write_bytes(b"  \n\t\n\n   ")
    (folder / "nonempty.jsonl").write_bytes(jsonl({"id": 140, "name": "beside empties"}))


@case(JSON_LAKE, "events")
def case_top_level_array(folder: Path, raw: Path) -> None:
    """A file holding one JSON array of objects (not JSON lines). Choice: the line is
    quarantined as ``not a JSON object`` (kept whole, nothing guessed), as Glue's JSON
    classifier needs a JsonPath for arrays; not exploded into rows."""
    (folder / "array.json").write_bytes(b'[{"id": 150, "name": "in array"}, {"id": 151}]\n')


@case(JSON_LAKE, "events")
def case_long_lines(folder: Path, raw: Path) -> None:
    """A real multi-MB line (3 MiB, loaded: beyond DuckDB's 2 MB default line buffer) and a line
    over ``max_record_bytes`` (6 MiB over the lake's 4 MiB; stands for the issue's 20 MB line):
    that one is quarantined with ``record too large: <size> bytes …`` and its size, the lines
    around it load."""
    (folder / "long.jsonl").write_bytes(jsonl(
        {"id": 160, "name": "before"}, {"id": 161, "name": "x" * ACCEPTED_LONG_NAME},
        {"id": 162, "name": "y" * REJECTED_LONG_NAME}, {"id": 163, "name": "after"}))


@case(JSON_LAKE, "events")
def case_nan_infinity(folder: Path, raw: Path) -> None:
    """Bare ``NaN``, ``Infinity``, ``-Infinity`` tokens (Python's json writes them) and a quoted
    "NaN". Choice: accepted as Spark/Glue's JSON reader does (Jackson's non-numeric numbers),
    so a double column gets NaN and ±Infinity."""
    (folder / "nan.jsonl").write_bytes(b'{"id": 170, "amount": NaN}\n{"id": 171, "amount": Infinity}\n'
                                       b'{"id": 172, "amount": -Infinity}\n{"id": 173, "amount": "NaN"}\n'
                                       b'{"id": 174, "amount": 2.5}\n')


@case(JSON_LAKE, "events")
def case_dates(folder: Path, raw: Path) -> None:
    """Dates silver must type: a valid one, Feb 30, year 0, year 10000, 1500 (before the
    Gregorian switch: kept proleptic, no rebase error) and 9999-12-31. Choice: dates outside
    0001-01-01..9999-12-31 are not valid dates (most tools cannot read them), so those rows
    are quarantined naming the column and value."""
    days = ["2026-02-28", "2026-02-30", "0000-01-01", "10000-01-01", "1500-06-15", "9999-12-31"]
    (folder / "dates.jsonl").write_bytes(jsonl(*({"id": 180 + i, "day": d} for i, d in enumerate(days))))


@case(JSON_LAKE, "events")
def case_gzip(folder: Path, raw: Path) -> None:
    """A good .gz, a zero-byte .gz and a truncated .gz (a cut upload). Choices: both bad ones are
    quarantined whole (``unreadable file: …``, no line, their size) and counted in
    ``files_quarantined`` — a zero-byte .gz is not a valid archive (often a failed upload: it should
    be seen); none of the truncated file's records is loaded (a file is read whole or not at all)."""
    (folder / "good.jsonl.gz").write_bytes(gzip.compress(jsonl({"id": 190}, {"id": 191}), mtime=0))
    (folder / "zero.jsonl.gz").write_bytes(b"")
    whole = gzip.compress(jsonl(*({"id": 1000 + i, "name": f"row {i}" * 5} for i in range(200))), mtime=0)
    (folder / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])


@case(JSON_LAKE, "events")
def case_symlink(folder: Path, raw: Path) -> None:
    """A symlink in the table folder to a file outside the crawled prefix: read as the file it
    points to, ``_source_file`` is the link's own path (what was listed)."""
    outside = raw / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "target.jsonl").write_bytes(jsonl({"id": 200, "name": "via link"}, {"id": 201}))
    os.symlink(outside / "target.jsonl", folder / "linked.jsonl")


@case(JSON_LAKE, "events")
def case_duplicates(folder: Path, raw: Path) -> None:
    """The same key twice in one file: silver keeps the later line, the other is counted as a
    duplicate dropped (``rows_duplicate``)."""
    (folder / "dupes.jsonl").write_bytes(jsonl({"id": 210, "name": "old"}, {"id": 210, "name": "new"}))


#: The keys of the odd-keys file, in order; their columns are ``records.safe_names`` of them.
ODD_KEYS = ['a"b', "back\\slash", "with space", "😀", "שלום", "a.b", "a", "A"]


@case(JSON_LAKE, "keys")
def case_json_keys(folder: Path, raw: Path) -> None:
    """JSON keys that are not identifiers: a double quote, a backslash, a space, an emoji, RTL
    text, a dot, and ``a``/``A`` (equal to Hive). Each becomes a safe column (``records.safe_names``;
    collisions suffixed), the original key kept in ``lakeglue.original_names``, and every value
    lands in its own column — nested keys too."""
    records = [{"id": n, **{k: f"{k}#{n}" for k in ODD_KEYS}, "nest": {"x y": f"nested#{n}", "Z": f"z#{n}"}}
               for n in (1, 2)]
    (folder / "keys.jsonl").write_bytes(jsonl(*records))


def deep_record(n: int, depth: int | None = None) -> dict[str, object]:
    value: object = {"v": f"leaf#{n}"}
    for _ in range((depth or DEEP) - 1):
        value = {"d": value}
    return {"id": n, "d": value}


@case(JSON_LAKE, "deep")
def case_deep_nesting(folder: Path, raw: Path) -> None:
    """Objects nested 32 deep (structs in the catalog, a leaf read in silver by a path expression)."""
    (folder / "deep.jsonl").write_bytes(jsonl(deep_record(1), deep_record(2)))


@case(JSON_LAKE, "growing")
def case_grows_while_read(folder: Path, raw: Path) -> None:
    """A file that grows after the crawl and before bronze (the test appends a third line).
    Contract: bronze reads the file as it is when it reads it; the ledger keeps the size/mtime
    the crawler saw, so the next crawl sees the file changed and the next bronze re-reads it
    whole; in silver the re-read rows (newer) replace the first run's, one row per key. Nothing
    lost, nothing twice."""
    (folder / "grow.jsonl").write_bytes(jsonl({"id": 1, "name": "one"}, {"id": 2, "name": "two"}))


GROWN_LINE = jsonl({"id": 3, "name": "three"})


# -- the CSV lake -------------------------------------------------------------------------------
LATIN1_ROWS = [(1, "José", "Málaga"), (2, "Zoë", "Köln"), (3, "Ångström", "Orléans"), (4, "plain", "Oslo")]


@case(CSV_LAKE, "latin1")
def case_latin1_csv(folder: Path, raw: Path) -> None:
    """A CSV in Latin-1 (bytes invalid as UTF-8, only characters Latin-1 and Windows-1252 agree
    on). The crawler records the encoding (``serialization.encoding``) and every stage decodes
    with it: the names arrive as Unicode, nothing is quarantined."""
    text = "id,name,city\n" + "".join(f"{i},{n},{c}\n" for i, n, c in LATIN1_ROWS)
    (folder / "latin1.csv").write_bytes(text.encode("latin-1"))


NULL_MARKERS = ["NA", "N/A", "\\N", "-", ""]


@case(CSV_LAKE, "nulls")
def case_null_markers(folder: Path, raw: Path) -> None:
    """``NA``, ``N/A``, ``\\N``, ``-`` and empty as "no value" in an int and a double column. The
    crawler records the markers (``lakeglue.null.markers``) and keeps the columns numeric;
    silver reads every marker as NULL (not as an uncastable value to quarantine)."""
    lines = ["id,qty,price"]
    for i, marker in enumerate(NULL_MARKERS):
        lines.append(f"{2 * i + 1},{marker},{i}.5")
        lines.append(f"{2 * i + 2},{i},{marker}")
    lines += ["11,7,2.25", "12,8,3"]
    (folder / "nulls.csv").write_bytes(("\n".join(lines) + "\n").encode())


def wide_rows() -> list[tuple[int, str, str, str]]:
    """(id, k, n, m) as written: k gets 3e9 after the crawler's sample, n and m get 2^64 inside it."""
    rows = []
    for i in range(1, WIDE_AFTER + 11):
        k = str(BIG_INT) if i == WIDE_AFTER + 5 else str(i)
        n = str(HUGE_INT) if i == 3 else str(i * 10)
        m = str(HUGE_INT) if i == 4 else str(i * 100)
        rows.append((i, k, n, m))
    return rows


@case(CSV_LAKE, "wide_ints")
def case_wide_integers(folder: Path, raw: Path) -> None:
    """Integer-looking CSV columns: ``k`` gets a value above 2^31 after row 1200 (past the
    crawler's sample: the type must not have been narrowed to int), ``n`` and ``m`` get 2^64
    (beyond 64 bits) early. Choice: a text integer column that overflows bigint is catalogued
    ``decimal(38,0)`` (exact, numeric in Athena); in silver ``n`` is declared decimal(38,0) and
    loads, ``m`` is declared bigint and that row is quarantined naming column and value."""
    text = "id,k,n,m\n" + "".join(f"{i},{k},{n},{m}\n" for i, k, n, m in wide_rows())
    (folder / "wide.csv").write_bytes(text.encode())


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@case(CSV_LAKE, "zipped")
def case_zip_single(folder: Path, raw: Path) -> None:
    """A .zip holding one CSV (what Glue supports): read as that CSV; ``_source_file`` names
    the archive (a ``!member`` suffix allowed). The raw table is marked ``lakeglue.unreadable``
    for the query engines, which cannot read zips."""
    (folder / "one.zip").write_bytes(zip_bytes({"one.csv": b"id,name\n1,alpha\n2,beta\n"}))


@case(CSV_LAKE, "zipped")
def case_zip_multi(folder: Path, raw: Path) -> None:
    """A .zip with two CSV members (and a directory entry) beside a plain CSV. Choice (Glue reads
    single-file archives only): the archive is quarantined whole (``unreadable file: …``, naming its
    members), the plain CSV beside it loads. The raw table is marked ``lakeglue.unreadable`` for the
    query engines (they cannot read zips); bronze reads it."""
    (folder / "plain.csv").write_bytes(b"id,name\n10,plain\n")
    (folder / "multi.zip").write_bytes(zip_bytes({"part/": b"", "part/m1.csv": b"id,name\n11,m1a\n12,m1b\n",
                                                  "part/m2.csv": b"id,name\n13,m2a\n"}))


@case(CSV_LAKE, "shapes")
def case_csv_shapes(folder: Path, raw: Path) -> None:
    """One CSV table, files of every awkward shape: a good file, a header-only file, a UTF-8
    BOM before the header, CRLF, mixed LF/CRLF/lone-CR endings, a zero-byte file, a
    whitespace-only file, and ragged rows. Choices: header-only, empty and whitespace-only
    files hold no records; a row with fewer or more fields than the header is quarantined
    (``CSV record does not have the 3 fields of the header``), not padded or cut, as Spark's
    PERMISSIVE reader marks it corrupt."""
    (folder / "good.csv").write_bytes(b"id,name,qty\n1,a,1\n2,b,2\n")
    (folder / "header_only.csv").write_bytes(b"id,name,qty\n")
    (folder / "bom.csv").write_bytes(b"\xef\xbb\xbfid,name,qty\r\n3,c,3\r\n")
    (folder / "crlf.csv").write_bytes(b"id,name,qty\r\n4,d,4\r\n5,e,5\r\n")
    (folder / "mixed.csv").write_bytes(b"id,name,qty\n6,f,6\r\n7,g,7\r8,h,8\n")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "blank.csv").write_bytes(b"  \n\n \t \n")
    (folder / "ragged.csv").write_bytes(b"id,name,qty\n9,i,9\n10,j\n11,k,11,extra\n12,l,12\n")


#: The header of the duplicate/empty-headers file.
ODD_HEADER = ["id", "name", "name", "", "Qty", "qty"]


@case(CSV_LAKE, "headers")
def case_csv_headers(folder: Path, raw: Path) -> None:
    """Duplicate (``name``, ``name``), empty, and case-duplicate (``Qty``/``qty``) CSV headers: each
    header gives its own column (lower snake case, deduped in order, as the crawler names CSV
    headers), values stay in their positions."""
    (folder / "dup.csv").write_bytes(b"id,name,name,,Qty,qty\n1,a,b,c,5,6\n2,d,e,f,7,8\n")


def write_case(c: Case, raw_root: Path, table: str | None = None) -> list[str]:
    """Write one case into ``raw_root/<lake>/<table>/`` (its own table by default); returns the names
    of the files it added there."""
    folder = raw_root / c.lake / (table or c.table)
    folder.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in folder.iterdir()}
    c.write(folder, raw_root)
    return sorted(p.name for p in folder.iterdir() if p.name not in before)


def write_lake(raw_root: Path, lake: str) -> dict[str, list[str]]:
    """Write every case of ``lake`` under ``raw_root/<lake>/<table>/``: case → files written."""
    return {c.name: write_case(c, raw_root) for c in CASES.values() if c.lake == lake}


if __name__ == "__main__":  # python -m tests.faults.corpus <raw zone>: the corpus to look at or crawl by hand
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "faults-raw")
    for lake_name in (JSON_LAKE, CSV_LAKE):
        for name, names in write_lake(target, lake_name).items():
            print(f"{lake_name}/{CASES[name].table}: {name}: {', '.join(names) or '(no files)'}")
