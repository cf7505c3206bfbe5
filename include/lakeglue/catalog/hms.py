"""Hive Metastore backend (``LAKEGLUE_CATALOG_URL=thrift://host:9083``): tables Spark and Trino find by themselves.

Databases, tables and partitions live in the metastore as Hive objects — an external table with
its storage descriptor, SerDe and parameters (see :mod:`lakeglue.catalog.hms_mapping`) — so any
engine pointed at the same metastore (Spark's ``enableHiveSupport()``, Trino's hive connector)
reads lakeglue's tables as they are. The client is the Thrift code ``pymetastore`` ships (the
metastore's own IDL); only calls Hive 2.3 already had are used, so it works against the 2.3
metastore in pyspark's jars and against newer ones.

What the metastore has no equivalent for is kept beside it, in lakeglue's SQL bookkeeping
database (``Settings.catalog_url``; the ledger, locks and pins are there too):

* **Versions.** The current definition is the metastore's table; its version number is the
  table parameter ``lakeglue.version``. Each update archives the definition it replaces as a
  row of ``lg_hms_table_versions`` (JSON body, keyed by database, table, the table's create time —
  so a dropped and re-created table never meets the old one's history — and version).
* **Optimistic concurrency.** HMS 2.3 has no conditional ``alter_table`` (Hive 4's expected-
  parameter check is not there) and its lock API needs the ACID tables SchemaTool does not create.
  So the archive row is the compare-and-swap: an update opens a SQL transaction, checks that the
  metastore's ``lakeglue.version`` is the one the caller planned from, inserts the archive row for
  that version (primary key), calls ``alter_table``, and commits. A second writer planning from the
  same version blocks on that insert until the first commits, then fails on the key: a
  :class:`~lakeglue.catalog.base.ConcurrentModification`, nothing written. Writers that bypass
  lakeglue (a Spark ``ALTER TABLE``) are not serialised by this.
* **Search.** The metastore's filter language cannot say "name contains, any case" or "parameter
  present"; tables are listed per database (``get_table_objects_by_name``) and filtered with the
  rule every backend shares (:func:`~lakeglue.catalog.common.matches_search`).

Atomicity the metastore gives: each Thrift call is one metastore transaction — ``alter_table``,
``add_partitions`` (all or none), ``alter_partitions`` and ``drop_partitions_req`` each land whole
— but there is nothing across calls. ``swap_table`` is therefore the generic sequence
(:meth:`lakeglue.catalog.common.CatalogOps.swap_table`): the table version (checked as above),
then the partitions (new and changed first, stale ones dropped last, so a reader in between sees
extra partitions, never missing ones), then the job's bookkeeping. If the process dies after
``alter_table`` succeeded but before the archive row committed, the table is at the new version
and the replaced definition is missing from the history (the table itself stays consistent).

The metastore lowercases database, table and column names (Hive's rule) and creates the
directories of locations that do not exist yet; identifiers lakeglue writes are lowercase
already. It should run with ``hive.metastore.disallow.incompatible.col.type.changes=false``, or
it refuses schema changes lakeglue makes (a column dropped before another, a type widened).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from pymetastore.hive_metastore import ThriftHiveMetastore, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.Thrift import TException
from thrift.transport import TSocket, TTransport

from lakeglue.catalog.base import AlreadyExists, CatalogError, ConcurrentModification, EntityNotFound
from lakeglue.catalog.common import CatalogOps, check_partition_arity, matches_search, sort_tables
from lakeglue.catalog.hms_mapping import (
    database_from_hms,
    database_to_hms,
    partition_from_hms,
    partition_to_hms,
    table_from_hms,
    table_to_hms,
    values_from_partition_name,
)
from lakeglue.catalog.model import Database, Partition, Table, TableVersion, table_from_dict, to_dict
from lakeglue.catalog.sql import engine_for

#: Thrift socket timeout: a metastore that stops answering fails the call instead of hanging a task.
TIMEOUT_S = 120.0
#: A connection idle for longer is replaced before its next call instead of being trusted.
IDLE_RECONNECT_S = 60.0
#: Partitions per add/alter/drop call (the metastore takes any number; this bounds one transaction).
PARTITION_BATCH = 500

versions_metadata = sa.MetaData()
hms_versions_t = sa.Table(
    "lg_hms_table_versions", versions_metadata,
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    #: the table's create time (ISO): a re-created table starts a new history
    sa.Column("incarnation", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
)
_TABLES_READY: set[str] = set()


def parse_thrift_url(url: str) -> tuple[str, int]:
    """``thrift://host:port`` → (host, port); the port defaults to the metastore's 9083."""
    parts = urlsplit(url)
    if parts.scheme != "thrift" or not parts.hostname:
        raise ValueError(f"not a Hive Metastore URL: {url!r} (expected thrift://host:port)")
    return parts.hostname, parts.port or 9083


def _connect(host: str, port: int, timeout_s: float) -> tuple[Any, Any]:
    """(client, transport) over the metastore's default wire format: unframed binary protocol, no SASL."""
    socket = TSocket.TSocket(host, port)
    socket.setTimeout(int(timeout_s * 1000))
    transport = TTransport.TBufferedTransport(socket)
    transport.open()
    return ThriftHiveMetastore.Client(TBinaryProtocol.TBinaryProtocol(transport)), transport


@contextmanager
def thrift_client(host: str, port: int, timeout_s: float = TIMEOUT_S) -> Iterator[Any]:
    """A raw metastore client for one block (tests, tools); the catalog keeps its own per thread."""
    client, transport = _connect(host, port, timeout_s)
    try:
        yield client
    finally:
        transport.close()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _now() -> datetime:
    return datetime.now(UTC)


class HiveMetastoreCatalog(CatalogOps):
    """The :class:`~lakeglue.catalog.base.Catalog` protocol on a Hive Metastore, versions in ``state_url``."""

    def __init__(self, url: str, state_url: str) -> None:
        if not state_url:
            raise ValueError("the Hive Metastore catalog keeps table versions in lakeglue's SQL database: "
                             "set LAKEGLUE_STATE_URL (a SQLAlchemy URL)")
        self.url = url
        self.host, self.port = parse_thrift_url(url)
        self.state_url = state_url
        self.engine = engine_for(state_url)
        if state_url not in _TABLES_READY:
            try:
                versions_metadata.create_all(self.engine)
            except sa.exc.DBAPIError:  # a concurrent process created it first
                versions_metadata.create_all(self.engine)
            _TABLES_READY.add(state_url)
        self._local = threading.local()  # Thrift clients are not thread-safe: one connection per thread

    # -- connection ------------------------------------------------------------------------
    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is not None and time.monotonic() - self._local.used > IDLE_RECONNECT_S:
            self._drop_connection()  # a long-idle socket may have been closed by the server or a proxy
            client = None
        if client is None:
            try:
                client, transport = _connect(self.host, self.port, TIMEOUT_S)
            except TTransport.TTransportException as exc:
                raise CatalogError(f"Hive Metastore at {self.url} is not reachable: {exc}") from exc
            self._local.client, self._local.transport = client, transport
        self._local.used = time.monotonic()
        return client

    def _drop_connection(self) -> None:
        transport = getattr(self._local, "transport", None)
        if transport is not None:
            transport.close()
        self._local.client = self._local.transport = None

    def close(self) -> None:
        self._drop_connection()

    def _call(self, method: str, *args: Any) -> Any:
        """One Thrift call. A broken connection is retried once for reads only: a write whose answer
        was lost may have been applied, and sending it again could apply it twice."""
        attempts = 2 if method.startswith("get_") else 1
        for attempt in range(1, attempts + 1):
            client = self._client()
            try:
                return getattr(client, method)(*args)
            except (TTransport.TTransportException, OSError, EOFError) as exc:
                self._drop_connection()
                if attempt == attempts:
                    raise CatalogError(f"Hive Metastore at {self.url}: {method} failed: {exc}") from exc
        raise AssertionError("unreachable")

    @contextmanager
    def _errors(self, what: str, not_found: str | None = None, exists: str | None = None) -> Iterator[None]:
        """Translate the metastore's exceptions into the catalog's, naming the object involved."""
        try:
            yield
        except ttypes.NoSuchObjectException as exc:
            if not_found:
                raise EntityNotFound(not_found) from exc
            raise CatalogError(f"{what}: {exc.message}") from exc
        except ttypes.AlreadyExistsException as exc:
            if exists:
                raise AlreadyExists(exists) from exc
            raise CatalogError(f"{what}: {exc.message}") from exc
        except TException as exc:
            if isinstance(exc, CatalogError):
                raise
            message = str(getattr(exc, "message", exc))
            hint = (" (lakeglue evolves schemas: run the metastore with "
                    "hive.metastore.disallow.incompatible.col.type.changes=false)") if "incompatible" in message else ""
            raise CatalogError(f"{what}: the Hive Metastore answered {type(exc).__name__}: {message}{hint}") from exc

    # -- databases -------------------------------------------------------------------------
    def create_database(self, database: Database) -> Database:
        stored = Database(database.name, database.description, database.location_uri, dict(database.parameters),
                          database.create_time or _now())
        with self._errors(f"create database {database.name!r}", exists=f"database {database.name!r} already exists"):
            self._call("create_database", database_to_hms(stored))
        return self.get_database(database.name)

    def get_database(self, name: str) -> Database:
        with self._errors(f"get database {name!r}", not_found=f"database {name!r} not found"):
            return database_from_hms(self._call("get_database", name))

    def list_databases(self) -> list[Database]:
        """Every database but Hive's built-in ``default`` (a metastore always has it; lakeglue never uses it)."""
        with self._errors("list databases"):
            names = [n for n in self._call("get_all_databases") if n != "default"]
        found = []
        for name in names:
            try:
                found.append(self.get_database(name))
            except EntityNotFound:  # dropped between the listing and the read
                continue
        return sorted(found, key=lambda d: d.name)

    def delete_database(self, name: str) -> None:
        """Drops the database's tables and partitions with it (never their data), and their versions."""
        try:
            with self._errors(f"delete database {name!r}", not_found=f"database {name!r} not found"):
                self._call("drop_database", name, False, True)
        except CatalogError as exc:  # HMS 2.3 answers a missing database with a NullPointerException
            if not isinstance(exc, EntityNotFound) and not self._database_exists(name):
                raise EntityNotFound(f"database {name!r} not found") from exc
            raise
        with self.engine.begin() as conn:
            conn.execute(hms_versions_t.delete().where(hms_versions_t.c.database == name))

    # -- tables ----------------------------------------------------------------------------
    def _raw_table(self, database: str, name: str) -> Any:
        with self._errors(f"get table {database}.{name}", not_found=f"table {database}.{name} not found"):
            return self._call("get_table", database, name)

    def create_table(self, table: Table) -> Table:
        now = _now()
        stored = table.evolve(version=1, create_time=table.create_time or now, update_time=now)
        thrift = table_to_hms(stored)
        try:
            with self._errors(f"create table {table.qualified_name}",
                              exists=f"table {table.qualified_name} already exists"):
                self._call("create_table", thrift)
        except CatalogError as exc:
            if not isinstance(exc, AlreadyExists) and not self._database_exists(table.database):
                raise EntityNotFound(f"database {table.database!r} not found") from exc
            raise
        return table_from_hms(thrift)

    def _database_exists(self, name: str) -> bool:
        try:
            self.get_database(name)
        except EntityNotFound:
            return False
        return True

    def get_table(self, database: str, name: str) -> Table:
        return table_from_hms(self._raw_table(database, name))

    def table_exists(self, database: str, name: str) -> bool:
        try:
            self._raw_table(database, name)
        except EntityNotFound:
            return False
        return True

    def list_tables(self, database: str) -> list[Table]:
        try:
            with self._errors(f"list tables of {database!r}", not_found=f"database {database!r} not found"):
                names = self._call("get_all_tables", database)
                raw = self._call("get_table_objects_by_name", database, names) if names else []
        except (EntityNotFound, CatalogError):
            if not self._database_exists(database):
                return []
            raise
        return sort_tables(table_from_hms(t) for t in raw)

    def update_table(self, table: Table, expected_version: int | None = None) -> Table:
        """Replace a table's definition, archiving the current one; the module docstring says how
        the version check holds across processes."""
        expected = table.version if expected_version is None else expected_version
        now = _now()
        with self.engine.begin() as conn:
            current = table_from_hms(self._raw_table(table.database, table.name))
            if current.version != expected:
                raise ConcurrentModification(
                    f"table {table.qualified_name} is at version {current.version}, the update was based on "
                    f"version {expected}; re-read the table and apply the change again")
            try:
                conn.execute(hms_versions_t.insert().values(
                    database=table.database, name=table.name, incarnation=_incarnation(current),
                    version=current.version, body=json.dumps(to_dict(current)), archived_at=now))
            except sa.exc.IntegrityError as exc:  # another writer archived this version: it committed first
                raise ConcurrentModification(
                    f"table {table.qualified_name} is at version {current.version + 1}, the update was based on "
                    f"version {expected}; re-read the table and apply the change again") from exc
            stored = table.evolve(version=current.version + 1, create_time=current.create_time, update_time=now)
            thrift = table_to_hms(stored)
            with self._errors(f"update table {table.qualified_name}",
                              not_found=f"table {table.qualified_name} not found"):
                self._call("alter_table", table.database, table.name, thrift)
        return table_from_hms(thrift)

    def swap_table(self, table: Table, partitions: Sequence[Partition], *, expected_version: int | None = None,
                   replace_partitions: bool = True, writes: Sequence[Any] = ()) -> Table:
        """The generic commit (version-checked table, then partitions, then bookkeeping), refusing bad
        partitions before anything is written."""
        check_partition_arity(partitions, {(table.database, table.name): len(table.partition_keys)})
        if any((p.database, p.table) != (table.database, table.name) for p in partitions):
            raise ValueError(f"swap_table({table.qualified_name}) got partitions of another table")
        return super().swap_table(table, partitions, expected_version=expected_version,
                                  replace_partitions=replace_partitions, writes=writes)

    def delete_table(self, database: str, name: str) -> None:
        """Drops the table and its partitions (never their data) and its archived versions."""
        with self._errors(f"delete table {database}.{name}", not_found=f"table {database}.{name} not found"):
            self._call("drop_table", database, name, False)
        with self.engine.begin() as conn:
            conn.execute(hms_versions_t.delete().where(hms_versions_t.c.database == database,
                                                       hms_versions_t.c.name == name))

    def search_tables(self, text: str | None = None, parameters: Mapping[str, str | None] | None = None,
                      database: str | None = None) -> list[Table]:
        """Tables whose name contains ``text`` (any case) and that carry every given parameter
        (``None`` as value: the key only needs to be present), in database/name order."""
        databases = [database] if database is not None else [d.name for d in self.list_databases()]
        return sort_tables(t for db in databases for t in self.list_tables(db)
                           if matches_search(t, text, parameters))

    # -- versions --------------------------------------------------------------------------
    def get_table_versions(self, database: str, name: str) -> list[TableVersion]:
        """All versions, oldest first, the current one (the metastore's table) last."""
        current = self.get_table(database, name)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(hms_versions_t.c.version, hms_versions_t.c.body,
                                          hms_versions_t.c.archived_at).where(
                hms_versions_t.c.database == database, hms_versions_t.c.name == name,
                hms_versions_t.c.incarnation == _incarnation(current),
                hms_versions_t.c.version < current.version).order_by(hms_versions_t.c.version)).all()
        versions = [TableVersion(r.version, table_from_dict(json.loads(r.body)), _aware(r.archived_at))
                    for r in rows]
        versions.append(TableVersion(current.version, current, None))
        return versions

    def delete_table_versions(self, database: str, name: str, versions: Sequence[int]) -> int:
        """Retention's hook (not part of the protocol): drop archived versions, never the current one."""
        current = self.get_table(database, name)
        wanted = sorted(set(versions) - {current.version})
        if not wanted:
            return 0
        with self.engine.begin() as conn:
            return int(conn.execute(hms_versions_t.delete().where(
                hms_versions_t.c.database == database, hms_versions_t.c.name == name,
                hms_versions_t.c.incarnation == _incarnation(current),
                hms_versions_t.c.version.in_(wanted))).rowcount or 0)

    # -- partitions ------------------------------------------------------------------------
    def _keys(self, partitions: Sequence[Partition]) -> dict[tuple[str, str], Table]:
        tables = {(p.database, p.table): self.get_table(p.database, p.table) for p in partitions}
        check_partition_arity(partitions, {key: len(t.partition_keys) for key, t in tables.items()})
        return tables

    def _groups(self, partitions: Sequence[Partition]
                ) -> Iterator[tuple[Table, list[Partition], dict[tuple[str, ...], str]]]:
        """Per table: the table, its partitions of the batch, and the partitions it has now. Every table is
        read and every partition's arity checked before the first group is handed out (nothing written yet)."""
        for key, table in self._keys(partitions).items():
            yield table, [p for p in partitions if (p.database, p.table) == key], self._existing(table)

    def _existing(self, table: Table) -> dict[tuple[str, ...], str]:
        """Values → partition name of every partition the table has."""
        with self._errors(f"list partitions of {table.qualified_name}",
                          not_found=f"table {table.qualified_name} not found"):
            names = self._call("get_partition_names", table.database, table.name, -1)
        return {values_from_partition_name(n): n for n in names}

    def _create_times(self, table: Table, names: Sequence[str]) -> dict[tuple[str, ...], int]:
        found: dict[tuple[str, ...], int] = {}
        for chunk in _chunks(list(names), PARTITION_BATCH):
            with self._errors(f"read partitions of {table.qualified_name}"):
                found.update((tuple(p.values), p.createTime) for p in self._call(
                    "get_partitions_by_names", table.database, table.name, list(chunk)))
        return found

    def _add(self, table: Table, group: Sequence[Partition]) -> None:
        for chunk in _chunks(group, PARTITION_BATCH):
            try:
                with self._errors(f"create partitions of {table.qualified_name}",
                                  not_found=f"table {table.qualified_name} not found"):
                    self._call("add_partitions", [partition_to_hms(p) for p in chunk])
            except CatalogError as exc:
                if isinstance(exc.__cause__, ttypes.AlreadyExistsException):
                    raise AlreadyExists(f"a partition of {table.qualified_name} was created by another writer "
                                        f"during this batch: {exc.__cause__.message}") from exc
                raise

    def _alter(self, table: Table, group: Sequence[Partition], names: Mapping[tuple[str, ...], str]) -> None:
        """Replace existing partitions, keeping each one's create time unless the caller set one."""
        created = self._create_times(table, [names[tuple(p.values)] for p in group if p.create_time is None])
        for chunk in _chunks(group, PARTITION_BATCH):
            thrift = []
            for p in chunk:
                t = partition_to_hms(p)
                t.createTime = t.createTime or created.get(tuple(p.values), 0)
                thrift.append(t)
            try:
                with self._errors(f"update partitions of {table.qualified_name}"):
                    self._call("alter_partitions", table.database, table.name, thrift)
            except CatalogError as exc:
                if isinstance(exc.__cause__, ttypes.InvalidOperationException):
                    raise EntityNotFound(f"a partition of {table.qualified_name} was deleted by another writer "
                                         f"during the update: {exc.__cause__.message}") from exc
                raise

    def batch_create_partitions(self, partitions: Sequence[Partition]) -> int:
        """Create all partitions or none: one that already exists fails the whole batch."""
        if not partitions:
            return 0
        for table, group, existing in self._groups(partitions):
            for p in group:
                if tuple(p.values) in existing:
                    raise AlreadyExists(f"partition {list(p.values)} of {table.qualified_name} already exists")
            self._add(table, group)
        return len(partitions)

    def batch_update_partitions(self, partitions: Sequence[Partition]) -> int:
        """Replace existing partitions, all or none: a missing one fails the whole batch."""
        if not partitions:
            return 0
        for table, group, existing in self._groups(partitions):
            for p in group:
                if tuple(p.values) not in existing:
                    raise EntityNotFound(f"partition {list(p.values)} of {table.qualified_name} not found")
            self._alter(table, group, existing)
        return len(partitions)

    def batch_upsert_partitions(self, partitions: Sequence[Partition]) -> int:
        if not partitions:
            return 0
        for table, group, existing in self._groups(partitions):
            self._alter(table, [p for p in group if tuple(p.values) in existing], existing)
            self._add(table, [p for p in group if tuple(p.values) not in existing])
        return len(partitions)

    def replace_partitions(self, database: str, table: str, partitions: Sequence[Partition]) -> None:
        """Make the table's partition set exactly ``partitions``: new and changed ones first, stale
        ones dropped last, so a reader in between sees extra partitions, never missing ones."""
        self._keys(partitions)
        wanted = {tuple(p.values) for p in partitions}
        current = self.get_table(database, table)
        stale = [v for v in self._existing(current) if v not in wanted]
        self.batch_upsert_partitions(partitions)
        self.batch_delete_partitions(database, table, stale)

    def get_partition(self, database: str, table: str, values: Sequence[str]) -> Partition:
        with self._errors(f"get partition {list(values)} of {database}.{table}",
                          not_found=f"partition {list(values)} of {database}.{table} not found"):
            return partition_from_hms(self._call("get_partition", database, table, list(values)))

    def get_partitions(self, database: str, table: str) -> list[Partition]:
        try:
            with self._errors(f"list partitions of {database}.{table}",
                              not_found=f"table {database}.{table} not found"):
                found = [partition_from_hms(p) for p in self._call("get_partitions", database, table, -1)]
        except EntityNotFound:
            return []
        return sorted(found, key=lambda p: p.values)

    def batch_delete_partitions(self, database: str, table: str, values: Sequence[tuple[str, ...]]) -> int:
        if not values:
            return 0
        try:
            current = self.get_table(database, table)
        except EntityNotFound:  # the table itself is gone: nothing of it is left to delete
            return 0
        existing = self._existing(current)
        names = [existing[tuple(v)] for v in values if tuple(v) in existing]
        deleted = 0
        for chunk in _chunks(names, PARTITION_BATCH):
            request = ttypes.DropPartitionsRequest(
                dbName=database, tblName=table, parts=ttypes.RequestPartsSpec(names=list(chunk)),
                deleteData=False, ifExists=True, needResult=True)
            with self._errors(f"delete partitions of {database}.{table}",
                              not_found=f"table {database}.{table} not found"):
                result = self._call("drop_partitions_req", request)
            deleted += len(result.partitions or [])
        return deleted


def _incarnation(table: Table) -> str:
    return table.create_time.isoformat() if table.create_time else ""


def _aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; every archive time was written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
