"""What ``pyv install`` would do: each request's build, chosen from the catalog (or read
from a local archive's name), and ``--dry-run``'s report of it. Nothing here downloads or
writes; :func:`pyv.acquire.installer.install` carries a plan out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import ArchiveError, NotFound, PyvError, UsageError
from pyv.core.records import record
from pyv.core.report import SILENT, Reporter

if TYPE_CHECKING:
    from pyv.acquire.catalog import Catalog, Download
    from pyv.core.platform import Host
    from pyv.core.settings import Settings


@record(frozen=True)
class InstallOptions:
    reinstall: bool = False
    allow_missing_checksum: bool = False
    sha256: str | None = None  # for local archive files
    store: Path | None = None  # --store DIR: write there instead of the user's store


@record(frozen=True)
class PlannedInstall:
    """One request and the build that installs it."""

    request: str
    download: Download
    #: The archive file, for a local archive (else the catalog's URL is fetched).
    local: Path | None = None


def plan_installs(
    settings: Settings,
    request_texts: Sequence[str],
    options: InstallOptions,
    *,
    host: Host,
    report: Reporter = SILENT,
    cwd: Path | None = None,
) -> list[PlannedInstall]:
    """The build for each request, in order (the catalog is read once, when needed)."""
    planned: list[PlannedInstall] = []
    catalog: Catalog | None = None
    for text in request_texts:
        if is_local_archive(text):
            path = Path(text).expanduser()
            if not path.is_absolute() and cwd is not None:
                path = cwd / path
            download = _download_for_local_archive(settings, path, options)
            report.detail(f"{text!r} is a local archive: {download.key}")
            planned.append(PlannedInstall(text, download, path))
            continue
        if catalog is None:
            from pyv.acquire.catalog import load_catalog

            catalog = load_catalog(settings)
        planned.append(PlannedInstall(text, _resolve(settings, catalog, text, host, report)))
    return planned


def is_local_archive(text: str) -> bool:
    lowered = text.lower()
    return lowered.endswith((".tar.gz", ".tgz", ".tar.zst", ".tar.bz2", ".zip")) and (
        "/" in text or os.path.exists(text)
    )



def _resolve(settings: Settings, catalog: Catalog, text: str, host: Host,
             report: Reporter = SILENT) -> Download:
    from pyv.acquire.catalog import best_download
    from pyv.core.requests import parse_request

    request = parse_request(text)
    report.detail(f"request {request.describe()}")
    if request.kind in ("path", "system", "name"):
        raise UsageError(
            f"{text!r} names an interpreter, not a version to install",
            "give a version such as 3.12, or a path to an archive file",
        )
    chosen = best_download(catalog, request, host, arch_variant=settings.arch_variant)
    if report.verbose:
        report.detail(f"chose {chosen.key} (build {chosen.build}): the best match for "
                      f"{text!r} that runs on this host ({host.describe()}); best means "
                      "CPython unless asked, final before pre-release, newest version, "
                      "newest build")
    return chosen


def _download_for_local_archive(
    settings: Settings, path: Path, options: InstallOptions
) -> Download:
    """Describe a local python-build-standalone archive from its file name."""
    from pyv.acquire.catalog import downloads_from_sha256sums, load_catalog

    if not path.is_file():
        raise NotFound(f"no archive file at {path}", "check the path")
    name = path.name
    catalog_sha: str | None = None
    with contextlib.suppress(PyvError):
        for d in load_catalog(settings).downloads:
            if d.filename == name:
                catalog_sha = d.sha256
                break
    expected = (options.sha256 or catalog_sha or "").lower() or None
    tag = name.split("+", 1)[1].split("-", 1)[0] if "+" in name else "local"
    parsed = downloads_from_sha256sums(
        f"{expected or '0' * 64}  {name}\n", tag, path.parent.as_uri()
    )
    if not parsed:
        raise ArchiveError(
            f"cannot tell which Python {name} holds",
            "keep the python-build-standalone file name (cpython-X.Y.Z+TAG-TRIPLE-….tar.gz)",
        )
    from dataclasses import replace

    return replace(parsed[0], url=path.as_uri(), sha256=expected)


