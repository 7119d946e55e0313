"""Seeding environments with pip (and setuptools + wheel below Python 3.12).

Wheels come from, in order: pyv's wheel cache (``$PYV_HOME/cache/wheels``, so
every seed after the first is offline), the package index (PEP 503/691 simple
API at ``PYV_INDEX_URL``/``PIP_INDEX_URL``, default PyPI; skipped when offline;
see :mod:`pyv.venv.seed_index`), and the wheels the base interpreter bundles for
``ensurepip``. A choice made wholly from the cache is remembered per Python
version with the cache's listing (:mod:`pyv.venv.seed_choices`), so a warm seed parses
nothing.

Each wheel is unpacked and verified once into ``cache/wheels/unpacked/<wheel>``
(:func:`unpacked_wheel`); seeds hard-link from there (see :mod:`pyv.venv.wheel`).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import NotFound, PyvError
from pyv.core.records import replace
from pyv.core.report import SILENT, Reporter
from pyv.venv import seed_choices
from pyv.venv.seed_choices import seed_packages
from pyv.venv.wheel import SeedWheel, admits, wheel_cache, wheel_facts

if TYPE_CHECKING:
    from packaging.version import Version

    from pyv.core.settings import Settings
    from pyv.venv.trees import UnpackedWheel

def _requires_python(path: Path) -> str | None:
    """The Requires-Python of a wheel's METADATA (None if absent or unreadable)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            meta = next((n for n in zf.namelist()
                         if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
            if meta is None:
                return None
            head = zf.read(meta).split(b"\n\n", 1)[0].decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return None
    match = re.search(r"^Requires-Python:\s*(.+?)\s*$", head, re.MULTILINE)
    return match.group(1) if match else None


def _best_local(
    paths: Iterable[Path], name: str, python: tuple[int, int, int]
) -> tuple[Version, Path] | None:
    candidates: list[tuple[Version, Path]] = []
    for path in paths:
        facts = wheel_facts(path)
        if facts and facts[0] == name and not facts[1].is_prerelease:
            candidates.append((facts[1], path))
    for version, path in sorted(candidates, reverse=True):
        if admits(_requires_python(path), python):
            return version, path
    return None


def bundled_wheels_dir(base_executable: Path, site_packages: str) -> Path:
    """``ensurepip/_bundled`` of the base interpreter (its stdlib sits beside site-packages)."""
    prefix = Path(os.path.realpath(base_executable)).parent.parent
    stdlib = Path(site_packages).parent  # lib/python3.12
    return prefix / stdlib / "ensurepip" / "_bundled"


def find_seed_wheels(
    settings: Settings,
    python: tuple[int, int, int],
    base_executable: Path,
    site_packages: str,
    *,
    report: Reporter = SILENT,
) -> list[SeedWheel]:
    """Pick a wheel for each seed package; pip is required, the others are best effort."""
    cache = wheel_cache(settings)
    listing = _listdir(cache)
    remembered = _remembered(settings, python, listing)
    if remembered is not None:
        return remembered
    bundled = bundled_wheels_dir(base_executable, site_packages)
    chosen: list[SeedWheel] = []
    network_error: PyvError | None = None
    for name in seed_packages(python):
        found = _best_local(listing, name, python)
        if found:
            chosen.append(SeedWheel(name, str(found[0]), found[1], "cache"))
            continue
        if not settings.offline and network_error is None:
            from pyv.venv.seed_index import download_seed_wheel

            try:
                downloaded = download_seed_wheel(settings, name, python, report=report)
            except PyvError as exc:
                # Later packages would fail the same way; fall back to bundled wheels.
                network_error = exc
            else:
                if downloaded is not None:
                    chosen.append(downloaded)
                    continue
        found = _best_local(_listdir(bundled), name, python)
        if found:
            path = found[1]
            if not settings.offline:
                # The index could not help: keep this wheel so later seeds stay offline.
                path = _keep_in_cache(path, cache)
            chosen.append(SeedWheel(name, str(found[0]), path, "bundled"))
            continue
        if name == "pip":
            why = f" ({network_error.message})" if network_error else ""
            raise NotFound(
                f"no pip wheel for Python {'.'.join(map(str, python))} is available{why}",
                f"seed once with network access, or put a pip wheel in {cache}",
            )
        report.warning(f"no {name} wheel available offline; seeding without it")
    if network_error is not None:
        report.warning(f"could not reach the package index ({network_error.message}); "
                       "used the interpreter's bundled wheels")
    _remember(settings, python, listing, chosen)
    return chosen


# ----- the remembered choice (kept by pyv.venv.seed_choices) ---------------------
def _remembered(
    settings: Settings, python: tuple[int, int, int], listing: list[Path]
) -> list[SeedWheel] | None:
    """The wheels chosen before for ``python`` from this very cache listing, else None."""
    cache = wheel_cache(settings)
    found = seed_choices.remembered(str(cache), python, [p.name for p in listing])
    if found is None:
        return None
    return [SeedWheel(name, version, cache / wheel, "cache") for name, version, wheel in found]


def _remember(settings: Settings, python: tuple[int, int, int], listing: list[Path],
              chosen: list[SeedWheel]) -> None:
    """Keep a choice made wholly from the cache (best effort: a seed never fails on it)."""
    if any(w.source != "cache" for w in chosen):
        return
    seed_choices.remember(str(wheel_cache(settings)), python, [p.name for p in listing],
                          [(w.name, w.version, w.path.name) for w in chosen])


def _keep_in_cache(wheel: Path, cache: Path) -> Path:
    """Copy ``wheel`` into the cache atomically; the original on any failure."""
    import shutil

    dest = cache / wheel.name
    tmp = cache / f".{wheel.name}.{os.getpid()}.tmp"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # copy2 keeps the mtime, so a tree unpacked from the original still matches the copy.
        shutil.copy2(wheel, tmp)
        os.replace(tmp, dest)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return wheel
    return dest


def unpacked_dir(settings: Settings) -> Path:
    return wheel_cache(settings) / seed_choices.TREES


def _tree_root(settings: Settings, wheel: Path) -> Path:
    return Path(seed_choices.tree_root(str(wheel_cache(settings)), wheel.name))


def unpacked_wheel(settings: Settings, wheel: Path, *, remake: bool = False) -> UnpackedWheel:
    """The verified tree of ``wheel`` in the cache, made on first use (or when ``remake``).

    It is unpacked and verified in a temporary directory beside its final place and
    published by one rename, under the cache's lock, so no seed ever links from a
    half-made tree. Raises ``ArchiveError`` for a bad wheel, ``OSError`` when the
    cache cannot hold the tree.
    """
    from pyv.venv.trees import load_unpacked

    root = _tree_root(settings, wheel)
    made_from = os.stat(wheel)
    if not remake:
        found = load_unpacked(root)
        if found is not None and found.made_from(made_from):
            return found
    from pyv.core.fsutil import remove_tree
    from pyv.core.locking import acquire
    from pyv.venv.wheel import unpack_wheel

    trees = unpacked_dir(settings)
    trees.mkdir(parents=True, exist_ok=True)
    with acquire(trees / ".lock", timeout=settings.lock_timeout, mode=settings.lock_mode,
                 what=f"the wheel cache at {trees}"):
        _remove_leftovers(trees)
        found = load_unpacked(root)
        # Another seed may have made it while this one waited; a damaged one goes.
        if found is not None and found.made_from(made_from) and not remake:
            return found
        tag = f"{os.getpid()}.{os.urandom(4).hex()}"
        tmp = trees / f".{root.name}.{tag}.tmp"
        try:
            tmp.mkdir()
            unpacked = unpack_wheel(wheel, tmp)
            if os.path.lexists(root):
                trash = trees / f".{root.name}.{tag}.old"
                os.rename(root, trash)
                remove_tree(trash)
            os.rename(tmp, root)
        except BaseException:
            remove_tree(tmp)
            raise
    return replace(unpacked, root=str(root))


def drop_unpacked(settings: Settings, wheel: Path) -> None:
    """Remove the tree of ``wheel`` (with the wheel, when it proved corrupt)."""
    from pyv.core.fsutil import remove_tree

    root = _tree_root(settings, wheel)
    if os.path.lexists(root):
        trash = root.with_name(f".{root.name}.{os.getpid()}.{os.urandom(4).hex()}.old")
        with contextlib.suppress(OSError):
            os.rename(root, trash)
            remove_tree(trash)


def _remove_leftovers(trees: Path) -> None:
    """Temporary trees of seeds that died (their pid is gone)."""
    from pyv.core.fsutil import pid_alive, remove_tree

    for name in os.listdir(trees):
        match = re.fullmatch(r"\..+\.(\d+)\.[0-9a-f]{8}\.(tmp|old)", name)
        if match and not pid_alive(int(match.group(1))):
            path = trees / name
            if path.is_dir() and not path.is_symlink():
                remove_tree(path)
            else:  # a choices file (see _remember) half-written by that seed
                with contextlib.suppress(OSError):
                    path.unlink()


def _listdir(directory: Path) -> list[Path]:
    try:
        return [directory / n for n in os.listdir(directory) if n.endswith(".whl")]
    except OSError:
        return []
