"""Entry points for virtual environments: project ``.venv`` and named central ones.

The entry points the CLI and other modules use:

* :func:`make_environment` - ``pyv venv`` (project or ``--name``),
* :func:`list_named`, :func:`named_path`, :func:`remove_named` - ``pyv envs``,
* :func:`environments_using` - ``pyv uninstall``'s protection.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import NotFound, UsageError
from pyv.core.report import SILENT, Reporter
from pyv.venv.registry import (
    EnvironmentInfo,
    describe_environment,
    environments_using,
    named_environments,
    register_project,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pyv.core.settings import Settings
    from pyv.acquire.store import Installation
    from pyv.venv.create import Environment

__all__ = [
    "EnvironmentInfo",
    "environments_guard",
    "environments_using",
    "list_named",
    "make_environment",
    "named_path",
    "remove_named",
]


def make_environment(
    settings: Settings,
    cwd: Path,
    *,
    path: str | None = None,
    name: str | None = None,
    python: str | None = None,
    prompt: str | None = None,
    seed: bool = False,
    system_site_packages: bool = False,
    clear: bool = False,
    report: Reporter = SILENT,
) -> Environment:
    """Create a project environment (``path``, default ``./.venv``) or a named one (``name``)."""
    from pyv.venv.create import clean_leftovers, create_environment
    from pyv.venv.interpreter import resolve_interpreter

    if path is not None and name is not None:
        raise UsageError("give either a PATH or --name, not both")
    if name is not None:
        from pyv.venv.names import validate_name

        validate_name(name)
        target = settings.envs_dir / name
    else:
        target = Path(os.path.abspath(cwd / os.path.expanduser(path or ".venv")))
    base = resolve_interpreter(settings, cwd, python, report=report, target=target)
    command = "pyv venv " + (f"--name {name}" if name else str(target))
    if python:
        command += f" --python {python}"
    if name is None:
        env = create_environment(settings, target, base, prompt=prompt, seed=seed, clear=clear,
                                 system_site_packages=system_site_packages, command=command,
                                 report=report)
        why = register_project(settings, env.path)
        if why:
            report.warning(why)
        return env
    from pyv.venv.registry import envs_lock

    with envs_lock(settings):
        # What killed operations on any named environment left goes first, as installs do.
        clean_leftovers(settings.envs_dir)
        env = create_environment(settings, target, base, prompt=prompt or name, seed=seed,
                                 clear=clear, system_site_packages=system_site_packages,
                                 name=name, command=command, report=report)
    rehash(settings)
    return env


def named_path(settings: Settings, name: str) -> Path:
    """The directory of a named environment; :class:`NotFound` if there is none."""
    path = settings.envs_dir / name
    if "/" in name or name.startswith(".") or not (path / "pyvenv.cfg").is_file():
        raise NotFound(f"no environment named {name!r}", "see `pyv envs` for the list")
    return path


def list_named(settings: Settings, *, with_size: bool = True) -> list[EnvironmentInfo]:
    return [describe_environment(p, with_size=with_size) for p in named_environments(settings)]


def remove_named(settings: Settings, name: str) -> Path:
    """Delete a named environment and refresh the shims; returns where it was."""
    from pyv.venv.create import clean_leftovers, remove_environment
    from pyv.venv.registry import envs_lock

    with envs_lock(settings):
        clean_leftovers(settings.envs_dir)
        path = named_path(settings, name)
        remove_environment(path)
    rehash(settings)
    return path


def rehash(settings: Settings) -> None:
    """Regenerate shims so a named environment's console scripts appear or vanish."""
    from pyv.choose.shims import rehash as shims_rehash

    shims_rehash(settings)


def environments_guard(settings: Settings) -> Callable[[Installation], list[str]]:
    """``in_use`` for uninstall: the environments whose interpreter lives in an installation."""
    def in_use(installation: Installation) -> list[str]:
        return [str(env) for env in environments_using(settings, installation.path)]

    return in_use
