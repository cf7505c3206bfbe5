"""The detection loop on a real local lake: batching, taken objects, back-off and failure reports.

Time is a fake clock advanced by the loop's own sleeps, so back-off delays are asserted exactly
and no test waits for real.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lakeglue.events.batching import BatchPolicy
from lakeglue.events.claims import ClaimStore
from lakeglue.events.listing import Location, Selection
from lakeglue.events.objects import ObjectInfo
from lakeglue.events.watch import Batch, Watcher, WatchFailure
from lakeglue.ledger import Ledger
from lakeglue.settings import Settings
from lakeglue.storage.zones import FileInfo


class Stop(Exception):
    pass


class FakeTime:
    """A clock that only moves when the watcher sleeps; ``on_sleep`` may change the lake mid-run."""

    def __init__(self, on_sleep: Callable[[int], None], max_sleeps: int) -> None:
        self.now = 0.0
        self.delays: list[float] = []
        self.on_sleep = on_sleep
        self.max_sleeps = max_sleeps

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds
        if len(self.delays) >= self.max_sleeps:
            raise Stop
        self.on_sleep(len(self.delays))


def write(root: Path, rel: str, text: str = "{}\n") -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def make_watcher(tmp_path: Path, time: FakeTime, **kwargs: object) -> Watcher:
    settings = Settings(lake_root=str(tmp_path / "lake"))
    defaults: dict[str, object] = {"policy": BatchPolicy(quiet_seconds=2, max_wait_seconds=None),
                                   "poll_seconds": 1.0, "max_failures": 3, "max_backoff_seconds": 8.0}
    defaults.update(kwargs)
    selection = defaults.pop("selection", Selection())
    return Watcher(location=Location(settings, "raw", "landing", selection),  # type: ignore[arg-type]
                   claims=ClaimStore(settings.catalog_url), scope="raw/landing", clock=time.clock,
                   sleep=time.sleep, **defaults)  # type: ignore[arg-type]


def run(watcher: Watcher, commit: Callable[[list[ObjectInfo]], list[ObjectInfo]]) -> list[Batch | WatchFailure]:
    async def collect() -> list[Batch | WatchFailure]:
        items: list[Batch | WatchFailure] = []
        try:
            async for item in watcher.batches(commit):
                items.append(item)
        except Stop:
            pass
        return items

    return asyncio.run(collect())


def names(objects: list[ObjectInfo]) -> list[str]:
    return [o.path.rsplit("/", 1)[1] for o in objects]


def test_a_burst_over_several_polls_is_one_batch_and_is_claimed_once(tmp_path: Path) -> None:
    raw = tmp_path / "lake" / "raw" / "landing"
    write(raw, "a.json")

    def land(step: int) -> None:  # b and c land during the next two polls, then quiet
        if step == 1:
            write(raw, "b.json")
        if step == 2:
            write(raw, "sub/c.json")
            write(raw, "sub/_SUCCESS", "")

    time = FakeTime(land, max_sleeps=8)
    watcher = make_watcher(tmp_path, time)
    items = run(watcher, lambda objs: watcher.claims.claim("raw/landing", objs, "run1"))
    assert [type(i).__name__ for i in items] == ["Batch"]
    batch = items[0]
    assert isinstance(batch, Batch) and names(batch.objects) == ["a.json", "b.json", "c.json"]
    assert [o.size for o in batch.objects] == [3, 3, 3]
    assert batch.objects[0].mtime == os.stat(raw / "a.json").st_mtime
    assert time.delays == [1.0] * 8  # no failures: plain polling


def test_pattern_and_already_claimed_objects_are_not_batched(tmp_path: Path) -> None:
    raw = tmp_path / "lake" / "raw" / "landing"
    for name in ("x.csv", "y.csv", "z.json"):
        write(raw, name)
    time = FakeTime(lambda step: None, max_sleeps=4)
    watcher = make_watcher(tmp_path, time, selection=Selection(pattern="*.csv"))
    listed = asyncio.run(watcher.location.list())
    watcher.claims.claim("raw/landing", [o for o in listed if o.path.endswith("x.csv")], "earlier")
    items = run(watcher, lambda objs: watcher.claims.claim("raw/landing", objs, "run2"))
    assert [names(i.objects) for i in items if isinstance(i, Batch)] == [["y.csv"]]


def test_failures_back_off_report_every_max_failures_and_recover(tmp_path: Path) -> None:
    lake_raw = tmp_path / "lake" / "raw"
    lake_raw.mkdir(parents=True)
    (lake_raw / "landing").write_text("not a directory")  # every listing fails until step 7

    def repair(step: int) -> None:
        if step == 7:
            (lake_raw / "landing").unlink()
            write(lake_raw / "landing", "ok.json")

    time = FakeTime(repair, max_sleeps=11)
    watcher = make_watcher(tmp_path, time, policy=BatchPolicy(quiet_seconds=0, max_wait_seconds=None))
    items = run(watcher, lambda objs: watcher.claims.claim("raw/landing", objs, "run1"))
    assert time.delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 1.0, 1.0, 1.0, 1.0]
    failures = [i for i in items if isinstance(i, WatchFailure)]
    root = str(lake_raw / "landing")
    assert failures == [
        WatchFailure(root, f"ListingError: listing {root} failed: it is a file, not a directory", 3, 4.0),
        WatchFailure(root, f"ListingError: listing {root} failed: it is a file, not a directory", 6, 8.0),
    ]
    assert [names(i.objects) for i in items if isinstance(i, Batch)] == [["ok.json"]]


def test_objects_a_bronze_batch_already_ingested_are_not_announced(tmp_path: Path) -> None:
    raw = tmp_path / "lake" / "raw" / "landing"
    done = write(raw, "orders/a.json")
    write(raw, "orders/b.json")
    changed = write(raw, "orders/c.json")
    settings = Settings(lake_root=str(tmp_path / "lake"))
    ledger = Ledger(settings.catalog_url)
    st_a, st_c = os.stat(done), os.stat(changed)
    ledger.record_seen("shop/orders", [FileInfo(done, st_a.st_size, st_a.st_mtime),
                                       FileInfo(changed, st_c.st_size, st_c.st_mtime - 60)])  # c rewritten since
    ledger.claim("shop/orders", "scheduled_run")
    time = FakeTime(lambda step: None, max_sleeps=4)
    watcher = make_watcher(tmp_path, time, selection=Selection(tables=("orders",)), ledger_pipeline="shop",
                           policy=BatchPolicy(quiet_seconds=0, max_wait_seconds=None))
    announced = run(watcher, lambda objs: watcher.claims.announce("raw/landing", objs, "ev1"))
    assert [names(i.objects) for i in announced if isinstance(i, Batch)] == [["b.json", "c.json"]]


def test_watcher_rejects_nonsense_settings(tmp_path: Path) -> None:
    time = FakeTime(lambda step: None, max_sleeps=1)
    with pytest.raises(ValueError, match="poll_seconds=0 must be positive"):
        make_watcher(tmp_path, time, poll_seconds=0)
    with pytest.raises(ValueError, match="max_failures=0 must be at least 1"):
        make_watcher(tmp_path, time, max_failures=0)
    with pytest.raises(ValueError, match="unknown zone 'bronze'"):
        Location(Settings(lake_root=str(tmp_path)), "bronze", "x")
