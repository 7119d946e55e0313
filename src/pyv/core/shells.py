"""Shells: which one ``$SHELL`` names, and how each one quotes a string.

The shell integration (``pyv init``, ``pyv shell``) and the activation scripts of
environments both quote paths here. Plain ``os.path`` only: ``pyv venv``'s fast
path writes activation scripts and must not pay for ``shlex``, ``re``, typing or
pyv.core.errors (imported where an error is raised).
"""

from __future__ import annotations

import os

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
        from pyv.core.errors import UsageError  # where it is raised: see the module's docstring

        raise UsageError(f"cannot use the path {text!r} in csh", "avoid '!' and newlines in it")
    return "'" + text.replace("'", "'\\''") + "'"


def quote_powershell(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: Shells that read POSIX sh code: ``pyv init`` gives them the ``sh`` integration.
POSIX_FAMILY = frozenset({"sh", "dash", "ash", "ksh", "ksh93", "mksh", "pdksh", "oksh",
                          "loksh", "yash", "posh", "busybox"})

#: Set by the shell integration's ``pyv`` function (``pyv init``) on the one pyv process it
#: runs, to the shell's name: how ``pyv doctor`` knows it was typed in an integrated shell.
#: pyv takes it out of its own environment at start, so no child of pyv inherits it.
SHELL_FUNCTION_MARK = "PYV_SHELL_INTEGRATION"

#: How each shell ``pyv init`` knows loads the integration, and the startup file it goes in.
_LOAD_LINES = {
    "bash": ('eval "$(pyv init bash)"', "~/.bashrc"),
    "zsh": ('eval "$(pyv init zsh)"', "~/.zshrc (after compinit)"),
    "fish": ("pyv init fish | source", "~/.config/fish/config.fish"),
    "tcsh": ('eval "`pyv init tcsh`"', "~/.tcshrc (csh: ~/.cshrc)"),
    "sh": ('eval "$(pyv init sh)"', "~/.profile (ksh, mksh: the file $ENV names)"),
}


def load_line(shell: str) -> tuple[str, str]:
    """The line that loads the integration in ``shell``, and the startup file it goes in."""
    return _LOAD_LINES[shell]


def load_hint(shell: str) -> str:
    """Where and how to load the integration: "add `LINE` to FILE"."""
    line, where = load_line(shell)
    return f"add `{line}` to {where}"


def load_lines(indent: str = "  ") -> str:
    """Every shell's line, one a line, for help texts."""
    return "\n".join(f"{indent}{shell + ':':7}{line:27}in {where}"
                     for shell, (line, where) in _LOAD_LINES.items())


def shell_name(shell: str) -> str:
    """``bash`` for ``/bin/bash``, ``-bash`` (a login shell) and ``bash.exe``."""
    name = os.path.basename(shell.strip()).lower().lstrip("-")
    return name[:-4] if name.endswith(".exe") else name


def parent_process_name() -> str | None:
    """The name of the process that started this one (the shell pyv was typed in, when it
    was), from /proc; None where there is no /proc."""
    try:
        with open(f"/proc/{os.getppid()}/comm", encoding="utf-8", errors="replace") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


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
    from pyv.core.errors import UsageError

    choices = ", ".join(known)
    if not shell.strip():
        raise UsageError("cannot tell which shell you use ($SHELL is not set)",
                         f"name it as an argument (one of {choices})")
    raise UsageError(f"unsupported shell {name!r}", f"use one of: {choices}")
