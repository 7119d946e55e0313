"""PyPy and GraalPy: install, list, find, select, shims, venvs and uninstall.

Synthetic archives in the real release layouts (see ``archives.build_pypy_archive``
and ``archives.build_graalpy_archive``) are served from loopback under their
upstream URL shapes; ``PYV_PYPY_INSTALL_MIRROR``/``PYV_GRAALPY_INSTALL_MIRROR``
point pyv at the server.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from archives import (
    BuiltArchive,
    UpstreamArchive,
    build_graalpy_archive,
    build_pypy_archive,
    build_synthetic_archive,
    mirror_layout,
    write_catalog,
)
from fixtures_http import LoopbackServer
from pyv.core.errors import ExitCode

PLATFORM = "linux-x86_64-gnu"
PYPY_KEY = f"pypy-3.10.14-{PLATFORM}"
PYPY_MINOR_KEY = f"pypy-3.10-{PLATFORM}"
GRAALPY_KEY = f"graalpy-3.12.0-{PLATFORM}"
GRAALPY_MINOR_KEY = f"graalpy-3.12-{PLATFORM}"


@pytest.fixture(scope="module")
def other_archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltArchive]:
    d = tmp_path_factory.mktemp("impl-archives")
    return {
        "pypy": build_pypy_archive(d / "pypy"),
        "pypy-gz": build_pypy_archive(d / "pypy-gz", (3, 9, 19), "7.3.16", ext="tar.gz"),
        "graalpy": build_graalpy_archive(d / "graalpy"),
        "cpython": build_synthetic_archive(d / "cpython", (3, 10, 15), build="20241016"),
    }


@pytest.fixture
def serve(http_server: LoopbackServer, tmp_path: Path):
    """``serve(archives)``: lay archives out like their upstreams; return pyv's env."""

    def make(archives: Iterable[BuiltArchive]) -> dict[str, str]:
        items = list(archives)
        for archive in items:
            if isinstance(archive, UpstreamArchive):
                target = http_server.root / archive.implementation / archive.mirror_path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(archive.path, target)
            else:
                mirror_layout(http_server.root / "cpython", archive)
        catalog = write_catalog(tmp_path / "catalog.json", items)
        return {
            "PYV_DOWNLOADS_JSON": str(catalog),
            "PYV_PYTHON_INSTALL_MIRROR": f"{http_server.url}/cpython",
            "PYV_PYPY_INSTALL_MIRROR": f"{http_server.url}/pypy",
            "PYV_GRAALPY_INSTALL_MIRROR": f"{http_server.url}/graalpy",
        }

    return make


def _record(pyv_home: Path, key: str) -> dict[str, object]:
    return json.loads((pyv_home / "pythons" / key / ".pyv-install.json").read_text())


def test_pypy_installs_from_its_mirror_in_its_layout(
    run_pyv, serve, other_archives, http_server, pyv_home
):
    archive = other_archives["pypy"]
    assert archive.path.name == "pypy3.10-v7.3.17-linux64.tar.bz2"
    env = serve([archive])
    result = run_pyv("install", "pypy@3.10", env=env)
    assert result.returncode == 0, result.stderr
    assert http_server.count(f"/pypy/{archive.path.name}") == 1
    install_dir = pyv_home / "pythons" / PYPY_KEY
    # The top-level directory is stripped: the tree starts at bin/, lib/, include/.
    assert sorted(p.name for p in install_dir.iterdir()) == [
        ".pyv-install.json", "LICENSE", "README.rst", "bin", "include", "lib"]
    record = _record(pyv_home, PYPY_KEY)
    assert record["executable"] == "bin/pypy3.10"
    assert record["implementation"] == "pypy" and record["build"] == "7.3.17"
    assert record["url"] == archive.url and record["sha256"] == archive.sha256
    assert os.readlink(pyv_home / "pythons" / PYPY_MINOR_KEY) == PYPY_KEY
    assert (install_dir / "lib" / "pypy3.10" / "EXTERNALLY-MANAGED").is_file()
    for name in ("pypy", "pypy3", "python", "python3", "python3.10"):
        assert os.readlink(install_dir / "bin" / name) == "pypy3.10"

    listed = json.loads(run_pyv("list", "--installed", "--json", env=env, check=True).stdout)
    [row] = listed["pythons"]
    assert row["key"] == PYPY_KEY
    assert row["path"] == str(install_dir / "bin" / "pypy3.10")
    for request in ("pypy@3.10", "pypy3.10", "pypy", PYPY_KEY, PYPY_MINOR_KEY):
        found = run_pyv("find", request, env=env)
        assert found.returncode == 0, (request, found.stderr)
        assert found.stdout.strip() == str(install_dir / "bin" / "pypy3.10"), request
    # CPython requests do not pick PyPy.
    assert run_pyv("find", "cpython@3.10", "--managed-only", env=env).returncode == (
        ExitCode.NOT_FOUND)
    again = run_pyv("install", "pypy3.10", env=env, check=True)
    assert "already installed" in again.stderr


def test_pypy_tar_gz_and_older_minor(run_pyv, serve, other_archives, pyv_home):
    archive = other_archives["pypy-gz"]
    env = serve([other_archives["pypy"], archive])
    # --compile-bytecode runs the interpreter's compileall on lib/pypy3.9.
    run_pyv("install", "pypy@3.9", "--compile-bytecode", env=env, check=True)
    key = f"pypy-3.9.19-{PLATFORM}"
    assert _record(pyv_home, key)["executable"] == "bin/pypy3.9"
    assert os.readlink(pyv_home / "pythons" / f"pypy-3.9-{PLATFORM}") == key


def test_graalpy_installs_from_its_mirror_in_its_layout(
    run_pyv, serve, other_archives, http_server, pyv_home
):
    archive = other_archives["graalpy"]
    env = serve([archive])
    result = run_pyv("install", "graalpy@3.12", env=env)
    assert result.returncode == 0, result.stderr
    assert http_server.count(f"/graalpy/graal-25.0.1/{archive.path.name}") == 1
    install_dir = pyv_home / "pythons" / GRAALPY_KEY
    assert (install_dir / "release").is_file() and (install_dir / "lib" / "graalpy25.0").is_dir()
    record = _record(pyv_home, GRAALPY_KEY)
    assert record["executable"] == "bin/graalpy"
    assert os.readlink(pyv_home / "pythons" / GRAALPY_MINOR_KEY) == GRAALPY_KEY
    assert (install_dir / "lib" / "python3.12" / "EXTERNALLY-MANAGED").is_file()
    # The launcher copies stay files; the missing versioned name is linked to graalpy.
    assert not (install_dir / "bin" / "python3").is_symlink()
    assert os.readlink(install_dir / "bin" / "python3.12") == "graalpy"
    found = run_pyv("find", "graalpy@3.12", env=env, check=True).stdout.strip()
    assert found == str(install_dir / "bin" / "graalpy")
    listed = json.loads(run_pyv("list", "--installed", "--json", env=env, check=True).stdout)
    assert [r["key"] for r in listed["pythons"]] == [GRAALPY_KEY]


def _shim(pyv_home: Path, name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(pyv_home / "shims" / name), "-c", "pass"], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("spelling", ["pypy3.10", "pypy@3.10", PYPY_MINOR_KEY])
def test_pypy_selected_by_python_version_file_runs_through_shims(
    run_pyv, serve, other_archives, pyv_home, tmp_path, spelling
):
    env = serve([other_archives["pypy"], other_archives["cpython"]])
    run_pyv("install", "pypy@3.10", "3.10", env=env, check=True)
    project = tmp_path / "project"
    project.mkdir()
    (project / ".python-version").write_text(f"{spelling}\n")
    shims = sorted(p.name for p in (pyv_home / "shims").iterdir() if not p.name.startswith("."))
    assert {"pypy", "pypy3", "pypy3.10", "python", "python3", "python3.10"} <= set(shims)
    for name in ("python", "python3", "pypy3", "pypy3.10"):
        ran = _shim(pyv_home, name, project)
        assert ran.returncode == 0, (name, ran.stderr)
        assert ran.stdout.startswith("synthetic-pypy 3.10.14 "), (name, ran.stdout)
        ran_path = ran.stdout.split()[2]
        assert Path(ran_path).name == name
        executable = pyv_home / "pythons" / PYPY_KEY / "bin" / "pypy3.10"
        assert os.path.realpath(ran_path) == str(executable)
    # Without the file the same minor means CPython (preferred over PyPy).
    other = tmp_path / "other"
    other.mkdir()
    (other / ".python-version").write_text("3.10\n")
    ran = _shim(pyv_home, "python", other)
    assert ran.stdout.startswith("synthetic-python 3.10.15"), ran.stdout + ran.stderr
    which = run_pyv("which", "python", cwd=project, env=env, check=True).stdout.strip()
    # What the shim runs: through the minor link for a request without a patch.
    assert os.path.realpath(which) == \
        os.path.realpath(pyv_home / "pythons" / PYPY_KEY / "bin" / "python")
    assert Path(which).parent.parent.parent == pyv_home / "pythons"


def test_graalpy_selected_runs_through_shims(run_pyv, serve, other_archives, pyv_home, tmp_path):
    env = serve([other_archives["graalpy"]])
    run_pyv("install", "graalpy@3.12", env=env, check=True)
    (tmp_path / ".python-version").write_text("graalpy@3.12\n")
    for name in ("python", "python3", "graalpy"):
        ran = _shim(pyv_home, name, tmp_path)
        assert ran.returncode == 0, (name, ran.stderr)
        assert ran.stdout.startswith("synthetic-graalpy 3.12.0 "), (name, ran.stdout)


def test_venv_from_pypy_links_its_executable(run_pyv, serve, other_archives, pyv_home, tmp_path):
    env = serve([other_archives["pypy"]])
    run_pyv("install", "pypy@3.10", env=env, check=True)
    result = run_pyv("venv", "-p", "pypy@3.10", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    venv = tmp_path / ".venv"
    cfg = dict(
        line.split(" = ", 1) for line in (venv / "pyvenv.cfg").read_text().splitlines()
    )
    # A minor request goes through the minor link, so `pyv upgrade` carries the venv along.
    minor_bin = pyv_home / "pythons" / PYPY_MINOR_KEY / "bin"
    assert cfg["home"] == str(minor_bin)
    assert cfg["executable"] == str(minor_bin / "pypy3.10")
    assert cfg["implementation"] == "PyPy"
    assert cfg["version_info"] == "3.10.14.final.0"
    assert os.readlink(venv / "bin" / "python") == str(minor_bin / "pypy3.10")
    for name in ("python3", "python3.10", "pypy3.10"):
        assert os.readlink(venv / "bin" / name) == "python"
    assert (venv / "lib" / "pypy3.10" / "site-packages").is_dir()
    ran = subprocess.run([str(venv / "bin" / "pypy3.10"), "-c", "pass"], capture_output=True,
                         text=True, check=True)
    assert ran.stdout.startswith("synthetic-pypy 3.10.14")


def test_venv_from_graalpy(run_pyv, serve, other_archives, pyv_home, tmp_path):
    env = serve([other_archives["graalpy"]])
    run_pyv("install", "graalpy@3.12", env=env, check=True)
    result = run_pyv("venv", "-p", "graalpy@3.12", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    venv = tmp_path / ".venv"
    cfg = (venv / "pyvenv.cfg").read_text()
    assert f"executable = {pyv_home / 'pythons' / GRAALPY_MINOR_KEY / 'bin' / 'graalpy'}" in cfg
    assert (venv / "lib" / "python3.12" / "site-packages").is_dir()
    assert os.readlink(venv / "bin" / "graalpy") == "python"


def test_uninstall_pypy_keeps_cpython_of_same_minor(
    run_pyv, serve, other_archives, pyv_home
):
    env = serve([other_archives["pypy"], other_archives["cpython"]])
    run_pyv("install", "pypy@3.10", "3.10", env=env, check=True)
    run_pyv("uninstall", "pypy@3.10", env=env, check=True)
    pythons = pyv_home / "pythons"
    assert not (pythons / PYPY_KEY).exists()
    assert not (pythons / PYPY_MINOR_KEY).is_symlink()
    assert (pythons / f"cpython-3.10.15-{PLATFORM}").is_dir()
    assert not (pyv_home / "shims" / "pypy3").exists()
    assert run_pyv("find", "pypy@3.10", env=env).returncode == ExitCode.NOT_FOUND
