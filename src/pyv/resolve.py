"""The one place a request becomes something to run.

:func:`run_root` states which directory an interpreter runs from: a request
that does not name a patch (``3``, ``3.12``, ``latest``) goes through the
store's minor link (``cpython-3.12-…``), so an environment made from it follows
patch upgrades and never jumps to another minor; an exact request stays on the
installation's own directory. The shims' index, ``pyv venv`` and every command
use this rule, so a path an interpreter reports about itself keeps its minor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyv.requests import PythonRequest
    from pyv.store import Installation


def follows_minor(request: PythonRequest) -> bool:
    """Whether what ``request`` selects should be run through its minor link."""
    return request.kind in ("version", "any") and not request.is_exact


def run_root(inst: Installation, follow_minor: bool) -> tuple[Path, bool]:
    """(directory to run ``inst`` from, whether that is its minor link)."""
    if follow_minor:
        link = inst.store / inst.minor_key
        try:
            if link.is_symlink() and os.path.basename(os.readlink(link)) == inst.key:
                return link, True
        except OSError:
            pass
    return inst.path, False
