"""Safe, streaming extraction of interpreter archives.

The archive arrives as a sequential byte stream (possibly a download still in
progress). Tar formats are decoded chunk by chunk and every member is created
by this module itself — ``TarFile.extract*`` is never called — so the same
checks apply on every Python version: no absolute paths, no ``..``, no NUL,
no writing through symlinks, no links leaving the installation root, no device
files or fifos, no setuid/setgid/sticky bits. ``docs/security.md`` states the
guarantees.
"""

from __future__ import annotations

import bz2
import errno
import functools
import importlib
import os
import queue
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Callable, Protocol, cast

from pyv.errors import ArchiveError, from_os_error

__all__ = [
    "FORMATS",
    "ZSTD_COMMAND",
    "ZSTD_DECODERS",
    "ExtractStats",
    "extract_archive",
]

FORMATS = ("tar.gz", "tar.zst", "tar.bz2", "tar", "zip")

#: Decoders tried, in order, for ``tar.zst``; tests narrow this to force a path.
ZSTD_DECODERS: tuple[str, ...] = ("compression.zstd", "zstandard", "command")
#: The external ``zstd`` program used by the "command" decoder.
ZSTD_COMMAND = "zstd"

_IN_CHUNK = 1 << 20  # compressed bytes read from the stream at a time
_OUT_CHUNK = 1 << 20  # upper bound of decompressed bytes produced per step (bomb-safe)
_COPY_CHUNK = 1 << 20
_FILE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)
_UTIME_FD = os.utime in os.supports_fd
_UTIME_NOFOLLOW = os.utime in os.supports_follow_symlinks
#: Regular files up to this size are written by worker threads: creating ~1,000 small
#: files is what extraction spends its time on, and ``open``/``write``/``close`` release
#: the GIL. Larger files stream from the main thread as before.
_PARALLEL_MAX_FILE = 4 << 20
#: Bytes read ahead for the writers at most (memory bound).
_PARALLEL_MAX_PENDING = 32 << 20
#: Files (or bytes) given to a writer thread at a time.
_BATCH_FILES = 16
_BATCH_BYTES = 1 << 20
#: Writer threads (0 disables them: everything is written by the main thread).
WRITER_THREADS = min(4, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0


@dataclass(frozen=True)
class ExtractStats:
    """What an extraction created."""

    files: int
    dirs: int
    symlinks: int
    hardlinks: int
    bytes: int


class _Corrupt(Exception):
    """The archive data itself is damaged (internal; turned into ArchiveError)."""


def extract_archive(
    stream: BinaryIO,
    archive_format: str,
    dest: Path,
    *,
    root: str | None,
    name: str = "",
) -> ExtractStats:
    """Extract the ``root`` subtree of the archive read from ``stream`` into ``dest``.

    ``stream`` only needs ``read(n)``. ``root`` is the member directory that
    becomes ``dest`` (``"python"``, ``"python/install"``); members outside it
    are skipped. ``None`` strips the single top-level directory, whatever its
    name. On any error the caller is expected to discard ``dest``.
    """
    label = name or "the archive"
    if archive_format not in FORMATS:
        raise ArchiveError(
            f"cannot read {label}: unsupported archive format {archive_format!r}",
            f"supported formats are {', '.join(FORMATS)}",
        )
    extractor: _Extractor | None = None
    try:
        os.makedirs(dest, exist_ok=True)
        extractor = _Extractor(dest, root, label)
        if archive_format == "zip":
            _extract_zip(stream, dest, extractor)
        else:
            _extract_tar(_decoded_chunks(stream, archive_format, label), extractor)
        return extractor.finish()
    except _Corrupt as exc:
        raise ArchiveError(
            f"{label} is corrupt or truncated: {exc}",
            "delete it from the download cache and run the command again",
        ) from None
    except OSError as exc:
        raise from_os_error(exc, f"extracting {label}") from None
    finally:
        if extractor is not None:
            # On an error, no writer may still be busy when the caller discards dest.
            extractor.writers.close()


# --------------------------------------------------------------------------- decoding


def _raw_chunks(stream: BinaryIO) -> Iterator[bytes]:
    read = stream.read
    while True:
        data = read(_IN_CHUNK)
        if not data:
            return
        yield data


class _Decoder(Protocol):
    """One compressed member: ``feed`` yields its output in bounded pieces."""

    eof: bool
    unused_data: bytes

    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _ZlibDecoder:
    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)  # gzip wrapper only
        self.eof = False
        self.unused_data = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        while True:
            out = d.decompress(data, _OUT_CHUNK)
            if out:
                yield out
            if d.eof:
                self.eof = True
                self.unused_data = d.unused_data
                return
            data = d.unconsumed_tail
            if not data and len(out) < _OUT_CHUNK:
                return


class _MaxLengthDecoder:
    """bz2 and ``compression.zstd`` decompressors (``max_length`` + ``needs_input``)."""

    def __init__(self, factory: Callable[[], object]) -> None:
        self._d: object = factory()
        self.eof = False
        self.unused_data = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        out: bytes = d.decompress(data, max_length=_OUT_CHUNK)  # type: ignore[attr-defined]
        while True:
            if out:
                yield out
            if d.eof:  # type: ignore[attr-defined]
                self.eof = True
                self.unused_data = d.unused_data  # type: ignore[attr-defined]
                return
            if d.needs_input:  # type: ignore[attr-defined]
                return
            out = d.decompress(b"", max_length=_OUT_CHUNK)  # type: ignore[attr-defined]


class _ZstandardDecoder:
    """The ``zstandard`` package; its decompressobj has no output bound, so feed it small bites."""

    _BITE = 8192

    def __init__(self, module: object) -> None:
        self._d: object = module.ZstdDecompressor().decompressobj()  # type: ignore[attr-defined]
        self.eof = False
        self.unused_data = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        view = memoryview(data)
        for start in range(0, len(view), self._BITE):
            out: bytes = d.decompress(view[start : start + self._BITE])  # type: ignore[attr-defined]
            if out:
                yield out
            if d.eof:  # type: ignore[attr-defined]
                self.eof = True
                self.unused_data = d.unused_data + bytes(view[start + self._BITE :])  # type: ignore[attr-defined]
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
        raise _Corrupt(f"bad compressed data ({exc})") from None
    if started or not members:
        raise _Corrupt("the compressed data ends early")


def _decoded_chunks(stream: BinaryIO, archive_format: str, label: str) -> Iterator[bytes]:
    if archive_format == "tar":
        return _raw_chunks(stream)
    if archive_format == "tar.zst":
        return _zstd_chunks(stream, label)
    # Decompress in a second thread (zlib and bz2 release the GIL) so that it
    # overlaps with file creation, as ``tar xzf`` overlaps with its gzip child.
    return _prefetch(_decompressed(stream, archive_format))


def _decompressed(stream: BinaryIO, archive_format: str) -> Iterator[bytes]:
    if archive_format == "tar.gz":
        return _inflate(_raw_chunks(stream), _ZlibDecoder, (zlib.error,))
    if archive_format == "tar.bz2":
        return _inflate(
            _raw_chunks(stream), lambda: _MaxLengthDecoder(bz2.BZ2Decompressor), (OSError, EOFError)
        )
    raise ValueError(archive_format)


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
            module = _try_import("compression.zstd")
            if module is not None:
                return _inflate(
                    _raw_chunks(stream),
                    functools.partial(_MaxLengthDecoder, module.ZstdDecompressor),  # type: ignore[attr-defined]
                    (module.ZstdError, EOFError),  # type: ignore[attr-defined]
                )
        elif choice == "zstandard":
            module = _try_import("zstandard")
            if module is not None:
                return _inflate(
                    _raw_chunks(stream),
                    functools.partial(_ZstandardDecoder, module),
                    (module.ZstdError,),  # type: ignore[attr-defined]
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
            for chunk in _raw_chunks(stream):
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
            out = stdout.read(_OUT_CHUNK)
            if not out:
                break
            yield out
        feeder.join()
        code = proc.wait()
        if failure:
            raise failure[0]
        if code != 0:
            lines = stderr.read().decode(errors="replace").strip().splitlines()
            raise _Corrupt(f"zstd exited {code}: {lines[0] if lines else 'no message'}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        feeder.join(timeout=5)
        stdout.close()
        stderr.close()


class _SequentialReader:
    """A forward-only file object over decoded chunks, for ``tarfile.TarFile``.

    ``seek`` moves forward by discarding data and backward only within the
    current chunk (all tarfile needs when members are read in order).
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._off = 0  # read position inside _buf
        self._pos = 0  # absolute position of _buf[_off]
        self.last = b""  # the most recent read's result, to recognise the end-of-archive block

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        avail = len(self._buf) - self._off
        if 0 <= n <= avail:
            out = self._buf[self._off : self._off + n]
            self._off += n
        else:
            parts = [self._buf[self._off :]]
            need = n - avail
            self._buf, self._off = b"", 0
            for chunk in self._chunks:
                if n >= 0 and len(chunk) > need:
                    parts.append(chunk[:need])
                    self._buf, self._off = chunk, need
                    break
                parts.append(chunk)
                need -= len(chunk)
                if n >= 0 and need == 0:
                    break
            out = b"".join(parts)
        self._pos += len(out)
        self.last = out
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence != 0:
            raise OSError(errno.ESPIPE, "cannot seek to the end of a stream")
        if pos < self._pos:
            back = self._pos - pos
            if back > self._off:
                raise OSError(errno.ESPIPE, "cannot seek backward in a stream")
            self._off -= back
            self._pos = pos
            return pos
        skip = pos - self._pos
        while skip:
            data = self.read(min(skip, _COPY_CHUNK))
            if not data:
                break
            skip -= len(data)
        return self._pos

    def read_view(self, n: int) -> memoryview:
        """Up to ``n`` bytes from the current chunk, uncopied; empty only at the end.

        For data that is written out at once: a slice or join of the chunk
        would copy every byte of the archive once more.
        """
        while self._off >= len(self._buf):
            chunk = next(self._chunks, None)
            if chunk is None:
                return memoryview(b"")
            self._buf, self._off = chunk, 0
        out = memoryview(self._buf)[self._off : self._off + n]
        self._off += len(out)
        self._pos += len(out)
        return out

    def skip(self, n: int) -> int:
        """Discard up to ``n`` bytes without copying them; return how many were there."""
        done = 0
        while True:
            step = min(n - done, len(self._buf) - self._off)
            self._off += step
            self._pos += step
            done += step
            if done == n:
                return done
            chunk = next(self._chunks, None)
            if chunk is None:
                return done
            self._buf, self._off = chunk, 0

    def unread(self, data: bytes) -> None:
        """Put ``data`` (just read) back in front of the stream."""
        self._buf = data + self._buf[self._off :]
        self._off = 0
        self._pos -= len(data)

    def drain(self) -> None:
        while self.read(_COPY_CHUNK):
            pass


# --------------------------------------------------------------------------- writing


class _Batch:
    """Files handed to one worker together: one task and one wake-up for several files."""

    __slots__ = ("future", "jobs", "rels", "size")

    def __init__(self) -> None:
        self.jobs: list[Callable[[], object]] = []
        self.rels: list[str] = []
        self.size = 0
        self.future: object = None  # a concurrent.futures.Future once submitted


def _run_batch(jobs: list[Callable[[], object]]) -> None:
    for job in jobs:
        job()


class _Writers:
    """Worker threads that create already-checked regular files.

    The main thread decides every path (all checks happen there, in archive order);
    a worker only opens the new file with ``O_EXCL|O_NOFOLLOW``, writes it and sets
    its mtime. ``wait(rel)`` is called before anything else touches a pending path.
    Files go to the workers in batches: a task per file cost more main-thread time
    (futures, queue, thread wake-ups) than writing a small file does.
    """

    def __init__(self, threads: int) -> None:
        self._pool = None
        if threads > 0:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="pyv-extract")
        self._pending: dict[str, _Batch] = {}  # every file not yet waited for
        self._batches: list[_Batch] = []  # submitted and not yet waited for, oldest first
        self._open = _Batch()  # filling up, not yet submitted
        self._bytes = 0

    @property
    def enabled(self) -> bool:
        return self._pool is not None

    def submit(self, rel: str, size: int, job: Callable[[], object]) -> None:
        assert self._pool is not None
        while self._batches and self._bytes + size > _PARALLEL_MAX_PENDING:
            self._finish(self._batches[0])
        batch = self._open
        batch.jobs.append(job)
        batch.rels.append(rel)
        batch.size += size
        self._bytes += size
        self._pending[rel] = batch
        if len(batch.jobs) >= _BATCH_FILES or batch.size >= _BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        batch = self._open
        if batch.jobs:
            assert self._pool is not None
            batch.future = self._pool.submit(_run_batch, batch.jobs)
            self._batches.append(batch)
            self._open = _Batch()

    def _finish(self, batch: _Batch) -> None:
        """Wait for a submitted batch, re-raising the first error of its files here."""
        self._batches.remove(batch)
        for rel in batch.rels:
            del self._pending[rel]
        self._bytes -= batch.size
        batch.future.result()  # type: ignore[attr-defined]

    def wait(self, rel: str) -> None:
        """Finish the pending write of ``rel`` (if any), re-raising its error here."""
        batch = self._pending.get(rel)
        if batch is None:
            return
        if batch is self._open:
            self._flush()
        self._finish(batch)

    def wait_all(self) -> None:
        self._flush()
        while self._batches:
            self._finish(self._batches[0])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class _Extractor:
    """Creates members under ``dest`` after checking them; shared by tar and zip.

    It remembers every directory, file and symlink it made, so parent paths
    are checked against those sets instead of being lstat'ed again (``dest``
    is a fresh staging directory that only this object writes to).
    """

    def __init__(self, dest: Path, root: str | None, label: str) -> None:
        self.dest = os.fspath(dest)
        self.label = label
        self.root_parts = [p for p in root.split("/") if p not in ("", ".")] if root else []
        self.strip_any_top = root is None
        self.top: str | None = None  # the top-level directory seen when root is None
        self.dirs: set[str] = {""}
        self.files: set[str] = set()
        self.links: dict[str, str] = {}  # symlink path -> target
        self.dir_mtimes: dict[str, float] = {}
        self.n_files = self.n_hardlinks = self.n_bytes = 0
        self.writers = _Writers(WRITER_THREADS)

    # -- names

    def refuse(self, member: str, reason: str) -> ArchiveError:
        return ArchiveError(
            f"refusing to extract {self.label}: member {member!r} {reason}",
            "the archive is unsafe and was not installed; delete it from the download cache",
        )

    def split(self, member: str) -> list[str]:
        """Check an archive path and return its components (no ``.`` or empty parts)."""
        if "\0" in member:
            raise self.refuse(member, "has a NUL byte in its name")
        if member.startswith("/") or (len(member) > 1 and member[1] == ":" and member[0].isalpha()):
            raise self.refuse(member, "has an absolute path")
        parts = [p for p in member.split("/") if p and p != "."]
        if ".." in parts:
            raise self.refuse(member, "has a '..' component")
        return parts

    def relative(self, member: str) -> str | None:
        """The member's path under the root, ``""`` for the root itself, None if outside."""
        parts = self.split(member)
        if self.strip_any_top:
            if not parts:
                return ""
            if self.top is None:
                self.top = parts[0]
            elif parts[0] != self.top:
                raise ArchiveError(
                    f"cannot extract {self.label}: it has more than one top-level directory "
                    f"({self.top!r} and {parts[0]!r})",
                    "this is not an interpreter archive pyv understands",
                )
            return "/".join(parts[1:])
        n = len(self.root_parts)
        if parts[:n] != self.root_parts:
            return None
        return "/".join(parts[n:])

    # -- paths

    def parent_ready(self, member: str, rel: str) -> None:
        """Make sure every parent of ``rel`` is a real directory we created."""
        parent = rel.rpartition("/")[0]
        if parent in self.dirs:
            return
        cur = ""
        for part in parent.split("/"):
            cur = f"{cur}/{part}" if cur else part
            if cur in self.dirs:
                continue
            if cur in self.links:
                raise self.refuse(member, f"would be written through the symlink {cur!r}")
            if cur in self.files:
                raise self.refuse(member, f"has the regular file {cur!r} as a parent directory")
            self.mkdir(member, cur)

    def mkdir(self, member: str, rel: str) -> None:
        path = f"{self.dest}/{rel}"
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            # Not made by us (dest was not empty): accept only a real directory.
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise self.refuse(member, f"collides with existing {rel!r}") from None
        self.dirs.add(rel)

    def clear(self, member: str, rel: str) -> None:
        """Remove an earlier file or symlink at ``rel`` so a duplicate member replaces it."""
        if rel in self.dirs:
            raise self.refuse(member, "would replace a directory")
        if rel in self.files or rel in self.links:
            self.writers.wait(rel)
            os.unlink(f"{self.dest}/{rel}")
            self.files.discard(rel)
            self.links.pop(rel, None)

    # -- members

    def add_dir(self, member: str, rel: str, mtime: float) -> None:
        if rel not in self.dirs:
            if rel in self.links or rel in self.files:
                raise self.refuse(member, "would replace a file or symlink with a directory")
            self.parent_ready(member, rel)
            self.mkdir(member, rel)
        self.dir_mtimes[rel] = mtime

    def add_file(
        self, member: str, rel: str, mode: int, mtime: float, copy: Callable[[int], int]
    ) -> None:
        """Create a regular file; ``copy(fd)`` writes its data and returns the byte count."""
        if not rel:
            raise self.refuse(member, "is a file where the installation root should be")
        self.parent_ready(member, rel)
        self.clear(member, rel)
        self.n_bytes += self._create(member, rel, mode, mtime, copy)
        self.files.add(rel)
        self.n_files += 1

    def add_file_data(self, member: str, rel: str, mode: int, mtime: float, data: bytes) -> None:
        """Like :meth:`add_file` for data already read; written by a worker when enabled."""
        if not self.writers.enabled:
            self.add_file(member, rel, mode, mtime, _data_copier(data))
            return
        if not rel:
            raise self.refuse(member, "is a file where the installation root should be")
        self.parent_ready(member, rel)
        self.clear(member, rel)
        self.writers.submit(
            rel, len(data),
            functools.partial(self._create, member, rel, mode, mtime,
                              _data_copier(data)),
        )
        self.n_bytes += len(data)
        self.files.add(rel)
        self.n_files += 1

    def _create(
        self, member: str, rel: str, mode: int, mtime: float, copy: Callable[[int], int]
    ) -> int:
        """Create the new file ``rel`` (never through a link), fill it, set its mtime."""
        # Special bits dropped, owner can always read and write (fix-ups rewrite some files).
        perm = (mode & 0o777) | 0o600
        try:
            fd = os.open(f"{self.dest}/{rel}", _FILE_FLAGS, perm)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ELOOP, errno.EISDIR, errno.ENOTDIR):
                raise self.refuse(member, f"cannot be created safely ({exc.strerror})") from None
            raise
        try:
            written = copy(fd)
            if _UTIME_FD:
                os.utime(fd, (mtime, mtime))
        finally:
            os.close(fd)
        if not _UTIME_FD:
            os.utime(f"{self.dest}/{rel}", (mtime, mtime))
        return written

    def add_symlink(self, member: str, rel: str, target: str, mtime: float) -> None:
        if not rel:
            raise self.refuse(member, "is a symlink where the installation root should be")
        if not target or "\0" in target:
            raise self.refuse(member, "is a symlink with an empty or NUL-containing target")
        if target.startswith("/"):
            raise self.refuse(member, f"is a symlink to the absolute path {target!r}")
        # Resolve lexically from the link's own directory; never above the root.
        depth: list[str] = rel.split("/")[:-1]
        for part in target.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not depth:
                    raise self.refuse(member, f"is a symlink leaving the installation ({target!r})")
                depth.pop()
            else:
                depth.append(part)
        self.parent_ready(member, rel)
        self.clear(member, rel)
        path = f"{self.dest}/{rel}"
        os.symlink(target, path)
        if _UTIME_NOFOLLOW:
            os.utime(path, (mtime, mtime), follow_symlinks=False)
        self.links[rel] = target

    def add_hardlink(self, member: str, rel: str, target_member: str) -> None:
        target = self.relative(target_member)
        if target is None:
            raise self.refuse(
                member, f"is a hard link to {target_member!r}, outside the installation"
            )
        if target not in self.files:
            raise self.refuse(
                member,
                f"is a hard link to {target_member!r}, which is not an extracted regular file",
            )
        if not rel:
            raise self.refuse(member, "is a hard link where the installation root should be")
        self.parent_ready(member, rel)
        self.clear(member, rel)
        self.writers.wait(target)  # the target's data must be there before it is shared
        os.link(f"{self.dest}/{target}", f"{self.dest}/{rel}", follow_symlinks=False)
        self.files.add(rel)
        self.n_hardlinks += 1

    def finish(self) -> ExtractStats:
        """Set directory mtimes and check that no symlink chain leads outside ``dest``."""
        self.writers.wait_all()
        self.writers.close()
        real_dest = os.path.realpath(self.dest)
        for rel in self.links:
            real = os.path.realpath(f"{self.dest}/{rel}")
            if real != real_dest and not real.startswith(real_dest + os.sep):
                raise self.refuse(
                    rel, f"is a symlink that resolves outside the installation ({real})"
                )
        # Deepest first, after all files exist, so creating children does not reset them.
        for rel in sorted(self.dir_mtimes, key=lambda r: r.count("/"), reverse=True):
            mtime = self.dir_mtimes[rel]
            os.utime(f"{self.dest}/{rel}" if rel else self.dest, (mtime, mtime))
        return ExtractStats(
            files=self.n_files,
            dirs=len(self.dirs) - 1,
            symlinks=len(self.links),
            hardlinks=self.n_hardlinks,
            bytes=self.n_bytes,
        )


def _data_copier(data: bytes) -> Callable[[int], int]:
    def copy(fd: int) -> int:
        _write_all(fd, data)
        return len(data)

    return copy


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# --------------------------------------------------------------------------- tar

_BLOCK = tarfile.BLOCKSIZE
_ZERO_BLOCK = bytes(_BLOCK)
#: Member types whose data follows the header (tarfile also skips data of unknown types).
_REGULAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_KNOWN_TYPES = (
    *_REGULAR_TYPES, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE,
    tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE,
)
_PAX_TYPES = (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE)
#: GNU long names and pax records are names, not data: a bound keeps a hostile
#: header from claiming gigabytes of memory.
_MAX_EXTENDED = 1 << 20


class _Member:
    """One tar member as :class:`_TarHeaders` decodes it (``TarInfo``'s field names)."""

    __slots__ = ("linkname", "mode", "mtime", "name", "offset_data", "size", "type")
    sparse = None  # sparse members are left to tarfile

    def __init__(
        self, name: str, linkname: str, type: bytes, mode: int, mtime: float, size: int,
        offset_data: int,
    ) -> None:
        self.name = name
        self.linkname = linkname
        self.type = type
        self.mode = mode
        self.mtime = mtime
        self.size = size
        self.offset_data = offset_data


class _NeedsTarfile(Exception):
    """A member only ``tarfile`` decodes (sparse files); the reader is back at its header."""


def _nts(field: bytes) -> str:
    """A NUL-terminated header string, decoded as tarfile does with utf-8/surrogateescape."""
    return field.partition(b"\0")[0].decode("utf-8", "surrogateescape")


def _number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 (high bit set) for big values."""
    if field[0] in (0o200, 0o377):
        n = int.from_bytes(field[1:], "big")
        return n - 256 ** (len(field) - 1) if field[0] == 0o377 else n
    try:
        return int(field.partition(b"\0")[0].strip() or b"0", 8)
    except ValueError:
        raise _Corrupt("a tar header has a malformed number") from None


def _byte_sum(data: bytes) -> int:
    """``sum(data)`` for at most 256 bytes, from zlib's C loop instead of Python's.

    Adler-32's low half is 1 + the byte sum modulo 65521; 256 bytes sum to at
    most 65280, so nothing wraps.
    """
    return (zlib.adler32(data) & 0xFFFF) - 1


def _checksum_ok(block: bytes) -> bool:
    # The checksum field counts as eight spaces; old tars summed signed bytes.
    unsigned = (
        _byte_sum(block[:148]) + _byte_sum(block[156:356]) + _byte_sum(block[356:]) + 256
    )
    stored = _number(block[148:156])
    if stored == unsigned:
        return True
    high = sum(1 for b in block[:148] if b >= 0x80) + sum(1 for b in block[156:] if b >= 0x80)
    return stored == unsigned - 256 * high


def _pax_records(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The ``<length> <keyword>=<value>\\n`` records of a pax header."""
    pos, end = 0, len(data)
    while pos < end:
        space = data.find(b" ", pos, pos + 21)
        length = int(data[pos:space]) if space > pos and data[pos:space].isdigit() else 0
        record_end = pos + length
        equals = data.find(b"=", space, record_end)
        if length <= 0 or record_end > end or equals < 0 or data[record_end - 1] != 0x0A:
            raise _Corrupt("a pax extended header is malformed")
        yield data[space + 1 : equals].decode("utf-8", "surrogateescape"), data[
            equals + 1 : record_end - 1
        ]
        pos = record_end


class _TarHeaders:
    """Decodes tar headers from the reader: ustar, GNU long names, pax (local and global).

    ``tarfile`` spends most of extraction's Python time building a ``TarInfo`` per
    header; this reads only the fields pyv uses. It agrees with ``tarfile`` on names,
    links, types, modes, mtimes and sizes (tests compare the two) and is stricter on
    damaged headers. Sparse members raise :class:`_NeedsTarfile` instead.
    """

    def __init__(self, reader: _SequentialReader) -> None:
        self.reader = reader
        self.next_header = 0  # where the next header starts (after the member's data)
        self.global_pax: dict[str, bytes] = {}

    def next(self) -> _Member | None:
        """The next member, or None at the end-of-archive block."""
        reader = self.reader
        if reader.tell() < self.next_header:
            reader.skip(self.next_header - reader.tell())
        start = reader.tell()
        seen: list[bytes] = []  # raw header blocks, to hand back to tarfile
        name: str | None = None
        linkname: str | None = None
        pax: dict[str, bytes] = {}
        while True:
            block = reader.read(_BLOCK)
            seen.append(block)
            if len(block) != _BLOCK:
                if start == 0:
                    raise _Corrupt("not a tar archive (it is shorter than one header)")
                raise _Corrupt("the tar data ends early or has a damaged header")
            if block == _ZERO_BLOCK:
                if len(seen) > 1:
                    raise _Corrupt("the tar data ends after an extended header")
                return None
            if not _checksum_ok(block):
                if start == 0:
                    raise _Corrupt("not a tar archive (bad header checksum)")
                raise _Corrupt("a tar header has a bad checksum")
            kind = block[156:157]
            size = _number(block[124:136])
            if size < 0:
                raise _Corrupt("a tar header has a negative size")
            if kind in _PAX_TYPES or kind in (
                tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK
            ):
                if size > _MAX_EXTENDED:
                    raise _Corrupt("a tar extended header is implausibly large")
                data = reader.read(-(-size // _BLOCK) * _BLOCK)
                seen.append(data)
                if len(data) < size:
                    raise _Corrupt("the tar data ends inside an extended header")
                data = data[:size]
                # When headers repeat, the first one wins (as with tarfile).
                if kind == tarfile.GNUTYPE_LONGNAME:
                    if name is None:
                        name = _nts(data)
                elif kind == tarfile.GNUTYPE_LONGLINK:
                    if linkname is None:
                        linkname = _nts(data)
                else:
                    target = self.global_pax if kind == tarfile.XGLTYPE else pax
                    for key, value in _pax_records(data):
                        if key.startswith("GNU.sparse."):
                            kind = tarfile.GNUTYPE_SPARSE
                        elif kind == tarfile.XGLTYPE:
                            target[key] = value
                        else:
                            target.setdefault(key, value)
                if kind != tarfile.GNUTYPE_SPARSE:
                    continue
            if kind == tarfile.GNUTYPE_SPARSE:
                reader.unread(b"".join(seen))
                raise _NeedsTarfile
            return self._member(block, kind, size, name, linkname, pax)

    def _member(
        self, block: bytes, kind: bytes, size: int, name: str | None, linkname: str | None,
        pax: dict[str, bytes],
    ) -> _Member:
        if self.global_pax:
            pax = {**self.global_pax, **pax}
        own_name = _nts(block[0:100])
        if kind == tarfile.AREGTYPE and own_name.endswith("/"):
            kind = tarfile.DIRTYPE  # the old V7 way of storing a directory
        if name is None:
            if "path" in pax:
                name = pax["path"].decode("utf-8", "surrogateescape").rstrip("/")
            else:
                prefix = _nts(block[345:500])
                name = f"{prefix}/{own_name}" if prefix else own_name
        if linkname is None:
            raw_link = pax.get("linkpath")
            linkname = (
                _nts(block[157:257]) if raw_link is None
                else raw_link.decode("utf-8", "surrogateescape")
            )
        if kind == tarfile.DIRTYPE:
            name = name.rstrip("/")
        mtime: float = _number(block[136:148])
        if pax:
            try:
                if "size" in pax:
                    size = int(pax["size"])
                if "mtime" in pax:
                    mtime = float(pax["mtime"])
            except ValueError:
                raise _Corrupt("a pax size or mtime is not a number") from None
            if size < 0:
                raise _Corrupt("a pax header has a negative size")
        offset_data = self.reader.tell()
        has_data = kind in _REGULAR_TYPES or kind not in _KNOWN_TYPES
        self.next_header = offset_data + (-(-size // _BLOCK) * _BLOCK if has_data else 0)
        return _Member(
            name, linkname, kind, _number(block[100:108]), mtime, size, offset_data
        )


def _extract_tar(chunks: Iterator[bytes], ex: _Extractor) -> None:
    reader = _SequentialReader(chunks)
    headers = _TarHeaders(reader)
    try:
        while True:
            member = headers.next()
            if member is None:
                break
            _tar_member(None, reader, member, ex)
    except _NeedsTarfile:
        _extract_tar_with_tarfile(reader, ex)
    # Read to the end so compressed-stream checksums (and any hashing stream) are verified.
    reader.drain()


def _extract_tar_with_tarfile(reader: _SequentialReader, ex: _Extractor) -> None:
    """The rest of the archive, from the reader's position, decoded by ``tarfile``."""
    try:
        tar = tarfile.TarFile(
            fileobj=cast("IO[bytes]", reader), mode="r", encoding="utf-8", errors="surrogateescape"
        )
    except tarfile.TarError as exc:
        raise _Corrupt(f"not a tar archive ({exc})") from None
    while True:
        try:
            member = tar.next()
        except tarfile.TarError as exc:
            raise _Corrupt(str(exc)) from None
        if member is None:
            break
        _tar_member(tar, reader, member, ex)
    # tarfile stops quietly at a truncated or garbled header; only the
    # end-of-archive zero block is a proper ending.
    if reader.last != _ZERO_BLOCK:
        raise _Corrupt("the tar data ends early or has a damaged header")


def _tar_member(
    tar: tarfile.TarFile | None,
    reader: _SequentialReader,
    m: _Member | tarfile.TarInfo,
    ex: _Extractor,
) -> None:
    name = m.name
    kind = m.type
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        raise ex.refuse(name, "is a device file")
    if kind == tarfile.FIFOTYPE:
        raise ex.refuse(name, "is a fifo")
    rel = ex.relative(name)
    if rel is None:
        return  # outside the requested subtree; its data is skipped
    mtime = float(m.mtime)
    if kind == tarfile.DIRTYPE:
        ex.add_dir(name, rel, mtime)
    elif kind == tarfile.SYMTYPE:
        ex.add_symlink(name, rel, m.linkname, mtime)
    elif kind == tarfile.LNKTYPE:
        ex.split(m.linkname)
        ex.add_hardlink(name, rel, m.linkname)
    elif kind in _REGULAR_TYPES or kind == tarfile.GNUTYPE_SPARSE:
        if ex.writers.enabled and m.sparse is None and m.size <= _PARALLEL_MAX_FILE:
            ex.add_file_data(name, rel, m.mode, mtime, _tar_read(reader, m))
        else:
            ex.add_file(name, rel, m.mode, mtime, _tar_copier(tar, reader, m))
    else:
        raise ex.refuse(name, f"has an unsupported tar member type {kind!r}")


def _tar_read(reader: _SequentialReader, m: _Member | tarfile.TarInfo) -> bytes:
    """The data of a (non-sparse) member, read in the main thread for a writer."""
    if reader.tell() != m.offset_data:
        reader.seek(m.offset_data)
    data = reader.read(m.size)
    if len(data) != m.size:
        raise _Corrupt(f"member {m.name!r} is cut short")
    return data


def _tar_copier(
    tar: tarfile.TarFile | None, reader: _SequentialReader, m: _Member | tarfile.TarInfo
) -> Callable[[int], int]:
    def copy(fd: int) -> int:
        if m.sparse is not None:
            assert tar is not None and isinstance(m, tarfile.TarInfo)
            src = tar.extractfile(m)
            assert src is not None
            with src:
                total = 0
                while True:
                    data = src.read(_COPY_CHUNK)
                    if not data:
                        break
                    _write_all(fd, data)
                    total += len(data)
            if total != m.size:
                raise _Corrupt(f"member {m.name!r} is cut short")
            return total
        if reader.tell() != m.offset_data:
            reader.seek(m.offset_data)
        remaining = m.size
        while remaining:
            view = reader.read_view(min(remaining, _COPY_CHUNK))
            if not view:
                raise _Corrupt(f"member {m.name!r} is cut short")
            _write_all(fd, view)
            remaining -= len(view)
        return m.size

    return copy


# --------------------------------------------------------------------------- zip


def _extract_zip(stream: BinaryIO, dest: Path, ex: _Extractor) -> None:
    # zip keeps its directory at the end: spool the stream next to dest first.
    spool_dir = os.path.dirname(os.path.abspath(dest))
    with tempfile.TemporaryFile(dir=spool_dir, prefix=".pyv-zip-") as spool:
        shutil.copyfileobj(stream, spool, _COPY_CHUNK)
        spool.seek(0)
        try:
            with zipfile.ZipFile(spool) as zf:
                for info in zf.infolist():
                    _zip_member(zf, info, ex)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise _Corrupt(str(exc)) from None
        except NotImplementedError as exc:
            raise ArchiveError(
                f"cannot read {ex.label}: {exc}", "this zip compression method is not supported"
            ) from None


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, ex: _Extractor) -> None:
    name = info.filename
    mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: made on Unix
    kind = stat.S_IFMT(mode)
    if kind in (stat.S_IFCHR, stat.S_IFBLK):
        raise ex.refuse(name, "is a device file")
    if kind in (stat.S_IFIFO, stat.S_IFSOCK):
        raise ex.refuse(name, "is a fifo or socket")
    rel = ex.relative(name)
    if rel is None:
        return
    mtime = time.mktime((*info.date_time, 0, 0, -1))
    if info.is_dir() or kind == stat.S_IFDIR:
        ex.add_dir(name, rel, mtime)
    elif kind == stat.S_IFLNK:
        target = zf.read(info).decode("utf-8", "surrogateescape")
        ex.add_symlink(name, rel, target, mtime)
    else:

        def copy(fd: int) -> int:
            total = 0
            with zf.open(info) as src:
                while True:
                    data = src.read(_COPY_CHUNK)
                    if not data:
                        return total
                    _write_all(fd, data)
                    total += len(data)

        ex.add_file(name, rel, mode & 0o777 if mode else 0o644, mtime, copy)
