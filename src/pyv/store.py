"""The version store: complete installations, minor links, records, staging, locks.

An installation is visible if and only if a directory (no leading dot) of the
store holds the record file ``.pyv-install.json``. The record is written into
the staging tree *before* the single ``rename()`` that publishes it, so a crash
at any moment leaves either nothing visible or a complete installation.
Staging trees live in ``.staging/`` and are removed by the next operation that
holds the same key's lock (or by ``pyv doctor --fix``).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from pyv.errors import FilesystemError, from_os_error
from pyv.fsutil import atomic_symlink, pid_alive, remove_tree, swap_in_tree
from pyv.locations import RECORD, minor_key_for

if TYPE_CHECKING:
    from pyv.catalog import Download
    from pyv.platform import Host
    from pyv.requests import PythonRequest
    from pyv.settings import Settings

STAGING = ".staging"
LOCKS = ".locks"
STORE_LOCK = ".lock"
_IMPL_ORDER = {"cpython": 0, "pypy": 1, "graalpy": 2}


@dataclass(frozen=True)
class Installation:
    """One complete interpreter in a store."""

    key: str
    path: Path
    implementation: str
    version: Version
    variant: str | None
    os: str
    arch: str
    arch_variant: str | None
    libc: str
    build: str
    sha256: str | None
    url: str
    installed_at: str
    store: Path
    executable_rel: str

    @property
    def executable(self) -> Path:
        return self.path / self.executable_rel

    @property
    def bin_dir(self) -> Path:
        return self.path / "bin"

    @property
    def freethreaded(self) -> bool:
        return bool(self.variant and "freethreaded" in self.variant)

    @property
    def debug(self) -> bool:
        return bool(self.variant and "debug" in self.variant)

    @property
    def version_str(self) -> str:
        return str(self.version)

    @property
    def minor_key(self) -> str:
        return minor_key_for(
            self.implementation,
            self.version.major,
            self.version.minor,
            self.variant,
            self.os,
            self.arch,
            self.arch_variant,
            self.libc,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "path": str(self.path),
            "implementation": self.implementation,
            "version": str(self.version),
            "variant": self.variant,
            "os": self.os,
            "arch": self.arch,
            "arch_variant": self.arch_variant,
            "libc": self.libc,
            "build": self.build,
            "sha256": self.sha256,
            "url": self.url,
            "installed_at": self.installed_at,
            "executable": str(self.executable),
            "store": str(self.store),
        }


def record_for(download: Download, executable_rel: str) -> dict[str, Any]:
    """The record written into a staged tree before it is published."""
    return {
        "key": download.key,
        "implementation": download.implementation,
        "version": download.version_str,
        "variant": download.variant,
        "os": download.os,
        "arch": download.arch,
        "arch_variant": download.arch_variant,
        "libc": download.libc,
        "build": download.build,
        "sha256": download.sha256,
        "url": download.url,
        "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "executable": executable_rel,
    }


def read_installation(path: Path, store_root: Path) -> Installation | None:
    """The installation whose record is in ``path`` (published or still staged), or None."""
    try:
        data = json.loads((path / RECORD).read_text(encoding="utf-8"))
        return Installation(
            key=str(data["key"]),
            path=path,
            implementation=str(data["implementation"]),
            version=Version(str(data["version"])),
            variant=data.get("variant") or None,
            os=str(data["os"]),
            arch=str(data["arch"]),
            arch_variant=data.get("arch_variant") or None,
            libc=str(data["libc"]),
            build=str(data.get("build", "")),
            sha256=data.get("sha256") or None,
            url=str(data.get("url", "")),
            installed_at=str(data.get("installed_at", "")),
            store=store_root,
            executable_rel=str(data.get("executable") or "bin/python3"),
        )
    except (OSError, ValueError, KeyError, TypeError, InvalidVersion):
        return None


def sort_key(inst: Installation) -> tuple[Any, ...]:
    """Best first: stable over pre-release, newest version, CPython, default variant."""
    return (
        inst.version.is_prerelease,
        tuple(-p for p in inst.version.release),
        _IMPL_ORDER.get(inst.implementation, 9),
        inst.variant is not None,
        inst.arch_variant is not None,
        inst.key,
    )


class Store:
    """A directory of installations. Only writable stores are ever changed."""

    def __init__(self, root: Path, *, writable: bool = True):
        self.root = root
        self.writable = writable

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, writable={self.writable})"

    # ----- reading ---------------------------------------------------------
    def installations(self) -> list[Installation]:
        """Complete installations, best first. Minor links and dot-dirs are skipped."""
        found: list[Installation] = []
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        for entry in entries:
            if entry.name.startswith(".") or entry.is_symlink() or not entry.is_dir():
                continue
            inst = read_installation(Path(entry.path), self.root)
            if inst is not None:
                found.append(inst)
        found.sort(key=sort_key)
        return found

    def get(self, key: str) -> Installation | None:
        path = self.root / key
        if path.is_symlink():
            return None
        return read_installation(path, self.root)

    def minor_link(self, minor_key: str) -> Path:
        return self.root / minor_key

    # ----- locks and staging -----------------------------------------------
    def check_writable(self) -> None:
        if not self.writable:
            raise FilesystemError(
                f"the store {self.root} is read-only for pyv",
                "install into your own store (drop --store) or ask its owner",
            )
        probe = self.root if self.root.exists() else self.root.parent
        if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
            raise FilesystemError(
                f"no write permission on the store {self.root}",
                "use your own store (drop --store) or ask its owner for group write access",
            )

    @contextlib.contextmanager
    def lock(self, settings: Settings) -> Iterator[None]:
        """The store-wide lock: held briefly around publishing, linking and removal."""
        self._ensure_root()
        from pyv.locking import acquire  # readers of the store never need it

        with acquire(
            self.root / STORE_LOCK,
            timeout=settings.lock_timeout,
            mode=settings.lock_mode,
            what=f"the version store at {self.root}",
        ):
            yield

    @contextlib.contextmanager
    def key_lock(self, settings: Settings, key: str) -> Iterator[None]:
        """Held for the whole install or removal of one key (serialises duplicate work)."""
        self._ensure_root()
        from pyv.locking import acquire  # readers of the store never need it

        with acquire(
            self.root / LOCKS / f"{key}.lock",
            timeout=settings.lock_timeout,
            mode=settings.lock_mode,
            what=f"{key} in {self.root}",
        ):
            yield

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / STAGING).mkdir(exist_ok=True)
            (self.root / LOCKS).mkdir(exist_ok=True)
        except OSError as exc:
            raise from_os_error(exc, f"creating the store {self.root}") from None
        _share_group_permissions(self.root)

    def new_staging(self, key: str) -> Path:
        """A fresh, empty, invisible directory for work on ``key``."""
        self._ensure_root()
        name = f"{key}.{_host_tag()}.{os.getpid()}.{os.urandom(4).hex()}"
        path = self.root / STAGING / name
        try:
            path.mkdir()
        except OSError as exc:
            raise from_os_error(exc, "creating a staging directory") from None
        return path

    def clean_staging(self, key: str) -> None:
        """Remove staging trees of ``key`` left by dead processes. Call under key_lock."""
        staging = self.root / STAGING
        try:
            entries = list(os.scandir(staging))
        except OSError:
            return
        prefix = f"{key}."
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name[len(prefix) :].count(".") >= 2:
                remove_tree(Path(entry.path))

    def damaged(self) -> list[Path]:
        """Directories where an installation would be, without a valid record (for doctor).

        Publishing always brings a record along, so these are installations whose record
        was lost or broken afterwards, or foreign files; ``pyv install`` replaces them.
        """
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        return sorted(
            Path(e.path) for e in entries
            if not e.name.startswith(".") and not e.is_symlink() and e.is_dir()
            and read_installation(Path(e.path), self.root) is None
        )

    def clean_leftovers(self) -> None:
        """Remove staging trees of dead processes on this host (any key); never fails."""
        for path in self.leftovers():
            with contextlib.suppress(OSError):
                remove_tree(path)

    def leftovers(self) -> list[Path]:
        """Staging trees whose owner process is gone (for doctor)."""
        result: list[Path] = []
        try:
            entries = list(os.scandir(self.root / STAGING))
        except OSError:
            return result
        host = _host_tag()
        for entry in entries:
            parts = entry.name.rsplit(".", 3)
            if len(parts) != 4:
                result.append(Path(entry.path))
                continue
            _, owner_host, pid, _ = parts
            if owner_host == host and pid.isdigit() and not pid_alive(int(pid)):
                result.append(Path(entry.path))
        return result

    # ----- publishing --------------------------------------------------------
    def publish(self, tree: Path, key: str, *, replace: bool) -> Path:
        """Rename a complete staged tree into place. Call under the store lock."""
        target = self.root / key
        trash: Path | None = None
        if target.exists() or target.is_symlink():
            # A directory without a valid record is not an installation (a damaged
            # one, or someone else's files): it is replaced, never merged into.
            if not replace and self.get(key) is not None:
                raise FilesystemError(f"{target} already exists", "use --reinstall")
            trash = self.new_staging(key) / "old"
        try:
            swap_in_tree(tree, target, trash=trash, what=f"publishing {key}")
        finally:
            if trash is not None:
                remove_tree(trash.parent)
        return target

    def unpublish(self, key: str) -> None:
        """Make ``key`` invisible at once (one rename), then delete it; under the store lock."""
        target = self.root / key
        trash = self.new_staging(key) / "removed"
        try:
            os.rename(target, trash)
        except OSError as exc:
            raise from_os_error(exc, f"removing {key}") from None
        remove_tree(trash.parent)

    def sync_minor_links(self) -> None:
        """Point every minor link at the newest installed patch; drop dangling ones.

        Idempotent; called under the store lock after every change so a process
        killed between publishing and linking is repaired by the next one.
        """
        newest: dict[str, Installation] = {}
        for inst in self.installations():
            current = newest.get(inst.minor_key)
            # Stable patches win over pre-releases of the same minor; then the newest.
            if current is None or (
                (not inst.version.is_prerelease, inst.version)
                > (not current.version.is_prerelease, current.version)
            ):
                newest[inst.minor_key] = inst
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink() and entry.name not in newest:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        for minor_key, inst in newest.items():
            link = self.root / minor_key
            with contextlib.suppress(OSError):
                if link.is_symlink() and os.readlink(link) == inst.key:
                    continue
            atomic_symlink(inst.key, link)


def _host_tag() -> str:
    """The host name without dots, so staging names split unambiguously from the right."""
    import socket

    return socket.gethostname().replace(".", "_") or "localhost"


def is_group_store(root: Path) -> bool:
    """Whether ``root`` is a group store: its directory carries the setgid bit.

    The setgid bit is what an admin sets up (``install -d -m 2775 -g GROUP``) so that
    everything created below keeps the group; pyv then keeps it group-writable too.
    """
    try:
        return bool(root.stat().st_mode & stat.S_ISGID)
    except OSError:
        return False


def _share_group_permissions(root: Path) -> None:
    """In a group store (setgid directory), keep new directories group-writable."""
    if is_group_store(root):
        for sub in (root / STAGING, root / LOCKS):
            with contextlib.suppress(OSError):
                os.chmod(sub, 0o2775)


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


# ----- the stores a user sees ------------------------------------------------
def user_store(settings: Settings) -> Store:
    return Store(settings.pythons_dir, writable=True)


def stores(settings: Settings) -> list[Store]:
    """The user's store first, then extra stores (``stores`` setting), read-only."""
    result = [user_store(settings)]
    seen = {settings.pythons_dir.resolve()}
    for root in settings.stores:
        path = root / "pythons" if (root / "pythons").is_dir() else root
        with contextlib.suppress(OSError):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
        result.append(Store(path, writable=False))
    return result


def all_installations(settings: Settings) -> list[Installation]:
    """Every complete installation across stores, best first (the user's store wins ties)."""
    result: list[Installation] = []
    keys: set[str] = set()
    for store in stores(settings):
        for inst in store.installations():
            if inst.key not in keys:
                keys.add(inst.key)
                result.append(inst)
    result.sort(key=sort_key)
    return result


def installed_for_key(settings: Settings, key: str) -> Installation | None:
    """The installation with this exact key, or the one a minor link names."""
    for store in stores(settings):
        inst = store.get(key)
        if inst is not None:
            return inst
        link = store.minor_link(key)
        if link.is_symlink():
            inst = store.get(os.readlink(link))
            if inst is not None:
                return inst
    return None


def find_installed(
    settings: Settings, request: PythonRequest, host: Host | None = None,
    installs: list[Installation] | None = None,
) -> list[Installation]:
    """Installations matching ``request``, best first; host-runnable ones first.
    ``installs``: an already-read :func:`all_installations` (one disk read per rehash)."""
    if request.kind in ("path", "system", "name"):
        return []
    if installs is None:
        installs = all_installations(settings)
    matches = [i for i in installs if installation_matches(request, i)]
    if not request.allows_prereleases:
        stable = [i for i in matches if not i.version.is_prerelease]
        matches = stable or matches
    if host is not None:
        matches.sort(key=lambda i: (not (i.os == host.os and i.arch == host.arch), sort_key(i)))
    return matches


def installation_matches(request: PythonRequest, inst: Installation) -> bool:
    if request.kind == "any":
        return inst.variant is None or bool(
            request.freethreaded == inst.freethreaded and request.debug == inst.debug
        )
    if not request.matches(inst.implementation, inst.version, inst.variant):
        return False
    for attr in ("os", "arch", "libc"):
        wanted = getattr(request, attr, None)
        if wanted and wanted != getattr(inst, attr):
            return False
    wanted_variant = getattr(request, "arch_variant", None)
    return not (request.kind == "key" and (wanted_variant or None) != inst.arch_variant)
