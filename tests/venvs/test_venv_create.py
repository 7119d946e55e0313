"""Creating project and named environments: contents, interpreters, targets, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures_venv import (
    REAL_MINOR,
    ManagedPython,
    add_installation,
    build_wheel,
    point_minor_link,
    system_python,
)
from pyv.core.errors import NotFound, PyvError, UsageError
from pyv.core.settings import load_settings
from pyv.venv.manage import environments_using, make_environment
from pyv.venv.names import validate_name

VERSION = ".".join(map(str, sys.version_info[:3]))


def _python(env: Path, code: str) -> str:
    return subprocess.run([str(env / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, check=True).stdout.strip()


def _cfg(env: Path) -> dict[str, str]:
    lines = (env / "pyvenv.cfg").read_text().splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in lines)}


def test_project_env_from_system_interpreter(run_pyv, tmp_path):
    base = system_python()
    result = run_pyv("venv", "-p", str(base), check=True)
    env = Path.cwd() / ".venv"
    assert "Created .venv" in result.stderr
    cfg = _cfg(env)
    assert cfg["home"] == str(base.parent)
    assert cfg["include-system-site-packages"] == "false"
    assert cfg["version"] == VERSION
    assert cfg["version_info"].startswith(VERSION + ".")
    assert cfg["implementation"] == "CPython"
    assert cfg["executable"] == str(base)
    assert cfg["command"].startswith("pyv venv ")
    assert os.readlink(env / "bin" / "python") == str(base)
    for name in ("python3", f"python{REAL_MINOR}"):
        assert os.readlink(env / "bin" / name) == "python"
    assert (env / "lib" / f"python{REAL_MINOR}" / "site-packages").is_dir()
    assert os.readlink(env / "lib64") == "lib"
    assert (env / ".gitignore").read_text().splitlines()[-1] == "*"
    tag = (env / "CACHEDIR.TAG").read_text()
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55")
    for script in ("activate", "activate.fish", "activate.csh", "Activate.ps1"):
        text = (env / "bin" / script).read_text()
        assert str(env) in text and "@@" not in text
    prefix, base_prefix, site = _python(
        env, "import sys, site; print(sys.prefix); print(sys.base_prefix); "
             "print(site.getsitepackages()[0])").splitlines()
    assert Path(prefix) == env and prefix != base_prefix
    assert Path(site) == env / "lib" / f"python{REAL_MINOR}" / "site-packages"
    assert subprocess.run([str(env / "bin" / "python"), "-c",
                           "import sys; assert sys.prefix != sys.base_prefix"]).returncode == 0


def test_system_keyword_and_options(run_pyv, tmp_path):
    env_vars = {"PATH": f"{system_python().parent}{os.pathsep}{os.environ['PATH']}"}
    run_pyv("venv", "-p", "system", "--prompt", "my proj", "--system-site-packages", "there",
            env=env_vars, check=True)
    env = Path.cwd() / "there"
    cfg = _cfg(env)
    assert cfg["include-system-site-packages"] == "true"
    assert cfg["prompt"] == "'my proj'"
    assert "'my proj'" in (env / "bin" / "activate").read_text()
    assert _python(env, "import sys; print(sys.prefix)") == str(env)


def test_managed_minor_request_follows_minor_link(managed_python: ManagedPython, run_pyv):
    result = run_pyv("venv", "-p", REAL_MINOR, "--json", check=True)
    data = json.loads(result.stdout)
    assert data["follows_minor"] is True and data["key"] == managed_python.key
    env = Path.cwd() / ".venv"
    home = Path(_cfg(env)["home"])
    assert home == managed_python.minor_link / "bin"
    assert Path(os.readlink(env / "bin" / "python")).parent == managed_python.minor_link / "bin"
    assert _python(env, "import sys; print(sys.prefix != sys.base_prefix)") == "True"


def test_managed_exact_request_stays_on_patch(managed_python: ManagedPython, run_pyv):
    run_pyv("venv", "-p", managed_python.version, "exact", check=True)
    env = Path.cwd() / "exact"
    assert Path(_cfg(env)["home"]) == managed_python.path / "bin"
    assert Path(os.readlink(env / "bin" / "python")).parent == managed_python.path / "bin"


def test_default_interpreter_is_newest_installed_then_selection(
    managed_python: ManagedPython, run_pyv, unpacked_real_python
):
    run_pyv("venv", check=True)
    assert Path(_cfg(Path.cwd() / ".venv")["home"]) == managed_python.minor_link / "bin"
    # .python-version with an exact version wins over "newest".
    Path(".python-version").write_text(f"{managed_python.version}\n")
    run_pyv("venv", "pinned", check=True)
    assert Path(_cfg(Path.cwd() / "pinned")["home"]) == managed_python.path / "bin"


def test_upgrade_moves_minor_env_but_not_exact_env(
    managed_python: ManagedPython, unpacked_real_python: Path, run_pyv
):
    run_pyv("venv", "-p", REAL_MINOR, "follow", check=True)
    run_pyv("venv", "-p", managed_python.version, "pinned", check=True)
    settings = load_settings()
    follow, pinned = Path.cwd() / "follow", Path.cwd() / "pinned"
    assert environments_using(settings, managed_python.path) == [follow, pinned]
    # A newer patch of the same minor arrives and the store re-points the minor link.
    newer = add_installation(managed_python.store, unpacked_real_python, f"{REAL_MINOR}.99",
                             link_minor=False)
    point_minor_link(newer)
    real = Path(os.path.realpath(follow / "bin" / "python"))
    assert newer.path in real.parents or real.parent == (newer.path / "bin").resolve()
    assert Path(os.readlink(follow / "bin" / "python")).parent == managed_python.minor_link / "bin"
    assert environments_using(settings, newer.path) == [follow]
    assert environments_using(settings, managed_python.path) == [pinned]
    assert _python(follow, "import sys; print(sys.prefix)") == str(follow)


def test_not_installed_names_install_command(run_pyv, pyv_home):
    result = run_pyv("venv", "-p", "3.8")
    assert result.returncode == 3
    assert "`pyv install 3.8`" in result.stderr
    assert not (Path.cwd() / ".venv").exists()
    none = run_pyv("venv")
    assert none.returncode == 3 and "pyv install" in none.stderr


def test_named_environment_lifecycle(managed_python: ManagedPython, run_pyv, pyv_home):
    run_pyv("venv", "--name", "astro", "-p", REAL_MINOR, check=True)
    env = pyv_home / "envs" / "astro"
    assert (env / "pyvenv.cfg").is_file()
    assert "'astro'" in (env / "bin" / "activate").read_text()
    assert run_pyv("envs", "path", "astro", check=True).stdout.strip() == str(env)
    listed = json.loads(run_pyv("envs", "--json", check=True).stdout)
    assert [e["name"] for e in listed] == ["astro"]
    assert listed[0]["version"] == managed_python.version and listed[0]["size"] > 0
    assert listed[0]["follows_minor"] is True
    table = run_pyv("envs", check=True).stdout
    assert "astro" in table and managed_python.version in table
    assert environments_using(load_settings(), managed_python.path) == [env]
    again = run_pyv("venv", "--name", "astro", "-p", REAL_MINOR)
    assert again.returncode == 2 and "--clear" in again.stderr
    run_pyv("envs", "remove", "astro", check=True)
    assert not env.exists()
    missing = run_pyv("envs", "path", "astro")
    assert missing.returncode == 3
    assert run_pyv("envs", "remove", "astro").returncode == 3


def test_uninstall_protection_lists_environments(managed_python: ManagedPython, tmp_path):
    settings = load_settings()
    project = make_environment(settings, Path.cwd(), path="proj", python=REAL_MINOR)
    other = make_environment(settings, Path.cwd(), path="sys", python=str(system_python()))
    assert environments_using(settings, managed_python.path) == [project.path]
    assert environments_using(settings, system_python().parent.parent) == [other.path]
    # A project environment deleted by hand is forgotten (and pruned from the registry).
    import shutil

    shutil.rmtree(project.path)
    assert environments_using(settings, managed_python.path) == []
    registry = (settings.envs_dir / ".projects.jsonl").read_text()
    assert str(project.path) not in registry and str(other.path) in registry


@pytest.mark.parametrize("name", [
    "", "a/b", "..", ".hidden", "x" * 65, "3.12", "312", "system", "any", "latest", "SYSTEM",
    "pypy3.10", "cpython-3.12", "cp312", ">=3.11", "with space", "-dash", "python",
])
def test_invalid_names_refused(name):
    with pytest.raises(UsageError):
        validate_name(name)


@pytest.mark.parametrize("name", ["astro", "astro-env", "data_2024", "a.b", "A", "x" * 64])
def test_valid_names(name):
    assert validate_name(name) == name


def test_invalid_name_on_command_line(run_pyv, pyv_home):
    result = run_pyv("venv", "--name", "3.12", "-p", str(system_python()))
    assert result.returncode == 2 and "version request" in result.stderr
    assert not (pyv_home / "envs" / "3.12").exists()
    both = run_pyv("venv", "here", "--name", "x")
    assert both.returncode == 2


def test_existing_targets(run_pyv, tmp_path):
    base = str(system_python())
    target = Path.cwd() / "env"
    run_pyv("venv", "-p", base, "env", check=True)
    marker = target / "lib" / f"python{REAL_MINOR}" / "site-packages" / "marker.txt"
    marker.write_text("x")
    refused = run_pyv("venv", "-p", base, "env")
    assert refused.returncode == 2 and "already exists" in refused.stderr and marker.exists()
    run_pyv("venv", "-p", base, "env", "--clear", check=True)
    assert not marker.exists() and (target / "pyvenv.cfg").is_file()
    # An empty directory is fine without --clear; a file or a non-environment is not.
    (Path.cwd() / "empty").mkdir()
    run_pyv("venv", "-p", base, "empty", check=True)
    (Path.cwd() / "afile").write_text("x")
    assert run_pyv("venv", "-p", base, "afile", "--clear").returncode == 2
    project = Path.cwd() / "project"
    project.mkdir()
    (project / "important.txt").write_text("keep")
    result = run_pyv("venv", "-p", base, "project", "--clear")
    assert result.returncode == 2 and "not a virtual environment" in result.stderr
    assert (project / "important.txt").read_text() == "keep"
    assert not [p for p in Path.cwd().iterdir() if p.name.startswith(".")]


def test_failure_part_way_leaves_nothing(pyv_home, tmp_path):
    settings = load_settings(overrides={"offline": True})
    cache = settings.cache_dir / "wheels"
    cache.mkdir(parents=True)
    (cache / "pip-99.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(PyvError) as info:
        make_environment(settings, Path.cwd(), path="broken", python=str(system_python()),
                         seed=True)
    assert "pip-99.0" in str(info.value)
    assert list(Path.cwd().iterdir()) == []
    assert not (cache / "pip-99.0-py3-none-any.whl").exists()  # the bad cache entry is dropped


def test_failure_keeps_the_old_environment_on_clear(pyv_home):
    settings = load_settings(overrides={"offline": True})
    base = str(system_python())
    make_environment(settings, Path.cwd(), path="env", python=base)
    cache = settings.cache_dir / "wheels"
    cache.mkdir(parents=True)
    (cache / "pip-99.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(PyvError):
        make_environment(settings, Path.cwd(), path="env", python=base, seed=True, clear=True)
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["env"]
    assert (Path.cwd() / "env" / "pyvenv.cfg").is_file()


def test_bad_interpreter_path(pyv_home):
    settings = load_settings()
    with pytest.raises(NotFound):
        make_environment(settings, Path.cwd(), python="./no-such-python")
    script = Path.cwd() / "fake-python"
    script.write_text("#!/bin/sh\nexit 1\n")
    script.chmod(0o755)
    with pytest.raises(PyvError, match="failed to describe itself"):
        make_environment(settings, Path.cwd(), python=str(script))
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["fake-python"]


def test_named_env_in_python_version_drives_the_shims(run_pyv, pyv_home, tmp_path):
    run_pyv("venv", "--name", "astro", "-p", str(system_python()), "--seed", "--offline",
            check=True)
    env = pyv_home / "envs" / "astro"
    shims = pyv_home / "shims"
    assert (shims / "pip").exists()  # creation rehashed: the env's scripts have shims
    Path(".python-version").write_text("astro\n")
    prefix = subprocess.run([str(shims / "python"), "-c", "import sys; print(sys.prefix)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert Path(prefix).resolve() == env
    pip = subprocess.run([str(shims / "pip"), "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert str(env / "lib") in pip
    # A console script installed later gets a shim after `pyv rehash`, and runs in the env.
    wheel = build_wheel(tmp_path / "dist")
    subprocess.run([str(env / "bin" / "pip"), "install", "--no-index", "-q", str(wheel)],
                   check=True, capture_output=True)
    run_pyv("rehash", check=True)
    hello = subprocess.run([str(shims / "pyvdemo-hello")], capture_output=True, text=True,
                           check=True)
    assert hello.stdout.strip() == "hello from pyvdemo"
    # Removing the environment drops shims only it provided.
    run_pyv("envs", "remove", "astro", check=True)
    assert not (shims / "pyvdemo-hello").exists()


def test_free_threaded_installation_layout(pyv_home, unpacked_real_python):
    from pyv.acquire.store import user_store
    from pyv.venv.interpreter import from_installation

    store = pyv_home / "pythons"
    key = "cpython-3.13.1+freethreaded-linux-x86_64-gnu"
    inst_dir = store / key
    inst_dir.mkdir(parents=True)
    (inst_dir / ".pyv-install.json").write_text(json.dumps({
        "key": key, "implementation": "cpython", "version": "3.13.1", "variant": "freethreaded",
        "os": "linux", "arch": "x86_64", "arch_variant": None, "libc": "gnu", "build": "x",
        "executable": "bin/python3.13t"}))
    os.symlink(key, store / "cpython-3.13+freethreaded-linux-x86_64-gnu")
    inst = user_store(load_settings()).get(key)
    assert inst is not None
    base = from_installation(load_settings(), inst, follow_minor=True)
    assert base.follows_minor and base.freethreaded
    assert base.executable == store / "cpython-3.13+freethreaded-linux-x86_64-gnu/bin/python3.13t"
    assert base.site_packages == "lib/python3.13t/site-packages"
    assert base.link_names() == ["python", "python3", "python3.13", "python3.13t"]
    assert base.version_info == "3.13.1.final.0"


def test_selection_naming_an_environment_reuses_its_interpreter(run_pyv, pyv_home):
    run_pyv("venv", "--name", "astro", "-p", str(system_python()), check=True)
    Path(".python-version").write_text("astro\n")
    run_pyv("venv", check=True)
    assert _cfg(Path.cwd() / ".venv")["home"] == str(system_python().parent)
