"""Folders below a table root become partitions: ``k=v`` gives key ``k``, anything else ``partition_N``.

Partition values stay strings, as in Glue: the folder name is all the crawler knows,
and a later typed cast (``dt`` → date) is the silver layer's decision.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote

from lakeglue.crawler.names import sanitize_name


@dataclass(frozen=True)
class PartitionLayout:
    """Partition key names plus, for every file-directory tuple, the partition it belongs to."""

    keys: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def depth(self) -> int:
        return len(self.keys)

    def values_of(self, dirs: tuple[str, ...]) -> tuple[str, ...]:
        """Partition values of a file whose directories below the table root are ``dirs``."""
        return tuple(_value(key, name) for key, name in zip(self.keys, dirs[: self.depth], strict=True))


def _split(name: str) -> tuple[str, str] | None:
    if "=" not in name:
        return None
    key, value = name.split("=", 1)
    return (key, value) if key else None


def _value(key: str, folder: str) -> str:
    kv = _split(folder)
    if kv is not None and sanitize_name(kv[0]) == key:
        return unquote(kv[1])
    return folder


def detect_layout(dirs_per_file: list[tuple[str, ...]]) -> PartitionLayout:
    """Decide the partition keys from the directory tuples of all files of one table.

    Depth is the shallowest file's depth: deeper files belong to the partition at that
    depth (their extra folders are just data layout), so no file is left out of the table.
    """
    if not dirs_per_file:
        return PartitionLayout(())
    depths = Counter(len(d) for d in dirs_per_file)
    depth = min(depths)
    notes: list[str] = []
    if len(depths) > 1:
        spread = ", ".join(f"{n} files at depth {d}" for d, n in sorted(depths.items()))
        notes.append(f"files sit at different folder depths ({spread}); partition keys taken from the "
                     f"first {depth} level(s)")
    keys: list[str] = []
    for level in range(depth):
        names = {d[level] for d in dirs_per_file}
        parsed = [_split(n) for n in names]
        key_names = {sanitize_name(kv[0]) for kv in parsed if kv is not None}
        if all(kv is not None for kv in parsed) and len(key_names) == 1:
            key = key_names.pop()
            if key in keys:
                notes.append(f"partition key {key!r} repeats at level {level}; named partition_{level}")
                key = f"partition_{level}"
        else:
            key = f"partition_{level}"
            if key_names:
                notes.append(f"level {level} mixes folder names ({', '.join(sorted(names)[:5])}); "
                             f"key {key} holds the whole folder name")
        keys.append(key)
    return PartitionLayout(tuple(keys), tuple(notes))
