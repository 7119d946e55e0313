"""Shims, the direct-lookup index they read, and shell integration.

``$PYV_HOME/shims/`` holds one POSIX ``sh`` script per command name found in any
installed interpreter's or named environment's ``bin/``, rendered from
``shims/shim.sh``. ``$PYV_HOME/index/`` maps every common spelling of a request
(``3.12``, ``3.12.4``, ``cpython@3.12``, ``3.13t``, ``pypy3.10``, keys, environment
names) to the directory it selects, as a symlink, so a shim resolves a request with
one ``[ -x "$index/$request/bin/$name" ]`` test. Each entry points where
:func:`pyv.store.find_installed` would, so the shim and ``pyv _shim`` agree.

:func:`rehash` rebuilds both, under ``shims/.lock``, writing every file and link
under a temporary name and renaming it into place, so concurrent readers never see
a missing or half-written shim. It is idempotent and only touches what changed;
it always refreshes ``index/.stamp``, which shims compare with their target's
``bin/`` to notice console scripts added since (``pip install``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.errors import FilesystemError, InvalidRequest, PyvError, UsageError, from_os_error
from pyv.fsutil import atomic_symlink, atomic_write, remove_tree

if TYPE_CHECKING:
    from pyv.platform import Host
    from pyv.requests import PythonRequest
    from pyv.settings import Settings
    from pyv.store import Installation

#: The first line after the shebang of every shim we write; only such files are removed.
SHIM_MARKER = "# pyv shim for "
STAMP = ".stamp"
#: Names a shim or an index entry may have (no shell or path metacharacters).
_SAFE_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+@-]*")
#: Never shimmed: pyv itself, and activation scripts that happen to be executable.
_NEVER_SHIM = frozenset({"pyv", "activate", "deactivate"})
SHELLS = ("bash", "zsh", "fish", "tcsh", "csh", "sh")
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


@dataclass(frozen=True)
class RehashResult:
    """What a rehash left on disk and what it changed."""

    shims: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    #: (request spelling, target directory) of every index entry.
    index: tuple[tuple[str, str], ...]
    index_changed: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.index_changed)


# ----- templates -------------------------------------------------------------------------
def templates_dir() -> Path:
    """The shim and shell templates: ``pyv/_shims`` in a wheel, the repo's ``shims/`` in an
    editable install."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_shims", here.parent.parent / "shims"):
        if (candidate / "shim.sh").is_file():
            return candidate
    raise PyvError("pyv's shim templates are missing from its installation",
                   "reinstall pyv (`pip install --force-reinstall pyv`)")


def _template(name: str) -> str:
    path = templates_dir() / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise from_os_error(exc, f"reading the template {path}") from None


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace ``@NAME@`` placeholders in one pass (values are never re-scanned)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def pyv_command() -> list[str]:
    """How shims and shell integration run pyv: this installation's console script."""
    script = Path(sys.executable).parent / "pyv"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("pyv")
    if found:
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "pyv"]


def render_shim(settings: Settings, name: str) -> str:
    return render(_template("shim.sh"), {
        "NAME": shlex.quote(name),
        "HOME": shlex.quote(str(settings.home)),
        "PYV": " ".join(shlex.quote(p) for p in pyv_command()),
        "FALLBACK": settings.fallback if settings.fallback in ("system", "error") else "error",
        "WS": "' \t\r'",
        "BOM": "'\ufeff'",
    })


# ----- what to shim and index -----------------------------------------------------------
def _executables(bin_dir: Path) -> set[str]:
    names: set[str] = set()
    try:
        entries = list(os.scandir(bin_dir))
    except OSError:
        return names
    for entry in entries:
        name = entry.name
        if name in _NEVER_SHIM or not _SAFE_NAME.fullmatch(name):
            continue
        try:
            if entry.is_file() and os.access(entry.path, os.X_OK):
                names.add(name)
        except OSError:
            continue
    return names


def named_envs(settings: Settings) -> list[Path]:
    """Named environments: directories of ``envs/`` with a ``bin/`` (dot-dirs skipped)."""
    try:
        entries = sorted(os.scandir(settings.envs_dir), key=lambda e: e.name)
    except OSError:
        return []
    return [Path(e.path) for e in entries
            if not e.name.startswith(".") and (Path(e.path) / "bin").is_dir()]


def shim_names(installs: Iterable[Installation], envs: Iterable[Path],
               extra_bins: Iterable[Path] = ()) -> set[str]:
    names: set[str] = set()
    for bin_dir in [i.bin_dir for i in installs] + [e / "bin" for e in envs] + list(extra_bins):
        names |= _executables(bin_dir)
    # ``python``/``pip`` always exist as shims when the 3-suffixed ones do (shims alias them).
    from pyv.selection import ALIASES

    for plain, suffixed in ALIASES.items():
        if suffixed in names:
            names.add(plain)
    return names


def spellings(inst: Installation) -> list[str]:
    """Request spellings that may select ``inst`` (filtered later by what they really match)."""
    release = inst.version.release
    major, minor = release[0], release[1] if len(release) > 1 else 0
    versions = [str(inst.version), f"{major}.{minor}", f"{major}", f"{major}{minor}"]
    suffixes = {
        None: [""],
        "freethreaded": ["t", "+freethreaded"],
        "debug": ["d", "+debug"],
        "freethreaded+debug": ["td", "+freethreaded+debug"],
    }.get(inst.variant, [])
    prefixes = {
        "cpython": ["", "cpython", "cpython@", "cpython-", "python", "python@", "cp"],
        "pypy": ["", "pypy", "pypy@", "pypy-", "pp"],
        "graalpy": ["", "graalpy", "graalpy@", "graalpy-", "gp"],
    }.get(inst.implementation, [f"{inst.implementation}@"])
    names = [inst.key, inst.minor_key]
    names += [p + v + s for p in prefixes for v in versions for s in suffixes]
    if inst.variant is None:
        names += ["any", "latest", "python", inst.implementation]
    return names


def _find(request: PythonRequest, installs: list[Installation], host: Host) -> Installation | None:
    """:func:`pyv.store.find_installed` over an already-read list (one disk read per rehash)."""
    from pyv.store import installation_matches, sort_key

    matches = [i for i in installs if installation_matches(request, i)]
    if not request.allows_prereleases:
        matches = [i for i in matches if not i.version.is_prerelease] or matches
    matches.sort(key=lambda i: (not (i.os == host.os and i.arch == host.arch), sort_key(i)))
    return matches[0] if matches else None


def index_entries(settings: Settings, installs: list[Installation], envs: list[Path],
                  host: Host) -> dict[str, Path]:
    """Spelling -> directory (installation or environment) the shim should use."""
    from pyv.requests import parse_request

    result: dict[str, Path] = {}
    tried: set[str] = set()
    for inst in installs:
        for name in spellings(inst):
            if name in tried or not _SAFE_NAME.fullmatch(name):
                continue
            tried.add(name)
            try:
                request = parse_request(name)
            except InvalidRequest:
                continue
            if request.kind not in ("any", "version", "key"):
                continue
            best = _find(request, installs, host)
            if best is not None:
                result[name] = best.path
    for env in envs:
        try:
            kind = parse_request(env.name, allow_names=True).kind
        except InvalidRequest:
            continue
        if kind == "name" and env.name not in result and _SAFE_NAME.fullmatch(env.name):
            result[env.name] = env
    return result


# ----- writing ---------------------------------------------------------------------------
def _clear_stray_dir(path: Path) -> None:
    """A directory where a shim or an index entry goes (no pyv makes one) would fail every
    later rehash; these directories are pyv's own, so it goes."""
    if path.is_dir() and not path.is_symlink():
        remove_tree(path)


def _write_if_changed(path: Path, content: str) -> bool:
    _clear_stray_dir(path)
    data = content.encode("utf-8")
    try:
        if path.read_bytes() == data and os.access(path, os.X_OK):
            return False
    except OSError:
        pass
    atomic_write(path, data, mode=0o755, what=f"the shim {path}")
    return True


def _link_if_changed(link: Path, target: str) -> bool:
    _clear_stray_dir(link)
    try:
        if os.readlink(link) == target:
            return False
    except OSError:
        pass
    atomic_symlink(target, link, what=f"the index entry {link}")
    return True


def _is_our_shim(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(200)
    except OSError:
        return False
    return SHIM_MARKER.encode() in head


def _link_target(settings: Settings, target: Path) -> str:
    """Relative inside PYV_HOME (so it can move), absolute into other stores."""
    try:
        target.relative_to(settings.home)
    except ValueError:
        return str(target)
    return os.path.relpath(target, settings.index_dir)


@dataclass(frozen=True)
class Pending:
    """An installation about to be published: indexed at its final path, its commands read
    from the staging tree it is still in."""

    installation: Installation
    staged_bin: Path


def rehash(settings: Settings, pending: Pending | None = None) -> RehashResult:
    """Regenerate shims and the index to match the installations and named environments.

    With ``pending``, the shims and index are made as if that installation were
    already published. The installer does this while the new interpreter's smoke
    test runs; until the rename publishes it, its index entries dangle, which the
    shims treat as "not installed" (the full rules then decide). Then
    :func:`indexed` tells whether a later rehash without it has undone the work.
    """
    from pyv.locking import acquire
    from pyv.platform import current_host
    from pyv.store import all_installations, repair_minor_links, sort_key

    repair_minor_links(settings)  # the index follows the records, and so do the minor links
    shims_dir, index_dir = settings.shims_dir, settings.index_dir
    with acquire(shims_dir / ".lock", timeout=settings.lock_timeout, mode=settings.lock_mode,
                 what=f"the shims in {shims_dir}"):
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise from_os_error(exc, f"creating {index_dir}") from None
        installs = all_installations(settings)
        extra_bins = []
        if pending is not None:
            extra_bins.append(pending.staged_bin)
            if all(i.key != pending.installation.key for i in installs):
                installs = sorted([*installs, pending.installation], key=sort_key)
        envs = named_envs(settings)
        names = shim_names(installs, envs, extra_bins)
        entries = index_entries(settings, installs, envs, current_host())

        existing = {p.name for p in shims_dir.iterdir()
                    if not p.name.startswith(".") and _is_our_shim(p)}
        added = []
        for name in sorted(names):
            if _write_if_changed(shims_dir / name, render_shim(settings, name)) \
                    and name not in existing:
                added.append(name)
        removed = sorted(existing - names)
        changed = 0
        for name, target in entries.items():
            changed += _link_if_changed(index_dir / name, _link_target(settings, target))
        for path in index_dir.iterdir():
            if path.name.startswith("."):
                if path.name.endswith(".tmp") and path.is_symlink():
                    with contextlib.suppress(OSError):
                        path.unlink()  # left by a rehash that died
                continue
            if path.name not in entries:
                changed += 1
                _clear_stray_dir(path)
                with contextlib.suppress(OSError):
                    path.unlink()
        for name in removed:
            with contextlib.suppress(OSError):
                (shims_dir / name).unlink()
        stamp = index_dir / STAMP
        _clear_stray_dir(stamp)
        try:
            stamp.touch()
            os.utime(stamp)
        except OSError as exc:
            raise from_os_error(exc, f"writing {stamp}") from None
    return RehashResult(
        shims=tuple(sorted(names)), added=tuple(added), removed=tuple(removed),
        index=tuple(sorted((k, str(v)) for k, v in entries.items())), index_changed=changed,
    )


def indexed(settings: Settings, installations: Iterable[Installation]) -> bool:
    """Whether the index's entry for each installation's key points at it (so the last
    rehash saw them all: any rehash without one of them removes its key's entry)."""
    index_dir = settings.index_dir
    for inst in installations:
        try:
            target = os.readlink(index_dir / inst.key)
        except OSError:
            return False
        if os.path.normpath(os.path.join(index_dir, target)) != os.path.normpath(inst.path):
            return False
    return True


def ensure_index(settings: Settings) -> None:
    """Rehash once if the index was never built (e.g. a store filled by another tool)."""
    if not (settings.index_dir / STAMP).exists():
        with contextlib.suppress(FilesystemError):
            rehash(settings)


# ----- shell integration -----------------------------------------------------------------
def check_shell(shell: str) -> str:
    name = os.path.basename(shell.strip()).lstrip("-")
    if name not in SHELLS:
        raise UsageError(f"unsupported shell {name!r}", f"use one of: {', '.join(SHELLS)}")
    return "tcsh" if name == "csh" else name


def detect_shell(environ: Mapping[str, str]) -> str:
    """The user's shell from ``$SHELL`` (for ``pyv init`` without an argument)."""
    shell = environ.get("SHELL", "")
    if not shell:
        raise UsageError("cannot tell which shell you use ($SHELL is not set)",
                         f"name it: `pyv init bash` (one of {', '.join(SHELLS)})")
    return check_shell(shell)


def init_script(settings: Settings, shell: str, commands: Iterable[str]) -> str:
    """The code ``eval "$(pyv init SHELL)"`` runs: shims on PATH, the pyv function, completion."""
    shell = check_shell(shell)
    template = {"bash": "init.bash", "zsh": "init.zsh", "sh": "init.sh", "fish": "init.fish",
                "tcsh": "init.tcsh"}[shell]
    quote = _fish_quote if shell == "fish" else shlex.quote
    values = {
        "SHIMS": quote(str(settings.shims_dir)),
        "INDEX": quote(str(settings.index_dir)),
        "PYV": " ".join(quote(p) for p in pyv_command()),
        "COMMANDS": " ".join(sorted(commands)),
        "CSH_HELPER": shlex.quote(str(templates_dir() / "pyv.csh")),
    }
    if shell == "tcsh":
        values["PYV"] = " ".join(_csh_quote(p) for p in pyv_command())
        values["SHIMS"] = _csh_quote(str(settings.shims_dir))
        values["INDEX"] = _csh_quote(str(settings.index_dir))
        values["CSH_HELPER"] = _csh_quote(str(templates_dir() / "pyv.csh"))
    from pyv.cli.completion import SHELLS as COMPLETION_SHELLS
    from pyv.cli.completion import script

    completion = script(shell) if shell in COMPLETION_SHELLS else ""
    return render(_template(template), values) + completion


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _csh_quote(text: str) -> str:
    if "!" in text or "\n" in text:
        raise UsageError(f"cannot use the path {text!r} in csh", "avoid '!' and newlines in it")
    return "'" + text.replace("'", "'\\''") + "'"


def shell_eval(shell: str, variable: str, value: str | None) -> str:
    """Code that sets (or with ``None`` unsets) an environment variable in ``shell``."""
    shell = check_shell(shell)
    if shell == "fish":
        if value is None:
            return f"set -e {variable};"
        return f"set -gx {variable} {_fish_quote(value)};"
    if shell == "tcsh":
        if value is None:
            return f"unsetenv {variable};"
        return f"setenv {variable} {_csh_quote(value)};"
    if value is None:
        return f"unset {variable};"
    return f"export {variable}={shlex.quote(value)};"
