"""Which interpreter an environment is made from, and the facts a venv needs about it.

Managed CPython installations are described from their install record alone (no
subprocess), which keeps ``pyv venv`` fast. Anything else (a path, ``system``,
PyPy/GraalPy) is asked once with a small script; the answer is cached by the
interpreter's real path, size and mtime, as uv does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import NotFound, PyvError, shown_command
from pyv.core.report import SILENT, Reporter
from pyv.venv import layout

if TYPE_CHECKING:
    from pyv.core.settings import Settings
    from pyv.acquire.store import Installation

_QUERY = r"""
import json, os, sys, sysconfig
scheme = "venv" if "venv" in sysconfig.get_scheme_names() else (
    "nt" if os.name == "nt" else "posix_prefix")
base = os.sep + "pyv-base"
paths = sysconfig.get_paths(scheme, vars={"base": base, "platbase": base,
                                          "installed_base": base, "installed_platbase": base})
exe = sys.executable
if sys.prefix != sys.base_prefix:
    cand = getattr(sys, "_base_executable", "")
    exe = cand if cand and os.path.exists(cand) else os.path.realpath(exe)
v = sys.version_info
print(json.dumps({
    "executable": exe,
    "implementation": sys.implementation.name,
    "version": [v[0], v[1], v[2]],
    "version_info": "%d.%d.%d.%s.%d" % (v[0], v[1], v[2], v[3], v[4]),
    "freethreaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "site_packages": os.path.relpath(paths["purelib"], base),
}))
"""


@dataclass(frozen=True)
class BaseInterpreter:
    """The interpreter an environment is created from."""

    #: What ``bin/python`` links to; through the store's minor link when ``follows_minor``.
    executable: Path
    implementation: str
    version: tuple[int, int, int]
    #: ``3.12.4.final.0`` (the form of ``sys.version_info``).
    version_info: str
    freethreaded: bool
    #: ``lib/python3.12/site-packages`` relative to the environment.
    site_packages: str
    #: The installation key when pyv manages it.
    key: str | None = None
    follows_minor: bool = False

    @property
    def home(self) -> Path:
        return self.executable.parent

    @property
    def version_str(self) -> str:
        return ".".join(str(n) for n in self.version)

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def describe(self) -> str:
        return layout.describe(self.implementation, self.freethreaded, self.version,
                               str(self.executable))

    def link_names(self) -> list[str]:
        """Names in the environment's ``bin/`` that run this interpreter, ``python`` first."""
        return layout.link_names(self.version, self.freethreaded, str(self.executable))


def from_installation(
    settings: Settings, inst: Installation, *, follow_minor: bool
) -> BaseInterpreter:
    """Describe a managed installation; ``follow_minor`` goes through its minor link."""
    from pyv.choose.running import cpython_site_packages, run_root, version_info_of

    root, follows = run_root(inst, follow_minor)
    executable = root / inst.executable_rel
    release = [*inst.version.release, 0, 0, 0][:3]
    version = (release[0], release[1], release[2])
    if inst.implementation == "cpython":
        return BaseInterpreter(
            executable=executable,
            implementation="cpython",
            version=version,
            version_info=version_info_of(inst),
            freethreaded=inst.freethreaded,
            site_packages=cpython_site_packages(inst),
            key=inst.key,
            follows_minor=follows,
        )
    facts = query_interpreter(settings, inst.path / inst.executable_rel)
    return BaseInterpreter(
        executable=executable,
        implementation=facts.implementation,
        version=facts.version,
        version_info=facts.version_info,
        freethreaded=facts.freethreaded,
        site_packages=facts.site_packages,
        key=inst.key,
        follows_minor=follows,
    )


def query_interpreter(settings: Settings, path: Path) -> BaseInterpreter:
    """Ask an interpreter about itself (cached by real path, size and mtime)."""
    try:
        real = Path(os.path.realpath(path))
        st = real.stat()
    except OSError:
        raise NotFound(f"no interpreter at {path}",
                       "pass the path of a Python executable") from None
    if not os.access(real, os.X_OK) or not real.is_file():
        raise NotFound(f"{path} is not an executable file", "pass the path of a Python executable")
    from pyv.venv import answers

    cache, stamp = answers.locate(str(settings.cache_dir), str(path))
    data = answers.read(cache, stamp)
    if data is None:
        data = _run_query(path)
        answers.write(cache, stamp, data)
    try:
        executable, implementation, version, version_info, freethreaded, site_packages = (
            answers.facts(data, str(path)))
    except ValueError:
        raise PyvError(f"{path} gave an unexpected answer about itself",
                       "check that it is a working Python interpreter") from None
    return BaseInterpreter(
        executable=Path(executable), implementation=implementation, version=version,
        version_info=version_info, freethreaded=freethreaded, site_packages=site_packages,
    )


def _run_query(path: Path) -> dict[str, object]:
    import subprocess

    try:
        result = subprocess.run(
            [str(path), "-I", "-S", "-c", _QUERY],
            capture_output=True, text=True, timeout=60, check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PyvError(f"cannot run {path}: {exc}",
                       "check that it is a working Python interpreter") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PyvError(f"{path} failed to describe itself ({last})",
                       "check that it is a working Python 3 interpreter")
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise PyvError(f"{path} gave an unexpected answer about itself",
                       "check that it is a working Python 3 interpreter") from None
    if not isinstance(data, dict):
        raise PyvError(f"{path} gave an unexpected answer about itself")
    return data


def _environment_base(settings: Settings, env: Path) -> BaseInterpreter:
    """The interpreter a named environment was made from (same link, same minor policy)."""
    try:
        target = Path(os.readlink(env / "bin" / "python"))
    except OSError:
        raise NotFound(f"the environment {env} has no bin/python link",
                       "recreate it with "
                       + shown_command("pyv", "venv", "--clear", "--name", env.name)) from None
    if not target.is_absolute():
        target = (env / "bin" / target).resolve()
    from pyv.acquire.store import installed_for_key

    inst = installed_for_key(settings, target.parent.parent.name)
    if inst is not None:
        follow = target.parent.parent.name == inst.minor_key
        return from_installation(settings, inst, follow_minor=follow)
    return query_interpreter(settings, target)


def resolve_interpreter(
    settings: Settings, cwd: Path, request_text: str | None, *, report: Reporter = SILENT,
    target: Path | None = None,
) -> BaseInterpreter:
    """The interpreter for ``--python REQUEST``, else this directory's selection, else the newest.

    A minor (or looser) request follows the store's minor link so upgrades carry
    the environment along; an exact version or a full key stays on that patch. An entry
    naming ``target`` (the environment being made, ``.venv`` of ``pyv pin --venv``) is
    passed over: the next one says what it is made from.
    """
    if request_text is not None:
        return _resolve_text(settings, cwd, request_text, "--python", report)
    selected = selected_requests(settings, cwd, target)
    if selected:
        # As for the shims and `pyv which` (pyv.choose.selection): an entry that is not installed
        # is installed (auto-install) or skipped for the next; none left: the first's error.
        skipped: list[_MissingEntry] = []
        for text, origin in selected:
            try:
                base = _resolve_text(settings, cwd, text, origin, report)
            except _MissingEntry as exc:
                if settings.auto_install:
                    raise
                skipped.append(exc)
                continue
            for missing in skipped:
                report.warning(f"skipping {missing.message}; using {text}")
            return base
        raise skipped[0]
    from pyv.acquire.store import all_installations

    installed = all_installations(settings)
    if not installed:
        raise NotFound("no Python is installed to make the environment from",
                       "install one (`pyv install 3.12`) or pass --python PATH|system")
    return from_installation(settings, installed[0], follow_minor=True)


class _MissingEntry(NotFound):
    """A selected version that is not installed (the next entry may serve)."""


def _resolve_text(
    settings: Settings, cwd: Path, request_text: str, origin: str,
    report: Reporter, *, install: bool = True,
) -> BaseInterpreter:
    text = request_text.strip()
    if "/" in text or text.startswith((".", "~")):
        # A path: no need to load the request parser (and packaging) for it.
        return query_interpreter(settings, Path(os.path.abspath(cwd / os.path.expanduser(text))))
    from pyv.core.requests import parse_request
    from pyv.choose.resolve import NotInstalled, find_or_install

    request = parse_request(text, allow_names=True)
    if request.kind == "path":
        assert request.path is not None
        return query_interpreter(settings, Path(os.path.abspath(cwd / request.path)))
    try:
        found = find_or_install(settings, request, text=text, where=origin,
                                install=install and settings.auto_install, report=report,
                                cwd=cwd)
    except NotInstalled as exc:  # not a shim: the ordinary "not found" code
        hint = exc.hint if settings.auto_install or not request.is_download_request \
            else f"{exc.hint} first, or set PYV_AUTO_INSTALL=1"
        raise _MissingEntry(exc.message, hint) from None
    if found.installation is not None:
        return from_installation(settings, found.installation, follow_minor=found.follows_minor)
    if found.env_dir is not None:
        if not (found.env_dir / "pyvenv.cfg").is_file():
            raise NotFound(f"{found.env_dir} is not an environment (from {origin})",
                           "see `pyv envs`, or pass --python with a version")
        return _environment_base(settings, found.env_dir)
    return query_interpreter(settings, found.executable)


def selected_requests(settings: Settings, cwd: Path,
                      target: Path | None = None) -> list[tuple[str, str]]:
    """(request text, where it came from) selected here, but for an entry naming ``target``;
    empty when only the fallback applies."""
    from pyv.choose.pins import environment_of
    from pyv.choose.selection import select

    selection = select(settings, cwd)
    if selection.origin.kind == "fallback":
        return []
    # A path entry is relative to its version file, not to cwd: hand on where it leads.
    return [(str(entry.request.path) if entry.request.kind == "path" else entry.text,
             entry.where) for entry in selection.entries
            if target is None or environment_of(entry) != target]
