"""Which catalog is in force: ``PYV_DOWNLOADS_JSON``, the refreshed file or the bundled one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, TypeVar

from pyv.acquire.catalog.compact import (
    Rows,
    read_catalog_file,
    read_catalog_header,
    read_rows,
    rows_of,
)
from pyv.acquire.catalog.model import Catalog
from pyv.core.errors import ConfigError, NetworkError, PyvError
from pyv.core.settings import Settings

#: Where the catalog that ships with pyv lives.
#: Plain JSON: gzip would save ~800 kB on disk (the wheel is compressed anyway) but
#: costs ~3 ms of every load, a quarter of the total.
BUNDLED_CATALOG = Path(__file__).parent.parent / "data" / "catalog.json"
#: The file name ``pyv update`` writes under ``settings.catalog_dir``.
REFRESHED_NAME = "catalog.json"

T = TypeVar("T")
_CACHE: dict[tuple[str, int, int, bool], Any] = {}


def _cached(read: Callable[..., T], path: Path, source: str, validate: bool) -> T:
    stat = path.stat()
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size, read is read_rows)
    found: T | None = _CACHE.get(cache_key)
    if found is None:
        found = _CACHE[cache_key] = read(path, source=source, validate=validate)
    return found


def _bundled(read: Callable[..., T]) -> T:
    try:
        return _cached(read, BUNDLED_CATALOG, "bundled", validate=False)
    except (OSError, ConfigError) as exc:
        raise PyvError(
            f"the catalog bundled with pyv is missing or damaged ({exc})",
            "reinstall pyv, or set PYV_DOWNLOADS_JSON to a downloads JSON",
        ) from None


def bundled_catalog() -> Catalog:
    """The catalog that ships with pyv."""
    return _bundled(read_catalog_file)


def newer(header: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    """Whether the catalog with ``header`` is newer than the one with ``than``."""
    mine = (str(header.get("newest_build", "")), str(header.get("generated", "")))
    theirs = (str(than.get("newest_build", "")), str(than.get("generated", "")))
    return mine > theirs


def _in_force(settings: Settings, read: Callable[..., T]) -> tuple[T, str | None]:
    """What ``read`` makes of the compact file in force, and why the refreshed one was
    ignored (if it was): the refreshed catalog when it is newer than the bundled one."""
    refreshed = settings.catalog_dir / REFRESHED_NAME
    if not refreshed.exists():
        return _bundled(read), None
    try:
        if newer(read_catalog_header(refreshed), read_catalog_header(BUNDLED_CATALOG)):
            return _cached(read, refreshed, str(refreshed), validate=True), None
    except (OSError, ConfigError) as exc:
        reason = exc.message if isinstance(exc, ConfigError) else str(exc)
        warning = f"ignoring the refreshed catalog ({reason}); run `pyv update` to rewrite it"
        return _bundled(read), warning
    return _bundled(read), None


def load_catalog(settings: Settings) -> Catalog:
    """The catalog pyv uses: ``PYV_DOWNLOADS_JSON`` if set, else the refreshed
    catalog when it is newer than the bundled one, else the bundled one.

    A damaged refreshed catalog is ignored: the bundled one is returned with
    :attr:`Catalog.warning` saying why.
    """
    if settings.downloads_json:
        return _load_downloads_json(settings.downloads_json, settings)
    catalog, warning = _in_force(settings, read_catalog_file)
    return catalog if warning is None else replace(catalog, warning=warning)


def load_rows(settings: Settings) -> Rows:
    """The catalog :func:`load_catalog` returns, as the compact file's rows: for the
    compact files that skips building a :class:`Download` per build."""
    if settings.downloads_json:
        return rows_of(_load_downloads_json(settings.downloads_json, settings))
    rows, warning = _in_force(settings, read_rows)
    return rows if warning is None else replace(rows, warning=warning)


def _load_downloads_json(location: str, settings: Settings) -> Catalog:
    hint = "fix the file, or unset PYV_DOWNLOADS_JSON to use the bundled catalog"
    if location.startswith(("http://", "https://")):
        from pyv.acquire.download import get

        response = get(location, settings)
        if not 200 <= response.status < 300:
            raise NetworkError(
                f"cannot fetch PYV_DOWNLOADS_JSON {location}: HTTP {response.status}",
                "check the URL, or unset PYV_DOWNLOADS_JSON",
            )
        data = response.content
    else:
        if location.startswith("file:"):
            from urllib.parse import urlparse
            from urllib.request import url2pathname

            path = Path(url2pathname(urlparse(location).path))
        else:
            path = Path(os.path.expanduser(location))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read PYV_DOWNLOADS_JSON {path}: {exc.strerror or exc}", hint
            ) from None
    from pyv.acquire.catalog.uv_json import parse_uv_json

    try:
        return parse_uv_json(data, location)
    except ConfigError as exc:
        raise ConfigError(f"PYV_DOWNLOADS_JSON: {exc.message}", hint) from None

