"""Creating environments: files written directly (no ``python -m venv``), staged, renamed.

The tree is built in a hidden directory beside the target and renamed into
place at the end, so a failure (or Ctrl-C) part-way leaves nothing behind.
Everything that embeds a path (activation scripts, launchers, ``pyvenv.cfg``)
is written for the final location, which the rename makes true. ``--clear``
swaps the new tree with the old one (:func:`pyv.core.fsutil.swap_in_tree`), so the
name never goes missing. What a killed process left beside an environment
(``.NAME.pyv-HOST.PID-…``, ``…-old``, ``.NAME.pyv-removing-…``) is cleaned by
:func:`clean_leftovers` once its owner is provably dead.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import PyvError, UsageError, from_os_error
from pyv.core.report import SILENT, Reporter
from pyv.venv import layout

if TYPE_CHECKING:
    from pyv.core.settings import Settings
    from pyv.venv.interpreter import BaseInterpreter
    from pyv.venv.trees import FilePlacer, InstalledWheel, Scheme

#: Names of work in progress beside an environment: staging (see
#: :func:`pyv.venv.layout.staging_dir`), the old tree set aside by ``--clear``, removal.
_LEFTOVER = re.compile(
    r"\.(?P<name>.+)\.pyv-(?P<removing>removing-)?(?:(?P<host>[^./]+)\.)?(?P<pid>\d+)"
    r"-[0-9a-f]+(?P<old>-old)?"
)


@dataclass(frozen=True)
class Environment:
    """A created environment."""

    path: Path
    base: BaseInterpreter
    prompt: str
    name: str | None = None
    seeded: tuple[str, ...] = field(default=())

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "name": self.name,
            "python": str(self.python),
            "base": str(self.base.executable),
            "implementation": self.base.implementation,
            "version": self.base.version_str,
            "key": self.base.key,
            "follows_minor": self.base.follows_minor,
            "prompt": self.prompt,
            "seeded": list(self.seeded),
        }


def pyvenv_cfg(base: BaseInterpreter, *, system_site_packages: bool, prompt: str | None,
               command: str) -> str:
    """The ``pyvenv.cfg`` of an environment made from ``base``."""
    return layout.pyvenv_cfg(
        executable=str(base.executable), implementation=base.implementation,
        version_info=base.version_info, version=base.version_str,
        system_site_packages=system_site_packages, prompt=prompt, command=command,
    )


def _check_target(target: Path, clear: bool) -> bool:
    """Whether ``target`` exists and must be replaced; refuse anything unsafe."""
    if not (target.exists() or target.is_symlink()):
        return False
    if not target.is_dir() or target.is_symlink():
        raise UsageError(f"{target} exists and is not a directory", "choose another path")
    try:
        empty = not any(os.scandir(target))
    except OSError as exc:
        raise from_os_error(exc, f"reading {target}") from None
    if empty:
        return True
    if not clear:
        raise UsageError(f"{target} already exists", "pass --clear to replace it")
    if not (target / "pyvenv.cfg").is_file():
        raise UsageError(
            f"{target} is not a virtual environment (no pyvenv.cfg); refusing to clear it",
            "remove it yourself or choose another path",
        )
    return True


def create_environment(
    settings: Settings,
    target: Path,
    base: BaseInterpreter,
    *,
    prompt: str | None = None,
    system_site_packages: bool = False,
    clear: bool = False,
    seed: bool = False,
    name: str | None = None,
    command: str | None = None,
    report: Reporter = SILENT,
) -> Environment:
    """Create an environment at ``target`` (absolute) from ``base``."""
    target = Path(os.path.abspath(target))
    clean_leftovers(target.parent, target.name)
    replace = _check_target(target, clear)
    shown_prompt = layout.shown_prompt(str(target), prompt)
    if command is None:
        command = f"pyv venv {target}"
    staging = Path(layout.staging_dir(str(target)))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        raise from_os_error(exc, f"creating {target}") from None
    seeded: tuple[str, ...] = ()
    try:
        try:
            _write_tree(staging, target, base, prompt=prompt, shown_prompt=shown_prompt,
                        system_site_packages=system_site_packages, command=command)
        except OSError as exc:
            raise from_os_error(exc, f"creating {target}") from None
        if seed:
            seeded = tuple(f"{w.name} {w.version}" for w in seed_into(
                settings, staging, target, base, report=report))
        _publish(staging, target, replace)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Environment(path=target, base=base, prompt=shown_prompt, name=name, seeded=seeded)


def _write_tree(staging: Path, final: Path, base: BaseInterpreter, *, prompt: str | None,
                shown_prompt: str, system_site_packages: bool, command: str) -> None:
    layout.write_tree(
        str(staging), str(final), executable=str(base.executable), names=base.link_names(),
        site_packages=base.site_packages, prompt=shown_prompt,
        cfg=pyvenv_cfg(base, system_site_packages=system_site_packages, prompt=prompt,
                       command=command),
    )


def seed_into(settings: Settings, staging: Path, final: Path, base: BaseInterpreter, *,
              report: Reporter = SILENT) -> list[InstalledWheel]:
    """Install the seed wheels into a staged tree whose scripts will live at ``final``."""
    from pyv.core.errors import ArchiveError
    from pyv.venv.seed import drop_unpacked, find_seed_wheels
    from pyv.venv.trees import FilePlacer, environment_scheme

    wheels = find_seed_wheels(settings, base.version, base.executable, base.site_packages,
                              report=report)
    scheme = environment_scheme(str(staging), str(final), base.site_packages, base.version)
    placer = FilePlacer()  # one link-or-copy decision for the whole seed
    installed = []
    for wheel in wheels:
        try:
            installed.append(_seed_one(settings, wheel.path, scheme, base.version[:2], placer))
        except OSError as exc:
            raise from_os_error(exc, f"installing {wheel.path.name}") from None
        except ArchiveError as exc:
            if wheel.source == "cache":
                # A damaged cache entry must not poison every later seed.
                with contextlib.suppress(OSError):
                    wheel.path.unlink()
            drop_unpacked(settings, wheel.path)
            raise PyvError(exc.message, "run the command again" if wheel.source == "cache"
                           else exc.hint, exit_code=exc.exit_code) from None
    return installed


def _seed_one(settings: Settings, wheel: Path, scheme: Scheme, version: tuple[int, int],
              placer: FilePlacer) -> InstalledWheel:
    """Link ``wheel``'s verified tree into ``scheme``, making or remaking the tree as needed."""
    from pyv.venv.seed import unpacked_wheel
    from pyv.venv.trees import DamagedTree, install_unpacked
    from pyv.venv.wheel import install_wheel

    try:
        unpacked = unpacked_wheel(settings, wheel)
    except OSError:
        # The cache cannot hold a tree (read-only, full): install from the wheel itself.
        return install_wheel(wheel, scheme, version)
    try:
        return install_unpacked(unpacked, scheme, version, placer)
    except DamagedTree:
        # Something changed the cached tree: verify a fresh one from the wheel, once.
        unpacked = unpacked_wheel(settings, wheel, remake=True)
        return install_unpacked(unpacked, scheme, version, placer)


def _publish(staging: Path, target: Path, replace: bool) -> None:
    from pyv.core.fsutil import swap_in_tree

    what = f"moving the new environment to {target}"
    if not replace:
        try:
            os.rename(staging, target)
        except OSError as exc:
            raise from_os_error(exc, what) from None
        return
    swap_in_tree(staging, target, trash=staging.with_name(staging.name + "-old"), what=what)


def remove_environment(path: Path) -> None:
    """Delete an environment: one rename (it vanishes at once), then the tree."""
    from pyv.core.fsutil import host_tag, remove_tree

    owner = f"{host_tag()}.{os.getpid()}"
    trash = path.with_name(f".{path.name}.pyv-removing-{owner}-{os.urandom(4).hex()}")
    try:
        os.rename(path, trash)
    except OSError as exc:
        raise from_os_error(exc, f"removing {path}") from None
    remove_tree(trash)


def leftovers(parent: Path, name: str | None = None) -> list[Path]:
    """What killed environment operations left in ``parent`` (of ``name``, or of any):
    only names pyv makes, whose owner process is dead on this host."""
    from pyv.core.fsutil import host_tag, pid_alive

    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    host = host_tag()
    found = []
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry.name)
        if match is None or (name is not None and match["name"] != name):
            continue
        # A name without a host (older pyv) or from another host cannot be proven dead.
        if match["host"] == host and not pid_alive(int(match["pid"])):
            found.append(Path(entry.path))
    return sorted(found)


def clean_leftovers(parent: Path, name: str | None = None) -> list[Path]:
    """Remove :func:`leftovers`, first putting back an old tree that ``--clear`` had set
    aside when its environment's name is now empty. Returns what was removed; never fails.
    """
    from pyv.core.fsutil import remove_tree, restore_aside

    removed = []
    for path in leftovers(parent, name):
        match = _LEFTOVER.fullmatch(path.name)
        if match is not None and match["old"] and restore_aside(path, parent / match["name"]):
            continue
        with contextlib.suppress(OSError):
            remove_tree(path)
            removed.append(path)
    return removed
