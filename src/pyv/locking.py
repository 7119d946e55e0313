"""Inter-process locks for the store and other shared state.

``acquire()`` is the one entry point. The default uses ``filelock`` (``fcntl``
locks on POSIX); a lock that cannot be had within the timeout raises
:class:`~pyv.errors.LockTimeout` naming what is locked and what to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from pyv.errors import LockTimeout, from_os_error


@contextlib.contextmanager
def acquire(path: Path, *, timeout: float, mode: str = "auto", what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the duration of the block.

    ``what`` names the locked resource in messages ("the version store at …").
    """
    import filelock

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, f"creating the lock directory for {what}") from None
    lock = filelock.FileLock(str(path), timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockTimeout(
            f"another pyv process has held the lock on {what} for over {timeout:g}s",
            "wait for it to finish, or raise PYV_LOCK_TIMEOUT",
        ) from None
    except OSError as exc:
        raise from_os_error(exc, f"locking {what}") from None
    try:
        yield
    finally:
        lock.release()
