"""Mirror settings applied to a download's URL."""

from __future__ import annotations

from pyv.acquire.catalog.model import Download
from pyv.core.settings import (
    GRAALPY_DOWNLOAD_PREFIX,
    PBS_DOWNLOAD_PREFIX,
    PYPY_DOWNLOAD_PREFIX,
    Settings,
)


def download_url(download: Download, settings: Settings) -> str:
    """Where to fetch ``download`` from, after applying the configured mirrors.

    A mirror given as a plain directory yields a path, and paths name files as
    they are on disk: ``cpython-3.12.4+20240713-…``, not the URL's ``%2B``.
    """
    for prefix, mirror in (
        (PBS_DOWNLOAD_PREFIX, settings.python_install_mirror),
        (PYPY_DOWNLOAD_PREFIX, settings.pypy_install_mirror),
        (GRAALPY_DOWNLOAD_PREFIX, settings.graalpy_install_mirror),
    ):
        if mirror and download.url.startswith(prefix + "/"):
            rest = download.url[len(prefix):]
            if "://" not in mirror:
                from urllib.parse import unquote

                rest = unquote(rest)
            return mirror.rstrip("/") + rest
    return download.url
