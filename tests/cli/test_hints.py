"""Hints that name a command: pasted into a shell they run what they say, and it can work."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyv.core.errors import shown_command


def hinted_commands(text: str) -> list[list[str]]:
    """Every `pyv …` command in backticks, as the real shell reads it when pasted (a
    redirection such as ``>=3.14`` would leave the argument out)."""
    found = []
    for command in re.findall(r"`(pyv [^`]*)`", text):
        line = command.replace("pyv", "printf '%s\\n' pyv", 1)
        out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30)
        found.append(out.stdout.splitlines())
    return found


@pytest.mark.parametrize("argv", [
    ("pyv", "install", ">=3.14"), ("pyv", "activate", "seeded env"), ("pyv", "pin", "3.12"),
    ("pyv", "install", "it's"),
])
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shown_command_round_trips_through_the_real_shell(argv: tuple[str, ...],
                                                        shell: str) -> None:
    shown = shown_command(*argv)
    assert shown.startswith("`") and shown.endswith("`")
    line = shown[1:-1].replace("pyv", "printf '%s\\n'", 1)
    out = subprocess.run([shell, "-c", line], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    assert out.splitlines() == list(argv[1:])


def test_find_hint_is_quoted_and_installable(run_pyv: Any) -> None:
    result = run_pyv("find", ">=3.12")
    assert result.returncode == 3
    assert hinted_commands(result.stderr) == [["pyv", "install", ">=3.12"]]


def test_find_of_a_version_no_catalog_has_names_the_nearest(run_pyv: Any) -> None:
    result = run_pyv("find", "3.99")
    assert result.returncode == 3
    assert "pyv install 3.99" not in result.stderr
    assert "nearest" in result.stderr and len(result.stderr.splitlines()) == 1


def test_pin_global_hint_keeps_the_flag_inside(run_pyv: Any) -> None:
    # With the system fallback, no global pin prints `system` (as pyenv); without it, a hint.
    result = run_pyv("pin", "--global", env={"PYV_FALLBACK": "error"})
    assert result.returncode == 3
    assert ["pyv", "pin", "--global", "3.12"] in hinted_commands(result.stderr)


def test_which_pythonX_Y_hints_pyv_install(run_pyv: Any) -> None:
    run_pyv("pin", "system", check=True)
    result = run_pyv("which", "python3.10", env={"PATH": "/nonexistent"})
    assert result.returncode != 0
    assert "pip install" not in result.stderr, result.stderr
    assert ["pyv", "install", "3.10"] in hinted_commands(result.stderr)


def test_venv_hint_activates_the_environment_just_made(run_pyv: Any) -> None:
    run_pyv("venv", "--name", "astro2", "--python", "system", check=True)
    made = run_pyv("venv", "astro2", "--python", "system", check=True)
    line = next(li for li in made.stderr.splitlines() if "activate" in li)
    argv = shlex.split(line.split(":", 1)[1])
    assert argv[:2] == ["pyv", "activate"] and argv[2] != "astro2"
    assert (Path.cwd() / argv[2]).resolve() == (Path.cwd() / "astro2").resolve()
    spaced = run_pyv("venv", "--name", "seeded env", "--python", "system")
    if spaced.returncode == 0:
        line = next(li for li in spaced.stderr.splitlines() if "activate" in li)
        assert shlex.split(line.split(":", 1)[1]) == ["pyv", "activate", "seeded env"]
