"""The command line itself: one-line usage errors, help, unknown commands."""

from __future__ import annotations

import pytest

from pyv.core.errors import ExitCode


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


HUGE_VERSION = "3." + "1" * 5000  # past int()'s digit limit: was an internal error


@pytest.mark.parametrize(
    ("args", "in_file", "code"),
    [
        (("find", HUGE_VERSION), False, ExitCode.USAGE),
        (("pin", HUGE_VERSION), False, ExitCode.USAGE),
        (("install", HUGE_VERSION), False, ExitCode.USAGE),
        (("uninstall", HUGE_VERSION), False, ExitCode.USAGE),
        (("list", HUGE_VERSION), False, ExitCode.USAGE),
        (("find",), True, ExitCode.CONFIG),
        (("which", "python"), True, ExitCode.CONFIG),
        (("version",), True, ExitCode.CONFIG),
        (("_shim", "python"), True, ExitCode.CONFIG),
    ],
)
def test_a_huge_version_number_is_one_line(
    run_pyv, tmp_path, args: tuple[str, ...], in_file: bool, code: ExitCode
) -> None:
    if in_file:
        (tmp_path / "work" / ".python-version").write_text(HUGE_VERSION + "\n")
    result = run_pyv(*args, env={"PYV_OFFLINE": "1"})
    assert result.returncode == code, result.stderr[:300]
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    # The CLI names the digits; a version file's line is refused earlier, by its length.
    assert ("digits" in result.stderr or "longer than" in result.stderr) \
        and len(result.stderr) < 800


LONG_NAME = "x" * 300  # longer than any file system allows one name to be


@pytest.mark.parametrize(
    "args",
    [("find", f"./{LONG_NAME}"), ("find", f"/{LONG_NAME}/python"), ("envs", "remove", LONG_NAME),
     ("activate", LONG_NAME)],
)
def test_a_name_too_long_for_the_file_system_is_one_line(run_pyv, args: tuple[str, ...]) -> None:
    result = run_pyv(*args)
    assert result.returncode == ExitCode.FILESYSTEM, result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: file name too long (")
    assert "(300 characters)" in result.stderr or len(result.stderr) < 600


@pytest.mark.parametrize(
    ("errno_name", "code"),
    [("ENAMETOOLONG", ExitCode.FILESYSTEM), ("EACCES", ExitCode.FILESYSTEM),
     ("ENOSPC", ExitCode.FILESYSTEM), ("EROFS", ExitCode.FILESYSTEM),
     ("EIO", ExitCode.INTERNAL), ("EBADF", ExitCode.INTERNAL)],
)
def test_oserrors_a_user_causes_are_one_line_others_are_bugs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], errno_name: str,
    code: ExitCode,
) -> None:
    import errno
    import os

    from pyv.cli import main as cli_main

    number = getattr(errno, errno_name)

    def fail(*_args: object) -> int:
        raise OSError(number, os.strerror(number), "/some/path")

    monkeypatch.setattr(cli_main, "_run", fail)
    assert cli_main.main(["dir"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/some/path" in err
    assert ("internal error" in err) == (code == ExitCode.INTERNAL)


def test_the_registry_is_the_one_place_naming_commands() -> None:
    import importlib

    from pyv.cli.base import Command
    from pyv.cli.main import COMMANDS, HIDDEN

    for name, (module, cls_name, help_text) in {**COMMANDS, **HIDDEN}.items():
        cls = getattr(importlib.import_module(f"pyv.cli.commands.{module}"), cls_name)
        assert issubclass(cls, Command), name
        assert help_text and "\n" not in help_text
        # The class says what it does (its docstring is the --help description); its
        # name and one-line help live only in the registry.
        assert not hasattr(cls, "name") and not hasattr(cls, "help"), name
