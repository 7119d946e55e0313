"""Disk housekeeping: what uses how much, which old patches can go, what the cache can drop.

Pure planning: each function reads the disk and returns a frozen plan; the CLI
renders it and, unless asked for a dry run, carries it out through the functions
that own each directory (uninstall for the store; the cache here, under the locks
its writers take).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.fsutil import Usage, total_usage, tree_usage

if TYPE_CHECKING:
    from packaging.version import Version

    from pyv.acquire.store import Installation
    from pyv.core.platform import Host
    from pyv.core.settings import Settings


# ----- sizes ---------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """One thing on disk and what it costs."""

    kind: str  # "installation" | "environment" | "cache"
    name: str
    path: Path
    usage: Usage

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "path": str(self.path),
                **self.usage.to_json()}


@dataclass(frozen=True)
class DiskReport:
    """Everything pyv keeps in the user's home, item by item."""

    items: tuple[Item, ...]

    @property
    def total(self) -> Usage:
        return total_usage(i.usage for i in self.items)

    def to_json(self) -> dict[str, object]:
        return {"items": [i.to_json() for i in self.items], "total": self.total.to_json()}


def disk_report(settings: Settings) -> DiskReport:
    """Sizes and inode counts of installations (user's store), environments and the cache."""
    from pyv.acquire.store import user_store
    from pyv.venv.registry import named_environments, project_environments

    items: list[Item] = [Item("installation", i.key, i.path, tree_usage(i.path))
                         for i in user_store(settings).installations()]
    for env in named_environments(settings):
        items.append(Item("environment", env.name, env, tree_usage(env)))
    for env in project_environments(settings):
        items.append(Item("environment", str(env), env, tree_usage(env)))
    for sub in (settings.downloads_cache_dir, _wheel_cache(settings)):
        if sub.is_dir():
            items.append(Item("cache", sub.name, sub, tree_usage(sub)))
    return DiskReport(tuple(items))


# ----- prune ---------------------------------------------------------------------
@dataclass(frozen=True)
class PruneCandidate:
    """An installed patch a newer patch of its minor superseded, and what still uses it."""

    installation: Installation
    superseded_by: str
    usage: Usage
    users: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"key": self.installation.key, "version": str(self.installation.version),
                "path": str(self.installation.path), "superseded_by": self.superseded_by,
                "users": list(self.users), **self.usage.to_json()}


@dataclass(frozen=True)
class PrunePlan:
    """Superseded patches: those nothing uses (to remove) and those kept for their users."""

    candidates: tuple[PruneCandidate, ...]

    @property
    def removable(self) -> tuple[PruneCandidate, ...]:
        return tuple(c for c in self.candidates if not c.users)

    @property
    def in_use(self) -> tuple[PruneCandidate, ...]:
        return tuple(c for c in self.candidates if c.users)


def prune_plan(settings: Settings) -> PrunePlan:
    """Every older patch of a minor whose newer patch is installed, with its users.

    Users are environments (named and recorded project ones), pins (the global
    version file and those of recorded projects) and the store's minor links.
    """
    from pyv.acquire.store import newest_patches, user_store
    from pyv.venv.registry import environments_using

    store = user_store(settings)
    installed = store.installations()
    newest = newest_patches(installed)
    pinned = _pinned_keys(settings, installed)
    linked = _linked_keys(store.root)
    candidates: list[PruneCandidate] = []
    for inst in installed:
        best = newest[inst.minor_key]
        if best.key == inst.key or inst.version > best.version:
            continue  # the newest patch, or a pre-release newer than the stable one
        users = [str(env) for env in environments_using(settings, inst.path)]
        users += [f"the pin in {where}" for where in pinned.get(inst.key, ())]
        users += [f"the minor link {link}" for link in linked.get(inst.key, ())]
        candidates.append(PruneCandidate(inst, best.key, tree_usage(inst.path), tuple(users)))
    return PrunePlan(tuple(candidates))


def _version_files(settings: Settings) -> Iterator[Path]:
    """The global version file and the nearest version file of each recorded project."""
    from pyv.choose.pins import find_version_file
    from pyv.venv.registry import project_environments

    if settings.global_version_file.is_file():
        yield settings.global_version_file
    seen: set[Path] = set()
    for env in project_environments(settings):
        found = find_version_file(env.parent)
        if found is not None and found not in seen:
            seen.add(found)
            yield found


def _pinned_keys(settings: Settings, installed: list[Installation]) -> dict[str, list[Path]]:
    """Installation key -> version files whose entries select it (as selection would)."""
    from pyv.acquire.store import find_installed
    from pyv.choose.pins import read_version_file
    from pyv.core.errors import PyvError

    result: dict[str, list[Path]] = {}
    for path in _version_files(settings):
        try:
            entries = read_version_file(path).entries
        except PyvError:
            continue  # unreadable or empty: it selects nothing
        for entry in entries:
            matches = find_installed(settings, entry.request, installs=installed)
            if matches:
                result.setdefault(matches[0].key, []).append(path)
    return result


def _linked_keys(root: Path) -> dict[str, list[str]]:
    """Installation key -> the minor links that name it now."""
    result: dict[str, list[str]] = {}
    try:
        entries = list(os.scandir(root))
    except OSError:
        return result
    for entry in entries:
        if entry.is_symlink():
            with contextlib.suppress(OSError):
                target = os.readlink(entry.path)
                if "/" not in target:
                    result.setdefault(target, []).append(entry.name)
    return result


# ----- outdated ------------------------------------------------------------------
@dataclass(frozen=True)
class Outdated:
    """An installed minor and the newer patch the catalog offers for it."""

    minor: str
    installed: str
    available: str
    key: str

    def to_json(self) -> dict[str, str]:
        return {"minor": self.minor, "installed": self.installed, "available": self.available,
                "key": self.key}


def outdated(settings: Settings, host: Host | None = None) -> tuple[Outdated, ...]:
    """For each installed minor, the newest patch in the catalog when newer than installed."""
    from pyv.acquire.catalog import load_catalog, newer_patch
    from pyv.acquire.store import newest_patches, user_store
    from pyv.core.platform import current_host

    host = host or current_host()
    catalog = load_catalog(settings)
    result: list[Outdated] = []
    for minor, inst in sorted(newest_patches(user_store(settings).installations()).items()):
        newer = newer_patch(catalog, inst.minor_key, inst.version, host)
        if newer is not None:
            result.append(Outdated(minor, str(inst.version), str(newer.version), newer.key))
    return tuple(result)


# ----- the cache -----------------------------------------------------------------
@dataclass(frozen=True)
class CacheEntry:
    """One file or tree of the cache that a clean or prune removes."""

    path: Path
    usage: Usage
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "reason": self.reason, **self.usage.to_json()}


@dataclass(frozen=True)
class CachePlan:
    entries: tuple[CacheEntry, ...]

    @property
    def total(self) -> Usage:
        return total_usage(e.usage for e in self.entries)


def _wheel_cache(settings: Settings) -> Path:
    from pyv.venv.wheel import wheel_cache

    return wheel_cache(settings)


_TEMP = re.compile(r"\..+\.(\d+)\.[0-9a-f]{8}\.(tmp|old)")


def _listing(directory: Path) -> list[os.DirEntry[str]]:
    try:
        return sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []


def cache_plan(settings: Settings, *, everything: bool) -> CachePlan:
    """What ``cache clean`` (``everything``) or ``cache prune`` removes.

    Prune keeps the archives of installed interpreters (a reinstall needs no
    network) and the newest wheel of each seed package with its unpacked tree;
    it drops every other archive, every ``.part`` download and older wheels.
    """
    from urllib.parse import unquote

    from pyv.acquire.store import user_store

    # The cache names an archive as the catalog's URL does, decoded (see Download.filename).
    wanted_archives = {unquote(i.url.rsplit("/", 1)[-1])
                       for i in user_store(settings).installations()}
    entries: list[CacheEntry] = []
    for entry in _listing(settings.downloads_cache_dir):
        if entry.name.startswith(".") or entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        if entry.name.endswith(".part"):
            entries.append(CacheEntry(path, tree_usage(path), "unfinished download"))
        elif everything:
            entries.append(CacheEntry(path, tree_usage(path), "archive"))
        elif entry.name not in wanted_archives:
            entries.append(CacheEntry(path, tree_usage(path), "archive of no installed version"))
    wheels = _wheel_cache(settings)
    current = _current_wheels(wheels)
    for entry in _listing(wheels):
        path = Path(entry.path)
        if not entry.name.endswith(".whl") or entry.is_dir(follow_symlinks=False):
            continue
        if everything:
            entries.append(CacheEntry(path, tree_usage(path), "seed wheel"))
        elif entry.name not in current:
            entries.append(CacheEntry(path, tree_usage(path), "older seed wheel"))
    sources = {} if everything else _seed_sources(settings, wheels, current)
    for entry in _listing(wheels / "unpacked"):
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue  # the lock, and trees a running seed is making
        path = Path(entry.path)
        if everything:
            entries.append(CacheEntry(path, tree_usage(path), "unpacked seed wheel"))
        elif not _unpacked_still_needed(path, sources):
            entries.append(CacheEntry(path, tree_usage(path), "unpacked tree of no current wheel"))
    return CachePlan(tuple(entries))


def _current_wheels(wheels: Path) -> set[str]:
    """File names of the newest cached wheel of each package (what seeding picks first)."""
    from pyv.venv.wheel import wheel_facts

    best: dict[str, tuple[Version, str]] = {}
    for entry in _listing(wheels):
        facts = wheel_facts(Path(entry.path))
        if facts is None:
            continue
        name, version = facts
        if name not in best or version > best[name][0]:
            best[name] = (version, entry.name)
    return {file for _, file in best.values()}


def _seed_sources(settings: Settings, wheels: Path, current: set[str]) -> dict[str, Path]:
    """Wheel file name -> file, for the wheels a seed may still unpack: the current cached
    ones and those the installed interpreters bundle for ``ensurepip``."""
    from pyv.acquire.store import user_store

    sources = {name: wheels / name for name in current}
    for inst in user_store(settings).installations():
        for bundled in inst.path.glob("lib/*/ensurepip/_bundled/*.whl"):
            sources.setdefault(bundled.name, bundled)
    return sources


def _unpacked_still_needed(root: Path, sources: dict[str, Path]) -> bool:
    """A tree made from one of ``sources`` as it is now (a replaced wheel is not)."""
    from pyv.venv.wheel import load_unpacked

    found = load_unpacked(root)
    if found is None or found.wheel not in sources:
        return False
    try:
        return found.made_from(os.stat(sources[found.wheel]))
    except OSError:
        return False


def apply_cache_plan(settings: Settings, plan: CachePlan) -> CachePlan:
    """Remove the plan's entries under the locks their writers take; returns what went.

    A ``.part`` file whose download is running (its lock is held) is left alone.
    """
    from pyv.core.errors import LockTimeout
    from pyv.core.locking import acquire

    done: list[CacheEntry] = []
    trees = _wheel_cache(settings) / "unpacked"
    for entry in plan.entries:
        path = entry.path
        lock: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if path.parent == trees:
            lock = acquire(trees / ".lock", timeout=settings.lock_timeout,
                           mode=settings.lock_mode, what=f"the wheel cache at {trees}")
        elif path.name.endswith(".part"):
            # The lock its download holds; no wait: a running download keeps its file.
            lock = acquire(path.parent / ".locks" / f"{path.name}.lock", timeout=0.0,
                           mode=settings.lock_mode, what=f"the download {path}")
        try:
            with lock:
                _remove(path)
        except LockTimeout:
            if path.parent == trees:
                raise
            continue
        except FileNotFoundError:
            continue  # someone else removed it meanwhile
        done.append(entry)
    return CachePlan(tuple(done))


def _remove(path: Path) -> None:
    """Unlink a file; a tree is renamed aside first, so it vanishes at once."""
    from pyv.core.fsutil import remove_tree

    if path.is_dir() and not path.is_symlink():
        trash = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.old")
        os.rename(path, trash)
        remove_tree(trash)
    else:
        path.unlink()
