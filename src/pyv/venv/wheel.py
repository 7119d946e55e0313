"""A minimal, correct wheel installer for seeding environments (PEP 427 / 376 / 491).

Two ways in. :func:`install_wheel` unpacks a wheel straight into an environment.
:func:`unpack_wheel` unpacks it once into a tree (in pyv's cache), and
:func:`install_unpacked` then hard-links that tree's files into each environment,
so a warm seed creates links instead of inflating and hashing every member again.
Both verify every file against the wheel's RECORD (the tree at unpack time), map
``.data/`` directories to their scheme paths, write console-script launchers
with the environment's python, and write INSTALLER, REQUESTED and a RECORD of
what was installed. Running pip for this would cost seconds.

Hard links are safe from pip: it never edits an installed file in place (an
upgrade or uninstall unlinks and writes new files). pyv too only ever replaces
files in an environment, never writes through them (:func:`_write_new`).
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
import posixpath
import re
import shutil
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.acquire.archive.safety import DIR, FILE, SYMLINK, UnsafeMember, check_member, zip_kind
from pyv.core.errors import ArchiveError

if TYPE_CHECKING:
    import zipfile

    from packaging.version import Version

    from pyv.core.settings import Settings

#: Linux refuses shebang lines longer than this (BINPRM_BUF_SIZE before 5.1).
_SHEBANG_MAX = 127
#: Script shebangs a wheel leaves for the installer to fill in (PEP 427).
_PLACEHOLDER_SHEBANGS = (b"#!python", b"#!/usr/bin/python")


@dataclass(frozen=True)
class Scheme:
    """Where a wheel's parts go (absolute paths of the staging tree)."""

    purelib: Path
    scripts: Path
    data: Path
    headers: Path
    #: The python the scripts run, as it will be at the environment's final place.
    python: str


@dataclass(frozen=True)
class InstalledWheel:
    name: str
    version: str
    dist_info: Path
    scripts: tuple[str, ...]


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


def _safe_member(name: str, kind: str = FILE, target: str = "") -> str:
    """The member's normalised name, if the archive safety rule accepts it."""
    try:
        return "/".join(check_member(name, kind, target))
    except UnsafeMember as exc:
        raise ArchiveError(f"refusing to install a wheel: {exc}",
                           "the wheel is unsafe; delete it and try again") from None


def _find_dist_info(names: list[str], wheel: Path) -> str:
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    candidates = [t for t in tops if t.endswith(".dist-info") and f"{t}/WHEEL" in names]
    if len(candidates) != 1:
        raise ArchiveError(f"{wheel.name} is not a valid wheel (no single .dist-info/WHEEL)")
    return candidates[0]


def _script_names(
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


def _open_wheel(wheel: Path) -> zipfile.ZipFile:
    # Imported here: a warm seed links a verified tree and never opens a wheel.
    import zipfile

    try:
        return zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"cannot open the wheel {wheel}: {exc}",
                           "delete it and try again") from None


@dataclass(frozen=True)
class _Layout:
    """The parts of a wheel every installer needs before reading its files."""

    dist_info: str
    dist_name: str
    dist_version: str
    record_name: str
    data_prefix: str
    expected: dict[str, str]


def _layout(zf: zipfile.ZipFile, wheel: Path) -> _Layout:
    names = zf.namelist()
    dist_info = _find_dist_info(names, wheel)
    meta = zf.read(f"{dist_info}/WHEEL").decode("utf-8")
    if not re.search(r"^Wheel-Version:\s*1\.", meta, re.MULTILINE):
        raise ArchiveError(f"{wheel.name} has an unsupported Wheel-Version")
    dist_name, _, dist_version = dist_info[: -len(".dist-info")].partition("-")
    record_name = f"{dist_info}/RECORD"
    try:
        record_text = zf.read(record_name).decode("utf-8")
    except KeyError:
        raise ArchiveError(f"{wheel.name} has no RECORD") from None
    expected: dict[str, str] = {}
    for row in csv.reader(io.StringIO(record_text)):
        if row and len(row) >= 2:
            expected[row[0]] = row[1]
    return _Layout(dist_info, dist_name, dist_version, record_name,
                   f"{dist_info[: -len('.dist-info')]}.data/", expected)


def _verified(
    zf: zipfile.ZipFile, wheel: Path, layout: _Layout
) -> Iterator[tuple[zipfile.ZipInfo, str, bytes, str]]:
    """(info, safe name, data, RECORD hash) of every file to install, each checked."""
    for info in zf.infolist():
        kind, _ = zip_kind(info.external_attr, info.create_system, info.is_dir())
        target = zf.read(info).decode("utf-8", "surrogateescape") if kind == SYMLINK else ""
        name = _safe_member(info.filename, kind, target)  # directories too: one rule for all
        if kind == DIR:
            continue
        signature = name.startswith(layout.dist_info) and name.endswith((".jws", ".p7s"))
        if name == layout.record_name or signature:
            continue
        data = zf.read(info)
        digest = record_hash(data)
        wanted = layout.expected.get(info.filename)
        if wanted is None:
            raise ArchiveError(f"{wheel.name}: {name} is not listed in RECORD")
        if wanted != digest:
            raise ArchiveError(f"{wheel.name}: {name} does not match its RECORD hash",
                               "the wheel is corrupt; delete it and try again")
        yield info, name, data, digest


def _write_new(path: Path | str, data: bytes, executable: bool = False) -> None:
    """Write a file that is this environment's own, never through an existing (linked) one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    with open(path, "xb") as fh:
        fh.write(data)
    if executable:
        os.chmod(path, 0o755)


def install_wheel(wheel: Path, scheme: Scheme, python_version: tuple[int, int]) -> InstalledWheel:
    """Install ``wheel`` into ``scheme``; raises :class:`ArchiveError` for a bad wheel."""
    with _open_wheel(wheel) as zf:
        layout = _layout(zf, wheel)
        installed: list[tuple[str, str, int]] = []
        for info, name, data, digest in _verified(zf, wheel, layout):
            dest, is_script = _destination(name, layout.data_prefix, scheme, layout.dist_name)
            if is_script and data.startswith(_PLACEHOLDER_SHEBANGS):
                data = shebang(scheme.python) + data.split(b"\n", 1)[1]
                digest = record_hash(data)
            dest.parent.mkdir(parents=True, exist_ok=True)
            _write_new(dest, data, is_script or bool((info.external_attr >> 16) & 0o111))
            installed.append((_record_path(dest, scheme.purelib), digest, len(data)))
        scripts = _console_scripts(zf, layout.dist_info)
    return _finish(scheme, python_version, layout.dist_name, layout.dist_version,
                   layout.dist_info, scripts, installed)


def _finish(scheme: Scheme, python_version: tuple[int, int], dist_name: str, dist_version: str,
            dist_info: str, scripts: Mapping[str, str],
            installed: list[tuple[str, str, int]]) -> InstalledWheel:
    """Console scripts, INSTALLER, REQUESTED and RECORD: the files that are per environment."""
    named = _script_names(dist_name, dict(scripts), python_version)
    scheme.scripts.mkdir(parents=True, exist_ok=True)
    for script, entry in sorted(named.items()):
        data = launcher(scheme.python, entry)
        dest = scheme.scripts / script
        _write_new(dest, data, executable=True)
        installed.append((_record_path(dest, scheme.purelib), record_hash(data), len(data)))
    dist_dir = scheme.purelib / dist_info
    dist_dir.mkdir(parents=True, exist_ok=True)
    for extra, content in (("INSTALLER", b"pyv\n"), ("REQUESTED", b"")):
        _write_new(dist_dir / extra, content)
        installed.append((f"{dist_info}/{extra}", record_hash(content), len(content)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, digest, size in installed:
        writer.writerow((path, digest, size))
    record_name = f"{dist_info}/RECORD"
    writer.writerow((record_name, "", ""))
    _write_new(scheme.purelib / record_name, out.getvalue().encode("utf-8"))
    return InstalledWheel(name=dist_name, version=dist_version, dist_info=dist_dir,
                          scripts=tuple(sorted(named)))


def _destination(name: str, data_prefix: str, scheme: Scheme, dist_name: str) -> tuple[Path, bool]:
    if not name.startswith(data_prefix):
        return scheme.purelib / name, False
    key, _, rest = name[len(data_prefix):].partition("/")
    if not rest:
        raise ArchiveError(f"wheel member {name!r} is not inside a .data scheme directory")
    if key in ("purelib", "platlib"):
        return scheme.purelib / rest, False
    if key == "scripts":
        return scheme.scripts / rest, True
    if key == "data":
        return scheme.data / rest, False
    if key == "headers":
        return scheme.headers / dist_name / rest, False
    raise ArchiveError(f"wheel member {name!r} uses the unknown scheme {key!r}")


def _record_path(dest: Path, purelib: Path) -> str:
    return os.path.relpath(dest, purelib).replace(os.sep, "/")


def _console_scripts(zf: zipfile.ZipFile, dist_info: str) -> dict[str, str]:
    try:
        text = zf.read(f"{dist_info}/entry_points.txt").decode("utf-8")
    except KeyError:
        return {}
    import configparser

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise ArchiveError(f"invalid entry_points.txt in {dist_info}: {exc}") from None
    scripts: dict[str, str] = {}
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            scripts.update(parser.items(section))
    return scripts


# ----- unpacked trees: verify once, then link into every environment ----------------
#: Version of the manifest below; a tree with another one is made again.
MANIFEST_FORMAT = 1
MANIFEST = "manifest.json"
#: Why a hard link can fail where a copy would work: another filesystem, a filesystem or
#: policy (fs.protected_hardlinks) that refuses links, or an inode at its link limit.
_COPY_ERRNOS = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                          errno.EOPNOTSUPP})


class DamagedTree(ArchiveError):
    """An unpacked tree lost or changed a file since it was verified; make it again."""


@dataclass(frozen=True)
class WheelFile:
    """One verified file of an unpacked wheel (``member`` as named in the wheel)."""

    member: str
    digest: str
    size: int
    executable: bool


@dataclass(frozen=True)
class UnpackedWheel:
    """A wheel unpacked and verified once: its files under ``root/files``."""

    root: Path
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
    def files_dir(self) -> Path:
        return self.root / "files"

    def made_from(self, wheel: os.stat_result) -> bool:
        return (self.wheel_size, self.wheel_mtime_ns) == (wheel.st_size, wheel.st_mtime_ns)


def unpack_wheel(wheel: Path, root: Path) -> UnpackedWheel:
    """Unpack ``wheel`` into the empty directory ``root``, verifying every file against RECORD.

    ``root/manifest.json`` is written last; callers publish ``root`` by renaming it.
    """
    with _open_wheel(wheel) as zf:
        assert zf.fp is not None
        stat_result = os.fstat(zf.fp.fileno())
        layout = _layout(zf, wheel)
        files_dir = root / "files"
        made: set[str] = set()
        files: list[WheelFile] = []
        seen: set[str] = set()
        for info, name, data, digest in _verified(zf, wheel, layout):
            if name in seen:
                raise ArchiveError(f"{wheel.name}: {name} appears twice")
            seen.add(name)
            parent = posixpath.dirname(name)
            if parent not in made:
                (files_dir / parent).mkdir(parents=True, exist_ok=True)
                made.add(parent)
            script = name.startswith(f"{layout.data_prefix}scripts/")
            executable = script or bool((info.external_attr >> 16) & 0o111)
            _write_new(files_dir / name, data, executable)
            files.append(WheelFile(name, digest, len(data), executable))
        scripts = tuple(sorted(_console_scripts(zf, layout.dist_info).items()))
    unpacked = UnpackedWheel(
        root=root, wheel=wheel.name, wheel_size=stat_result.st_size,
        wheel_mtime_ns=stat_result.st_mtime_ns, name=layout.dist_name,
        version=layout.dist_version, dist_info=layout.dist_info, files=tuple(files),
        scripts=scripts,
    )
    manifest = {
        "format": MANIFEST_FORMAT, "wheel": unpacked.wheel, "wheel_size": unpacked.wheel_size,
        "wheel_mtime_ns": unpacked.wheel_mtime_ns, "name": unpacked.name,
        "version": unpacked.version, "dist_info": unpacked.dist_info,
        "files": [[f.member, f.digest, f.size, f.executable] for f in files],
        "scripts": [list(s) for s in scripts],
    }
    _write_new(root / MANIFEST, json.dumps(manifest, separators=(",", ":")).encode("utf-8"))
    return unpacked


def load_unpacked(root: Path) -> UnpackedWheel | None:
    """The tree published at ``root``, or None when there is none or its manifest is bad."""
    try:
        raw = json.loads((root / MANIFEST).read_bytes())
        if raw["format"] != MANIFEST_FORMAT:
            return None
        files = tuple(
            WheelFile(_safe_member(str(m)), str(d), int(s), bool(x)) for m, d, s, x in raw["files"]
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
    files_dir = str(unpacked.files_dir)
    purelib = str(scheme.purelib)
    placed: list[str] = []
    made: set[str] = set()
    installed: list[tuple[str, str, int]] = []
    try:
        for f in unpacked.files:
            src = os.path.join(files_dir, f.member)
            if f.member.startswith(data_prefix):
                dest_path, is_script = _destination(f.member, data_prefix, scheme, unpacked.name)
                dest = str(dest_path)
                record = _record_path(dest_path, scheme.purelib)
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
                if data.startswith(_PLACEHOLDER_SHEBANGS):
                    data = shebang(scheme.python) + data.split(b"\n", 1)[1]
                    digest, size = record_hash(data), len(data)
                _write_new(dest, data, executable=True)
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
    return _finish(scheme, python_version, unpacked.name, unpacked.version, unpacked.dist_info,
                   dict(unpacked.scripts), installed)


# ----- facts seeding and the cache share (pyv.venv.seed, seed_index, housekeeping) -----
@dataclass(frozen=True)
class SeedWheel:
    """A wheel chosen for seeding and where it came from (cache|index|bundled)."""

    name: str
    version: str
    path: Path
    source: str


def wheel_cache(settings: Settings) -> Path:
    """Where downloaded seed wheels and their unpacked trees are kept."""
    return settings.cache_dir / "wheels"


def wheel_facts(path: Path) -> tuple[str, Version] | None:
    """(normalised name, version) of a pure-Python wheel file name, else None."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _, tags = parse_wheel_filename(path.name)
    except (InvalidWheelFilename, ValueError):
        return None
    if not any(str(t) == "py3-none-any" for t in tags):
        return None
    return str(name), version


def admits(requires: str | None, python: tuple[int, int, int]) -> bool:
    """Whether a Requires-Python value admits ``python`` (no value admits all)."""
    if not requires:
        return True
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(requires).contains(".".join(map(str, python)), prereleases=True)
    except InvalidSpecifier:
        return False
