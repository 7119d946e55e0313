"""The one place a request becomes something to run: :func:`find_or_install`.

Every command, ``pyv venv`` and the shims' slow path call it; it alone imports
the installer, and only when the caller allows installing.

Which directory a managed interpreter runs from (its minor link or its own
directory) is :func:`pyv.choose.running.run_root`'s rule, applied here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import ExitCode, NotFound, shown_command
from pyv.core.records import record
from pyv.core.report import SILENT, Reporter

if TYPE_CHECKING:
    from pyv.acquire.store import Installation
    from pyv.core.requests import PythonRequest
    from pyv.core.settings import Settings


class NotInstalled(NotFound):
    """The selected version or environment is not there (a shim exits 127)."""

    exit_code = ExitCode.SHIM_NOT_INSTALLED


@record(frozen=True)
class Found:
    """What a request resolves to: the interpreter to run and where it lives."""

    #: The interpreter itself (for an environment, its ``bin/python``).
    executable: Path
    #: ``managed`` | ``environment`` | ``path`` | ``system`` | ``external``
    source: str
    #: Where the request came from (``--python``, ``/proj/.python-version:1``…).
    where: str
    installation: Installation | None = None
    env_dir: Path | None = None
    #: Whether ``executable`` goes through the installation's minor link.
    follows_minor: bool = False
    #: The version when known without asking the interpreter ("" otherwise).
    version: str = ""


def installed(settings: Settings, request: PythonRequest) -> Installation | None:
    """The best installed interpreter for a version request (no install, no PATH)."""
    from pyv.acquire.store import find_installed
    from pyv.core.platform import current_host

    found = find_installed(settings, request, current_host())
    return found[0] if found else None


def find_or_install(
    settings: Settings,
    request: PythonRequest,
    *,
    text: str,
    where: str,
    install: bool = False,
    on_path: bool = False,
    report: Reporter = SILENT,
    cwd: Path | None = None,
) -> Found:
    """What ``request`` (written ``text``, from ``where``) runs: a managed installation (run
    from :func:`pyv.choose.running.run_root`), a named environment, a path, or the system
    interpreter.

    A managed version that is not installed is looked for on PATH when ``on_path``, and
    installed first when ``install`` (progress on ``report``); otherwise
    :class:`NotInstalled` says how to get it. This is the only caller of the installer
    among the ways of choosing an interpreter.
    """
    found = _find_or_install(settings, request, text=text, where=where, install=install,
                             on_path=on_path, report=report, cwd=cwd)
    if report.verbose:
        what = found.installation.key if found.installation is not None else found.source
        report.detail(f"{text!r} (set by {where}) is {what}: {found.executable}"
                      + (" (through the minor link)" if found.follows_minor else ""))
    return found


def _find_or_install(
    settings: Settings, request: PythonRequest, *, text: str, where: str, install: bool,
    on_path: bool, report: Reporter, cwd: Path | None,
) -> Found:
    if request.kind == "name":
        env = settings.envs_dir / text
        python = env / "bin" / "python"
        if not (env / "bin").is_dir():
            raise NotInstalled(f"the environment {text!r} (set by {where}) does not exist",
                               f"create it with {shown_command('pyv', 'venv', '--name', text)}, "
                               "or see `pyv envs`")
        return Found(python, "environment", where, env_dir=env)
    if request.kind == "path":
        assert request.path is not None
        path = Path(os.path.abspath(os.path.expanduser(request.path)))
        if not path.exists():
            raise NotInstalled(f"the interpreter {path} (set by {where}) does not exist",
                               "fix the path, or pass a version")
        return Found(path, "path", where)
    if request.kind == "system":
        return Found(system_python(settings), "system", where)
    inst = installed(settings, request)
    if inst is None:
        unmanaged = _unmanaged(settings, request, where, on_path)
        if unmanaged is not None:
            return unmanaged
    if inst is None and install and request.is_download_request:
        from pyv.acquire.installer import install as install_pythons
        from pyv.choose.shims import ShimUpdates

        report.notice(f"pyv: installing Python {text} (set by {where})")
        install_pythons(settings, [text], shims=ShimUpdates(settings), report=report, cwd=cwd)
        inst = installed(settings, request)
    if inst is None:
        hint = f"run {shown_command('pyv', 'install', text)}" if request.is_download_request \
            else "see `pyv list`"
        raise NotInstalled(f"Python {text} is not installed (set by {where})", hint)
    from pyv.choose.running import follows_minor, run_root

    root, follows = run_root(inst, follows_minor(request))
    return Found(root / inst.executable_rel, "managed", where, installation=inst,
                 follows_minor=follows, version=inst.version_str)


def _unmanaged(settings: Settings, request: PythonRequest, where: str,
               on_path: bool) -> Found | None:
    """An interpreter pyv did not install for a version it has not: on PATH when
    ``on_path``, else (opted in with ``external = true``) pyenv's, uv's, conda's or PATH's,
    read-only."""
    external = settings.external and request.is_download_request
    if not (on_path or external):
        return None  # and discovery (packaging, subprocess) stays unimported
    from pyv.choose.discovery import find_external, find_on_path

    hit, source = None, "system"
    if on_path:
        hit = find_on_path(settings, request, settings.environ)
    if hit is None and external:
        hit, source = find_external(settings, request, settings.environ), "external"
    if hit is None:
        return None
    return Found(hit.path, source, where,
                 version=str(hit.version) if hit.version is not None else "")


def system_python(settings: Settings) -> Path:
    """The first ``python3``/``python`` on PATH outside pyv's home, its shims, the active
    environment, and directories that led back to pyv's shims in this exec chain."""
    from pyv.choose.discovery import next_on_path, tried_system_dirs

    environ = settings.environ
    skip = [settings.shims_dir, settings.home, *tried_system_dirs(environ)]
    active = environ.get("VIRTUAL_ENV")
    if active:
        skip.append(Path(active))
    path_value = environ.get("PATH", os.defpath)
    dirs = [d for d in path_value.split(os.pathsep)
            if d and not any(Path(d) == s or s in Path(d).parents for s in skip)]
    for name in ("python3", "python"):
        hit = next_on_path(name, os.pathsep.join(dirs))
        if hit is not None:
            return hit
    raise NotFound("no system Python found on PATH",
                   "install one with your system's package manager, or use `pyv install`")
