"""Where a managed installation runs from, and the facts environments record about it.

:func:`run_root` states which directory an interpreter runs from: a request that
does not name a patch (``3``, ``3.12``, ``latest``) goes through the store's minor
link (``cpython-3.12-…``), so an environment made from it follows patch upgrades and
never jumps to another minor; an exact request stays on the installation's own
directory. The shims' index, ``pyv venv`` and every command use this rule (through
:mod:`pyv.choose.resolve` or the index it precomputes), so a path an interpreter reports
about itself keeps its minor.

It sits beside the store, below everything that chooses an interpreter, so the
index writer (:mod:`pyv.choose.shims`) and the environment code (:mod:`pyv.venv`) share it
without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyv.acquire.store import Installation
    from pyv.core.requests import PythonRequest

_PRE_LEVELS = {"a": "alpha", "b": "beta", "rc": "candidate"}


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


def version_info_of(inst: Installation) -> str:
    """``3.12.4.final.0`` / ``3.14.0.candidate.1``: the form of ``sys.version_info``."""
    major, minor, micro = [*inst.version.release, 0, 0, 0][:3]
    pre = inst.version.pre
    level, serial = ("final", 0) if pre is None else (_PRE_LEVELS[pre[0]], pre[1])
    return f"{major}.{minor}.{micro}.{level}.{serial}"


def cpython_site_packages(inst: Installation) -> str:
    """Where a managed CPython's environments keep packages, relative to the environment."""
    suffix = "t" if inst.freethreaded else ""
    return f"lib/python{inst.version.major}.{inst.version.minor}{suffix}/site-packages"


def pending_root(inst: Installation, follow_minor: bool,
                 installs: list[Installation]) -> tuple[Path, bool]:
    """:func:`run_root` of an installation about to be published: its minor link once the
    store re-points it (the store's own rule), since the link on disk is not there yet."""
    from pyv.acquire.store import newest_patches

    same_store = [i for i in installs if i.store == inst.store]
    newest = newest_patches(same_store).get(inst.minor_key)
    if follow_minor and newest is not None and newest.key == inst.key:
        return inst.store / inst.minor_key, True
    return inst.path, False
