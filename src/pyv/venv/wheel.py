"""Wheels as files: unpacking and checking them, choosing them by name (PEP 427 / 491).

Two ways in. :func:`install_wheel` unpacks a wheel straight into an environment.
:func:`unpack_wheel` unpacks it once into a tree (in pyv's cache), which
:func:`pyv.venv.trees.install_unpacked` then hard-links into each environment, so
a warm seed creates links instead of inflating and hashing every member again.
Both verify every file against the wheel's RECORD (the tree at unpack time), map
``.data/`` directories to their scheme paths and finish with
:func:`pyv.venv.trees.finish` (launchers, INSTALLER, REQUESTED, RECORD). Running
pip for this would cost seconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.acquire.archive.safety import DIR, SYMLINK, zip_kind
from pyv.core.errors import ArchiveError
from pyv.venv.trees import (
    MANIFEST,
    MANIFEST_FORMAT,
    PLACEHOLDER_SHEBANGS,
    InstalledWheel,
    Scheme,
    UnpackedWheel,
    WheelFile,
    destination,
    finish,
    load_unpacked as load_unpacked,  # where pyv.upkeep.housekeeping reads trees
    record_hash,
    record_path,
    safe_member,
    shebang,
    write_new,
)

if TYPE_CHECKING:
    import zipfile
    from collections.abc import Iterator

    from packaging.version import Version

    from pyv.core.settings import Settings


def _find_dist_info(names: list[str], wheel: Path) -> str:
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    candidates = [t for t in tops if t.endswith(".dist-info") and f"{t}/WHEEL" in names]
    if len(candidates) != 1:
        raise ArchiveError(f"{wheel.name} is not a valid wheel (no single .dist-info/WHEEL)")
    return candidates[0]


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
        name = safe_member(info.filename, kind, target)  # directories too: one rule for all
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


def install_wheel(wheel: Path, scheme: Scheme, python_version: tuple[int, int]) -> InstalledWheel:
    """Install ``wheel`` into ``scheme``; raises :class:`ArchiveError` for a bad wheel."""
    with _open_wheel(wheel) as zf:
        layout = _layout(zf, wheel)
        installed: list[tuple[str, str, int]] = []
        for info, name, data, digest in _verified(zf, wheel, layout):
            dest, is_script = destination(name, layout.data_prefix, scheme, layout.dist_name)
            if is_script and data.startswith(PLACEHOLDER_SHEBANGS):
                data = shebang(scheme.python) + data.split(b"\n", 1)[1]
                digest = record_hash(data)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            write_new(dest, data, is_script or bool((info.external_attr >> 16) & 0o111))
            installed.append((record_path(dest, scheme.purelib), digest, len(data)))
        scripts = _console_scripts(zf, layout.dist_info)
    return finish(scheme, python_version, layout.dist_name, layout.dist_version,
                  layout.dist_info, scripts, installed)


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


# ----- unpacked trees: verify once (linked by pyv.venv.trees) ----------------------
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
            write_new(files_dir / name, data, executable)
            files.append(WheelFile(name, digest, len(data), executable))
        scripts = tuple(sorted(_console_scripts(zf, layout.dist_info).items()))
    unpacked = UnpackedWheel(
        root=str(root), wheel=wheel.name, wheel_size=stat_result.st_size,
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
    write_new(root / MANIFEST, json.dumps(manifest, separators=(",", ":")).encode("utf-8"))
    return unpacked


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
