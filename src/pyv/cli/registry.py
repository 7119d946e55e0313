"""The command registry and the argparse parsers built from it.

The one place naming pyv's commands and their one-line help. Only the chosen
command's module is imported and only its parser is built. :mod:`pyv.cli.main`
runs the chosen command; :mod:`pyv.cli.completion` reads the same registry and
parsers, so completion cannot drift from what the commands accept.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from pyv import __version__
from pyv.core.errors import UsageError

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

#: name -> (module under pyv.cli.commands, class name, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "install": ("install", "InstallCommand", "download and install Python versions"),
    "uninstall": ("install", "UninstallCommand", "remove installed Python versions"),
    "upgrade": (
        "install",
        "UpgradeCommand",
        "install the newest patch of installed minor versions",
    ),
    "list": ("listing", "ListCommand", "list installed and available Python versions"),
    "find": ("listing", "FindCommand", "print the path of the best matching interpreter"),
    "dir": ("listing", "DirCommand", "print the directory of the version store"),
    "pin": ("pinning", "PinCommand", "write the version for this directory (.python-version)"),
    "version": ("selection", "VersionCommand", "show the selected interpreter and why"),
    "which": ("selection", "WhichCommand", "print the real path a shim would run here"),
    "trust": ("pinning", "TrustCommand",
              "allow a version file's path entries to run programs from its tree"),
    "exec": (
        "selection",
        "ExecCommand",
        "run a command with the selected interpreter first on PATH",
    ),
    "run": ("run", "RunCommand",
            "run a command with this directory's interpreter, in the project's .venv"),
    "shell": ("selection", "ShellCommand", "select a version for this shell session"),
    "rehash": ("selection", "RehashCommand", "regenerate the shims and their lookup index"),
    "init": ("selection", "InitCommand", "print the shell integration to eval"),
    "venv": ("venv", "VenvCommand", "create a virtual environment"),
    "envs": ("venv", "EnvsCommand", "list and manage named environments"),
    "activate": ("venv", "ActivateCommand", "activate a named or project environment"),
    "deactivate": ("venv", "DeactivateCommand", "deactivate the active environment"),
    "update": ("update", "UpdateCommand", "refresh the catalog of available builds"),
    "mirror": ("mirror", "MirrorCommand", "download archives into an offline mirror"),
    "doctor": ("doctor", "DoctorCommand", "check the installation and explain what to fix"),
    "du": ("housekeeping", "DuCommand", "show the disk space and files of versions and envs"),
    "prune": ("housekeeping", "PruneCommand", "remove patch versions a newer patch superseded"),
    "cache": ("housekeeping", "CacheCommand", "show or clean the download and wheel cache"),
    "outdated": ("housekeeping", "OutdatedCommand", "list newer patches of installed versions"),

    "completion": ("completion", "CompletionCommand", "print the shell completion script"),
}
#: Internal commands, used by shims and shell integration, not listed in --help.
HIDDEN: dict[str, tuple[str, str, str]] = {
    "_shim": ("selection", "ShimResolveCommand", "resolve a shim's target"),
}


_COLUMNS: list[int] = []


def _terminal_columns() -> int:
    """What argparse would ask shutil for, without importing shutil (and bz2, lzma) first."""
    if not _COLUMNS:
        try:
            columns = int(os.environ.get("COLUMNS", "0"))
        except ValueError:
            columns = 0
        if columns <= 0:
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):
                columns = 80
        _COLUMNS.append(max(columns - 2, 20))
    return _COLUMNS[0]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help at the terminal's width; every ``add_argument`` builds one, so it must be cheap."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _terminal_columns() if width is None else width)


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line like every other error (exit 2)."""

    #: The command whose --help the hint names (set on the top parser, which reports
    #: unrecognized arguments for every command).
    help_prog: str | None = None

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"see `{self.help_prog or self.prog} --help`")


def _global_parser() -> _Parser:
    common = _Parser(add_help=False, formatter_class=_Formatter)
    _add_global_options(common)
    return common


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("global options")
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print only results and errors",
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="print more detail"
    )
    group.add_argument(
        "--no-progress",
        action="store_true",
        default=argparse.SUPPRESS,
        help="never show progress bars",
    )
    group.add_argument(
        "--offline",
        action="store_true",
        default=argparse.SUPPRESS,
        help="never touch the network (PYV_OFFLINE=1)",
    )


def _nested_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """A command's own sub-parsers (``envs rm``...), each once although aliases repeat it."""
    found: dict[int, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.setdefault(id(child), child)
                for grandchild in _nested_parsers(child):
                    found.setdefault(id(grandchild), grandchild)
    return list(found.values())


def find_command(argv: Sequence[str]) -> str | None:
    for token in argv:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token
    return None


def build_parser(selected: str | None) -> tuple[argparse.ArgumentParser, object | None]:
    common = _global_parser()
    parser = _Parser(
        prog="pyv",
        description="pyv: install Python versions, select them per directory, make environments.",
        parents=[common],
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"pyv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if selected is not None:
        parser.help_prog = f"pyv {selected}"
    command_obj = None
    table = dict(COMMANDS)
    if selected in HIDDEN:
        table[selected] = HIDDEN[selected]
    for name, (module, cls_name, help_text) in table.items():
        if name == selected:
            mod = importlib.import_module(f"pyv.cli.commands.{module}")
            command_obj = getattr(mod, cls_name)()
            desc = (getattr(command_obj, "__doc__", None) or help_text).strip()
            sp = sub.add_parser(
                name,
                help=help_text,
                description=desc,
                parents=[common],
                formatter_class=_Formatter,
            )
            command_obj.add_arguments(sp)
            # Global options go anywhere, also after a command's own action.
            for nested in _nested_parsers(sp):
                _add_global_options(nested)
        elif name in COMMANDS and selected is None:
            # Only `pyv --help` lists the others; a real command builds one parser.
            sub.add_parser(name, help=help_text, add_help=False, formatter_class=_Formatter)
    return parser, command_obj
