"""Which catalog is in force: ``PYV_DOWNLOADS_JSON``, the refreshed file or the bundled one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyv.catalog.compact import read_catalog_file, read_catalog_header
from pyv.catalog.model import Catalog
from pyv.catalog.uv_json import parse_uv_json
from pyv.errors import ConfigError, NetworkError, PyvError
from pyv.settings import Settings

#: Where the catalog that ships with pyv lives.
#: Plain JSON: gzip would save ~800 kB on disk (the wheel is compressed anyway) but
#: costs ~3 ms of every load, a quarter of the total.
BUNDLED_CATALOG = Path(__file__).parent.parent / "data" / "catalog.json"
#: The file name ``pyv update`` writes under ``settings.catalog_dir``.
REFRESHED_NAME = "catalog.json"

_CACHE: dict[tuple[str, int, int], Catalog] = {}


def _cached_read(path: Path, source: str, *, validate: bool = True) -> Catalog:
    stat = path.stat()
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
    catalog = _CACHE.get(cache_key)
    if catalog is None:
        catalog = read_catalog_file(path, source=source, validate=validate)
        _CACHE[cache_key] = catalog
    return catalog


def bundled_catalog() -> Catalog:
    """The catalog that ships with pyv."""
    try:
        return _cached_read(BUNDLED_CATALOG, "bundled", validate=False)
    except (OSError, ConfigError) as exc:
        raise PyvError(
            f"the catalog bundled with pyv is missing or damaged ({exc})",
            "reinstall pyv, or set PYV_DOWNLOADS_JSON to a downloads JSON",
        ) from None


def _newer(header: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    mine = (str(header.get("newest_build", "")), str(header.get("generated", "")))
    theirs = (str(than.get("newest_build", "")), str(than.get("generated", "")))
    return mine > theirs


def load_catalog(settings: Settings) -> Catalog:
    """The catalog pyv uses: ``PYV_DOWNLOADS_JSON`` if set, else the refreshed
    catalog when it is newer than the bundled one, else the bundled one.

    A damaged refreshed catalog is ignored: the bundled one is returned with
    :attr:`Catalog.warning` saying why.
    """
    if settings.downloads_json:
        return _load_downloads_json(settings.downloads_json, settings)
    refreshed = settings.catalog_dir / REFRESHED_NAME
    if not refreshed.exists():
        return bundled_catalog()
    try:
        refreshed_header = read_catalog_header(refreshed)
        bundled_header = read_catalog_header(BUNDLED_CATALOG)
        if not _newer(refreshed_header, bundled_header):
            return bundled_catalog()
        return _cached_read(refreshed, str(refreshed))
    except (OSError, ConfigError) as exc:
        reason = exc.message if isinstance(exc, ConfigError) else str(exc)
        bundled = bundled_catalog()
        return Catalog(
            downloads=bundled.downloads, source=bundled.source, generated=bundled.generated,
            origin=bundled.origin,
            warning=f"ignoring the refreshed catalog ({reason}); run `pyv update` to rewrite it",
        )


def _load_downloads_json(location: str, settings: Settings) -> Catalog:
    hint = "fix the file, or unset PYV_DOWNLOADS_JSON to use the bundled catalog"
    if location.startswith(("http://", "https://")):
        from pyv.download import get

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
    try:
        return parse_uv_json(data, location)
    except ConfigError as exc:
        raise ConfigError(f"PYV_DOWNLOADS_JSON: {exc.message}", hint) from None

