"""Creating checked members under the destination; shared by the tar and zip readers."""

from __future__ import annotations

import errno
import functools
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pyv.acquire.archive.safety import (
    UnsafeMember,
    WriteBudget,
    check_symlink,
    dir_mode,
    file_mode,
    split_name,
)
from pyv.acquire.archive.writers import Writers, data_copier
from pyv.core.errors import ArchiveError
from pyv.core.fsutil import current_umask

_FILE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)
_UTIME_FD = os.utime in os.supports_fd
_UTIME_NOFOLLOW = os.utime in os.supports_follow_symlinks


@dataclass(frozen=True)
class ExtractStats:
    """What an extraction created."""

    files: int
    dirs: int
    symlinks: int
    hardlinks: int
    bytes: int


class Extractor:
    """Creates members under ``dest`` after checking them; shared by tar and zip.

    It remembers every directory, file and symlink it made, so parent paths
    are checked against those sets instead of being lstat'ed again (``dest``
    is a fresh staging directory that only this object writes to).
    """

    def __init__(
        self, dest: Path, root: str | None, label: str, *, max_bytes: int | None = None,
        group: bool = False,
    ) -> None:
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
        self.writers = Writers(self.dest)
        self.budget = WriteBudget(max_bytes)
        self.group = group
        # pyv's modes, never the archive's: a umask can only take bits away (a private
        # store under 077 stays private), never add them (000 gives 0755/0644, not 0777).
        # A group store gets its modes whatever the umask, so the group can share it.
        umask = current_umask()
        self.dir_mode = dir_mode(group)
        self.root_mode = self.dir_mode if group else self.dir_mode & ~umask
        self.chmod_dirs = group
        self.chmod_files = group and bool(0o775 & umask)

    # -- names

    @staticmethod
    def refuse(member: str, reason: str) -> UnsafeMember:
        """A refusal of what the extractor itself finds (its caller words the line)."""
        return UnsafeMember(member, reason)

    def relative(self, member: str) -> str | None:
        """The member's path under the root, ``""`` for the root itself, None if outside."""
        parts = split_name(member)
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
            os.mkdir(path, self.dir_mode)
        except FileExistsError:
            # Not made by us (dest was not empty): accept only a real directory.
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise self.refuse(member, f"collides with existing {rel!r}") from None
        if self.chmod_dirs:
            os.chmod(path, self.dir_mode)
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
        self, member: str, rel: str, mode: int, mtime: float, size: int,
        copy: Callable[[int], int],
    ) -> None:
        """Create a regular file of ``size`` bytes (its apparent size, holes included);
        ``copy(fd)`` writes its data and returns the byte count."""
        if not rel:
            raise self.refuse(member, "is a file where the installation root should be")
        self.budget.spend(member, size)
        self.parent_ready(member, rel)
        self.clear(member, rel)
        self.n_bytes += self._create(member, rel, mode, mtime, copy)
        self.files.add(rel)
        self.n_files += 1

    def add_file_data(self, member: str, rel: str, mode: int, mtime: float, data: bytes) -> None:
        """Like :meth:`add_file` for data already read; written by a worker when enabled."""
        if not self.writers.enabled:
            self.add_file(member, rel, mode, mtime, len(data), data_copier(data))
            return
        if not rel:
            raise self.refuse(member, "is a file where the installation root should be")
        self.budget.spend(member, len(data))
        self.parent_ready(member, rel)
        self.clear(member, rel)
        self.writers.submit(
            rel, len(data),
            functools.partial(self._create, member, rel, mode, mtime,
                              data_copier(data)),
        )
        self.n_bytes += len(data)
        self.files.add(rel)
        self.n_files += 1

    def _create(
        self, member: str, rel: str, mode: int, mtime: float, copy: Callable[[int], int]
    ) -> int:
        """Create the new file ``rel`` (never through a link), fill it, set its mode and mtime."""
        perm = file_mode(mode, self.group)
        try:
            fd = os.open(f"{self.dest}/{rel}", _FILE_FLAGS, perm)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ELOOP, errno.EISDIR, errno.ENOTDIR):
                raise self.refuse(member, f"cannot be created safely ({exc.strerror})") from None
            raise
        try:
            if self.chmod_files:
                os.fchmod(fd, perm)
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
        check_symlink(member, rel.split("/"), target)
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
        os.chmod(self.dest, self.root_mode)  # made by the caller: its mode may be anything
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
