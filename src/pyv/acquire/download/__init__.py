"""Downloads: one sequential stream that hashes, caches and resumes as it goes.

:func:`open_download` returns a :class:`DownloadStream`, a read-only file
object the installer feeds straight into its archive extractor. :func:`fetch`
drains a stream into a verified file; :func:`get` is a small request for
catalogs and release metadata.

The parts: :mod:`~pyv.acquire.download.client` (TLS, proxies, credentials, redirects),
:mod:`~pyv.acquire.download.retry` (which failures are retried, backoff),
:mod:`~pyv.acquire.download.resume` (what a response means for the bytes we hold),
:mod:`~pyv.acquire.download.stream` (the resumable stream, the stall rule) and
:mod:`~pyv.acquire.download.progress` (the one line per download).

This package imports httpx; import it lazily, from the functions that
actually download.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from pyv.acquire.download import retry
from pyv.acquire.download.client import Session, make_client, ssl_context
from pyv.acquire.download.progress import Progress, bar_stream
from pyv.acquire.download.retry import HttpStatusError
from pyv.acquire.download.stream import (
    DownloadStream,
    FetchResult,
    HttpStream,
    LocalStream,
    Stalled,
    StallGuard,
    filename_of,
    stall_error,
)
from pyv.core.errors import ArchiveError, IntegrityError, NetworkError, from_os_error
from pyv.core.hashing import normalize_digest, sha256_file
from pyv.core.report import SILENT, Reporter, redact

if TYPE_CHECKING:
    from pyv.core.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class HttpResponse:
    """A small, fully read response (header names lower-cased)."""

    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    url: str = ""


def _local_path(url: str) -> Path | None:
    """The file a ``file://`` URL or plain path names; ``None`` for other URLs."""
    if url.lower().startswith("file:"):
        parts = urllib.parse.urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise NetworkError(f"cannot read {url}: file:// URLs must name a local path",
                               "use file:///absolute/path")
        from urllib.request import url2pathname

        return Path(url2pathname(parts.path))
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url):
        return None
    return Path(url)


def _check_remote(url: str, settings: Settings) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise NetworkError(f"cannot download {redact(url)}: unsupported URL scheme {scheme!r}",
                           "use an http://, https:// or file:// URL")
    if settings.offline:
        raise NetworkError(
            f"offline mode (PYV_OFFLINE or --offline) forbids downloading {redact(url)}",
            "drop --offline / unset PYV_OFFLINE to use the network, or point pyv at files "
            "on disk (a file:// mirror, PYV_DOWNLOADS_JSON, a bundle)",
        )


def open_download(
    url: str,
    part_path: Path | None,
    settings: Settings,
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    label: str = "",
    report: Reporter = SILENT,
    status: str = "",
) -> DownloadStream:
    """Start downloading ``url``; read the returned stream sequentially.

    Bytes are appended to ``part_path`` (resumed if it already holds some);
    ``None`` keeps nothing on disk. The first request is sent before this
    returns, so a 404 or offline mode fails here, not mid-extraction. Once
    the server answered, ``status`` (say, "Downloading X from HOST") is the
    download's one line on ``report``: its progress bar on a terminal.
    """
    common: dict[str, Any] = {"label": label or filename_of(url),
                              "expected_sha256": expected_sha256,
                              "expected_size": expected_size}
    local = _local_path(url)
    if local is not None:
        report.detail(f"reading {local}")
        return LocalStream(local, url, part_path, **common)
    _check_remote(url, settings)
    report.detail(f"fetching {redact(url)}")
    progress = Progress(report, status, label=common["label"], bar=bar_stream(settings, report))
    stream = HttpStream(url, part_path, settings, progress=progress, **common)
    try:
        stream.start()
    except BaseException:
        stream.close()
        raise
    return stream


def fetch(
    url: str,
    dest: Path,
    settings: Settings,
    *,
    expected_sha256: str | None,
    expected_size: int | None = None,
    label: str = "",
    report: Reporter = SILENT,
    status: str = "",
) -> FetchResult:
    """Download ``url`` to ``dest`` (via ``dest.part``), verified, atomically.

    An existing ``dest`` whose checksum matches (or, with no checksum to
    check, whose size matches ``expected_size`` if given) is returned without
    any request. A resumed ``.part`` that fails verification is downloaded
    again from byte 0, once.
    """
    if dest.is_file():
        cached = _cache_hit(dest, expected_sha256, expected_size)
        if cached is not None:
            checked = "sha256 verified" if expected_sha256 else "size matches"
            report.detail(f"{dest.name} is already in the cache ({checked}): no download")
            return cached
    part = dest.with_name(dest.name + ".part")

    def attempt() -> FetchResult:
        stream = open_download(url, part, settings, expected_size=expected_size,
                               expected_sha256=expected_sha256, label=label or dest.name,
                               report=report, status=status)
        with stream:
            return stream.commit(dest)

    return restart_if_resumed(part, attempt, report=report)


def restart_if_resumed(part: Path, attempt: Callable[[], T], *, report: Reporter,
                       cleanup: Callable[[], None] | None = None) -> T:
    """Run ``attempt`` (a download into ``part`` that verifies what it read).

    If its bytes fail verification (:class:`IntegrityError`, or an archive
    that does not decode) and ``part`` held bytes of an earlier run, those may
    belong to another file: delete ``part``, call ``cleanup`` and run
    ``attempt`` once more, from byte 0.
    """
    try:
        resumed = part.stat().st_size > 0
    except OSError:
        resumed = False
    try:
        return attempt()
    except (IntegrityError, ArchiveError):
        if not resumed:
            raise
    report.notice(f"The partial download {part.name} did not verify; "
                  "downloading it again from the start")
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
    if cleanup is not None:
        cleanup()
    return attempt()


def _cache_hit(dest: Path, expected_sha256: str | None, expected_size: int | None
               ) -> FetchResult | None:
    size = dest.stat().st_size
    if expected_size is not None and size != expected_size:
        return None
    digest = sha256_file(dest)
    if expected_sha256 is not None and normalize_digest(expected_sha256) != digest:
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        return None
    return FetchResult(dest, digest, size, from_cache=True)


def _read_body(response: httpx.Response, url: str, stall_timeout: float) -> bytes:
    """The whole (decoded) body, under the stall rule: a trickle fails at once."""
    guard = StallGuard(stall_timeout)
    chunks = response.iter_bytes()
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = guard.next_chunk(chunks, size)
        except Stalled as exc:
            raise stall_error(filename_of(url), url, stall_timeout, exc.fetched, None) from None
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)


def get(url: str, settings: Settings, *, headers: Mapping[str, str] | None = None
        ) -> HttpResponse:
    """A small GET with the download retry policy; 2xx and 304 are returned.

    ``file://`` URLs and plain paths are read directly (status 200).
    """
    local = _local_path(url)
    if local is not None:
        try:
            return HttpResponse(200, local.read_bytes(), {}, url)
        except FileNotFoundError:
            raise NetworkError(f"{local} not found", "check the URL or path") from None
        except OSError as exc:
            raise from_os_error(exc, f"reading {local}") from None
    _check_remote(url, settings)
    what = filename_of(url)
    policy = retry.RetryPolicy(settings.retries, keeps_partial=False)
    session = Session(settings)
    try:
        while True:
            try:
                response = session.open(url, headers or {})
                try:
                    content = _read_body(response, url, settings.stall_timeout)
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                error, again = retry.classify(exc, url)
                if not again:
                    raise error from None
                policy.failed(error)
                continue
            status = response.status_code
            if retry.retryable_status(status):
                policy.failed(retry.status_error(status, url, what),
                              retry_after=retry.retry_after(response.headers))
                continue
            if 200 <= status < 300 or status == 304:
                return HttpResponse(status, content,
                                    {k.lower(): v for k, v in response.headers.items()},
                                    redact(str(response.url)))
            raise retry.status_error(status, url, what)
    finally:
        session.close()


__all__ = [
    "DownloadStream",
    "FetchResult",
    "HttpResponse",
    "HttpStatusError",
    "fetch",
    "get",
    "make_client",
    "open_download",
    "redact",
    "restart_if_resumed",
    "ssl_context",
]
