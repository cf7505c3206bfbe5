"""The files one Spark bronze batch reads, under names Spark reads literally.

Names are data: Spark globs a path with ``* ? [ ] { } \\`` in it (``[a].json`` would read
``a.json``) and drops a file named ``_x`` or ``.x`` as hidden, even when named explicitly. So
every path Spark reads is glob-escaped (:func:`literal`), hidden-looking files and the one
member of a ``.zip`` are read from a copy in staging under a plain name, and the lineage
column maps the copy back to the file that was claimed. Files that cannot be read at
all are set aside here as whole-file quarantine records; the rest of the batch goes on.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakeglue.jobs.spark import file_probe
from lakeglue.ledger import LedgerEntry
from lakeglue.storage.zones import Lake

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import SparkSession

_GLOB_CHARS = re.compile(r"([\\*?\[\]{}])")


def literal(uri: str) -> str:
    """``uri`` with Hadoop's glob characters escaped, so Spark reads exactly that file.

    (Spark's internal ``__globPaths__=false`` reader option is no way out: with several paths it
    lists some of them twice, and every row of those files lands twice.)"""
    return _GLOB_CHARS.sub(r"\\\1", uri)


@dataclass(frozen=True)
class FileReject:
    """A claimed file quarantined whole: ``source_file`` as Spark names files (URI-quoted)."""

    source_file: str
    detail: str
    size: int


@dataclass(frozen=True)
class InputFile:
    read_uri: str     # what Spark reads (the file itself, or its staged copy)
    probe_path: str   # fsspec path the slow path probes (the staged copy of a zip member)
    source_file: str  # the claimed file as Spark names it: the lineage value
    size: int         # of the claimed file
    staged: bool = False


@dataclass
class BatchInputs:
    files: list[InputFile] = field(default_factory=list)
    rejected: list[FileReject] = field(default_factory=list)
    staging: str | None = None
    #: files (lineage names) read from a staged copy whose line ends are all LF
    normalized: set[str] = field(default_factory=set)

    @property
    def read_uris(self) -> list[str]:
        return [f.read_uri for f in self.files]

    def renamed(self, spark: SparkSession) -> dict[str, str]:
        """Spark's name of each staged copy → the claimed file's name (for ``_source_file``)."""
        names = {f.source_file: spark_name(spark, f.read_uri) for f in self.files}
        return {name: source for source, name in names.items() if name != source}

    def probe(self, lake: Lake, fmt: str) -> list[FileReject]:
        """The slow path: probe every file still in the batch, set the unreadable ones aside."""
        found = []
        for f in list(self.files):
            detail = file_probe.probe(lake.fs, f.probe_path, fmt, None if f.staged else f.size)
            if detail is not None:
                found.append(FileReject(f.source_file, detail, f.size))
                self.files.remove(f)
        self.rejected.extend(found)
        return found

    def line_ends_normalizable(self, source_files: set[str]) -> frozenset[str]:
        """Of these files, those not yet read from a copy with normalized line ends."""
        return frozenset(f.source_file for f in self.files
                         if f.source_file in source_files and f.source_file not in self.normalized)

    def normalize_line_ends(self, lake: Lake, source_files: frozenset[str]) -> None:
        """Read these files (by their lineage names) from staged copies whose line ends are all
        ``\\n`` (:func:`file_probe.normalize_line_ends`); a file that cannot be read is set aside."""
        if self.staging is None:
            self.staging = lake.new_staging_path("bronze-inputs-line-ends")
            lake.fs.makedirs(self.staging, exist_ok=True)
        kept = []
        for index, f in enumerate(self.files):
            if f.source_file not in source_files:
                kept.append(f)
                continue
            target = posixpath.join(self.staging, f"n{index:06d}")
            try:
                file_probe.normalize_line_ends(lake.fs, f.probe_path, target)
            except file_probe.UnreadableFile as exc:
                self.rejected.append(FileReject(f.source_file, str(exc), f.size))
                continue
            kept.append(InputFile(lake.uri(target), target, f.source_file, f.size, staged=True))
            self.normalized.add(f.source_file)
        self.files = kept

    def cleanup(self, lake: Lake) -> None:
        if self.staging and lake.fs.exists(self.staging):
            lake.fs.rm(self.staging, recursive=True)


def spark_name(spark: SparkSession, uri: str) -> str:
    """The name ``input_file_name()`` gives the file at ``uri`` (Hadoop's URI-quoted form)."""
    return str(spark._jvm.org.apache.hadoop.fs.Path(uri).toUri().toString())  # type: ignore[union-attr]


def prepare_inputs(spark: SparkSession, lake: Lake, entries: list[LedgerEntry], purpose: str,
                   transcode_from: str | None = None) -> BatchInputs:
    """Cheap checks before the read (no file is read but a zip): zero-byte compressed files are
    quarantined, zip members and hidden-looking names are copied to staging. ``transcode_from``
    (JSON lines in UTF-16/UTF-32): every file is decoded in Python and read as UTF-8 from staging."""
    inputs = BatchInputs()
    if transcode_from:
        inputs = prepare_inputs(spark, lake, entries, purpose)
        transcoded = [_transcoded(lake, inputs, f, index, transcode_from) for index, f in enumerate(inputs.files)]
        inputs.files = [f for f in transcoded if f is not None]
        return inputs
    for index, entry in enumerate(entries):
        uri = lake.uri(entry.path)
        source = spark_name(spark, uri)
        detail = file_probe.empty_compressed(entry.path, entry.size)
        if detail:
            inputs.rejected.append(FileReject(source, detail, entry.size))
            continue
        if file_probe.is_zip(entry.path) or file_probe.spark_hides(entry.path):
            if inputs.staging is None:
                inputs.staging = lake.new_staging_path(f"bronze-inputs-{purpose}")
                lake.fs.makedirs(inputs.staging, exist_ok=True)
            if file_probe.is_zip(entry.path):
                try:
                    member = file_probe.extract_zip(lake.fs, entry.path, posixpath.join(inputs.staging, "tmp"))
                except file_probe.UnreadableFile as exc:
                    inputs.rejected.append(FileReject(source, str(exc), entry.size))
                    continue
                target = posixpath.join(inputs.staging, f"f{index:06d}{file_probe.member_suffix(member.name)}")
                lake.fs.mv(posixpath.join(inputs.staging, "tmp"), target)
            else:
                target = posixpath.join(inputs.staging, f"f{index:06d}{file_probe.member_suffix(entry.path)}")
                lake.fs.copy(entry.path, target)
            inputs.files.append(InputFile(lake.uri(target), target, source, entry.size, staged=True))
        else:
            inputs.files.append(InputFile(uri, entry.path, source, entry.size))
    return inputs


def _transcoded(lake: Lake, inputs: BatchInputs, f: InputFile, index: int, encoding: str) -> InputFile | None:
    if inputs.staging is None:
        inputs.staging = lake.new_staging_path("bronze-inputs-transcoded")
        lake.fs.makedirs(inputs.staging, exist_ok=True)
    target = posixpath.join(inputs.staging, f"t{index:06d}")
    try:
        file_probe.transcode(lake.fs, f.probe_path, encoding, target)
    except file_probe.UnreadableFile as exc:
        inputs.rejected.append(FileReject(f.source_file, str(exc), f.size))
        return None
    return InputFile(lake.uri(target), target, f.source_file, f.size, staged=True)


def with_claimed_names(column: SparkColumn, renamed: dict[str, str]) -> SparkColumn:
    """``input_file_name()`` with staged copies named as the files that were claimed."""
    from pyspark.sql import functions as F

    if not renamed:
        return column
    mapping = F.create_map(*(F.lit(x) for pair in sorted(renamed.items()) for x in pair))
    return F.coalesce(mapping[column], column)
