"""Catalog-safe names: Hive/Athena identifiers are case-insensitive, so we store lower snake case."""

from __future__ import annotations

import re

_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


def sanitize_name(raw: str, fallback: str = "unnamed") -> str:
    """``Order Items`` → ``order_items``, ``ordersV2`` → ``orders_v2``, ``HTTPLogs`` → ``http_logs``."""
    text = _ACRONYM.sub(r"\1_\2", raw.strip())
    text = _CAMEL.sub(r"\1_\2", text)
    text = _NON_WORD.sub("_", text).strip("_").lower()
    return text or fallback


def dedupe(names: list[str]) -> tuple[list[str], list[str]]:
    """Make names unique by suffixing ``_2``, ``_3``…; returns (names, notes about renames)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    notes: list[str] = []
    for name in names:
        if name in seen:
            seen[name] += 1
            new = f"{name}_{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}_{seen[name]}"
            notes.append(f"duplicate column name {name!r} renamed to {new!r}")
            seen[new] = 1
            out.append(new)
        else:
            seen[name] = 1
            out.append(name)
    return out, notes
