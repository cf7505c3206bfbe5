"""The pure-Python raw file probes (jobs/raw_files.py): line splitting in bounded memory, encodings,
oversized lines, gzip and zip, on a real local filesystem through fsspec."""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from pathlib import Path

import fsspec
import pytest

from lakeglue import records
from lakeglue.jobs import raw_files

FS = fsspec.filesystem("file")


def _reference(data: bytes, limit: int) -> list[tuple[int, bool]]:
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts = parts[:-1]
    bodies = [p[:-1] if p.endswith(b"\r") else p for p in parts]
    return [(len(b), len(b) > limit) for b in bodies]


def test_lines_match_a_plain_split_for_any_bytes_and_limit() -> None:
    rnd = random.Random(3)
    for _ in range(500):
        data = bytes(rnd.choice(b"ab\n\r") for _ in range(rnd.randint(0, 80)))
        limit = rnd.randint(1, 10)
        got = list(raw_files._lines(io.BytesIO(data), limit))
        assert [(size, over) for _, size, over, _ in got] == _reference(data, limit), (data, limit)
        assert sum(consumed for *_, consumed in got) == len(data)


def test_a_long_line_is_skipped_keeping_only_a_prefix() -> None:
    data = b"short\n" + b"x" * 3_000_000 + b"\r\nafter"
    got = list(raw_files._lines(io.BytesIO(data), 2000))
    assert [(body[:5], size, over) for body, size, over, _ in got] == [
        (b"short", 5, False), (b"xxxxx", 3_000_000, True), (b"after", 5, False)]
    assert len(got[1][0]) == raw_files.TOO_LARGE_PREFIX


def test_scan_text_quarantines_bad_lines_and_writes_a_copy_that_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(b'\xef\xbb\xbf{"a": 1}\n{"a": "\xff"}\n' + b"y" * 50 + b"\n{\"a\": 3}\n"))
    out = io.BytesIO()
    scan = raw_files.scan_text(FS, str(path), path.stat().st_size, "UTF-8", 20, out=out)
    assert scan.unreadable is None and scan.lines == 4
    assert scan.rejects == [
        raw_files.LineReject(2, records.undecodable("UTF-8", 3 + 9 + 7), '{"a": "\\xff"}', 10),
        raw_files.LineReject(3, records.record_too_large(50, 20), "y" * 22, 50)]  # a prefix of the line
    assert out.getvalue() == b'{"a": 1}\n\n\n{"a": 3}\n'


@pytest.mark.parametrize("encoding,codec", [("UTF-16", "utf-16"), ("UTF-16LE", "utf-16-le"), ("UTF-16BE", "utf-16-be"),
                                            ("ISO-8859-1", "latin-1"), ("WINDOWS-1252", "cp1252")])
def test_scan_text_transcodes_to_utf8(tmp_path: Path, encoding: str, codec: str) -> None:
    text = "ligne é\r\nzweite Zeile ü\n€\n" if encoding != "ISO-8859-1" else "ligne é\r\nzweite Zeile ü\n\xa4\n"
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode(codec))
    out = io.BytesIO()
    scan = raw_files.scan_text(FS, str(path), path.stat().st_size, encoding, 1000, out=out)
    assert scan.clean and scan.lines == 3
    assert out.getvalue().decode("utf-8") == text.replace("\r\n", "\n")


def test_broken_gzip_and_zips_are_unreadable_files(tmp_path: Path) -> None:
    data = gzip.compress(b"line\n" * 10_000)
    cases = {"empty.gz": b"", "truncated.gz": data[: len(data) // 2], "bad.zip": b"PK\x03\x04nope"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("a.txt", "1")
        archive.writestr("b.txt", "2")
    cases["two.zip"] = buf.getvalue()
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        scan = raw_files.scan_text(FS, str(tmp_path / name), len(content), "UTF-8", 1000)
        assert scan.unreadable is not None and scan.unreadable.startswith("unreadable file: "), name


def test_single_zip_member_and_glob_names(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("dir/", "")
        archive.writestr("dir/only.csv", "a,b\n")
    (tmp_path / "one.zip").write_bytes(buf.getvalue())
    assert raw_files.single_zip_member(FS, str(tmp_path / "one.zip")) == "dir/only.csv"
    assert [raw_files.has_glob_chars(n) for n in ("[a].json", "a*.json", "a?.json", "{a}.json", "a.json")] == [
        True, True, True, True, False]
    assert raw_files.staged_name(3, "x/[a].json.gz") == "file-000003.gz"
