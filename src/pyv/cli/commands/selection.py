"""``pyv version``, ``which``, ``exec``, ``shell``, ``rehash``, ``init`` and ``_shim``."""

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
)

if TYPE_CHECKING:
    pass

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
    from pyv.choose import pins, selection

    row: dict[str, Any] = {
        "request": entry.text, "kind": entry.request.kind, "origin": entry.origin.kind,
        "set_by": entry.where, "status": "ok", "version": None, "key": None, "path": None,
    }
    try:
        hit = selection.entry_python(ctx.settings, entry, ctx.environ)
    except selection.NotInstalled:
        row["status"] = "not-installed"
        if entry.request.is_download_request:
            row["install"] = command_line("pyv", "install", entry.text)
        elif entry.request.kind == "name":
            row["create"] = command_line("pyv", "venv", "--name", entry.text)
        elif (env := pins.environment_of(entry)) is not None:
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
        what = "no such environment" if row["kind"] == "name" else "does not exist"
        return f"{row['request']}: {what} {by}; create it with `{row['create']}`"
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
        from pyv.choose import pins, selection
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
            requests = pins.validate_requests(args.requests)
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
