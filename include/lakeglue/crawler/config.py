"""What one crawler run looks at and how it decides; the counterpart of a Glue crawler definition.

Option names follow Glue's API where Glue has the concept (``RecrawlPolicy``,
``SchemaChangePolicy``, ``TableLevelConfiguration``, ``TableThreshold``, classifiers) so
that :mod:`lakeglue.crawler.glue` can translate a config into a real Glue crawler for the
aws profile without a second vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from lakeglue.crawler.classifiers import Classifier, classifier_from_dict, classifier_to_dict
from lakeglue.settings import ZONES

CSV_HEADER_OPTIONS = ("PRESENT", "ABSENT", "UNKNOWN")
DELETE_BEHAVIORS = ("LOG", "DEPRECATE_IN_DATABASE", "DELETE_FROM_DATABASE")
UPDATE_BEHAVIORS = ("UPDATE_IN_DATABASE", "LOG")
#: lakeglue's default: read only files the ingestion ledger has not seen (not a Glue policy).
CRAWL_INCREMENTAL = "CRAWL_INCREMENTAL"
CRAWL_EVERYTHING = "CRAWL_EVERYTHING"
CRAWL_NEW_FOLDERS_ONLY = "CRAWL_NEW_FOLDERS_ONLY"
CRAWL_EVENT_MODE = "CRAWL_EVENT_MODE"
RECRAWL_POLICIES = (CRAWL_INCREMENTAL, CRAWL_EVERYTHING, CRAWL_NEW_FOLDERS_ONLY, CRAWL_EVENT_MODE)

#: Glue reads at most this much of a text file (after decompression) to infer its schema.
MAX_SAMPLE_BYTES = 1024 * 1024
#: ... and at most this many records.
MAX_SAMPLE_RECORDS = 1000
#: Files sampled per leaf folder; Glue allows 1 to 249, we default low because a lake's
#: folders hold files from one writer, so more samples rarely change the schema.
DEFAULT_SAMPLE_FILES = 10
#: Glue's rule: sibling folders whose schemas are at least this similar are one table.
SIMILARITY_THRESHOLD = 0.7
#: Threads reading file samples (Parquet/ORC footers, text heads) at once; object stores
#: answer each small read in tens of milliseconds, so overlap is what makes 10,000 files fast.
DEFAULT_PARALLELISM = 8

if TYPE_CHECKING:
    from lakeglue.pipelines.spec import PipelineSpec


class CrawlerConfigError(ValueError):
    """A crawler option has a value the crawler cannot use; the message names the option."""


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> str:
    upper = value.upper()
    if upper not in allowed:
        raise CrawlerConfigError(f"CrawlerConfig.{option}={value!r}; choose one of {', '.join(allowed)}")
    return upper


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
    #: Custom classifiers, tried in order before the built-in ones; the first certain one wins.
    classifiers: tuple[Classifier, ...] = ()
    #: Depth of table folders below the prefix (1 = its sub-folders; Glue's TableLevelConfiguration
    #: counted from the prefix). ``None`` lets schema similarity decide, as Glue does by default.
    table_level: int | None = 1
    #: Glue's CombineCompatibleSchemas: with ``table_level=None``, one table per folder whose
    #: schemas merge without conflict, however dissimilar.
    combine_compatible_schemas: bool = False
    #: Glue's TableThreshold: the crawl fails (writing nothing) if it would make more tables.
    table_threshold: int | None = None
    recrawl_policy: str = CRAWL_INCREMENTAL
    #: Glue's SchemaChangePolicy.UpdateBehavior for tables that already exist.
    update_behavior: str = "UPDATE_IN_DATABASE"
    #: What to do with catalog tables/partitions this crawler made whose folder is gone (DeleteBehavior).
    delete_behavior: str = "LOG"
    #: Glue's "add new columns only": existing columns keep their type, nothing is dropped.
    merge_new_columns: bool = False
    #: Opt-in: text integers whose *sampled* values fit 32 bits become ``int``. Off by default, as in
    #: Glue: a sample is not the file, and a later value past 2^31 would fail every reader's cast.
    narrow_text_integers: bool = False
    parallelism: int = DEFAULT_PARALLELISM
    description: str = field(default="", compare=False)
    #: Character encoding of every text table (``records.ENCODING_PARAM``): overrides detection. "" = detect.
    encoding: str = ""
    #: Per-table encodings (table name → encoding), over ``encoding``; filled from the pipeline spec's
    #: ``bronze.<table>.options.encoding`` so the catalog and the bronze reader agree.
    table_encodings: dict[str, str] = field(default_factory=dict, hash=False)
    #: Null markers of every CSV table (``records.NULL_MARKERS_PARAM``): overrides detection. None = detect.
    null_markers: tuple[str, ...] | None = None
    #: Per-table null markers over ``null_markers``; filled from ``bronze.<table>.options.null_markers``.
    table_null_markers: dict[str, list[str]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.database:
            raise CrawlerConfigError("CrawlerConfig.database is required")
        if self.zone not in ZONES:
            raise CrawlerConfigError(f"CrawlerConfig.zone={self.zone!r}; zones are {', '.join(ZONES)}")
        set_ = object.__setattr__
        set_(self, "csv_header", _choice("csv_header", self.csv_header, CSV_HEADER_OPTIONS))
        set_(self, "delete_behavior", _choice("delete_behavior", self.delete_behavior, DELETE_BEHAVIORS))
        set_(self, "update_behavior", _choice("update_behavior", self.update_behavior, UPDATE_BEHAVIORS))
        set_(self, "recrawl_policy", _choice("recrawl_policy", self.recrawl_policy, RECRAWL_POLICIES))
        if not 1 <= self.sample_files_per_folder <= 249:
            raise CrawlerConfigError(f"CrawlerConfig.sample_files_per_folder={self.sample_files_per_folder} "
                                     "must be between 1 and 249 (Glue's limit)")
        if self.max_sample_bytes < 1024 or self.max_sample_records < 2:
            raise CrawlerConfigError("CrawlerConfig.max_sample_bytes must be >= 1024 and "
                                     "max_sample_records >= 2 (a CSV header needs a row below it)")
        if self.table_level is not None and self.table_level < 1:
            raise CrawlerConfigError(f"CrawlerConfig.table_level={self.table_level} must be >= 1 "
                                     "(1 = the folders directly below the prefix) or None (decide by similarity)")
        if self.table_threshold is not None and self.table_threshold < 1:
            raise CrawlerConfigError(f"CrawlerConfig.table_threshold={self.table_threshold} must be >= 1")
        if not 1 <= self.parallelism <= 64:
            raise CrawlerConfigError(f"CrawlerConfig.parallelism={self.parallelism} must be between 1 and 64")
        if self.recrawl_policy == CRAWL_NEW_FOLDERS_ONLY and (self.update_behavior, self.delete_behavior) != (
                "LOG", "LOG"):
            # Glue rejects this combination too: a crawler that never re-reads old folders
            # cannot know whether their schema or existence changed.
            raise CrawlerConfigError("CrawlerConfig.recrawl_policy=CRAWL_NEW_FOLDERS_ONLY needs "
                                     "update_behavior='LOG' and delete_behavior='LOG' (Glue's rule); got "
                                     f"{self.update_behavior!r} and {self.delete_behavior!r}")
        classifiers = tuple(c if not isinstance(c, dict) else classifier_from_dict(c) for c in self.classifiers)
        names = [c.name for c in classifiers]
        if len(set(names)) != len(names):
            raise CrawlerConfigError(f"CrawlerConfig.classifiers: names must be unique, got {names}")
        set_(self, "classifiers", classifiers)
        set_(self, "excludes", tuple(self.excludes))
        from lakeglue.records import normalise_encoding

        for option, value in (("encoding", self.encoding), *((f"table_encodings[{t!r}]", e)
                                                              for t, e in self.table_encodings.items())):
            try:
                normalise_encoding(value) if value else None
            except LookupError:
                raise CrawlerConfigError(f"CrawlerConfig.{option}={value!r} is not an encoding Python knows "
                                         "(e.g. UTF-8, ISO-8859-1, WINDOWS-1252, UTF-16)") from None
        set_(self, "table_encodings", dict(self.table_encodings))
        set_(self, "table_null_markers", {t: list(m) for t, m in self.table_null_markers.items()})
        if self.null_markers is not None:
            set_(self, "null_markers", tuple(self.null_markers))
        set_(self, "prefix", self.prefix.strip("/"))
        if not self.source_prefix:
            set_(self, "source_prefix", self.prefix)
        if not self.name:
            set_(self, "name", f"{self.database}_crawler")

    def encoding_for(self, table: str | None) -> str:
        """The configured encoding of ``table`` ("" = detect it from the files)."""
        return (self.table_encodings.get(table, "") if table else "") or self.encoding

    def markers_for(self, table: str | None) -> tuple[str, ...] | None:
        """The configured null markers of ``table`` (None = detect them from the files)."""
        if table and table in self.table_null_markers:
            return tuple(self.table_null_markers[table])
        return self.null_markers

    def ledger_source(self, table: str) -> str:
        """Ledger source name of one table (``ecommerce/orders``)."""
        return f"{self.source_prefix}/{table}" if self.source_prefix else table

    def table_of_source(self, source: str) -> str | None:
        """Inverse of :meth:`ledger_source`: the table a ledger source belongs to, if it is ours."""
        if not self.source_prefix:
            return source if "/" not in source else None
        head = self.source_prefix + "/"
        return source[len(head):] if source.startswith(head) and "/" not in source[len(head):] else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (Airflow templates and XCom; classifiers in Glue's API shape)."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "classifiers":
                value = [classifier_to_dict(c) for c in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrawlerConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CrawlerConfigError(f"unknown crawler options {unknown}; known: {sorted(known)}")
        values = dict(data)
        for key in ("excludes", "classifiers"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("null_markers") is not None:
            values["null_markers"] = tuple(values["null_markers"])
        return cls(**values)


def _markers_option(value: str) -> list[str]:
    """A bronze ``null_markers`` option: a JSON list, or one marker (as the bronze readers take it)."""
    import json

    return [str(m) for m in json.loads(value)] if value.startswith("[") else [value]


def config_for_pipeline(spec: PipelineSpec, **overrides: Any) -> CrawlerConfig:
    """The crawler of a pipeline's raw source: ``raw/<prefix>/<table>/`` → ``<database>_raw``."""
    encodings = {table: t.options.get("encoding") or t.options.get("charset") or ""
                 for table, t in spec.bronze.items()}
    markers = {table: _markers_option(t.options["null_markers"]) for table, t in spec.bronze.items()
               if "null_markers" in t.options}
    values: dict[str, Any] = dict(database=spec.database_for("raw"), zone=spec.source.zone,
                                  prefix=spec.source.prefix, source_prefix=spec.name,
                                  excludes=tuple(spec.source.excludes), name=f"{spec.name}_raw_crawler",
                                  table_encodings={t: e for t, e in encodings.items() if e},
                                  table_null_markers=markers)
    values.update(overrides)
    return CrawlerConfig(**values)
