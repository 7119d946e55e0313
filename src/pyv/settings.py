"""Settings and paths: the one place pyv reads its configuration.

Precedence, highest first: command-line flag > ``PYV_*`` environment variable
> config file (TOML) > built-in default. Everything else receives a
:class:`Settings` value; nothing below the CLI reads ``os.environ`` itself.

The config file is ``$PYV_CONFIG_FILE`` when set, else ``$PYV_HOME/config.toml``
when ``PYV_HOME`` is set (so that ``PYV_HOME`` alone isolates an installation),
else ``config.toml`` in platformdirs' user config dir for ``pyv``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pyv import locations
from pyv.errors import ConfigError

#: The upstream prefix that PYV_PYTHON_INSTALL_MIRROR replaces.
PBS_DOWNLOAD_PREFIX = "https://github.com/astral-sh/python-build-standalone/releases/download"
PYPY_DOWNLOAD_PREFIX = "https://downloads.python.org/pypy"
GRAALPY_DOWNLOAD_PREFIX = "https://github.com/oracle/graalpython/releases/download"
#: Upstream endpoints used by ``pyv update``.
PBS_LATEST_RELEASE_URL = (
    "https://raw.githubusercontent.com/astral-sh/python-build-standalone/latest-release/"
    "latest-release.json"
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(value: object, name: str) -> bool:
    """Parse a boolean setting from TOML (bool) or the environment (string)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean, got {value!r}", "use 1/0, true/false or yes/no")


def _parse_float(value: object, name: str) -> float:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if result < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return result


def _parse_window(value: object, name: str) -> float:
    """Seconds for the stall rule: finite (``nan`` would never fire), 0 turns it off."""
    result = _parse_float(value, name)
    if result != result or result == float("inf"):
        raise ConfigError(f"{name} must be a finite number of seconds, got {value!r}",
                          "use 0 to turn the check off")
    return result


def _parse_int(value: object, name: str) -> int:
    try:
        result: int = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if result < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return result


def _parse_str(value: object, name: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ConfigError(f"{name} must be a string, got {value!r}")
    return str(value)


def _parse_paths(value: object, name: str) -> tuple[Path, ...]:
    if isinstance(value, str):
        parts = [p for p in value.split(os.pathsep) if p]
    elif isinstance(value, list) and all(isinstance(p, str) for p in value):
        parts = list(value)
    else:
        raise ConfigError(f"{name} must be a list of paths, got {value!r}")
    return tuple(Path(os.path.expanduser(p)) for p in parts)


def _choice(*choices: str) -> Callable[[object, str], str]:
    def parse(value: object, name: str) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ConfigError(
                f"{name} must be one of {', '.join(choices)}, got {value!r}",
            )
        return text

    return parse


def _optional_str(value: object, name: str) -> str | None:
    text = _parse_str(value, name).strip()
    return text or None


@dataclass(frozen=True)
class _Spec:
    """How one setting is read: its config-file key, env var and parser."""

    attr: str
    env: str | None
    parse: Callable[[object, str], Any]


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build with :func:`load_settings`."""

    home: Path
    config_file: Path | None = None
    python_install_mirror: str | None = None
    pypy_install_mirror: str | None = None
    graalpy_install_mirror: str | None = None
    downloads_json: str | None = None
    offline: bool = False
    #: Preferred x86-64 microarchitecture build: "" (baseline), "v2", "v3", "v4", or "auto"
    #: (the best the CPU supports).
    arch_variant: str = ""
    externally_managed: bool = True
    #: None = the default: compile for shared stores (``--store``), not for your own.
    compile_bytecode: bool | None = None
    lock_timeout: float = 300.0
    lock_mode: str = "auto"  # auto | fcntl | lockfile
    auto_install: bool = False
    fallback: str = "system"  # system | error
    stores: tuple[Path, ...] = ()
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    #: A download slower than 1 KiB/s over this many seconds fails (0: never).
    stall_timeout: float = 30.0
    retries: int = 4
    progress: bool = True
    #: Upstream endpoints for ``pyv update``; settings so tests can point them at loopback.
    latest_release_url: str = PBS_LATEST_RELEASE_URL
    release_download_url: str = PBS_DOWNLOAD_PREFIX
    #: The environment this process was started with (for proxies, CA, shells).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    # ----- derived paths -------------------------------------------------
    @property
    def pythons_dir(self) -> Path:
        """The user's own version store (the only one written by default)."""
        return self.home / "pythons"

    @property
    def shims_dir(self) -> Path:
        return self.home / "shims"

    @property
    def envs_dir(self) -> Path:
        return self.home / "envs"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def downloads_cache_dir(self) -> Path:
        return self.cache_dir / "downloads"

    @property
    def global_version_file(self) -> Path:
        return self.home / "version"

    @property
    def index_dir(self) -> Path:
        """Direct-lookup index the shims use (see :mod:`pyv.shims`)."""
        return self.home / "index"

    @property
    def catalog_dir(self) -> Path:
        """Where ``pyv update`` keeps a refreshed catalog."""
        return self.home / "catalog"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_SPECS: tuple[_Spec, ...] = (
    _Spec("python_install_mirror", "PYV_PYTHON_INSTALL_MIRROR", _optional_str),
    _Spec("pypy_install_mirror", "PYV_PYPY_INSTALL_MIRROR", _optional_str),
    _Spec("graalpy_install_mirror", "PYV_GRAALPY_INSTALL_MIRROR", _optional_str),
    _Spec("downloads_json", "PYV_DOWNLOADS_JSON", _optional_str),
    _Spec("offline", "PYV_OFFLINE", parse_bool),
    _Spec("arch_variant", "PYV_ARCH", _choice("", "v1", "v2", "v3", "v4", "auto")),
    _Spec("externally_managed", "PYV_EXTERNALLY_MANAGED", parse_bool),
    _Spec("compile_bytecode", "PYV_COMPILE_BYTECODE", parse_bool),
    _Spec("lock_timeout", "PYV_LOCK_TIMEOUT", _parse_float),
    _Spec("lock_mode", "PYV_LOCK_MODE", _choice("auto", "fcntl", "lockfile")),
    _Spec("auto_install", "PYV_AUTO_INSTALL", parse_bool),
    _Spec("fallback", "PYV_FALLBACK", _choice("system", "error")),
    _Spec("stores", "PYV_STORES", _parse_paths),
    _Spec("connect_timeout", "PYV_CONNECT_TIMEOUT", _parse_float),
    _Spec("read_timeout", "PYV_READ_TIMEOUT", _parse_float),
    _Spec("stall_timeout", "PYV_STALL_TIMEOUT", _parse_window),
    _Spec("retries", "PYV_RETRIES", _parse_int),
    _Spec("progress", "PYV_PROGRESS", parse_bool),
    _Spec("latest_release_url", "PYV_LATEST_RELEASE_URL", _parse_str),
    _Spec("release_download_url", "PYV_RELEASE_DOWNLOAD_URL", _parse_str),
)

#: Config-file keys are the attribute names, with ``-`` accepted for ``_``.
CONFIG_KEYS = frozenset(spec.attr for spec in _SPECS)


def default_home(environ: Mapping[str, str]) -> Path:
    """``$PYV_HOME`` if set, else platformdirs' user data dir for pyv."""
    return Path(locations.home_dir(environ))


def config_file_path(environ: Mapping[str, str]) -> Path:
    return Path(locations.config_file(environ))


def read_config_file(path: Path) -> dict[str, object]:
    """Read the TOML config; a missing file is an empty config."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}", "fix or remove the file"
        ) from None
    # Accept both a flat file and a [pyv] table (the form uv users know from pyproject).
    table = parsed.get("pyv", parsed)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [pyv] must be a table")
    result: dict[str, object] = {}
    for key, value in table.items():
        attr = key.replace("-", "_")
        if attr not in CONFIG_KEYS:
            known = ", ".join(sorted(CONFIG_KEYS))
            raise ConfigError(f"config file {path}: unknown setting {key!r}", f"known: {known}")
        result[attr] = value
    return result


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Resolve settings from (highest first) ``overrides`` (CLI flags), ``environ``,
    the config file, and defaults."""
    env: Mapping[str, str] = dict(os.environ if environ is None else environ)
    home = default_home(env)
    if overrides and overrides.get("home") is not None:
        home = Path(str(overrides["home"])).absolute()
    if home.exists() and not home.is_dir():
        raise ConfigError(f"PYV_HOME {home} is not a directory", "point PYV_HOME at a directory")
    config_path = config_file_path(env)
    values: dict[str, object] = {}
    for attr, raw in read_config_file(config_path).items():
        spec = next(s for s in _SPECS if s.attr == attr)
        values[attr] = spec.parse(raw, f"{attr} (in {config_path})")
    for spec in _SPECS:
        if spec.env and spec.env in env:
            values[spec.attr] = spec.parse(env[spec.env], spec.env)
    for attr, raw in (overrides or {}).items():
        if raw is None or attr == "home":
            continue
        flag_spec = next((s for s in _SPECS if s.attr == attr), None)
        values[attr] = flag_spec.parse(raw, f"--{attr.replace('_', '-')}") if flag_spec else raw
    # NO_COLOR-style conventions for progress: honour CI=true as "no bars" too.
    if "progress" not in values and env.get("CI", "").lower() in _TRUE:
        values["progress"] = False
    if values.get("arch_variant") == "v1":
        values["arch_variant"] = ""
    return Settings(home=home, config_file=config_path, environ=env, **values)  # type: ignore[arg-type]
