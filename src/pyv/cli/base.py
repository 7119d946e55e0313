"""Command classes and the context they run in."""

from __future__ import annotations

import abc
import sys

from pyv.core.report import stderr_reporter

TYPE_CHECKING = False  # not typing's: see pyv.cli.main
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, TextIO

    from pyv.core.report import Reporter
    from pyv.core.settings import Settings


class Context:
    """What a command needs from the outside world, passed in rather than read.

    A plain class, not a dataclass: it is built once per run, on every command's path.
    Results go to ``stdout``; everything said to the person goes through ``report``.
    """

    __slots__ = ("cwd", "environ", "report", "settings", "shell_function", "stdout")

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        cwd: Path,
        *,
        stdout: TextIO | None = None,
        report: Reporter | None = None,
        shell_function: str | None = None,
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.cwd = cwd
        self.stdout: TextIO = sys.stdout if stdout is None else stdout
        self.report: Reporter = stderr_reporter() if report is None else report
        #: The shell whose integration's ``pyv`` function ran this pyv, if one did.
        self.shell_function = shell_function

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def info(self, text: str) -> None:
        """Shorthand for ``report.notice``: status for humans, silenced by --quiet."""
        self.report.notice(text)

    def warn(self, text: str) -> None:
        """Shorthand for ``report.warning``."""
        self.report.warning(text)

    def emit_json(self, data: Any) -> None:
        import json

        json.dump(data, self.stdout, indent=2, default=str)
        self.stdout.write("\n")


class Command(abc.ABC):
    """One subcommand: its arguments and ``run``. Its name and help live in the registry
    (:data:`pyv.cli.registry.COMMANDS`), its description in the class docstring."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional hook
        """Declare the command's arguments (none by default)."""

    def settings_overrides(self, args: argparse.Namespace) -> dict[str, object]:
        """Settings that this command's flags override (flag > env > file > default)."""
        return {}

    @abc.abstractmethod
    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        """Do the work and render the result; return the exit code."""


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def needs_integration(ctx: Context, command: str, shell: str) -> int:
    """How ``pyv shell``, ``activate`` and ``deactivate`` end when typed without the shell
    integration: their code is on stdout already; one line says it changed nothing, exit 1."""
    from pyv.choose.shims import check_shell
    from pyv.core.errors import ExitCode, PyvError
    from pyv.core.shells import load_hint

    try:
        fix = f"run the line above, or {load_hint(check_shell(shell))} and open a new shell"
    except PyvError:  # a shell pyv has no integration for (PowerShell)
        fix = "run the line above"
    error = PyvError(f"pyv {command} cannot change this shell without the shell integration",
                     fix)
    ctx.report.line(error.render())
    return ExitCode.FAILURE
