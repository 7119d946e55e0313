"""The version store: complete installations, minor links, records, staging, locks.

An installation is visible if and only if a directory (no leading dot) of the
store holds the record file ``.pyv-install.json``. The record is written into
the staging tree *before* the single ``rename()`` (or atomic exchange, for a
reinstall) that publishes it, so a crash at any moment leaves either nothing
visible, the old installation or the new one. Staging trees live in
``.staging/`` and are removed by the next operation once their owner is dead
(or by ``pyv doctor --fix``); a tree set aside by a reinstall that died is put
back first. Minor links are derived from the records in one place,
:meth:`Store.sync_minor_links`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from pyv.core.errors import FilesystemError, from_os_error
from pyv.core.fsutil import (
    atomic_symlink,
    atomic_write,
    capped_mode,
    host_tag,
    is_group_store,
    pid_alive,
    remove_tree,
    restore_aside,
    swap_in_tree,
)
from pyv.core.locations import RECORD, minor_key_for
from pyv.core.records import record
from pyv.core.requests import implementation_rank

if TYPE_CHECKING:
    from pyv.acquire.catalog import Download
    from pyv.core.platform import Host
    from pyv.core.requests import PythonRequest
    from pyv.core.settings import Settings

STAGING = ".staging"
LOCKS = ".locks"
STORE_LOCK = ".lock"
#: Where a reinstall sets the old tree aside, inside its staging directory.
ASIDE = "old"


@record(frozen=True)
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
    from datetime import datetime, timezone  # only installs write records

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


def write_record(tree: Path, record: dict[str, Any], *, group: bool) -> None:
    """Write the record into a staged tree with an explicit mode (not the umask's)."""
    import json  # here and below, not at the top: an empty store never needs json
    atomic_write(tree / RECORD, json.dumps(record, indent=1),
                 mode=0o664 if group else capped_mode(0o644), what=f"the record of {tree.name}")


def executable_inside(rel: str) -> bool:
    """Whether a record's ``executable`` names a path inside its installation."""
    norm = os.path.normpath(rel)
    return bool(rel) and not os.path.isabs(rel) and norm != ".." and not norm.startswith("../")


def read_installation(path: Path, store_root: Path) -> Installation | None:
    """The installation whose record is in ``path`` (published or still staged), or None.

    A record that cannot be read, lacks a field or names an interpreter outside
    its tree is damaged: the directory is then no installation (never followed).
    """
    import json

    try:
        data = json.loads((path / RECORD).read_text(encoding="utf-8"))
        executable = str(data.get("executable") or "bin/python3")
        if not executable_inside(executable):
            return None
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
            executable_rel=executable,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, InvalidVersion):
        return None


def sort_key(inst: Installation) -> tuple[Any, ...]:
    """Best first: stable over pre-release, newest version, CPython, default variant."""
    return (
        inst.version.is_prerelease,
        tuple(-p for p in inst.version.release),
        implementation_rank(inst.implementation),
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
        from pyv.core.locking import acquire  # readers of the store never need it

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
        from pyv.core.locking import acquire  # readers of the store never need it

        with acquire(
            self.root / LOCKS / f"{key}.lock",
            timeout=settings.lock_timeout,
            mode=settings.lock_mode,
            what=f"{key} in {self.root}",
        ):
            yield

    def _ensure_root(self) -> None:
        try:
            if not self.root.is_dir():
                self.root.mkdir(parents=True, exist_ok=True)
                if not is_group_store(self.root):
                    # Explicit: a umask of 000 must not make the store world-writable.
                    os.chmod(self.root, capped_mode(0o755))
            (self.root / STAGING).mkdir(exist_ok=True)
            (self.root / LOCKS).mkdir(exist_ok=True)
        except OSError as exc:
            raise from_os_error(exc, f"creating the store {self.root}") from None
        _share_group_permissions(self.root)

    def new_staging(self, key: str) -> Path:
        """A fresh, empty, invisible directory for work on ``key``."""
        self._ensure_root()
        name = f"{key}.{host_tag()}.{os.getpid()}.{os.urandom(4).hex()}"
        path = self.root / STAGING / name
        try:
            path.mkdir()
        except OSError as exc:
            raise from_os_error(exc, "creating a staging directory") from None
        return path

    def clean_staging(self, settings: Settings, key: str) -> None:
        """Remove every staging tree of ``key`` (first putting back a tree set aside by a
        reinstall that died). Call under key_lock: no live process works on ``key`` then."""
        prefix = f"{key}."
        mine = [p for p in self._staging_entries()
                if p.name.startswith(prefix) and p.name[len(prefix):].count(".") == 2]
        self._discard_all(settings, mine)

    def clean_leftovers(self, settings: Settings) -> None:
        """Remove staging trees of dead processes on this host (any key)."""
        self._discard_all(settings, self.leftovers())

    def _discard_all(self, settings: Settings, paths: list[Path]) -> None:
        if not paths:
            return
        if any(self._set_aside(p) is not None for p in paths):
            with self.lock(settings):  # publishing renames only under this lock
                for path in paths:
                    self.discard(path)
        else:
            for path in paths:
                self.discard(path)

    def _set_aside(self, staging: Path) -> Path | None:
        """The installation a reinstall set aside in ``staging``, if its name is now empty."""
        aside = staging / ASIDE
        key = staging.name.rsplit(".", 3)[0]
        target = self.root / key
        if aside.is_dir() and not os.path.lexists(target):
            return target
        return None

    def discard(self, staging: Path) -> None:
        """Remove one dead staging tree, restoring what it set aside. Under the store lock."""
        target = self._set_aside(staging)
        if target is not None:
            restore_aside(staging / ASIDE, target)
        with contextlib.suppress(OSError):
            remove_tree(staging)

    def _staging_entries(self) -> list[Path]:
        try:
            return [Path(e.path) for e in os.scandir(self.root / STAGING)]
        except OSError:
            return []

    def leftovers(self) -> list[Path]:
        """Staging trees whose owner process is gone (for doctor and the next install)."""
        result: list[Path] = []
        host = host_tag()
        for path in self._staging_entries():
            parts = path.name.rsplit(".", 3)
            if len(parts) != 4:
                continue  # not a name pyv makes: not provably ours, so not touched
            _, owner_host, pid, _ = parts
            if owner_host == host and pid.isdigit() and not pid_alive(int(pid)):
                result.append(path)
        return sorted(result)

    def damaged(self) -> list[Path]:
        """Installations whose record was damaged after publishing (for doctor).

        The record file is there but unreadable, incomplete, or names an interpreter
        outside the tree; ``pyv install --reinstall KEY`` repairs them.
        """
        return [p for p in self._unrecorded() if os.path.lexists(p / RECORD)]

    def foreign(self) -> list[Path]:
        """Entries of the store pyv did not make (no record, not a minor link): never touched."""
        result = [p for p in self._unrecorded() if not os.path.lexists(p / RECORD)]
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return result
        for entry in entries:
            if entry.name.startswith("."):
                continue
            link = entry.is_symlink()
            if (link and not _is_minor_link(entry.path)) or (not link and not entry.is_dir()):
                result.append(Path(entry.path))
        return sorted(result)

    def _unrecorded(self) -> list[Path]:
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        return sorted(
            Path(e.path) for e in entries
            if not e.name.startswith(".") and not e.is_symlink() and e.is_dir()
            and read_installation(Path(e.path), self.root) is None
        )

    # ----- publishing --------------------------------------------------------
    def publish(self, tree: Path, key: str, *, replace: bool) -> Path:
        """Put a complete staged tree in place. Call under the store lock.

        An existing ``key`` is swapped out atomically where the system can, so it is
        never missing (see :func:`pyv.core.fsutil.swap_in_tree`); elsewhere it is set aside
        beside ``tree`` first, where :meth:`discard` finds it if this process dies.
        """
        target = self.root / key
        # A directory without a valid record is not an installation (a damaged
        # one, or someone else's files): it is replaced, never merged into.
        if os.path.lexists(target) and not replace and self.get(key) is not None:
            raise FilesystemError(f"{target} already exists", "use --reinstall")
        swap_in_tree(tree, target, trash=tree.parent / ASIDE, what=f"publishing {key}")
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

    def wanted_minor_links(self) -> dict[str, str]:
        """Minor link name -> installation key it must name: the newest patch per minor.

        The one place minor links are derived from the records. A stable patch wins
        over pre-releases of the same minor; then the newest.
        """
        newest = newest_patches(self.installations())
        return {minor: inst.key for minor, inst in newest.items()}

    def minor_links_current(self) -> bool:
        """Whether every minor link is what :meth:`wanted_minor_links` says (read-only)."""
        wanted = self.wanted_minor_links()
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return not wanted
        present = {e.name: os.readlink(e.path) for e in entries
                   if e.is_symlink() and _is_minor_link(e.path)}
        return present == wanted

    def sync_minor_links(self) -> None:
        """Point every minor link at the newest installed patch; drop dangling ones.

        Idempotent; called under the store lock by every install (also "already
        installed"), uninstall, rehash and ``doctor --fix``, so a process killed between
        publishing and linking is repaired by the next one. Symlinks pyv did not make
        (anything but a bare name) are left alone.
        """
        wanted = self.wanted_minor_links()
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink() and entry.name not in wanted and _is_minor_link(entry.path):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        for minor_key, key in wanted.items():
            link = self.root / minor_key
            with contextlib.suppress(OSError):
                if link.is_symlink() and os.readlink(link) == key:
                    continue
            atomic_symlink(key, link, what=f"the minor link {link}")


def newest_patches(installs: list[Installation]) -> dict[str, Installation]:
    """Minor key -> the newest patch of that minor among ``installs`` (one store's, or one
    about to be published among them): what its minor link names."""
    newest: dict[str, Installation] = {}
    for inst in installs:
        current = newest.get(inst.minor_key)
        if current is None or (
            (not inst.version.is_prerelease, inst.version)
            > (not current.version.is_prerelease, current.version)
        ):
            newest[inst.minor_key] = inst
    return newest


def _is_minor_link(path: str) -> bool:
    """Whether a symlink in a store is one pyv makes: a bare name, never a path."""
    try:
        target = os.readlink(path)
    except OSError:
        return False
    return bool(target) and "/" not in target and not target.startswith(".")


def repair_minor_links(settings: Settings, store: Store | None = None) -> None:
    """Re-derive the minor links of ``store`` (default: the user's) if any is wrong.

    Read-only when they are right; otherwise fixed under the store lock. A store
    that does not exist yet has nothing to repair.
    """
    store = store or user_store(settings)
    if not store.writable or not os.access(store.root, os.W_OK | os.X_OK):
        return  # missing, or not ours to change: a rehash must still work
    if store.minor_links_current():
        return
    with store.lock(settings):
        store.sync_minor_links()


def _share_group_permissions(root: Path) -> None:
    """In a group store (setgid directory), keep new directories group-writable."""
    if is_group_store(root):
        for sub in (root / STAGING, root / LOCKS):
            with contextlib.suppress(OSError):
                os.chmod(sub, 0o2775)


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
