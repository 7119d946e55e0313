"""Shared fixtures: every test runs with its own PYV_HOME, HOME, cwd and environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from archives import BuiltArchive, build_real_archive

PYV_EXE = Path(sys.executable).parent / "pyv"

#: Fixture modules shared between test files (each engineer adds theirs).
pytest_plugins = ["fixtures_http", "fixtures_venv", "fixtures_shims"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A clean environment: no PYV_* leaks in, HOME/XDG/PYV_HOME point into tmp_path."""
    for name in list(os.environ):
        if name.startswith(("PYV_", "UV_", "PYENV_", "VIRTUAL_ENV", "CONDA_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    pyv_home = tmp_path / "pyv-home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("PYV_HOME", str(pyv_home))
    monkeypatch.setenv("PYV_PROGRESS", "0")
    # No test may reach a real package index: seeding falls back to bundled wheels.
    monkeypatch.setenv("PYV_INDEX_URL", (tmp_path / "no-index").as_uri())
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield dict(os.environ)


@pytest.fixture
def pyv_home(isolated_env: dict[str, str]) -> Path:
    return Path(isolated_env["PYV_HOME"])


@pytest.fixture
def run_pyv() -> object:
    """Run the real ``pyv`` console script in a subprocess, as a user would."""

    def run(
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        check: bool = False,
        timeout: float = 300,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        exe = str(PYV_EXE) if PYV_EXE.exists() else shutil.which("pyv")
        cmd = [exe, *args] if exe else [sys.executable, "-m", "pyv", *args]
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        result = subprocess.run(
            cmd, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pyv {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    return run


@pytest.fixture(scope="session")
def real_archive(tmp_path_factory: pytest.TempPathFactory) -> BuiltArchive:
    """The running interpreter packed as a python-build-standalone archive (built once).

    Under pytest-xdist the workers share the build through a lock in the common
    base temp directory.
    """
    from filelock import FileLock

    # Under xdist each worker's base temp sits in the run's directory; share that one.
    # Without xdist the parent is shared by every run, so stay inside this run's.
    base = tmp_path_factory.getbasetemp()
    run_dir = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = run_dir / "pyv-real-archive"
    shared.mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared / ".lock")):
        marker = shared / "done"
        if marker.exists():
            import json

            data = json.loads(marker.read_text())
            return BuiltArchive(
                path=Path(data["path"]),
                sha256=data["sha256"],
                version=tuple(data["version"]),
                build=data["build"],  # type: ignore[arg-type]
            )
        archive = build_real_archive(shared)
        import json

        marker.write_text(
            json.dumps(
                {
                    "path": str(archive.path),
                    "sha256": archive.sha256,
                    "version": list(archive.version),
                    "build": archive.build,
                }
            )
        )
        return archive
