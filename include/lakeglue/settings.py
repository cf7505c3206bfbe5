"""One place that decides where the lake lives and which deployment profile is active.

Every other module asks :func:`get_settings` instead of reading the environment, so a
profile switch (embedded → compose → aws) is one setting, never a code edit.

Resolution order, later wins: built-in defaults → ``lakeglue.yaml`` (path in
``LAKEGLUE_CONFIG``, else ``<project>/lakeglue.yaml`` if present) → ``LAKEGLUE_*`` env vars.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

PROFILES = ("embedded", "compose", "aws")
ZONES = ("raw", "staging", "curated", "results", "quarantine")

#: The repository root (``include/lakeglue/settings.py`` → three levels up). When the engine runs from a
#: shipped zip (spark-submit --py-files), that path is inside the zip, so the submitter sets
#: ``LAKEGLUE_PROJECT_ROOT`` to where the specs, SQL and suites are.
PROJECT_ROOT = Path(os.environ.get("LAKEGLUE_PROJECT_ROOT") or Path(__file__).resolve().parents[2])
INCLUDE_DIR = PROJECT_ROOT / "include"
PIPELINES_DIR = INCLUDE_DIR / "pipelines"
QUALITY_DIR = INCLUDE_DIR / "quality"
SQL_DIR = INCLUDE_DIR / "sql"

#: Debian's ``libpostgresql-jdbc-java`` puts the driver here.
POSTGRES_JDBC_JAR = "/usr/share/java/postgresql.jar"


class SettingsError(ValueError):
    """A setting has a value lakeglue cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; immutable so that it can be cached and shared."""

    profile: str = "embedded"
    #: Root of the lake for the embedded profile (a local directory), or an ``s3://bucket`` URL.
    lake_root: str = str(PROJECT_ROOT / "lake")
    #: SQLAlchemy URL of the catalog database; default is a SQLite file inside the lake. With the Glue
    #: or Hive Metastore catalog it is lakeglue's own SQL bookkeeping (ledger, locks, pins, quality
    #: history, and for the metastore its table versions). ``LAKEGLUE_CATALOG_URL=thrift://host:port``
    #: selects the Hive Metastore: that URL goes to ``metastore_uri`` and this one becomes ``state_url``
    #: (or the SQLite file inside the lake when that is empty).
    catalog_url: str = ""
    #: ``thrift://host:port`` of the Hive Metastore that holds the catalog; empty: SQL or Glue backend.
    metastore_uri: str = ""
    #: SQLAlchemy URL of lakeglue's bookkeeping when the catalog is a Hive Metastore (``LAKEGLUE_STATE_URL``).
    state_url: str = ""
    #: Catalog database name used by pipelines unless their spec says otherwise.
    default_database: str = "lakeglue"
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 4
    #: Postgres DSN of the optional "RDS" source used by the sample data.
    source_postgres_dsn: str = ""
    #: Days after which staging data (uncommitted writes, superseded table versions) expires.
    staging_ttl_days: int = 7
    aws_endpoint_url: str = ""
    aws_region: str = "us-east-1"
    #: IAM role Glue jobs run as (aws profile).
    aws_glue_role_arn: str = ""
    #: Airflow connection id the Amazon provider's operators use (aws profile).
    aws_conn_id: str = "aws_default"
    #: Jobs whose engine is ``auto`` run on DuckDB when their input is smaller than this many bytes,
    #: else on Spark (1 GiB: comfortably single-node even on a laptop, since DuckDB spills to disk).
    engine_auto_threshold_bytes: int = 1 << 30
    #: DuckDB job memory cap (DuckDB syntax, e.g. ``2GB``); beyond it DuckDB spills to the temp directory.
    duckdb_memory_limit: str = "2GB"
    #: Where DuckDB jobs spill larger-than-memory work; empty = ``<system temp>/lakeglue-duckdb``.
    duckdb_temp_directory: str = ""
    #: Longest record (a JSON/CSV line, in bytes) bronze accepts; a longer one is quarantined with its size.
    max_record_bytes: int = 8 << 20
    #: Days a superseded table version (``v-``/``a-`` directory and its catalog version entry) stays
    #: readable after it stopped being current; the maintenance DAG removes it afterwards, unless a
    #: running reader pinned it. The current version is never removed, whatever its age.
    retention_days: int = 7
    #: Days query results (``results/queries/<id>/``: rows, metadata, history entry) are kept.
    results_retention_days: int = 30
    #: Hours a version pin protects a version if its run never releases it (a crashed task).
    pin_ttl_hours: int = 24
    #: Memory cap of the query engine's DuckDB (DuckDB syntax); empty = ``duckdb_memory_limit``.
    query_memory_limit: str = ""
    #: Rows of a query result kept in memory and in XCom; the whole result goes to the results zone.
    query_preview_rows: int = 1000
    #: Worker memory the pandas quality gate may use for one table (estimated from Parquet footers as
    #: 4x the uncompressed size, see lakeglue.quality.budget); larger tables are validated on Spark.
    quality_memory_budget_bytes: int = 1 << 30
    #: A running job logs where it is (table, files, rows, step) every this many seconds; 0 turns it off.
    progress_seconds: int = 30
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise SettingsError(
                f"LAKEGLUE_PROFILE={self.profile!r} is not a profile; choose one of {', '.join(PROFILES)}"
            )
        if self.catalog_url.startswith("thrift://"):
            object.__setattr__(self, "metastore_uri", self.catalog_url)
            object.__setattr__(self, "catalog_url", self.state_url)
        if not self.catalog_url:
            object.__setattr__(self, "catalog_url", default_catalog_url(self.lake_root))
        if self.metastore_uri and not self.catalog_url:
            raise SettingsError(
                f"LAKEGLUE_CATALOG_URL={self.metastore_uri} keeps tables in a Hive Metastore, but lakeglue's own "
                "bookkeeping (ingestion ledger, writer locks, table versions) needs a SQL database and this lake "
                f"({self.lake_root}) is not local: set LAKEGLUE_STATE_URL to a SQLAlchemy URL")

    def zone_root(self, zone: str) -> str:
        """Location of a storage zone: ``<lake_root>/<zone>``."""
        if zone not in ZONES:
            raise SettingsError(f"unknown zone {zone!r}; zones are {', '.join(ZONES)}")
        return f"{self.lake_root.rstrip('/')}/{zone}"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def default_catalog_url(lake_root: str) -> str:
    if "://" in lake_root and not lake_root.startswith("file://"):
        return ""  # remote lakes need an explicit catalog
    local = lake_root.removeprefix("file://")
    return f"sqlite:///{Path(local).resolve() / 'catalog.db'}"


_ENV_KEYS: dict[str, str] = {
    "LAKEGLUE_PROFILE": "profile",
    "LAKEGLUE_HOME": "lake_root",
    "LAKEGLUE_CATALOG_URL": "catalog_url",
    "LAKEGLUE_STATE_URL": "state_url",
    "LAKEGLUE_DATABASE": "default_database",
    "LAKEGLUE_SPARK_MASTER": "spark_master",
    "LAKEGLUE_SPARK_SHUFFLE_PARTITIONS": "spark_shuffle_partitions",
    "LAKEGLUE_SOURCE_POSTGRES_DSN": "source_postgres_dsn",
    "LAKEGLUE_STAGING_TTL_DAYS": "staging_ttl_days",
    "LAKEGLUE_AWS_ENDPOINT_URL": "aws_endpoint_url",
    "LAKEGLUE_AWS_REGION": "aws_region",
    "LAKEGLUE_AWS_GLUE_ROLE_ARN": "aws_glue_role_arn",
    "LAKEGLUE_AWS_CONN_ID": "aws_conn_id",
    "LAKEGLUE_ENGINE_AUTO_THRESHOLD_BYTES": "engine_auto_threshold_bytes",
    "LAKEGLUE_DUCKDB_MEMORY_LIMIT": "duckdb_memory_limit",
    "LAKEGLUE_DUCKDB_TEMP_DIRECTORY": "duckdb_temp_directory",
    "LAKEGLUE_MAX_RECORD_BYTES": "max_record_bytes",
    "LAKEGLUE_RETENTION_DAYS": "retention_days",
    "LAKEGLUE_RESULTS_RETENTION_DAYS": "results_retention_days",
    "LAKEGLUE_PIN_TTL_HOURS": "pin_ttl_hours",
    "LAKEGLUE_QUERY_MEMORY_LIMIT": "query_memory_limit",
    "LAKEGLUE_QUERY_PREVIEW_ROWS": "query_preview_rows",
    "LAKEGLUE_QUALITY_MEMORY_BUDGET_BYTES": "quality_memory_budget_bytes",
    "LAKEGLUE_PROGRESS_SECONDS": "progress_seconds",
}


def _config_file_values(env: dict[str, str]) -> dict[str, Any]:
    path = Path(env.get("LAKEGLUE_CONFIG") or PROJECT_ROOT / "lakeglue.yaml")
    if not path.is_file():
        if env.get("LAKEGLUE_CONFIG"):
            raise SettingsError(f"LAKEGLUE_CONFIG points to {path}, which does not exist")
        return {}
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"{path}: unknown settings {unknown}; known: {sorted(known)}")
    return data


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from defaults, the optional config file and the environment."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = _config_file_values(env)
    types = {f.name: f.type for f in fields(Settings)}
    for key, attr in _ENV_KEYS.items():
        if env.get(key):
            raw = env[key]
            if types[attr] in ("int", int):
                try:
                    values[attr] = int(raw)
                except ValueError as exc:
                    raise SettingsError(f"{key}={raw!r} must be an integer") from exc
            else:
                values[attr] = raw
    if "lake_root" in values and "://" not in str(values["lake_root"]):
        values["lake_root"] = str(Path(values["lake_root"]).expanduser().resolve())
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
