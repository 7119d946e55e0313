"""Retry policy: which failures earn another attempt, and how long to wait first.

Retried: HTTP 429 and 5xx, and a connection that broke or timed out while
talking to a server that did answer (reset, closed early, read timeout).
Everything else fails at once, with one line: a name that does not resolve,
a refused connection, TLS errors, other HTTP statuses.
"""

from __future__ import annotations

import email.utils
import random
import socket
import ssl
import time
from collections.abc import Mapping
from typing import NoReturn

import httpx

from pyv.acquire.download.client import host_of, reason
from pyv.core.errors import NetworkError
from pyv.core.report import redact

#: Backoff before retry ``k`` (0-based): ``BACKOFF_BASE * 2**k`` capped at
#: ``BACKOFF_MAX``, times a random factor in [0.5, 1). Tests shrink these.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 20.0
#: A server's ``Retry-After`` is honoured up to this many seconds.
RETRY_AFTER_CAP = 60.0
#: With resets on progress, a download may fail more often than ``retries`` in
#: total; this multiple of ``retries`` bounds it anyway.
TOTAL_ATTEMPTS_FACTOR = 8
#: Indirection so tests can record (and skip) the waits.
_sleep = time.sleep

MIRROR_HINT = ("check your network and proxy (HTTPS_PROXY), or use a mirror: "
               "PYV_PYTHON_INSTALL_MIRROR, and PYV_DOWNLOADS_JSON for a private catalog")


class HttpStatusError(NetworkError):
    """An HTTP status pyv does not retry (most 4xx), or one that kept failing."""

    def __init__(self, message: str, hint: str | None, *, status: int, url: str) -> None:
        super().__init__(message, hint)
        self.status = status
        self.url = url


class Retryable(Exception):
    """A failure worth another attempt; ``error`` is raised if attempts run out."""

    def __init__(self, error: NetworkError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # httpx -> httpcore -> socket: a short chain
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify(exc: httpx.HTTPError, url: str) -> tuple[NetworkError, bool]:
    """A user-facing error for a transport failure, and whether to retry it."""
    host = host_of(url)
    if isinstance(exc, httpx.TooManyRedirects):
        return NetworkError(f"too many redirects fetching {redact(url)}",
                            "check PYV_PYTHON_INSTALL_MIRROR"), False
    if isinstance(exc, httpx.ConnectError) and (
        "CERTIFICATE_VERIFY_FAILED" in str(exc) or _caused_by(exc, ssl.SSLCertVerificationError)
    ):
        return NetworkError(
            f"TLS certificate verification failed for {host}: {reason(exc)}",
            "if a proxy or firewall re-signs TLS traffic, set SSL_CERT_FILE to its CA bundle",
        ), False
    if isinstance(exc, httpx.ConnectError) and _caused_by(exc, ssl.SSLError):
        return NetworkError(f"TLS handshake with {host} failed: {reason(exc)}",
                            "check SSL_CERT_FILE/SSL_CERT_DIR and your proxy settings"), False
    if isinstance(exc, httpx.ProxyError):
        return NetworkError(f"the proxy failed for {host}: {reason(exc)}",
                            "check HTTPS_PROXY/HTTP_PROXY/NO_PROXY"), False
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(
            f"timed out talking to {host}",
            "check your network or proxy, or raise PYV_CONNECT_TIMEOUT / PYV_READ_TIMEOUT",
        ), True
    if isinstance(exc, httpx.ConnectError):
        if _caused_by(exc, socket.gaierror):  # retrying cannot make a name resolve
            return NetworkError(f"cannot resolve the host name {host}: {reason(exc)}",
                                MIRROR_HINT), False
        # Reset while connecting: the server is there but busy; refused: nothing listens.
        return NetworkError(f"cannot reach {host}: {reason(exc)}", MIRROR_HINT), \
            _caused_by(exc, ConnectionResetError)
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
        return NetworkError(f"the connection to {host} broke: {reason(exc)}", MIRROR_HINT), True
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return NetworkError(f"cannot download {redact(url)}: {reason(exc)}",
                            "use an http://, https:// or file:// URL"), False
    return NetworkError(f"request to {host} failed: {reason(exc)}", MIRROR_HINT), False


def status_error(status: int, url: str, what: str) -> HttpStatusError:
    shown = redact(url)
    if status in (404, 410):
        return HttpStatusError(f"{what} not found on the mirror (HTTP {status}): {shown}",
                               "check PYV_PYTHON_INSTALL_MIRROR", status=status, url=shown)
    if status in (401, 403, 407):
        return HttpStatusError(
            f"access to {what} was denied (HTTP {status}): {shown}",
            "check the credentials in the mirror URL or ~/.netrc, and your proxy",
            status=status, url=shown,
        )
    return HttpStatusError(f"HTTP {status} fetching {what}: {shown}", MIRROR_HINT,
                           status=status, url=shown)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date)."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class RetryPolicy:
    """Bounded retries with exponential backoff and jitter.

    ``retries`` bounds consecutive failures that made no progress; a failure
    after new bytes arrived starts the count again, and the total is bounded
    by ``TOTAL_ATTEMPTS_FACTOR * retries``.
    """

    def __init__(self, retries: int, *, keeps_partial: bool) -> None:
        self.retries = retries
        self.keeps_partial = keeps_partial
        self.failures = 0
        self.total = 0
        self._mark = -1

    def failed(self, error: NetworkError, *, progress: int = 0,
               retry_after: float | None = None) -> None:
        """Sleep before the next attempt, or raise ``error`` when attempts ran out."""
        if progress > self._mark:
            self.failures = 0
            self._mark = progress
        self.failures += 1
        self.total += 1
        cap = max(1, self.retries) * TOTAL_ATTEMPTS_FACTOR
        if self.failures > self.retries or self.total > cap:
            plural = "s" if self.total != 1 else ""
            self.give_up(error, f" (gave up after {self.total} attempt{plural})")
        if retry_after is not None:
            delay = min(retry_after, RETRY_AFTER_CAP)
        else:
            delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (self.failures - 1))
            delay *= random.uniform(0.5, 1.0)
        _sleep(delay)

    def give_up(self, error: NetworkError, note: str = "") -> NoReturn:
        """Raise ``error`` (plus ``note``), saying when the ``.part`` file is worth resuming."""
        hint = error.hint or MIRROR_HINT
        if self.keeps_partial:
            hint = f"{hint}; the partial download was kept, run the command again to resume"
        if isinstance(error, HttpStatusError):
            raise HttpStatusError(error.message + note, hint, status=error.status,
                                  url=error.url) from None
        raise NetworkError(error.message + note, hint) from None
