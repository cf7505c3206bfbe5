"""The Spark bronze job's pure-Python file probes, on real files: which files are unreadable as a
whole, and why; zip members and transcoding; which names Spark would hide; glob escaping."""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile
from pathlib import Path

import fsspec
import pytest

from lakeglue.jobs.spark import file_probe
from lakeglue.jobs.spark.inputs import literal

FS = fsspec.filesystem("file")


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


LINES = b'{"id": 1}\n' * 5000
GOOD = {"a.json": LINES, "a.json.gz": gzip.compress(LINES), "a.json.bz2": bz2.compress(LINES),
        "a.zip": _zip({"inner.json": LINES}), "empty.json": b""}
BAD = {
    "cut.json.gz": (gzip.compress(LINES)[:40], "EOFError"),
    "noise.json.gz": (b"this is not gzip", "BadGzipFile"),
    "empty.json.gz": (b"", "is empty (0 bytes)"),
    "cut.json.bz2": (bz2.compress(LINES)[:40], "EOFError"),
    "two.zip": (_zip({"a.json": b"{}\n", "b.json": b"{}\n"}), "exactly one file, it holds 2 (a.json, b.json)"),
    "none.zip": (_zip({}), "it holds 0"),
    "junk.zip": (b"PK\x03\x04 junk", "BadZipFile"),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_readable_files_pass_the_probe(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(GOOD[name])
    assert file_probe.probe(FS, str(tmp_path / name), "json") is None


@pytest.mark.parametrize("name", sorted(BAD))
def test_unreadable_files_are_named_with_the_reason(tmp_path: Path, name: str) -> None:
    data, why = BAD[name]
    (tmp_path / name).write_bytes(data)
    detail = file_probe.probe(FS, str(tmp_path / name), "json")
    assert detail is not None and why in detail and name in detail


def test_a_parquet_file_without_a_footer_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_bytes(b"PAR1 nothing PAR1")
    assert file_probe.probe(FS, str(tmp_path / "x.parquet"), "parquet") is not None


def test_a_zip_member_is_extracted_and_its_crc_checked(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(_zip({"dir/inner.json.gz": gzip.compress(LINES)}))
    member = file_probe.extract_zip(FS, str(tmp_path / "a.zip"), str(tmp_path / "out"))
    assert member.name == "dir/inner.json.gz" and file_probe.member_suffix(member.name) == ".gz"
    assert gzip.decompress((tmp_path / "out").read_bytes()) == LINES
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w") as archive:  # stored, so a flipped byte reaches the CRC check
        archive.writestr("x.json", LINES)
    damaged = bytearray(stored.getvalue())
    damaged[100] ^= 0xFF
    (tmp_path / "bad.zip").write_bytes(bytes(damaged))
    with pytest.raises(file_probe.UnreadableFile, match=r"bad\.zip: cannot extract"):
        file_probe.extract_zip(FS, str(tmp_path / "bad.zip"), str(tmp_path / "out2"))


def test_first_undecodable_byte_is_found_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_probe, "_CHUNK", 7)  # "é" (2 bytes) split between two chunks
    (tmp_path / "ok.csv").write_bytes("abcdeé,x\n".encode() * 3)
    (tmp_path / "bad.csv.gz").write_bytes(gzip.compress("abcdeé,x\n".encode() + b"ab\xffc\n"))
    assert file_probe.first_undecodable(FS, str(tmp_path / "ok.csv"), "utf-8") is None
    assert file_probe.first_undecodable(FS, str(tmp_path / "bad.csv.gz"), "utf-8") == 12


def test_utf16_is_transcoded_whole_and_a_broken_file_named(tmp_path: Path) -> None:
    assert file_probe.needs_transcoding("UTF-16") and not file_probe.needs_transcoding("WINDOWS-1252")
    (tmp_path / "u.json").write_bytes('{"a": "ü"}\n'.encode("utf-16"))
    file_probe.transcode(FS, str(tmp_path / "u.json"), "UTF-16", str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == '{"a": "ü"}\n'.encode()
    (tmp_path / "v.json").write_bytes("{}\n".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(file_probe.UnreadableFile, match=r"not valid UTF-16-LE at byte 6"):
        file_probe.transcode(FS, str(tmp_path / "v.json"), "UTF-16-LE", str(tmp_path / "out2"))


def test_line_ends_are_normalized_to_lf_in_a_decompressed_copy(tmp_path: Path) -> None:
    (tmp_path / "m.csv.gz").write_bytes(gzip.compress(b"a,b\n1,2\r\n3,4\r5,6\r\r\n7,8"))
    file_probe.normalize_line_ends(FS, str(tmp_path / "m.csv.gz"), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"a,b\n1,2\n3,4\n5,6\n\n7,8"


def test_names_spark_would_hide_and_glob_escaping() -> None:
    assert [file_probe.spark_hides(n) for n in ("/r/_a.json", "/r/.a.json", "/r/x=_1.json", "/r/a_b.json")] == [
        True, True, False, False]
    assert file_probe.spark_hides("/r/_k=v.json") is False  # Spark keeps "_" names that hold "="
    assert literal("file:///r/[a]{b}*?\\.json") == "file:///r/\\[a\\]\\{b\\}\\*\\?\\\\.json"
