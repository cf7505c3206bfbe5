"""The pure-Python raw file probes (jobs/raw_files.py): line splitting in bounded memory, encodings,
oversized lines, gzip and zip, on a real local filesystem through fsspec."""

from __future__ import annotations

import gzip
import io
import random
import re
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


@pytest.mark.parametrize(("data", "mixed"), [
    (b"a\nb\r\n\xff\nlast\n", True), (b"a\r\nb\n\xff\r\nlast", True), (b"a\rb\n\xff\nlast\r", True),
    (b"a\rb\r\xff\rlast", True), (b"a\r\nb\r\n\xff\r\nlast\r\n", False), (b"a\nb\n\xff\nlast", False)])
def test_mixed_line_ends_are_noted_and_a_lone_cr_ends_a_line(tmp_path: Path, data: bytes, mixed: bool) -> None:
    """Hadoop's line reader ends a line at LF, CRLF or a lone CR; a file mixing them is noted (DuckDB
    cannot split it so) and its copy ends every line with LF, line numbers counting each end."""
    path = tmp_path / "m.json"
    path.write_bytes(data)
    out = io.BytesIO()
    scan = raw_files.scan_text(FS, str(path), path.stat().st_size, "UTF-8", 100, out=out)
    assert scan.mixed_line_ends == mixed
    assert [r.line for r in scan.rejects] == [3] and scan.lines == 4
    assert out.getvalue() == b"a\nb\n\nlast\n"


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


@pytest.mark.parametrize("chunk", [7, 64, 4 << 20])
def test_chunked_scan_equals_a_line_by_line_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      chunk: int) -> None:
    """Whole valid chunks are decoded at once; the result must not depend on where chunks end."""
    monkeypatch.setattr(raw_files, "_SCAN_CHUNK", chunk)
    rnd = random.Random(chunk)
    for case in range(150):
        data = bytes(rnd.choice(b"abc\n\r\xff\xc3\xa9") for _ in range(rnd.randint(0, 120)))
        limit = rnd.randint(3, 30)
        path = tmp_path / f"{case}.txt"
        path.write_bytes(data)
        out = io.BytesIO()
        scan = raw_files.scan_text(FS, str(path), len(data), "UTF-8", limit, out=out)
        parts = re.split(rb"\r\n|\r|\n", data)  # Hadoop's line ends: LF, CRLF and a lone CR
        if parts and parts[-1] == b"":
            parts = parts[:-1]
        expected_rejects, expected_out = [], b""
        for number, body in enumerate(parts, start=1):
            if number == 1 and body.startswith(b"\xef\xbb\xbf"):
                body = body[3:]
            try:
                if len(body) > limit:
                    raise ValueError
                expected_out += body.decode() .encode() + b"\n"
            except ValueError:  # UnicodeDecodeError is one too
                expected_rejects.append((number, "record too large" if len(body) > limit else "undecodable"))
                expected_out += b"\n"
        assert [(r.line, r.reason.split(":")[0]) for r in scan.rejects] == expected_rejects, (data, limit)
        assert out.getvalue() == expected_out, (data, limit)
        assert scan.lines == len(parts)
