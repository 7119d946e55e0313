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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.choose.pins import (
    Entry,
    Origin,
    SelectionError,
    check_trust,
    contradicts,
    environment_of,
    find_pyproject,
    find_version_file,
    is_python_name,
    parse_entries,
    read_version_file,
    requires_python,
    start_dir,
)
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
from pyv.core.locations import ALIASES
from pyv.core.records import record
from pyv.core.report import SILENT, Reporter

if TYPE_CHECKING:
    from pyv.acquire.store import Installation
    from pyv.core.settings import Settings



#: ``pyv shell`` sets this beside PYV_VERSION, to the same value: an error then says who
#: set PYV_VERSION (a value exported by hand differs from the mark, or has none).
SHELL_MARK = "_PYV_SHELL_VERSION"


class MissingEnvironment(NotInstalled):
    """A project environment a version file names is not there: never skipped for the next
    entry, which would run the project without its packages (a shim exits 127)."""


class CommandNotFound(NotFound):
    """Nothing selected here provides the command (the shim exits 127)."""

    exit_code = ExitCode.SHIM_NOT_INSTALLED


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


# ----- the selection order -------------------------------------------------------------
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
        if is_python_name(name):
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


#: What "the interpreter" of an entry is called, in order: ``python``, else ``python3``
#: (a system Python on Debian and Ubuntu has only ``python3``). For commands that need an
#: interpreter (``pyv run``, ``pyv version``); the ``python`` shim keeps pyenv's rule.
INTERPRETER_NAMES = ("python", "python3")


def entry_python(settings: Settings, entry: Entry,
                 environ: Mapping[str, str]) -> Resolution | None:
    """The interpreter ``entry`` provides (see :data:`INTERPRETER_NAMES`), or None."""
    for name in INTERPRETER_NAMES:
        hit = resolve_entry(settings, entry, name, environ)
        if hit is not None:
            return hit
    return None


def resolve_python(
    settings: Settings,
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    *,
    auto_install: bool | None = None,
    report: Reporter = SILENT,
) -> Resolution:
    """The interpreter selected here (see :data:`INTERPRETER_NAMES`); the error is the one
    about ``python``."""
    first: CommandNotFound | None = None
    for name in INTERPRETER_NAMES:
        try:
            return resolve(settings, cwd, name, environ, auto_install=auto_install,
                           report=report)
        except CommandNotFound as exc:
            first = first or exc
    assert first is not None
    raise first


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

