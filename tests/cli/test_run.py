"""``pyv run`` end to end: the real command in a subprocess, as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import PYV_EXE
from fixtures_venv import REAL_MINOR, system_python

_SHOW = ("import os, sys; print(sys.prefix); print(os.environ.get('VIRTUAL_ENV', '')); "
         "print(os.environ['PATH'].split(os.pathsep)[0])")


def test_runs_inside_the_project_venv_from_a_subdirectory(run_pyv, managed_python):
    project = Path.cwd()
    run_pyv("pin", REAL_MINOR, check=True)
    run_pyv("venv", check=True)
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    result = run_pyv("run", "python", "-c", _SHOW, cwd=sub, check=True)
    prefix, virtual_env, first = result.stdout.splitlines()
    env = project / ".venv"
    assert Path(prefix) == env and Path(virtual_env) == env and Path(first) == env / "bin"
    # The command's own status comes back, and `--` ends pyv's options.
    failed = run_pyv("run", "--", "python", "-c", "raise SystemExit(5)", cwd=sub)
    assert failed.returncode == 5 and failed.stderr == ""


def test_a_venv_made_by_python_m_venv_is_used(run_pyv, managed_python):
    subprocess.run([str(system_python()), "-m", "venv", "--without-pip", ".venv"], check=True)
    run_pyv("pin", REAL_MINOR, check=True)
    result = run_pyv("run", "python", "-c", _SHOW, check=True)
    assert Path(result.stdout.splitlines()[0]) == Path.cwd() / ".venv"


def test_without_a_venv_the_selected_interpreter_runs(run_pyv, managed_python):
    run_pyv("pin", REAL_MINOR, check=True)
    result = run_pyv("run", "python", "-c", _SHOW, check=True)
    prefix, virtual_env, first = result.stdout.splitlines()
    assert Path(prefix).resolve() == managed_python.path.resolve()
    assert virtual_env == ""
    assert Path(first).resolve() == (managed_python.path / "bin").resolve()


def test_the_venv_search_stops_at_the_project_root(run_pyv, managed_python, tmp_path):
    outer = Path.cwd()
    subprocess.run([str(system_python()), "-m", "venv", "--without-pip", ".venv"], check=True)
    project = outer / "other"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    (project / ".python-version").write_text(f"{REAL_MINOR}\n")
    result = run_pyv("run", "python", "-c", _SHOW, cwd=project, check=True)
    assert result.stdout.splitlines()[1] == ""  # not the .venv above the project


def test_exec_leaves_no_pyv_process_between(managed_python, tmp_path):
    (Path.cwd() / ".python-version").write_text(f"{REAL_MINOR}\n")
    script = f'echo $$; exec "{PYV_EXE}" run python -c "import os; print(os.getpid())"'
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True,
                         env=dict(os.environ)).stdout.split()
    assert out[0] == out[1]


def test_missing_interpreter_names_the_install_command(run_pyv):
    (Path.cwd() / ".python-version").write_text("3.99\n")
    result = run_pyv("run", "python", "-V")
    assert result.returncode == 127
    assert result.stderr.count("\n") == 1 and "pyv install 3.99" in result.stderr
    flagged = run_pyv("run", "-p", "3.98", "python", "-V")
    assert flagged.returncode == 127 and "pyv install 3.98" in flagged.stderr


def test_missing_interpreter_is_installed_with_install(run_pyv, pbs_mirror, real_archive,
                                                       pyv_home):
    env = pbs_mirror([real_archive])
    refused = run_pyv("run", "-p", REAL_MINOR, "--no-install", "python", "-V",
                      env={**env, "PYV_AUTO_INSTALL": "1"})
    assert refused.returncode == 127 and f"pyv install {REAL_MINOR}" in refused.stderr
    result = run_pyv("run", "-p", REAL_MINOR, "--install", "python", "-c",
                     "import sys; print(sys.prefix)", env=env, check=True)
    assert Path(result.stdout.strip()).resolve() == (pyv_home / "pythons"
                                                    / real_archive.key).resolve()


def _fake_venv(root: Path, version: str, home: Path) -> Path:
    env = root / ".venv"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\n"
                                    f"version_info = {version}\n")
    os.symlink(sys.executable, env / "bin" / "python")
    return env


def test_a_venv_of_another_minor_is_refused(run_pyv, managed_python):
    env = _fake_venv(Path.cwd(), "3.7.17", Path(sys.executable).parent)
    run_pyv("pin", REAL_MINOR, check=True)
    result = run_pyv("run", "python", "-c", "print('ran')")
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"{env} was made from Python 3.7.17" in result.stderr
    assert "pyv venv --clear" in result.stderr
    by_flag = run_pyv("run", "-p", REAL_MINOR, "python", "-c", "print('ran')")
    assert by_flag.returncode == 3 and f"pyv venv --clear -p {REAL_MINOR}" in by_flag.stderr


def test_a_venv_whose_interpreter_was_removed_is_refused(run_pyv, managed_python, tmp_path):
    gone = tmp_path / "removed-python" / "bin"
    env = _fake_venv(Path.cwd(), managed_python.version, gone)
    run_pyv("pin", REAL_MINOR, check=True)
    result = run_pyv("run", "python", "-c", "print('ran')")
    assert result.returncode == 3 and result.stdout == ""
    assert f"{env} was made from Python {managed_python.version} at {gone}" in result.stderr
    assert "no longer there" in result.stderr and "pyv venv --clear" in result.stderr


def test_a_command_that_is_not_there(run_pyv, managed_python):
    run_pyv("pin", REAL_MINOR, check=True)
    result = run_pyv("run", "no-such-command-here")
    assert result.returncode == 127 and result.stderr.startswith("error: cannot run ")


def test_system_with_only_python3_on_path_runs(run_pyv, tmp_path):
    """Debian and Ubuntu ship python3 and no python: `system` still runs there."""
    only = tmp_path / "only-python3"
    only.mkdir()
    (only / "python3").symlink_to(system_python())
    project = tmp_path / "project"
    project.mkdir()
    (project / ".python-version").write_text("system\n")
    result = run_pyv("run", "python3", "-c", "import sys; print(sys.prefix)",
                     env={"PATH": str(only)}, cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == subprocess.run(
        [str(system_python()), "-c", "import sys; print(sys.prefix)"],
        capture_output=True, text=True, check=True).stdout.strip()
