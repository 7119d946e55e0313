"""Offline mirrors (``pyv mirror``) and bundles (``--pack`` / ``install --from-bundle``).

A mirror directory is laid out like the upstream release URLs, so any static web
server (or ``file://``) can stand in for upstream::

    DIR/download-metadata.json           uv-schema catalog of exactly what is here
    DIR/<build>/<file>                   python-build-standalone archives
    DIR/pypy/<file>                      PyPy (upstream prefix downloads.python.org/pypy)
    DIR/graalpy/<tag>/<file>             GraalPy

The JSON keeps the ORIGINAL upstream URLs: installers map them onto the mirror
with ``PYV_PYTHON_INSTALL_MIRROR`` (uv: ``UV_PYTHON_INSTALL_MIRROR``). A bundle
is the same tree as one uncompressed tar file.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pyv.acquire.archive.safety import (
    DEFAULT_MAX_BYTES,
    DIR,
    FILE,
    OTHER,
    TAR_KINDS,
    UnsafeMember,
    WriteBudget,
    check_member,
    dir_mode,
    file_mode,
)
from pyv.core.errors import (
    ArchiveError,
    ConfigError,
    FilesystemError,
    IntegrityError,
    NotFound,
    UsageError,
    from_os_error,
)
from pyv.core.fsutil import atomic_write
from pyv.core.report import SILENT, Reporter
from pyv.core.requests import LIBCS, OSES
from pyv.core.settings import GRAALPY_DOWNLOAD_PREFIX, PBS_DOWNLOAD_PREFIX, PYPY_DOWNLOAD_PREFIX

if TYPE_CHECKING:
    from pyv.acquire.catalog import Download
    from pyv.core.platform import Host
    from pyv.core.settings import Settings

METADATA = "download-metadata.json"
#: Upstream prefix -> sub-directory of the mirror that replaces it.
LAYOUT = ((PBS_DOWNLOAD_PREFIX, ""), (PYPY_DOWNLOAD_PREFIX, "pypy"),
          (GRAALPY_DOWNLOAD_PREFIX, "graalpy"))


@dataclass(frozen=True)
class MirrorEntry:
    key: str
    path: Path
    #: ``"downloaded"`` or ``"present"`` (already there and verified).
    action: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "path": str(self.path), "action": self.action, "size": self.size}


@dataclass(frozen=True)
class MirrorResult:
    root: Path
    entries: tuple[MirrorEntry, ...]
    #: Number of downloads the mirror's JSON now describes (old and new).
    total: int

    @property
    def metadata(self) -> Path:
        return self.root / METADATA

    def to_json(self) -> dict[str, Any]:
        return {"root": str(self.root), "metadata": str(self.metadata), "total": self.total,
                "entries": [e.to_json() for e in self.entries], "env": mirror_env(self.root)}


# ----- layout -------------------------------------------------------------------
def mirror_relpath(download: Download) -> str:
    """Where ``download`` lives inside a mirror (POSIX, relative), from its upstream URL."""
    for prefix, sub in LAYOUT:
        if download.url.startswith(prefix + "/"):
            rest = unquote(download.url[len(prefix) + 1:])
            rel = posixpath.normpath(posixpath.join(sub, rest)) if sub else posixpath.normpath(rest)
            if rel.startswith(("/", "..")) or "/../" in f"/{rel}/":
                break
            return rel
    raise ConfigError(
        f"{download.key} is not hosted upstream ({download.url}), "
        "so a mirror cannot stand in for it",
        "mirror from the bundled or refreshed catalog (unset PYV_DOWNLOADS_JSON)",
    )


def mirror_env(root: Path | str) -> dict[str, str]:
    """The environment that makes pyv (and uv) install from the mirror at ``root``."""
    base = root if isinstance(root, str) else root.absolute().as_uri()
    metadata = f"{base.rstrip('/')}/{METADATA}"
    local = base.startswith("file://")
    return {
        "PYV_PYTHON_INSTALL_MIRROR": base,
        "PYV_PYPY_INSTALL_MIRROR": f"{base.rstrip('/')}/pypy",
        "PYV_GRAALPY_INSTALL_MIRROR": f"{base.rstrip('/')}/graalpy",
        "PYV_DOWNLOADS_JSON": metadata[len("file://"):] if local else metadata,
        "UV_PYTHON_INSTALL_MIRROR": base,
        "UV_PYPY_INSTALL_MIRROR": f"{base.rstrip('/')}/pypy",
        "UV_PYTHON_DOWNLOADS_JSON_URL": metadata,
    }


def parse_platform(text: str) -> tuple[Host, str]:
    """``linux-x86_64-gnu`` (or ``linux-x86_64_v3-gnu``) -> (Host, arch_variant)."""
    from pyv.core.platform import Host, normalize_arch

    parts = text.strip().lower().split("-")
    if len(parts) != 3 or parts[0] not in OSES or parts[2] not in LIBCS:
        raise ConfigError(
            f"invalid platform {text!r}",
            "use os-arch-libc, e.g. linux-x86_64-gnu, linux-aarch64-gnu, darwin-aarch64-none",
        )
    os_name, arch_text, libc = parts
    arch, _, variant = arch_text.partition("_v") if arch_text.startswith("x86_64_v") else (
        arch_text, "", "")
    arch = normalize_arch(arch)
    level = None
    if arch == "x86_64":
        if variant and variant not in ("2", "3", "4"):
            raise ConfigError(f"invalid platform {text!r}: unknown x86-64 level v{variant}")
        level = int(variant) if variant else 1
    # No glibc version: a mirror serves other machines, whose glibc we cannot know.
    host = Host(os=os_name, arch=arch, libc=libc, glibc=None, x86_64_level=level)
    return host, f"v{variant}" if variant else ""


# ----- building ------------------------------------------------------------------
def _read_existing(root: Path) -> list[Download]:
    """Downloads the mirror's JSON already lists whose archives are still present."""
    from pyv.acquire.catalog import parse_uv_json

    path = root / METADATA
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise from_os_error(exc, f"reading {path}") from None
    catalog = parse_uv_json(data, str(path))
    kept = []
    for d in catalog.downloads:
        try:
            if (root / mirror_relpath(d)).is_file():
                kept.append(d)
        except ConfigError:
            continue
    return kept


def select_downloads(settings: Settings, requests: Sequence[str],
                     platforms: Sequence[str] = ()) -> list[Download]:
    """The catalog's best download for each request on each platform (default: this host)."""
    from pyv.acquire.catalog import best_download, load_catalog
    from pyv.core.platform import current_host
    from pyv.core.requests import parse_request

    catalog = load_catalog(settings)
    targets = [parse_platform(p) for p in platforms] or [(current_host(), settings.arch_variant)]
    chosen: dict[str, Download] = {}
    for text in requests:
        request = parse_request(text)
        for host, arch_variant in targets:
            d = best_download(catalog, request, host, arch_variant=arch_variant)
            chosen.setdefault(d.key, d)
    return list(chosen.values())


def build_mirror(settings: Settings, root: Path, requests: Sequence[str],
                 platforms: Sequence[str] = (), *, report: Reporter = SILENT) -> MirrorResult:
    """Download (verified) what ``requests`` x ``platforms`` need into ``root``; write its JSON.

    Archives already present and matching their checksum are not fetched again;
    entries the JSON listed before are kept while their archives are there.
    """
    from pyv.acquire.catalog import download_url, merge_downloads, to_uv_json
    from pyv.acquire.download import fetch
    from pyv.core.locking import acquire

    downloads = select_downloads(settings, requests, platforms)
    for d in downloads:
        if not d.sha256:
            raise IntegrityError(
                f"the catalog has no checksum for {d.key}; a mirror holds only verified archives",
                "run `pyv update`, or mirror another version",
            )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, f"creating the mirror {root}") from None
    entries: list[MirrorEntry] = []
    with acquire(root / ".lock", timeout=settings.lock_timeout, mode=settings.lock_mode,
                 what=f"the mirror {root}"):
        previous = _read_existing(root)
        for d in downloads:
            dest = root / mirror_relpath(d)
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise from_os_error(exc, f"creating {dest.parent}") from None
            result = fetch(download_url(d, settings), dest, settings,
                           expected_sha256=d.sha256, label=d.key, report=report)
            action = "present" if result.from_cache else "downloaded"
            entries.append(MirrorEntry(d.key, dest, action, result.size))
        described = merge_downloads(previous, downloads)
        _write_json(root / METADATA, to_uv_json(described))
    return MirrorResult(root, tuple(entries), len(described))


def _write_json(path: Path, data: object) -> None:
    atomic_write(path, json.dumps(data, indent=1) + "\n")


# ----- bundles ---------------------------------------------------------------------
def pack_mirror(root: Path, dest: Path) -> Path:
    """Write the mirror at ``root`` (its JSON and the archives it lists) as one tar file."""
    if not (root / METADATA).is_file():
        raise FilesystemError(f"{root} is not a pyv mirror (no {METADATA})",
                              "build it first with `pyv mirror DIR REQ…`")
    existing = _read_existing(root)
    members = [METADATA, *sorted({mirror_relpath(d) for d in existing})]
    dest = dest.absolute()
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for rel in members:
                tar.add(root / rel, arcname=rel, recursive=False, filter=_anonymous)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise from_os_error(exc, f"writing the bundle {dest}") from None
    return dest


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


def unpack_bundle(bundle: Path, dest: Path) -> None:
    """Extract a bundle into ``dest``: only files and directories the archive safety rule
    accepts, never more bytes than the bundle holds plus the archive write bound."""
    try:
        tar = tarfile.open(bundle, "r:*")  # noqa: SIM115 - closed by the `with` below
        size = bundle.stat().st_size
    except FileNotFoundError:
        raise NotFound(f"bundle {bundle} does not exist", "check the path") from None
    except tarfile.TarError:  # its text lists every decompressor tried, one a line
        raise ArchiveError(f"{bundle} is not a pyv bundle (not a tar file, compressed or not)",
                           "give a file written by `pyv mirror --pack`") from None
    except IsADirectoryError:
        raise UsageError(f"{bundle} is a directory, not a bundle",
                         "give the file `pyv mirror --pack` wrote (a mirror directory goes in "
                         "PYV_PYTHON_INSTALL_MIRROR)") from None
    except OSError as exc:
        raise from_os_error(exc, f"reading the bundle {bundle}") from None
    # An uncompressed bundle writes at most its own size (sparse members are refused);
    # the bound leaves room for a compressed one, not for a compression bomb.
    budget = WriteBudget(size + DEFAULT_MAX_BYTES)
    with tar:
        try:
            dest.mkdir(parents=True, exist_ok=True)
            for member in tar:
                _unpack_member(tar, member, dest, TAR_KINDS.get(member.type, OTHER), budget)
        except tarfile.TarError as exc:
            raise ArchiveError(f"{bundle} is not a readable tar bundle ({exc})",
                               "write it again with `pyv mirror --pack`") from None
        except ArchiveError as exc:
            raise ArchiveError(f"refusing to unpack the bundle {bundle}: {exc.message}",
                               exc.hint) from None
        except OSError as exc:
            raise from_os_error(exc, f"unpacking {bundle}") from None
    if not (dest / METADATA).is_file():
        raise ArchiveError(f"{bundle} is not a pyv bundle (no {METADATA})",
                           "write one with `pyv mirror --pack FILE.tar REQ…`")


def _unpack_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, kind: str,
                   budget: WriteBudget) -> None:
    """One bundle member, judged by the archive safety rule; bundles hold only files."""
    hint = "it was not used; write it again with `pyv mirror --pack`"
    try:
        parts = check_member(member.name, kind, member.linkname)
        if kind not in (FILE, DIR):
            raise UnsafeMember(member.name, "is a link (a bundle holds only files)")
        if member.issparse():
            raise UnsafeMember(member.name, "is a sparse file (a bundle holds only plain files)")
        if not parts:
            if kind == FILE:
                raise UnsafeMember(member.name, "is a file where the bundle's root should be")
            return
        if kind == FILE:
            budget.spend(member.name, member.size)
    except UnsafeMember as exc:
        raise ArchiveError(str(exc), hint) from None
    # pyv's modes (a umask may narrow them); parents are real directories, since a
    # bundle holds no links, and a file must be new.
    directory = dest
    for part in parts if kind == DIR else parts[:-1]:
        directory = directory / part
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, dir_mode())
    if kind == DIR:
        return
    source = tar.extractfile(member)
    if source is None:
        raise ArchiveError(f"cannot read {member.name!r}", hint)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(directory / parts[-1], flags, file_mode(member.mode))
    except FileExistsError:
        raise ArchiveError(f"member {member.name!r} is there twice", hint) from None
    with source, open(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


@contextlib.contextmanager
def bundle_settings(settings: Settings, bundle: Path) -> Iterator[Settings]:
    """Unpack ``bundle`` into a temporary directory and yield settings that install from it
    (mirrors pointed at it through ``file://``, its catalog, offline)."""
    try:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        # Next to PYV_HOME rather than /tmp: bundles are large and /tmp is often small.
        work = tempfile.mkdtemp(prefix=".bundle-", dir=settings.cache_dir)
    except OSError as exc:
        raise from_os_error(exc, "making room to unpack the bundle") from None
    root = Path(work)
    try:
        unpack_bundle(bundle, root)
        env = mirror_env(root)
        yield settings.replace(
            python_install_mirror=env["PYV_PYTHON_INSTALL_MIRROR"],
            pypy_install_mirror=env["PYV_PYPY_INSTALL_MIRROR"],
            graalpy_install_mirror=env["PYV_GRAALPY_INSTALL_MIRROR"],
            downloads_json=str(root / METADATA),
            offline=True,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
