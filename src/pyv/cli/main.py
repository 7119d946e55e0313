"""Entry point: find the subcommand, import only its module, run it.

Only the chosen command's module is imported, so ``pyv find`` pays nothing for
``pyv install``'s dependencies (httpx, tqdm stay out of ``sys.modules``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pyv.cli.registry import COMMANDS, HIDDEN, build_parser, find_command
from pyv.core.errors import ExitCode, PyvError, user_os_error
from pyv.core.interrupts import remember_sigint
from pyv.core.shells import SHELL_FUNCTION_MARK

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyv.core.report import Reporter
    from pyv.core.settings import Settings

INTERRUPTED_MESSAGE = "error: interrupted; nothing was left half-done, run the command again"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The shell integration's mark is about this process alone: no child inherits it.
    shell_function = os.environ.pop(SHELL_FUNCTION_MARK, None)
    environ = dict(os.environ)
    remember_sigint()
    if args_list[:2] == ["_complete", "--"]:
        return _complete(args_list[2:], environ)
    try:
        selected = find_command(args_list)
        if selected is not None and selected not in COMMANDS and selected not in HIDDEN:
            print(
                f"error: unknown command {selected!r}; run `pyv --help` for the list of commands",
                file=sys.stderr,
            )
            return ExitCode.USAGE
        parser, command = build_parser(selected)
        args = parser.parse_args(args_list)
        if command is None:
            parser.print_help()
            return ExitCode.OK if not args_list else ExitCode.USAGE
        return _run(command, args, environ, shell_function)
    except PyvError as exc:
        print(exc.render(), file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(INTERRUPTED_MESSAGE, file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and the like; quiet exit as other tools do.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep interpreter shutdown quiet
        except OSError:
            pass
        return ExitCode.OK
    except OSError as exc:
        error = user_os_error(exc)
        if error is None:
            return _internal_error(exc, environ)
        print(error.render(), file=sys.stderr)
        return int(error.exit_code)
    except Exception as exc:
        return _internal_error(exc, environ)


def _complete(words: list[str], environ: dict[str, str]) -> int:
    """The completion scripts' helper: candidates, one a line; never an error on screen."""
    from pyv.cli.completion import complete

    try:
        candidates = complete(words, environ)
    except Exception:
        if environ.get("PYV_DEBUG"):
            raise
        return ExitCode.OK  # a broken config or catalog must not spoil the prompt
    if candidates:
        sys.stdout.write("\n".join(candidates) + "\n")
    return ExitCode.OK


def _internal_error(exc: Exception, environ: dict[str, str]) -> int:
    """A bug: one line, and the traceback only on request."""
    if environ.get("PYV_DEBUG"):
        raise exc
    print(
        f"error: internal error ({type(exc).__name__}: {exc}); please report it, and "
        "rerun with PYV_DEBUG=1 for details",
        file=sys.stderr,
    )
    return ExitCode.INTERNAL


def _run(command: object, args: argparse.Namespace, environ: dict[str, str],
         shell_function: str | None = None) -> int:
    from pyv.cli.base import Command, Context
    from pyv.core.report import stderr_reporter, use_for_process
    from pyv.core.settings import load_settings

    assert isinstance(command, Command)
    overrides = dict(command.settings_overrides(args))
    if getattr(args, "offline", False):
        overrides["offline"] = True
    if getattr(args, "no_progress", False) or getattr(args, "quiet", False):
        overrides["progress"] = False
    settings = load_settings(environ, overrides)
    try:
        cwd = Path.cwd()
    except FileNotFoundError:
        # The current directory was deleted under us; behave as if at $PWD's nearest parent.
        from pyv.core.fsutil import nearest_existing_dir

        cwd = nearest_existing_dir(Path(environ.get("PWD", "/")))
    report = stderr_reporter(quiet=bool(getattr(args, "quiet", False)),
                             verbosity=int(getattr(args, "verbose", 0) or 0))
    ctx = Context(settings=settings, environ=environ, cwd=cwd, report=report,
                  shell_function=shell_function or None)
    if report.verbose:
        _explain_settings(report, settings)
    previous = use_for_process(report)
    try:
        return int(command.run(args, ctx))
    finally:
        use_for_process(previous)


def _explain_settings(report: Reporter, settings: Settings) -> None:
    """``-v``: the facts every decision below starts from."""
    config = settings.config_file
    read = "read" if config is not None and config.is_file() else "none there"
    report.detail(f"pyv home {settings.home}; config file {config} ({read})")
    from pyv.core.report import redact
    from pyv.core.settings import Settings

    defaults = Settings(home=settings.home)
    changed = [f"{name}={redact(value) if isinstance(value, str) else value!r}"
               for name in Settings.__annotations__
               if name not in ("home", "config_file", "environ")
               and (value := getattr(settings, name)) != getattr(defaults, name)]
    if changed:
        report.detail("settings not at their default: " + ", ".join(changed))


if __name__ == "__main__":
    raise SystemExit(main())
