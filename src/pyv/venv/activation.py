"""Activation scripts (pyv's own templates) and the lines `pyv activate` prints.

Each shell gets the environment path quoted in its own syntax; the templates
live in ``templates/`` beside this module.
"""

from __future__ import annotations

import os

from pyv.core.shells import detect_shell as shell_from_environ
from pyv.core.shells import quote_fish, quote_posix, quote_powershell, shell_name

# Not `typing.TYPE_CHECKING`: this module is on `pyv venv`'s fast path, and importing
# typing costs more than the whole environment takes to write. For the same reason
# pyv.core.errors is imported where an error is raised.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

_TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")

#: Shell name -> (activation script, the command that sources it).
SHELLS: dict[str, tuple[str, str]] = {
    "bash": ("activate", "."),
    "zsh": ("activate", "."),
    "sh": ("activate", "."),
    "dash": ("activate", "."),
    "ksh": ("activate", "."),
    "fish": ("activate.fish", "source"),
    "tcsh": ("activate.csh", "source"),
    "csh": ("activate.csh", "source"),
    "pwsh": ("Activate.ps1", "."),
    "powershell": ("Activate.ps1", "."),
}


def _quoted(text: str) -> str:
    return quote_posix(text, always=True)


#: Script file -> how a string is quoted inside it (always, as the scripts always did).
#: csh quotes like POSIX sh here: the scripts are written for every environment, and a
#: path csh cannot take (a ``!``) must not stop the others from being written.
_QUOTERS = {
    "activate": _quoted,
    "activate.fish": quote_fish,
    "activate.csh": _quoted,
    "Activate.ps1": quote_powershell,
}


def quote_for(shell: str, text: str) -> str:
    script, _ = shell_entry(shell)
    return _QUOTERS[script](text)


def render_scripts(env_dir: str | os.PathLike[str], prompt: str,
                   bin_name: str = "bin") -> dict[str, str]:
    """Every activation script's text for an environment that will live at ``env_dir``."""
    env = os.fspath(env_dir)
    rendered: dict[str, str] = {}
    for script, quote in _QUOTERS.items():
        # Unbuffered bytes: no text layer to set up for a file read whole, once.
        with open(os.path.join(_TEMPLATES, script), "rb", buffering=0) as fh:
            text = fh.readall().decode("utf-8")
        text = (
            text.replace("@@ACTIVATE_PATH@@", os.path.join(env, bin_name, script))
            .replace("@@VIRTUAL_ENV@@", quote(env))
            .replace("@@PROMPT@@", quote(prompt))
            .replace("@@BIN@@", bin_name)
        )
        rendered[script] = text
    return rendered


def shell_entry(shell: str) -> tuple[str, str]:
    try:
        return SHELLS[shell_name(shell)]
    except KeyError:
        from pyv.core.errors import UsageError

        raise UsageError(
            f"unsupported shell {shell!r}", f"use one of {', '.join(sorted(SHELLS))}"
        ) from None


def detect_shell(environ: Mapping[str, str]) -> str:
    """The user's shell from ``$SHELL`` (bash when unknown)."""
    return shell_from_environ(environ, SHELLS, default="bash")


def activation_line(shell: str, env_dir: Path) -> str:
    """The one line that activates ``env_dir`` in ``shell``."""
    script, command = shell_entry(shell)
    return f"{command} {quote_for(shell, str(env_dir / 'bin' / script))}"


def deactivation_line(shell: str) -> str:
    shell_entry(shell)  # validates the name
    return "deactivate"


#: Files whose directory is a project's root: the search for ``.venv`` stops there.
PROJECT_MARKERS = (".python-version", ".python-versions", "pyproject.toml", "setup.py",
                   "setup.cfg", ".git")


def project_environment(cwd: Path) -> Path | None:
    """The project's environment, for ``pyv run`` and ``pyv activate`` alike: the nearest
    ``.venv`` (with a ``pyvenv.cfg``) from ``cwd`` up to the project's root."""
    for directory in (cwd, *cwd.parents):
        candidate = directory / ".venv"
        if (candidate / "pyvenv.cfg").is_file():
            return candidate
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return None
    return None


def find_environment(envs_dir: Path, cwd: Path, target: str | None) -> Path:
    """The environment ``pyv activate [NAME|PATH]`` means.

    A path (with a separator, ``.``/``~``) is taken as one; a bare word is a named
    environment first, then a directory of that name here; no argument takes the
    project's ``.venv``, as ``pyv run`` does (:func:`project_environment`).
    """
    from pyv.core.errors import NotFound

    if target is None:
        found = project_environment(cwd)
        if found is not None:
            return found
        raise NotFound(
            f"no .venv in {cwd} or its parents up to the project's root",
            "create one with `pyv venv`, or name an environment: `pyv activate NAME`",
        )
    from pathlib import Path

    looks_like_path = "/" in target or target.startswith((".", "~"))
    if not looks_like_path:
        named = envs_dir / target
        if (named / "pyvenv.cfg").is_file():
            return named
    path = Path(os.path.abspath(cwd / os.path.expanduser(target)))
    if (path / "pyvenv.cfg").is_file():
        return path
    if looks_like_path:
        raise NotFound(f"{path} is not a virtual environment (no pyvenv.cfg)",
                       "create it with `pyv venv PATH`")
    raise NotFound(f"no environment named {target!r}",
                   "see `pyv envs` for the named ones, or pass a path")
