"""``pyv pin`` (with ``--venv`` and the requires-python check) and ``pyv trust``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.cli.base import Command, Context, add_json_flag
from pyv.core.errors import (
    ExitCode,
    NotFound,
    PyvError,
    UsageError,
    shown_command,
)

if TYPE_CHECKING:
    from pyv.core.requests import PythonRequest

def _pin_target(ctx: Context, is_global: bool) -> Path:
    return ctx.settings.global_version_file if is_global else ctx.cwd / ".python-version"


def _missing_pin_warning(ctx: Context, text: str, request: PythonRequest) -> str:
    """Say how to get a pinned version that is not installed, if any build has it."""
    from pyv.acquire.catalog import best_download, load_catalog
    from pyv.core.platform import current_host

    try:
        best_download(load_catalog(ctx.settings), request, current_host(),
                      arch_variant=ctx.settings.arch_variant)
    except PyvError as exc:
        return f"Python {text} is not installed, and {exc.message}"
    return f"Python {text} is not installed; run {shown_command('pyv', 'install', text)}"


def _resolved(ctx: Context, text: str, request: PythonRequest) -> str:
    """``pyv pin --resolved``: the exact version (with its variant) a request selects now."""
    from pyv.choose.resolve import installed

    if not request.is_download_request:
        return text  # a name, path or system is what it says
    found = installed(ctx.settings, request)
    if found is None:
        raise NotFound(f"Python {text} is not installed, so it resolves to no exact version",
                       f"install it first ({shown_command('pyv', 'install', text)}), or pin "
                       "without --resolved")
    from pyv.core.requests import request_text

    return request_text(found.implementation, found.version_str, found.variant)


def _requires_python_check(ctx: Context, args: argparse.Namespace,
                           requests: list[PythonRequest]) -> list[str]:
    """Refuse a pin the project's requires-python excludes (as uv); with --force, the
    comment that records it in the file."""
    from pyv.choose import pins

    project = pins.project_requires_python(ctx.cwd, ctx.environ)
    if project is None:
        return []
    pyproject, spec = project
    for text, request in zip(args.requests, requests):
        bad = pins.contradicts(ctx.settings, request, spec)
        if bad is None:
            continue
        if not args.force:
            raise UsageError(
                f"{text} ({bad}) is outside requires-python {spec!r} of {pyproject}",
                "pin a version it allows, or pass --force to pin it anyway",
            )
        ctx.warn(f"pinning {text} against requires-python {spec!r} of {pyproject} (--force)")
        return [f"pinned with --force against requires-python {spec!r}"]
    return []


#: The entry ``pyv pin --venv`` writes: the environment beside the version file.
VENV_ENTRY = ".venv"


def _venv_companions(ctx: Context, given: list[str]) -> list[str]:
    """What follows ``.venv`` in the file (the interpreter ``pyv venv`` recreates it from):
    the requests given, else the current pin here, else the environment's own minor."""
    from pyv.choose import pins

    if given:
        return given
    env = ctx.cwd / VENV_ENTRY
    current = _pin_target(ctx, False)
    if current.is_file():
        try:
            found = pins.read_version_file(current)
        except PyvError:
            found = None
        kept = [e.text for e in found.entries if pins.environment_of(e) != env] \
            if found is not None else []
        if kept:
            return kept
    from pyv.venv.registry import read_pyvenv_cfg

    cfg = read_pyvenv_cfg(env)
    parts = (cfg.get("version") or cfg.get("version_info") or "").split(".")
    return [".".join(parts[:2])] if len(parts) >= 2 and all(
        p.isdigit() for p in parts[:2]) else []


def _check_venv_entry(ctx: Context) -> None:
    """Refuse a ``.venv`` the version file could not name (a link out of this directory)."""
    from pyv.choose import pins

    target = _pin_target(ctx, False)
    entries, warnings = pins.parse_entries(f"{VENV_ENTRY}\n".encode(),
                                                pins.Origin("file", target))
    if not entries:  # why, in the words of the rule that dropped it
        raise UsageError(f"cannot pin {ctx.cwd / VENV_ENTRY}: "
                         + warnings[0].split(": ", 1)[-1].removeprefix("ignoring '.venv' ")
                         .strip("()"),
                         f"make the project's environment in {ctx.cwd} itself "
                         "(`pyv venv --clear`)")


class PinCommand(Command):
    """Write the Python version for this directory into ./.python-version.

    Several requests make a fallback chain: `pyv pin 3.12 3.11` runs 3.12 as `python`
    and 3.11 as `python3.11`. With no request, print the current pin. `--venv` makes
    the shims run ./.venv here (its python, pip and console scripts).
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("requests", nargs="*", metavar="REQUEST",
                            help="a version (3.12), variant (3.13t), implementation (pypy3.10), "
                                 "environment name, system, or a path to an interpreter")
        parser.add_argument("--global", dest="is_global", action="store_true",
                            help="pin the global default ($PYV_HOME/version) instead")
        parser.add_argument("--rm", action="store_true", help="remove the pin")
        parser.add_argument("--resolved", action="store_true",
                            help="write the exact installed version each request selects now")
        parser.add_argument("--force", action="store_true",
                            help="pin even against the project's requires-python (the file "
                                 "records it in a comment)")
        parser.add_argument("--venv", action="store_true",
                            help="make python, pip and the console scripts run from ./.venv "
                                 "here: writes .venv first, then the requests (default: the "
                                 "current pin, else the environment's minor), and trusts it")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose import pins

        target = _pin_target(ctx, args.is_global)
        if args.venv:
            if args.is_global or args.rm:
                raise UsageError("--venv pins this directory's own environment",
                                 "run `pyv pin --venv` without --global or --rm")
            _check_venv_entry(ctx)
            args.requests = _venv_companions(ctx, args.requests)
        if args.rm:
            if args.requests:
                raise UsageError("--rm takes no request", "run `pyv pin --rm` alone")
            try:
                target.unlink()
            except FileNotFoundError:
                raise NotFound(f"there is no pin to remove ({target} does not exist)") from None
            except OSError as exc:
                from pyv.core.errors import from_os_error

                raise from_os_error(exc, f"removing {target}") from None
            ctx.info(f"removed {target}")
            return ExitCode.OK
        if not args.requests and not args.venv:
            return self._show(args, ctx)
        requests = pins.validate_requests(args.requests)
        from pyv.choose.resolve import installed

        if args.resolved:
            args.requests = [_resolved(ctx, t, r) for t, r in zip(args.requests, requests)]
            requests = pins.validate_requests(args.requests)
        comments = [] if args.is_global else _requires_python_check(ctx, args, requests)
        written = [VENV_ENTRY, *args.requests] if args.venv else args.requests
        pins.write_version_file(target, written, comments)
        if args.venv:  # the user chose this environment here: the shims may run it
            pins.trust_file(ctx.settings, pins.read_version_file(target))

        for text, request in zip(args.requests, requests):
            missing = installed(ctx.settings, request) is None
            if request.is_download_request and missing:
                ctx.warn(_missing_pin_warning(ctx, text, request))
            elif request.kind == "name" and not (ctx.settings.envs_dir / text).is_dir():
                ctx.warn(f"there is no environment named {text!r} yet; "
                         f"create it with {shown_command('pyv', 'venv', '--name', text)}")
        if args.json:
            ctx.emit_json({"path": str(target), "requests": written,
                           "environment": str(ctx.cwd / VENV_ENTRY) if args.venv else None})
        else:
            ctx.info(f"pinned {', '.join(written)} in {target}")
            if args.venv and (ctx.cwd / VENV_ENTRY / "pyvenv.cfg").is_file():
                ctx.info(f"python, pip and the commands of {ctx.cwd / VENV_ENTRY} run from it "
                         "here (`pyv pin VERSION` or `pyv trust --revoke` undoes it)")
        if args.venv and not (ctx.cwd / VENV_ENTRY / "pyvenv.cfg").is_file():
            ctx.warn(f"there is no environment at {ctx.cwd / VENV_ENTRY} yet; create it with "
                     "`pyv venv`")
        return ExitCode.OK

    def _show(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose import pins

        if args.is_global:
            path: Path | None = ctx.settings.global_version_file
            if path is not None and not path.is_file():
                path = None
        else:
            path = pins.find_version_file(pins.start_dir(ctx.cwd, ctx.environ))
        if path is None and args.is_global and ctx.settings.fallback == "system":
            # As pyenv: no global pin means the system interpreter (the fallback setting).
            if args.json:
                ctx.emit_json({"path": None, "requests": ["system"], "fallback": True})
            else:
                ctx.out("system")
                ctx.info("(no global pin: the fallback setting)")
            return ExitCode.OK
        if path is None:
            where = "globally" if args.is_global else f"in {ctx.cwd} or above"
            raise NotFound(f"no version is pinned {where}",
                           "pin one with " + shown_command(
                               "pyv", "pin", *(["--global"] if args.is_global else []), "3.12"))
        found = pins.read_version_file(path, "global" if args.is_global else "file")
        for warning in found.warnings:
            ctx.warn(warning)
        texts = [e.text for e in found.entries]
        if args.json:
            ctx.emit_json({"path": str(path), "requests": texts})
            return ExitCode.OK
        for text in texts:
            ctx.out(text)
        ctx.info(f"(from {path})")
        return ExitCode.OK


class TrustCommand(Command):
    """Allow the version file in DIR (default: the nearest one) to run programs from its
    own tree (path entries such as ./tools/python); `--revoke` withdraws it.

    The file's current content is recorded: any change to it needs `pyv trust` again.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", nargs="?", metavar="DIR",
                            help="a directory holding .python-version, or the file itself")
        parser.add_argument("--revoke", action="store_true", help="withdraw the trust")

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose import pins

        path = _trust_target(ctx, args.path)
        if args.revoke:
            pins.distrust_file(ctx.settings, path)
            ctx.info(f"{path} is no longer trusted")
            return ExitCode.OK
        pins.trust_file(ctx.settings, pins.read_version_file(path))
        ctx.info(f"trusted {path} as it is now (`pyv trust --revoke` withdraws it)")
        return ExitCode.OK


def _trust_target(ctx: Context, given: str | None) -> Path:
    from pyv.choose import pins
    from pyv.core.locations import VERSION_FILES

    if given is None:
        found = pins.find_version_file(pins.start_dir(ctx.cwd, ctx.environ))
        if found is None:
            raise NotFound(f"no .python-version in {ctx.cwd} or above", "name the directory")
        return found
    path = Path(os.path.abspath(ctx.cwd / os.path.expanduser(given)))
    if path.is_dir():
        for name in VERSION_FILES:
            if (path / name).is_file():
                return path / name
        raise NotFound(f"no .python-version in {path}", "name the directory that holds it")
    if not path.is_file():
        raise NotFound(f"{path} does not exist", "name a directory holding .python-version")
    return path
