"""docs/project.md, step by step, as a user types it: install, pin, venv, pip, run."""

from __future__ import annotations

from pathlib import Path

from fixtures_venv import REAL_MINOR, build_wheel


def test_a_project_from_start_to_finish(run_pyv, pbs_mirror, real_archive, tmp_path):
    env = {**pbs_mirror([real_archive]), "PIP_NO_INDEX": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    project = Path.cwd()
    run_pyv("install", REAL_MINOR, env=env, check=True)
    run_pyv("pin", REAL_MINOR, env=env, check=True)
    assert (project / ".python-version").read_text().strip() == REAL_MINOR
    run_pyv("venv", "--seed", env=env, check=True)
    wheel = build_wheel(tmp_path / "wheels")
    run_pyv("run", "pip", "install", str(wheel), env=env, check=True)
    assert (project / ".venv" / "bin" / "pyvdemo-hello").is_file()
    sub = project / "analysis"
    sub.mkdir()
    ran = run_pyv("run", "pyvdemo-hello", env=env, cwd=sub, check=True)
    assert ran.stdout == "hello from pyvdemo\n"
    # The pin moves to a version that is not installed: one line naming the install.
    (project / ".python-version").write_text("3.99\n")
    missing = run_pyv("run", "pyvdemo-hello", env=env, cwd=sub)
    assert missing.returncode == 127 and "pyv install 3.99" in missing.stderr
