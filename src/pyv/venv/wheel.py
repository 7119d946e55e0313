"""A minimal, correct wheel installer for seeding environments (PEP 427 / 376 / 491).

It unpacks a wheel straight into an environment: verifies every file against the
wheel's RECORD, maps ``.data/`` directories to their scheme paths, writes
console-script launchers with the environment's python, and writes INSTALLER,
REQUESTED and a RECORD of what was installed. Running pip for this would cost
seconds; unpacking costs tens of milliseconds.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pyv.errors import ArchiveError

#: Linux refuses shebang lines longer than this (BINPRM_BUF_SIZE before 5.1).
_SHEBANG_MAX = 127


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


def _safe_member(name: str) -> str:
    norm = posixpath.normpath(name)
    escapes = norm == ".." or norm.startswith("../")
    if name.startswith("/") or escapes or re.search(r"[\\\x00]", name):
        raise ArchiveError(f"wheel member {name!r} escapes the install directory")
    return norm


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


def install_wheel(wheel: Path, scheme: Scheme, python_version: tuple[int, int]) -> InstalledWheel:
    """Install ``wheel`` into ``scheme``; raises :class:`ArchiveError` for a bad wheel."""
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"cannot open the wheel {wheel}: {exc}",
                           "delete it and try again") from None
    with zf:
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
        data_prefix = f"{dist_info[: -len('.dist-info')]}.data/"
        installed: list[tuple[str, str, int]] = []
        written: list[Path] = []
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = _safe_member(info.filename)
            signature = name.startswith(dist_info) and name.endswith((".jws", ".p7s"))
            if name == record_name or signature:
                continue
            data = zf.read(info)
            digest = record_hash(data)
            wanted = expected.get(info.filename)
            if wanted is None:
                raise ArchiveError(f"{wheel.name}: {name} is not listed in RECORD")
            if wanted != digest:
                raise ArchiveError(f"{wheel.name}: {name} does not match its RECORD hash",
                                   "the wheel is corrupt; delete it and try again")
            dest, is_script = _destination(name, data_prefix, scheme, dist_name)
            if is_script and data.startswith((b"#!python", b"#!/usr/bin/python")):
                data = shebang(scheme.python) + data.split(b"\n", 1)[1]
                digest = record_hash(data)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as fh:
                fh.write(data)
            if is_script or (info.external_attr >> 16) & 0o111:
                os.chmod(dest, 0o755)
            written.append(dest)
            installed.append((_record_path(dest, scheme.purelib), digest, len(data)))
        scripts = _console_scripts(zf, dist_info)
    scripts = _script_names(dist_name, scripts, python_version)
    scheme.scripts.mkdir(parents=True, exist_ok=True)
    for script, entry in sorted(scripts.items()):
        data = launcher(scheme.python, entry)
        dest = scheme.scripts / script
        with open(dest, "wb") as fh:
            fh.write(data)
        os.chmod(dest, 0o755)
        installed.append((_record_path(dest, scheme.purelib), record_hash(data), len(data)))
    dist_dir = scheme.purelib / dist_info
    for extra, content in (("INSTALLER", b"pyv\n"), ("REQUESTED", b"")):
        (dist_dir / extra).write_bytes(content)
        installed.append((f"{dist_info}/{extra}", record_hash(content), len(content)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, digest, size in installed:
        writer.writerow((path, digest, size))
    writer.writerow((record_name, "", ""))
    (scheme.purelib / record_name).write_text(out.getvalue(), encoding="utf-8")
    return InstalledWheel(name=dist_name, version=dist_version, dist_info=dist_dir,
                          scripts=tuple(sorted(scripts)))


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
