"""What one crawler run looks at and how it decides; the counterpart of a Glue crawler definition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakeglue.settings import ZONES

CSV_HEADER_OPTIONS = ("PRESENT", "ABSENT", "UNKNOWN")
DELETE_BEHAVIORS = ("LOG", "DEPRECATE_IN_DATABASE", "DELETE_FROM_DATABASE")

#: Glue reads at most this much of a text file (after decompression) to infer its schema.
MAX_SAMPLE_BYTES = 1024 * 1024
#: ... and at most this many records.
MAX_SAMPLE_RECORDS = 1000
#: Files sampled per leaf folder; Glue allows 1 to 249, we default low because a lake's
#: folders hold files from one writer, so more samples rarely change the schema.
DEFAULT_SAMPLE_FILES = 10

if TYPE_CHECKING:
    from lakeglue.pipelines.spec import PipelineSpec


class CrawlerConfigError(ValueError):
    """A crawler option has a value the crawler cannot use; the message names the option."""


@dataclass(frozen=True)
class CrawlerConfig:
    """One crawler target: ``<zone>/<prefix>/<table folder>/<partition folders…>/files``.

    ``source_prefix`` names the ingestion-ledger sources (``<source_prefix>/<table>``) so
    bronze jobs can find what the crawler has seen; it defaults to ``prefix``.
    """

    database: str
    zone: str = "raw"
    prefix: str = ""
    source_prefix: str = ""
    #: Written into each table as UPDATED_BY_CRAWLER; defaults to ``<database>_crawler``.
    name: str = ""
    #: Globs relative to the prefix, added to the built-in litter excludes.
    excludes: tuple[str, ...] = ()
    use_default_excludes: bool = True
    table_prefix: str = ""
    csv_header: str = "UNKNOWN"
    sample_files_per_folder: int = DEFAULT_SAMPLE_FILES
    max_sample_bytes: int = MAX_SAMPLE_BYTES
    max_sample_records: int = MAX_SAMPLE_RECORDS
    #: What to do with catalog tables this crawler made whose folder is gone (Glue's DeleteBehavior).
    delete_behavior: str = "LOG"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.database:
            raise CrawlerConfigError("CrawlerConfig.database is required")
        if self.zone not in ZONES:
            raise CrawlerConfigError(f"CrawlerConfig.zone={self.zone!r}; zones are {', '.join(ZONES)}")
        header = self.csv_header.upper()
        if header not in CSV_HEADER_OPTIONS:
            raise CrawlerConfigError(f"CrawlerConfig.csv_header={self.csv_header!r}; "
                                     f"choose one of {', '.join(CSV_HEADER_OPTIONS)}")
        if self.delete_behavior not in DELETE_BEHAVIORS:
            raise CrawlerConfigError(f"CrawlerConfig.delete_behavior={self.delete_behavior!r}; "
                                     f"choose one of {', '.join(DELETE_BEHAVIORS)}")
        if not 1 <= self.sample_files_per_folder <= 249:
            raise CrawlerConfigError(f"CrawlerConfig.sample_files_per_folder={self.sample_files_per_folder} "
                                     "must be between 1 and 249 (Glue's limit)")
        if self.max_sample_bytes < 1024 or self.max_sample_records < 2:
            raise CrawlerConfigError("CrawlerConfig.max_sample_bytes must be >= 1024 and "
                                     "max_sample_records >= 2 (a CSV header needs a row below it)")
        object.__setattr__(self, "csv_header", header)
        object.__setattr__(self, "excludes", tuple(self.excludes))
        object.__setattr__(self, "prefix", self.prefix.strip("/"))
        if not self.source_prefix:
            object.__setattr__(self, "source_prefix", self.prefix)
        if not self.name:
            object.__setattr__(self, "name", f"{self.database}_crawler")

    def ledger_source(self, table: str) -> str:
        """Ledger source name of one table (``ecommerce/orders``)."""
        return f"{self.source_prefix}/{table}" if self.source_prefix else table


def config_for_pipeline(spec: PipelineSpec) -> CrawlerConfig:
    """The crawler of a pipeline's raw source: ``raw/<prefix>/<table>/`` → ``<database>_raw``."""
    return CrawlerConfig(database=spec.database_for("raw"), zone=spec.source.zone, prefix=spec.source.prefix,
                         source_prefix=spec.name, excludes=tuple(spec.source.excludes),
                         name=f"{spec.name}_raw_crawler")
