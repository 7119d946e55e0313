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


#: Global flags that may stand beside ``--version`` (see pyv.cli.registry._global_parser).
_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--no-progress", "--offline"})


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args and all(a == "--version" or a in _GLOBAL_FLAGS for a in args):
        # What argparse's version action prints, without importing argparse (or re).
        from pyv import __version__

        print(f"pyv {__version__}")
        return 0
    if args[:1] == ["venv"]:
        code = _quick_venv(args[1:])
        if code is not None:
            return code
    from pyv.cli.main import main as full_main

    return full_main(args)


def _quick_venv(args: list[str]) -> int | None:
    try:
        cwd = os.getcwd()
    except OSError:
        return None  # a deleted working directory: the full path knows what to do
    from pyv.venv import quick

    try:
        return quick.run(args, os.environ, cwd, sys.stderr)
    except KeyboardInterrupt:
        from pyv.cli.main import INTERRUPTED_MESSAGE
        from pyv.core.errors import ExitCode

        print(INTERRUPTED_MESSAGE, file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
