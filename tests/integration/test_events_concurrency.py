"""Exactly-once under contention: threads and separate processes race to claim the same objects.

Runs on SQLite (the embedded catalog) and on the real PostgreSQL server at 127.0.0.1:5432
(a throwaway database). Every object requested must end up claimed by exactly one batch,
and each claimant must get back exactly the rows the table says it owns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakeglue.events.claims import CLAIMED, ClaimStore
from lakeglue.events.objects import ObjectInfo
from tests.support.postgres import throwaway_catalog_url

SCOPE = "ecommerce"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    with throwaway_catalog_url() as url:
        yield url


def objects(round_no: int, count: int) -> list[ObjectInfo]:
    return [ObjectInfo(f"/lake/raw/ecommerce/orders/r{round_no}/part-{i:04d}.json", 100 + i, 1_700_000_000.5)
            for i in range(count)]


def assert_each_claimed_once(store: ClaimStore, wanted: list[ObjectInfo], got: dict[str, list[str]]) -> None:
    claimed = [p for paths in got.values() for p in paths]
    assert len(claimed) == len(set(claimed)), "an object was given to two batches"
    assert sorted(claimed) == sorted(o.path for o in wanted), "an object was skipped"
    owner = {c.obj.path: c.batch_id for c in store.claims(SCOPE) if c.state == CLAIMED}
    assert {p: b for b, paths in got.items() for p in paths} == {o.path: owner[o.path] for o in wanted}


def test_threads_racing_for_overlapping_objects(url: str) -> None:
    store = ClaimStore(url)
    wanted = objects(0, 240)
    store.announce(SCOPE, wanted[::2], "ev0")  # half announced by a watcher, half never seen before
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def claimant(i: int) -> None:
        try:
            mine = wanted[i * 20:] + wanted[: i * 20]  # every thread asks for everything, in another order
            barrier.wait(timeout=30)
            got[f"run{i}"] = [o.path for o in ClaimStore(url).claim(SCOPE, mine, f"run{i}")]
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=claimant, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert_each_claimed_once(store, wanted, got)
    for batch, paths in got.items():  # and each batch's retry sees exactly its own objects
        assert [o.path for o in store.claim(SCOPE, wanted, batch)] == sorted(paths)


WORKER = """
import json, os, sys, time
from lakeglue.events.claims import ClaimStore
from lakeglue.events.objects import ObjectInfo
url, worker, go, rounds, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
store = ClaimStore(url)
store.batch("ecommerce", "warm-up")  # connect before the race starts
open(f"{go}.ready-{worker}", "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("no start signal within 60 s")
    time.sleep(0.002)
out = {}
for r in range(rounds):
    everything = [ObjectInfo(f"/lake/raw/ecommerce/orders/r{r}/part-{i:04d}.json", 100 + i, 1_700_000_000.5)
                  for i in range(count)]
    wanted = everything[worker * 10: worker * 10 + 30]  # overlapping windows: neighbours compete for 20 objects
    if worker % 2:
        wanted.reverse()  # claim() sorts, so opposite orders cannot deadlock on Postgres row locks
    out[f"w{worker}-r{r}"] = [o.path for o in store.claim("ecommerce", wanted, f"w{worker}-r{r}")]
print(json.dumps(out))
"""


def test_processes_racing_round_after_round(url: str, tmp_path: Path) -> None:
    rounds, count, workers = 5, 60, 4
    store = ClaimStore(url)  # creates the table before the workers start
    for r in range(rounds):
        store.announce(SCOPE, objects(r, count)[: count // 2], f"ev{r}")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(w), str(go), str(rounds), str(count)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for w in range(workers)]
    try:
        deadline = time.monotonic() + 60  # every worker connected and waiting: then the race starts at once
        while not all(Path(f"{go}.ready-{w}").exists() for w in range(workers)):
            assert time.monotonic() < deadline, "workers did not start within 60 s"
            assert all(p.poll() is None for p in procs), [p.communicate()[1][-2000:] for p in procs if p.poll()]
            time.sleep(0.05)
        go.write_text("go")
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
    got: dict[str, list[str]] = {}
    for out, _ in outputs:
        got.update(json.loads(out.strip().splitlines()[-1]))
    for r in range(rounds):
        assert_each_claimed_once(store, objects(r, count),
                                 {b: paths for b, paths in got.items() if b.endswith(f"-r{r}")})
