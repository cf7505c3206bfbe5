"""A GX store backend on any fsspec filesystem, so Data Docs and their stores live in an S3 (MinIO) lake.

Why it exists: GX 1.x deprecated its S3/GCS/Azure store backends and removed them
(great_expectations PR #11675; the installed 1.24.1 has only the local-filesystem, in-memory
and GX Cloud backends). GX still loads a store backend by ``module_name``/``class_name``,
and its :class:`TupleStoreBackend` does all the key ↔ path mapping; this class only does the
I/O, through the lake's own fsspec filesystem (``s3fs`` with the lake's endpoint and region),
so Data Docs reuse the lake's settings and need no second S3 client configuration.

Config (what :func:`lakeglue.quality.data_docs.new_context` writes): ``base_url`` (an
``s3://bucket/prefix`` URL) and ``storage_options`` (the lake's fsspec options), plus the
usual :class:`TupleStoreBackend` options. Imported only by GX's class loader, so importing
:mod:`lakeglue.quality` stays free of GX.
"""

from __future__ import annotations

import mimetypes
import posixpath
from typing import Any

import fsspec
from great_expectations.data_context.store.tuple_store_backend import TupleStoreBackend
from great_expectations.exceptions import InvalidKeyError
from great_expectations.util import filter_properties_dict

#: Key prefix of the site's static assets (CSS, JS, fonts: ~4 MB that GX copies on every build).
_STATIC = "static"


class TupleFsspecStoreBackend(TupleStoreBackend):
    """GX's tuple store (one object per key, ``<prefix>/<key parts>/<suffix>``) on an fsspec filesystem."""

    def __init__(self, base_url: str, storage_options: dict[str, Any] | None = None,
                 filepath_template: str | None = None, filepath_prefix: str | None = None,
                 filepath_suffix: str | None = None, forbidden_substrings: list[str] | None = None,
                 platform_specific_separator: bool = False, fixed_length_key: bool = False,
                 suppress_store_backend_id: bool = False, manually_initialize_store_backend_id: str = "",
                 base_public_path: str | None = None, store_name: str | None = None) -> None:
        super().__init__(
            filepath_template=filepath_template, filepath_prefix=filepath_prefix, filepath_suffix=filepath_suffix,
            forbidden_substrings=forbidden_substrings, platform_specific_separator=platform_specific_separator,
            fixed_length_key=fixed_length_key, suppress_store_backend_id=suppress_store_backend_id,
            manually_initialize_store_backend_id=manually_initialize_store_backend_id,
            base_public_path=base_public_path, store_name=store_name)
        # fsspec caches instances by arguments: the same options give the Lake's own filesystem object.
        fs, root = fsspec.core.url_to_fs(base_url, **(storage_options or {}))
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = str(root).rstrip("/")
        self.base_url = base_url.rstrip("/")
        if not self._suppress_store_backend_id:
            _ = self.store_backend_id  # as GX's filesystem backend: creates .ge_store_backend_id once
        self._config = {
            "base_url": base_url, "storage_options": storage_options, "filepath_template": filepath_template,
            "filepath_prefix": filepath_prefix, "filepath_suffix": filepath_suffix,
            "forbidden_substrings": forbidden_substrings, "platform_specific_separator": platform_specific_separator,
            "fixed_length_key": fixed_length_key, "suppress_store_backend_id": suppress_store_backend_id,
            "manually_initialize_store_backend_id": manually_initialize_store_backend_id,
            "base_public_path": base_public_path, "store_name": store_name,
            "module_name": self.__class__.__module__, "class_name": self.__class__.__name__,
        }
        filter_properties_dict(properties=self._config, clean_falsy=True, inplace=True)

    def _path(self, key: tuple[str, ...]) -> str:
        return posixpath.join(self.root, self._convert_key_to_filepath(key))

    def _get(self, key: tuple[str, ...]) -> str:  # type: ignore[override]  # GX annotates None, callers use it
        path = self._path(key)
        try:
            with self.fs.open(path, "rb") as fh:
                return bytes(fh.read()).decode("utf-8").rstrip("\n")
        except FileNotFoundError as exc:
            raise InvalidKeyError(f"no object for key {key} at {path}") from exc

    def _get_all(self) -> list[Any]:
        return [self._get(key) for key in self.list_keys() if key != self.STORE_BACKEND_ID_KEY]

    def _set(self, key: Any, value: str | bytes, **kwargs: Any) -> str:  # type: ignore[override]  # as _get
        if not isinstance(key, tuple):
            key = key.to_tuple()
        path = self._path(key)
        data = value.encode("utf-8") if isinstance(value, str) else value
        if key and key[0] == _STATIC and self._same_size(path, len(data)):
            return path  # GX rewrites every asset on every build; they only change with GX itself
        self.fs.pipe_file(path, data, **self._put_options(path, kwargs.get("content_type")))
        return path

    def _put_options(self, path: str, content_type: str | None) -> dict[str, Any]:
        """S3 objects get GX's content type (a site served from the bucket must say text/html)."""
        protocols = (self.fs.protocol,) if isinstance(self.fs.protocol, str) else tuple(self.fs.protocol)
        if "s3" not in protocols:
            return {}
        content_type = content_type or mimetypes.guess_type(path)[0]
        return {"ContentType": content_type} if content_type else {}

    def _same_size(self, path: str, size: int) -> bool:
        try:
            return int(self.fs.size(path)) == size
        except FileNotFoundError:
            return False

    def _move(self, source_key: tuple[str, ...], dest_key: tuple[str, ...], **kwargs: Any) -> Any:
        source, dest = self._path(source_key), self._path(dest_key)
        if not self.fs.exists(source):
            return False
        self.fs.mv(source, dest)
        return dest_key

    def list_keys(self, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        top = posixpath.join(self.root, *prefix)
        self.fs.invalidate_cache(top)  # other processes (earlier gate runs) wrote there too
        keys = []
        for path in self.fs.find(top):
            relative = posixpath.relpath(path, self.root)
            if self._is_missing_prefix_or_suffix(filepath_prefix=self.filepath_prefix,
                                                 filepath_suffix=self.filepath_suffix, key=relative):
                continue
            key = self._convert_filepath_to_key(relative)
            if key and not self.is_ignored_key(key):
                keys.append(key)
        return keys

    def remove_key(self, key: Any) -> bool:  # type: ignore[override]  # as _get
        if not isinstance(key, tuple):
            key = key.to_tuple()
        path = self._path(key)
        if not self.fs.exists(path):
            return False
        self.fs.rm_file(path)
        return True

    def _has_key(self, key: tuple[str, ...]) -> bool:
        return bool(self.fs.isfile(self._path(key)))

    def get_url_for_key(self, key: tuple[str, ...], protocol: str | None = None) -> str:
        """The object's URL (``s3://bucket/prefix/…``), unescaped: it names an object, not a web page."""
        return f"{self.base_url}/{self._convert_key_to_filepath(key)}"

    def get_public_url_for_key(self, key: tuple[str, ...], protocol: str | None = None) -> str:
        if not self.base_public_path:
            return self.get_url_for_key(key, protocol)
        return f"{self.base_public_path}{self._convert_key_to_filepath(key)}"

    @property
    def config(self) -> dict[str, Any]:
        return self._config
