"""Global options go anywhere on the command line, also after a command's own action."""

from __future__ import annotations

from typing import Any


def test_quiet_after_envs_action(run_pyv: Any) -> None:
    made = run_pyv("venv", "--name", "gone", "--python", "system")
    assert made.returncode == 0, made.stderr
    removed = run_pyv("envs", "rm", "gone", "-q")
    assert removed.returncode == 0, removed.stderr
    assert removed.stderr == ""  # -q silenced "Removed gone (...)"
    assert run_pyv("envs", "path", "gone").returncode != 0


def test_global_options_after_every_envs_action(run_pyv: Any) -> None:
    for args in (("envs", "list", "--offline"), ("envs", "list", "-v", "--no-progress")):
        result = run_pyv(*args)
        assert result.returncode == 0, result.stderr
