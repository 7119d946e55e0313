"""Resumable streams: a read-only file object over one download.

Bytes are appended to a ``.part`` file as they arrive; a ``.part`` left by an
earlier run is resumed with ``Range`` (what the response means is decided by
:func:`pyv.acquire.download.resume.decide`), and a connection that breaks mid-body is
retried from the current offset without the reader noticing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, NoReturn

import httpx

from pyv.acquire.download import retry
from pyv.acquire.download.client import Session, host_of
from pyv.acquire.download.progress import Progress
from pyv.acquire.download.resume import decide
from pyv.core.errors import IntegrityError, NetworkError, from_os_error
from pyv.core.hashing import verify
from pyv.core.locking import acquire
from pyv.core.report import redact

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from pyv.core.settings import Settings

#: Size of reads from local files; network chunks come as the transport delivers them.
CHUNK_SIZE = 1 << 20
#: The stall rule: less than this many bytes per second over ``stall_timeout`` fails.
STALL_MIN_RATE = 1024
#: The stall rule's clock (an indirection so tests can move time).
_clock = time.monotonic


@dataclass(frozen=True)
class FetchResult:
    """A verified file on disk."""

    path: Path
    sha256: str
    size: int
    from_cache: bool = False


def filename_of(url: str) -> str:
    path = urllib.parse.urlsplit(url).path if "://" in url else url
    return urllib.parse.unquote(path.rstrip("/").rpartition("/")[2]) or redact(url)


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
        self.label = label or filename_of(url)
        self.expected_sha256 = expected_sha256
        self.expected_size = expected_size
        #: Bytes taken from a ``.part`` an earlier run left (0: downloaded afresh).
        self.resumed_from = 0
        self._hash = hashlib.sha256()
        self._pos = 0
        self._buf = b""
        self._off = 0
        self._eof = False
        self._stack = contextlib.ExitStack()

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


class PartWriter:
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


class LocalStream(DownloadStream):
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
        self._part: PartWriter | None = None
        if part_path is not None:
            self._part = PartWriter(part_path)
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


class StallGuard:
    """Fails a download whose throughput stays under :data:`STALL_MIN_RATE` for ``window``
    seconds (0: never): a trickling server must not hold the install lock for ever.

    Only time spent waiting for the network counts: a slow reader (an extractor,
    the replay of a ``.part``) is not the server's fault.
    """

    def __init__(self, window: float) -> None:
        self.window = window
        self._waited = 0.0
        self._mark = 0

    def restart(self, fetched: int) -> None:
        """A new response: measure from here."""
        self._waited, self._mark = 0.0, fetched

    def next_chunk(self, chunks: Iterator[bytes], fetched: int) -> bytes:
        """The next chunk of ``chunks`` (``b""`` at the end); raises :class:`Stalled`."""
        started = _clock()
        chunk = next(chunks, b"")
        if not self.window:
            return chunk
        self._waited += _clock() - started
        if self._waited >= self.window:
            if fetched + len(chunk) - self._mark < STALL_MIN_RATE * self._waited:
                raise Stalled(fetched + len(chunk), chunk)
            self.restart(fetched + len(chunk))
        return chunk


class Stalled(Exception):
    """Raised by :meth:`StallGuard.next_chunk`; ``chunk`` arrived, but too late."""

    def __init__(self, fetched: int, chunk: bytes) -> None:
        super().__init__(fetched)
        self.fetched = fetched
        self.chunk = chunk


def stall_error(label: str, url: str, window: float, fetched: int, total: int | None
                ) -> NetworkError:
    of = f" of {total}" if total is not None else ""
    return NetworkError(
        f"the download of {label} from {host_of(url)} stalled: less than "
        f"{STALL_MIN_RATE // 1024} KiB/s for {window:g} s ({fetched}{of} bytes)",
        "check your network, or raise PYV_STALL_TIMEOUT (0 turns the check off)",
    )


class HttpStream(DownloadStream):
    """An http(s) download with resume, retries, a stall rule and a progress line."""

    def __init__(self, url: str, part_path: Path | None, settings: Settings, *,
                 progress: Progress, **kwargs: Any) -> None:
        super().__init__(url, part_path, **kwargs)
        self.settings = settings
        self._session = Session(settings)
        self._stack.callback(self._session.close)
        self._stack.callback(self._close_response)
        self._retry = retry.RetryPolicy(settings.retries, keeps_partial=part_path is not None)
        self._stall = StallGuard(settings.stall_timeout)
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._fetched = 0  # bytes of the file we have (on disk or passed on), i.e. the offset
        self._skip = 0  # leading body bytes to drop (server ignored our Range)
        self._total_size: int | None = None
        self._validator: str | None = None
        self._complete = False
        self._disk: BinaryIO | None = None
        self._disk_remaining = 0
        self._part: PartWriter | None = None
        self._progress = progress
        if part_path is not None:
            lock_path = part_path.parent / ".locks" / f"{part_path.name}.lock"
            self._stack.enter_context(acquire(
                lock_path, timeout=settings.lock_timeout, mode=settings.lock_mode,
                what=f"the download {part_path}",
            ))
            self._part = PartWriter(part_path)
        self._stack.callback(self._progress.close)

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
            self._disk_remaining = self.resumed_from = self._fetched
            self._progress.report.detail(
                f"resuming {self.label} after the {self._fetched} bytes already in "
                f"{self._part.path.name}")
        self._progress.start(self.total, self._fetched)

    def _forget_part(self) -> None:
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
        headers = {k.lower(): v for k, v in response.headers.items()}
        restartable = self._pos == 0 and not self._buf and self._disk_remaining == 0
        verdict = decide(offset, response.status_code, headers, total=self._total_size,
                         validator=self._validator, restartable=restartable)
        action = verdict.action
        if action == "retry":
            response.read()
            raise retry.Retryable(
                retry.status_error(response.status_code, self.url, self.label),
                retry.retry_after(headers))
        if action == "fail":
            raise retry.status_error(response.status_code, self.url, self.label)
        if action == "bad-range":
            raise NetworkError(f"bad Content-Range from {host_of(self.url)} for {self.label}",
                               retry.MIRROR_HINT)
        if action == "changed":
            raise self._changed()
        if action == "reopen":
            response.close()
            self._forget_part()
            self._open_at(0)
            return
        self._total_size, self._validator = verdict.total, verdict.validator
        self._progress.set_total(self.total)
        if action == "complete":
            response.close()
            self._complete = True
            return
        if action == "restart":
            self._forget_part()
        self._response = response
        self._chunks = response.iter_raw()
        self._skip = verdict.skip
        self._stall.restart(self._fetched)

    def _with_retries(self, action: Callable[[], None]) -> None:
        while True:
            # Only promise a resumable .part once some bytes of it exist.
            self._retry.keeps_partial = self.part_path is not None and self._fetched > 0
            try:
                action()
                return
            except httpx.HTTPError as exc:
                self._close_response()
                error, again = retry.classify(exc, self.url)
                if not again:
                    self._retry.give_up(error)
                self._retry.failed(error, progress=self._fetched)
            except retry.Retryable as exc:
                self._close_response()
                error = exc.error
                self._retry.failed(error, progress=self._fetched, retry_after=exc.retry_after)
            self._progress.report.detail(f"{error.message}; trying again")

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
                try:
                    chunk = self._stall.next_chunk(self._chunks, self._fetched)
                except Stalled as exc:
                    self._keep(exc.chunk)
                    self._stalled()
                if not chunk:
                    self._close_response()
                    if self.total is not None and self._fetched < self.total:
                        raise retry.Retryable(NetworkError(
                            f"the connection to {host_of(self.url)} ended early "
                            f"({self._fetched} of {self.total} bytes)", retry.MIRROR_HINT))
                    self._complete = True
                    return
                if self._skip:
                    dropped = min(self._skip, len(chunk))
                    self._skip -= dropped
                    chunk = chunk[dropped:]
                    if not chunk:
                        continue
                self._keep(chunk)
                result.append(chunk)
                return

        self._with_retries(step)
        return result[0] if result else b""

    def _keep(self, chunk: bytes) -> None:
        """Append a body chunk to the ``.part`` and count it."""
        if self._part is not None:
            self._part.write(chunk)
        self._fetched += len(chunk)
        self._progress.update(len(chunk))

    def _stalled(self) -> NoReturn:
        """Fail at once (a retry would stall again while holding the lock); keep the .part."""
        self._close_response()
        self._retry.keeps_partial = self.part_path is not None
        self._retry.give_up(stall_error(self.label, self.url, self.settings.stall_timeout,
                                        self._fetched, self.total))

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
        self._progress.close()

    # ----- cleanup ---------------------------------------------------------
    def _close_response(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            self._chunks = None
            with contextlib.suppress(httpx.HTTPError, OSError):
                response.close()

    def _close_part(self) -> None:
        if self._part is not None:
            self._part.close()
