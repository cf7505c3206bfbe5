"""The lakeglue crawler: raw files → Glue-shaped catalog tables and partitions, in pure Python.

Modules, in the order a crawl uses them: :mod:`~.listing` (tables and partitions from one
listing; :mod:`~.grouping` when schema similarity decides where tables start, :mod:`~.events`
in event mode), :mod:`~.classify` / :mod:`~.compression` / :mod:`~.binary` (open a file once:
codec, Parquet/ORC/Avro metadata, text head), :mod:`~.custom` (custom classifiers first),
:mod:`~.infer` / :mod:`~.csvinfer` / :mod:`~.texttypes` (one file's schema), :mod:`~.schema`
(merge files into a table, parallel reads), :mod:`~.tabledef` (the catalog table),
:mod:`~.policy` (schema change policy), :mod:`~.consistency` (partition schema report),
:mod:`~.plan` (diff against the catalog), :mod:`~.apply` (write), :mod:`~.run`; and
:mod:`~.glue` translates a config into a real Glue crawler for the aws profile.

``crawl`` is imported on first use so that an Airflow DAG file importing
``CrawlerConfig`` at parse time does not pay for pyarrow and SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeglue.crawler.config import CrawlerConfig, CrawlerConfigError, config_for_pipeline
from lakeglue.crawler.result import CrawlResult

if TYPE_CHECKING:
    from lakeglue.crawler.run import CrawlAborted, crawl


def __getattr__(name: str) -> Any:
    if name in ("crawl", "CrawlAborted"):
        from lakeglue.crawler import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CrawlAborted", "CrawlResult", "CrawlerConfig", "CrawlerConfigError", "config_for_pipeline", "crawl"]
