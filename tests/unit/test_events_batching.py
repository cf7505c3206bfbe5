"""Batching rules: min_files, quiet period, max wait, max_files — on an explicit clock."""

from __future__ import annotations

import pytest

from lakeglue.events.batching import Batcher, BatchPolicy
from lakeglue.events.objects import ObjectInfo


def obj(name: str, size: int = 10, mtime: float = 1.0) -> ObjectInfo:
    return ObjectInfo(f"/lake/raw/in/{name}", size, mtime)


def names(objects: list[ObjectInfo]) -> list[str]:
    return [o.path.rsplit("/", 1)[1] for o in objects]


def test_a_burst_is_released_once_after_the_quiet_period() -> None:
    b = Batcher(BatchPolicy(quiet_seconds=5, max_wait_seconds=60))
    assert b.observe([obj("a")], now=0) == []
    assert b.observe([obj("a"), obj("b")], now=2) == []          # b arrived: quiet period restarts at 2
    assert b.observe([obj("a"), obj("b"), obj("c")], now=4) == []  # c arrived: restarts at 4
    assert b.observe([obj("a"), obj("b"), obj("c")], now=8.9) == []
    assert names(b.observe([obj("a"), obj("b"), obj("c")], now=9)) == ["a", "b", "c"]


def test_a_growing_file_is_not_quiet() -> None:
    b = Batcher(BatchPolicy(quiet_seconds=3, max_wait_seconds=None))
    assert b.observe([obj("a", size=10)], now=0) == []
    assert b.observe([obj("a", size=20)], now=2) == []  # still being written
    assert b.observe([obj("a", size=30, mtime=2.0)], now=4) == []
    assert b.observe([obj("a", size=30, mtime=2.0)], now=6.5) == []
    assert names(b.observe([obj("a", size=30, mtime=2.0)], now=7)) == ["a"]


def test_min_files_releases_without_waiting_for_quiet() -> None:
    b = Batcher(BatchPolicy(min_files=3, quiet_seconds=100, max_wait_seconds=None))
    assert b.observe([obj("a"), obj("b")], now=0) == []
    assert names(b.observe([obj("a"), obj("b"), obj("c")], now=1)) == ["a", "b", "c"]


def test_quiet_period_releases_fewer_than_min_files() -> None:
    b = Batcher(BatchPolicy(min_files=10, quiet_seconds=5, max_wait_seconds=None))
    assert b.observe([obj("a")], now=0) == []
    assert names(b.observe([obj("a")], now=5)) == ["a"]


def test_max_wait_bounds_a_steady_trickle() -> None:
    b = Batcher(BatchPolicy(quiet_seconds=5, max_wait_seconds=12))
    waiting: list[ObjectInfo] = []
    released: list[ObjectInfo] = []
    for t in range(0, 13, 3):  # a new file every 3 s: never quiet for 5 s
        waiting.append(obj(f"f{t:02d}"))
        released = b.observe(list(waiting), now=t)
        if t < 12:
            assert released == [], t
    assert names(released) == ["f00", "f03", "f06", "f09", "f12"]


def test_max_files_splits_and_the_rest_follows_at_once() -> None:
    b = Batcher(BatchPolicy(quiet_seconds=1, max_wait_seconds=None, max_files=2))
    waiting = [obj("c"), obj("a"), obj("b")]
    assert b.observe(waiting, now=0) == []
    first = b.observe(waiting, now=1)
    assert names(first) == ["a", "b"]
    assert names(b.observe([obj("c")], now=1.5)) == ["c"]  # already quiet: no second wait


def test_zero_quiet_period_releases_on_first_sight_and_nothing_when_empty() -> None:
    b = Batcher(BatchPolicy(quiet_seconds=0))
    assert b.observe([], now=0) == []
    assert names(b.observe([obj("x")], now=0)) == ["x"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_files": 0}, "min_files=0 must be at least 1"),
    ({"quiet_seconds": -1}, "quiet_seconds=-1 must not be negative"),
    ({"quiet_seconds": 30, "max_wait_seconds": 10}, "max_wait_seconds=10 is shorter than quiet_seconds=30"),
    ({"max_files": 0}, "max_files=0 must be at least 1"),
    ({"min_files": 5, "max_files": 2}, "min_files=5 exceeds max_files=2"),
])
def test_bad_policies_name_the_setting(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        BatchPolicy(**kwargs)  # type: ignore[arg-type]
