"""Which interpreter runs here, and why.

Order, first match wins (each with its :class:`Origin`):

1. ``PYV_VERSION`` (set by ``pyv shell``; several requests separated by ``:``),
2. the nearest ``.python-version`` (or ``.python-versions``) walking up from the cwd,
3. the global version file ``$PYV_HOME/version`` (``pyv pin --global``),
4. ``requires-python`` of the nearest ``pyproject.toml`` (a hint: used only when an
   installed interpreter satisfies it, or ``auto_install`` is on),
5. the ``fallback`` setting: ``system`` (next interpreter on PATH) or ``error``.

A version file holds one request per line (pyenv/uv compatible); every line counts,
so ``3.12`` then ``3.11`` makes ``python`` run 3.12 and ``python3.11`` run 3.11.
The shim (``shims/shim.sh``) implements the common cases of the same rules in
``sh``; this module is the reference and handles everything else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.choose.resolve import NotInstalled as NotInstalled
from pyv.core.errors import (
    ExitCode,
    InvalidRequest,
    NotFound,
    PyvError,
    UsageError,
    command_line,
    shown_command,
)
from pyv.core.fsutil import nearest_existing_dir
from pyv.core.locations import ALIASES, VERSION_FILES
from pyv.core.records import record
from pyv.core.report import SILENT, Reporter
from pyv.core.versionfile import (
    BLANKS,
    MAX_REQUEST_BYTES,
    VERSION_FILE_MAX_BYTES,
    VERSION_FILE_MAX_LINES,
    first_word,
    read_bounded,
    words,
)

if TYPE_CHECKING:
    from pyv.acquire.store import Installation
    from pyv.core.requests import PythonRequest
    from pyv.core.settings import Settings

#: Characters that make an entry a glob; such entries are ignored (never expanded).
_GLOB_CHARS = frozenset("*?[")


#: ``pyv shell`` sets this beside PYV_VERSION, to the same value: an error then says who
#: set PYV_VERSION (a value exported by hand differs from the mark, or has none).
SHELL_MARK = "_PYV_SHELL_VERSION"


class SelectionError(PyvError):
    """A version file or ``PYV_VERSION`` that cannot be used as written."""

    exit_code = ExitCode.CONFIG


class MissingEnvironment(NotInstalled):
    """A project environment a version file names is not there: never skipped for the next
    entry, which would run the project without its packages (a shim exits 127)."""


class CommandNotFound(NotFound):
    """Nothing selected here provides the command (the shim exits 127)."""

    exit_code = ExitCode.SHIM_NOT_INSTALLED


@record(frozen=True)
class Origin:
    """Where a selection came from."""

    #: ``env`` | ``file`` | ``global`` | ``pyproject`` | ``fallback``
    kind: str
    path: Path | None = None
    #: For ``env``: ``pyv shell`` set it (its mark, :data:`SHELL_MARK`, has the same value).
    by_shell: bool = False

    def describe(self) -> str:
        if self.kind == "env":
            return "PYV_VERSION (set by `pyv shell`)" if self.by_shell else "PYV_VERSION"
        if self.kind == "file":
            return str(self.path)
        if self.kind == "global":
            return f"{self.path} (global, `pyv pin --global`)"
        if self.kind == "pyproject":
            return f"requires-python in {self.path} (a hint)"
        return "the fallback setting: no version selected"


@record(frozen=True)
class Entry:
    """One request of a selection, as written."""

    text: str
    request: PythonRequest
    origin: Origin
    #: 1-based line in the version file (None for PYV_VERSION, pyproject, fallback).
    line: int | None = None
    #: A path entry that runs a program from inside the version file's own tree.
    inside_tree: bool = False

    @property
    def where(self) -> str:
        if self.line is not None:
            return f"{self.origin.path}:{self.line}"
        return self.origin.describe()


@record(frozen=True)
class VersionFile:
    path: Path
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...]
    #: The bytes read (what ``pyv trust`` records a digest of).
    data: bytes = b""
    #: Its modification time before it was read (what the shims' project marks carry).
    mtime_ns: int = 0


@record(frozen=True)
class Selection:
    """The requests that apply here, best first, with their origin."""

    origin: Origin
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...] = ()
    #: A pin passed over because the project's requires-python excludes it (what and why).
    skipped: str = ""


@record(frozen=True)
class Resolution:
    """What a command name runs here."""

    name: str
    path: Path
    entry: Entry
    installation: Installation | None = None
    #: The named environment (or venv/prefix) the command comes from, if any.
    env_dir: Path | None = None

    @property
    def bin_dir(self) -> Path:
        return self.path.parent

    @property
    def origin(self) -> Origin:
        return self.entry.origin


# ----- reading version files ---------------------------------------------------------
def _escapes(word: str) -> bool:
    return any(c in _GLOB_CHARS for c in word) or ".." in word.replace("\\", "/").split("/")


def _is_specifier(word: str) -> bool:
    """``==3.12.*`` is a version specifier, not a glob."""
    from pyv.core.requests import parse_request

    if "/" in word or not word.startswith(("=", "<", ">", "!", "~=")):
        return False
    try:
        parse_request(word)
    except InvalidRequest:
        return False
    return True


def _line_request(text: str) -> str:
    """The request a version file's line (see :func:`pyv.core.versionfile.line_text`) names: the
    whole line when it parses as one request, spaces included (``>=3.11, <3.13``), else its
    first word; pyenv's ``python-`` prefix is dropped when a version follows
    (``python-3.12.1``)."""
    from pyv.core.requests import parse_request

    word = text
    if any(c in BLANKS for c in text):
        try:
            parse_request(text)
        except InvalidRequest:
            word = first_word(text)
    prefix = "python-"
    if word[: len(prefix)].lower() == prefix and word[len(prefix):][:1].isdigit():
        try:
            if parse_request(word[len(prefix):]).kind == "version":
                return word[len(prefix):]
        except InvalidRequest:
            pass
    return word


def parse_entries(data: bytes, origin: Origin) -> tuple[list[Entry], list[str]]:
    """The entries of a version file's bytes, and warnings for the lines ignored."""
    from pyv.core.requests import parse_request

    where = origin.path if origin.path is not None else origin.describe()
    entries: list[Entry] = []
    warnings: list[str] = []
    for number, text in words(data):
        word = _line_request(text)
        if len(word.encode("utf-8")) > MAX_REQUEST_BYTES:
            raise SelectionError(
                f"{where}:{number}: an entry of {len(word.encode('utf-8'))} bytes is longer "
                f"than any version or name can be (at most {MAX_REQUEST_BYTES})",
                "write one version per line, e.g. 3.12",
            )
        if _escapes(word) and not _is_specifier(word):
            warnings.append(
                f"{where}:{number}: ignoring {word!r} (paths with '..' and globs are not allowed)"
            )
            continue
        try:
            request = parse_request(word, allow_names=True)
        except InvalidRequest as exc:
            raise SelectionError(f"{where}:{number}: {exc.message}", exc.hint) from None
        entry = Entry(word, request, origin, number)
        if request.kind == "path" and request.path is not None and origin.path is not None:
            judged = _path_entry(entry, request.path, origin.path.parent)
            if judged is None:
                warnings.append(f"{where}:{number}: ignoring {word!r} (it leads out of "
                                f"{origin.path.parent} through a symbolic link)")
                continue
            entry = judged
        entries.append(entry)
    return entries, warnings


def _path_entry(entry: Entry, path: Path, tree: Path) -> Entry | None:
    """A path entry of a version file, judged after resolving symbolic links: a relative
    one that leads out of the file's tree is refused (None), as ``..`` is; one that
    stays inside runs a program the tree ships, so it needs the user's trust."""
    relative = not path.is_absolute()
    target = tree / path if relative else path
    real, root = os.path.realpath(target), os.path.realpath(tree)
    inside = real == root or real.startswith(root.rstrip(os.sep) + os.sep)
    if relative and not inside:
        return None
    request = _with_path(entry.request, target) if relative else entry.request
    return Entry(entry.text, request, entry.origin, entry.line, inside_tree=inside)


def _with_path(request: PythonRequest, path: Path) -> PythonRequest:
    from pyv.core.records import replace

    return replace(request, path=path)


def read_version_file(path: Path, kind: str = "file") -> VersionFile:
    """Read a version file; one that names no version is an error, never a silent default."""
    try:
        mtime_ns = os.stat(path).st_mtime_ns  # before reading: a later change is newer
        data, bounded = read_bounded(str(path))
    except OSError as exc:
        raise SelectionError(f"cannot read {path}: {exc.strerror}",
                             "fix its permissions or remove it") from None
    origin = Origin(kind, path)
    entries, warnings = parse_entries(data, origin)
    if not entries:
        why = (f"only entries that were ignored ({warnings[0].split(': ', 1)[-1]})" if warnings
               else "no version (it is empty or only comments)")
        if bounded:
            why += (f" in what pyv reads of it (its first {VERSION_FILE_MAX_LINES} lines, "
                    f"{VERSION_FILE_MAX_BYTES} bytes)")
        fix = "`pyv pin --global VERSION`" if kind == "global" else "`pyv pin VERSION`"
        raise SelectionError(
            f"{path} names {why}", f"write a version into it with {fix}, or delete it"
        )
    return VersionFile(path, tuple(entries), tuple(warnings), data, mtime_ns)


def check_trust(settings: Settings, found: VersionFile) -> None:
    """Refuse a version file whose path entries run a program from its own tree unless
    the user trusted it, with this content, by ``pyv trust``."""
    inside = [e for e in found.entries if e.inside_tree]
    if not inside:
        return
    from pyv.choose.trust import is_trusted

    if not is_trusted(settings, found.path, found.data):
        raise SelectionError(
            f"{inside[0].where}: {inside[0].text!r} would run a program from inside "
            f"{found.path.parent}, and that version file is not trusted",
            f"if you trust it, run {shown_command('pyv', 'trust', str(found.path.parent))}",
        )
    from pyv.choose.trust import mark_project

    mark_project(settings, found.path, found.mtime_ns, environments(found))


def trust_file(settings: Settings, found: VersionFile) -> None:
    """Record the user's trust in a version file as it is now (``pyv trust``); the shims
    then run the environments it names, whose commands get shims."""
    from pyv.choose.shims import rehash
    from pyv.choose.trust import mark_project, set_trusted

    set_trusted(settings, found.path, found.data)
    mark_project(settings, found.path, found.mtime_ns, environments(found))
    rehash(settings)


def distrust_file(settings: Settings, path: Path) -> None:
    """Withdraw the user's trust in a version file (``pyv trust --revoke``)."""
    from pyv.choose.shims import rehash
    from pyv.choose.trust import set_trusted, unmark_project

    set_trusted(settings, path, None)
    unmark_project(settings, path)
    rehash(settings)


def environment_of(entry: Entry) -> Path | None:
    """The project environment an entry names: a path into its version file's own tree
    that is a directory (``.venv``, as ``pyv pin --venv`` writes), or is missing and not
    named like an interpreter; None for anything else."""
    path = entry.request.path
    if entry.request.kind != "path" or not entry.inside_tree or path is None:
        return None
    if path.is_dir():
        return path
    return None if os.path.lexists(path) or _is_python_name(path.name) else path


def environments(found: VersionFile) -> tuple[Path, ...]:
    """The project environments a version file names (what its shims may run)."""
    return tuple(p for p in map(environment_of, found.entries) if p is not None)


def find_version_file(start: Path) -> Path | None:
    """The nearest ``.python-version`` (or ``.python-versions``) from ``start`` upwards."""
    for directory in (start, *start.parents):
        for name in VERSION_FILES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def requires_python(pyproject: Path) -> str | None:
    """``project.requires-python`` of a pyproject.toml, or None (also when unreadable)."""
    from pyv.core.settings import parse_toml

    try:
        data = parse_toml(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    project = data.get("project")
    value = project.get("requires-python") if isinstance(project, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


# ----- the selection order -------------------------------------------------------------
def start_dir(cwd: Path, environ: Mapping[str, str]) -> Path:
    """Where to start looking: ``cwd``; if this process's directory was deleted, the nearest
    existing parent of where it was (``$PWD``, else what ``/proc/self/cwd`` still names)."""
    try:
        os.getcwd()
    except OSError:
        for text in (environ.get("PWD", ""), _proc_cwd()):
            if text and os.path.isabs(text):
                return nearest_existing_dir(Path(text))
    return nearest_existing_dir(cwd)


def _proc_cwd() -> str:
    try:
        link = os.readlink("/proc/self/cwd")
    except OSError:
        return ""
    suffix = " (deleted)"
    return link[: -len(suffix)] if link.endswith(suffix) else link


def env_selection(value: str, by_shell: bool = False) -> Selection:
    """The selection ``PYV_VERSION`` makes (requests separated by ``:`` or whitespace)."""
    origin = Origin("env", by_shell=by_shell)
    text = "\n".join(value.replace(":", " ").split())
    entries, warnings = parse_entries(text.encode("utf-8", "surrogateescape"), origin)
    return Selection(origin, tuple(Entry(e.text, e.request, origin) for e in entries),
                     tuple(warnings))


def select(settings: Settings, cwd: Path, environ: Mapping[str, str] | None = None) -> Selection:
    """The selection that applies in ``cwd`` (see the module docstring for the order)."""
    from pyv.core.requests import parse_request

    env = settings.environ if environ is None else environ
    shell_value = env.get("PYV_VERSION", "").strip()
    if shell_value:
        by_shell = env.get(SHELL_MARK, "").strip() == shell_value
        selection = env_selection(shell_value, by_shell)
        if selection.entries:
            return selection
        raise SelectionError(  # never a silent fall-through to files the user did not mean
            f"{selection.origin.describe()} names only entries that were ignored: "
            + "; ".join(w.split(": ", 1)[-1] for w in selection.warnings),
            "set it to a version (`pyv shell 3.12`), or unset it",
        )
    start = start_dir(cwd, env)
    local = find_version_file(start)
    if local is not None:
        found = read_version_file(local)
        check_trust(settings, found)
        pinned = Selection(Origin("file", local), found.entries, found.warnings)
    elif settings.global_version_file.is_file():
        found = read_version_file(settings.global_version_file, "global")
        pinned = Selection(Origin("global", found.path), found.entries, found.warnings)
    else:
        pinned = None
    pyproject = find_pyproject(start)
    spec = requires_python(pyproject) if pyproject is not None else None
    if pinned is not None:
        skipped = _outside_project(settings, pinned, pyproject, spec)
        if not skipped:
            return pinned
    else:
        skipped = ""
    if pyproject is not None and spec is not None:
        origin = Origin("pyproject", pyproject)
        try:
            request = parse_request(spec)
        except InvalidRequest:
            return Selection(origin, (), (f"{pyproject}: ignoring requires-python {spec!r} "
                                          "(not a version specifier pyv understands)",),
                             skipped)
        return Selection(origin, (Entry(spec, request, origin),), skipped=skipped)
    return fallback_selection(settings)


def _outside_project(
    settings: Settings, pinned: Selection, pyproject: Path | None, spec: str | None
) -> str:
    """Why ``pinned`` is passed over, or "" when it applies (uv's rule).

    Inside a project (the nearest pyproject.toml with requires-python), a version file
    from above the project's root, or the global pin, whose first entry (the one
    ``python`` runs) contradicts requires-python is skipped: the project's own
    requirement decides. A file in the project's tree always applies as written.
    """
    if pyproject is None or spec is None or not pinned.entries:
        return ""
    path = pinned.origin.path
    root = pyproject.parent
    if pinned.origin.kind == "file" and path is not None and (
        path.parent == root or root in path.parent.parents
    ):
        return ""
    first = pinned.entries[0]
    clash = contradicts(settings, first.request, spec)
    if clash is None:
        return ""
    what = first.text if clash == first.request.raw else f"{first.text} (Python {clash})"
    return (f"{first.where} selects {what}, outside requires-python {spec!r} of "
            f"{pyproject}")


def fallback_selection(settings: Settings) -> Selection:
    from pyv.core.requests import parse_request

    origin = Origin("fallback")
    if settings.fallback == "system":
        return Selection(origin, (Entry("system", parse_request("system"), origin),))
    return Selection(origin, ())


def pinned_requests(
    settings: Settings, cwd: Path, environ: Mapping[str, str] | None = None,
    *, report: Reporter = SILENT,
) -> list[str]:
    """The request texts selected here by PYV_VERSION, a version file, the global file or
    requires-python (not the fallback). For ``pyv install`` without arguments and ``pyv find``."""
    selection = select(settings, cwd, environ)
    _explain(report, selection)
    if selection.origin.kind == "fallback":
        return []
    return [entry.text for entry in selection.entries]


# ----- resolving a command name ----------------------------------------------------------
def candidate_names(name: str) -> tuple[str, ...]:
    alias = ALIASES.get(name)
    return (name, alias) if alias else (name,)


def _in_bin(bin_dir: Path, name: str) -> Path | None:
    for candidate in candidate_names(name):
        path = bin_dir / candidate
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def _is_python_name(name: str) -> bool:
    from pyv.choose.discovery import _INTERPRETER_RE

    return _INTERPRETER_RE.match(name) is not None


def resolve_entry(
    settings: Settings, entry: Entry, name: str, environ: Mapping[str, str],
    *, install: bool = False, report: Reporter = SILENT,
) -> Resolution | None:
    """What ``name`` runs for one entry: a Resolution, None when the entry does not provide
    ``name``; raises :class:`NotInstalled` when the entry names something missing (after
    installing it first, with ``install``)."""
    request = entry.request
    if request.kind == "system":
        return _system(settings, entry, name, environ)
    if request.kind == "path":
        assert request.path is not None
        target = request.path
        if target.is_dir():
            bin_dir = target / "bin" if (target / "bin").is_dir() else target
            hit = _in_bin(bin_dir, name)
            if hit is None and environment_of(entry) is not None:
                _check_links(bin_dir, name, entry)
            return Resolution(name, hit, entry, env_dir=target) if hit is not None else None
        if environment_of(entry) is not None:
            raise MissingEnvironment(
                f"the project environment {target} (set by {entry.where}) does not exist",
                f"create it with {shown_command('pyv', 'venv', str(target))}, or remove "
                f"{entry.text!r} from {entry.origin.path}")
        if not (target.is_file() and os.access(target, os.X_OK)):
            raise NotInstalled(f"the interpreter {target} (set by {entry.where}) does not exist",
                               "fix the path in that file")
        if _is_python_name(name):
            return Resolution(name, target, entry)
        hit = _in_bin(target.parent, name)
        return Resolution(name, hit, entry) if hit is not None else None
    from pyv.choose.resolve import find_or_install

    found = find_or_install(settings, request, text=entry.text, where=entry.where,
                            install=install, report=report)
    hit = _in_bin(found.executable.parent, name)
    if found.env_dir is not None:
        return Resolution(name, hit, entry, env_dir=found.env_dir) if hit is not None else None
    if hit is None and name in ("python", "python3") and found.executable.is_file():
        hit = found.executable
    if hit is None:
        return None
    return Resolution(name, hit, entry, installation=found.installation)


def _check_links(bin_dir: Path, name: str, entry: Entry) -> None:
    """A project environment whose ``name`` links to an interpreter that is gone is broken:
    the next entry would run the project without its packages."""
    for candidate in candidate_names(name):
        link = bin_dir / candidate
        if link.is_symlink() and not link.exists():
            raise MissingEnvironment(
                f"the project environment {bin_dir.parent} (set by {entry.where}) is broken: "
                f"{link} leads to {os.readlink(link)}, which is gone",
                "recreate it with " + shown_command("pyv", "venv", "--clear", str(bin_dir.parent)))


def _system(settings: Settings, entry: Entry, name: str,
            environ: Mapping[str, str]) -> Resolution | None:
    """The next ``name`` on PATH after pyv's shims and the directories this process already
    went to for ``system`` (another version manager's shims that lead back here)."""
    from pyv.choose.discovery import next_on_path, tried_system_dirs

    tried = tried_system_dirs(environ)
    hit = next_on_path(name, environ.get("PATH", os.defpath), [settings.shims_dir, *tried])
    if hit is None and tried:
        raise CommandNotFound(
            f"no system {name} found on PATH: {', '.join(map(str, tried))} led back to pyv's "
            f"shims (set by {entry.where})",
            "take the other version manager's shims off PATH, or select a version with "
            "`pyv pin`",
        )
    return Resolution(name, hit, entry) if hit is not None else None


def resolve(
    settings: Settings,
    cwd: Path,
    name: str = "python",
    environ: Mapping[str, str] | None = None,
    *,
    auto_install: bool | None = None,
    report: Reporter = SILENT,
) -> Resolution:
    """What ``name`` runs in ``cwd``: the first entry of the selection that provides it.

    With ``auto_install`` (default: the setting) a missing version is installed first,
    progress on ``report``. Raises :class:`NotInstalled`, :class:`CommandNotFound` or
    :class:`SelectionError`.
    """
    if not name.strip():
        raise UsageError("an empty command name was given", "name a command, e.g. python or pip")
    env = settings.environ if environ is None else environ
    install = settings.auto_install if auto_install is None else auto_install
    selection = select(settings, cwd, env)
    _explain(report, selection)
    for warning in selection.warnings:
        report.warning(warning)
    if selection.origin.kind == "pyproject":
        hit = _resolve_entries(settings, selection, name, env, install, report, hint_only=True)
        if hit is not None:
            return hit
        hint = selection
        selection = fallback_selection(settings)
        if hint.entries:  # never another interpreter without a word
            then = ("the system interpreter runs instead" if selection.entries
                    else "and the fallback setting is 'error'")
            passed = f"ignoring {hint.skipped}; " if hint.skipped else ""
            report.warning(f"{passed}no installed Python satisfies requires-python "
                           f"{hint.entries[0].text!r} of {hint.origin.path}; {then} "
                           f"({shown_command('pyv', 'install', hint.entries[0].text)} "
                           "installs one)")
            _explain(report, selection)
    hit = _resolve_entries(settings, selection, name, env, install, report)
    if hit is not None:
        return hit
    raise _not_provided(settings, selection, name)


def _resolve_entries(
    settings: Settings, selection: Selection, name: str, environ: Mapping[str, str],
    install: bool, report: Reporter, *, hint_only: bool = False,
) -> Resolution | None:
    """The first entry that provides ``name``. An entry that is not installed is skipped
    (as pyenv does, saying so on ``report``) unless ``install`` installs it; when no later
    entry provides ``name`` either, the first missing one is the error."""
    skipped: list[NotInstalled] = []
    for entry in selection.entries:
        try:
            hit = resolve_entry(settings, entry, name, environ, install=install, report=report)
        except MissingEnvironment:
            raise
        except NotInstalled as exc:
            if hint_only:
                return None
            skipped.append(exc)
            continue
        if hit is not None:
            for missing in skipped:
                report.warning(f"skipping {missing.message}; using {hit.entry.text}")
            report.detail(f"{name} runs {hit.path} (entry {hit.entry.text!r}, set by "
                          f"{hit.entry.where})")
            return hit
    if skipped:
        raise _all_missing(settings, skipped, name)
    return None


def _all_missing(settings: Settings, skipped: list[NotInstalled], name: str) -> NotInstalled:
    """One error naming every missing entry and, as pyenv does, the installed versions
    that have ``name`` (not for ``python``/``python3``: every version has those)."""
    first = skipped[0]
    texts = list(dict.fromkeys(e.message.partition(" (set by")[0] for e in skipped[1:]))
    texts = [t for t in texts if t != first.message.partition(" (set by")[0]]
    # Bounded: a file of a hundred missing lines still makes one short line.
    more = f"; and {len(texts) - 3} more" if len(texts) > 3 else ""
    message = "; ".join([first.message, *(f"{t} either" for t in texts[:3])]) + more
    elsewhere = providers(settings, name) if name not in ("python", "python3") else []
    hint = first.hint
    if elsewhere:
        hint = "; ".join(filter(None, (hint, f"{name} exists in {', '.join(elsewhere)}")))
    return NotInstalled(message, hint) if (message, hint) != (first.message, first.hint) \
        else first


def _explain(report: Reporter, selection: Selection) -> None:
    """``-v``: what the selection holds and where it came from."""
    if report.verbose:
        texts = ", ".join(repr(e.text) for e in selection.entries) or "nothing"
        report.detail(f"selection: {texts} (set by {selection.origin.describe()})")


def _install_hint(name: str) -> str:
    """``python3.10`` comes with Python 3.10; any other command from a package."""
    version = name.removeprefix("python")
    if name.startswith("python") and version.replace(".", "").isdigit() and "." in version:
        return f"install that version with {shown_command('pyv', 'install', version)}"
    # Managed interpreters are externally managed (PEP 668): an environment it is.
    return ("install it into an environment, e.g. `pyv venv && .venv/bin/pip install "
            f"{command_line(name)}`")


def _not_provided(settings: Settings, selection: Selection, name: str) -> PyvError:
    if not selection.entries:
        return CommandNotFound(
            f"no Python version is selected here and the fallback setting is {settings.fallback!r}",
            "pin one with `pyv pin 3.12` (here) or `pyv pin --global 3.12`",
        )
    chosen = ", ".join(e.text for e in selection.entries)
    elsewhere = providers(settings, name)
    hint = (f"it exists in {', '.join(elsewhere)}; select one with `pyv shell` or `pyv pin`"
            if elsewhere
            # Managed interpreters are externally managed (PEP 668): an environment it is.
            else _install_hint(name))
    return CommandNotFound(
        f"{name}: command not found in the selected Python ({chosen}, set by "
        f"{selection.origin.describe()})",
        hint,
    )


def providers(settings: Settings, name: str) -> list[str]:
    """Installed versions and named environments that have ``name`` in their bin/."""
    from pyv.acquire.store import all_installations

    result = [i.key for i in all_installations(settings) if _in_bin(i.bin_dir, name)]
    from pyv.core.locations import named_environments

    envs = [Path(p) for p in named_environments(str(settings.envs_dir))]
    result.extend(f"env {p.name}" for p in envs if _in_bin(p / "bin", name))
    return result


# ----- writing pins --------------------------------------------------------------------
def project_requires_python(cwd: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    """(pyproject.toml, its requires-python) of the project around ``cwd``, if it says one."""
    pyproject = find_pyproject(start_dir(cwd, environ))
    spec = requires_python(pyproject) if pyproject is not None else None
    return (pyproject, spec) if pyproject is not None and spec is not None else None


def contradicts(settings: Settings, request: PythonRequest, spec_text: str) -> str | None:
    """What contradicts ``requires-python`` (the installed version a request selects, or the
    request itself), or None.

    An installed match is judged by its version; otherwise the request contradicts when no
    release it allows (3.0-3.30, patch 0-60) is allowed by ``spec_text``. Names, paths,
    ``system`` and ``any`` are not judged here: what they run is known only when used.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    from pyv.choose.resolve import installed

    if not request.is_download_request or request.specifier is None:
        return None
    try:
        project = SpecifierSet(spec_text)
    except InvalidSpecifier:
        return None
    found = installed(settings, request)
    if found is not None:
        version = Version(found.version_str)
        return None if project.contains(version, prereleases=True) else found.version_str
    wanted = request.specifier
    allowed = [v for minor in range(31) for patch in range(61)
               if wanted.contains(v := Version(f"3.{minor}.{patch}"), prereleases=True)]
    if not allowed or any(project.contains(v, prereleases=True) for v in allowed):
        return None
    return request.raw



def validate_requests(texts: list[str]) -> list[PythonRequest]:
    """Parse what ``pyv pin``/``pyv shell`` were given; names of environments are allowed."""
    from pyv.core.requests import parse_request

    result = []
    for text in texts:
        if not text.strip() or _escapes(text) or any(c.isspace() for c in text.strip()):
            raise UsageError(f"cannot use {text!r} as a version",
                             "give one version, name or path per argument")
        result.append(parse_request(text, allow_names=True))
    return result


def write_version_file(path: Path, texts: list[str], comments: Sequence[str] = ()) -> None:
    """Write one request per line (after ``#`` comment lines), replacing the file
    atomically."""
    from pyv.core.fsutil import atomic_write

    validate_requests(texts)
    atomic_write(path, "".join(f"# {c}\n" for c in comments)
                 + "".join(f"{t.strip()}\n" for t in texts))
