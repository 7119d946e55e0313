"""The catalog of installable interpreter builds, and choosing one for a request.

The catalog ships inside the package (``pyv/data/catalog.json``, written by
``scripts/generate_catalog.py``); ``pyv update`` may write a newer one to
``$PYV_HOME/catalog/catalog.json``; ``PYV_DOWNLOADS_JSON`` replaces both with a
uv-schema JSON. All three are read by :func:`load_catalog`.

One concept per module: :mod:`~pyv.acquire.catalog.model` (a download, its fields and
their checks), :mod:`~pyv.acquire.catalog.compact` (the file pyv ships and writes),
:mod:`~pyv.acquire.catalog.uv_json`, :mod:`~pyv.acquire.catalog.sha256sums` (release files),
:mod:`~pyv.acquire.catalog.loading` (which catalog is in force),
:mod:`~pyv.acquire.catalog.choice` (build choice), :mod:`~pyv.acquire.catalog.mirrors` and
:mod:`~pyv.acquire.catalog.listing` (``pyv list`` without a model object per build).

The names below are imported from their module on first use, so that a command
pays only for the parts it touches (the SHA256SUMS patterns, say, are compiled
only by ``pyv update``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and readers see them; __getattr__ loads them
    from pyv.acquire.catalog.choice import (
        best_download,
        matching_downloads,
    )
    from pyv.acquire.catalog.compact import (
        FORMAT,
        FORMAT_VERSION,
        read_catalog_file,
        read_catalog_header,
        save_catalog,
    )
    from pyv.acquire.catalog.loading import (
        BUNDLED_CATALOG,
        REFRESHED_NAME,
        bundled_catalog,
        load_catalog,
    )
    from pyv.acquire.catalog.mirrors import (
        download_url,
    )
    from pyv.acquire.catalog.model import (
        ARCH_VARIANTS,
        SUPPORTED_OS,
        VARIANTS,
        Catalog,
        Download,
        archive_format_of,
        installable,
        make_download,
        now_iso,
    )
    from pyv.acquire.catalog.sha256sums import (
        download_from_pbs_filename,
        downloads_from_sha256sums,
        merge_downloads,
    )
    from pyv.acquire.catalog.uv_json import (
        parse_uv_json,
        to_uv_json,
    )

_HOMES = {
    "choice": ("best_download", "matching_downloads"),
    "compact": (
        "FORMAT", "FORMAT_VERSION", "read_catalog_file", "read_catalog_header", "save_catalog",
    ),
    "loading": ("BUNDLED_CATALOG", "REFRESHED_NAME", "bundled_catalog", "load_catalog"),
    "mirrors": ("download_url",),
    "model": (
        "ARCH_VARIANTS", "SUPPORTED_OS", "VARIANTS", "Catalog", "Download", "archive_format_of",
        "installable", "make_download", "now_iso",
    ),
    "sha256sums": (
        "download_from_pbs_filename", "downloads_from_sha256sums", "merge_downloads",
    ),
    "uv_json": ("parse_uv_json", "to_uv_json"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "ARCH_VARIANTS",
    "BUNDLED_CATALOG",
    "FORMAT",
    "FORMAT_VERSION",
    "REFRESHED_NAME",
    "SUPPORTED_OS",
    "VARIANTS",
    "Catalog",
    "Download",
    "archive_format_of",
    "best_download",
    "bundled_catalog",
    "download_from_pbs_filename",
    "download_url",
    "downloads_from_sha256sums",
    "installable",
    "load_catalog",
    "make_download",
    "matching_downloads",
    "merge_downloads",
    "now_iso",
    "parse_uv_json",
    "read_catalog_file",
    "read_catalog_header",
    "save_catalog",
    "to_uv_json",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'pyv.acquire.catalog' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pyv.acquire.catalog.{module}"), name)
    globals()[name] = value
    return value
