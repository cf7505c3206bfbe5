"""Let a DuckDB job read and write a lake on S3 (aws profile, MinIO in compose, moto in tests).

DuckDB reaches S3 through its ``httpfs`` extension. ``INSTALL`` would download it from DuckDB's
extension repository at run time, which neither our machines nor a locked-down Glue job can
reach, so the extension comes from the ``duckdb-extension-httpfs`` wheel pinned beside duckdb
(the same version, a hard requirement of DuckDB) and is ``LOAD``-ed by its file path.

One S3 secret carries what the lake's other clients (s3fs, boto3) use: the endpoint and region
from the settings and credentials from boto3's chain — environment, profile, or the role a Glue
job runs as (with its session token). A custom endpoint is spoken to path-style, with TLS only
when the endpoint URL says ``https``.
"""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from lakeglue.jobs.duckdb.types import quote_literal
from lakeglue.settings import Settings

if TYPE_CHECKING:
    import duckdb


class ObjectStoreError(RuntimeError):
    """DuckDB cannot be set up to reach the lake's object store; the message says what is missing."""


def httpfs_extension_path() -> str:
    """The ``httpfs`` extension file shipped by the ``duckdb-extension-httpfs`` wheel."""
    import duckdb

    try:
        import duckdb_extension_httpfs
    except ImportError as exc:
        raise ObjectStoreError(
            f"the lake is on S3 but duckdb-extension-httpfs=={duckdb.__version__} is not installed "
            "(DuckDB needs its httpfs extension for S3 and cannot download it here)") from exc
    folder = os.path.dirname(duckdb_extension_httpfs.__file__)
    found = sorted(glob.glob(os.path.join(folder, "extensions", "*", "httpfs.duckdb_extension")))
    if not found:
        raise ObjectStoreError(f"no httpfs.duckdb_extension file under {folder}/extensions")
    return found[-1]


def s3_secret_sql(settings: Settings, key_id: str, secret: str, token: str | None) -> str:
    """``CREATE SECRET`` for the lake's S3 endpoint (values quoted; never logged)."""
    parts = ["TYPE s3", f"KEY_ID {quote_literal(key_id)}", f"SECRET {quote_literal(secret)}",
             f"REGION {quote_literal(settings.aws_region)}"]
    if token:
        parts.append(f"SESSION_TOKEN {quote_literal(token)}")
    if settings.aws_endpoint_url:
        endpoint = urlparse(settings.aws_endpoint_url)
        if not endpoint.netloc:
            raise ObjectStoreError(f"aws_endpoint_url={settings.aws_endpoint_url!r} is not a URL "
                                   "(expected e.g. http://minio:9000)")
        # DuckDB wants the host without a scheme; custom endpoints (MinIO, moto) serve path-style URLs
        parts += [f"ENDPOINT {quote_literal(endpoint.netloc)}", "URL_STYLE 'path'",
                  f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}"]
    return f"CREATE OR REPLACE SECRET lakeglue_s3 ({', '.join(parts)})"


def configure_s3(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Load httpfs and give the connection credentials for the lake's bucket."""
    import boto3

    con.execute(f"LOAD {quote_literal(httpfs_extension_path())}")
    credentials = boto3.Session(region_name=settings.aws_region).get_credentials()
    if credentials is None:
        raise ObjectStoreError("the lake is on S3 but no AWS credentials were found (environment, "
                               "shared config or instance/Glue role) for the DuckDB job")
    frozen = credentials.get_frozen_credentials()
    con.execute(s3_secret_sql(settings, frozen.access_key, frozen.secret_key, frozen.token))


def is_object_store(settings: Settings) -> bool:
    return settings.lake_root.startswith(("s3://", "s3a://"))
