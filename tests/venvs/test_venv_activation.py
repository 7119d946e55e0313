"""Activation: `pyv activate`/`deactivate` output, and the scripts in real shells."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYV_EXE
from fixtures_venv import system_python
from pyv.core.shells import quote_fish, quote_posix
from pyv.venv.activation import activation_line, find_environment, project_environment

SCRIPTS = {
    "bash": """
PS1='$ '
eval "$(@PYV@ init bash)"
after_init="$PATH"
pyv activate @TARGET@ || exit 9
echo "VE=$VIRTUAL_ENV"
echo "PY=$(command -v python)"
echo "PS1=$PS1"
python -c 'import sys; print("PREFIX=" + sys.prefix)'
pyv deactivate || exit 8
echo "VE2=${VIRTUAL_ENV-unset}"
echo "PS1=$PS1"
[ "$PATH" = "$after_init" ] && echo "PATH=restored"
typeset -f deactivate >/dev/null 2>&1 || echo "FUNCTION=gone"
""",
    "fish": """
@PYV@ init fish | source
set after_init "$PATH"
pyv activate @TARGET@; or exit 9
echo "VE=$VIRTUAL_ENV"
echo "PY="(command -s python)
python -c 'import sys; print("PREFIX=" + sys.prefix)'
pyv deactivate; or exit 8
if set -q VIRTUAL_ENV; echo "VE2=$VIRTUAL_ENV"; else; echo "VE2=unset"; end
if test "$PATH" = "$after_init"; echo "PATH=restored"; end
functions -q deactivate; or echo "FUNCTION=gone"
""",
    "tcsh": """
eval "`@PYV@ init tcsh`"
set after_init="$PATH"
pyv activate @TARGET@
echo "VE=$VIRTUAL_ENV"
echo "PY=`which python`"
python -c 'import sys; print("PREFIX=" + sys.prefix)'
pyv deactivate
if ( $?VIRTUAL_ENV ) then
    echo "VE2=$VIRTUAL_ENV"
else
    echo "VE2=unset"
endif
if ( "$PATH" == "$after_init" ) echo "PATH=restored"
alias deactivate | grep -q . || echo "FUNCTION=gone"
""",
}
# zsh runs the same POSIX script as bash, with its own integration.
SCRIPTS["zsh"] = SCRIPTS["bash"].replace("init bash", "init zsh")
COMMANDS = {
    "bash": ["bash", "--norc", "--noprofile"],
    "zsh": ["zsh", "-f"],
    "fish": ["fish", "--no-config"],
    "tcsh": ["tcsh", "-f"],
}


def _pyv() -> str:
    return str(PYV_EXE) if PYV_EXE.exists() else (shutil.which("pyv") or "pyv")


@pytest.fixture
def named_env(run_pyv, pyv_home: Path) -> Path:
    run_pyv("venv", "--name", "astro", "-p", str(system_python()), check=True)
    return pyv_home / "envs" / "astro"


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_activate_and_deactivate_in_real_shells(shell, named_env, tmp_path):
    if shutil.which(COMMANDS[shell][0]) is None:
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"script.{shell}"
    script.write_text(SCRIPTS[shell].replace("@PYV@", _pyv()).replace("@TARGET@", "astro"))
    result = subprocess.run([*COMMANDS[shell], str(script)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "SHELL": f"/bin/{shell}"})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert lines["VE"] == str(named_env)
    assert lines["PY"] == str(named_env / "bin" / "python")
    assert lines["PREFIX"] == str(named_env)
    assert lines["VE2"] == "unset"
    assert lines["PATH"] == "restored"
    assert lines["FUNCTION"] == "gone"
    if "PS1" in SCRIPTS[shell]:
        assert "PS1=(astro) $ " in result.stdout and result.stdout.count("PS1=$ ") == 1


def test_posix_script_with_dash_and_odd_paths(run_pyv, tmp_path):
    sh = shutil.which("dash") or shutil.which("sh")
    assert sh is not None
    run_pyv("venv", "-p", str(system_python()), "it's here", check=True)
    env = Path.cwd() / "it's here"
    script = (f"PATH=/usr/bin:/bin\n. {quote_posix(str(env / 'bin' / 'activate'))}\n"
              'echo "$VIRTUAL_ENV"\ncommand -v python\ndeactivate\n'
              'echo "${VIRTUAL_ENV-unset}:$PATH"\n')
    out = subprocess.run([sh, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [str(env), str(env / "bin" / "python"), "unset:/usr/bin:/bin"]


def test_activate_prints_the_line_without_integration(run_pyv, named_env):
    result = run_pyv("activate", "astro", env={"SHELL": "/usr/bin/fish"})
    assert result.stdout.strip() == f"source {quote_fish(str(named_env / 'bin' / 'activate.fish'))}"
    assert result.returncode == 1 and "`pyv init fish | source`" in result.stderr
    evaled = run_pyv("activate", "--eval", "bash", "astro", check=True)
    activate = str(named_env / "bin" / "activate")
    assert evaled.stdout.strip() == f". {quote_posix(activate, always=True)}"
    assert evaled.stderr == ""
    tcsh = run_pyv("activate", "--eval", "tcsh", "astro", check=True)
    assert tcsh.stdout.strip().endswith("activate.csh'")
    assert run_pyv("activate", "--eval", "nushell", "astro").returncode == 2


def test_activate_without_argument_walks_up(run_pyv, tmp_path):
    run_pyv("venv", "-p", str(system_python()), check=True)
    sub = Path.cwd() / "src" / "pkg"
    sub.mkdir(parents=True)
    result = run_pyv("activate", "--eval", "zsh", cwd=sub, check=True)
    assert str(Path.cwd() / ".venv" / "bin" / "activate") in result.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = run_pyv("activate", cwd=elsewhere)
    assert missing.returncode == 3 and "pyv venv" in missing.stderr


def test_find_environment_cases(tmp_path):
    envs = tmp_path / "envs"
    (envs / "astro").mkdir(parents=True)
    (envs / "astro" / "pyvenv.cfg").write_text("home = /x\n")
    local = tmp_path / "work" / "myenv"
    local.mkdir(parents=True)
    (local / "pyvenv.cfg").write_text("home = /x\n")
    cwd = tmp_path / "work"
    assert find_environment(envs, cwd, "astro") == envs / "astro"
    assert find_environment(envs, cwd, "myenv") == local
    assert find_environment(envs, cwd, "./myenv") == local
    from pyv.core.errors import NotFound

    with pytest.raises(NotFound, match="no environment named"):
        find_environment(envs, cwd, "nope")
    with pytest.raises(NotFound, match="not a virtual environment"):
        find_environment(envs, cwd, "./nope")


def test_activate_and_run_find_the_same_project_environment(tmp_path):
    """No argument: the nearest .venv up to the project's root, the one `pyv run` uses; a
    .venv above the root belongs to another project."""
    from pyv.core.errors import NotFound

    outer = tmp_path / "code"
    (outer / ".venv").mkdir(parents=True)
    (outer / ".venv" / "pyvenv.cfg").write_text("home = /x\n")
    project = outer / "project"
    (project / "src").mkdir(parents=True)
    envs = tmp_path / "envs"
    # Not a project yet: the search goes up and finds the outer one.
    assert find_environment(envs, project / "src", None) == outer / ".venv"
    assert project_environment(project / "src") == outer / ".venv"
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    with pytest.raises(NotFound, match="up to the project's root"):
        find_environment(envs, project / "src", None)
    assert project_environment(project / "src") is None
    (project / ".venv").mkdir()
    (project / ".venv" / "pyvenv.cfg").write_text("home = /x\n")
    assert find_environment(envs, project / "src", None) == project / ".venv"
    assert project_environment(project / "src") == project / ".venv"


def test_deactivate_needs_an_active_environment(run_pyv):
    result = run_pyv("deactivate")
    assert result.returncode == 3 and "no environment is active" in result.stderr
    active = run_pyv("deactivate", "--eval", "fish", env={"VIRTUAL_ENV": "/somewhere"}, check=True)
    assert active.stdout.strip() == "deactivate"


def test_activation_line_quotes_for_each_shell(tmp_path):
    env = tmp_path / "a b'c"
    assert activation_line("bash", env) == f". '{env}/bin/activate'".replace("b'c", "b'\\''c")
    assert activation_line("-zsh", env).startswith(". ")
    assert activation_line("csh", env).startswith("source ")
    assert activation_line("pwsh", env).endswith("Activate.ps1'")
