"""Worker threads that create regular files the extractor has already approved."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from concurrent.futures import Future

#: Bytes read ahead for the writers at most (memory bound). 8 MiB still keeps several
#: batches queued for every writer; 32 MiB only raised the peak memory of an install
#: (by about 20 MB on a real interpreter archive) without writing any faster.
_PARALLEL_MAX_PENDING = 8 << 20
#: Files (or bytes) given to a writer thread at a time.
_BATCH_FILES = 16
_BATCH_BYTES = 1 << 20
#: Writer threads (0 disables them: everything is written by the main thread).
WRITER_THREADS = min(4, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0


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

    def __init__(self, threads: int | None = None) -> None:
        if threads is None:
            threads = WRITER_THREADS  # read at each extraction, so tests can change it
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
