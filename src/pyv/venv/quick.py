"""``pyv venv``'s fast path: the common case without argparse, dataclasses or pathlib.

Creating an environment takes ~3 ms of work; loading pyv's full command line
(argparse, dataclasses, pathlib, typing, the settings and store modules) took
several times that. This module handles the everyday forms,

    pyv venv [PATH] [-p|--python VERSION|PATH] [--prompt P] [--system-site-packages] [-q]

with an interpreter that is already known cheaply: a managed CPython found
through the shims' index (``$PYV_HOME/index``, kept current by every install),
or a path whose answer about itself is cached. It writes the tree with the same
:mod:`pyv.venv.layout` functions as the full path, so the result is identical.

Anything else returns ``None`` *before touching the disk* and the full command
line takes over: other flags, ``--seed``/``--name``/``--clear``, an existing
target, a config file, an index built for other settings (``index/.inputs``), a
version that is not installed (so auto-install and its messages stay in one
place), named environments, PyPy/GraalPy, or an interpreter never asked before.
A failure while writing removes the staging directory and also hands over, so
the user gets the full path's one-line error.
"""

from __future__ import annotations

import os

from pyv.core.locations import VERSION_FILES, config_file, home_dir
from pyv.core import versionfile
from pyv.venv import answers, layout

TYPE_CHECKING = False  # not typing's: importing typing costs more than this whole path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+")
_NAME_CHARS = _NAME_START | frozenset(".@-")


class _Options:
    __slots__ = ("path", "prompt", "python", "quiet", "system_site_packages")

    def __init__(self) -> None:
        self.path: str | None = None
        self.python: str | None = None
        self.prompt: str | None = None
        self.system_site_packages = False
        self.quiet = False


class _Base:
    """What the environment is made from (the fast path's ``BaseInterpreter``)."""

    __slots__ = ("executable", "follows_minor", "freethreaded", "implementation",
                 "site_packages", "version", "version_info")

    def __init__(self, executable: str, implementation: str, version: tuple[int, int, int],
                 version_info: str, freethreaded: bool, site_packages: str,
                 follows_minor: bool = False) -> None:
        self.executable = executable
        self.implementation = implementation
        self.version = version
        self.version_info = version_info
        self.freethreaded = freethreaded
        self.site_packages = site_packages
        self.follows_minor = follows_minor


def run(argv: list[str], environ: Mapping[str, str], cwd: str, stderr: TextIO) -> int | None:
    """Create the environment and return the exit code, or ``None`` for the full path."""
    opts = parse_args(argv)
    if opts is None:
        return None
    home = home_dir(environ)
    if os.path.normpath(home) != home or os.path.lexists(config_file(environ)):
        return None
    base = resolve(opts.python, environ, home, cwd)
    if base is None:
        return None
    target = os.path.abspath(os.path.join(cwd, os.path.expanduser(opts.path or ".venv")))
    if os.path.lexists(target):
        return None  # --clear, an empty directory and refusals are the full path's job
    command = f"pyv venv {target}" + (f" --python {opts.python}" if opts.python else "")
    cfg = layout.pyvenv_cfg(
        executable=base.executable, implementation=base.implementation,
        version_info=base.version_info, version=_dotted(base.version),
        system_site_packages=opts.system_site_packages, prompt=opts.prompt, command=command,
    )
    staging = layout.staging_dir(target)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.mkdir(staging)
    except OSError:
        return None
    try:
        layout.write_tree(
            staging, target, executable=base.executable,
            names=layout.link_names(base.version, base.freethreaded, base.executable),
            site_packages=base.site_packages, cfg=cfg,
            prompt=layout.shown_prompt(target, opts.prompt),
        )
        os.rename(staging, target)
    except BaseException as exc:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            return None  # the full path tries again and reports the failure in one line
        raise
    try:
        layout.record_project(os.path.join(home, "envs"), target)
    except OSError as exc:
        from pyv.core.errors import from_os_error

        error = from_os_error(exc, "recording the new environment")
        print(error.render(), file=stderr)
        return int(error.exit_code)
    if not opts.quiet:
        for line in layout.report_lines(
            target, cwd, implementation=base.implementation, freethreaded=base.freethreaded,
            version=base.version, executable=base.executable,
            follows_minor=base.follows_minor, seeded=(), name=None,
        ):
            print(line, file=stderr)
    return 0


def parse_args(argv: list[str]) -> _Options | None:
    """The options of the forms this path handles; ``None`` for anything else."""
    opts = _Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-q", "--quiet"):
            opts.quiet = True
        elif arg in ("--no-progress", "--offline"):
            pass  # nothing here downloads
        elif arg == "--system-site-packages":
            opts.system_site_packages = True
        elif arg in ("-p", "--python", "--prompt"):
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None  # let argparse word the error
            i += 1
            if arg == "--prompt":
                opts.prompt = argv[i]
            else:
                opts.python = argv[i]
        elif not arg.startswith("-") and opts.path is None:
            opts.path = arg
        else:
            return None
        i += 1
    return opts


def resolve(request: str | None, environ: Mapping[str, str], home: str,
            cwd: str) -> _Base | None:
    """The interpreter for ``--python``, else the directory's selection; ``None`` if unsure."""
    if request is None:
        request = selected(environ, home, cwd)
        if request is None or "/" in request or request.startswith((".", "~")):
            return None  # a path in a version file needs the full rules (and maybe trust)
    elif "/" in request or request.startswith((".", "~")):
        return _from_path(os.path.abspath(os.path.join(cwd, os.path.expanduser(request))), home)
    if not _index_current(home, environ):
        return None  # built with other stores or CPU level than this environment asks for
    return _from_index(request, home)


def selected(environ: Mapping[str, str], home: str, cwd: str) -> str | None:
    """The first request of ``PYV_VERSION``, else the nearest version file, else the global
    one (as :func:`pyv.choose.selection.select`); ``None`` when only the full rules can tell."""
    value = environ.get("PYV_VERSION", "").strip()
    if value:
        return _first_word(value.replace(":", " "))
    directory = cwd
    while True:
        for name in VERSION_FILES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return _read_first(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    global_file = os.path.join(home, "version")
    if os.path.isfile(global_file):
        return _read_first(global_file)
    return None  # requires-python or the fallback: the full rules


def _read_first(path: str) -> str | None:
    try:
        data, _ = versionfile.read_bounded(path)
    except OSError:
        return None
    found = versionfile.words(data)
    return found[0][1] if found else None


def _first_word(text: str) -> str | None:
    words = text.split()
    return words[0] if words and not words[0].startswith("#") else None


def _safe_name(text: str) -> bool:
    return bool(text) and text[0] in _NAME_START and all(c in _NAME_CHARS for c in text)


def read_index(home: str, text: str) -> dict[str, str] | None:
    """The facts ``pyv rehash`` wrote for a request spelling (see :func:`pyv.choose.shims.entry_text`):
    ``root`` and ``name=value`` lines; ``None`` when the spelling is not indexed."""
    if not _safe_name(text):
        return None
    try:
        with open(os.path.join(home, "index", text), encoding="utf-8") as fh:
            lines = fh.read(4096).splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or not lines[0]:
        return None
    facts = {"root": os.path.join(home, lines[0])}
    for line in lines[1:]:
        name, sep, value = line.partition("=")
        if sep:
            facts[name] = value
    return facts


def _index_current(home: str, environ: Mapping[str, str]) -> bool:
    """Whether ``index/.inputs`` (the variables rehash says the index depends on, with the
    values it used) matches this environment."""
    try:
        with open(os.path.join(home, "index", ".inputs"), encoding="utf-8") as fh:
            lines = fh.read(4096).splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep or environ.get(name, "") != value:
            return False
    return True


def _from_index(text: str, home: str) -> _Base | None:
    """A managed CPython through the shims' index, from the facts rehash wrote for it."""
    facts = read_index(home, text)
    if facts is None or facts.get("kind") != "install" \
            or facts.get("implementation") != "cpython":
        return None  # not installed, an environment, PyPy/GraalPy: the full path decides
    try:
        major, minor, micro = (int(n) for n in facts["version"].split("."))
        executable, version_info = facts["executable"], facts["version_info"]
        freethreaded = facts["freethreaded"] == "1"
        follows = facts["follows_minor"] == "1"
        site_packages = facts["site_packages"]
    except (KeyError, ValueError):
        return None
    if facts.get("variant") not in ("", "freethreaded"):
        return None
    if not os.access(executable, os.X_OK):
        return None  # indexed, not yet (or no longer) published
    return _Base(executable, "cpython", (major, minor, micro), version_info, freethreaded,
                 site_packages, follows)


def _from_path(path: str, home: str) -> _Base | None:
    """An interpreter given by path whose answer about itself is already cached."""
    try:
        cache, stamp = answers.locate(os.path.join(home, "cache"), path)
        real = os.path.realpath(path)
    except OSError:
        return None
    if not (os.access(real, os.X_OK) and os.path.isfile(real)):
        return None
    data = answers.read(cache, stamp)
    if data is None:
        return None
    try:
        executable, implementation, version, version_info, freethreaded, site_packages = (
            answers.facts(data, path))
    except ValueError:
        return None
    if os.path.normpath(executable) != executable:
        return None  # the full path would spell it through pathlib; let it
    return _Base(executable, implementation, version, version_info, freethreaded, site_packages)


def _dotted(version: tuple[int, int, int]) -> str:
    return ".".join(str(n) for n in version)
