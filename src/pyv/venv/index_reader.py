"""The shims' index as pyv's fast paths read it: plain strings and ``os.path`` only.

:mod:`pyv.choose.shims` writes ``$PYV_HOME/index/`` (:func:`pyv.choose.shims.rehash`); the shims
read it in ``sh``, and ``pyv venv``, ``pyv find`` and ``pyv list`` read it here
before they load the full command line. Every reader answers ``None`` (or
``False``) when the index cannot tell, and its caller then takes the full path.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from collections.abc import Mapping

#: The characters of the spellings :func:`pyv.choose.shims.rehash` writes as file names (its
#: ``_SAFE_NAME``); any other text is not looked up (no path can leave the index).
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+")
_NAME_CHARS = _NAME_START | frozenset(".@-")
#: As :data:`pyv.choose.shims.INPUTS` and :data:`pyv.choose.shims.INSTALLED` (a test keeps them equal).
INPUTS = ".inputs"
INSTALLED = ".installed"


def safe_name(text: str) -> bool:
    return bool(text) and text[0] in _NAME_START and all(c in _NAME_CHARS for c in text)


def _lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read(1 << 16)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    # Lines end in "\n" only (str.splitlines would also split a path at "\x1c" or "\x85").
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_index(home: str, text: str) -> dict[str, str] | None:
    """The facts ``pyv rehash`` wrote for a request spelling (see :func:`pyv.choose.shims.entry_text`):
    ``root`` and ``name=value`` lines; ``None`` when the spelling is not indexed."""
    if not safe_name(text):
        return None
    lines = _lines(os.path.join(home, "index", text))
    if not lines or not lines[0]:
        return None
    facts = {"root": os.path.join(home, lines[0])}
    for line in lines[1:]:
        name, sep, value = line.partition("=")
        if sep:
            facts[name] = value
    return facts


def index_current(home: str, environ: Mapping[str, str]) -> bool:
    """Whether ``index/.inputs`` (the variables rehash says the index depends on, with the
    values it used) matches this environment."""
    lines = _lines(os.path.join(home, "index", INPUTS))
    if lines is None:
        return False
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep or environ.get(name, "") != value:
            return False
    return True


def installed(home: str) -> tuple[str, dict[str, tuple[str, str]]] | None:
    """(the user's store, {key: (os-arch, the interpreter in the installation's own
    directory)}) as ``index/.installed`` lists them (:func:`pyv.choose.shims.installed_text`), paths
    absolute; ``None`` when the file is missing or malformed."""
    lines = _lines(os.path.join(home, "index", INSTALLED))
    if not lines or not lines[0]:
        return None
    found: dict[str, tuple[str, str]] = {}
    for line in lines[1:]:
        fields = line.split("\t", 2)
        if len(fields) != 3 or not safe_name(fields[0]) or not fields[2] or fields[0] in found:
            return None
        found[fields[0]] = (fields[1], os.path.join(home, fields[2]))
    return os.path.join(home, lines[0]), found


def store_matches(store: str, installs: dict[str, tuple[str, str]]) -> bool:
    """Whether ``store`` holds exactly the installation directories ``installs`` names, as
    :meth:`pyv.acquire.store.Store.installations` walks it (dot-names and minor links skipped),
    each with its interpreter in place: then no install or removal happened since the
    index was written, or the rehash that wrote it saw it."""
    names = set()
    try:
        with os.scandir(store) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.is_symlink() or not entry.is_dir():
                    continue
                names.add(entry.name)
    except OSError:
        return not installs and not os.path.lexists(store)
    return names == set(installs) and all(
        os.access(executable, os.X_OK) for _, executable in installs.values())
