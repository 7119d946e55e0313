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
target, a config file, settings that change how an interpreter is chosen, a
version that is not installed (so auto-install and its messages stay in one
place), named environments, PyPy/GraalPy, or an interpreter never asked before.
A failure while writing removes the staging directory and also hands over, so
the user gets the full path's one-line error.
"""

from __future__ import annotations

import os

from pyv.locations import RECORD, VERSION_FILES, config_file, home_dir, minor_key_for
from pyv.venv import answers, layout

TYPE_CHECKING = False  # not typing's: importing typing costs more than this whole path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

#: ``PYV_*`` variables the fast path may ignore: it reads the first three itself, and
#: the rest only matter for downloads, seeding, locks or installs, which it never does.
#: Any other ``PYV_*`` variable (auto-install, extra stores, arch, fallback, anything
#: new) sends the command down the full path.
_HARMLESS = frozenset({
    "PYV_HOME", "PYV_CONFIG_FILE", "PYV_VERSION",
    "PYV_PYTHON_INSTALL_MIRROR", "PYV_PYPY_INSTALL_MIRROR", "PYV_GRAALPY_INSTALL_MIRROR",
    "PYV_DOWNLOADS_JSON", "PYV_OFFLINE", "PYV_CONNECT_TIMEOUT", "PYV_READ_TIMEOUT",
    "PYV_RETRIES", "PYV_PROGRESS", "PYV_LATEST_RELEASE_URL", "PYV_RELEASE_DOWNLOAD_URL",
    "PYV_INDEX_URL", "PYV_EXTERNALLY_MANAGED", "PYV_COMPILE_BYTECODE", "PYV_LOCK_TIMEOUT",
    "PYV_LOCK_MODE", "PYV_DEBUG",
})
_BOM = "\ufeff"
#: CPython spellings in the index (see :func:`pyv.shims.spellings`), longest first;
#: ``cpython-3.12`` is a partial key, which stays on its patch: the full path decides.
_PREFIXES = ("cpython@", "cpython", "python@", "python", "cp", "")
_SUFFIXES = ("+freethreaded", "t")
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
    if any(k.startswith("PYV_") and k not in _HARMLESS for k in environ):
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
        from pyv.errors import from_os_error

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
        if request is None:
            return None
    elif "/" in request or request.startswith((".", "~")):
        return _from_path(os.path.abspath(os.path.join(cwd, os.path.expanduser(request))), home)
    return _from_index(request, home)


def selected(environ: Mapping[str, str], home: str, cwd: str) -> str | None:
    """The first request of ``PYV_VERSION``, else the nearest version file, else the global
    one (as :func:`pyv.selection.select`); ``None`` when only the full rules can tell."""
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
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    for raw in text.splitlines():
        line = raw.lstrip(_BOM).strip()
        if line and not line.startswith("#"):
            return _first_word(line)
    return None


def _first_word(text: str) -> str | None:
    words = text.split()
    return words[0] if words and not words[0].startswith("#") else None


def follows_minor(text: str) -> bool | None:
    """Whether an environment for this CPython spelling follows the minor link (a version
    without a patch, or ``any``), or ``None`` for spellings left to the request parser."""
    if text in ("any", "latest", "python", "cpython"):
        return True
    rest = text
    for prefix in _PREFIXES:
        if rest.startswith(prefix):
            rest = rest[len(prefix):]
            break
    for suffix in _SUFFIXES:
        if rest.endswith(suffix):
            rest = rest[: -len(suffix)]
            break
    parts = rest.split(".")
    if not all(p.isdigit() and p.isascii() for p in parts):
        if len(parts) == 3 and _pre_release(parts[2]) is not None:
            return False  # 3.14.0rc1: exact
        return None
    if len(parts) == 1:
        # "3" (a major) or "312" (3.12): neither is exact.
        return len(parts[0]) <= 3
    return len(parts) == 2


def _pre_release(part: str) -> tuple[int, tuple[str, int]] | None:
    """``0rc1`` -> (0, ("rc", 1)); None unless it is digits, a/b/rc, digits."""
    for level in ("rc", "a", "b"):
        number, sep, serial = part.partition(level)
        if sep and number.isdigit() and serial.isdigit() and number.isascii() \
                and serial.isascii():
            return int(number), (level, int(serial))
    return None


def parse_version(text: str) -> tuple[tuple[int, int, int], tuple[str, int] | None] | None:
    """``3.12.4`` / ``3.14.0rc1`` as packaging reads them; None for any other form."""
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() and p.isascii() for p in parts[:2]):
        return None
    if parts[2].isdigit() and parts[2].isascii():
        return (int(parts[0]), int(parts[1]), int(parts[2])), None
    pre = _pre_release(parts[2])
    if pre is None:
        return None
    return (int(parts[0]), int(parts[1]), pre[0]), pre[1]


def _safe_name(text: str) -> bool:
    return bool(text) and text[0] in _NAME_START and all(c in _NAME_CHARS for c in text)


def _from_index(text: str, home: str) -> _Base | None:
    """A managed CPython through the shims' index, described from its install record."""
    follow = follows_minor(text) if _safe_name(text) else None
    if follow is None:
        return None
    index = os.path.join(home, "index")
    try:
        target = os.readlink(os.path.join(index, text))
    except OSError:
        return None  # not installed (or an index never built): the full path decides
    inst = os.path.normpath(os.path.join(index, target))
    store, key = os.path.split(inst)
    if store != os.path.join(home, "pythons"):
        return None
    record = answers.read_json(os.path.join(inst, RECORD))
    if record is None or record.get("key") != key or record.get("implementation") != "cpython":
        return None
    version = parse_version(str(record.get("version")))
    if version is None:
        return None
    (major, minor, micro), pre = version
    variant = record.get("variant") or None
    if variant not in (None, "freethreaded"):
        return None
    freethreaded = variant == "freethreaded"
    arch_variant = str(record.get("arch_variant") or "") or None
    minor_key = minor_key_for("cpython", major, minor, variant, str(record.get("os")),
                              str(record.get("arch")), arch_variant, str(record.get("libc")))
    root, follows = inst, False
    if follow:
        link = os.path.join(store, minor_key)
        try:
            if os.path.islink(link) and os.path.basename(os.readlink(link)) == key:
                root, follows = link, True
        except OSError:
            pass
    executable = os.path.join(root, str(record.get("executable") or "bin/python3"))
    if not os.access(executable, os.X_OK):
        return None
    return _Base(
        executable, "cpython", (major, minor, micro),
        layout.version_info((major, minor, micro), pre), freethreaded,
        f"lib/python{major}.{minor}{'t' if freethreaded else ''}/site-packages", follows,
    )


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
