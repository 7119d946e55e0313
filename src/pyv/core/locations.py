"""Where pyv's home and config file are, and the names of what lives in them.

Plain strings and ``os.path`` only: ``pyv venv``'s fast path needs these two
answers without paying for pathlib or dataclasses. :mod:`pyv.core.settings` builds its
:class:`~pyv.core.settings.Settings` on the same functions, so both agree.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing is slower than this module
if TYPE_CHECKING:
    from collections.abc import Mapping


#: The record every installation holds (see :mod:`pyv.acquire.store`).
RECORD = ".pyv-install.json"
#: The per-directory version files, nearest first (see :mod:`pyv.choose.selection`).
VERSION_FILES = (".python-version", ".python-versions")
#: The longest environment name (see :mod:`pyv.venv.names`); a longer word in a request
#: or a version file is no name.
MAX_NAME_LENGTH = 64
#: Commands that exist under a ``3``-suffixed name only in some builds: the shims make
#: the plain name, and selection looks for either (see :mod:`pyv.choose.selection`).
ALIASES = {"python": "python3", "pip": "pip3", "pydoc": "pydoc3", "idle": "idle3"}


def minor_key_for(
    implementation: str,
    major: int,
    minor: int,
    variant: str | None,
    os_name: str,
    arch: str,
    arch_variant: str | None,
    libc: str,
) -> str:
    """The name of a store's minor link, e.g. ``cpython-3.13+freethreaded-linux-x86_64-gnu``."""
    version = f"{major}.{minor}" + (f"+{variant}" if variant else "")
    arch_part = arch + (f"_{arch_variant}" if arch_variant else "")
    return f"{implementation}-{version}-{os_name}-{arch_part}-{libc}"


def named_environments(envs_dir: str) -> list[str]:
    """The named environments in ``envs_dir``, by name: its directories that hold a
    ``pyvenv.cfg`` (names starting with a dot are pyv's own files). The one rule for
    what an environment is, shared by the listing, the shims and ``pyv which``."""
    try:
        names = sorted(os.listdir(envs_dir))
    except OSError:
        return []
    return [os.path.join(envs_dir, name) for name in names
            if not name.startswith(".")
            and os.path.isfile(os.path.join(envs_dir, name, "pyvenv.cfg"))]


def home_dir(environ: Mapping[str, str]) -> str:
    """``$PYV_HOME`` if set, else platformdirs' user data dir for pyv."""
    home = environ.get("PYV_HOME", "").strip()
    if home:
        home = os.path.expanduser(home)
        return home if os.path.isabs(home) else os.path.join(os.getcwd(), home)
    return user_dir(environ, "XDG_DATA_HOME", ".local/share", "user_data_dir")


def config_file(environ: Mapping[str, str]) -> str:
    """``$PYV_CONFIG_FILE``, else ``$PYV_HOME/config.toml``, else the user config dir's."""
    explicit = environ.get("PYV_CONFIG_FILE", "").strip()
    if explicit:
        explicit = os.path.expanduser(explicit)
        return explicit if os.path.isabs(explicit) else os.path.join(os.getcwd(), explicit)
    if environ.get("PYV_HOME", "").strip():
        return os.path.join(home_dir(environ), "config.toml")
    return os.path.join(user_dir(environ, "XDG_CONFIG_HOME", ".config", "user_config_dir"),
                        "config.toml")


def user_dir(environ: Mapping[str, str], xdg_var: str, xdg_default: str, kind: str) -> str:
    """platformdirs' answer, but computed from the environment passed in on XDG systems."""
    system: str = sys.platform  # a plain str, so type checkers keep both branches
    if system != "darwin" and not system.startswith("win"):
        base = environ.get(xdg_var, "").strip()
        if base and os.path.isabs(base):
            return os.path.join(base, "pyv")
        home = environ.get("HOME", "").strip() or os.path.expanduser("~")
        return os.path.join(home, xdg_default, "pyv")
    import platformdirs

    return str(getattr(platformdirs, kind)("pyv", appauthor=False))
