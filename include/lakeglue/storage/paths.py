"""The path guard: every name that becomes part of a lake path passes here first.

Names come from users (a CTAS target ``db."../x"``, a partition column, a pipeline spec key,
a run id typed into a trigger form) and end up as folders. Three rules keep them inside the
lake:

* **Names** that become one folder (database, table, column used as a partition key, batch
  id) must be plain: letters, digits, ``_`` and ``-``, not starting with ``-``
  (:func:`check_name`). Anything else is refused with an error naming the name and where it
  came from — never silently renamed, because two different names must not share a folder.
* **Partition values** are data, not names: they are encoded as Hive encodes them
  (``FileUtils.escapePathName``: ``/`` → ``%2F``, ``=`` → ``%3D``, ``%`` → ``%25`` …), so
  ``dt=../x`` is the single folder ``dt=..%2Fx`` (:func:`escape_partition_value`).
* **Paths** built from several parts (a crawler prefix ``landing/orders``) may not be
  absolute, may not contain ``..`` or ``.``, and once joined must still lie inside their zone
  (:func:`check_subpath`, :func:`ensure_inside`); :class:`lakeglue.storage.zones.Lake`
  applies these to every path it hands out and every commit it makes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

#: One folder made from a name: letters, digits, ``_`` and ``-`` (Hive, Glue and Athena all accept these).
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
MAX_SEGMENT = 255
#: Characters Hive's ``FileUtils.escapePathName`` (and Spark's ``ExternalCatalogUtils``) escape in a
#: partition value; NUL is added because no file system accepts it in a name.
_HIVE_ESCAPED = frozenset([chr(c) for c in range(0x00, 0x20)] + list("\"#%'*/:=?\\\x7f{[]^"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


class UnsafePathError(ValueError):
    """A name or path would leave its place in the lake; the message names it and where it came from."""


def _where(origin: str) -> str:
    return f" (from {origin})" if origin else ""


def check_name(name: str, what: str, origin: str = "") -> str:
    """``name`` if it can be one folder of the lake; else :class:`UnsafePathError`.

    ``what`` says which kind of name it is (``table``, ``partition column`` …) and ``origin``
    where it came from (``CREATE TABLE …``, ``spec ecommerce.yml: gold``), both for the message.
    """
    if not isinstance(name, str) or not name:
        raise UnsafePathError(f"{what} name is empty{_where(origin)}; a {what} needs a name")
    if len(name) > MAX_SEGMENT or not NAME.match(name):
        raise UnsafePathError(f"{what} name {name!r}{_where(origin)} cannot be used as a folder of the lake: "
                              f"use letters, digits, '_' and '-' only (at most {MAX_SEGMENT} characters, not "
                              "starting with '-')")
    return name


def check_names(names: Sequence[str], what: str, origin: str = "") -> tuple[str, ...]:
    return tuple(check_name(n, what, origin) for n in names)


def check_segment(segment: str, what: str, origin: str = "") -> str:
    """``segment`` if it is one harmless folder name: not empty, not ``.``/``..``, no ``/``, ``\\`` or control
    characters. Looser than :func:`check_name`, for folders such as ``_batch_id=<run id>`` or ``db.table``."""
    if not segment:
        raise UnsafePathError(f"{what} is empty{_where(origin)}")
    if segment in (".", "..") or "/" in segment or "\\" in segment or _CONTROL.search(segment):
        raise UnsafePathError(f"{what} {segment!r}{_where(origin)} cannot be a folder of the lake: it must not "
                              "be '.' or '..' or contain '/', '\\' or control characters")
    if len(segment.encode()) > MAX_SEGMENT:
        raise UnsafePathError(f"{what} {segment[:40]!r}…{_where(origin)} is longer than {MAX_SEGMENT} bytes")
    return segment


def check_subpath(path: str, what: str, origin: str = "", zone_relative: bool = False) -> list[str]:
    """The folders of a relative path (``landing/orders/`` → ``[landing, orders]``).

    Refuses absolute paths, URLs, ``..`` and ``.`` parts; empty parts (``a//b``, a trailing
    ``/``) are skipped. With ``zone_relative`` a leading ``/`` means "from the zone's root"
    (``Lake.path("raw", "/orders")``, a crawler prefix ``/ecommerce/``) and is dropped, never
    followed to the file system's root.
    """
    if "://" in path or (path.startswith("/") and not zone_relative):
        raise UnsafePathError(f"{what} {path!r}{_where(origin)} is absolute; it must be relative to its zone")
    return [check_segment(p, f"{what} {path!r}: part", origin) for p in path.split("/") if p]


def ensure_inside(root: str, path: str, what: str = "path") -> str:
    """``path`` if it is ``root`` or lies under it once normalised; else :class:`UnsafePathError`."""
    root = root.rstrip("/")
    if ".." in path.split("/"):
        raise UnsafePathError(f"{what} {path!r} contains '..'; lake paths never go up a folder")
    normal = posixpath.normpath(path) if path else path
    if normal != root and not normal.startswith(root + "/"):
        raise UnsafePathError(f"{what} {path!r} is outside {root or 'the lake'}")
    return path


def escape_partition_value(value: str) -> str:
    """A partition value as Hive writes it in a folder name (``a/b`` → ``a%2Fb``); empty → Hive's default."""
    if value == "":
        return "__HIVE_DEFAULT_PARTITION__"
    return "".join(f"%{ord(c):02X}" if c in _HIVE_ESCAPED else c for c in value)


def unescape_partition_value(text: str) -> str:
    """Inverse of :func:`escape_partition_value` (and of DuckDB's / Spark's encodings): ``%XX`` decoded as UTF-8."""
    if "%" not in text:
        return text
    raw = bytearray()
    pos = 0
    for match in _PERCENT.finditer(text):
        raw += text[pos:match.start()].encode()
        raw.append(int(match.group(1), 16))
        pos = match.end()
    raw += text[pos:].encode()
    return raw.decode("utf-8", errors="surrogateescape")


def partition_segment(key: str, value: str, origin: str = "") -> str:
    """``key=value`` for one partition folder: the key checked as a name, the value Hive-escaped."""
    return f"{check_name(key, 'partition column', origin)}={escape_partition_value(value)}"


def partition_folder(location: str, keys: Sequence[str], values: Sequence[str], origin: str = "") -> str:
    """``location/k1=v1/…`` with every value Hive-escaped (values are data and may hold any character)."""
    return posixpath.join(location, *[partition_segment(k, v, origin) for k, v in zip(keys, values, strict=True)])
