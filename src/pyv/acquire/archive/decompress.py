"""Decompressors: gzip, bzip2 and zstd streams turned into bounded chunks of tar data."""

from __future__ import annotations

import bz2
import functools
import importlib
import queue
import shutil
import subprocess
import threading
import zlib
from collections.abc import Iterator
from typing import BinaryIO, Callable, Protocol, cast

from pyv.acquire.archive.stream import Corrupt, raw_chunks
from pyv.core.errors import ArchiveError

#: Decoders tried, in order, for ``tar.zst``; tests narrow this to force a path.
ZSTD_DECODERS: tuple[str, ...] = ("compression.zstd", "zstandard", "command")
#: The external ``zstd`` program used by the "command" decoder.
ZSTD_COMMAND = "zstd"
#: Inflaters tried, in order, for ``tar.gz``: python-isal's igzip (the optional ``isal``
#: package: about half zlib's CPU time, see docs/decisions.md), else the stdlib's zlib.
GZIP_DECODERS: tuple[str, ...] = ("isal", "zlib")

OUT_CHUNK = 1 << 20  # upper bound of decompressed bytes produced per step (bomb-safe)


class _Decoder(Protocol):
    """One compressed member: ``feed`` yields its output in bounded pieces."""

    eof: bool
    unused_data: bytes

    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _BoundedDecompressor(Protocol):
    """``bz2.BZ2Decompressor`` and ``compression.zstd.ZstdDecompressor``: output bounded
    by ``max_length``, the rest kept until ``needs_input``."""

    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _ZstandardObj(Protocol):
    """What ``zstandard.ZstdDecompressor().decompressobj()`` returns (no output bound)."""

    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: memoryview) -> bytes: ...


class _ZstandardDecompressor(Protocol):
    def decompressobj(self) -> _ZstandardObj: ...


class _ZstandardModule(Protocol):
    """The parts of the optional ``zstandard`` package pyv uses."""

    ZstdError: type[Exception]

    def ZstdDecompressor(self) -> _ZstandardDecompressor: ...


class _StdlibZstdModule(Protocol):
    """The parts of ``compression.zstd`` (Python 3.14+) pyv uses."""

    ZstdError: type[Exception]

    def ZstdDecompressor(self) -> _BoundedDecompressor: ...


class _IsalModule(Protocol):
    """The parts of ``isal.igzip_lib`` pyv uses."""

    DECOMP_GZIP: int
    IsalError: type[Exception]

    def IgzipDecompressor(self, flag: int = ...) -> _BoundedDecompressor: ...


class _ZlibDecoder:
    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)  # gzip wrapper only
        self.eof = False
        self.unused_data = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        while True:
            out = d.decompress(data, OUT_CHUNK)
            if out:
                yield out
            if d.eof:
                self.eof = True
                self.unused_data = d.unused_data
                return
            data = d.unconsumed_tail
            if not data and len(out) < OUT_CHUNK:
                return


class _MaxLengthDecoder:
    """bz2 and ``compression.zstd`` decompressors (``max_length`` + ``needs_input``)."""

    def __init__(self, factory: Callable[[], _BoundedDecompressor]) -> None:
        self._d = factory()
        self.eof = False
        self.unused_data = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        out = d.decompress(data, max_length=OUT_CHUNK)
        while True:
            if out:
                yield out
            if d.eof:
                self.eof = True
                self.unused_data = d.unused_data
                return
            if d.needs_input:
                return
            out = d.decompress(b"", max_length=OUT_CHUNK)


class _ZstandardDecoder:
    """The ``zstandard`` package; its decompressobj has no output bound, so feed it small bites."""

    _BITE = 8192

    def __init__(self, module: _ZstandardModule) -> None:
        self._d = module.ZstdDecompressor().decompressobj()
        self.eof = False
        self.unused_data = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        view = memoryview(data)
        for start in range(0, len(view), self._BITE):
            out = d.decompress(view[start : start + self._BITE])
            if out:
                yield out
            if d.eof:
                self.eof = True
                self.unused_data = d.unused_data + bytes(view[start + self._BITE :])
                return


def _inflate(
    raw: Iterator[bytes],
    factory: Callable[[], _Decoder],
    errors: tuple[type[BaseException], ...],
) -> Iterator[bytes]:
    """Decompress one or more concatenated members (as gzip(1) and zstd(1) accept)."""
    dec = factory()
    started = False  # has the current member received input?
    members = 0
    try:
        for chunk in raw:
            data = chunk
            while data:
                if not started:
                    if members and not data.strip(b"\0"):
                        break  # zero padding after the last member is tolerated
                    started = True
                yield from dec.feed(data)
                if not dec.eof:
                    break
                members += 1
                data = dec.unused_data
                dec = factory()
                started = False
    except errors as exc:
        raise Corrupt(f"bad compressed data ({exc})") from None
    if started or not members:
        raise Corrupt("the compressed data ends early")


def decoded_chunks(stream: BinaryIO, archive_format: str, label: str) -> Iterator[bytes]:
    if archive_format == "tar":
        return raw_chunks(stream)
    if archive_format == "tar.zst":
        return _zstd_chunks(stream, label)
    # Decompress in a second thread (zlib and bz2 release the GIL) so that it
    # overlaps with file creation, as ``tar xzf`` overlaps with its gzip child.
    return _prefetch(_decompressed(stream, archive_format))


def _decompressed(stream: BinaryIO, archive_format: str) -> Iterator[bytes]:
    if archive_format == "tar.gz":
        return _gzip_chunks(stream)
    if archive_format == "tar.bz2":
        return _inflate(
            raw_chunks(stream), lambda: _MaxLengthDecoder(bz2.BZ2Decompressor), (OSError, EOFError)
        )
    raise ValueError(archive_format)


def _gzip_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """Inflate with the first available decoder of GZIP_DECODERS (zlib is always there)."""
    for choice in GZIP_DECODERS:
        if choice == "isal":
            isal = cast("_IsalModule | None", _try_import("isal.igzip_lib"))
            if isal is not None:
                factory = functools.partial(isal.IgzipDecompressor, flag=isal.DECOMP_GZIP)
                return _inflate(
                    raw_chunks(stream),
                    functools.partial(_MaxLengthDecoder, factory),
                    (isal.IsalError, EOFError),
                )
        elif choice == "zlib":
            break
    return _inflate(raw_chunks(stream), _ZlibDecoder, (zlib.error,))


_DONE = object()


def _prefetch(chunks: Iterator[bytes], depth: int = 8) -> Iterator[bytes]:
    """Run ``chunks`` in a worker thread, ``depth`` items ahead of the consumer."""
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            if stop.is_set() and hasattr(chunks, "close"):
                chunks.close()

    worker = threading.Thread(target=work, name="pyv-decompress", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(bytes, item)
    finally:
        stop.set()
        worker.join(timeout=5)


def _zstd_chunks(stream: BinaryIO, label: str) -> Iterator[bytes]:
    """Pick the first available zstd decoder from ZSTD_DECODERS."""
    for choice in ZSTD_DECODERS:
        if choice == "compression.zstd":
            stdlib = cast("_StdlibZstdModule | None", _try_import("compression.zstd"))
            if stdlib is not None:
                return _inflate(
                    raw_chunks(stream),
                    functools.partial(_MaxLengthDecoder, stdlib.ZstdDecompressor),
                    (stdlib.ZstdError, EOFError),
                )
        elif choice == "zstandard":
            package = cast("_ZstandardModule | None", _try_import("zstandard"))
            if package is not None:
                return _inflate(
                    raw_chunks(stream),
                    functools.partial(_ZstandardDecoder, package),
                    (package.ZstdError,),
                )
        elif choice == "command":
            exe = shutil.which(ZSTD_COMMAND)
            if exe is not None:
                return _zstd_command_chunks(stream, exe)
    raise ArchiveError(
        f"cannot read {label}: it is zstd-compressed and no zstd decoder is available",
        "install the `zstandard` package or the `zstd` command",
    )


def _try_import(module: str) -> object | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _zstd_command_chunks(stream: BinaryIO, exe: str) -> Iterator[bytes]:
    """Decompress through ``zstd -dc``; a thread feeds its stdin from ``stream``."""
    proc = subprocess.Popen(
        [exe, "-d", "-c", "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            for chunk in raw_chunks(stream):
                stdin.write(chunk)
        except BrokenPipeError:
            pass  # zstd stopped reading: it reports why on stderr
        except BaseException as exc:  # re-raised in the reading thread
            failure.append(exc)
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    feeder = threading.Thread(target=feed, name="pyv-zstd-feed", daemon=True)
    feeder.start()
    try:
        while True:
            out = stdout.read(OUT_CHUNK)
            if not out:
                break
            yield out
        feeder.join()
        code = proc.wait()
        if failure:
            raise failure[0]
        if code != 0:
            lines = stderr.read().decode(errors="replace").strip().splitlines()
            raise Corrupt(f"zstd exited {code}: {lines[0] if lines else 'no message'}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        feeder.join(timeout=5)
        stdout.close()
        stderr.close()
