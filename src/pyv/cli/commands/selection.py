"""``pyv pin``, ``version``, ``which``, ``exec``, ``shell``, ``rehash``, ``init`` and ``_shim``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyv.cli.base import Command, Context, add_json_flag, needs_integration
from pyv.core.errors import (
    ExitCode,
    NotFound,
    PyvError,
    UsageError,
    command_line,
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
    suffix = ("t" if found.freethreaded else "") + ("d" if found.debug else "")
    prefix = "" if found.implementation == "cpython" else f"{found.implementation}@"
    return f"{prefix}{found.version_str}{suffix}"


def _requires_python_check(ctx: Context, args: argparse.Namespace,
                           requests: list[PythonRequest]) -> list[str]:
    """Refuse a pin the project's requires-python excludes (as uv); with --force, the
    comment that records it in the file."""
    from pyv.choose import selection

    project = selection.project_requires_python(ctx.cwd, ctx.environ)
    if project is None:
        return []
    pyproject, spec = project
    for text, request in zip(args.requests, requests):
        bad = selection.contradicts(ctx.settings, request, spec)
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
    from pyv.choose import selection

    if given:
        return given
    env = ctx.cwd / VENV_ENTRY
    current = _pin_target(ctx, False)
    if current.is_file():
        try:
            found = selection.read_version_file(current)
        except PyvError:
            found = None
        kept = [e.text for e in found.entries if selection.environment_of(e) != env] \
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
    from pyv.choose import selection

    target = _pin_target(ctx, False)
    entries, warnings = selection.parse_entries(f"{VENV_ENTRY}\n".encode(),
                                                selection.Origin("file", target))
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
        from pyv.choose import selection

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
        requests = selection.validate_requests(args.requests)
        from pyv.choose.resolve import installed

        if args.resolved:
            args.requests = [_resolved(ctx, t, r) for t, r in zip(args.requests, requests)]
            requests = selection.validate_requests(args.requests)
        comments = [] if args.is_global else _requires_python_check(ctx, args, requests)
        written = [VENV_ENTRY, *args.requests] if args.venv else args.requests
        selection.write_version_file(target, written, comments)
        if args.venv:  # the user chose this environment here: the shims may run it
            selection.trust_file(ctx.settings, selection.read_version_file(target))

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
        from pyv.choose import selection

        if args.is_global:
            path: Path | None = ctx.settings.global_version_file
            if path is not None and not path.is_file():
                path = None
        else:
            path = selection.find_version_file(selection.start_dir(ctx.cwd, ctx.environ))
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
        found = selection.read_version_file(path, "global" if args.is_global else "file")
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
        from pyv.choose import selection

        path = _trust_target(ctx, args.path)
        if args.revoke:
            selection.distrust_file(ctx.settings, path)
            ctx.info(f"{path} is no longer trusted")
            return ExitCode.OK
        selection.trust_file(ctx.settings, selection.read_version_file(path))
        ctx.info(f"trusted {path} as it is now (`pyv trust --revoke` withdraws it)")
        return ExitCode.OK


def _trust_target(ctx: Context, given: str | None) -> Path:
    from pyv.choose import selection
    from pyv.core.locations import VERSION_FILES

    if given is None:
        found = selection.find_version_file(selection.start_dir(ctx.cwd, ctx.environ))
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


class VersionCommand(Command):
    """Show the selected interpreter(s), their versions, and where the selection comes from."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose import selection

        sel = selection.select(ctx.settings, ctx.cwd, ctx.environ)
        rows = [_describe_entry(ctx, e) for e in sel.entries]
        note = f"ignoring {sel.skipped}" if sel.skipped else None
        if sel.origin.kind == "pyproject" and not any(r["status"] == "ok" for r in rows):
            note = "; ".join(filter(None, (
                note, "no installed Python satisfies requires-python; the fallback applies")))
            fallback = selection.fallback_selection(ctx.settings)
            rows += [_describe_entry(ctx, e) for e in fallback.entries]
        usable = any(r["status"] == "ok" for r in rows)
        if args.json:
            ctx.emit_json({
                "origin": {"kind": sel.origin.kind,
                           "path": str(sel.origin.path) if sel.origin.path else None,
                           "description": sel.origin.describe()},
                "entries": rows, "warnings": list(sel.warnings), "note": note,
            })
        else:
            for warning in sel.warnings:
                ctx.warn(warning)
            if not rows:
                ctx.out(f"no version selected (set by {sel.origin.describe()})")
            for row in rows:  # as pyenv: what is missing goes to stderr
                if row["status"] == "not-installed":
                    ctx.report.line(_render_row(row))
                else:
                    ctx.out(_render_row(row))
            if note:
                ctx.info(f"note: {note}")
        if not usable:
            return ExitCode.NOT_FOUND
        missing = any(r["status"] == "not-installed" for r in rows)
        return ExitCode.FAILURE if missing else ExitCode.OK


def _describe_entry(ctx: Context, entry: Any) -> dict[str, Any]:
    from pyv.choose import selection

    row: dict[str, Any] = {
        "request": entry.text, "kind": entry.request.kind, "origin": entry.origin.kind,
        "set_by": entry.where, "status": "ok", "version": None, "key": None, "path": None,
    }
    try:
        hit = selection.resolve_entry(ctx.settings, entry, "python", ctx.environ)
        if hit is None and entry.request.kind == "system":  # a host with only python3
            hit = selection.resolve_entry(ctx.settings, entry, "python3", ctx.environ)
    except selection.NotInstalled:
        row["status"] = "not-installed"
        if entry.request.is_download_request:
            row["install"] = command_line("pyv", "install", entry.text)
        elif entry.request.kind == "name":
            row["create"] = command_line("pyv", "venv", "--name", entry.text)
        elif (env := selection.environment_of(entry)) is not None:
            row["create"] = command_line("pyv", "venv", str(env))
        return row
    if hit is None:
        row["status"] = "no-python"
        return row
    row["path"] = str(hit.path)
    if hit.installation is not None:
        row["version"] = hit.installation.version_str
        row["key"] = hit.installation.key
    elif hit.env_dir is not None:
        from pyv.venv.registry import describe_environment

        row["env"] = str(hit.env_dir)
        row["version"] = describe_environment(hit.env_dir, with_size=False).version or None
    else:
        from pyv.choose.discovery import describe

        found = describe(hit.path, exact=True)
        row["version"] = str(found.version) if found and found.version else None
    return row


def _render_row(row: dict[str, Any]) -> str:
    by = f"(set by {row['set_by']})"
    if row["status"] == "not-installed" and row.get("create"):
        return f"{row['request']}: does not exist {by}; create it with `{row['create']}`"
    if row["status"] == "not-installed":
        if row.get("create"):
            return f"{row['request']}: no such environment {by}; create it with `{row['create']}`"
        extra = f"; run `{row['install']}`" if row.get("install") else ""
        return f"{row['request']}: not installed {by}{extra}"
    if row["status"] == "no-python":
        return f"{row['request']}: no python found {by}"
    # As pyenv: what runs (its version) first, then where it is, once; then the origin.
    ident = row.get("env") or row["key"] or row["path"]
    if row["request"] == "system" or (row["kind"] == "path" and not row.get("env")):
        ident = row["path"]
    return f"{row['version'] or row['request']} {ident} {by}"


class WhichCommand(Command):
    """Print the real path a shim would run for COMMAND in this directory."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("command", nargs="?", default="python", metavar="COMMAND")

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose.selection import resolve

        hit = resolve(ctx.settings, ctx.cwd, args.command, ctx.environ, auto_install=False,
                      report=ctx.report)
        ctx.out(str(hit.path))
        return ExitCode.OK


def _tail(args: argparse.Namespace, argc: int | None = None) -> list[str]:
    rest = list(args.args)
    # argparse drops a leading "--" on some Python versions and keeps it on others.
    if argc is not None and len(rest) == argc + 1 and rest[0] == "--":
        rest = rest[1:]
    return rest


class ExecCommand(Command):
    """Run COMMAND with the selected interpreter's bin/ first on PATH (exit code passed on;
    with `system` selected, PATH is left alone)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("command", metavar="COMMAND")
        parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose.selection import CommandNotFound, resolve

        argv = _tail(args)
        try:
            hit = resolve(ctx.settings, ctx.cwd, args.command, ctx.environ, report=ctx.report)
            target = str(hit.path)
            system = hit.path if hit.entry.request.kind == "system" else None
        except CommandNotFound:
            system = None
            # Not one of the interpreter's commands (make, tox…): PATH decides, after bin/.
            hit = resolve(ctx.settings, ctx.cwd, "python", ctx.environ, report=ctx.report)
            target = args.command
        env = dict(ctx.environ)
        if hit.entry.request.kind != "system":  # as pyenv: `system` leaves PATH alone
            env["PATH"] = os.pathsep.join([str(hit.bin_dir), env.get("PATH", os.defpath)])
        if system is not None:
            from pyv.choose.discovery import SYSTEM_TRIED, system_tried_value

            env[SYSTEM_TRIED] = system_tried_value(ctx.environ, system)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execvpe(target, [target, *argv], env)
        except OSError as exc:
            raise NotFound(f"cannot run {args.command}: {exc.strerror}",
                           "check `pyv which " + args.command + "`",
                           exit_code=ExitCode.SHIM_NOT_INSTALLED) from None


class ShellCommand(Command):
    """Select a Python version for this shell session (sets PYV_VERSION).

    Needs the shell integration (each shell's line: `pyv init --help`); without it,
    prints the line to run and exits 1. `--unset` goes back to the per-directory
    selection.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("requests", nargs="*", metavar="REQUEST")
        parser.add_argument("--unset", action="store_true", help="stop overriding the selection")
        parser.add_argument("--eval", metavar="SHELL", default=None, help=argparse.SUPPRESS)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose import selection
        from pyv.choose.shims import check_shell, shell_eval

        shell = check_shell(args.eval) if args.eval else _user_shell(ctx)
        if args.unset and args.requests:
            raise UsageError("--unset takes no request", "run `pyv shell --unset` alone")
        if not args.unset and not args.requests:
            current = ctx.environ.get("PYV_VERSION", "").strip()
            if not current:
                raise NotFound("no version is set for this shell", "set one with `pyv shell 3.12`")
            if args.eval:
                ctx.out("echo " + _quote_for(shell, current) + ";")
            else:
                ctx.out(current)
            return ExitCode.OK
        value: str | None = None
        if args.requests:
            requests = selection.validate_requests(args.requests)
            for text, request in zip(args.requests, requests):
                self._check_available(ctx, text, request)
            value = ":".join(t.strip() for t in args.requests)
        code = shell_eval(shell, "PYV_VERSION", value)
        ctx.out(f"{code} {shell_eval(shell, selection.SHELL_MARK, value)}")
        if args.eval:
            return ExitCode.OK
        return needs_integration(ctx, "shell", shell)

    def _check_available(self, ctx: Context, text: str, request: Any) -> None:
        """The requested version or environment is there (installed first if the
        ``auto_install`` setting says so); a path or ``system`` is checked when used."""
        if request.is_download_request or request.kind == "name":
            from pyv.choose.resolve import NotInstalled, find_or_install

            try:
                find_or_install(ctx.settings, request, text=text, where="the command line",
                                install=ctx.settings.auto_install, report=ctx.report)
            except NotInstalled as exc:  # not a shim: the ordinary "not found" code
                raise NotFound(exc.message, exc.hint) from None


def _user_shell(ctx: Context) -> str:
    from pyv.choose.shims import SHELLS, check_shell
    from pyv.core.shells import detect_shell

    return check_shell(detect_shell(ctx.environ, SHELLS, default="sh"))


def _quote_for(shell: str, text: str) -> str:
    from pyv.core.shells import quote_csh, quote_fish, quote_posix

    if shell == "fish":
        return quote_fish(text)
    if shell == "tcsh":
        return quote_csh(text)
    return quote_posix(text)


class RehashCommand(Command):
    """Regenerate the shims and the lookup index (pyv does this after every change)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose.shims import rehash

        result = rehash(ctx.settings)
        if args.json:
            ctx.emit_json({"shims_dir": str(ctx.settings.shims_dir), "shims": list(result.shims),
                           "added": list(result.added), "removed": list(result.removed),
                           "index": dict(result.index)})
            return ExitCode.OK
        parts = [f"{len(result.shims)} shims", f"{len(result.index)} index entries"]
        if result.added:
            parts.append(f"added {', '.join(result.added)}")
        if result.removed:
            parts.append(f"removed {', '.join(result.removed)}")
        ctx.info(f"rehashed {ctx.settings.shims_dir}: " + "; ".join(parts))
        return ExitCode.OK


class InitCommand(Command):
    """Print the shell integration to eval: the shims first on PATH (moved to the front when
    another directory, such as another version manager's shims, comes first), the `pyv`
    shell function (so `pyv shell`/`activate`/`deactivate` can change the shell), and
    completion. Load it last in the startup file:

{lines}

    Without SHELL, $SHELL names it; a shell without an integration of its own (ksh, mksh,
    or $SHELL unset) gets the POSIX sh one, with a note on stderr.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("shell", nargs="?", default=None,
                            help="bash, zsh, fish, tcsh, csh or sh (ksh, dash, mksh: sh; "
                                 "default: from $SHELL)")

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose.shims import check_shell, detect_shell, init_script
        from pyv.cli.registry import COMMANDS

        if args.shell:
            shell = check_shell(args.shell)
        else:
            guess = detect_shell(ctx.environ)
            shell = guess.shell
            if guess.note:
                ctx.warn(guess.note)
        from pyv.cli.completion import SHELLS as COMPLETION_SHELLS
        from pyv.cli.completion import script as completion_script

        script = init_script(ctx.settings, shell, COMMANDS)
        if shell in COMPLETION_SHELLS:  # the integration loads completion too
            script += completion_script(shell)
        if shell == "tcsh":
            script = _tcsh_path_line(ctx) + script
        ctx.stdout.write(script)
        return ExitCode.OK


def _init_help() -> None:
    from pyv.core.shells import load_lines

    InitCommand.__doc__ = (InitCommand.__doc__ or "").replace("{lines}", load_lines(" " * 6))


_init_help()


def _tcsh_path_line(ctx: Context) -> str:
    # csh patterns cannot edit PATH reliably, so decide here, once.
    from pyv.choose.shims import shims_first
    from pyv.core.shells import quote_csh

    path = shims_first(ctx.environ.get("PATH", ""), ctx.settings.shims_dir)
    if path is None:
        return ""
    try:
        return f"setenv PATH {quote_csh(path)};\n"
    except PyvError:  # a PATH entry csh cannot quote ('!'): prepend, leave the rest as it is
        return f"setenv PATH {quote_csh(str(ctx.settings.shims_dir))}:\"$PATH\";\n"


class ShimResolveCommand(Command):
    """Resolve a shim's target with the full selection logic and exec it (used by shims)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--home", default=None)
        parser.add_argument("--argc", type=int, default=None)
        parser.add_argument("name")
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def settings_overrides(self, args: argparse.Namespace) -> dict[str, object]:
        return {"home": args.home} if args.home else {}

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.choose.selection import resolve
        from pyv.choose.shims import ensure_index

        argv = _tail(args, args.argc)
        ensure_index(ctx.settings)
        hit = resolve(ctx.settings, ctx.cwd, args.name, ctx.environ, report=ctx.report)
        target = str(hit.path)
        sys.stdout.flush()
        sys.stderr.flush()
        env = dict(ctx.environ)
        if hit.entry.request.kind == "system":
            from pyv.choose.discovery import SYSTEM_TRIED, system_tried_value

            env[SYSTEM_TRIED] = system_tried_value(ctx.environ, hit.path)
        elif _adds_scripts(args.name, argv):
            return _run_then_rehash(ctx, target, argv, hit.bin_dir)
        try:
            os.execve(target, [target, *argv], env)
        except OSError as exc:
            raise PyvError(f"cannot run {target}: {exc.strerror}",
                           exit_code=ExitCode.SHIM_NOT_INSTALLED) from None


def _adds_scripts(name: str, argv: list[str]) -> bool:
    if name == "pip" or name.startswith("pip3"):
        return True
    return name.startswith("python") and argv[:2] == ["-m", "pip"]


def _run_then_rehash(ctx: Context, target: str, argv: list[str], bin_dir: Path) -> int:
    """Run pip as a child, then rehash if it changed bin/ (new console scripts)."""
    from pyv.choose.shims import STAMP, rehash

    try:
        code = subprocess.call([target, *argv])
    except OSError as exc:
        raise PyvError(f"cannot run {target}: {exc.strerror}",
                       exit_code=ExitCode.SHIM_NOT_INSTALLED) from None
    stamp = ctx.settings.index_dir / STAMP
    try:
        newer = bin_dir.stat().st_mtime_ns > stamp.stat().st_mtime_ns
    except OSError:
        newer = True
    if newer:
        try:
            rehash(ctx.settings)
        except PyvError as exc:
            ctx.warn(f"could not rehash after pip: {exc.message}")
    return code if code >= 0 else 128 - code
