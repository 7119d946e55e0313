"""``pyv run``: a command with this directory's interpreter, inside the project's environment.

What runs is decided by :func:`pyv.choose.selection.resolve` (or, for ``-p``, by
:func:`pyv.choose.resolve.find_or_install`); this module only finds the project's
``.venv``, refuses one made from another interpreter, and execs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.choose.resolve import Found
from pyv.cli.base import Command, Context
from pyv.core.errors import ExitCode, NotFound, PyvError, shown_command
from pyv.core.records import replace

if TYPE_CHECKING:
    from pyv.choose.selection import Resolution

class StaleEnvironment(PyvError):
    """The project's ``.venv`` was made from an interpreter the selection no longer names."""

    exit_code = ExitCode.NOT_FOUND


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_environment(env: Path, chosen: Found, recreate: str) -> None:
    """Raise :class:`StaleEnvironment` (hinting ``recreate``, a shown command) unless ``env``
    was made from ``chosen``'s minor and its base interpreter is still there."""
    from pyv.venv.registry import read_pyvenv_cfg

    cfg = read_pyvenv_cfg(env)
    # `python -m venv` and pyv write `version`, uv and virtualenv `version_info`.
    made_from = cfg.get("version") or cfg.get("version_info") or ""
    home = cfg.get("home", "")
    if (home and not Path(home).is_dir()) or not (env / "bin" / "python").exists():
        raise StaleEnvironment(
            f"{env} was made from Python {made_from or '?'} at {home or '?'}, which is no "
            "longer there", f"recreate it with {recreate}")
    if chosen.version and made_from and _minor(made_from) != _minor(chosen.version):
        raise StaleEnvironment(
            f"{env} was made from Python {made_from}, but Python {chosen.version} is selected "
            f"(set by {chosen.where})", f"recreate it with {recreate}")


def _version_of(executable: Path) -> str:
    """An unmanaged interpreter's version: from its name, else asked once."""
    from pyv.choose.discovery import describe

    found = describe(executable)
    if found is None or found.version is None:
        found = describe(executable, exact=True)
    return str(found.version) if found is not None and found.version is not None else ""


class RunCommand(Command):
    """Run COMMAND with the interpreter selected here (or -p), inside the project's .venv.

    The nearest .venv up to the project's root (whoever made it) is used as activation
    would: its bin/ first on PATH and VIRTUAL_ENV set. A missing interpreter is installed
    with --install (or auto_install); a .venv made from another interpreter is refused.
    The exit status is COMMAND's.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("-p", "--python", default=None, metavar="REQUEST",
                            help="the interpreter to use instead of this directory's selection")
        parser.add_argument("--install", action=argparse.BooleanOptionalAction, default=None,
                            help="install a missing interpreter first (default: auto_install)")
        parser.add_argument("command", metavar="COMMAND")
        parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        install = ctx.settings.auto_install if args.install is None else bool(args.install)
        from pyv.venv.activation import project_environment

        env = project_environment(ctx.cwd)
        chosen = self._choose(args.python, install, env, ctx)
        if chosen is not None and chosen.env_dir is not None:
            env = chosen.env_dir
        elif env is not None and chosen is not None:
            again = ["pyv", "venv", "--clear"]
            if args.python is not None:
                again += ["-p", args.python]
            if env.parent != ctx.cwd:
                again.append(str(env))
            check_environment(env, chosen, shown_command(*again))
        environ = dict(ctx.environ)
        if env is not None:
            bin_dir = env / "bin"
            environ["VIRTUAL_ENV"] = str(env)
            environ.pop("PYTHONHOME", None)  # as `activate` does
        else:
            assert chosen is not None
            bin_dir = chosen.executable.parent
        environ["PATH"] = os.pathsep.join([str(bin_dir), environ.get("PATH", os.defpath)])
        argv = [args.command, *args.args]
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execvpe(argv[0], argv, environ)
        except OSError as exc:
            raise NotFound(f"cannot run {argv[0]}: {exc.strerror}",
                           f"check that {argv[0]} is installed in {bin_dir} or on PATH",
                           exit_code=ExitCode.SHIM_NOT_INSTALLED) from None

    def _choose(self, text: str | None, install: bool, env: Path | None,
                ctx: Context) -> Found | None:
        """The interpreter for ``-p`` or this directory, its version filled in when it can be
        known; None when nothing is selected and the project's environment is the only
        choice. ``env_dir`` is set when the choice itself is an environment."""
        if text is not None:
            from pyv.choose.resolve import find_or_install
            from pyv.core.requests import parse_request

            found = find_or_install(ctx.settings, parse_request(text, allow_names=True),
                                    text=text, where="-p", install=install,
                                    report=ctx.report, cwd=ctx.cwd)
            if found.env_dir is None and not found.version:
                found = replace(found, version=_version_of(found.executable))
            return found
        from pyv.choose.selection import resolve_python, select

        if env is not None and select(ctx.settings, ctx.cwd, ctx.environ).origin.kind in (
                "fallback", "pyproject"):
            return None  # no pin: the project's environment is what this directory uses
        return _found_of(resolve_python(ctx.settings, ctx.cwd, ctx.environ,
                                        auto_install=install, report=ctx.report))


def _found_of(hit: Resolution) -> Found:
    """The selection's answer for ``python`` as a :class:`Found`, its version filled in."""
    if hit.installation is not None:
        return Found(hit.path, "managed", hit.entry.where, installation=hit.installation,
                     version=hit.installation.version_str)
    if hit.env_dir is not None:
        return Found(hit.path, "environment", hit.entry.where, env_dir=hit.env_dir)
    kind = hit.entry.request.kind  # the rest came from PATH, a path, or (opted in) elsewhere
    source = kind if kind in ("system", "path") else "external"
    return Found(hit.path, source, hit.entry.where, version=_version_of(hit.path))
