"""Shims, the direct-lookup index they read, and shell integration.

``$PYV_HOME/shims/`` holds one POSIX ``sh`` script per command name found in any
installed interpreter's or named environment's ``bin/``, rendered from
``shims/shim.sh``. ``$PYV_HOME/index/`` maps every common spelling of a request
(``3.12``, ``3.12.4``, ``cpython@3.12``, ``3.13t``, ``pypy3.10``, keys, environment
names) to what it selects: one small text file per spelling (see :func:`entry_text`),
whose first line is the directory to run from, so a shim resolves a request with one
``read`` and one ``[ -x "$root/bin/$name" ]`` test, and ``pyv venv``'s fast path
finds the facts it needs without parsing a version. That directory is the
installation's own, or its minor link for a request without a patch
(:func:`pyv.choose.running.run_root`): never a path through the index, so what an
interpreter reports as ``sys.prefix`` keeps its minor version. Each entry selects
what :func:`pyv.acquire.store.find_installed` would, so the shim and ``pyv _shim`` agree.

:func:`rehash` rebuilds both, under ``shims/.lock``, writing every file under a
temporary name and renaming it into place, so concurrent readers never see a
missing or half-written shim. It is idempotent and only touches what changed;
it always refreshes ``index/.stamp``, which shims compare with their target's
``bin/`` to notice console scripts added since (``pip install``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import FilesystemError, InvalidRequest, PyvError, UsageError, from_os_error
from pyv.core.fsutil import atomic_write, remove_tree
from pyv.core.shells import (
    POSIX_FAMILY,
    load_line,
    quote_csh,
    quote_fish,
    quote_posix,
    shell_name,
)
from pyv.core.versionfile import (
    BLANKS,
    BOM,
    MAX_REQUEST_BYTES,
    VERSION_FILE_MAX_BYTES,
    VERSION_FILE_MAX_LINES,
)

if TYPE_CHECKING:
    from pyv.acquire.store import Installation
    from pyv.core.platform import Host
    from pyv.core.settings import Settings

#: Environment variables whose values change what the index says (extra stores, CPU level):
#: rehash records the values it used in ``index/.inputs``, and ``pyv venv``'s fast path
#: trusts the index only when its environment has the same ones.
INDEX_INPUTS = ("PYV_STORES", "PYV_ARCH")
INPUTS = ".inputs"
#: The store and its installations as the index saw them (see :func:`installed_text`).
INSTALLED = ".installed"
#: The first line after the shebang of every shim we write; only such files are removed.
SHIM_MARKER = "# pyv shim for "
STAMP = ".stamp"
#: Names a shim or an index entry may have (no shell or path metacharacters).
_SAFE_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+@-]*")
#: Never shimmed: pyv itself, and activation scripts that happen to be executable.
_NEVER_SHIM = frozenset({"pyv", "activate", "deactivate"})
#: The shells ``pyv init`` has an integration for (csh gets tcsh's).
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
    package = Path(__file__).resolve().parents[1]  # pyv/choose/shims.py -> pyv/
    for candidate in (package / "_shims", package.parent.parent / "shims"):
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
        "NAME": quote_posix(name),
        "HOME": quote_posix(str(settings.home)),
        "PYV": " ".join(quote_posix(p) for p in pyv_command()),
        "FALLBACK": settings.fallback if settings.fallback in ("system", "error") else "error",
        "WS": quote_posix(BLANKS),
        "BOM": quote_posix(BOM),
        "MAXLINES": str(VERSION_FILE_MAX_LINES),
        "MAXBYTES": str(VERSION_FILE_MAX_BYTES),
        "MAXWORD": str(MAX_REQUEST_BYTES),
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
    """The named environments (the one rule: :func:`pyv.core.locations.named_environments`)."""
    from pyv.core.locations import named_environments

    return [Path(p) for p in named_environments(str(settings.envs_dir))]


def shim_names(installs: Iterable[Installation], envs: Iterable[Path],
               extra_bins: Iterable[Path] = ()) -> set[str]:
    names: set[str] = set()
    for bin_dir in [i.bin_dir for i in installs] + [e / "bin" for e in envs] + list(extra_bins):
        names |= _executables(bin_dir)
    # ``python``/``pip`` always exist as shims when the 3-suffixed ones do (shims alias them).
    from pyv.core.locations import ALIASES

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


@dataclass(frozen=True)
class IndexEntry:
    """What one request spelling selects: an installation or a named environment."""

    #: The directory to run from: an installation, its minor link, or an environment.
    root: Path
    installation: Installation | None = None
    follows_minor: bool = False


def index_entries(settings: Settings, installs: list[Installation], envs: list[Path],
                  host: Host, pending_key: str | None = None) -> dict[str, IndexEntry]:
    """Spelling -> what the shim should run for it (``pending_key``: an installation about
    to be published, run through the minor link the store will give it)."""
    from pyv.acquire.store import find_installed
    from pyv.choose.running import follows_minor, pending_root, run_root
    from pyv.core.requests import parse_request

    result: dict[str, IndexEntry] = {}
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
            found = find_installed(settings, request, host, installs)
            if found:
                best = found[0]
                if best.key == pending_key:
                    root, follows = pending_root(best, follows_minor(request), installs)
                else:
                    root, follows = run_root(best, follows_minor(request))
                result[name] = IndexEntry(root, best, follows)
    for env in envs:
        try:
            kind = parse_request(env.name, allow_names=True).kind
        except InvalidRequest:
            continue
        if kind == "name" and env.name not in result and _SAFE_NAME.fullmatch(env.name):
            result[env.name] = IndexEntry(env)
    return result


def entry_text(settings: Settings, entry: IndexEntry) -> str:
    """An index file: the directory to run from (relative to PYV_HOME when inside it, so
    shims read it with one ``read``), then ``name=value`` facts for ``pyv venv``."""
    try:
        root = str(entry.root.relative_to(settings.home))
    except ValueError:
        root = str(entry.root)
    inst = entry.installation
    if inst is None:
        return f"{root}\nkind=env\n"
    from pyv.choose.running import cpython_site_packages, version_info_of

    major, minor, micro = [*inst.version.release, 0, 0, 0][:3]
    facts = {
        "kind": "install",
        "key": inst.key,
        "implementation": inst.implementation,
        "version": f"{major}.{minor}.{micro}",
        "version_info": version_info_of(inst),
        "freethreaded": "1" if inst.freethreaded else "0",
        "variant": inst.variant or "",
        "executable": str(entry.root / inst.executable_rel),
        "site_packages": cpython_site_packages(inst) if inst.implementation == "cpython" else "",
        "follows_minor": "1" if entry.follows_minor else "0",
    }
    return root + "\n" + "".join(f"{k}={v}\n" for k, v in facts.items())


def installed_text(settings: Settings, installs: Iterable[Installation]) -> str:
    """``index/.installed``: the user's store, then a line per installation: its key, its
    ``os-arch`` (the part of the host :func:`pyv.acquire.store.find_installed` ranks by) and the
    interpreter in its own directory (what ``pyv find`` and ``pyv list`` print), paths
    relative to PYV_HOME when inside it. ``pyv find`` and ``pyv list`` answer from it
    without reading the store (:mod:`pyv.venv.index_reader`)."""
    def shown(path: Path) -> str:
        try:
            return str(path.relative_to(settings.home))
        except ValueError:
            return str(path)

    lines = [shown(settings.pythons_dir)] + [
        f"{i.key}\t{i.os}-{i.arch}\t{shown(i.executable)}" for i in installs]
    if any("\n" in line or "\r" in line for line in lines):
        return ""  # unreadable as lines: the readers take the full path
    return "".join(line + "\n" for line in lines)


def read_entry(settings: Settings, spelling: str) -> Path | None:
    """The directory an index entry runs from (as the shim reads it), or None."""
    try:
        with open(settings.index_dir / spelling, encoding="utf-8") as fh:
            first = fh.readline().rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    return settings.home / first if first else None


# ----- project environments ---------------------------------------------------------------
def project_bins(settings: Settings) -> list[Path]:
    """The ``bin/`` of every environment a mark lists (their commands get shims); marks
    whose version file is gone or no longer trusted, with its content, are removed."""
    from pyv.choose.trust import PROJECTS, is_trusted
    from pyv.core.versionfile import read_bounded

    root = settings.index_dir / PROJECTS
    bins: list[Path] = []
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            mark = Path(directory, name)
            version_file = Path("/", os.path.relpath(mark, root))
            try:
                trusted = is_trusted(settings, version_file, read_bounded(str(version_file))[0])
                lines = mark.read_text(encoding="utf-8").splitlines() if trusted else []
            except (OSError, UnicodeDecodeError):
                lines = []
            if not lines:
                with contextlib.suppress(OSError):
                    mark.unlink()
            bins += [Path(line, "bin") for line in lines if os.path.isdir(Path(line, "bin"))]
        if directory != str(root):
            with contextlib.suppress(OSError):
                os.rmdir(directory)  # only when empty
    return bins


# ----- writing ---------------------------------------------------------------------------
def _clear_stray_dir(path: Path) -> None:
    """A directory where a shim or an index entry goes (no pyv makes one) would fail every
    later rehash; these directories are pyv's own, so it goes."""
    if path.is_dir() and not path.is_symlink():
        remove_tree(path)


def _write_if_changed(path: Path, content: str, mode: int = 0o755,
                      what: str = "the shim") -> bool:
    _clear_stray_dir(path)
    data = content.encode("utf-8")
    try:
        if not path.is_symlink() and path.read_bytes() == data \
                and (mode & 0o111 == 0 or os.access(path, os.X_OK)):
            return False
    except OSError:
        pass
    atomic_write(path, data, mode=mode, what=f"{what} {path}")
    return True


def _is_our_shim(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(200)
    except OSError:
        return False
    return SHIM_MARKER.encode() in head


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
    from pyv.acquire.store import all_installations, repair_minor_links, sort_key
    from pyv.core.locking import acquire
    from pyv.core.platform import current_host

    repair_minor_links(settings)  # the index follows the records, and so do the minor links
    shims_dir, index_dir = settings.shims_dir, settings.index_dir
    with acquire(shims_dir / ".lock", timeout=settings.lock_timeout, mode=settings.lock_mode,
                 what=f"the shims in {shims_dir}"):
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise from_os_error(exc, f"creating {index_dir}") from None
        installs = all_installations(settings)
        extra_bins = project_bins(settings)
        if pending is not None:
            extra_bins.append(pending.staged_bin)
            if all(i.key != pending.installation.key for i in installs):
                installs = sorted([*installs, pending.installation], key=sort_key)
        envs = named_envs(settings)
        names = shim_names(installs, envs, extra_bins)
        entries = index_entries(settings, installs, envs, current_host(),
                                pending.installation.key if pending is not None else None)

        existing = {p.name for p in shims_dir.iterdir()
                    if not p.name.startswith(".") and _is_our_shim(p)}
        added = []
        for name in sorted(names):
            if _write_if_changed(shims_dir / name, render_shim(settings, name)) \
                    and name not in existing:
                added.append(name)
        removed = sorted(existing - names)
        changed = 0
        for name, entry in entries.items():
            changed += _write_if_changed(index_dir / name, entry_text(settings, entry),
                                         mode=0o644, what="the index entry")
        for path in index_dir.iterdir():
            if path.name.startswith("."):
                if path.name.endswith(".tmp") and not path.is_dir():
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
        inputs = "".join(f"{name}={settings.environ.get(name, '')}\n" for name in INDEX_INPUTS)
        _write_if_changed(index_dir / INPUTS, inputs, mode=0o644, what="the index's inputs")
        _write_if_changed(index_dir / INSTALLED, installed_text(settings, installs), mode=0o644,
                          what="the index's installations")
        stamp = index_dir / STAMP
        _clear_stray_dir(stamp)
        try:
            stamp.touch()
            os.utime(stamp)
        except OSError as exc:
            raise from_os_error(exc, f"writing {stamp}") from None
    return RehashResult(
        shims=tuple(sorted(names)), added=tuple(added), removed=tuple(removed),
        index=tuple(sorted((k, str(v.root)) for k, v in entries.items())),
        index_changed=changed,
    )


def indexed(settings: Settings, installations: Iterable[Installation]) -> bool:
    """Whether the index's entry for each installation's key points at it (so the last
    rehash saw them all: any rehash without one of them removes its key's entry)."""
    for inst in installations:
        root = read_entry(settings, inst.key)
        if root is None or os.path.normpath(root) != os.path.normpath(inst.path):
            return False
    return True


def ensure_index(settings: Settings) -> None:
    """Rehash once if the index was never built (e.g. a store filled by another tool)."""
    if not (settings.index_dir / STAMP).exists():
        with contextlib.suppress(FilesystemError):
            rehash(settings)


# ----- shell integration -----------------------------------------------------------------
def check_shell(shell: str) -> str:
    """The integration for a shell's name: its own, ``tcsh`` for csh, ``sh`` for the POSIX
    family (dash, ksh, mksh …); a usage error for any other."""
    name = shell_name(shell)
    if name == "csh":
        return "tcsh"
    if name in SHELLS:
        return name
    if name in POSIX_FAMILY:
        return "sh"
    raise UsageError(f"unsupported shell {name!r}",
                     f"use one of: {', '.join(SHELLS)} (sh serves ksh, dash and other POSIX "
                     "shells)")


@dataclass(frozen=True)
class ShellGuess:
    """The integration for the user's shell, and why it is a guess when it is one."""

    shell: str
    note: str | None = None


def detect_shell(environ: Mapping[str, str]) -> ShellGuess:
    """The user's shell from ``$SHELL`` (for ``pyv init`` without an argument). A shell pyv
    does not know, or no ``$SHELL``, gets the POSIX ``sh`` integration, with a note why."""
    shell = environ.get("SHELL", "").strip()
    if not shell:
        return ShellGuess("sh", "$SHELL is not set: printing the POSIX sh integration "
                                "(name your shell: `pyv init bash`, `zsh`, `fish`, `tcsh`)")
    try:
        return ShellGuess(check_shell(shell))
    except UsageError:
        return ShellGuess("sh", f"pyv has no integration for {shell_name(shell)!r} ($SHELL): "
                                "printing the POSIX sh one (name your shell to choose another: "
                                "`pyv init bash`, or zsh, fish, tcsh, sh)")


def shims_first(path: str, shims_dir: Path) -> str | None:
    """``path`` with the shims directory first and nowhere else, or None when it already
    comes first. What the sh, bash, zsh and fish scripts compute themselves (tcsh's is
    computed here, as csh patterns cannot edit PATH reliably)."""
    shims = str(shims_dir)
    entries = path.split(os.pathsep) if path else []
    if entries[:1] == [shims]:
        return None
    return os.pathsep.join([shims, *(e for e in entries if e != shims)])


def init_script(settings: Settings, shell: str, commands: Iterable[str]) -> str:
    """The code ``eval "$(pyv init SHELL)"`` runs: shims on PATH, the pyv function, completion."""
    shell = check_shell(shell)
    template = {"fish": "init.fish", "tcsh": "init.tcsh"}.get(shell, "init.sh")
    quote = quote_fish if shell == "fish" else quote_posix
    values = {
        "SHIMS": quote(str(settings.shims_dir)),
        "INDEX": quote(str(settings.index_dir)),
        "PYV": " ".join(quote(p) for p in pyv_command()),
        "COMMANDS": " ".join(sorted(commands)),
        "CSH_HELPER": quote_posix(str(templates_dir() / "pyv.csh")),
    }
    if template == "init.sh":  # sh, bash and zsh share it; bash and zsh keep locals local
        load, where = load_line(shell)
        values |= {"SHELL": shell, "LOAD": load, "WHERE": where,
                   "WHAT": "POSIX sh (dash, ksh, mksh...)" if shell == "sh" else shell,
                   "LOCAL": "" if shell == "sh" else "local "}
    if shell == "tcsh":
        values["PYV"] = " ".join(quote_csh(p) for p in pyv_command())
        values["SHIMS"] = quote_csh(str(settings.shims_dir))
        values["INDEX"] = quote_csh(str(settings.index_dir))
        values["CSH_HELPER"] = quote_csh(str(templates_dir() / "pyv.csh"))
    return render(_template(template), values)


def shell_eval(shell: str, variable: str, value: str | None) -> str:
    """Code that sets (or with ``None`` unsets) an environment variable in ``shell``."""
    shell = check_shell(shell)
    if shell == "fish":
        if value is None:
            return f"set -e {variable};"
        return f"set -gx {variable} {quote_fish(value)};"
    if shell == "tcsh":
        if value is None:
            return f"unsetenv {variable};"
        return f"setenv {variable} {quote_csh(value)};"
    if value is None:
        return f"unset {variable};"
    return f"export {variable}={quote_posix(value)};"


class ShimUpdates:
    """:class:`pyv.acquire.installer.ShimIndex` through :func:`rehash`: what every caller of the
    installer hands it, so the installer never imports this module."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def prepare(self, installation: Installation, staged_bin: Path) -> bool:
        rehash(self.settings, Pending(installation, staged_bin))
        return True

    def rollback(self) -> None:
        self.refresh()

    def commit(self, installations: Sequence[Installation]) -> None:
        # A prepare made them while the smoke test ran; redo them only if a rehash since
        # undid that, or something (a killed pyv, a stray file) left them wrong.
        if not indexed(self.settings, installations):
            self.refresh()

    def refresh(self) -> None:
        rehash(self.settings)
