"""The one rule that decides whether an archive member may be created, and how.

Interpreter archives (:mod:`pyv.acquire.archive`), mirror bundles (:mod:`pyv.acquire.mirror`)
and wheels (:mod:`pyv.venv.wheel`) all ask these functions, so a member is
refused for the same reason, in the same words, whichever way it arrives.
``docs/security.md`` lists what is refused. Kept free of ``tarfile`` and
``zipfile`` so that the wheel installer's import stays cheap.

The rule, for a member named relative to the destination:

- its name has no NUL, no backslash, is not absolute, has no ``..`` component
  and no component that pyv reserves for its own files (:data:`RESERVED_NAMES`);
- it is a file, a directory, a symlink or a hard link: never a device, fifo,
  socket or a type pyv does not know;
- a symlink's target is relative and, resolved from the link's own directory,
  stays inside the destination; a hard link's target obeys the name rule;
- it is written with pyv's modes (:func:`file_mode`, :func:`dir_mode`), never
  the archive's special bits, and within the archive's byte budget
  (:class:`WriteBudget`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyv.core.locations import RECORD

#: Names pyv writes itself into the trees it makes; an archive may not bring its own
#: (a file, directory or link by that name could stand in for pyv's record). Compared
#: case-folded, for case-insensitive file systems.
RESERVED_NAMES = frozenset({RECORD.casefold()})

#: What a member is, whatever the format said.
FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
DEVICE = "device"
FIFO = "fifo"
SOCKET = "socket"
OTHER = "other"

#: POSIX tar typeflags (``tarfile``'s constants, without importing it). ``S`` is a GNU
#: sparse file: a regular file whose holes the archive leaves out.
TAR_KINDS = {
    b"0": FILE, b"\0": FILE, b"7": FILE, b"S": FILE, b"1": HARDLINK, b"2": SYMLINK,
    b"3": DEVICE, b"4": DEVICE, b"5": DIR, b"6": FIFO,
}

#: What an interpreter archive may write at most, counting every regular file's
#: apparent size (a sparse member counts in full). The largest interpreter pyv
#: installs (a debug or JVM build) is well under 1 GiB; a member past this is hostile.
DEFAULT_MAX_BYTES = 4 << 30

_S_IFMT = 0o170000
_ZIP_KINDS = {0o100000: FILE, 0o040000: DIR, 0o120000: SYMLINK, 0o020000: DEVICE,
              0o060000: DEVICE, 0o010000: FIFO, 0o140000: SOCKET}
_ZIP_FROM_UNIX = 3  # ZipInfo.create_system of an archive made on Unix


class UnsafeMember(Exception):
    """A member the rule refuses; each entry point words the line around ``reason``."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(f"member {member!r} {reason}")
        self.member = member
        self.reason = reason


def split_name(name: str) -> list[str]:
    """The components of a member's name (no ``.`` or empty ones), or :class:`UnsafeMember`."""
    if "\0" in name:
        raise UnsafeMember(name, "has a NUL byte in its name")
    if "\\" in name:
        # A path separator on Windows: no interpreter or wheel names a file with one.
        raise UnsafeMember(name, "has a backslash in its name")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        raise UnsafeMember(name, "has an absolute path")
    parts = [p for p in name.split("/") if p and p != "."]
    if ".." in parts:
        raise UnsafeMember(name, "has a '..' component that escapes the destination")
    folded = name.casefold()
    if any(reserved in folded for reserved in RESERVED_NAMES):
        for part in parts:
            if part.casefold() in RESERVED_NAMES:
                raise UnsafeMember(name, f"is named {part!r}, a name pyv reserves for its record")
    return parts


def check_kind(name: str, kind: str, detail: str = "") -> None:
    """Refuse what is not a file, directory or link."""
    if kind in (FILE, DIR, SYMLINK, HARDLINK):
        return
    if kind == DEVICE:
        raise UnsafeMember(name, "is a device file")
    if kind == FIFO:
        raise UnsafeMember(name, "is a fifo")
    if kind == SOCKET:
        raise UnsafeMember(name, "is a socket")
    raise UnsafeMember(name, f"has an unsupported member type{f' {detail}' if detail else ''}")


def check_symlink(name: str, rel_parts: Sequence[str], target: str) -> None:
    """A symlink at ``rel_parts`` (under the destination) must point inside it.

    Resolved lexically from the link's own directory; the extractor also resolves
    every link on disk at the end, which catches chains of links.
    """
    if not target or "\0" in target:
        raise UnsafeMember(name, "is a symlink with an empty or NUL-containing target")
    if target.startswith("/"):
        raise UnsafeMember(name, f"is a symlink to the absolute path {target!r}")
    depth = len(rel_parts) - 1
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not depth:
                raise UnsafeMember(name, f"is a symlink leaving the destination ({target!r})")
            depth -= 1
        else:
            depth += 1


def check_hardlink(name: str, target: str) -> None:
    """A hard link's target is another member's name: it obeys the name rule."""
    try:
        split_name(target)
    except UnsafeMember as exc:
        raise UnsafeMember(name, f"is a hard link to {target!r}, which {exc.reason}") from None


def check_member(name: str, kind: str, target: str = "") -> list[str]:
    """The whole rule for a member named relative to the destination; returns its parts.

    ``target`` is a link's target (for a hard link, another member's name). The
    interpreter extractor applies the same pieces around its root-stripping.
    """
    parts = split_name(name)
    check_kind(name, kind)
    if kind == SYMLINK:
        check_symlink(name, parts, target)
    elif kind == HARDLINK:
        check_hardlink(name, target)
    return parts


def zip_kind(external_attr: int, create_system: int, is_dir: bool) -> tuple[str, int]:
    """A zip member's kind and permission bits (zip keeps Unix modes only when made on Unix)."""
    mode = external_attr >> 16 if create_system == _ZIP_FROM_UNIX else 0
    if is_dir:
        return DIR, mode
    kind = _ZIP_KINDS.get(mode & _S_IFMT, FILE if not mode & _S_IFMT else OTHER)
    return kind, mode


def file_mode(mode: int, group: bool = False) -> int:
    """The mode pyv gives a regular file: 0755 if the archive made it executable, else 0644.

    Never setuid/setgid/sticky, never writable by others, whatever the archive or
    the umask says; ``group`` (a group store) adds group write.
    """
    if mode & 0o111:
        return 0o775 if group else 0o755
    return 0o664 if group else 0o644


def dir_mode(group: bool = False) -> int:
    """Directories: 0755, or 2775 in a group store (the setgid bit keeps the group)."""
    return 0o2775 if group else 0o755


class WriteBudget:
    """The bytes an archive may still write; a member past it is refused before it is made."""

    __slots__ = ("limit", "spent")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, name: str, size: int) -> None:
        self.spent += size
        if self.limit is not None and self.spent > self.limit:
            raise UnsafeMember(
                name, f"would take what the archive writes past {self.limit >> 20} MiB "
                "(apparent sizes: a sparse file counts in full)"
            )

