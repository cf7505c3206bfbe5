"""Where tables start when no table level is fixed: Glue's schema-similarity rule.

Starting at the crawl root, a folder is one table (its sub-folders become partitions)
when the majority of its sub-folders have schemas at least 70 % similar; otherwise each
sub-folder is examined the same way. With ``CombineCompatibleSchemas`` the test is
instead "every schema merges with the others without a type conflict", however many
columns differ. Similarity of two schemas is the share of columns (of both together) that
exist in both with compatible types; different formats are 0 % similar.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from lakeglue.crawler.config import SIMILARITY_THRESHOLD
from lakeglue.crawler.infer import FileSchema
from lakeglue.crawler.types import GlueType, widen


@dataclass(frozen=True)
class FolderSchema:
    """The merged schema of everything sampled below one folder."""

    format: str
    columns: dict[str, GlueType]


def merge(schemas: list[FileSchema]) -> FolderSchema | None:
    if not schemas:
        return None
    fmt = schemas[0].format
    columns: dict[str, GlueType] = {}
    for s in schemas:
        if s.format != fmt:
            continue
        for name, t in s.columns:
            columns[name] = widen(columns[name], t, name, []) if name in columns else t
    return FolderSchema(fmt, columns)


def compatible(a: GlueType, b: GlueType) -> bool:
    notes: list[str] = []
    widen(a, b, "", notes)
    return not notes


def similarity(a: FolderSchema, b: FolderSchema) -> float:
    if a.format != b.format:
        return 0.0
    union = set(a.columns) | set(b.columns)
    if not union:
        return 1.0
    shared = sum(1 for c in set(a.columns) & set(b.columns) if compatible(a.columns[c], b.columns[c]))
    return shared / len(union)


def all_compatible(schemas: list[FolderSchema]) -> bool:
    if len({s.format for s in schemas}) > 1:
        return False
    merged: dict[str, GlueType] = {}
    for s in schemas:
        for name, t in s.columns.items():
            if name in merged and not compatible(merged[name], t):
                return False
            merged[name] = widen(merged[name], t, name, []) if name in merged else t
    return True


def clusters(schemas: list[FolderSchema], threshold: float = SIMILARITY_THRESHOLD) -> list[list[int]]:
    """Greedy clustering in order: a schema joins the first cluster whose first member it resembles."""
    groups: list[list[int]] = []
    for i, s in enumerate(schemas):
        for group in groups:
            if similarity(schemas[group[0]], s) >= threshold:
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def decide_tables(folders: dict[str, list[FileSchema]], combine_compatible: bool,
                  pinned: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """Table root folders (relative to the crawl root, "" = the root) and the reasons, one line per decision.

    ``folders`` maps each leaf folder (relative path) to the schemas sampled in it; ``pinned``
    folders are existing tables and stay tables whatever their contents say now.
    """
    reasons: list[str] = []
    below: dict[str, list[FileSchema]] = {}
    for leaf, schemas in folders.items():
        parts = leaf.split("/") if leaf else []
        for depth in range(len(parts) + 1):
            below.setdefault("/".join(parts[:depth]), []).extend(schemas)

    def children(folder: str) -> list[str]:
        depth = len(folder.split("/")) if folder else 0
        found = {"/".join(k.split("/")[: depth + 1]) for k in below
                 if k != folder and (folder == "" or k.startswith(folder + "/")) and len(k.split("/")) > depth}
        return sorted(found)

    def decide(folder: str) -> list[str]:
        label = folder or "."
        if folder in pinned:
            reasons.append(f"folder {label}: an existing table of this crawler; kept as one table")
            return [folder]
        subs = children(folder)
        if not subs:
            return [folder]
        if any(p != folder and (folder == "" or p.startswith(folder + "/")) for p in pinned):
            reasons.append(f"folder {label}: holds existing tables; its sub-folders decide on their own")
        elif _one_table(folder, subs, label):
            return [folder]
        roots: list[str] = []
        for sub in subs:
            roots.extend(decide(sub))
        return roots

    def _one_table(folder: str, subs: list[str], label: str) -> bool:
        direct = folders.get(folder, [])
        parts = [merge(below[s]) for s in subs] + ([merge(direct)] if direct else [])
        schemas = [p for p in parts if p is not None]
        if len(schemas) <= 1:
            if folder == "":  # the crawl root itself is a table only when its parts say so, not by default
                return False
            reasons.append(f"folder {label}: one sub-folder; one table with partitions")
            return True
        if combine_compatible:
            if all_compatible(schemas):
                reasons.append(f"folder {label}: the schemas of its {len(schemas)} parts merge without conflict "
                               "(CombineCompatibleSchemas); one table")
                return True
            reasons.append(f"folder {label}: schemas of its parts conflict; each sub-folder decides on its own")
            return False
        groups = clusters(schemas)
        biggest = max(len(g) for g in groups)
        if biggest * 2 > len(schemas):
            reasons.append(f"folder {label}: {biggest} of {len(schemas)} parts have schemas at least "
                           f"{SIMILARITY_THRESHOLD:.0%} similar; one table with partitions")
            return True
        reasons.append(f"folder {label}: no majority of its {len(schemas)} parts is "
                       f"{SIMILARITY_THRESHOLD:.0%} similar; each sub-folder becomes its own table")
        return False

    return decide(""), reasons


def leaf_folder(root: str, path: str) -> str:
    rel = posixpath.relpath(posixpath.dirname(path), root)
    return "" if rel == "." else rel
