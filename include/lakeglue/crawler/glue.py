"""A :class:`CrawlerConfig` as a real AWS Glue crawler definition (the aws profile runs Glue's crawler).

The config already speaks Glue's vocabulary, so this is mostly renaming; where lakeglue
does something Glue cannot (incremental-by-ledger recrawls, int/decimal/date inference,
thread count) the definition gets Glue's closest behaviour and a note says what differs,
so the operator can log exactly how the Glue crawl will not match an embedded one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lakeglue.crawler.classifiers import classifier_to_dict
from lakeglue.crawler.config import CRAWL_EVENT_MODE, CRAWL_INCREMENTAL, CrawlerConfig
from lakeglue.settings import Settings
from lakeglue.storage.zones import DEFAULT_EXCLUDES


class GlueTranslationError(ValueError):
    """The config needs something a Glue crawler definition cannot express without more input."""


@dataclass
class GlueCrawler:
    """``CreateCrawler`` keyword arguments, the custom classifiers to create first, and the caveats."""

    definition: dict[str, Any]
    classifiers: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.definition["Name"])


def include_path(config: CrawlerConfig, settings: Settings) -> str:
    """``s3://bucket/…/<zone>/<prefix>/`` of the crawler's target."""
    root = settings.zone_root(config.zone)
    if not root.startswith("s3://"):
        raise GlueTranslationError(f"a Glue crawler reads S3; the lake root is {settings.lake_root!r} "
                                   "(set LAKEGLUE_HOME=s3://bucket for the aws profile)")
    path = f"{root.rstrip('/')}/{config.prefix}".rstrip("/")
    return path + "/"


def glue_table_level(config: CrawlerConfig, settings: Settings) -> int | None:
    """Glue counts table levels from the bucket (bucket = 1); ours count from the prefix."""
    if config.table_level is None:
        return None
    components = [p for p in include_path(config, settings).removeprefix("s3://").split("/") if p]
    return len(components) + config.table_level


def glue_crawler(config: CrawlerConfig, settings: Settings, role: str, event_queue_arn: str = "") -> GlueCrawler:
    """The Glue crawler that does what ``config`` does, as closely as Glue allows."""
    if not role:
        raise GlueTranslationError(f"crawler {config.name}: a Glue crawler needs an IAM role (glue_role, or "
                                   "'glue_crawler_role' in the settings' extra)")
    notes: list[str] = []
    excludes = list(config.excludes) + (list(DEFAULT_EXCLUDES) if config.use_default_excludes else [])
    target: dict[str, Any] = {"Path": include_path(config, settings), "Exclusions": list(dict.fromkeys(excludes)),
                              "SampleSize": config.sample_files_per_folder}
    behavior = config.recrawl_policy
    if behavior == CRAWL_INCREMENTAL:
        behavior = "CRAWL_EVERYTHING"
        notes.append("recrawl_policy CRAWL_INCREMENTAL (ingestion ledger) has no Glue equivalent: the Glue crawler "
                     "re-crawls everything; use CRAWL_NEW_FOLDERS_ONLY or CRAWL_EVENT_MODE to limit its reads")
    if behavior == CRAWL_EVENT_MODE:
        if not event_queue_arn:
            raise GlueTranslationError(f"crawler {config.name}: CRAWL_EVENT_MODE on Glue needs the SQS queue that "
                                       "receives the bucket's S3 events (event_queue_arn)")
        target["EventQueueArn"] = event_queue_arn
    grouping: dict[str, Any] = {}
    level = glue_table_level(config, settings)
    if level is not None:
        grouping["TableLevelConfiguration"] = level
    if config.combine_compatible_schemas:
        grouping["TableGroupingPolicy"] = "CombineCompatibleSchemas"
    tables: dict[str, Any] = {}
    if config.merge_new_columns:
        tables["AddOrUpdateBehavior"] = "MergeNewColumns"
    if config.table_threshold is not None:
        tables["TableThreshold"] = config.table_threshold
    configuration: dict[str, Any] = {"Version": 1.0,
                                     "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}}
    if tables:
        configuration["CrawlerOutput"]["Tables"] = tables
    if grouping:
        configuration["Grouping"] = grouping
    notes.append("type inference differs: Glue types text as bigint/double/string (no int, decimal, non-ISO "
                 "date/timestamp inference), splits dissimilar folders into tables instead of widening, and "
                 "reads files one thread at a time per folder")
    definition: dict[str, Any] = {
        "Name": config.name,
        "Role": role,
        "DatabaseName": config.database,
        "Description": config.description or f"lakeglue crawler {config.name} (generated from its CrawlerConfig)",
        "Targets": {"S3Targets": [target]},
        "SchemaChangePolicy": {"UpdateBehavior": config.update_behavior, "DeleteBehavior": config.delete_behavior},
        "RecrawlPolicy": {"RecrawlBehavior": behavior},
        "Configuration": json.dumps(configuration, sort_keys=True),
    }
    if config.table_prefix:
        definition["TablePrefix"] = config.table_prefix
    if config.classifiers:
        definition["Classifiers"] = [c.name for c in config.classifiers]
    return GlueCrawler(definition, [classifier_to_dict(c) for c in config.classifiers], notes)
