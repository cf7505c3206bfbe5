"""Zones, litter excludes, atomic commits and lifecycle expiry on the local lake."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lakeglue.settings import Settings
from lakeglue.storage import Lake
from lakeglue.storage.lifecycle import expire_staging, expire_superseded
from lakeglue.storage.zones import DEFAULT_EXCLUDES, is_excluded


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(Settings(lake_root=str(tmp_path / "lake"), staging_ttl_days=7))
    lake.ensure_zones()
    return lake


def test_zones_exist_and_paths_are_inside_them(lake: Lake, tmp_path: Path) -> None:
    assert sorted(p.name for p in (tmp_path / "lake").iterdir()) == [
        "curated", "quarantine", "raw", "results", "staging"]
    assert lake.path("raw", "shop", "/orders/") == f"{tmp_path}/lake/raw/shop/orders"
    assert lake.uri(lake.path("raw")) == f"file://{tmp_path}/lake/raw"
    with pytest.raises(ValueError, match="unknown zone 'tmp'"):
        lake.path("tmp")


@pytest.mark.parametrize(("path", "excluded"), [
    ("orders/dt=1/part-0.json", False),
    ("orders/_SUCCESS", True),
    ("orders/_temporary/0/part.json", True),
    ("orders/part-0.json.crc", True),
    ("orders/.part-0.json.crc", True),
    (".hidden", True),
])
def test_default_excludes(path: str, excluded: bool) -> None:
    assert is_excluded(path, DEFAULT_EXCLUDES) is excluded


def test_list_files_skips_litter(lake: Lake) -> None:
    root = Path(lake.path("raw", "t"))
    (root / "dt=1" / "_temporary").mkdir(parents=True)
    (root / "dt=1" / "a.json").write_text("{}\n")
    (root / "dt=1" / "_SUCCESS").write_text("")
    (root / "dt=1" / "_temporary" / "b.json").write_text("{}\n")
    assert [f.name for f in lake.list_files(str(root))] == ["a.json"]
    assert lake.list_files(str(root / "missing")) == []


def test_commit_moves_staging_and_refuses_to_overwrite(lake: Lake) -> None:
    staged = lake.new_staging_path("t")
    lake.write_text(f"{staged}/part-0.txt", "hello")
    final = lake.path("curated", "silver", "t", "v-1")
    lake.commit(staged, final)
    assert lake.read_text(f"{final}/part-0.txt") == "hello" and not lake.fs.exists(staged)
    other = lake.new_staging_path("t")
    lake.write_text(f"{other}/part-0.txt", "again")
    with pytest.raises(FileExistsError, match="refusing to commit over existing data"):
        lake.commit(other, final)


def _age(path: str, days: float) -> None:
    stamp = time.time() - days * 86400
    for dirpath, _dirs, files in os.walk(path):
        for name in [*files, "."]:
            os.utime(os.path.join(dirpath, name), (stamp, stamp))


def test_expire_staging_removes_only_old_attempts(lake: Lake) -> None:
    old, fresh = lake.new_staging_path("a"), lake.new_staging_path("b")
    lake.write_text(f"{old}/x", "1")
    lake.write_text(f"{fresh}/x", "2")
    _age(old, 10)
    assert [e.path for e in expire_staging(lake, dry_run=True)] == [old]
    assert lake.fs.exists(old)
    assert [e.path for e in expire_staging(lake)] == [old]
    assert not lake.fs.exists(old) and lake.fs.exists(fresh)


def test_expire_superseded_never_touches_the_live_version(lake: Lake) -> None:
    root = lake.path("curated", "silver", "t")
    for name in ("v-1", "v-2", "v-3"):
        lake.write_text(f"{root}/{name}/part-0", name)
        _age(f"{root}/{name}", 30)
    removed = expire_superseded(lake, root, live_locations=[lake.uri(f"{root}/v-2")])
    assert sorted(Path(e.path).name for e in removed) == ["v-1", "v-3"]
    assert sorted(p.name for p in Path(root).iterdir()) == ["v-2"]


def test_expire_superseded_keeps_attempt_directories_holding_live_partitions(lake: Lake) -> None:
    """Bronze partitions live at ``a-<token>/batch_id=<id>``: no live location equals the attempt directory."""
    root = lake.path("curated", "bronze", "t")
    for name in ("a-1", "a-2"):
        lake.write_text(f"{root}/{name}/batch_id=b1/part-0", name)
        _age(f"{root}/{name}", 30)
    removed = expire_superseded(lake, root, live_locations=[lake.uri(f"{root}/a-2/batch_id=b1")])
    assert [Path(e.path).name for e in removed] == ["a-1"]
    assert sorted(p.name for p in Path(root).iterdir()) == ["a-2"]


def test_commit_on_s3_copies_directories_and_single_objects_then_drops_staging(moto: str) -> None:
    """Object stores have no rename: a commit copies the staged objects to the final prefix, then removes them."""
    import boto3

    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket="lake")
    lake = Lake(Settings(profile="aws", lake_root="s3://lake/prod", catalog_url="sqlite://", aws_endpoint_url=moto))
    staged = lake.new_staging_path("t")
    lake.write_text(f"{staged}/dt=1/part-0.txt", "one")
    lake.write_text(f"{staged}/dt=2/part-0.txt", "two")
    final = lake.path("curated", "silver", "t", "v-1")
    lake.commit(staged, final)
    assert sorted(lake.fs.find(final)) == [f"{final}/dt=1/part-0.txt", f"{final}/dt=2/part-0.txt"]
    assert lake.read_text(f"{final}/dt=2/part-0.txt") == "two" and lake.fs.find(staged) == []
    with pytest.raises(FileExistsError, match="refusing to commit over existing data"):
        lake.commit(staged, final)
    single = f"{lake.new_staging_path('f')}/data.parquet"
    lake.write_text(single, "bytes")
    target = lake.path("curated", "history", "part-1.parquet")
    lake.commit(single, target)
    assert lake.fs.find(lake.path("curated", "history")) == [target] and lake.read_text(target) == "bytes"
    assert lake.uri(target) == "s3://lake/prod/curated/history/part-1.parquet"
    assert lake.engine_path(target) == lake.uri(target) and lake.fs_path(lake.uri(target)) == target
