"""The ``pyv`` command: fast paths for hot commands first, then the full command line.

The console script imports this module, not :mod:`pyv.cli.main`, so a command
with a fast path never loads argparse or the command classes. A fast path either
does the whole job or returns ``None`` before changing anything, and then
:func:`pyv.cli.main.main` runs as if it had been called directly.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: see pyv.venv.quick
if TYPE_CHECKING:
    from collections.abc import Sequence


#: Global flags that may stand beside ``--version`` and in pyv.cli.fast's command lines
#: (see pyv.cli.registry._global_parser).
GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--no-progress", "--offline"})


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args and all(a == "--version" or a in GLOBAL_FLAGS for a in args):
        # What argparse's version action prints, without importing argparse (or re).
        from pyv import __version__

        print(f"pyv {__version__}")
        return 0
    if args[:1] == ["venv"]:
        code = _quick_venv(args[1:])
        if code is not None:
            return code
    elif "find" in args or "list" in args:
        code = _fast(args)
        if code is not None:
            return code
    from pyv.cli.main import main as full_main

    return full_main(args)


def _fast(args: list[str]) -> int | None:
    from pyv.cli import fast

    try:
        return fast.run([a for a in args if a not in GLOBAL_FLAGS], os.environ,
                        quiet="-q" in args or "--quiet" in args,
                        verbose="-v" in args or "--verbose" in args)
    except BrokenPipeError:
        # Output piped into `head`: the full path's quiet exit (pyv.cli.main).
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep interpreter shutdown quiet
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        return _interrupted()


def _interrupted() -> int:
    from pyv.cli.main import INTERRUPTED_MESSAGE
    from pyv.core.errors import ExitCode

    print(INTERRUPTED_MESSAGE, file=sys.stderr)
    return int(ExitCode.INTERRUPTED)


def _quick_venv(args: list[str]) -> int | None:
    try:
        cwd = os.getcwd()
    except OSError:
        return None  # a deleted working directory: the full path knows what to do
    from pyv.venv import quick

    try:
        return quick.run(args, os.environ, cwd, sys.stderr)
    except KeyboardInterrupt:
        return _interrupted()
