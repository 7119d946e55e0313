"""``pyv list --external``: interpreters pyenv, uv, conda and PATH hold, found by reading files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def _fake_python(prefix: Path, marker: Path, *, name: str = "python3",
                 patchlevel: str | None = None) -> Path:
    """An interpreter that leaves ``marker`` behind if anything ever starts it."""
    (prefix / "bin").mkdir(parents=True)
    exe = prefix / "bin" / name
    exe.write_text(f"#!/bin/sh\necho started >> '{marker}'\nexit 1\n")
    exe.chmod(0o755)
    if patchlevel is not None:
        minor = ".".join(patchlevel.split(".")[:2])
        (prefix / "include" / f"python{minor}").mkdir(parents=True)
        (prefix / "include" / f"python{minor}" / "patchlevel.h").write_text(
            f'#define PY_MAJOR_VERSION 3\n#define PY_VERSION      "{patchlevel}"\n')
    return exe


def _trees(tmp_path: Path) -> tuple[dict[str, str], dict[str, Path], Path]:
    marker = tmp_path / "started"
    home = Path(os.environ["HOME"])
    pyenv_root = tmp_path / "pyenv"
    uv_dir = tmp_path / "uv-python"
    conda_env = tmp_path / "conda" / "envs" / "sci"
    path_dir = tmp_path / "path-bin"
    exes = {
        "pyenv": _fake_python(pyenv_root / "versions" / "3.10.4", marker),
        "pyenv-patchlevel": _fake_python(pyenv_root / "versions" / "system-build", marker,
                                         patchlevel="3.8.12"),
        "uv": _fake_python(uv_dir / "cpython-3.12.1-linux-x86_64-gnu", marker),
        "conda": _fake_python(conda_env, marker),
        "path": _fake_python(tmp_path / "module" / "python-3.11", marker, name="python3",
                             patchlevel="3.11.9"),
    }
    # A pyenv-virtualenv environment is an environment, not an interpreter: not listed.
    _fake_python(pyenv_root / "versions" / "myenv", marker)
    (pyenv_root / "versions" / "myenv" / "pyvenv.cfg").write_text("version = 3.10.4\n")
    (conda_env / "conda-meta").mkdir()
    (conda_env / "conda-meta" / "python-3.9.18-h955ad1f_0.json").write_text("{}")
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text(f"{conda_env}\n/no/such/env\n")
    path_dir.mkdir()
    os.symlink(exes["path"], path_dir / "python3")  # as `module load python/3.11` does
    env = {"PYENV_ROOT": str(pyenv_root), "UV_PYTHON_INSTALL_DIR": str(uv_dir),
           "PATH": f"{path_dir}{os.pathsep}{os.environ['PATH']}"}
    return env, exes, marker


def test_lists_every_source_marked_not_managed_without_starting_them(run_pyv, tmp_path):
    env, exes, marker = _trees(tmp_path)
    result = run_pyv("list", "--external", "--json", env=env, check=True)
    rows = {row["path"]: row for row in json.loads(result.stdout)["external"]}
    expected = {
        exes["pyenv"]: ("pyenv", "3.10.4"), exes["pyenv-patchlevel"]: ("pyenv", "3.8.12"),
        exes["uv"]: ("uv", "3.12.1"), exes["conda"]: ("conda", "3.9.18"),
    }
    for exe, (source, version) in expected.items():
        row = rows[str(exe)]
        assert (row["source"], row["version"], row["managed"]) == (source, version, False)
    module = rows[str(tmp_path / "path-bin" / "python3")]
    assert (module["source"], module["version"]) == ("path", "3.11.9")
    assert str(tmp_path / "pyenv" / "versions" / "myenv" / "bin" / "python3") not in rows
    assert not marker.exists()
    text = run_pyv("list", "--external", "3.12", env=env, check=True).stdout
    lines = [line.split() for line in text.splitlines()]
    assert ["cpython-3.12.1", "uv", "(not", "managed)", str(exes["uv"])] in lines
    assert all(line[0].startswith("cpython-3.12") for line in lines)


def test_never_modified_and_a_vanished_one_is_just_gone(run_pyv, tmp_path, pyv_home):
    env, exes, marker = _trees(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    shutil.rmtree(tmp_path / "uv-python" / "cpython-3.12.1-linux-x86_64-gnu")
    result = run_pyv("list", "--external", "--json", env=env, check=True)
    paths = [row["path"] for row in json.loads(result.stdout)["external"]]
    assert str(exes["uv"]) not in paths and str(exes["conda"]) in paths
    refused = run_pyv("uninstall", "3.9", env=env)
    assert refused.returncode != 0 and exes["conda"].exists()
    after = sorted(str(p) for p in tmp_path.rglob("*") if "uv-python" not in str(p))
    assert [p for p in before if "uv-python" not in p] == [
        p for p in after if not p.startswith(str(pyv_home))]
    assert not marker.exists()


def test_a_version_file_selects_them_only_when_turned_on(run_pyv, tmp_path):
    import sys

    from fixtures_venv import REAL_MINOR, system_python

    prefix = tmp_path / "pyenv" / "versions" / ".".join(map(str, sys.version_info[:3]))
    (prefix / "bin").mkdir(parents=True)
    for name in ("python", "python3"):
        os.symlink(system_python(), prefix / "bin" / name)
    (Path.cwd() / ".python-version").write_text(f"{REAL_MINOR}\n")
    (tmp_path / "empty").mkdir()
    # No interpreter on PATH, so only the pyenv one can match when turned on.
    env = {"PYENV_ROOT": str(tmp_path / "pyenv"), "PATH": str(tmp_path / "empty")}
    show = ("python", "-c", "import sys; print(sys.executable)")
    off = run_pyv("run", *show, env=env)
    assert off.returncode == 127 and f"pyv install {REAL_MINOR}" in off.stderr
    on = run_pyv("run", *show, env={**env, "PYV_EXTERNAL": "1"}, check=True)
    assert Path(on.stdout.strip()) == prefix / "bin" / "python"
    which = run_pyv("which", "python", env={**env, "PYV_EXTERNAL": "1"}, check=True)
    assert Path(which.stdout.strip()) == prefix / "bin" / "python"
    shutil.rmtree(prefix)  # pyenv uninstalled it: back to the managed rule, one line
    gone = run_pyv("run", *show, env={**env, "PYV_EXTERNAL": "1"})
    assert gone.returncode == 127 and gone.stderr.count("\n") == 1
    assert f"pyv install {REAL_MINOR}" in gone.stderr
