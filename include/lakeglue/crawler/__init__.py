"""The lakeglue crawler: raw files → Glue-shaped catalog tables and partitions, in pure Python.

Modules, in the order a crawl uses them: :mod:`~.listing` (tables and partitions from one
listing), :mod:`~.classify` (format and compression from extension + magic bytes),
:mod:`~.infer` / :mod:`~.csvinfer` (one file's schema), :mod:`~.schema` (merge files into
a table), :mod:`~.plan` (diff against the catalog), :mod:`~.apply` (write), :mod:`~.run`.
"""

from lakeglue.crawler.config import CrawlerConfig, CrawlerConfigError
from lakeglue.crawler.result import CrawlResult
from lakeglue.crawler.run import crawl

__all__ = ["CrawlResult", "CrawlerConfig", "CrawlerConfigError", "crawl"]
