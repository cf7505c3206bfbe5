"""The one interface every catalog backend implements (SQL and Glue today; Hive next).

Stages never talk to a backend directly: they call :func:`lakeglue.catalog.open_catalog`
and use this protocol, which is what lets the profile choose the backend. Behaviour that
can be expressed with the protocol's own primitives (idempotent database creation,
create-or-update, version diffs) lives once in :mod:`lakeglue.catalog.common`, so the
backends cannot drift apart; the shared contract suite (``tests/support/catalog_contract.py``)
checks every method on every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from lakeglue.catalog.model import Database, Partition, Table, TableVersion

if TYPE_CHECKING:
    from lakeglue.catalog.diff import TableDiff


class CatalogError(Exception):
    """Base class for catalog failures; messages name the database/table involved."""


class EntityNotFound(CatalogError, LookupError):
    """The database, table, version or partition named in the message does not exist.

    Also a :class:`LookupError`, so callers that treat "not found" generically (the CLI's
    error handler) report it as a message instead of a traceback.
    """


class AlreadyExists(CatalogError):
    """A create would overwrite an existing object; nothing was written."""


class ConcurrentModification(CatalogError):
    """Raised when an update was based on a version that is no longer current."""


@dataclass(frozen=True)
class SqlWrite:
    """Bookkeeping a job commits together with a table version (ledger states, consumed batches).

    ``apply`` gets a SQLAlchemy connection inside a transaction on the database at ``url``.
    A SQL catalog on the same database runs it inside the transaction of the table swap (so
    both land or neither does); other backends run it right after the swap succeeded.
    """

    url: str
    apply: Callable[[Any], None]
    what: str


@runtime_checkable
class Catalog(Protocol):
    # databases
    def create_database(self, database: Database) -> Database: ...
    def get_database(self, name: str) -> Database: ...
    def list_databases(self) -> list[Database]: ...
    def ensure_database(self, name: str, description: str = "") -> Database: ...
    def delete_database(self, name: str) -> None: ...

    # tables
    def create_table(self, table: Table) -> Table: ...
    def get_table(self, database: str, name: str) -> Table: ...
    def table_exists(self, database: str, name: str) -> bool: ...
    def list_tables(self, database: str) -> list[Table]: ...
    def update_table(self, table: Table, expected_version: int | None = None) -> Table: ...
    def upsert_table(self, table: Table) -> Table: ...
    def delete_table(self, database: str, name: str) -> None: ...
    def swap_table(self, table: Table, partitions: Sequence[Partition], *, expected_version: int | None = None,
                   replace_partitions: bool = True, writes: Sequence[SqlWrite] = ()) -> Table: ...
    def search_tables(self, text: str | None = None, parameters: Mapping[str, str | None] | None = None,
                      database: str | None = None) -> list[Table]: ...

    # versions
    def get_table_versions(self, database: str, name: str) -> list[TableVersion]: ...
    def get_table_version(self, database: str, name: str, version: int) -> TableVersion: ...
    def diff_versions(self, database: str, name: str, v1: int, v2: int) -> TableDiff: ...

    # partitions
    def batch_create_partitions(self, partitions: Sequence[Partition]) -> int: ...
    def batch_update_partitions(self, partitions: Sequence[Partition]) -> int: ...
    def batch_upsert_partitions(self, partitions: Sequence[Partition]) -> int: ...
    def replace_partitions(self, database: str, table: str, partitions: Sequence[Partition]) -> None: ...
    def get_partition(self, database: str, table: str, values: Sequence[str]) -> Partition: ...
    def get_partitions(self, database: str, table: str) -> list[Partition]: ...
    def batch_delete_partitions(self, database: str, table: str, values: Sequence[tuple[str, ...]]) -> int: ...


def data_locations(catalog: Catalog, database: str, name: str) -> list[str]:
    """Where a table's data files are: its location, or every partition's for a partitioned table
    (partitions may live outside the table root, and its root may hold files of other versions)."""
    table = catalog.get_table(database, name)
    if not table.partition_keys:
        return [table.location]
    return [part.location for part in catalog.get_partitions(database, name)]
