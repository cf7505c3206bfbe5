"""Spark bronze finds its JSON rejects again for quarantine two ways, with the same result.

The write pass notes which files and line numbers were rejected while there are few
(``LOCATED_REJECTS``); the quarantine pass then reads back only those lines. With more rejects
it parses every line again. Both must quarantine exactly the rejects, with file, line, reason
and raw text, and count them alike.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakeglue.catalog.model import Column
from lakeglue.pipelines.spec import spec_from_dict
from lakeglue.settings import Settings
from tests.support.raw_json_lake import raw_json_context

STARTED = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
# Rejects at line numbers that also hold good lines in the other files: the located pass reads
# those lines of every rejected file back and must keep only the rejects among them.
FILES = {
    "a.jsonl": b'{"id": 1}\n{"id": 2,}\n{"id": 3}\r\n\n[3]\n',
    "b.jsonl.gz": gzip.compress(b'{"id": 4}\n{"id": 5}\n{"id": 6} trailing\n{"id": 7}\n{\'id\': 8}\n'),
    "c.jsonl": b'{"id": 9}\n' * 5 + b'{"id": 10\n',
}
EXPECTED = [
    ("a.jsonl", 2, "malformed JSON: not a complete object", '{"id": 2,}'),
    ("a.jsonl", 5, "not a JSON object", "[3]"),
    ("b.jsonl.gz", 3, "malformed JSON: not a complete object", '{"id": 6} trailing'),
    ("b.jsonl.gz", 5, "malformed JSON: not a complete object", "{'id': 8}"),
    ("c.jsonl", 6, "malformed JSON: not a complete object", '{"id": 10'),
]


def _bronze(tmp_path: Path, spark: Any) -> tuple[list[tuple[Any, ...]], tuple[int, int, int]]:
    from lakeglue.jobs.spark.bronze import run_bronze

    spec = spec_from_dict({"name": "edge", "database": "edge", "source": {"prefix": "edge"},
                           "bronze": {"events": {"format": "json"}}}, check_files=False)
    ctx = raw_json_context(Settings(lake_root=str(tmp_path / "lake")), spec, FILES, [Column("id", "bigint")], STARTED)
    lake = ctx.lake
    (metrics,) = run_bronze(spark, ctx).tables
    qdir = Path(lake.path("quarantine", "edge", "bronze", "events"))
    quarantined = sorted((r["source_file"].rsplit("/", 1)[-1], r["line"], r["reason"], r["raw"])
                         for f in qdir.rglob("*.json") for r in map(json.loads, f.read_text().splitlines()))
    return quarantined, (metrics.rows_read, metrics.rows_written, metrics.rows_quarantined)


@pytest.mark.parametrize("located", [4096, 5, 4], ids=["located", "located-at-the-limit", "parsed-again-over-it"])
def test_rejects_are_quarantined_alike_whether_located_or_parsed_again(
        tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch, located: int) -> None:
    from lakeglue.jobs.spark import bronze

    monkeypatch.setattr(bronze, "LOCATED_REJECTS", located)
    quarantined, counts = _bronze(tmp_path, spark)
    assert quarantined == EXPECTED
    assert counts == (15, 10, 5)  # the blank line is no row
