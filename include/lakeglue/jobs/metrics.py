"""Run metrics a job returns to its caller (Airflow puts them in XCom)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TableMetrics:
    table: str
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    #: silver: rows of the new batches that lost the dedupe to another row with the same key
    rows_duplicate: int = 0
    files_read: int = 0
    #: bronze: claimed files quarantined whole (cannot be decoded, decompressed or parsed)
    files_quarantined: int = 0
    bytes_read: int = 0
    location: str = ""
    skipped_reason: str = ""


@dataclass
class JobMetrics:
    job: str
    pipeline: str
    batch_id: str
    tables: list[TableMetrics] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def rows_written(self) -> int:
        return sum(t.rows_written for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows_written"] = self.rows_written
        data["rows_quarantined"] = self.rows_quarantined
        return data

    def write(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    def summary(self) -> str:
        lines = [f"{self.job} job of {self.pipeline}, batch {self.batch_id}, {self.duration_s:.1f}s"]
        for t in self.tables:
            if t.skipped_reason:
                lines.append(f"  {t.table}: skipped ({t.skipped_reason})")
            else:
                line = (f"  {t.table}: read {t.rows_read} rows from {t.files_read} files, wrote "
                        f"{t.rows_written}, quarantined {t.rows_quarantined}")
                if t.rows_duplicate:
                    line += f", dropped {t.rows_duplicate} duplicates"
                if t.files_quarantined:
                    line += f", quarantined {t.files_quarantined} whole files (unreadable)"
                lines.append(line)
        return "\n".join(lines)
