"""Shells: which one ``$SHELL`` names, and how each one quotes a string.

The shell integration (``pyv init``, ``pyv shell``) and the activation scripts of
environments both quote paths here. Plain ``os.path`` only: ``pyv venv``'s fast
path writes activation scripts and must not pay for ``shlex``, ``re`` or typing.
"""

from __future__ import annotations

import os

from pyv.core.errors import UsageError

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

#: What POSIX sh takes unquoted (``shlex.quote``'s set): ASCII word characters and @%+=:,./-
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def quote_posix(text: str, *, always: bool = False) -> str:
    """``text`` as one word for sh, bash, zsh, dash and ksh (quoted only when needed,
    unless ``always``). csh reads such a word alike, but for ``!`` (see :func:`quote_csh`)."""
    if not always and text and all(c in _PLAIN for c in text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def quote_fish(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_csh(text: str) -> str:
    """``text`` as one word for csh/tcsh, which expand ``!`` and end at newlines even in
    quotes: such a text is refused."""
    if "!" in text or "\n" in text:
        raise UsageError(f"cannot use the path {text!r} in csh", "avoid '!' and newlines in it")
    return "'" + text.replace("'", "'\\''") + "'"


def quote_powershell(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def shell_name(shell: str) -> str:
    """``bash`` for ``/bin/bash``, ``-bash`` (a login shell) and ``bash.exe``."""
    name = os.path.basename(shell.strip()).lower().lstrip("-")
    return name[:-4] if name.endswith(".exe") else name


def detect_shell(environ: Mapping[str, str], known: Collection[str],
                 default: str | None = None) -> str:
    """The shell ``$SHELL`` names if it is one of ``known``; else ``default``, and without a
    default, a usage error that asks the user to name one."""
    shell = environ.get("SHELL", "")
    name = shell_name(shell)
    if name in known:
        return name
    if default is not None:
        return default
    choices = ", ".join(known)
    if not shell.strip():
        raise UsageError("cannot tell which shell you use ($SHELL is not set)",
                         f"name it as an argument (one of {choices})")
    raise UsageError(f"unsupported shell {name!r}", f"use one of: {choices}")
