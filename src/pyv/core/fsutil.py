"""Small filesystem primitives every writer shares: atomic writes, links and swaps, removal.

Readers (shims, other pyv processes) must never see a half-written file, so
every file pyv owns is written beside its target under a temporary name and
renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pyv.core.errors import from_os_error
from pyv.core.records import record


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
    import shutil  # here, not at the top: it pulls bz2/lzma onto every command's path

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


def current_umask() -> int:
    """The process's umask, read without changing it where the kernel tells (Linux 4.7+)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it
    os.umask(mask)
    return mask


def capped_mode(mode: int) -> int:
    """``mode`` minus what the umask withholds, and never group- or world-writable.

    For what pyv makes for its own user: a umask of 000 must not open it to everyone,
    and a private umask (077) keeps it private. Group stores widen modes themselves.
    """
    return mode & ~current_umask() & ~0o022


def nearest_existing_dir(path: Path) -> Path:
    """``path`` or its nearest parent that is a directory (``/`` at worst): where a
    deleted or not yet created directory would be."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path("/")


@record(frozen=True)
class Usage:
    """Bytes and inodes of a tree (each hard-linked file once; symlinks not followed)."""

    bytes: int
    files: int

    def to_json(self) -> dict[str, int]:
        return {"bytes": self.bytes, "files": self.files}


def total_usage(usages: Iterable[Usage]) -> Usage:
    """The sum of several :class:`Usage` (the trees are disjoint: nothing counts twice)."""
    total_bytes = total_files = 0
    for usage in usages:
        total_bytes += usage.bytes
        total_files += usage.files
    return Usage(total_bytes, total_files)


def tree_usage(path: Path) -> Usage:
    """What ``path`` costs against a quota: bytes of its files and its inode count.

    Directories and symlinks count as inodes (cluster quotas count them too);
    a file hard-linked twice inside the tree counts once.
    """
    try:
        top = os.lstat(path)
    except OSError:
        return Usage(0, 0)
    if not stat.S_ISDIR(top.st_mode):
        return Usage(top.st_size, 1)
    seen: set[tuple[int, int]] = set()
    total = 0
    count = 1  # the directory itself
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                count += 1
                continue
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            count += 1
            total += st.st_size
    return Usage(total, count)


def human_size(size: float) -> str:
    """A byte count as people read it: ``512 B``, ``1.5 KiB`` … ``2.0 TiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def host_tag() -> str:
    """This host's name without dots, as it appears in the names of work-in-progress trees.

    A pid in such a name can only be checked on the host that wrote it (a store or
    ``envs/`` may live on a filesystem several hosts share).
    """
    return os.uname().nodename.replace(".", "_") or "localhost"


#: ``renameat2(2)`` flag: swap two existing paths in one step.
_RENAME_EXCHANGE = 2
#: ``renamex_np(2)`` flag on macOS, same meaning.
_RENAME_SWAP = 2
#: Errors that mean "this kernel or filesystem cannot exchange", not "this exchange failed".
_NO_EXCHANGE = frozenset({errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})


@functools.lru_cache(maxsize=1)
def _exchange_call() -> Callable[[bytes, bytes], int] | None:
    """The C function that swaps two paths atomically, or None where there is none."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to load
        return None
    system = sys.platform  # a plain string: mypy would drop the other system's branch
    if system.startswith("linux"):
        renameat2 = getattr(libc, "renameat2", None)  # glibc 2.28+, musl 1.2.4+
        if renameat2 is None:
            return None
        at_fdcwd = -100

        def linux(a: bytes, b: bytes) -> int:
            return int(renameat2(at_fdcwd, a, at_fdcwd, b, _RENAME_EXCHANGE))

        return linux
    if system == "darwin":  # pragma: no cover - macOS only
        renamex_np = getattr(libc, "renamex_np", None)  # macOS 10.12+
        if renamex_np is None:
            return None

        def darwin(a: bytes, b: bytes) -> int:
            return int(renamex_np(a, b, _RENAME_SWAP))

        return darwin
    return None


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system cannot.

    Linux ``renameat2(RENAME_EXCHANGE)`` (3.15+, on ext4, xfs, btrfs, tmpfs, f2fs and
    more; not NFS) or macOS ``renamex_np(RENAME_SWAP)`` (APFS). Any other failure is
    raised as :class:`OSError`.
    """
    import ctypes

    call = _exchange_call()
    if call is None:
        return False
    if call(os.fsencode(a), os.fsencode(b)) == 0:
        return True
    err = ctypes.get_errno()
    if err in _NO_EXCHANGE:
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def swap_in_tree(staged: Path, target: Path, *, trash: Path, what: str) -> None:
    """Put the tree ``staged`` at ``target`` so that ``target`` is never missing.

    Where the system can (see :func:`exchange`) an existing ``target`` is swapped
    with ``staged`` in one step: at every instant ``target`` is the old tree or the
    new one, and the old tree is then deleted from ``staged``. Elsewhere the old
    tree is first renamed to ``trash`` and the new one renamed into place; a
    process killed between the two renames leaves ``target`` missing and the old
    tree in ``trash``, which :func:`restore_aside` puts back (every cleaner of
    leftovers calls it before deleting anything).
    """
    if not os.path.lexists(target):
        try:
            os.rename(staged, target)
        except OSError as exc:
            raise from_os_error(exc, what) from None
        return
    try:
        swapped = exchange(staged, target)
    except OSError as exc:
        raise from_os_error(exc, what) from None
    if swapped:
        remove_tree(staged)
        return
    moved = False
    try:
        os.rename(target, trash)
        moved = True
        os.rename(staged, target)
    except OSError as exc:
        if moved:
            restore_aside(trash, target)
        raise from_os_error(exc, what) from None
    remove_tree(trash)


def restore_aside(trash: Path, target: Path) -> bool:
    """Put a tree set aside by :func:`swap_in_tree` back if ``target`` is missing.

    Call it only while no live process may be between the two renames (under the
    lock that serialises them, or once their owner is dead). Returns whether it
    did; never fails.
    """
    if os.path.lexists(target) or not trash.is_dir() or trash.is_symlink():
        return False
    try:
        os.rename(trash, target)
    except OSError:
        return False
    return True


# ----- group stores -------------------------------------------------------------
def is_group_store(root: Path) -> bool:
    """Whether ``root`` is a group store: its directory carries the setgid bit.

    The setgid bit is what an admin sets up (``install -d -m 2775 -g GROUP``) so that
    everything created below keeps the group; pyv then keeps it group-writable too.
    """
    try:
        return bool(root.stat().st_mode & stat.S_ISGID)
    except OSError:
        return False


def share_tree(path: Path) -> None:
    """Open a tree to the store's group: directories 2775, files 664, executables 775.

    Explicit modes, so the result does not depend on the installing user's umask.
    Symlinks are left alone (their mode means nothing); only entries whose mode
    differs are changed.
    """

    def fix(target: str, wanted: int) -> None:
        try:
            if stat.S_IMODE(os.lstat(target).st_mode) != wanted:
                os.chmod(target, wanted)
        except OSError as exc:
            raise from_os_error(exc, f"opening {target} to the store's group") from None

    fix(str(path), 0o2775)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                fix(full, 0o2775)
        for name in files:
            full = os.path.join(root, name)
            try:
                mode = os.lstat(full).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode):
                fix(full, 0o775 if mode & 0o111 else 0o664)


# ----- which filesystem -------------------------------------------------------
#: Network and FUSE filesystem types (prefix ``fuse.`` too): locks there cannot be trusted
#: across hosts (pyv.core.locking), and each file creation is a round trip (the extractor's
#: writer threads).
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "lustre", "gpfs", "beegfs",
     "fuse", "fuseblk", "9p", "afs", "glusterfs"}
)


def filesystem_type(path: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> str | None:
    """The filesystem type of the mount holding ``path`` (Linux), or None if unknown."""
    try:
        lines = mountinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        mount_point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        # Later lines win on ties: they are mounted over the earlier ones.
        if inside and (best is None or len(mount_point) >= best[0]):
            best = (len(mount_point), right.split()[0])
    return best[1] if best else None


def is_network_filesystem(fstype: str | None) -> bool:
    if not fstype:
        return False
    return fstype in NETWORK_FILESYSTEMS or fstype.startswith("fuse.")
