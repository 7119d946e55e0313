"""What environments exist: named ones in ``envs/``, and project ones pyv created.

Project environments are remembered in ``envs/.projects.jsonl`` (one JSON
object per line; entries whose ``pyvenv.cfg`` is gone are pruned on read) so
that ``pyv uninstall`` can tell which interpreters are still in use.

Recording a new environment is one ``O_APPEND`` write of one short line, which
POSIX makes atomic between writers, so ``pyv venv`` takes no lock for it. The
pruning rewrite holds the envs lock and gives up if the file grew meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import PyvError, from_os_error
from pyv.core import locations
from pyv.core.locations import RECORD
from pyv.venv.layout import PROJECTS_FILE

if TYPE_CHECKING:
    from pyv.core.settings import Settings

ENVS_LOCK = ".lock"


def read_pyvenv_cfg(env: Path) -> dict[str, str]:
    """``pyvenv.cfg`` as a dict (empty if missing or unreadable)."""
    result: dict[str, str] = {}
    try:
        text = (env / "pyvenv.cfg").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return result
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip().lower()] = value.strip()
    return result


def envs_lock(settings: Settings) -> contextlib.AbstractContextManager[None]:
    from pyv.core.locking import acquire

    return acquire(settings.envs_dir / ENVS_LOCK, timeout=settings.lock_timeout,
                   mode=settings.lock_mode, what=f"the named environments in {settings.envs_dir}")


def named_environments(settings: Settings) -> list[Path]:
    """The named environments (see :func:`pyv.core.locations.named_environments`)."""
    return [Path(p) for p in locations.named_environments(str(settings.envs_dir))]


def register_project(settings: Settings, env: Path) -> None:
    """Remember a project environment pyv created (one atomic append)."""
    from pyv.venv.layout import record_project

    try:
        record_project(str(settings.envs_dir), str(env))
    except OSError as exc:
        raise from_os_error(exc, "recording the new environment") from None


def project_environments(settings: Settings) -> list[Path]:
    """Project environments pyv created that still exist (the file is pruned of the rest)."""
    path = settings.envs_dir / PROJECTS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    alive: list[Path] = []
    for line in lines:
        try:
            env = Path(json.loads(line)["path"])
        except (ValueError, KeyError, TypeError):
            continue
        if env not in alive and (env / "pyvenv.cfg").is_file():
            alive.append(env)
    if len(alive) != len(lines):
        with contextlib.suppress(OSError, ValueError, PyvError):
            _rewrite(settings, path, alive)
    return alive


def _rewrite(settings: Settings, path: Path, alive: list[Path]) -> None:
    with envs_lock(settings):
        # Re-read under the lock: another process may have appended meanwhile.
        keep: list[str] = []
        seen: set[str] = set()
        data = path.read_bytes()
        for line in data.decode("utf-8", "replace").splitlines():
            try:
                env = str(json.loads(line)["path"])
            except (ValueError, KeyError, TypeError):
                continue
            if env not in seen and (Path(env) / "pyvenv.cfg").is_file():
                seen.add(env)
                keep.append(line)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8")
        if path.stat().st_size != len(data):
            tmp.unlink()  # a new environment was recorded meanwhile; prune next time
            return
        os.replace(tmp, path)


def environment_home(env: Path) -> Path | None:
    home = read_pyvenv_cfg(env).get("home")
    return Path(home) if home else None


def environments_using(settings: Settings, installation_path: Path) -> list[Path]:
    """Named and pyv-made project environments whose interpreter lives in ``installation_path``.

    ``home`` is resolved, so an environment that follows a minor link counts for
    the patch the link points at now.
    """
    try:
        root = installation_path.resolve()
    except OSError:
        return []
    users: list[Path] = []
    for env in [*named_environments(settings), *project_environments(settings)]:
        home = environment_home(env)
        if home is None:
            continue
        try:
            # The prefix resolved (minor links followed) and the bin dir itself resolved.
            places = {home.parent.resolve() / home.name, home.resolve()}
        except OSError:
            continue
        if any(p == root or root in p.parents for p in places) and env not in users:
            users.append(env)
    return users


@dataclass(frozen=True)
class EnvironmentInfo:
    """One named environment as `pyv envs` shows it."""

    name: str
    path: Path
    interpreter: str
    version: str
    implementation: str
    size: int
    follows_minor: bool
    broken: bool

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "path": str(self.path), "interpreter": self.interpreter,
                "version": self.version, "implementation": self.implementation,
                "size": self.size, "follows_minor": self.follows_minor, "broken": self.broken}


def tree_size(path: Path) -> int:
    """Bytes used by the files of a tree (symlinks not followed; hard links once)."""
    from pyv.core.fsutil import tree_usage

    return tree_usage(path).bytes


def describe_environment(env: Path, *, with_size: bool = True) -> EnvironmentInfo:
    cfg = read_pyvenv_cfg(env)
    link = env / "bin" / "python"
    try:
        interpreter = os.readlink(link)
    except OSError:
        interpreter = cfg.get("executable", "")
    version = cfg.get("version") or cfg.get("version_info", "")
    version = ".".join(version.split(".")[:3])
    home = cfg.get("home", "")
    # A managed base records its real version; through a minor link it moves on upgrade.
    record = Path(home).parent / RECORD if home else None
    if record is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            version = str(json.loads(record.read_text(encoding="utf-8"))["version"])
    follows = bool(home) and Path(home).parent.is_symlink()
    broken = not os.path.exists(link)
    return EnvironmentInfo(
        name=env.name, path=env, interpreter=interpreter, version=version,
        implementation=cfg.get("implementation", ""),
        size=tree_size(env) if with_size else 0, follows_minor=follows, broken=broken,
    )
