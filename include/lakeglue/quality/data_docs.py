"""GX Data Docs in the results zone: every validation kept as GX JSON, rendered as a static HTML site.

Layout (local lakes)::

    results/quality/validations/<suite>/<run id>/<time>/<batch>.json   GX validation results (the record)
    results/quality/expectations/<suite>.json                            latest version of each suite
    results/data_docs/index.html                                         the site: every validation, every suite
    results/data_docs/validations/<suite>/<run id>/<time>/<batch>.html

Why these stores: GX renders Data Docs from its own stores, so validation results and suites
are kept on disk (the in-memory defaults would leave one run per site). Checkpoint store and
validation definitions stay in memory: they are rebuilt from the suite files on every run.
The index page is rebuilt on each build from the stored results, so it lists the whole history;
only the pages of the given results are rendered (incremental, ~0.1 s per page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from lakeglue.quality.errors import QualityError
from lakeglue.quality.result import QualityResult
from lakeglue.settings import Settings
from lakeglue.storage.zones import Lake

SITE_NAME = "lakeglue"


@dataclass(frozen=True)
class DataDocsLocation:
    """Local directories of the GX stores and of the HTML site."""

    validations_dir: str
    expectations_dir: str
    site_dir: str

    @property
    def index(self) -> str:
        return f"{self.site_dir}/index.html"


def data_docs_location(settings: Settings) -> DataDocsLocation:
    """The results-zone directories; Data Docs are built for local lakes only (GX writes with local I/O)."""
    lake = Lake(settings)
    if lake.protocol != "file":
        raise QualityError(f"Data Docs are written to local lakes only; lake root {settings.lake_root} is "
                           f"{lake.protocol}:// (pass data_docs=False to validate without them)")
    return DataDocsLocation(validations_dir=lake.path("results", "quality", "validations"),
                            expectations_dir=lake.path("results", "quality", "expectations"),
                            site_dir=lake.path("results", "data_docs"))


def new_context(docs: DataDocsLocation | None) -> Any:
    """A fresh ephemeral GX context; with ``docs``, results and suites persist for Data Docs."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from lakeglue.quality.gx_engine import import_gx

    gx = import_gx()
    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    sites: dict[str, Any] = {}
    if docs is not None:
        stores[defaults.validation_results_store_name] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs.validations_dir}}
        stores[defaults.expectations_store_name] = {
            "class_name": "ExpectationsStore",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs.expectations_dir}}
        sites[SITE_NAME] = {
            "class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs.site_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}
    config = DataContextConfig(
        stores=stores, expectations_store_name=defaults.expectations_store_name,
        validation_results_store_name=defaults.validation_results_store_name,
        checkpoint_store_name=defaults.checkpoint_store_name, data_docs_sites=sites,
        analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False))
    return gx.get_context(mode="ephemeral", project_config=config)


def build_data_docs(docs: DataDocsLocation, results: Sequence[QualityResult]) -> tuple[str, list[QualityResult]]:
    """Render the pages of ``results`` and the index; returns the index path and the results with their page."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = new_context(docs)
    identifiers: list[Any] = []
    keyed: list[tuple[QualityResult, Any]] = []
    for result in results:
        if result.docs_key is None:
            raise QualityError(f"{result.suite} on {result.table} (run {result.run_id}) was validated without "
                               f"Data Docs stores; validate with data_docs to render it")
        key = ValidationResultIdentifier.from_tuple(result.docs_key)
        keyed.append((result, key))
        identifiers.append(key)
    identifiers.extend(ExpectationSuiteIdentifier(name=name) for name in sorted({r.suite for r in results}))
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=identifiers)
    with_pages = []
    for result, key in keyed:
        urls = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME)
        page = unquote(str(urls[0]["site_url"]).removeprefix("file://")) if urls else None  # GX quotes ':' in run ids
        with_pages.append(replace(result, data_docs_page=page))
    return docs.index, with_pages
