"""One rule for which zip is single-member, shared by the crawler, DuckDB's probes and Spark's:
a zip holding one data file beside ``__MACOSX/`` resource forks, a dot-file and a directory entry
is that one file everywhere (before, the engines counted the litter and quarantined the archive)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import fsspec

from lakeglue.crawler import compression
from lakeglue.jobs import raw_files
from lakeglue.jobs.spark import file_probe

FS = fsspec.filesystem("file")
DATA = b'{"a": 1}\n{"a": 2}\n'


def _mac_zip(path: Path) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/", b"")
        archive.writestr("data/rows.json", DATA)
        archive.writestr("__MACOSX/", b"")
        archive.writestr("__MACOSX/data/._rows.json", b"\x00\x05\x16\x07 resource fork")
        archive.writestr("data/.DS_Store", b"Bud1 junk")
    path.write_bytes(buf.getvalue())
    return str(path)


def test_a_zip_with_macos_litter_is_its_one_data_file_for_crawler_and_both_engines(tmp_path: Path) -> None:
    path = _mac_zip(tmp_path / "mac.zip")
    # crawler
    with open(path, "rb") as fh:
        head, more, member = compression.decompressed_head(fh, "zip", 1 << 20)
    assert (head, more, member) == (DATA, False, "data/rows.json")
    # DuckDB engine: the probe reads the member's lines, and nothing is unreadable
    assert raw_files.single_zip_member(FS, path) == "data/rows.json"
    scan = raw_files.write_clean_copy(FS, path, Path(path).stat().st_size, "UTF-8", 1 << 20,
                                      str(tmp_path / "duck" / "clean.txt"))
    assert scan.unreadable is None and scan.rejects == [] and scan.lines == 2
    assert (tmp_path / "duck" / "clean.txt").read_bytes() == DATA
    # Spark engine: the probe finds it readable, and the same member is extracted
    assert file_probe.probe(FS, path, "json") is None
    member_info = file_probe.extract_zip(FS, path, str(tmp_path / "spark.json"))
    assert (member_info.name, member_info.size) == ("data/rows.json", len(DATA))
    assert (tmp_path / "spark.json").read_bytes() == DATA


def test_litter_alone_is_no_data_file_anywhere(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("__MACOSX/._rows.json", b"fork")
        archive.writestr(".hidden.json", DATA)
    (tmp_path / "litter.zip").write_bytes(buf.getvalue())
    path = str(tmp_path / "litter.zip")
    scan = raw_files.scan_text(FS, path, Path(path).stat().st_size, "UTF-8", 1 << 20)
    assert scan.unreadable is not None and "holds 0 files" in scan.unreadable
    assert "it holds 0" in (file_probe.probe(FS, path, "json") or "")
    with open(path, "rb") as fh:
        try:
            compression.decompressed_head(fh, "zip", 100)
        except compression.CompressionError as exc:
            assert "holds 0 files" in exc.reason
        else:
            raise AssertionError("a zip of litter alone must not be read as data")
