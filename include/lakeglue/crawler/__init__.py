"""The lakeglue crawler: raw files → Glue-shaped catalog tables and partitions, in pure Python.

Modules, in the order a crawl uses them: :mod:`~.listing` (tables and partitions from one
listing), :mod:`~.classify` (format and compression from extension + magic bytes),
:mod:`~.infer` / :mod:`~.csvinfer` (one file's schema), :mod:`~.schema` (merge files into
a table), :mod:`~.plan` (diff against the catalog), :mod:`~.apply` (write), :mod:`~.run`.

``crawl`` is imported on first use so that an Airflow DAG file importing
``CrawlerConfig`` at parse time does not pay for pyarrow and SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeglue.crawler.config import CrawlerConfig, CrawlerConfigError, config_for_pipeline
from lakeglue.crawler.result import CrawlResult

if TYPE_CHECKING:
    from lakeglue.crawler.run import crawl


def __getattr__(name: str) -> Any:
    if name == "crawl":
        from lakeglue.crawler.run import crawl

        return crawl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CrawlResult", "CrawlerConfig", "CrawlerConfigError", "config_for_pipeline", "crawl"]
