"""The command line itself: one-line usage errors, help, unknown commands."""

from __future__ import annotations

import pytest

from pyv.errors import ExitCode


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("install", "--bogus", "3.11"), "pyv install --help"),
        (("uninstall",), "pyv uninstall --help"),
        (("envs", "remove"), "pyv envs remove --help"),
        (("envs", "bogus"), "pyv envs --help"),
        (("dir", "--home", "--shims"), "pyv dir --help"),
        (("--bogus",), "pyv --help"),
        (("list", "--installed", "--available"), "pyv list --help"),
    ],
)
def test_bad_command_lines_are_one_line(run_pyv, args: tuple[str, ...], hint: str) -> None:
    result = run_pyv(*args)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert hint in result.stderr
    assert "usage:" not in result.stderr


def test_unknown_command(run_pyv) -> None:
    result = run_pyv("instal", "3.12")
    assert result.returncode == ExitCode.USAGE
    assert result.stderr == (
        "error: unknown command 'instal'; run `pyv --help` for the list of commands\n"
    )


def test_help_lists_every_command(run_pyv) -> None:
    from pyv.cli.main import COMMANDS

    result = run_pyv("--help", check=True)
    for name in COMMANDS:
        assert f"    {name} " in result.stdout
    assert "_shim" not in result.stdout


def test_command_help_and_version(run_pyv) -> None:
    assert "--reinstall" in run_pyv("install", "--help", check=True).stdout
    assert run_pyv("--version", check=True).stdout.startswith("pyv ")


@pytest.mark.parametrize(
    "args",
    [("which", ""), ("exec", ""), ("find", ""), ("list", ""), ("shell", ""), ("pin", "")],
)
def test_empty_arguments_are_usage_errors(run_pyv, args: tuple[str, ...]) -> None:
    result = run_pyv(*args)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_pinning_a_missing_environment_warns(run_pyv) -> None:
    result = run_pyv("pin", "astro-env", check=True)
    assert "no environment named 'astro-env'" in result.stderr
    assert "pyv venv --name astro-env" in result.stderr


def test_pinning_a_version_with_no_build_says_so(run_pyv) -> None:
    result = run_pyv("pin", "3.99", check=True)
    assert "no build matches 3.99" in result.stderr
    assert "pyv install 3.99" not in result.stderr
