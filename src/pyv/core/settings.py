"""Settings and paths: the one place pyv reads its configuration.

Precedence, highest first: command-line flag > ``PYV_*`` environment variable
> config file (TOML) > built-in default. Everything else receives a
:class:`Settings` value; nothing below the CLI reads ``os.environ`` itself.

The config file is ``$PYV_CONFIG_FILE`` when set, else ``$PYV_HOME/config.toml``
when ``PYV_HOME`` is set (so that ``PYV_HOME`` alone isolates an installation),
else ``config.toml`` in platformdirs' user config dir for ``pyv``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from pyv.core import locations
from pyv.core.errors import ConfigError
from pyv.core.records import field, record, replace

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
#: Longest path and path component pyv accepts (Linux's PATH_MAX and NAME_MAX).
_PATH_MAX = 4095
_NAME_MAX = 255

T = TypeVar("T")


def parse_bool(value: object, name: str) -> bool:
    """Parse a boolean setting from TOML (bool) or the environment (string)."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a boolean, got {_shown(value)}", "use true or false")
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean, got {_shown(value)}",
                      "use 1/0, true/false or yes/no")


def _shown(value: object) -> str:
    """``repr`` of a bad value, cut short: the error stays one readable line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_float(value: object, name: str) -> float:
    # TOML gives numbers, the environment strings; a TOML string or bool is a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{name} must be a number, got {_shown(value)}")
    try:
        result = float(value)
    except (ValueError, OverflowError):
        raise ConfigError(f"{name} must be a number, got {_shown(value)}") from None
    if not math.isfinite(result):
        # nan compares false with everything: a nan lock timeout would wait forever.
        raise ConfigError(f"{name} must be a finite number of seconds, got {_shown(value)}")
    if result < 0:
        raise ConfigError(f"{name} must not be negative, got {_shown(value)}")
    return result


def _parse_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{name} must be a whole number, got {_shown(value)}")
    try:
        result = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {_shown(value)}") from None
    if result < 0:
        raise ConfigError(f"{name} must not be negative, got {_shown(value)}")
    return result


def _parse_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {_shown(value)}")
    if "\0" in value:
        raise ConfigError(f"{name} must not contain a NUL character")
    return value


def check_path(text: str, name: str) -> Path:
    """``text`` as a path, refused with one line if no system could open it."""
    if "\0" in text:
        raise ConfigError(f"{name} must not contain a NUL character")
    encoded = os.fsencode(text)
    if len(encoded) > _PATH_MAX:
        raise ConfigError(f"{name}: path too long ({len(encoded)} bytes, at most {_PATH_MAX})")
    if any(len(part) > _NAME_MAX for part in encoded.split(b"/")):
        raise ConfigError(f"{name}: a path component is longer than {_NAME_MAX} bytes",
                          f"check the path {_shown(text)}")
    return Path(text)


def _parse_paths(value: object, name: str) -> tuple[Path, ...]:
    if isinstance(value, str):
        parts = [p for p in value.split(os.pathsep) if p]
    elif isinstance(value, list) and all(isinstance(p, str) for p in value):
        parts = list(value)
    else:
        raise ConfigError(f"{name} must be a list of paths, got {_shown(value)}")
    return tuple(check_path(os.path.expanduser(p), name) for p in parts)


def _choice(*choices: str) -> Callable[[object, str], str]:
    def parse(value: object, name: str) -> str:
        text = _parse_str(value, name).strip().lower()
        if text not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {_shown(value)}")
        return "" if text == "v1" else text  # v1 is the baseline build

    return parse


def _optional_str(value: object, name: str) -> str | None:
    text = _parse_str(value, name).strip()
    return text or None


_BOOL = (bool,)
_NUMBER = (float, int)
_EXPECTS = {bool: "a boolean", float: "a number", int: "a whole number", str: "a string",
            list: "a list of paths"}


@record(frozen=True)
class _Spec(Generic[T]):
    """One setting: its attribute (also the config key), env var, parser and default."""

    attr: str
    env: str
    parse: Callable[[object, str], T]
    default: T
    #: The TOML types the config file may give (the environment gives strings).
    toml: tuple[type, ...] = (str,)

    @property
    def expects(self) -> str:
        """What a value must be, for the error when the config file gives another type."""
        return _EXPECTS[self.toml[0]]


PYTHON_INSTALL_MIRROR = _Spec(
    "python_install_mirror", "PYV_PYTHON_INSTALL_MIRROR", _optional_str, None)
PYPY_INSTALL_MIRROR = _Spec("pypy_install_mirror", "PYV_PYPY_INSTALL_MIRROR", _optional_str, None)
GRAALPY_INSTALL_MIRROR = _Spec(
    "graalpy_install_mirror", "PYV_GRAALPY_INSTALL_MIRROR", _optional_str, None)
DOWNLOADS_JSON = _Spec("downloads_json", "PYV_DOWNLOADS_JSON", _optional_str, None)
OFFLINE = _Spec("offline", "PYV_OFFLINE", parse_bool, False, toml=_BOOL)
ARCH_VARIANT = _Spec("arch_variant", "PYV_ARCH", _choice("", "v1", "v2", "v3", "v4", "auto"), "")
EXTERNALLY_MANAGED = _Spec("externally_managed", "PYV_EXTERNALLY_MANAGED", parse_bool, True,
                           toml=_BOOL)
#: None = the default: compile for shared stores (``--store``), not for your own.
COMPILE_BYTECODE: _Spec[bool | None] = _Spec(
    "compile_bytecode", "PYV_COMPILE_BYTECODE", parse_bool, None, toml=_BOOL)
LOCK_TIMEOUT = _Spec("lock_timeout", "PYV_LOCK_TIMEOUT", _parse_float, 300.0, toml=_NUMBER)
LOCK_MODE = _Spec("lock_mode", "PYV_LOCK_MODE", _choice("auto", "fcntl", "lockfile"), "auto")
AUTO_INSTALL = _Spec("auto_install", "PYV_AUTO_INSTALL", parse_bool, False, toml=_BOOL)
#: Whether a version request may select an interpreter pyenv, uv or conda installed.
EXTERNAL = _Spec("external", "PYV_EXTERNAL", parse_bool, False, toml=_BOOL)
FALLBACK = _Spec("fallback", "PYV_FALLBACK", _choice("system", "error"), "system")
STORES: _Spec[tuple[Path, ...]] = _Spec(
    "stores", "PYV_STORES", _parse_paths, (), toml=(list, str))
CONNECT_TIMEOUT = _Spec("connect_timeout", "PYV_CONNECT_TIMEOUT", _parse_float, 15.0, toml=_NUMBER)
READ_TIMEOUT = _Spec("read_timeout", "PYV_READ_TIMEOUT", _parse_float, 60.0, toml=_NUMBER)
#: A download slower than 1 KiB/s over this many seconds fails (0: never).
STALL_TIMEOUT = _Spec("stall_timeout", "PYV_STALL_TIMEOUT", _parse_float, 30.0, toml=_NUMBER)
RETRIES = _Spec("retries", "PYV_RETRIES", _parse_int, 4, toml=(int,))
PROGRESS = _Spec("progress", "PYV_PROGRESS", parse_bool, True, toml=_BOOL)
LATEST_RELEASE_URL = _Spec(
    "latest_release_url", "PYV_LATEST_RELEASE_URL", _parse_str, PBS_LATEST_RELEASE_URL)
RELEASE_DOWNLOAD_URL = _Spec(
    "release_download_url", "PYV_RELEASE_DOWNLOAD_URL", _parse_str, PBS_DOWNLOAD_PREFIX)

@record(frozen=True)
class Settings:
    """Resolved configuration. Build with :func:`load_settings`."""

    home: Path
    config_file: Path | None = None
    python_install_mirror: str | None = PYTHON_INSTALL_MIRROR.default
    pypy_install_mirror: str | None = PYPY_INSTALL_MIRROR.default
    graalpy_install_mirror: str | None = GRAALPY_INSTALL_MIRROR.default
    downloads_json: str | None = DOWNLOADS_JSON.default
    offline: bool = OFFLINE.default
    #: Preferred x86-64 microarchitecture build: "" (baseline), "v2", "v3", "v4", or "auto"
    #: (the best the CPU supports).
    arch_variant: str = ARCH_VARIANT.default
    externally_managed: bool = EXTERNALLY_MANAGED.default
    #: None = the default: compile for shared stores (``--store``), not for your own.
    compile_bytecode: bool | None = COMPILE_BYTECODE.default
    lock_timeout: float = LOCK_TIMEOUT.default
    lock_mode: str = LOCK_MODE.default  # auto | fcntl | lockfile
    auto_install: bool = AUTO_INSTALL.default
    external: bool = EXTERNAL.default
    fallback: str = FALLBACK.default  # system | error
    stores: tuple[Path, ...] = STORES.default
    connect_timeout: float = CONNECT_TIMEOUT.default
    read_timeout: float = READ_TIMEOUT.default
    stall_timeout: float = STALL_TIMEOUT.default
    retries: int = RETRIES.default
    progress: bool = PROGRESS.default
    #: Upstream endpoints for ``pyv update``; settings so tests can point them at loopback.
    latest_release_url: str = LATEST_RELEASE_URL.default
    release_download_url: str = RELEASE_DOWNLOAD_URL.default
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
        """Direct-lookup index the shims use (see :mod:`pyv.choose.shims`)."""
        return self.home / "index"

    @property
    def catalog_dir(self) -> Path:
        """Where ``pyv update`` keeps a refreshed catalog."""
        return self.home / "catalog"

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)


_SPECS: tuple[_Spec[Any], ...] = (
    PYTHON_INSTALL_MIRROR, PYPY_INSTALL_MIRROR, GRAALPY_INSTALL_MIRROR, DOWNLOADS_JSON, OFFLINE,
    ARCH_VARIANT, EXTERNALLY_MANAGED, COMPILE_BYTECODE, LOCK_TIMEOUT, LOCK_MODE, AUTO_INSTALL,
    EXTERNAL, FALLBACK, STORES, CONNECT_TIMEOUT, READ_TIMEOUT, STALL_TIMEOUT, RETRIES, PROGRESS,
    LATEST_RELEASE_URL, RELEASE_DOWNLOAD_URL,
)

#: Config-file keys are the attribute names, with ``-`` accepted for ``_``.
CONFIG_KEYS = frozenset(spec.attr for spec in _SPECS)


def default_home(environ: Mapping[str, str]) -> Path:
    """``$PYV_HOME`` if set, else platformdirs' user data dir for pyv."""
    return Path(locations.home_dir(environ))


def config_file_path(environ: Mapping[str, str]) -> Path:
    return Path(locations.config_file(environ))


def parse_toml(text: str) -> dict[str, Any]:
    """``text`` parsed as TOML; a ``ValueError`` (``TOMLDecodeError``) when it is not.

    tomllib is imported here, not at the top: the hot commands never read TOML.
    """
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    parsed: dict[str, Any] = tomllib.loads(text)
    return parsed


def read_config_file(path: Path, *, required: bool = False) -> dict[str, tuple[str, object]]:
    """The config file's settings as ``{attr: (key as written, value)}``.

    A missing file is an empty config unless ``required`` (``PYV_CONFIG_FILE``
    names it). Everything docs/settings.md does not allow is an error naming the
    file and the key: unknown keys and tables, a key given twice (``auto_install``
    and ``auto-install``).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"PYV_CONFIG_FILE names {path}, which does not exist",
                              "create it, or unset PYV_CONFIG_FILE") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        parsed = parse_toml(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ConfigError(
            f"config file {path} is not valid TOML: {reason}", "fix or remove the file"
        ) from None
    # A flat file, or one [pyv] table (the form uv users know from pyproject); not both.
    table = parsed
    if "pyv" in parsed:
        table = parsed["pyv"]
        if not isinstance(table, dict):
            raise ConfigError(f"config file {path}: pyv must be a table ([pyv]), "
                              f"got {_shown(table)}")
        others = [k for k in parsed if k != "pyv"]
        if others:
            what = "table" if isinstance(parsed[others[0]], dict) else "key"
            raise ConfigError(
                f"config file {path}: unknown {what} {_shown(others[0])} beside [pyv]",
                "put every setting inside [pyv]",
            )
    result: dict[str, tuple[str, object]] = {}
    for key, value in table.items():
        attr = key.replace("-", "_")
        if attr not in CONFIG_KEYS:
            known = ", ".join(sorted(CONFIG_KEYS))
            what = "table" if isinstance(value, dict) else "setting"
            raise ConfigError(f"config file {path}: unknown {what} {_shown(key)}",
                              f"known: {known}")
        if attr in result:
            raise ConfigError(
                f"config file {path}: {result[attr][0]!r} and {key!r} are the same setting",
                "keep one of them",
            )
        result[attr] = (key, value)
    return result


class _Sources:
    """Where settings come from, highest first: flags, the environment, the config file."""

    def __init__(
        self,
        overrides: Mapping[str, object],
        environ: Mapping[str, str],
        config: Mapping[str, tuple[str, object]],
        config_path: Path,
    ) -> None:
        unknown = set(overrides) - CONFIG_KEYS - {"home"}
        if unknown:
            raise TypeError(f"not a setting: {sorted(unknown)}")
        self.overrides = overrides
        self.environ = environ
        self.config = config
        self.config_path = config_path

    def given(self, spec: _Spec[Any]) -> bool:
        return (
            self.overrides.get(spec.attr) is not None
            or spec.env in self.environ
            or spec.attr in self.config
        )

    def get(self, spec: _Spec[T]) -> T:
        raw = self.overrides.get(spec.attr)
        if raw is not None:
            return spec.parse(raw, f"--{spec.attr.replace('_', '-')}")
        if spec.env in self.environ:
            return spec.parse(self.environ[spec.env], spec.env)
        if spec.attr in self.config:
            key, value = self.config[spec.attr]
            name = f"{key} (in {self.config_path})"
            if type(value) not in spec.toml:
                raise ConfigError(f"{name} must be {spec.expects}, got {_shown(value)}")
            return spec.parse(value, name)
        return spec.default


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Resolve settings from (highest first) ``overrides`` (CLI flags), ``environ``,
    the config file, and defaults."""
    env: Mapping[str, str] = dict(os.environ if environ is None else environ)
    overrides = overrides or {}
    if overrides.get("home") is not None:
        home = check_path(str(overrides["home"]), "--home").absolute()
    else:
        home = check_path(str(default_home(env)), "PYV_HOME")
    if home.exists() and not home.is_dir():
        raise ConfigError(f"PYV_HOME {home} is not a directory", "point PYV_HOME at a directory")
    config_path = check_path(str(config_file_path(env)), "PYV_CONFIG_FILE")
    explicit = bool(env.get("PYV_CONFIG_FILE", "").strip())
    src = _Sources(overrides, env, read_config_file(config_path, required=explicit), config_path)
    # NO_COLOR-style conventions for progress: honour CI=true as "no bars" too.
    ci = env.get("CI", "").lower() in _TRUE
    return Settings(
        home=home,
        config_file=config_path,
        python_install_mirror=src.get(PYTHON_INSTALL_MIRROR),
        pypy_install_mirror=src.get(PYPY_INSTALL_MIRROR),
        graalpy_install_mirror=src.get(GRAALPY_INSTALL_MIRROR),
        downloads_json=src.get(DOWNLOADS_JSON),
        offline=src.get(OFFLINE),
        arch_variant=src.get(ARCH_VARIANT),
        externally_managed=src.get(EXTERNALLY_MANAGED),
        compile_bytecode=src.get(COMPILE_BYTECODE),
        lock_timeout=src.get(LOCK_TIMEOUT),
        lock_mode=src.get(LOCK_MODE),
        auto_install=src.get(AUTO_INSTALL),
        external=src.get(EXTERNAL),
        fallback=src.get(FALLBACK),
        stores=src.get(STORES),
        connect_timeout=src.get(CONNECT_TIMEOUT),
        read_timeout=src.get(READ_TIMEOUT),
        stall_timeout=src.get(STALL_TIMEOUT),
        retries=src.get(RETRIES),
        progress=src.get(PROGRESS) if src.given(PROGRESS) or not ci else False,
        latest_release_url=src.get(LATEST_RELEASE_URL),
        release_download_url=src.get(RELEASE_DOWNLOAD_URL),
        environ=env,
    )
