"""GX Data Docs in the results zone: every validation kept as GX JSON, rendered as a static HTML site.

Layout (local disk or S3: the lake's results zone)::

    results/quality/validations/<suite>/<run id>/<time>/<batch>.json   GX validation results (the record)
    results/quality/expectations/<suite>.json                            latest version of each suite
    results/data_docs/index.html                                         the site: every validation, every suite
    results/data_docs/validations/<suite>/<run id>/<time>/<batch>.html

Why these stores: GX renders Data Docs from its own stores, so validation results and suites
are kept in the lake (the in-memory defaults would leave one run per site). Checkpoint store and
validation definitions stay in memory: they are rebuilt from the suite files on every run.
The index page is rebuilt on each build from the stored results, so it lists the whole history;
only the pages of the given results are rendered (incremental, ~0.1 s per page).

A local lake uses GX's own filesystem store backend. An S3 lake uses
:class:`lakeglue.quality.gx_store.TupleFsspecStoreBackend` on the lake's filesystem: GX 1.x no
longer ships an S3 store backend (see that module).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from lakeglue.quality.errors import QualityError
from lakeglue.quality.result import QualityResult
from lakeglue.settings import Settings
from lakeglue.storage.zones import Lake, storage_options

SITE_NAME = "lakeglue"


@dataclass(frozen=True)
class DataDocsLocation:
    """Where the GX stores and the HTML site live: local directories, or ``s3://`` URLs of an S3 lake."""

    validations_dir: str
    expectations_dir: str
    site_dir: str
    #: The lake's fsspec options (endpoint, region) for an object-store lake; empty on local disk.
    storage_options: dict[str, Any] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        return "://" in self.site_dir

    @property
    def index(self) -> str:
        return f"{self.site_dir}/index.html"

    def store_backend(self, directory: str) -> dict[str, Any]:
        """GX store-backend config for one of this location's directories."""
        if not self.remote:
            return {"class_name": "TupleFilesystemStoreBackend", "base_directory": directory}
        return {"class_name": "TupleFsspecStoreBackend", "module_name": "lakeglue.quality.gx_store",
                "base_url": directory, "storage_options": self.storage_options}


def data_docs_location(settings: Settings) -> DataDocsLocation:
    """The results-zone directories: plain paths on local disk, URLs on an object store."""
    lake = Lake(settings)
    if lake.protocol == "file":
        return DataDocsLocation(validations_dir=lake.path("results", "quality", "validations"),
                                expectations_dir=lake.path("results", "quality", "expectations"),
                                site_dir=lake.path("results", "data_docs"))
    return DataDocsLocation(validations_dir=lake.uri(lake.path("results", "quality", "validations")),
                            expectations_dir=lake.uri(lake.path("results", "quality", "expectations")),
                            site_dir=lake.uri(lake.path("results", "data_docs")),
                            storage_options=storage_options(settings))


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
            "class_name": "ValidationResultsStore", "store_backend": docs.store_backend(docs.validations_dir)}
        stores[defaults.expectations_store_name] = {
            "class_name": "ExpectationsStore", "store_backend": docs.store_backend(docs.expectations_dir)}
        sites[SITE_NAME] = {
            "class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": docs.store_backend(docs.site_dir),
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
        url = urls[0]["site_url"] if urls else None  # None: GX logged a rendering error instead of a page
        # GX's filesystem backend quotes ':' in run ids; the object-store backend gives the object's URL as is
        page = None if url is None else str(url) if docs.remote else unquote(str(url).removeprefix("file://"))
        with_pages.append(replace(result, data_docs_page=page))
    return docs.index, with_pages
