"""Downloads: one sequential stream that hashes, caches and resumes as it goes.

:func:`open_download` returns a :class:`DownloadStream`, a read-only file
object the installer feeds straight into its archive extractor. Bytes are
appended to a ``.part`` file as they arrive; a ``.part`` left by an earlier
run is resumed with ``Range``, and a connection that breaks mid-body is
retried from the current offset without the reader noticing. :func:`fetch`
drains a stream into a verified file; :func:`get` is a small request for
catalogs and release metadata.

This is the only module that imports httpx and tqdm; import it lazily, from
the functions that actually download.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import io
import ipaddress
import netrc
import os
import random
import re
import ssl
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TextIO

import httpx

from pyv import __version__
from pyv.errors import IntegrityError, NetworkError, from_os_error
from pyv.hashing import normalize_digest, sha256_file, verify
from pyv.locking import acquire

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from pyv.settings import Settings

#: Size of reads from local files and of progress updates; network chunks come
#: as the transport delivers them (64 KiB with httpcore).
CHUNK_SIZE = 1 << 20
#: Backoff before retry ``k`` (0-based): ``BACKOFF_BASE * 2**k`` capped at
#: ``BACKOFF_MAX``, times a random factor in [0.5, 1). Tests shrink these.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 20.0
#: A server's ``Retry-After`` is honoured up to this many seconds.
RETRY_AFTER_CAP = 60.0
MAX_REDIRECTS = 10
#: With resets on progress, a download may fail more often than ``retries`` in
#: total; this multiple of ``retries`` bounds it anyway.
TOTAL_ATTEMPTS_FACTOR = 8
#: Indirection so tests can record (and skip) the waits.
_sleep = time.sleep

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LOOPBACK_PATTERNS = ("all://127.0.0.1", "all://localhost", "all://[::1]")
_MIRROR_HINT = "check your network, proxy (HTTPS_PROXY) or set PYV_PYTHON_INSTALL_MIRROR"


class HttpStatusError(NetworkError):
    """An HTTP status pyv does not retry (most 4xx), or one that kept failing."""

    def __init__(self, message: str, hint: str | None, *, status: int, url: str) -> None:
        super().__init__(message, hint)
        self.status = status
        self.url = url


@dataclass(frozen=True)
class FetchResult:
    """A verified file on disk."""

    path: Path
    sha256: str
    size: int
    from_cache: bool = False


@dataclass(frozen=True)
class HttpResponse:
    """A small, fully read response (header names lower-cased)."""

    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    url: str = ""


# ----- URLs, credentials, proxies, TLS ---------------------------------------
def redact(url: str) -> str:
    """``url`` without any ``user:password@`` part, fit for messages."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=hostport))
    return clean, (urllib.parse.unquote(user), urllib.parse.unquote(password))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or url


def _basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _env(environ: Mapping[str, str], name: str) -> str:
    """Lower-case spelling first, as curl does."""
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _proxy_url(value: str) -> str:
    return value if "://" in value else f"http://{value}"


def proxy_mounts(environ: Mapping[str, str]) -> dict[str, str | None]:
    """httpx mount patterns → proxy URL (``None``: connect directly), from ``environ``.

    Reads HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (either case).
    Loopback addresses never go through a proxy: a proxy cannot reach them.
    """
    mounts: dict[str, str | None] = {}
    for name, pattern in (("all_proxy", "all://"), ("http_proxy", "http://"),
                          ("https_proxy", "https://")):
        value = _env(environ, name)
        if value:
            mounts[pattern] = _proxy_url(value)
    if not mounts:
        return {}
    no_proxy = _env(environ, "no_proxy")
    if no_proxy == "*":
        return {}
    for pattern in _LOOPBACK_PATTERNS:
        mounts[pattern] = None
    for raw in no_proxy.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if "://" in entry:
            mounts[entry] = None
            continue
        if "/" in entry:  # CIDR ranges cannot be expressed as httpx patterns
            continue
        host = entry.lstrip(".")
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            mounts["all://localhost" if host == "localhost" else f"all://*{host}"] = None
        else:
            mounts[f"all://[{address}]" if address.version == 6 else f"all://{address}"] = None
    return mounts


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context: SSL_CERT_FILE / SSL_CERT_DIR from ``environ`` if set, else certifi."""
    cafile = environ.get("SSL_CERT_FILE", "").strip() or None
    capath = environ.get("SSL_CERT_DIR", "").strip() or None
    if not cafile and not capath:
        return httpx.create_ssl_context(trust_env=False)
    what = f"SSL_CERT_FILE={cafile}" if cafile else f"SSL_CERT_DIR={capath}"
    hint = "point SSL_CERT_FILE at a PEM bundle (or SSL_CERT_DIR at a directory), or unset it"
    if capath and not os.path.isdir(capath):
        raise NetworkError(f"cannot load CA certificates from {what}: not a directory", hint)
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except FileNotFoundError:
        raise NetworkError(f"cannot load CA certificates from {what}: no such file", hint) from None
    except (OSError, ssl.SSLError) as exc:
        reason = _reason(exc)
        raise NetworkError(f"cannot load CA certificates from {what}: {reason}", hint) from None


def make_client(settings: Settings) -> httpx.Client:
    """An httpx client configured only from ``settings`` (never from ``os.environ``)."""
    context = ssl_context(settings.environ)
    connect = settings.connect_timeout or None  # 0 means "no timeout"
    read = settings.read_timeout or None
    timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for pattern, proxy in proxy_mounts(settings.environ).items():
        if proxy is None:
            mounts[pattern] = None
            continue
        try:
            mounts[pattern] = httpx.HTTPTransport(
                verify=context, trust_env=False, proxy=httpx.Proxy(proxy)
            )
        except (ImportError, ValueError) as exc:
            raise NetworkError(
                f"cannot use the proxy {redact(proxy)}: {_reason(exc)}",
                "set HTTPS_PROXY/HTTP_PROXY to an http:// or https:// proxy URL",
            ) from None
    return httpx.Client(
        verify=context,
        timeout=timeout,
        follow_redirects=False,  # followed by hand so credentials never cross hosts
        trust_env=False,
        mounts=mounts,
        headers={"User-Agent": f"pyv/{__version__}"},
    )


def _netrc_credentials(environ: Mapping[str, str], host: str) -> tuple[str, str] | None:
    """The ``~/.netrc`` (or ``$NETRC``) entry for exactly ``host``; ``default`` is ignored
    so that no password is ever sent to a host it was not written for."""
    path = environ.get("NETRC", "").strip()
    if not path:
        home = environ.get("HOME", "").strip()
        if not home:
            return None
        path = os.path.join(home, ".netrc")
    if not os.path.isfile(path):
        return None
    try:
        entries = netrc.netrc(path)
    except (netrc.NetrcParseError, OSError):
        return None
    if host not in entries.hosts:
        return None
    login, _account, password = entries.hosts[host]
    return login or "", password or ""


class _Session:
    """One client plus the credential rules for one logical request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def open(self, url: str, headers: Mapping[str, str]) -> httpx.Response:
        """GET ``url`` as a stream, following redirects by hand.

        Credentials from the URL, an explicit ``Authorization`` header and
        netrc entries each go only to the origin they belong to.
        """
        clean, userinfo = _split_userinfo(url)
        origin = _origin(clean)
        current = clean
        for _ in range(MAX_REDIRECTS + 1):
            same_origin = _origin(current) == origin
            request_headers = {k: v for k, v in headers.items()
                               if same_origin or k.lower() != "authorization"}
            if not any(k.lower() == "authorization" for k in request_headers):
                credentials = userinfo if (same_origin and userinfo) else _netrc_credentials(
                    self.settings.environ, _host(current).lower()
                )
                if credentials:
                    request_headers["Authorization"] = _basic_auth(*credentials)
            request = self.client.build_request("GET", current, headers=request_headers)
            response = self.client.send(request, stream=True)
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                response.close()
                current = urllib.parse.urljoin(current, location)
                continue
            return response
        raise NetworkError(
            f"too many redirects fetching {redact(url)}", "check PYV_PYTHON_INSTALL_MIRROR"
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


# ----- errors and retries ------------------------------------------------------
def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text.splitlines()[0] if text else type(exc).__name__


class _Retryable(Exception):
    """A failure worth another attempt; ``error`` is raised if attempts run out."""

    def __init__(self, error: NetworkError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def _classify(exc: httpx.HTTPError, url: str) -> tuple[NetworkError, bool]:
    """A user-facing error for a transport failure, and whether to retry it."""
    host = _host(url)
    text = str(exc)
    if isinstance(exc, httpx.ConnectError) and (
        "CERTIFICATE_VERIFY_FAILED" in text
        or isinstance(exc.__context__, ssl.SSLCertVerificationError)
    ):
        return NetworkError(
            f"TLS certificate verification failed for {host}: {_reason(exc)}",
            "if a proxy or firewall re-signs TLS traffic, set SSL_CERT_FILE to its CA bundle",
        ), False
    if isinstance(exc, httpx.ConnectError) and isinstance(exc.__context__, ssl.SSLError):
        return NetworkError(
            f"TLS handshake with {host} failed: {_reason(exc)}",
            "check SSL_CERT_FILE/SSL_CERT_DIR and your proxy settings",
        ), False
    if isinstance(exc, httpx.ProxyError):
        return NetworkError(f"the proxy failed for {host}: {_reason(exc)}",
                            "check HTTPS_PROXY/HTTP_PROXY/NO_PROXY"), True
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(
            f"timed out talking to {host}",
            "check your network or proxy, or raise PYV_CONNECT_TIMEOUT / PYV_READ_TIMEOUT",
        ), True
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(f"cannot reach {host}: {_reason(exc)}", _MIRROR_HINT), True
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
        return NetworkError(f"the connection to {host} broke: {_reason(exc)}", _MIRROR_HINT), True
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return NetworkError(f"cannot download {redact(url)}: {_reason(exc)}",
                            "use an http://, https:// or file:// URL"), False
    return NetworkError(f"request to {host} failed: {_reason(exc)}", _MIRROR_HINT), False


def _status_error(status: int, url: str, what: str) -> HttpStatusError:
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
    return HttpStatusError(f"HTTP {status} fetching {what}: {shown}", _MIRROR_HINT,
                           status=status, url=shown)


def _retry_after(headers: Mapping[str, str]) -> float | None:
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


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class _RetryPolicy:
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
            attempts = self.total
            note = f" (gave up after {attempts} attempt{'s' if attempts != 1 else ''})"
            hint = error.hint or _MIRROR_HINT
            if self.keeps_partial:
                hint = f"{hint}; the partial download was kept, run the command again to resume"
            if isinstance(error, HttpStatusError):
                raise HttpStatusError(error.message + note, hint, status=error.status,
                                      url=error.url) from None
            raise NetworkError(error.message + note, hint) from None
        if retry_after is not None:
            delay = min(retry_after, RETRY_AFTER_CAP)
        else:
            delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (self.failures - 1))
            delay *= random.uniform(0.5, 1.0)
        _sleep(delay)


# ----- streams -----------------------------------------------------------------
def _content_range(value: str) -> tuple[int | None, int | None]:
    """``(start, total)`` from ``bytes a-b/total`` or ``bytes */total``."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not match:
        return None, None
    start = int(match.group(1)) if match.group(1) is not None else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return start, total


def _wants_progress(settings: Settings, stderr: TextIO) -> bool:
    if not settings.progress:
        return False
    try:
        return bool(stderr.isatty())
    except (AttributeError, ValueError):
        return False


class DownloadStream(io.RawIOBase):
    """A sequential, read-only view of one download.

    ``read(n)`` returns the next bytes (``b""`` at the end); ``sha256`` and
    ``size`` describe the bytes returned so far. When the stream was opened
    with ``expected_sha256``, reaching the end verifies it: on a mismatch the
    ``.part`` file is deleted and ``read`` raises :class:`IntegrityError`.
    Extractors may stop before the end, so call :meth:`finish` (or
    :meth:`commit`) afterwards to drain and verify.
    """

    def __init__(self, url: str, part_path: Path | None, *, label: str,
                 expected_sha256: str | None, expected_size: int | None) -> None:
        super().__init__()
        self.url = url
        self.part_path = part_path
        self.label = label or _filename(url)
        self.expected_sha256 = expected_sha256
        self.expected_size = expected_size
        self._hash = hashlib.sha256()
        self._pos = 0
        self._buf = b""
        self._off = 0
        self._eof = False
        self._stack = contextlib.ExitStack()

    # ----- what subclasses provide -----------------------------------------
    def _next_chunk(self) -> bytes:  # pragma: no cover - overridden
        raise AssertionError("DownloadStream subclasses implement _next_chunk")

    @property
    def total(self) -> int | None:
        """The full size in bytes, when known."""
        return self.expected_size

    # ----- file object -----------------------------------------------------
    def readable(self) -> bool:
        return True

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes returned so far."""
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        """Number of bytes returned so far."""
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        while self._off >= len(self._buf):
            if self._eof:
                return b""
            chunk = self._next_chunk()
            if not chunk:
                self._at_eof()
                return b""
            self._buf, self._off = chunk, 0
        if self._off == 0 and size >= len(self._buf):
            data = self._buf
        else:
            data = self._buf[self._off:self._off + size]
        self._off += len(data)
        self._hash.update(data)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while True:
            data = self.read(CHUNK_SIZE)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[:len(data)] = data
        return len(data)

    def _at_eof(self) -> None:
        self._eof = True
        self._buf, self._off = b"", 0
        self._on_complete()
        if self.expected_sha256 is not None:
            try:
                verify(self.expected_sha256, self.sha256, self.label)
            except IntegrityError:
                self.discard()
                raise

    def _on_complete(self) -> None:
        """Called once when the end is reached (before verification)."""

    # ----- finishing -------------------------------------------------------
    def finish(self) -> FetchResult:
        """Read to the end, verify, and describe the complete ``.part`` file."""
        if self.part_path is None:
            raise ValueError("finish() needs a stream opened with a part_path")
        while self.read(CHUNK_SIZE):
            pass
        self._close_part()
        return FetchResult(self.part_path, self.sha256, self._pos)

    def commit(self, dest: Path) -> FetchResult:
        """:meth:`finish`, then atomically rename the ``.part`` file to ``dest``."""
        result = self.finish()
        try:
            os.replace(result.path, dest)
        except OSError as exc:
            raise from_os_error(exc, f"saving the download to {dest}") from None
        self.close()
        return FetchResult(dest, result.sha256, result.size)

    def discard(self) -> None:
        """Close and delete the ``.part`` file (its bytes are not to be trusted)."""
        self.close()
        if self.part_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.part_path.unlink()

    def _close_part(self) -> None:
        """Flush and close the ``.part`` file; subclasses that write one override this."""

    def close(self) -> None:
        if not self.closed:
            try:
                self._close_part()
            finally:
                self._stack.close()
        super().close()

    def __enter__(self) -> DownloadStream:
        return self


def _filename(url: str) -> str:
    path = urllib.parse.urlsplit(url).path if "://" in url else url
    return urllib.parse.unquote(path.rstrip("/").rpartition("/")[2]) or redact(url)


class _PartWriter:
    """The ``.part`` file, appended to as bytes arrive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fh: IO[bytes] | None = open(path, "ab")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise from_os_error(exc, f"opening {path}") from None

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def write(self, data: bytes) -> None:
        assert self.fh is not None
        try:
            self.fh.write(data)
        except OSError as exc:
            raise from_os_error(exc, f"writing {self.path}") from None

    def truncate(self) -> None:
        assert self.fh is not None
        try:
            self.fh.flush()
            self.fh.truncate(0)
        except OSError as exc:
            raise from_os_error(exc, f"truncating {self.path}") from None

    def close(self) -> None:
        if self.fh is not None:
            fh, self.fh = self.fh, None
            try:
                fh.close()
            except OSError as exc:
                raise from_os_error(exc, f"writing {self.path}") from None


class _LocalStream(DownloadStream):
    """A ``file://`` URL or a plain path, read directly (copied to the part file if any)."""

    def __init__(self, path: Path, url: str, part_path: Path | None, **kwargs: Any) -> None:
        super().__init__(url, part_path, **kwargs)
        self.path = path
        try:
            self._fh: BinaryIO = self._stack.enter_context(open(path, "rb"))  # noqa: SIM115
            self._total: int | None = os.fstat(self._fh.fileno()).st_size
        except FileNotFoundError:
            raise NetworkError(f"{self.label} not found on the mirror: {path}",
                               "check PYV_PYTHON_INSTALL_MIRROR") from None
        except OSError as exc:
            raise from_os_error(exc, f"reading {path}") from None
        self._part: _PartWriter | None = None
        if part_path is not None:
            self._part = _PartWriter(part_path)
            self._part.truncate()

    @property
    def total(self) -> int | None:
        return self._total

    def _next_chunk(self) -> bytes:
        try:
            chunk = self._fh.read(CHUNK_SIZE)
        except OSError as exc:
            raise from_os_error(exc, f"reading {self.path}") from None
        if chunk and self._part is not None:
            self._part.write(chunk)
        return chunk

    def _close_part(self) -> None:
        if self._part is not None:
            self._part.close()


class _HttpStream(DownloadStream):
    """An http(s) download with resume, retries and an optional progress bar."""

    def __init__(self, url: str, part_path: Path | None, settings: Settings, *,
                 stderr: TextIO, **kwargs: Any) -> None:
        super().__init__(url, part_path, **kwargs)
        self.settings = settings
        self._session = _Session(settings)
        self._stack.callback(self._session.close)
        self._stack.callback(self._close_response)
        self._retry = _RetryPolicy(settings.retries, keeps_partial=part_path is not None)
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._fetched = 0  # bytes of the file we have (on disk or passed on), i.e. the offset
        self._skip = 0  # leading body bytes to drop (server ignored our Range)
        self._total_size: int | None = None
        self._validator: str | None = None
        self._complete = False
        self._disk: BinaryIO | None = None
        self._disk_remaining = 0
        self._part: _PartWriter | None = None
        self._bar: Any = None
        self._show_progress = _wants_progress(settings, stderr)
        self._stderr = stderr
        if part_path is not None:
            lock_path = part_path.parent / ".locks" / f"{part_path.name}.lock"
            self._stack.enter_context(acquire(
                lock_path, timeout=settings.lock_timeout, mode=settings.lock_mode,
                what=f"the download {part_path}",
            ))
            self._part = _PartWriter(part_path)
        self._stack.callback(self._close_bar)

    @property
    def total(self) -> int | None:
        return self._total_size if self._total_size is not None else self.expected_size

    # ----- starting and resuming -------------------------------------------
    def start(self) -> None:
        """Send the first request, resuming an existing ``.part`` when the server allows."""
        existing = self._part.size() if self._part is not None else 0
        self._fetched = existing
        self._with_retries(lambda: self._open_at(existing))
        if self._fetched > 0 and self._part is not None:
            # The server agreed to continue after what is on disk: replay it first.
            try:
                self._disk = self._stack.enter_context(open(self._part.path, "rb"))  # noqa: SIM115
            except OSError as exc:
                raise from_os_error(exc, f"reading {self._part.path}") from None
            self._disk_remaining = self._fetched

    def _restart(self) -> None:
        """Forget the bytes on disk and start from 0 (only before any byte was returned)."""
        if self._part is not None:
            self._part.truncate()
        self._fetched = 0
        self._skip = 0

    def _changed(self) -> NetworkError:
        if self._part is not None:
            self._part.truncate()
        return NetworkError(f"{self.label} changed on the server during the download",
                            "run the command again")

    def _open_at(self, offset: int) -> None:
        headers = {"Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
            if self._validator:
                headers["If-Range"] = self._validator
        response = self._session.open(self.url, headers)
        try:
            self._accept(response, offset)
        except BaseException:
            response.close()
            raise

    def _accept(self, response: httpx.Response, offset: int) -> None:
        status = response.status_code
        restartable = self._pos == 0 and not self._buf and self._disk_remaining == 0
        if _retryable_status(status):
            response.read()
            raise _Retryable(_status_error(status, self.url, self.label),
                             _retry_after(response.headers))
        start, total = _content_range(response.headers.get("content-range", ""))
        if status == 416:
            response.close()
            if total is not None and total == offset:
                self._total_size = total
                self._complete = True
                return
            if restartable and offset > 0:
                self._restart()
                self._open_at(0)
                return
            raise self._changed()
        if status == 206:
            if start is None or start > offset:
                raise NetworkError(f"bad Content-Range from {_host(self.url)} for {self.label}",
                                   _MIRROR_HINT)
            skip = offset - start
        elif status == 200:
            total = _content_length(response)
            skip = 0
            if offset > 0:
                if restartable:
                    self._restart()
                elif self._validator and self._validator != _validator(response):
                    raise self._changed()
                else:
                    skip = offset
        else:
            raise _status_error(status, self.url, self.label)
        if self._total_size is not None and total is not None and total != self._total_size:
            raise self._changed()
        if total is not None:
            self._total_size = total
        if self._validator is None:
            self._validator = _validator(response)
        self._response = response
        self._chunks = response.iter_raw()
        self._skip = skip
        self._open_bar()

    def _with_retries(self, action: Callable[[], None]) -> None:
        while True:
            # Only promise a resumable .part once some bytes of it exist.
            self._retry.keeps_partial = self.part_path is not None and self._fetched > 0
            try:
                action()
                return
            except httpx.HTTPError as exc:
                self._close_response()
                error, retry = _classify(exc, self.url)
                if not retry:
                    raise error from None
                self._retry.failed(error, progress=self._fetched)
            except _Retryable as exc:
                self._close_response()
                self._retry.failed(exc.error, progress=self._fetched, retry_after=exc.retry_after)

    # ----- reading ---------------------------------------------------------
    def _next_chunk(self) -> bytes:
        if self._disk_remaining:
            return self._read_disk()
        result: list[bytes] = []

        def step() -> None:
            while not self._complete:
                if self._response is None:
                    self._open_at(self._fetched)
                    continue
                assert self._chunks is not None
                chunk = next(self._chunks, b"")
                if not chunk:
                    self._close_response()
                    if self.total is not None and self._fetched < self.total:
                        raise _Retryable(NetworkError(
                            f"the connection to {_host(self.url)} ended early "
                            f"({self._fetched} of {self.total} bytes)", _MIRROR_HINT))
                    self._complete = True
                    return
                if self._skip:
                    dropped = min(self._skip, len(chunk))
                    self._skip -= dropped
                    chunk = chunk[dropped:]
                    if not chunk:
                        continue
                if self._part is not None:
                    self._part.write(chunk)
                self._fetched += len(chunk)
                if self._bar is not None:
                    self._bar.update(len(chunk))
                result.append(chunk)
                return

        self._with_retries(step)
        return result[0] if result else b""

    def _read_disk(self) -> bytes:
        assert self._disk is not None
        try:
            chunk = self._disk.read(min(CHUNK_SIZE, self._disk_remaining))
        except OSError as exc:
            raise from_os_error(exc, f"reading {self.part_path}") from None
        if not chunk:
            raise NetworkError(f"{self.part_path} shrank while it was being resumed",
                               "run the command again")
        self._disk_remaining -= len(chunk)
        return chunk

    def _on_complete(self) -> None:
        self._close_response()
        self._close_bar()

    # ----- cleanup ---------------------------------------------------------
    def _open_bar(self) -> None:
        if self._show_progress and self._bar is None:
            import tqdm  # only for a terminal: 6-9 ms saved everywhere else

            self._bar = tqdm.tqdm(
                total=self.total, initial=self._fetched, unit="B", unit_scale=True,
                unit_divisor=1024, desc=self.label, file=self._stderr, leave=False,
                dynamic_ncols=True,
            )

    def _close_bar(self) -> None:
        if self._bar is not None:
            bar, self._bar = self._bar, None
            bar.close()

    def _close_response(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            self._chunks = None
            with contextlib.suppress(httpx.HTTPError, OSError):
                response.close()

    def _close_part(self) -> None:
        if self._part is not None:
            self._part.close()


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or response.headers.get("content-encoding", "identity") != "identity":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _validator(response: httpx.Response) -> str | None:
    """A strong ETag, else Last-Modified: what ``If-Range`` may carry."""
    etag: str | None = response.headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    modified: str | None = response.headers.get("last-modified")
    return modified


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


# ----- public API ----------------------------------------------------------------
def open_download(
    url: str,
    part_path: Path | None,
    settings: Settings,
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    label: str = "",
    stderr: TextIO | None = None,
) -> DownloadStream:
    """Start downloading ``url``; read the returned stream sequentially.

    Bytes are appended to ``part_path`` (resumed if it already holds some);
    ``None`` keeps nothing on disk. The first request is sent before this
    returns, so a 404 or offline mode fails here, not mid-extraction.
    """
    common: dict[str, Any] = {"label": label or _filename(url),
                              "expected_sha256": expected_sha256,
                              "expected_size": expected_size}
    local = _local_path(url)
    if local is not None:
        return _LocalStream(local, url, part_path, **common)
    _check_remote(url, settings)
    stream = _HttpStream(url, part_path, settings, stderr=stderr or sys.stderr, **common)
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
    stderr: TextIO | None = None,
) -> FetchResult:
    """Download ``url`` to ``dest`` (via ``dest.part``), verified, atomically.

    An existing ``dest`` whose checksum matches (or, with no checksum to
    check, whose size matches ``expected_size`` if given) is returned without
    any request.
    """
    if dest.is_file():
        cached = _cache_hit(dest, expected_sha256, expected_size)
        if cached is not None:
            return cached
    part = dest.with_name(dest.name + ".part")
    stream = open_download(url, part, settings, expected_size=expected_size,
                           expected_sha256=expected_sha256, label=label or dest.name,
                           stderr=stderr)
    with stream:
        return stream.commit(dest)


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
    what = _filename(url)
    policy = _RetryPolicy(settings.retries, keeps_partial=False)
    session = _Session(settings)
    try:
        while True:
            try:
                response = session.open(url, headers or {})
                try:
                    content = response.read()
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                error, retry = _classify(exc, url)
                if not retry:
                    raise error from None
                policy.failed(error)
                continue
            status = response.status_code
            if _retryable_status(status):
                policy.failed(_status_error(status, url, what),
                              retry_after=_retry_after(response.headers))
                continue
            if 200 <= status < 300 or status == 304:
                return HttpResponse(status, content,
                                    {k.lower(): v for k, v in response.headers.items()},
                                    redact(str(response.url)))
            raise _status_error(status, url, what)
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
    "proxy_mounts",
    "redact",
    "ssl_context",
]
