"""Storage zones (raw, staging, curated, results, quarantine) over fsspec."""

from lakeglue.storage.zones import FileInfo, Lake, get_lake

__all__ = ["FileInfo", "Lake", "get_lake"]
