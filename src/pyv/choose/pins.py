"""Version files and pins: what a ``.python-version`` line means (pyenv's and uv's forms),
the entries a file holds, whether its in-tree paths are trusted, the project environments
it names, ``requires-python``, and writing pins.

:mod:`pyv.choose.selection` decides which file (or variable) applies and what runs; this
module is what it reads. ``shims/shim.sh`` reads the same files through the index that
``pyv rehash`` writes, never restating these rules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import (
    ExitCode,
    InvalidRequest,
    PyvError,
    UsageError,
    shown_command,
)
from pyv.core.fsutil import nearest_existing_dir
from pyv.core.locations import VERSION_FILES
from pyv.core.records import record
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
    from pyv.core.requests import PythonRequest
    from pyv.core.settings import Settings

#: Characters that make an entry a glob; such entries are ignored (never expanded).
_GLOB_CHARS = frozenset("*?[")


class SelectionError(PyvError):
    """A version file or ``PYV_VERSION`` that cannot be used as written."""

    exit_code = ExitCode.CONFIG


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
    return None if os.path.lexists(path) or is_python_name(path.name) else path


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


def is_python_name(name: str) -> bool:
    from pyv.choose.discovery import _INTERPRETER_RE

    return _INTERPRETER_RE.match(name) is not None


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
