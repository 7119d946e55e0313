"""Interpreters that are on ``PATH`` but not managed by pyv (``system``).

Versions are read from the file name where it says enough (``python3.12``),
otherwise from one ``-c`` call per interpreter, cached for the life of the
process. pyv's own shims directory is always skipped, so ``system`` can never
resolve back to a shim.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from pyv.core.records import record

if TYPE_CHECKING:
    from pyv.core.requests import PythonRequest
    from pyv.core.settings import Settings

#: Executable names that are Python interpreters (``python``, ``python3.12``, ``pypy3.10``,
#: ``python3.13t``); ``python3-config`` and friends are not.
_INTERPRETER_RE = re.compile(
    r"^(?P<impl>python|pypy|graalpy)(?P<version>\d+(?:\.\d+)?)?(?P<ft>t)?$"
)
_IMPL_OF_NAME = {"python": "cpython", "pypy": "pypy", "graalpy": "graalpy"}

# Works on Python 2.7 too: an old system interpreter must not make discovery fail.
_PROBE = (
    "import sys, platform\n"
    "ft = int(hasattr(sys, '_is_gil_enabled') and not sys._is_gil_enabled())\n"
    "print('%s %s %d' % (platform.python_implementation().lower(),"
    " platform.python_version(), ft))\n"
)


@record(frozen=True)
class PathInterpreter:
    """An interpreter found on PATH."""

    path: Path
    name: str
    implementation: str
    #: Exact when probed; from the name (``3.12``) otherwise; None when unknown.
    version: Version | None
    freethreaded: bool = False

    @property
    def variant(self) -> str | None:
        return "freethreaded" if self.freethreaded else None


@record(frozen=True)
class _Probe:
    implementation: str
    version: Version
    freethreaded: bool


_PROBE_CACHE: dict[tuple[str, int], _Probe | None] = {}


def path_dirs(path_env: str, skip_dirs: Iterable[Path] = ()) -> list[Path]:
    """The directories of a PATH value, in order, without empty entries and ``skip_dirs``."""
    skip = {_canonical(p) for p in skip_dirs}
    result: list[Path] = []
    for entry in path_env.split(os.pathsep):
        if not entry:
            continue  # an empty entry means ".": never let the cwd shadow an interpreter
        directory = Path(entry)
        if _canonical(directory) in skip:
            continue
        result.append(directory)
    return result


def _canonical(path: Path) -> str:
    try:
        return os.path.realpath(path)
    except OSError:  # pragma: no cover - realpath does not raise on POSIX
        return os.path.abspath(path)


def _is_executable_file(path: Path) -> bool:
    try:
        return path.is_file() and os.access(path, os.X_OK)
    except OSError:
        return False


def next_on_path(name: str, path_env: str, skip_dirs: Sequence[Path] = ()) -> Path | None:
    """The first executable ``name`` on ``path_env`` outside ``skip_dirs`` (e.g. the shims)."""
    for directory in path_dirs(path_env, skip_dirs):
        candidate = directory / name
        if _is_executable_file(candidate):
            return candidate
    return None


#: ``pid:dir:dir…``: the directories this process already went to for ``system``. Set
#: just before exec'ing a system command; it survives exec (same pid), so another version
#: manager's shim there that leads back to pyv's skips them instead of looping forever.
#: A child process has another pid and starts afresh. ``shims/shim.sh`` does the same.
SYSTEM_TRIED = "_PYV_SYSTEM_TRIED"


def tried_system_dirs(environ: Mapping[str, str]) -> list[Path]:
    """The directories this process already tried for ``system`` (see :data:`SYSTEM_TRIED`)."""
    pid, sep, rest = environ.get(SYSTEM_TRIED, "").partition(":")
    if not sep or pid != str(os.getpid()):
        return []
    return [Path(d) for d in rest.split(":") if d]


def system_tried_value(environ: Mapping[str, str], target: Path) -> str:
    """:data:`SYSTEM_TRIED` to export before exec'ing the system command ``target``."""
    dirs = [*tried_system_dirs(environ), target.parent]
    return ":".join([str(os.getpid()), *(str(d) for d in dirs)])


def version_from_name(name: str) -> Version | None:
    """``python3.12`` -> 3.12, ``python3`` -> 3, ``python`` -> None."""
    match = _INTERPRETER_RE.match(name)
    if match is None or not match.group("version"):
        return None
    text = match.group("version")
    if "." not in text and len(text) > 1:
        return None  # ``python312`` is not a spelling anyone ships
    return Version(text)


def probe(path: Path) -> _Probe | None:
    """Ask the interpreter for its implementation and exact version (one call, cached)."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = (os.path.realpath(path), int(st.st_mtime_ns))
    if key in _PROBE_CACHE:
        return _PROBE_CACHE[key]
    result: _Probe | None = None
    try:
        proc = subprocess.run(
            [str(path), "-E", "-S", "-c", _PROBE],
            capture_output=True, text=True, timeout=30, check=False,
        )
        impl, version, ft = proc.stdout.split()
        result = _Probe(impl, Version(version), ft == "1")
    except (OSError, subprocess.SubprocessError, ValueError, InvalidVersion):
        result = None
    _PROBE_CACHE[key] = result
    return result


def describe(path: Path, *, exact: bool = False) -> PathInterpreter | None:
    """A :class:`PathInterpreter` for ``path``; probes only when the name is not enough."""
    match = _INTERPRETER_RE.match(path.name)
    if match is None:
        return None
    from_name = version_from_name(path.name)
    impl = _IMPL_OF_NAME[match.group("impl")]
    ft = bool(match.group("ft"))
    if from_name is not None and len(from_name.release) >= 2 and not exact:
        return PathInterpreter(path, path.name, impl, from_name, ft)
    found = probe(path)
    if found is None:
        return None
    return PathInterpreter(path, path.name, found.implementation, found.version,
                           found.freethreaded)


def interpreters_on_path(
    path_env: str, skip_dirs: Sequence[Path] = (), *, exact: bool = False
) -> list[PathInterpreter]:
    """Every interpreter on PATH (first occurrence of each real file), in PATH order."""
    seen: set[str] = set()
    result: list[PathInterpreter] = []
    for directory in path_dirs(path_env, skip_dirs):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if _INTERPRETER_RE.match(name) is None:
                continue
            candidate = directory / name
            if not _is_executable_file(candidate):
                continue
            real = os.path.realpath(candidate)
            if real in seen:
                continue
            seen.add(real)
            found = describe(candidate, exact=exact)
            if found is not None:
                result.append(found)
    return result


def default_skip_dirs(settings: Settings) -> list[Path]:
    """Directories never searched for ``system`` interpreters: pyv's shims."""
    return [settings.shims_dir]


def find_on_path(
    settings: Settings, request: PythonRequest, environ: Mapping[str, str]
) -> PathInterpreter | None:
    """The first interpreter on PATH satisfying ``request`` (``system``/``any``: python3)."""
    path_env = environ.get("PATH", os.defpath)
    skip = default_skip_dirs(settings)
    if request.kind in ("system", "any"):
        for name in ("python3", "python"):
            hit = next_on_path(name, path_env, skip)
            if hit is not None:
                return describe(hit, exact=True) or PathInterpreter(hit, name, "cpython", None)
        return None
    if not request.is_download_request:
        return None
    for found in interpreters_on_path(path_env, skip, exact=True):
        if found.version is not None and request.matches(
            found.implementation, found.version, found.variant
        ):
            return found
    return None


# ----- interpreters other tools installed (pyenv, uv, conda) -------------------------------
#: ``cpython-3.12.1-linux-x86_64-gnu``, ``cpython-3.13.0+freethreaded-…``, ``pypy-3.10.14-…``
_UV_NAME_RE = re.compile(r"^(?P<impl>[a-z]+)-(?P<version>\d+\.\d+\.\d+[a-z0-9]*)"
                         r"(?P<variant>\+[a-z]+)?-")
#: ``3.11.7``, ``3.13.0t``, ``pypy3.10-7.3.12`` as pyenv names its versions
_PYENV_NAME_RE = re.compile(r"^(?P<impl>pypy|graalpy)?(?P<version>\d+\.\d+(?:\.\d+)?[a-z0-9]*?)"
                            r"(?P<ft>t)?(?:-.*)?$")
_PATCHLEVEL_RE = re.compile(rb'#define\s+PY_VERSION\s+"(?P<version>[^"]+)"')
_CONDA_META_RE = re.compile(r"^python-(?P<version>\d+\.\d+\.\d+)-")
#: Where conda and mamba installers put their base prefix by default.
_CONDA_BASES = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba", ".conda")


@record(frozen=True)
class ExternalInterpreter:
    """An interpreter pyv did not install: listed, maybe selected, never modified."""

    path: Path
    #: ``pyenv`` | ``uv`` | ``conda`` | ``path``
    source: str
    implementation: str
    version: Version | None
    freethreaded: bool = False

    @property
    def variant(self) -> str | None:
        return "freethreaded" if self.freethreaded else None

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "source": self.source, "managed": False,
                "implementation": self.implementation,
                "version": str(self.version) if self.version is not None else None,
                "variant": self.variant}


def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _prefix_python(prefix: Path) -> Path | None:
    for name in ("python3", "python", "pypy3", "pypy"):
        candidate = prefix / "bin" / name
        if _is_executable_file(candidate):
            return candidate
    return None


def version_from_prefix(prefix: Path) -> Version | None:
    """The exact version an installation prefix holds, read from files, never by running it:
    conda's package record, else CPython's ``patchlevel.h``."""
    try:
        for name in sorted(os.listdir(prefix / "conda-meta")):
            match = _CONDA_META_RE.match(name)
            if match:
                return _parse_version(match.group("version"))
    except OSError:
        pass
    try:
        includes = sorted((prefix / "include").glob("python*/patchlevel.h"))
    except OSError:
        includes = []
    for header in includes:
        try:
            found = _PATCHLEVEL_RE.search(header.read_bytes())
        except OSError:
            continue
        if found:
            return _parse_version(found.group("version").decode("ascii", "replace"))
    return None


def _children(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    except OSError:
        return []


def pyenv_interpreters(environ: Mapping[str, str]) -> list[ExternalInterpreter]:
    """``$(pyenv root)/versions/*`` (``PYENV_ROOT``, else ``~/.pyenv``); virtualenvs excluded."""
    root = Path(environ.get("PYENV_ROOT") or Path(environ.get("HOME", "~")) / ".pyenv")
    result: list[ExternalInterpreter] = []
    for prefix in _children(root.expanduser() / "versions"):
        python = _prefix_python(prefix)
        if python is None or (prefix / "pyvenv.cfg").exists():
            continue
        match = _PYENV_NAME_RE.match(prefix.name)
        version = version_from_prefix(prefix)
        impl = (match.group("impl") if match else None) or "cpython"
        if version is None and match:
            version = _parse_version(match.group("version"))
        result.append(ExternalInterpreter(python, "pyenv", impl, version,
                                          bool(match and match.group("ft"))))
    return result


def uv_interpreters(environ: Mapping[str, str]) -> list[ExternalInterpreter]:
    """``uv python dir``: ``UV_PYTHON_INSTALL_DIR``, else ``$XDG_DATA_HOME/uv/python``."""
    base = environ.get("UV_PYTHON_INSTALL_DIR")
    if not base:
        data = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", "~")) / ".local"
                                                   / "share")
        base = str(Path(data) / "uv" / "python")
    result: list[ExternalInterpreter] = []
    for prefix in _children(Path(base).expanduser()):
        match = _UV_NAME_RE.match(prefix.name)
        python = _prefix_python(prefix)
        if match is None or python is None or prefix.is_symlink():
            continue  # uv's minor links (cpython-3.12-…) point at a listed directory
        version = _parse_version(match.group("version")) or version_from_prefix(prefix)
        result.append(ExternalInterpreter(python, "uv", match.group("impl"), version,
                                          match.group("variant") == "+freethreaded"))
    return result


def conda_prefixes(environ: Mapping[str, str]) -> list[Path]:
    """conda/mamba prefixes: ``CONDA_PREFIX``, ``~/.conda/environments.txt``, and the usual
    base installs with their ``envs/*``."""
    home = Path(environ.get("HOME", "~")).expanduser()
    found: list[Path] = []
    if environ.get("CONDA_PREFIX"):
        found.append(Path(environ["CONDA_PREFIX"]))
    try:
        lines = (home / ".conda" / "environments.txt").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    found.extend(Path(line.strip()) for line in lines if line.strip())
    for name in _CONDA_BASES:
        base = home / name
        if (base / "conda-meta").is_dir():
            found.append(base)
        found.extend(_children(base / "envs"))
    unique: dict[str, Path] = {}
    for prefix in found:
        unique.setdefault(_canonical(prefix), prefix)
    return list(unique.values())


def conda_interpreters(environ: Mapping[str, str]) -> list[ExternalInterpreter]:
    """The python of every conda/mamba prefix that has one."""
    result: list[ExternalInterpreter] = []
    for prefix in conda_prefixes(environ):
        python = _prefix_python(prefix)
        if python is not None:
            result.append(ExternalInterpreter(python, "conda", "cpython",
                                              version_from_prefix(prefix)))
    return result


def external_interpreters(settings: Settings,
                          environ: Mapping[str, str]) -> list[ExternalInterpreter]:
    """Every interpreter another tool installed, then those on PATH, each real file once;
    nothing under pyv's home. Versions come from names and files; only a bare ``python3`` on
    PATH whose prefix has no ``patchlevel.h`` is asked."""
    home = _canonical(settings.home)
    seen: set[str] = set()
    result: list[ExternalInterpreter] = []
    on_path = [_on_path(candidate) for candidate in _path_candidates(settings, environ)]
    for item in [*pyenv_interpreters(environ), *uv_interpreters(environ),
                 *conda_interpreters(environ), *on_path]:
        real = _canonical(item.path)
        if real in seen or real == home or real.startswith(home + os.sep):
            continue
        seen.add(real)
        result.append(item)
    return result


def _path_candidates(settings: Settings, environ: Mapping[str, str]) -> list[Path]:
    result: list[Path] = []
    for directory in path_dirs(environ.get("PATH", os.defpath), default_skip_dirs(settings)):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        result.extend(directory / name for name in names
                      if _INTERPRETER_RE.match(name) and _is_executable_file(directory / name))
    return result


def _on_path(path: Path) -> ExternalInterpreter:
    """An interpreter on PATH: its name, else its prefix's files, else one probe."""
    match = _INTERPRETER_RE.match(path.name)
    assert match is not None
    impl, ft = _IMPL_OF_NAME[match.group("impl")], bool(match.group("ft"))
    version = version_from_name(path.name)
    if version is None or len(version.release) < 2:
        version = version_from_prefix(Path(_canonical(path)).parent.parent)
    if version is None:
        found = probe(path)
        if found is not None:
            return ExternalInterpreter(path, "path", found.implementation, found.version,
                                       found.freethreaded)
    return ExternalInterpreter(path, "path", impl, version, ft)


def find_external(settings: Settings, request: PythonRequest,
                  environ: Mapping[str, str]) -> ExternalInterpreter | None:
    """The newest interpreter another tool installed that satisfies ``request``."""
    matching = [item for item in external_interpreters(settings, environ)
                if item.version is not None
                and request.matches(item.implementation, item.version, item.variant)]
    if not matching:
        return None
    return max(matching, key=lambda item: item.version or Version("0"))
