"""``pyv update``: refresh the catalog of builds from upstream, without upgrading pyv.

Two sources:

* python-build-standalone (default): ``latest-release.json`` names the newest
  release tag; if it is newer than the catalog's newest build, that tag's
  ``SHA256SUMS`` is read and its downloads merged into the current catalog
  (newest build wins a shared key). Only the latest tag is known this way:
  tags released between the catalog's newest and the latest are skipped, which
  costs nothing because every release carries all supported versions.
* ``PYV_DOWNLOADS_JSON`` set to an ``http(s)`` URL: that uv-schema JSON, whole.

Requests are conditional (``If-None-Match`` / ``If-Modified-Since`` with the
validators remembered in ``catalog_dir/refresh.json``), the new catalog is
written atomically to ``catalog_dir/catalog.json`` and nothing is written
unless the whole refresh succeeded: a failure keeps the previous catalog.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyv.core.errors import ConfigError, NetworkError, PyvError

if TYPE_CHECKING:
    from pyv.acquire.catalog import Catalog
    from pyv.core.settings import Settings

STATE_NAME = "refresh.json"
_TAG_RE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class CatalogStatus:
    """Where the catalog in use came from and how old it is."""

    source: str
    newest_build: str | None
    #: When the catalog was generated or last confirmed current upstream.
    fetched_at: datetime | None
    age_days: float | None

    def describe(self) -> str:
        newest = f", newest build {self.newest_build}" if self.newest_build else ""
        age = f", {self.age_days:.0f} days old" if self.age_days is not None else ""
        return f"catalog: {self.source}{newest}{age}"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "newest_build": self.newest_build,
                "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
                "age_days": None if self.age_days is None else round(self.age_days, 1)}


@dataclass(frozen=True)
class RefreshState:
    """What ``catalog_dir/refresh.json`` remembers between runs."""

    source: str = ""
    checked_at: str = ""
    newest_build: str = ""
    #: URL -> {"etag": ..., "last-modified": ...}
    validators: dict[str, dict[str, str]] | None = None

    def validators_for(self, url: str) -> dict[str, str]:
        return dict((self.validators or {}).get(url, {}))


@dataclass(frozen=True)
class RefreshResult:
    """The outcome of a successful ``pyv update``."""

    updated: bool
    source: str
    newest_build: str
    added: tuple[str, ...]
    message: str
    path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"updated": self.updated, "source": self.source, "newest_build": self.newest_build,
                "added": list(self.added), "message": self.message,
                "path": str(self.path) if self.path else None}


# ----- state -------------------------------------------------------------------
def state_path(settings: Settings) -> Path:
    return settings.catalog_dir / STATE_NAME


def read_state(settings: Settings) -> RefreshState:
    try:
        data = json.loads(state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return RefreshState()
    if not isinstance(data, dict):
        return RefreshState()
    validators = data.get("validators")
    if not isinstance(validators, dict):
        validators = {}
    clean = {str(url): {str(k): str(v) for k, v in value.items()}
             for url, value in validators.items() if isinstance(value, dict)}
    return RefreshState(source=str(data.get("source", "")),
                        checked_at=str(data.get("checked_at", "")),
                        newest_build=str(data.get("newest_build", "")), validators=clean)


def _write_json_atomic(path: Path, data: object) -> None:
    from pyv.core.fsutil import atomic_write

    atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n", durable=True)


def _save_state(settings: Settings, state: RefreshState) -> None:
    _write_json_atomic(state_path(settings), {
        "source": state.source, "checked_at": state.checked_at,
        "newest_build": state.newest_build, "validators": state.validators or {},
    })


def _validators_of(headers: dict[str, str] | Any) -> dict[str, str]:
    kept = {}
    for name in ("etag", "last-modified"):
        value = headers.get(name)
        if value:
            kept[name] = value
    return kept


def _conditional_headers(validators: dict[str, str]) -> dict[str, str]:
    headers = {}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last-modified"):
        headers["If-Modified-Since"] = validators["last-modified"]
    return headers


def _now_iso(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).replace(microsecond=0).isoformat()


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


# ----- refreshing ---------------------------------------------------------------
def refresh_catalog(settings: Settings, *, now: float | None = None) -> RefreshResult:
    """Refresh the catalog from upstream; raises :class:`PyvError` (previous catalog kept)."""
    from pyv.core.locking import acquire

    clock = time.time() if now is None else now
    try:
        settings.catalog_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from pyv.core.errors import from_os_error

        raise from_os_error(exc, f"creating {settings.catalog_dir}") from None
    with acquire(settings.catalog_dir / ".lock", timeout=settings.lock_timeout,
                 mode=settings.lock_mode, what=f"the catalog in {settings.catalog_dir}"):
        try:
            if settings.downloads_json:
                return _refresh_downloads_json(settings, settings.downloads_json, clock)
            return _refresh_pbs(settings, clock)
        except PyvError as exc:
            # Same class and exit code, with the consequence spelled out.
            exc.message = (f"catalog refresh failed: {exc.message.rstrip('.')}; "
                           "kept the previous catalog")
            exc.args = (exc.message,)
            raise


def _get(url: str, settings: Settings, headers: dict[str, str]) -> Any:
    from pyv.acquire.download import get

    return get(url, settings, headers=headers)


def _current_catalog(settings: Settings) -> Catalog:
    from pyv.acquire.catalog import load_catalog

    return load_catalog(settings.replace(downloads_json=None))


def _refresh_pbs(settings: Settings, clock: float) -> RefreshResult:
    from pyv.acquire.catalog import (
        REFRESHED_NAME,
        Catalog,
        downloads_from_sha256sums,
        merge_downloads,
    )

    url = settings.latest_release_url
    current = _current_catalog(settings)
    state = read_state(settings)
    refreshed = settings.catalog_dir / REFRESHED_NAME
    # Validators only count while the catalog they vouch for is still in use.
    usable = state.source == url and (
        refreshed.exists() or state.newest_build <= current.newest_build)
    validators = state.validators_for(url) if usable else {}
    response = _get(url, settings, _conditional_headers(validators))
    if response.status == 304:
        _save_state(settings, RefreshState(url, _now_iso(clock), current.newest_build,
                                           {url: validators}))
        return RefreshResult(False, url, current.newest_build, (),
                             f"catalog is up to date (newest build {current.newest_build}; "
                             "upstream unchanged)")
    tag = _latest_tag(response.content, url)
    new_validators = {url: _validators_of(response.headers)}
    if tag <= current.newest_build:
        _save_state(settings, RefreshState(url, _now_iso(clock), current.newest_build,
                                           new_validators))
        return RefreshResult(False, url, current.newest_build, (),
                             f"catalog is up to date (newest build {current.newest_build}, "
                             f"upstream latest {tag})")
    base = settings.release_download_url.rstrip("/")
    sums_url = f"{base}/{tag}/SHA256SUMS"
    sums = _get(sums_url, settings, {})
    try:
        text = sums.content.decode("utf-8")
    except UnicodeDecodeError:
        raise NetworkError(f"{sums_url} is not a text SHA256SUMS file",
                           "try again later; upstream may be mid-release") from None
    new = downloads_from_sha256sums(text, tag, base)
    if not new:
        raise NetworkError(f"{sums_url} lists no archives pyv can use",
                           "try again later; upstream may be mid-release")
    known = {d.key: d.build for d in current.downloads}
    added = tuple(sorted(d.key for d in new if d.key not in known))
    catalog = Catalog(downloads=tuple(merge_downloads(current.downloads, new)),
                      source=url, generated=_now_iso(clock), origin=sums_url)
    _save(settings, catalog, RefreshState(url, _now_iso(clock), tag, new_validators))
    return RefreshResult(
        True, url, tag, added,
        f"catalog updated to build {tag}: {len(new)} downloads from {sums_url} "
        f"({len(added)} new versions or platforms)",
        settings.catalog_dir / REFRESHED_NAME,
    )


def _latest_tag(content: bytes, url: str) -> str:
    try:
        data = json.loads(content)
        tag = data["tag"]
    except (ValueError, KeyError, TypeError):
        raise NetworkError(f"{url} is not a valid latest-release.json",
                           "check PYV_LATEST_RELEASE_URL, or try again later") from None
    if not isinstance(tag, str) or not _TAG_RE.match(tag):
        raise NetworkError(f"{url} names an unexpected release tag {tag!r}",
                           "check PYV_LATEST_RELEASE_URL, or try again later")
    return tag


def _refresh_downloads_json(settings: Settings, location: str, clock: float) -> RefreshResult:
    from pyv.acquire.catalog import REFRESHED_NAME, Catalog, parse_uv_json

    if not _is_http(location):
        raise ConfigError(
            f"PYV_DOWNLOADS_JSON names a local file ({location}), read directly on every run",
            "edit that file, or unset PYV_DOWNLOADS_JSON to refresh from upstream",
        )
    state = read_state(settings)
    refreshed = settings.catalog_dir / REFRESHED_NAME
    validators = state.validators_for(location) if refreshed.exists() else {}
    response = _get(location, settings, _conditional_headers(validators))
    if response.status == 304:
        _save_state(settings, RefreshState(location, _now_iso(clock), state.newest_build,
                                           {location: validators}))
        return RefreshResult(False, location, state.newest_build, (),
                             f"catalog is up to date ({location} unchanged)")
    parsed = parse_uv_json(response.content, location)
    if not parsed.downloads:
        raise NetworkError(f"{location} lists no downloads pyv can use",
                           "check PYV_DOWNLOADS_JSON")
    previous = {d.key for d in _current_catalog(settings).downloads}
    catalog = Catalog(downloads=parsed.downloads, source=location, generated=_now_iso(clock),
                      origin=location)
    newest = catalog.newest_build
    _save(settings, catalog, RefreshState(location, _now_iso(clock), newest,
                                          {location: _validators_of(response.headers)}))
    added = tuple(sorted(d.key for d in parsed.downloads if d.key not in previous))
    return RefreshResult(True, location, newest, added,
                         f"catalog updated from {location}: {len(parsed.downloads)} downloads",
                         refreshed)


def _save(settings: Settings, catalog: Catalog, state: RefreshState) -> None:
    from pyv.acquire.catalog import REFRESHED_NAME, save_catalog
    from pyv.core.errors import from_os_error

    try:
        save_catalog(catalog, settings.catalog_dir / REFRESHED_NAME)
        _save_state(settings, state)
    except OSError as exc:
        raise from_os_error(exc, f"writing the catalog to {settings.catalog_dir}") from None


# ----- status ----------------------------------------------------------------------
def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _build_date(build: str | None) -> datetime | None:
    if not build or not _TAG_RE.match(build):
        return None
    try:
        # Not strptime: its first call imports and compiles the locale machinery.
        return datetime(int(build[:4]), int(build[4:6]), int(build[6:]), tzinfo=timezone.utc)
    except ValueError:
        return None


def catalog_status(settings: Settings, *, now: float | None = None) -> CatalogStatus:
    """Where the catalog ``load_catalog`` uses comes from, its newest build and its age.

    The age counts from the newest of: the catalog's generation time, its newest
    build's release date, and the last refresh that found upstream unchanged.
    Reads only catalog headers and the refresh state (no network).
    """
    from pyv.acquire.catalog.compact import read_catalog_header
    from pyv.acquire.catalog.loading import BUNDLED_CATALOG, REFRESHED_NAME, newer

    clock = time.time() if now is None else now
    state = read_state(settings)
    if settings.downloads_json:
        location = settings.downloads_json
        when: datetime | None = None
        if _is_http(location):
            when = _parse_time(state.checked_at) if state.source == location else None
            newest = (state.newest_build or None) if state.source == location else None
        else:
            path = Path(location[len("file://"):] if location.startswith("file://") else location)
            try:
                when = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            except OSError:
                when = None
            newest = None
        return CatalogStatus(f"PYV_DOWNLOADS_JSON {location}", newest, when, _age(when, clock))
    bundled = read_catalog_header(BUNDLED_CATALOG)
    header, source = bundled, "bundled with pyv"
    refreshed = settings.catalog_dir / REFRESHED_NAME
    if refreshed.exists():
        try:
            candidate = read_catalog_header(refreshed)
        except ConfigError:
            candidate = None
        if candidate is not None and newer(candidate, bundled):
            header = candidate
            source = f"refreshed from {state.source or candidate.get('origin') or refreshed}"
    newest = str(header.get("newest_build") or "") or None
    times = [t for t in (_parse_time(str(header.get("generated", ""))), _build_date(newest))
             if t is not None]
    if state.source == settings.latest_release_url:
        checked = _parse_time(state.checked_at)
        if checked is not None:
            times.append(checked)
    when = max(times) if times else None
    return CatalogStatus(source, newest, when, _age(when, clock))


def _age(when: datetime | None, clock: float) -> float | None:
    if when is None:
        return None
    return max(0.0, (clock - when.timestamp()) / 86400)
