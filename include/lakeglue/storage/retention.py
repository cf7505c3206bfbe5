"""Retention: remove superseded table versions and old query results, never what a reader still needs.

Every commit writes a fresh ``curated/<layer>/<table>/v-<token>`` (silver, gold, CTAS) or
``a-<token>`` (a bronze batch attempt, an INSERT INTO) directory and swaps the catalog to it,
so old data piles up until something removes it. This module is that something (run daily by
the ``lakeglue_maintenance`` DAG and by ``lakeglue lifecycle expire``). A version directory is
removed when all of these hold:

* no current catalog entry points into it (a table location or a partition location, of any
  table in any database) — the current version is never removed, whatever its age;
* no active pin points into it (:mod:`lakeglue.catalog.pins`: a job or query reading it);
* it stopped being current more than ``retention_days`` ago: its age counts from the later
  of its newest file and the time the catalog archived the version that pointed at it.

The catalog's archived versions whose data was removed are deleted too, so no version entry
points at deleted data. Query results (``results/queries/<id>/``, which are also the query
history) expire after ``results_retention_days``, staging leftovers after ``staging_ttl_days``,
and pins past their expiry (left by crashed readers) are dropped.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakeglue.catalog.base import data_locations
from lakeglue.storage.lifecycle import ExpiredItem, expire_staging, newest_mtime
from lakeglue.storage.zones import Lake

if TYPE_CHECKING:
    from lakeglue.catalog.base import Catalog
    from lakeglue.catalog.pins import Pin
    from lakeglue.settings import Settings

log = logging.getLogger(__name__)

#: Prefixes of the directories a commit creates (jobs/commit.py); nothing else in curated/ is touched.
VERSION_PREFIXES = ("v-", "a-")
DAY = 86400.0


@dataclass(frozen=True)
class VersionRow:
    """An archived catalog version removed because its data was."""

    database: str
    name: str
    version: int
    location: str


@dataclass
class RetentionReport:
    """What one expiry run removed (or, in a dry run, would remove) and what it kept because of pins."""

    versions: list[ExpiredItem] = field(default_factory=list)
    version_rows: list[VersionRow] = field(default_factory=list)
    results: list[ExpiredItem] = field(default_factory=list)
    staging: list[ExpiredItem] = field(default_factory=list)
    kept_pinned: list[str] = field(default_factory=list)
    pins_purged: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        """One line per removed item, then a summary line; for task logs and the CLI."""
        verb = "would remove" if self.dry_run else "removed"
        out = [f"{verb} table version {i.path} ({i.age_days} days superseded)" for i in self.versions]
        out += [f"{verb} catalog version {r.database}.{r.name} v{r.version} ({r.location})" for r in self.version_rows]
        out += [f"{verb} query result {i.path} ({i.age_days} days old)" for i in self.results]
        out += [f"{verb} staging leftover {i.path} ({i.age_days} days old)" for i in self.staging]
        out += [f"kept pinned version {p}" for p in self.kept_pinned]
        out.append(self.summary())
        return out

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"retention: {verb} {len(self.versions)} table versions, {len(self.version_rows)} catalog versions, "
                f"{len(self.results)} query results, {len(self.staging)} staging leftovers; kept "
                f"{len(self.kept_pinned)} pinned versions; dropped {self.pins_purged} expired pins")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe counts and paths (the maintenance task's XCom)."""
        return {"versions": [i.path for i in self.versions],
                "version_rows": [f"{r.database}.{r.name}@{r.version}" for r in self.version_rows],
                "results": [i.path for i in self.results], "staging": [i.path for i in self.staging],
                "kept_pinned": list(self.kept_pinned), "pins_purged": self.pins_purged, "dry_run": self.dry_run}


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + "/")


def _norm(lake: Lake, location: str) -> str:
    return lake.fs_path(location).rstrip("/")


def expire_table_versions(lake: Lake, catalog: Catalog, pins: Iterable[Pin] = (), older_than_days: float = 7,
                          now: float | None = None, dry_run: bool = False,
                          report: RetentionReport | None = None) -> RetentionReport:
    """Remove superseded version directories of every curated table, and their catalog versions."""
    report = report or RetentionReport(dry_run=dry_run)
    now = time.time() if now is None else now
    live: set[str] = set()
    superseded_at: dict[str, float] = {}  # version location → when the catalog archived it
    archived: list[tuple[str, str, int, str]] = []
    for database in catalog.list_databases():
        for table in catalog.list_tables(database.name):
            live.update(_norm(lake, loc) for loc in [table.location, *data_locations(catalog, database.name,
                                                                                      table.name)] if loc)
            for version in catalog.get_table_versions(database.name, table.name):
                if version.version == table.version or not version.table.location:
                    continue
                where = _norm(lake, version.table.location)
                archived.append((database.name, table.name, version.version, where))
                if version.archived_at is not None:
                    superseded_at[where] = max(superseded_at.get(where, 0.0), version.archived_at.timestamp())
    pinned = {_norm(lake, loc): f"{p.database}.{p.name} v{p.version} (run {p.run_id})"
              for p in pins for loc in p.locations}

    removed: list[str] = []
    for directory in _version_dirs(lake):
        if any(_inside(loc, directory) for loc in live):
            continue
        holder = next((who for loc, who in pinned.items() if _inside(loc, directory)), None)
        if holder is not None:
            report.kept_pinned.append(f"{directory} for {holder}")
            continue
        since = max([newest_mtime(lake, directory)] + [t for loc, t in superseded_at.items()
                                                       if _inside(loc, directory)])
        age = (now - since) / DAY
        if age < older_than_days:
            continue
        if not dry_run:
            lake.fs.rm(directory, recursive=True)
        removed.append(directory)
        report.versions.append(ExpiredItem(directory, round(age, 3)))

    gone = [VersionRow(db, name, number, lake.uri(where)) for db, name, number, where in archived
            if any(_inside(where, d) for d in removed)]
    report.version_rows.extend(gone)
    if not dry_run:
        by_table: dict[tuple[str, str], list[int]] = {}
        for row in gone:
            by_table.setdefault((row.database, row.name), []).append(row.version)
        for (db, name), numbers in by_table.items():
            delete_table_versions(catalog, db, name, numbers)
    return report


def _version_dirs(lake: Lake) -> list[str]:
    """``curated/<layer>/<table>/{v,a}-<token>`` directories, sorted."""
    found: list[str] = []
    curated = lake.path("curated")
    if not lake.fs.exists(curated):
        return found
    for layer in lake.fs.ls(curated, detail=True):
        if layer.get("type") != "directory":
            continue
        for table in lake.fs.ls(layer["name"], detail=True):
            if table.get("type") != "directory":
                continue
            for child in lake.fs.ls(table["name"], detail=True):
                name = str(child["name"]).rstrip("/")
                if child.get("type") == "directory" and posixpath.basename(name).startswith(VERSION_PREFIXES):
                    found.append(name)
    return sorted(found)


def delete_table_versions(catalog: Catalog, database: str, name: str, versions: Iterable[int]) -> int:
    """Delete archived versions of a table from the catalog (never the current one).

    Not part of the :class:`Catalog` protocol (only retention deletes history), so it speaks to
    each backend directly: the SQL catalog's version table, Glue's DeleteTableVersion, the Hive
    Metastore backend's own archive.
    """
    wanted = sorted(set(versions) - {catalog.get_table(database, name).version})
    if not wanted:
        return 0
    own_archive = getattr(catalog, "delete_table_versions", None)
    if own_archive is not None:  # a backend that keeps its archive beside the catalog (the Hive Metastore's)
        return int(own_archive(database, name, wanted))
    from lakeglue.catalog.sql import SqlCatalog, table_versions_t

    if isinstance(catalog, SqlCatalog):
        with catalog.engine.begin() as conn:
            return int(conn.execute(table_versions_t.delete().where(
                table_versions_t.c.database == database, table_versions_t.c.name == name,
                table_versions_t.c.version.in_(wanted))).rowcount or 0)
    client = getattr(catalog, "client", None)
    if client is None:
        raise TypeError(f"cannot delete table versions from a {type(catalog).__name__} catalog")
    ids = dict(getattr(catalog, "_ids", {}))
    for number in wanted:  # DeleteTableVersion: moto (the tests' Glue) has no BatchDeleteTableVersion
        client.delete_table_version(**ids, DatabaseName=database, TableName=name, VersionId=str(number))
    return len(wanted)


def expire_query_results(lake: Lake, older_than_days: float, now: float | None = None,
                         dry_run: bool = False) -> list[ExpiredItem]:
    """Remove ``results/queries/<id>/`` directories (rows, metadata, history entry) older than the TTL."""
    now = time.time() if now is None else now
    root = lake.path("results", "queries")
    if not lake.fs.exists(root):
        return []
    expired: list[ExpiredItem] = []
    for entry in lake.fs.ls(root, detail=True):
        if entry.get("type") != "directory":
            continue
        path = str(entry["name"]).rstrip("/")
        age = (now - newest_mtime(lake, path)) / DAY
        if age >= older_than_days:
            expired.append(ExpiredItem(path, round(age, 3)))
    if not dry_run:
        for item in expired:
            lake.fs.rm(item.path, recursive=True)
    return expired


def run_retention(settings: Settings | None = None, lake: Lake | None = None, catalog: Catalog | None = None,
                  now: float | None = None, dry_run: bool = False, retention_days: float | None = None,
                  results_retention_days: float | None = None) -> RetentionReport:
    """The whole maintenance pass: table versions, query results, staging leftovers, lapsed pins."""
    from datetime import UTC, datetime

    from lakeglue.catalog import open_catalog
    from lakeglue.catalog.pins import VersionPins
    from lakeglue.settings import get_settings

    settings = settings or (lake.settings if lake is not None else get_settings())
    lake = lake or Lake(settings)
    catalog = catalog or open_catalog(settings)
    now = time.time() if now is None else now
    report = RetentionReport(dry_run=dry_run)
    pins: list[Pin] = []
    if settings.catalog_url:
        pin_db = VersionPins(settings.catalog_url)
        moment = datetime.fromtimestamp(now, UTC)
        if not dry_run:
            report.pins_purged = pin_db.purge_expired(moment)
        pins = pin_db.active(moment)
    days = settings.retention_days if retention_days is None else retention_days
    expire_table_versions(lake, catalog, pins, days, now, dry_run, report)
    results_days = settings.results_retention_days if results_retention_days is None else results_retention_days
    report.results = expire_query_results(lake, results_days, now, dry_run)
    report.staging = expire_staging(lake, now=now, dry_run=dry_run)
    for line in report.lines():
        log.info("%s", line)
    return report
