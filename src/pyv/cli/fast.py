"""Fast paths for ``pyv find REQUEST`` and ``pyv list --all-platforms --all-versions``.

Both print what the full command prints, read from what pyv precomputed: the
shims' index (``pyv rehash``: which installation a spelling selects, and which
installations the store holds) and the bundled catalog's whole listing
(generated with the catalog, :func:`pyv.cli.commands.listing.whole_catalog_listing`).
Each returns ``None``, having printed nothing, whenever that might differ from the
full path's answer: another command line, a setting other than ``PYV_HOME`` (from
the environment or a config file, which the full path would also check), an index
built for other settings, a store changed since the index was written, a version not
installed (PATH lookups and error messages stay in one place), a refreshed catalog.
"""

from __future__ import annotations

import os
import sys

from pyv.core.locations import config_file, home_dir
from pyv.venv.index_reader import index_current, installed, read_index, store_matches

TYPE_CHECKING = False  # not typing's: see pyv.cli.entry
if TYPE_CHECKING:
    from collections.abc import Mapping

#: Variables that cannot change these commands' answer: any other ``PYV_*`` may be a
#: setting (with its own checks and errors), so the full path reads it.
_NEUTRAL = frozenset({"PYV_HOME", "PYV_VERSION", "PYV_DEBUG"})
#: The catalog and its whole listing (:data:`pyv.acquire.catalog.loading.BUNDLED_CATALOG` and
#: ``BUNDLED_LISTING``; a test keeps them equal).
_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
BUNDLED_CATALOG = os.path.join(_DATA, "catalog.json")
BUNDLED_LISTING = os.path.join(_DATA, "listing.txt")


def run(words: list[str], environ: Mapping[str, str], *, quiet: bool,
        verbose: bool = False) -> int | None:
    """The exit code, or ``None`` (nothing printed) for the full path. ``words``: the
    command line without the global options (pyv.cli.entry.GLOBAL_FLAGS), which change
    nothing these commands print but ``quiet`` (-q) the catalog status; ``verbose`` (-v)
    asks what pyv decided and why, which only the full path says."""
    if verbose:
        return None
    if words[:1] == ["find"]:
        return _find(words[1:], environ)
    if words[:1] == ["list"] and sorted(words[1:]) == ["--all-platforms", "--all-versions"]:
        return _list_catalog(environ, quiet=quiet)
    return None


def _home(environ: Mapping[str, str]) -> str | None:
    """PYV_HOME when only it configures pyv and its index was built for this environment."""
    if any(name.startswith("PYV_") and name not in _NEUTRAL for name in environ):
        return None
    try:
        home = home_dir(environ)
        config = config_file(environ)
    except OSError:
        return None  # a relative PYV_HOME in a deleted directory: the full path explains
    if os.path.normpath(home) != home or os.path.lexists(config):
        return None
    return home if index_current(home, environ) else None


def _installed(home: str) -> dict[str, tuple[str, str]] | None:
    """The index's installations, if the store holds exactly those."""
    found = installed(home)
    if found is None or not store_matches(*found):
        return None
    return found[1]


def _find(words: list[str], environ: Mapping[str, str]) -> int | None:
    """``pyv find REQUEST [--managed-only]`` for an installed version (found before PATH,
    so ``--managed-only`` changes nothing)."""
    request = [w for w in words if w != "--managed-only"]
    if len(request) != 1 or request[0].startswith("-") or request[0] != request[0].lower():
        return None  # (rehash writes lower-case spellings; a file system may ignore case)
    home = _home(environ)
    if home is None:
        return None
    facts = read_index(home, request[0])
    if facts is None or facts.get("kind") != "install":
        return None
    installs = _installed(home)
    chosen = installs.get(facts.get("key", "")) if installs else None
    if installs is None or chosen is None:
        return None
    if len({platform for platform, _ in installs.values()}) != 1:
        return None  # which one wins depends on the host asking: the full path decides
    # What the shims run for this spelling (through the minor link for a minor request),
    # as the full path's find_or_install() decides it.
    executable = facts.get("executable")
    if not executable:
        return None
    print(executable)
    return 0


def _list_catalog(environ: Mapping[str, str], *, quiet: bool) -> int | None:
    """The whole bundled catalog, with the installed interpreters' paths in their lines."""
    home = _home(environ)
    if home is None or os.path.lexists(os.path.join(home, "catalog")):
        return None  # a refreshed catalog, or its refresh state (the status line), exists
    installs = _installed(home)
    if installs is None:
        return None
    try:
        with open(BUNDLED_LISTING, encoding="utf-8", newline="") as fh:
            header = fh.readline()
            width_text, when, status = fh.readline().rstrip("\n").split("\t")
            body = "\n" + fh.read()
        with open(BUNDLED_CATALOG, encoding="utf-8", newline="") as fh:
            if fh.readline() != header:
                return None  # the listing was made from another catalog
        width = int(width_text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if body == "\n":
        return None  # no lines (the full path prints none, not an empty one)
    for key, (_, executable) in installs.items():
        start = body.find("\n" + key.ljust(width))
        if start < 0:
            return None  # not in the listing (another build, a hidden pre-release)
        end = body.find("\n", start + 1)
        body = body[:start + 1 + width] + executable + body[end:]
    print(body[1:-1])
    if not quiet:
        if when:
            import time

            # pyv.acquire.update.CatalogStatus.describe's age, from the date the listing recorded.
            status += f", {max(0.0, (time.time() - float(when)) / 86400):.0f} days old"
        print(status, file=sys.stderr)
    return 0
