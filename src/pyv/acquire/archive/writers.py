"""Worker threads that create regular files the extractor has already approved."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pyv.core.fsutil import filesystem_type, is_network_filesystem

if TYPE_CHECKING:
    from concurrent.futures import Future

#: Bytes read ahead for the writers at most (memory bound). 4 MiB still keeps two
#: batches queued for each of two writers; every MiB more raised an install's peak memory
#: by about 1.5 MB (8 MiB: +6 MB over 4 MiB on a real interpreter archive; 32 MiB: +20 MB
#: more) without writing any faster.
_PARALLEL_MAX_PENDING = 4 << 20
#: Files (or bytes) given to a writer thread at a time.
_BATCH_FILES = 16
_BATCH_BYTES = 1 << 20
#: Writer threads: None (the default) uses :func:`auto_threads` for each extraction; a
#: number forces that many (0: everything is written by the main thread).
WRITER_THREADS: int | None = None


def auto_threads(dest: str) -> int:
    """Writer threads for an extraction into ``dest``: up to 4 on a network or FUSE
    filesystem, where each file creation is a round trip worth overlapping; none on a
    local one, where they cost CPU (the GIL and the directory lock change hands at every
    file) and memory (data read ahead) without writing any faster (docs/benchmarks.md).
    """
    cpus = os.cpu_count() or 1
    if cpus < 2 or not is_network_filesystem(filesystem_type(Path(dest))):
        return 0
    return min(4, cpus)


class _Batch:
    """Files handed to one worker together: one task and one wake-up for several files."""

    __slots__ = ("future", "jobs", "rels", "size")

    def __init__(self) -> None:
        self.jobs: list[Callable[[], object]] = []
        self.rels: list[str] = []
        self.size = 0
        self.future: Future[None] | None = None  # once submitted


def _run_batch(jobs: list[Callable[[], object]]) -> None:
    for job in jobs:
        job()


class Writers:
    """Worker threads that create already-checked regular files.

    The main thread decides every path (all checks happen there, in archive order);
    a worker only opens the new file with ``O_EXCL|O_NOFOLLOW``, writes it and sets
    its mtime. ``wait(rel)`` is called before anything else touches a pending path.
    Files go to the workers in batches: a task per file cost more main-thread time
    (futures, queue, thread wake-ups) than writing a small file does.
    """

    def __init__(self, dest: str, threads: int | None = None) -> None:
        if threads is None:
            threads = WRITER_THREADS  # read at each extraction, so tests can change it
        if threads is None:
            threads = auto_threads(dest)
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
        assert batch.future is not None
        batch.future.result()

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


def data_copier(data: bytes) -> Callable[[int], int]:
    def copy(fd: int) -> int:
        write_all(fd, data)
        return len(data)

    return copy


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
