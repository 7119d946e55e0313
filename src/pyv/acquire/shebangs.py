"""Relocatable launchers for the Python scripts an installation ships.

python-build-standalone changed over the years how ``pip3``, ``pydoc3``,
``idle3``, ``2to3`` and ``python-config.py`` find their interpreter:

- before 2021-06-19: an absolute shebang naming the build machine's prefix
  (``#!/install/bin/python3.9``, ``#!/build/out/python/install/bin/python3``),
  which exists nowhere else;
- from 2021-06-19 (``bin/`` only; every file from 2023-01-14) a ``/bin/sh``
  trampoline ``"exec" "$(dirname $0)/python3.X" "$0" "$@"``, whose unquoted
  ``$0`` splits a path holding a space;
- from 2024-12-03 the sh/Python polyglot this module writes, which resolves
  the script's real directory and survives spaces and moved installations.

:func:`relocate_scripts` rewrites the first two kinds into the third, and the
third too where it names no file: the build gave every file the launcher of a
script in ``bin/``, so ``config-3.X-*/python-config.py`` could never run.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

__all__ = ["launcher_lines", "relocate_scripts", "script_kind"]

#: The last path component of a shebang that starts a Python interpreter.
_PYTHON_NAME_RE = re.compile(rb"^(?:python|pypy)\d*(?:\.\d+)?[td]*$")
#: The pre-2024-12-03 trampoline (second line of the script).
_OLD_TRAMPOLINE_RE = re.compile(rb'^"exec" "\$\(dirname \$0\)/[^"]*" "\$0" "\$@"\r?\n?$')
#: The relocatable launcher's second line (group 1: its target) and its third.
_LAUNCHER_RE = re.compile(
    rb"^'''exec' \"\$\(dirname -- \"\$\(realpath -- \"\$0\"\)\"\)/([^\"]*)\" \"\$0\" \"\$@\"$"
)
_LAUNCHER_END = b"' '''"
_READ = 512  # bytes enough for a shebang and a trampoline line
#: How many leading lines each kind of launcher takes (all replaced by the new one).
_HEAD_LINES = {"absolute": 1, "trampoline": 2, "misdirected": 3}


def launcher_lines(interpreter: str) -> bytes:
    """The two launcher lines (after ``#!/bin/sh``) that run ``interpreter``.

    ``interpreter`` is relative to the script's own directory. To sh the first
    line execs the interpreter found next to the script's resolved path; to
    Python both lines are one string expression, so the rest of the file runs.
    """
    return (
        b"'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/"
        + os.fsencode(interpreter)
        + b'" "$0" "$@"\n'
        + b"' '''\n"
    )


def script_kind(head: bytes, inside: tuple[str, ...] = ()) -> str | None:
    """Classify a file by its first bytes: ``"absolute"``, ``"trampoline"`` or None.

    ``"absolute"``: the shebang names a Python interpreter by an absolute path
    that is not below any of ``inside``. ``"trampoline"``: the space-unsafe
    ``"exec"`` trampoline. None: anything else (not a script, ``/bin/sh``,
    ``/usr/bin/env python3``, the relocatable launcher).
    """
    if not head.startswith(b"#!"):
        return None
    lines = head.split(b"\n", 2)
    words = lines[0][2:].split()
    if not words:
        return None
    program = words[0]
    if program.startswith(b"/") and _PYTHON_NAME_RE.match(os.path.basename(program)):
        path = os.fsdecode(program)
        if not any(path == d or path.startswith(d.rstrip("/") + "/") for d in inside):
            return "absolute"
        return None
    is_sh = program in (b"/bin/sh", b"/usr/bin/sh")
    if is_sh and len(lines) > 1 and _OLD_TRAMPOLINE_RE.match(lines[1] + b"\n"):
        return "trampoline"
    return None


def relocate_scripts(tree: Path, interpreter: Path, scripts: list[Path],
                     inside: tuple[str, ...] = ()) -> list[Path]:
    """Give each of ``scripts`` (files in ``tree``) the relocatable launcher.

    ``interpreter`` is the installation's interpreter relative to ``tree``;
    ``inside`` holds the prefixes an absolute shebang may keep (the tree's
    own paths). Symlinks and files that need nothing are left alone. Returns
    the rewritten files.
    """
    target = tree / interpreter
    changed = []
    for path in scripts:
        try:
            if not stat.S_ISREG(path.lstat().st_mode):
                continue
        except FileNotFoundError:
            continue
        with open(path, "rb") as fh:
            head = fh.read(_READ)
        kind = script_kind(head, inside) or _misdirected(head, path)
        if kind is None:
            continue
        lines = _HEAD_LINES[kind]
        parts = path.read_bytes().split(b"\n", lines)
        rest = parts[lines] if len(parts) > lines else b""
        rel = os.path.relpath(target, path.parent)
        # Writing in place keeps the file's mode (and any hard link to it).
        with open(path, "r+b") as fh:
            fh.write(b"#!/bin/sh\n" + launcher_lines(rel) + rest)
            fh.truncate()
        changed.append(path)
    return changed


def _misdirected(head: bytes, path: Path) -> str | None:
    """``"misdirected"`` if ``head`` is the relocatable launcher naming no file near ``path``."""
    lines = head.split(b"\n", 3)
    if len(lines) < 4 or lines[0] != b"#!/bin/sh" or lines[2] != _LAUNCHER_END:
        return None
    match = _LAUNCHER_RE.match(lines[1])
    if match is None:
        return None
    target = path.resolve().parent / os.fsdecode(match.group(1))
    return None if os.path.exists(target) else "misdirected"
