"""The detection loop both triggers run: list → drop what is taken → batch → commit, with back-off.

"Taken" means claimed or recently announced in the event-claim table and, for a pipeline,
already claimed by a bronze batch in the ingestion ledger (a scheduled run processed it).
``commit`` is the caller's atomic step — the Asset watcher *announces*, the deferrable
sensor *claims* — and only what it committed is reported, so a racing consumer never
appears in two batches.

Listing or database failures never end the loop: it backs off exponentially (``poll``,
``2·poll``, … up to ``max_backoff_seconds``) and reports a :class:`WatchFailure` after
``max_failures`` consecutive failures, and again every ``max_failures`` failures after that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from lakeglue.events.batching import Batcher, BatchPolicy
from lakeglue.events.claims import CLAIMED, DONE, ClaimStore
from lakeglue.events.listing import Lister, Location
from lakeglue.events.objects import ObjectInfo
from lakeglue.ledger import CLAIMED as LEDGER_CLAIMED
from lakeglue.ledger import DONE as LEDGER_DONE
from lakeglue.ledger import Ledger

log = logging.getLogger(__name__)

Commit = Callable[[list[ObjectInfo]], list[ObjectInfo]]


@dataclass(frozen=True)
class WatchFailure:
    location: str
    error: str
    failures: int
    retry_in_seconds: float


@dataclass(frozen=True)
class Batch:
    objects: list[ObjectInfo]


@dataclass
class Watcher:
    location: Location
    claims: ClaimStore
    scope: str
    policy: BatchPolicy = field(default_factory=BatchPolicy)
    poll_seconds: float = 10.0
    max_failures: int = 3
    max_backoff_seconds: float = 300.0
    reannounce_after_seconds: float = 900.0
    #: Ledger source prefix of a pipeline (``<pipeline>/<table>``): objects a bronze batch already
    #: claimed are not announced again. ``None`` for plain prefixes (sensors).
    ledger_pipeline: str | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        if self.poll_seconds <= 0:
            raise ValueError(f"poll_seconds={self.poll_seconds} must be positive")
        if self.max_failures < 1:
            raise ValueError(f"max_failures={self.max_failures} must be at least 1")
        self._done: set[tuple[str, str]] = set()  # claimed keys never become unclaimed: cache them
        self._ledger: Ledger | None = None  # opened on first use (pipeline watchers only)

    async def waiting(self, lister: Lister | None = None) -> list[ObjectInfo]:
        """Selected objects under the location that nobody has claimed or freshly announced."""
        found = await (lister.list() if lister is not None else self.location.list())
        self._done &= {o.key for o in found}  # the cache never outgrows one listing
        listed = [o for o in found if o.key not in self._done]
        if not listed:
            return []
        taken = await asyncio.to_thread(self._taken, listed)
        return [o for o in listed if o.key not in taken]

    def _taken(self, listed: list[ObjectInfo]) -> set[tuple[str, str]]:
        states = self.claims.taken(self.scope, listed, self.reannounce_after_seconds)
        self._done.update(key for key, state in states.items() if state in (CLAIMED, DONE))
        taken = set(states)
        if self.ledger_pipeline is not None:
            taken |= self._in_ledger(listed)
        return taken

    def _in_ledger(self, listed: list[ObjectInfo]) -> set[tuple[str, str]]:
        if self._ledger is None:
            self._ledger = Ledger(self.location.settings.catalog_url)
        ledger = self._ledger
        by_source: dict[str, list[ObjectInfo]] = {}
        for o in listed:
            table = self.location.selection.table_of(self.location.relative(o.path))
            if table is not None:
                by_source.setdefault(f"{self.ledger_pipeline}/{table}", []).append(o)
        taken: set[tuple[str, str]] = set()
        for source, objects in by_source.items():
            known = ledger.lookup(source, [o.path for o in objects])
            for o in objects:
                entry = known.get(o.path)
                ingested = entry is not None and entry.state in (LEDGER_CLAIMED, LEDGER_DONE)
                if ingested and entry is not None and (entry.size, entry.mtime) == (o.size, o.mtime):
                    taken.add(o.key)
                    self._done.add(o.key)
        return taken

    async def batches(self, commit: Commit) -> AsyncGenerator[Batch | WatchFailure, None]:
        """Forever: yield each committed batch, or a failure report; never raises on I/O errors."""
        batcher = Batcher(self.policy)
        async with self.location.lister() as lister:
            async for item in self._loop(batcher, lister, commit):
                yield item

    async def _loop(self, batcher: Batcher, lister: Lister, commit: Commit) -> AsyncIterator[Batch | WatchFailure]:
        failures = 0
        while True:
            try:
                ready = batcher.observe(await self.waiting(lister), self.clock())
                committed = await asyncio.to_thread(commit, ready) if ready else []
            except Exception as exc:  # any listing/DB failure: reported and retried, the watch goes on
                failures += 1
                delay = min(self.poll_seconds * 2 ** (failures - 1), self.max_backoff_seconds)
                log.warning("watching %s failed (%d in a row), retrying in %.1fs: %s",
                            self.location.url(), failures, delay, exc)
                if failures % self.max_failures == 0:
                    yield WatchFailure(self.location.url(), f"{type(exc).__name__}: {exc}", failures, delay)
                await self.sleep(delay)
                continue
            if failures:
                log.info("watching %s recovered after %d failed attempts", self.location.url(), failures)
                failures = 0
            if committed:
                yield Batch(committed)
            await self.sleep(self.poll_seconds)
