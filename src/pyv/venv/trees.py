"""Verified wheel trees, and installing wheels' files into environments (PEP 427 / 376).

A wheel is unpacked and checked once into a tree in pyv's cache
(:func:`pyv.venv.wheel.unpack_wheel`); :func:`install_unpacked` hard-links that
tree's files into each environment, writes console-script launchers with the
environment's python, and INSTALLER, REQUESTED and a RECORD of what was
installed (:func:`finish`, shared with :func:`pyv.venv.wheel.install_wheel`).

This is all a warm seed needs, so it is kept light: plain strings and ``os``,
frozen records from :mod:`pyv.core.records`, no dataclasses, pathlib, typing or shutil
(``pyv venv --seed``'s fast path loads it). Paths may be given as strings or
path-like objects; they are returned as strings.

Hard links are safe from pip: it never edits an installed file in place (an
upgrade or uninstall unlinks and writes new files). pyv too only ever replaces
files in an environment, never writes through them (:func:`write_new`).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import re
import stat

from pyv.acquire.archive.safety import FILE, UnsafeMember, check_member
from pyv.core.errors import ArchiveError
from pyv.core.records import record

TYPE_CHECKING = False  # not typing's: see the module docstring
if TYPE_CHECKING:
    from collections.abc import Mapping

    StrPath = str | os.PathLike[str]

#: Linux refuses shebang lines longer than this (BINPRM_BUF_SIZE before 5.1).
_SHEBANG_MAX = 127
#: Script shebangs a wheel leaves for the installer to fill in (PEP 427).
PLACEHOLDER_SHEBANGS = (b"#!python", b"#!/usr/bin/python")
#: Version of the manifest below; a tree with another one is made again.
MANIFEST_FORMAT = 1
MANIFEST = "manifest.json"
#: Why a hard link can fail where a copy would work: another filesystem, a filesystem or
#: policy (fs.protected_hardlinks) that refuses links, or an inode at its link limit.
_COPY_ERRNOS = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                          errno.EOPNOTSUPP})


@record(frozen=True)
class Scheme:
    """Where a wheel's parts go (absolute paths of the staging tree)."""

    purelib: str
    scripts: str
    data: str
    headers: str
    #: The python the scripts run, as it will be at the environment's final place.
    python: str


def environment_scheme(staging: str, final: str, site_packages: str,
                       version: tuple[int, int, int]) -> Scheme:
    """The scheme of an environment staged at ``staging`` that will live at ``final``."""
    return Scheme(
        purelib=os.path.normpath(os.path.join(staging, site_packages)),
        scripts=os.path.join(staging, "bin"),
        data=staging,
        headers=os.path.join(staging, "include", "site", f"python{version[0]}.{version[1]}"),
        python=os.path.join(final, "bin", "python"),
    )


@record(frozen=True)
class InstalledWheel:
    name: str
    version: str
    dist_info: str
    scripts: tuple[str, ...]


class DamagedTree(ArchiveError):
    """An unpacked tree lost or changed a file since it was verified; make it again."""


@record(frozen=True)
class WheelFile:
    """One verified file of an unpacked wheel (``member`` as named in the wheel)."""

    member: str
    digest: str
    size: int
    executable: bool


@record(frozen=True)
class UnpackedWheel:
    """A wheel unpacked and verified once: its files under ``root/files``."""

    root: str
    wheel: str
    #: Size and mtime of the wheel it came from, so a replaced wheel is noticed.
    wheel_size: int
    wheel_mtime_ns: int
    name: str
    version: str
    dist_info: str
    files: tuple[WheelFile, ...]
    scripts: tuple[tuple[str, str], ...]

    @property
    def files_dir(self) -> str:
        return os.path.join(self.root, "files")

    def made_from(self, wheel: os.stat_result) -> bool:
        return (self.wheel_size, self.wheel_mtime_ns) == (wheel.st_size, wheel.st_mtime_ns)


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def shebang(python: str) -> bytes:
    """A shebang running ``python``; via /bin/sh when the path is too long or has spaces."""
    if len(python) + 3 <= _SHEBANG_MAX and not re.search(r"\s", python):
        return f"#!{python}\n".encode()
    escaped = re.sub(r'(["\\$`])', r"\\\1", python)
    # Valid as sh (runs exec) and as Python (a string expression statement).
    return f"#!/bin/sh\n'''exec' \"{escaped}\" \"$0\" \"$@\"\n' '''\n".encode()


def launcher(python: str, entry: str) -> bytes:
    """A console-script launcher for ``module:attr.sub`` (extras ignored)."""
    target = entry.split("[", 1)[0].strip()
    module, _, attr = target.partition(":")
    module = module.strip()
    attr = attr.strip()
    dotted = re.compile(r"[\w.]+")
    if not dotted.fullmatch(module) or (attr and not dotted.fullmatch(attr)):
        raise ArchiveError(f"invalid entry point {entry!r}")
    if attr:
        head, _, rest = attr.partition(".")
        call = f"{head}.{rest}" if rest else head
        body = f"from {module} import {head}\n"
    else:
        call = module
        body = f"import {module}\n"
    return shebang(python) + (
        "import sys\n"
        f"{body}"
        "if __name__ == '__main__':\n"
        f"    sys.exit({call}())\n"
    ).encode()


def safe_member(name: str, kind: str = FILE, target: str = "") -> str:
    """The member's normalised name, if the archive safety rule accepts it."""
    try:
        return "/".join(check_member(name, kind, target))
    except UnsafeMember as exc:
        raise ArchiveError(f"refusing to install a wheel: {exc}",
                           "the wheel is unsafe; delete it and try again") from None


def write_new(path: StrPath, data: bytes, executable: bool = False) -> None:
    """Write a file that is this environment's own, never through an existing (linked) one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    with open(path, "xb") as fh:
        fh.write(data)
    if executable:
        os.chmod(path, 0o755)


def script_names(
    dist_name: str, scripts: dict[str, str], version: tuple[int, int]
) -> dict[str, str]:
    """pip's own launchers carry the version that built the wheel; name them for this one."""
    if dist_name.lower() not in ("pip", "setuptools"):
        return scripts
    major, minor = version
    fixed = dict(scripts)
    for base in ("pip", "easy_install"):
        versioned = [n for n in fixed if re.fullmatch(rf"{base}-?\d+(\.\d+)?", n)]
        if not versioned:
            continue
        entry = fixed[versioned[0]]
        for n in versioned:
            del fixed[n]
        sep = "-" if base == "easy_install" else ""
        fixed[f"{base}{sep}{major}"] = entry
        fixed[f"{base}{sep}{major}.{minor}"] = entry
    return fixed


def finish(scheme: Scheme, python_version: tuple[int, int], dist_name: str, dist_version: str,
           dist_info: str, scripts: Mapping[str, str],
           installed: list[tuple[str, str, int]]) -> InstalledWheel:
    """Console scripts, INSTALLER, REQUESTED and RECORD: the files that are per environment."""
    named = script_names(dist_name, dict(scripts), python_version)
    os.makedirs(scheme.scripts, exist_ok=True)
    for script, entry in sorted(named.items()):
        data = launcher(scheme.python, entry)
        dest = os.path.join(scheme.scripts, script)
        write_new(dest, data, executable=True)
        installed.append((record_path(dest, scheme.purelib), record_hash(data), len(data)))
    dist_dir = os.path.join(scheme.purelib, dist_info)
    os.makedirs(dist_dir, exist_ok=True)
    for extra, content in (("INSTALLER", b"pyv\n"), ("REQUESTED", b"")):
        write_new(os.path.join(dist_dir, extra), content)
        installed.append((f"{dist_info}/{extra}", record_hash(content), len(content)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, digest, size in installed:
        writer.writerow((path, digest, size))
    record_name = f"{dist_info}/RECORD"
    writer.writerow((record_name, "", ""))
    write_new(os.path.join(scheme.purelib, record_name), out.getvalue().encode("utf-8"))
    return InstalledWheel(name=dist_name, version=dist_version, dist_info=dist_dir,
                          scripts=tuple(sorted(named)))


def destination(name: str, data_prefix: str, scheme: Scheme, dist_name: str) -> tuple[str, bool]:
    """Where the wheel member ``name`` goes, and whether it is a script."""
    if not name.startswith(data_prefix):
        return os.path.join(scheme.purelib, name), False
    key, _, rest = name[len(data_prefix):].partition("/")
    if not rest:
        raise ArchiveError(f"wheel member {name!r} is not inside a .data scheme directory")
    if key in ("purelib", "platlib"):
        return os.path.join(scheme.purelib, rest), False
    if key == "scripts":
        return os.path.join(scheme.scripts, rest), True
    if key == "data":
        return os.path.join(scheme.data, rest), False
    if key == "headers":
        return os.path.join(scheme.headers, dist_name, rest), False
    raise ArchiveError(f"wheel member {name!r} uses the unknown scheme {key!r}")


def record_path(dest: StrPath, purelib: StrPath) -> str:
    return os.path.relpath(dest, purelib).replace(os.sep, "/")


def load_unpacked(root: StrPath) -> UnpackedWheel | None:
    """The tree published at ``root``, or None when there is none or its manifest is bad."""
    root = os.fspath(root)
    try:
        with open(os.path.join(root, MANIFEST), "rb") as fh:
            raw = json.loads(fh.read())
        if raw["format"] != MANIFEST_FORMAT:
            return None
        files = tuple(
            WheelFile(safe_member(str(m)), str(d), int(s), bool(x)) for m, d, s, x in raw["files"]
        )
        return UnpackedWheel(
            root=root, wheel=str(raw["wheel"]), wheel_size=int(raw["wheel_size"]),
            wheel_mtime_ns=int(raw["wheel_mtime_ns"]), name=str(raw["name"]),
            version=str(raw["version"]), dist_info=str(raw["dist_info"]), files=files,
            scripts=tuple((str(n), str(e)) for n, e in raw["scripts"]),
        )
    except (OSError, ValueError, KeyError, TypeError, ArchiveError):
        return None


class FilePlacer:
    """Puts cached files into environments: hard links, or copies once a link has failed.

    One placer serves one seed, so the choice is made once (at the first failure),
    not retried for every file.
    """

    def __init__(self) -> None:
        self.linking = True
        self.linked = 0
        self.copied = 0

    def place(self, src: str, dest: str, executable: bool) -> None:
        try:
            self._place(src, dest, executable)
        except FileExistsError:
            # Replace, never write through: the old file may itself be a shared link.
            os.unlink(dest)
            self._place(src, dest, executable)

    def _place(self, src: str, dest: str, executable: bool) -> None:
        if self.linking:
            try:
                os.link(src, dest)
            except OSError as exc:
                if exc.errno not in _COPY_ERRNOS:
                    raise
                self.linking = False
            else:
                self.linked += 1
                return
        import shutil  # only where links cannot be made

        with open(src, "rb") as fsrc, open(dest, "xb") as fdst:
            shutil.copyfileobj(fsrc, fdst, 1 << 20)
        if executable:
            os.chmod(dest, 0o755)
        self.copied += 1


def install_unpacked(unpacked: UnpackedWheel, scheme: Scheme, python_version: tuple[int, int],
                     placer: FilePlacer) -> InstalledWheel:
    """Install a verified tree into ``scheme`` by linking (or copying) its files.

    The RECORD written carries the tree's verified hashes for the placed files (they
    are the same inodes, or byte copies) and computed ones for what is written here.
    Raises :class:`DamagedTree`, having removed what it placed, when a file of the
    tree is missing or changed size.
    """
    data_prefix = f"{unpacked.dist_info[: -len('.dist-info')]}.data/"
    files_dir = unpacked.files_dir
    purelib = os.fspath(scheme.purelib)
    placed: list[str] = []
    made: set[str] = set()
    installed: list[tuple[str, str, int]] = []
    try:
        for f in unpacked.files:
            src = os.path.join(files_dir, f.member)
            if f.member.startswith(data_prefix):
                dest, is_script = destination(f.member, data_prefix, scheme, unpacked.name)
                record = record_path(dest, purelib)
            else:
                dest, is_script = os.path.join(purelib, f.member), False
                record = f.member
            parent = os.path.dirname(dest)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            try:
                st = os.lstat(src)
            except FileNotFoundError:
                raise DamagedTree(f"{unpacked.root}: {f.member} is missing") from None
            if not stat.S_ISREG(st.st_mode) or st.st_size != f.size:
                raise DamagedTree(f"{unpacked.root}: {f.member} changed since it was verified")
            digest, size = f.digest, f.size
            if is_script:
                # Scripts name this environment's python: written here, never linked.
                with open(src, "rb") as fh:
                    data = fh.read()
                if data.startswith(PLACEHOLDER_SHEBANGS):
                    data = shebang(scheme.python) + data.split(b"\n", 1)[1]
                    digest, size = record_hash(data), len(data)
                write_new(dest, data, executable=True)
            else:
                try:
                    placer.place(src, dest, f.executable)
                except FileNotFoundError:
                    if os.path.lexists(src):
                        raise
                    raise DamagedTree(f"{unpacked.root}: {f.member} is missing") from None
            placed.append(dest)
            installed.append((record, digest, size))
    except DamagedTree:
        for dest in placed:
            with contextlib.suppress(OSError):
                os.unlink(dest)
        raise
    return finish(scheme, python_version, unpacked.name, unpacked.version, unpacked.dist_info,
                  dict(unpacked.scripts), installed)
