"""docs/project.md, step by step, as a user types it: install, pin, venv, pip, run, then the
shims into the environment (`pyv pin --venv`) in real shells."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from fixtures_venv import REAL_MINOR, build_wheel


def test_a_project_from_start_to_finish(run_pyv, pbs_mirror, real_archive, pyv_home, tmp_path):
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
    # 6. The shims use the environment: python, pip, and what pip installs through them.
    run_pyv("pin", "--venv", env=env, check=True)
    assert (project / ".python-version").read_text() == f".venv\n{REAL_MINOR}\n"
    shell = ("python -c 'import sys; print(sys.prefix)' && "
             f"pip install -q {shlex.quote(str(build_wheel(tmp_path / 'more', 'pyvmore')))} "
             "&& pyvmore-hello")
    typed = _in_shell("sh", shell, pyv_home, sub)
    assert typed.stdout == f"{project / '.venv'}\nhello from pyvmore\n", typed.stderr
    # The pin moves to a version that is not installed: one line naming the install.
    (project / ".python-version").write_text("3.99\n")
    missing = run_pyv("run", "pyvdemo-hello", env=env, cwd=sub)
    assert missing.returncode == 127 and "pyv install 3.99" in missing.stderr


SHELLS = [sh for sh in ("dash", "bash", "zsh") if shutil.which(sh)]


def _in_shell(sh: str, script: str, pyv_home: Path, project: Path
              ) -> subprocess.CompletedProcess[str]:
    """``script`` typed in ``sh`` in ``project``, the shims first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYV_VERSION", "VIRTUAL_ENV")}
    env.update({"PATH": f"{pyv_home}/shims:/usr/bin:/bin", "PIP_NO_INDEX": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return subprocess.run([sh, "-c", f"cd {shlex.quote(str(project))} && {script}"],
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_shims_run_the_pinned_environment(run_pyv, managed_python, pyv_home, tmp_path):
    """`pyv venv` + `pyv pin --venv`: python, pip and a console script pip installs all run
    from .venv through the shims, in real shells; without .venv, one line and 127."""
    project = Path.cwd()
    run_pyv("rehash", check=True)
    run_pyv("pin", REAL_MINOR, check=True)
    run_pyv("venv", "--seed", check=True)
    pinned = run_pyv("pin", "--venv", check=True)
    assert (project / ".python-version").read_text() == f".venv\n{REAL_MINOR}\n"
    assert "run from it here" in pinned.stderr
    venv = project / ".venv"
    for sh in SHELLS:
        ran = _in_shell(sh, "python -c 'import sys; print(sys.prefix)'", pyv_home, project)
        assert ran.returncode == 0 and ran.stdout == f"{venv}\n", (sh, ran.stderr)
    wheel = build_wheel(tmp_path / "wheels")
    installed = _in_shell(SHELLS[0], f"pip install -q {shlex.quote(str(wheel))}", pyv_home,
                          project)
    assert installed.returncode == 0, installed.stderr
    assert (pyv_home / "shims" / "pyvdemo-hello").is_file()  # the pip shim rehashed
    for sh in SHELLS:
        ran = _in_shell(sh, "pyvdemo-hello", pyv_home, project)
        assert ran.stdout == "hello from pyvdemo\n", (sh, ran.stderr)
    which = run_pyv("which", "pyvdemo-hello", check=True)
    assert which.stdout.strip() == str(venv / "bin" / "pyvdemo-hello")
    assert run_pyv("which", "python", check=True).stdout.strip() == str(venv / "bin" / "python")
    assert run_pyv("run", "python", "-c", "import sys; print(sys.prefix)",
                   check=True).stdout == f"{venv}\n"
    shutil.rmtree(venv)
    for sh in SHELLS:
        gone = _in_shell(sh, "python -c 'print(1)'", pyv_home, project)
        lines = gone.stderr.strip().splitlines()
        assert gone.returncode == 127 and gone.stdout == "", (sh, gone.stderr)
        assert len(lines) == 1 and "does not exist" in lines[0] and "pyv venv" in lines[0]
    # `pyv venv` remakes it from the next line of the pin, and the shims use it again.
    run_pyv("venv", check=True)
    again = _in_shell(SHELLS[0], "python -c 'import sys; print(sys.prefix)'", pyv_home, project)
    assert again.stdout == f"{venv}\n", again.stderr
