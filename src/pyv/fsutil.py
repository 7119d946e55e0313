"""Small filesystem primitives every writer shares: atomic writes and links, tree removal.

Readers (shims, other pyv processes) must never see a half-written file, so
every file pyv owns is written beside its target under a temporary name and
renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

from pyv.errors import from_os_error


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")


def atomic_write(path: Path, data: bytes | str, *, mode: int = 0o644, durable: bool = False,
                 what: str | None = None) -> None:
    """Replace ``path`` with ``data`` in one rename; ``durable`` also fsyncs it first."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = _tmp_beside(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise from_os_error(exc, f"writing {what or path}") from None


def atomic_symlink(target: str, link: Path, *, what: str | None = None) -> None:
    """Point ``link`` at ``target`` in one rename (readers see the old or the new link)."""
    tmp = _tmp_beside(link)
    try:
        os.symlink(target, tmp)
        os.replace(tmp, link)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise from_os_error(exc, f"linking {what or link}") from None


def remove_tree(path: Path) -> None:
    """Delete a tree pyv owns, fixing directory permissions that would stop rmtree."""

    def retry(func: Any, p: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:  # pragma: no cover - older Pythons only know onerror
        shutil.rmtree(path, onerror=retry)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def swap_in_tree(staged: Path, target: Path, *, trash: Path | None, what: str) -> None:
    """Rename ``staged`` to ``target`` in one step, so readers see the old tree or the new.

    With ``trash``, an existing ``target`` is first renamed there (and put back if the
    swap fails), then deleted once the new tree is in place.
    """
    moved = False
    try:
        if trash is not None:
            os.rename(target, trash)
            moved = True
        os.rename(staged, target)
    except OSError as exc:
        if moved and trash is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.rename(trash, target)
        raise from_os_error(exc, what) from None
    if moved and trash is not None:
        remove_tree(trash)
