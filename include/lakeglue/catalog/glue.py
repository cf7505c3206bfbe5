"""Glue Data Catalog backend (aws profile): the catalog protocol over boto3's ``glue`` client.

Glue keeps table versions itself (every UpdateTable archives the previous definition), so
versions come from GetTableVersions. What Glue does not give us, or what a Glue-compatible
server (moto, used by the tests) leaves out, is made up for here:

* **Optimistic concurrency.** Real Glue refuses an UpdateTable whose ``VersionId`` is not
  current (``ConcurrentModificationException``). moto accepts any VersionId. So every
  update (1) re-reads the table and refuses if its version is not the one the caller read,
  (2) passes ``VersionId`` so real Glue closes the race window server-side, and (3) checks
  afterwards that its definition became exactly version ``expected + 1``; if another
  writer got in between steps 1 and 2 on a server that ignores VersionId, the update is
  reported as a :class:`ConcurrentModification` instead of passing silently. Writers in one
  process are also serialised per table, so on moto the window exists only between
  processes (and there step 3 turns it into an error for the later writer; the earlier
  writer's change is then overwritten — only a server that enforces VersionId prevents that).
* **Search.** SearchTables is used when the server has it (moto does not: it answers HTTP
  500 "not implemented"); otherwise every database's tables are listed. Either way the
  results are filtered here with the same rule as every backend
  (:func:`~lakeglue.catalog.common.matches_search`), because Glue's own text search is
  token-based and would answer differently from SQL.
* **All-or-nothing batches.** Glue's batch partition calls report per-item errors and apply
  the rest. Creates and updates check existence first and fail the whole batch before
  writing; a create that still collides (a concurrent writer) rolls back what it created.
* **Pagination** follows ``NextToken`` everywhere (boto3 paginators where they exist).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from lakeglue.catalog.base import AlreadyExists, CatalogError, ConcurrentModification, EntityNotFound
from lakeglue.catalog.common import CatalogOps, check_partition_arity, matches_search, sort_tables
from lakeglue.catalog.diff import diff_tables
from lakeglue.catalog.glue_mapping import (
    database_from_glue,
    database_to_input,
    partition_from_glue,
    partition_to_input,
    table_from_glue,
    table_to_input,
)
from lakeglue.catalog.model import Database, Partition, Table, TableVersion

# Glue API limits per call.
BATCH_CREATE_PARTITIONS = 100
BATCH_UPDATE_PARTITIONS = 100
BATCH_DELETE_PARTITIONS = 25
BATCH_GET_PARTITIONS = 1000
#: Rounds of BatchGetPartition for keys Glue returned as unprocessed (throttling) before giving up.
UNPROCESSED_ROUNDS = 5

_LOCKS_GUARD = threading.Lock()
_TABLE_LOCKS: dict[tuple[str, ...], threading.Lock] = {}
#: Per endpoint: does the server implement SearchTables? Probed once per process.
_SEARCH_SUPPORTED: dict[str, bool] = {}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def follow_next_token(call: Callable[..., Mapping[str, Any]], result_key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of a paged Glue list call, for operations boto3 has no paginator for."""
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(result_key) or []
        token = page.get("NextToken")
        if not token:
            return


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _not_implemented(exc: Exception) -> bool:
    """moto answers an action it lacks with HTTP 500 and an HTML body (so the code is just "500")."""
    return _error_code(exc) in {"500", "501", "NotImplemented", "NotImplementedException",
                                "UnknownOperationException", "InvalidAction"}


def _translate(exc: Exception, what: str, not_found: str | None = None, exists: str | None = None,
               conflict: str | None = None) -> CatalogError:
    code = _error_code(exc)
    if code == "EntityNotFoundException" and not_found:
        return EntityNotFound(not_found)
    if code == "AlreadyExistsException" and exists:
        return AlreadyExists(exists)
    if code == "ConcurrentModificationException" and conflict:
        return ConcurrentModification(conflict)
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
    return CatalogError(f"{what}: Glue answered {code}" + (f": {message}" if message else ""))


class GlueCatalog(CatalogOps):
    """The :class:`~lakeglue.catalog.base.Catalog` protocol on the Glue Data Catalog API."""

    def __init__(self, endpoint_url: str | None = None, region: str = "us-east-1",
                 catalog_id: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session()  # one per catalog: sessions are not thread-safe, clients are
        self.endpoint_url = endpoint_url
        self.region = region
        self.client = session.client("glue", endpoint_url=endpoint_url, region_name=region,
                                     config=Config(retries={"mode": "standard", "total_max_attempts": 5}))
        # Probing SearchTables must not sit through retries of a 500 that only means "not implemented".
        self._probe_client = session.client("glue", endpoint_url=endpoint_url, region_name=region,
                                            config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        self._ids: dict[str, str] = {"CatalogId": catalog_id} if catalog_id else {}
        self._where = f"{endpoint_url or 'aws'}|{region}|{catalog_id or ''}"

    # -- helpers ---------------------------------------------------------------------------
    @contextmanager
    def _call(self, what: str, not_found: str | None = None, exists: str | None = None,
              conflict: str | None = None) -> Iterator[None]:
        """Translate Glue's errors into the catalog's, naming the object involved."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            raise _translate(exc, what, not_found, exists, conflict) from exc
        except BotoCoreError as exc:
            raise CatalogError(f"{what}: {exc}") from exc

    def _table_lock(self, database: str, name: str) -> threading.Lock:
        key = (self._where, database, name)
        with _LOCKS_GUARD:
            return _TABLE_LOCKS.setdefault(key, threading.Lock())

    def _paginate(self, operation: str, result_key: str, **kwargs: Any) -> Iterator[Any]:
        for page in self.client.get_paginator(operation).paginate(**self._ids, **kwargs):
            yield from page.get(result_key) or []

    # -- databases -------------------------------------------------------------------------
    def create_database(self, database: Database) -> Database:
        with self._call(f"create database {database.name!r}",
                        exists=f"database {database.name!r} already exists"):
            self.client.create_database(**self._ids, DatabaseInput=database_to_input(database))
        return self.get_database(database.name)

    def get_database(self, name: str) -> Database:
        with self._call(f"get database {name!r}", not_found=f"database {name!r} not found"):
            return database_from_glue(self.client.get_database(**self._ids, Name=name)["Database"])

    def list_databases(self) -> list[Database]:
        with self._call("list databases"):
            found = [database_from_glue(d) for d in self._paginate("get_databases", "DatabaseList")]
        return sorted(found, key=lambda d: d.name)

    def delete_database(self, name: str) -> None:
        """Glue drops the database's tables, versions and partitions with it."""
        with self._call(f"delete database {name!r}", not_found=f"database {name!r} not found"):
            self.client.delete_database(**self._ids, Name=name)

    # -- tables ----------------------------------------------------------------------------
    def create_table(self, table: Table) -> Table:
        with self._table_lock(table.database, table.name):
            with self._call(f"create table {table.qualified_name}",
                            not_found=f"database {table.database!r} not found",
                            exists=f"table {table.qualified_name} already exists"):
                self.client.create_table(**self._ids, DatabaseName=table.database, TableInput=table_to_input(table))
            return self.get_table(table.database, table.name)

    def _raw_table(self, database: str, name: str) -> dict[str, Any]:
        with self._call(f"get table {database}.{name}", not_found=f"table {database}.{name} not found"):
            return dict(self.client.get_table(**self._ids, DatabaseName=database, Name=name)["Table"])

    def get_table(self, database: str, name: str) -> Table:
        return table_from_glue(self._raw_table(database, name))

    def table_exists(self, database: str, name: str) -> bool:
        try:
            self._raw_table(database, name)
        except EntityNotFound:
            return False
        return True

    def list_tables(self, database: str) -> list[Table]:
        try:
            with self._call(f"list tables of {database!r}", not_found=f"database {database!r} not found"):
                return sort_tables(table_from_glue(t)
                                   for t in self._paginate("get_tables", "TableList", DatabaseName=database))
        except EntityNotFound:
            return []

    def update_table(self, table: Table, expected_version: int | None = None) -> Table:
        """Replace a table's definition; Glue archives the previous one as a version.

        ``expected_version`` defaults to ``table.version`` (the version the caller read); the
        three-step check in the module docstring raises :class:`ConcurrentModification` when
        another writer committed since.
        """
        expected = table.version if expected_version is None else expected_version
        with self._table_lock(table.database, table.name):
            current = self._raw_table(table.database, table.name)
            current_version = int(current.get("VersionId") or 0)
            if current_version != expected:
                raise ConcurrentModification(
                    f"table {table.qualified_name} is at version {current_version}, the update was based on "
                    f"version {expected}; re-read the table and apply the change again")
            conflict = (f"table {table.qualified_name} changed on the server after version {expected} was read "
                        f"(Glue refused the update); re-read the table and apply the change again")
            with self._call(f"update table {table.qualified_name}", not_found=f"table {table.qualified_name} not found",
                            conflict=conflict):
                self.client.update_table(**self._ids, DatabaseName=table.database, TableInput=table_to_input(table),
                                         **({"VersionId": str(current["VersionId"])} if "VersionId" in current else {}))
            return self._confirm_update(table, expected)

    def _confirm_update(self, table: Table, expected: int) -> Table:
        """Step 3: our definition must be version ``expected + 1``, or someone wrote in between."""
        mine = expected + 1
        try:
            with self._call(f"read version {mine} of {table.qualified_name}",
                            not_found=f"table {table.qualified_name} has no version {mine}"):
                stored = self.client.get_table_version(**self._ids, DatabaseName=table.database,
                                                       TableName=table.name, VersionId=str(mine))["TableVersion"]
            written = table_from_glue(stored["Table"], stored.get("VersionId"))
        except EntityNotFound:
            written = None
        if written is None or not diff_tables(written, table).is_empty:
            raise ConcurrentModification(
                f"table {table.qualified_name}: another writer updated it after version {expected} was read and "
                f"before this update landed (the catalog server did not enforce VersionId); this update was "
                f"applied on top of theirs: re-read the table and apply the change again")
        return written

    def delete_table(self, database: str, name: str) -> None:
        """Glue drops the table's versions and partitions with it."""
        with self._call(f"delete table {database}.{name}", not_found=f"table {database}.{name} not found"):
            self.client.delete_table(**self._ids, DatabaseName=database, Name=name)

    def search_tables(self, text: str | None = None, parameters: Mapping[str, str | None] | None = None,
                      database: str | None = None) -> list[Table]:
        """Tables whose name contains ``text`` (any case) and that carry every given parameter
        (``None`` as value: the key only needs to be present), in database/name order."""
        candidates = self._search_candidates(database)
        return sort_tables(t for t in candidates
                           if (database is None or t.database == database) and matches_search(t, text, parameters))

    def _search_candidates(self, database: str | None) -> list[Table]:
        if database is not None:
            return self.list_tables(database)
        if _SEARCH_SUPPORTED.get(self._where, True):
            from botocore.exceptions import ClientError

            try:
                first = self._probe_client if self._where not in _SEARCH_SUPPORTED else self.client
                found = [table_from_glue(t) for t in follow_next_token(
                    first.search_tables, "TableList", **self._ids, ResourceShareType="ALL")]
                _SEARCH_SUPPORTED[self._where] = True
                return found
            except ClientError as exc:
                if not _not_implemented(exc):
                    raise _translate(exc, "search tables") from exc
                _SEARCH_SUPPORTED[self._where] = False
        return [t for db in self.list_databases() for t in self.list_tables(db.name)]

    # -- versions --------------------------------------------------------------------------
    def get_table_versions(self, database: str, name: str) -> list[TableVersion]:
        """All versions, oldest first, the current one last.

        Glue keeps no archive time; a version was archived when the next one was written, so
        that version's update time is used (moto reports one update time for every version).
        """
        with self._call(f"list versions of {database}.{name}", not_found=f"table {database}.{name} not found"):
            raw = list(self._paginate("get_table_versions", "TableVersions", DatabaseName=database, TableName=name))
        tables = sorted((table_from_glue(v["Table"], v.get("VersionId")) for v in raw), key=lambda t: t.version)
        return [TableVersion(t.version, t, tables[i + 1].update_time if i + 1 < len(tables) else None)
                for i, t in enumerate(tables)]

    # -- partitions ------------------------------------------------------------------------
    def _check_partitions(self, partitions: Sequence[Partition]) -> dict[tuple[str, str], list[Partition]]:
        groups: dict[tuple[str, str], list[Partition]] = {}
        for p in partitions:
            groups.setdefault((p.database, p.table), []).append(p)
        counts = {key: len(self.get_table(*key).partition_keys) for key in groups}
        check_partition_arity(partitions, counts)
        return groups

    def _existing_values(self, database: str, table: str, values: Sequence[Sequence[str]]) -> set[tuple[str, ...]]:
        found: set[tuple[str, ...]] = set()
        for chunk in _chunks([{"Values": list(v)} for v in values], BATCH_GET_PARTITIONS):
            pending = list(chunk)
            for _ in range(UNPROCESSED_ROUNDS):
                with self._call(f"read partitions of {database}.{table}",
                                not_found=f"table {database}.{table} not found"):
                    answer = self.client.batch_get_partition(**self._ids, DatabaseName=database, TableName=table,
                                                             PartitionsToGet=pending)
                found.update(tuple(p["Values"]) for p in answer.get("Partitions") or [])
                pending = answer.get("UnprocessedKeys") or []
                if not pending:
                    break
            else:
                raise CatalogError(f"read partitions of {database}.{table}: Glue left {len(pending)} keys "
                                   f"unprocessed after {UNPROCESSED_ROUNDS} rounds")
        return found

    def batch_create_partitions(self, partitions: Sequence[Partition]) -> int:
        """Create all partitions or none: one that already exists fails the whole batch."""
        if not partitions:
            return 0
        groups = self._check_partitions(partitions)
        for (database, table), group in groups.items():
            existing = self._existing_values(database, table, [p.values for p in group])
            for p in group:
                if tuple(p.values) in existing:
                    raise AlreadyExists(f"partition {list(p.values)} of {database}.{table} already exists")
        for (database, table), group in groups.items():
            self._create_group(database, table, group)
        return len(partitions)

    def _create_group(self, database: str, table: str, group: Sequence[Partition]) -> None:
        created: list[tuple[str, ...]] = []
        for chunk in _chunks(group, BATCH_CREATE_PARTITIONS):
            with self._call(f"create partitions of {database}.{table}",
                            not_found=f"table {database}.{table} not found"):
                answer = self.client.batch_create_partition(
                    **self._ids, DatabaseName=database, TableName=table,
                    PartitionInputList=[partition_to_input(p) for p in chunk])
            failed = {tuple(e["PartitionValues"]): e["ErrorDetail"] for e in answer.get("Errors") or []}
            created += [tuple(p.values) for p in chunk if tuple(p.values) not in failed]
            if failed:  # a concurrent writer created some in between: undo ours, keep the batch all-or-nothing
                self.batch_delete_partitions(database, table, created)
                values, detail = next(iter(failed.items()))
                if detail.get("ErrorCode") == "AlreadyExistsException":
                    raise AlreadyExists(f"partition {list(values)} of {database}.{table} already exists")
                raise CatalogError(f"create partition {list(values)} of {database}.{table}: Glue answered "
                                   f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")

    def batch_update_partitions(self, partitions: Sequence[Partition]) -> int:
        """Replace existing partitions, all or none: a missing one fails the whole batch."""
        if not partitions:
            return 0
        groups = self._check_partitions(partitions)
        for (database, table), group in groups.items():
            existing = self._existing_values(database, table, [p.values for p in group])
            for p in group:
                if tuple(p.values) not in existing:
                    raise EntityNotFound(f"partition {list(p.values)} of {database}.{table} not found")
        for (database, table), group in groups.items():
            self._update_group(database, table, group)
        return len(partitions)

    def _update_group(self, database: str, table: str, group: Sequence[Partition]) -> None:
        for chunk in _chunks(group, BATCH_UPDATE_PARTITIONS):
            with self._call(f"update partitions of {database}.{table}",
                            not_found=f"table {database}.{table} not found"):
                answer = self.client.batch_update_partition(
                    **self._ids, DatabaseName=database, TableName=table,
                    Entries=[{"PartitionValueList": list(p.values), "PartitionInput": partition_to_input(p)}
                             for p in chunk])
            for error in answer.get("Errors") or []:
                detail = error.get("ErrorDetail", {})
                values = list(error.get("PartitionValueList") or [])
                if detail.get("ErrorCode") == "EntityNotFoundException":
                    raise EntityNotFound(f"partition {values} of {database}.{table} not found "
                                         f"(deleted by another writer during the update)")
                raise CatalogError(f"update partition {values} of {database}.{table}: Glue answered "
                                   f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")

    def batch_upsert_partitions(self, partitions: Sequence[Partition]) -> int:
        if not partitions:
            return 0
        for (database, table), group in self._check_partitions(partitions).items():
            existing = self._existing_values(database, table, [p.values for p in group])
            self._update_group(database, table, [p for p in group if tuple(p.values) in existing])
            self._create_group(database, table, [p for p in group if tuple(p.values) not in existing])
        return len(partitions)

    def replace_partitions(self, database: str, table: str, partitions: Sequence[Partition]) -> None:
        """Make the table's partition set exactly ``partitions``.

        Glue has no multi-call transaction: new and changed partitions are written first and
        stale ones deleted last, so a reader in between sees extra partitions, never missing ones.
        """
        self._check_partitions(partitions)
        wanted = {tuple(p.values) for p in partitions}
        stale = [p.values for p in self.get_partitions(database, table) if p.values not in wanted]
        self.batch_upsert_partitions(partitions)
        self.batch_delete_partitions(database, table, stale)

    def get_partition(self, database: str, table: str, values: Sequence[str]) -> Partition:
        with self._call(f"get partition {list(values)} of {database}.{table}",
                        not_found=f"partition {list(values)} of {database}.{table} not found"):
            answer = self.client.get_partition(**self._ids, DatabaseName=database, TableName=table,
                                               PartitionValues=list(values))
        return partition_from_glue(answer["Partition"])

    def get_partitions(self, database: str, table: str) -> list[Partition]:
        try:
            with self._call(f"list partitions of {database}.{table}", not_found=f"table {database}.{table} not found"):
                found = [partition_from_glue(p) for p in self._paginate(
                    "get_partitions", "Partitions", DatabaseName=database, TableName=table)]
        except EntityNotFound:
            return []
        return sorted(found, key=lambda p: p.values)

    def batch_delete_partitions(self, database: str, table: str, values: Sequence[tuple[str, ...]]) -> int:
        deleted = 0
        for chunk in _chunks([{"Values": list(v)} for v in values], BATCH_DELETE_PARTITIONS):
            try:
                with self._call(f"delete partitions of {database}.{table}",
                                not_found=f"table {database}.{table} not found"):
                    answer = self.client.batch_delete_partition(**self._ids, DatabaseName=database,
                                                                TableName=table, PartitionsToDelete=list(chunk))
            except EntityNotFound:  # the table itself is gone: nothing of it is left to delete
                return deleted
            errors = answer.get("Errors") or []
            for error in errors:
                detail = error.get("ErrorDetail", {})
                if detail.get("ErrorCode") != "EntityNotFoundException":
                    raise CatalogError(f"delete partition {error.get('PartitionValues')} of {database}.{table}: "
                                       f"Glue answered {detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")
            deleted += len(chunk) - len(errors)
        return deleted
