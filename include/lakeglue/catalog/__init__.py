"""The data catalog: Glue-shaped model, backend protocol and the factory that picks a backend."""

from __future__ import annotations

from lakeglue.catalog.base import AlreadyExists, Catalog, CatalogError, ConcurrentModification, EntityNotFound
from lakeglue.catalog.diff import TableDiff, diff_tables
from lakeglue.catalog.model import Column, Database, Partition, StorageDescriptor, Table, TableVersion
from lakeglue.settings import Settings, get_settings


def open_catalog(settings: Settings | None = None) -> Catalog:
    """The catalog backend the settings ask for: a Hive Metastore when ``LAKEGLUE_CATALOG_URL`` is
    ``thrift://…`` (any profile), else Glue for ``aws`` and SQL otherwise."""
    settings = settings or get_settings()
    if settings.metastore_uri:
        from lakeglue.catalog.hms import HiveMetastoreCatalog

        return HiveMetastoreCatalog(settings.metastore_uri, state_url=settings.catalog_url)
    if settings.profile == "aws":
        from lakeglue.catalog.glue import GlueCatalog

        return GlueCatalog(endpoint_url=settings.aws_endpoint_url or None, region=settings.aws_region)
    from lakeglue.catalog.sql import SqlCatalog

    return SqlCatalog(settings.catalog_url)


__all__ = [
    "AlreadyExists", "Catalog", "CatalogError", "Column", "ConcurrentModification", "Database",
    "EntityNotFound", "Partition", "StorageDescriptor", "Table", "TableDiff", "TableVersion", "diff_tables",
    "open_catalog",
]
