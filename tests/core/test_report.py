"""The reporter: its levels, and what ``pyv -v`` says (and ``-q`` silences) end to end."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from archives import build_synthetic_archive
from pyv.core import report as report_module
from pyv.core.report import SILENT, Reporter, process_reporter, redact, use_for_process


# ----- the levels -------------------------------------------------------------------------
def _said(quiet: bool = False, verbosity: int = 0) -> list[str]:
    out = io.StringIO()
    r = Reporter(out, quiet=quiet, verbosity=verbosity)
    r.warning("w")
    r.notice("n")
    r.detail("d")
    r.line("l")
    return out.getvalue().splitlines()


def test_default_level_says_warnings_notices_and_lines() -> None:
    assert _said() == ["warning: w", "n", "l"]


def test_verbose_adds_details() -> None:
    assert _said(verbosity=1) == ["warning: w", "n", "verbose: d", "l"]


def test_quiet_keeps_only_warnings_and_lines_even_with_verbose() -> None:
    assert _said(quiet=True) == ["warning: w", "l"]
    assert _said(quiet=True, verbosity=1) == ["warning: w", "l"]


def test_silent_says_nothing_and_has_nowhere_to_draw() -> None:
    SILENT.warning("w")
    SILENT.line("l")
    assert not SILENT.verbose and SILENT.progress_stream is None


def test_a_quiet_reporter_draws_no_progress() -> None:
    out = io.StringIO()
    assert Reporter(out).progress_stream is out
    assert Reporter(out, quiet=True).progress_stream is None


def test_a_closed_stream_does_not_fail_the_command() -> None:
    out = io.StringIO()
    out.close()
    Reporter(out).notice("still fine")


def test_process_reporter_is_the_one_the_cli_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "_process", [])
    assert process_reporter().stream is not None  # a library caller still hears lock waits
    mine = Reporter(io.StringIO(), quiet=True)
    use_for_process(mine)
    assert process_reporter() is mine


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:secret@mirror.example/pbs", "https://mirror.example/pbs"),
    ("https://mirror.example/a@b", "https://mirror.example/a@b"),
    ("/srv/mirror", "/srv/mirror"),
    ("me@host", "me@host"),
])
def test_redact_drops_credentials_only(url: str, shown: str) -> None:
    assert redact(url) == shown


# ----- pyv -v end to end -----------------------------------------------------------------
def _verbose(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("verbose: ")]


@pytest.fixture
def mirror_env(pbs_mirror: Any, tmp_path: Path) -> dict[str, str]:
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713")
    env: dict[str, str] = pbs_mirror([archive])
    env["KEY"] = archive.key
    return env


def test_verbose_install_says_what_it_decided_and_why(
    run_pyv: Any, mirror_env: dict[str, str], pyv_home: Path
) -> None:
    key = mirror_env["KEY"]
    result = run_pyv("-v", "install", "3.12", env=mirror_env)
    assert result.returncode == 0, result.stderr
    said = "\n".join(_verbose(result.stderr))
    assert f"verbose: pyv home {pyv_home}; config file " in said
    assert "settings not at their default: " in said and "python_install_mirror=" in said
    assert "verbose: request '3.12': any implementation, CPython first, ==3.12.*, " in said
    assert re.search(rf"verbose: chose {re.escape(key)} \(build 20240713\): the best match "
                     r"for '3\.12' that runs on this host \(", said), said
    assert f"verbose: fetching {mirror_env['PYV_PYTHON_INSTALL_MIRROR']}/20240713/" in said
    assert "sha256 verified" in said
    # The notices stay as they were, between the details.
    assert "Installed Python 3.12.4" in result.stderr
    plain = run_pyv("install", "--reinstall", "3.12", env=mirror_env)
    assert plain.returncode == 0, plain.stderr
    assert _verbose(plain.stderr) == [], plain.stderr
    assert "Reinstalled Python 3.12.4 in " in plain.stderr


def test_verbose_install_from_the_cache_says_so(
    run_pyv: Any, mirror_env: dict[str, str]
) -> None:
    key = mirror_env["KEY"]
    assert run_pyv("install", "3.12", env=mirror_env).returncode == 0
    assert run_pyv("uninstall", "3.12", env=mirror_env).returncode == 0
    again = run_pyv("-v", "install", "3.12", env=mirror_env)
    assert again.returncode == 0, again.stderr
    said = _verbose(again.stderr)
    assert any(line.startswith("verbose: cpython-3.12.4+20240713-")
               and line.endswith(".tar.gz is in the download cache: no download")
               for line in said), said
    assert any(line.endswith(": sha256 verified") for line in said), said
    assert not any(line.startswith("verbose: fetching") for line in said), said
    already = run_pyv("install", "3.12", "--verbose", env=mirror_env)
    assert f"verbose: {key} is already in " in already.stderr


def test_quiet_silences_notices_and_details(run_pyv: Any, mirror_env: dict[str, str]) -> None:
    result = run_pyv("-q", "-v", "install", "3.12", env=mirror_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_verbose_credentials_never_shown(run_pyv: Any, mirror_env: dict[str, str]) -> None:
    env = {**mirror_env, "PYV_PYTHON_INSTALL_MIRROR": "https://bob:hunter2@mirror.example/x"}
    result = run_pyv("-v", "--offline", "list", "--installed", env=env)
    assert result.returncode == 0, result.stderr
    assert "python_install_mirror='https://mirror.example/x'" in result.stderr
    assert "hunter2" not in result.stderr


def test_verbose_which_says_where_the_selection_came_from(
    run_pyv: Any, mirror_env: dict[str, str], tmp_path: Path
) -> None:
    key = mirror_env["KEY"]
    assert run_pyv("install", "3.12", env=mirror_env).returncode == 0
    work = tmp_path / "work"
    (work / ".python-version").write_text("3.11\n3.12\n")
    result = run_pyv("which", "python", "-v", env=mirror_env, cwd=work)
    assert result.returncode == 0, result.stderr
    said = _verbose(result.stderr)
    assert f"verbose: selection: '3.11', '3.12' (set by {work / '.python-version'})" in said
    assert any(line.startswith(f"verbose: '3.12' (set by {work / '.python-version'}:2) is "
                               f"{key}: ") for line in said), said
    assert any(line.startswith("verbose: python runs ") and "entry '3.12'" in line
               for line in said), said
    # The skipped entry is a warning, with or without -v; the details only with it.
    assert "warning: skipping" in result.stderr
    plain = run_pyv("which", "python", env=mirror_env, cwd=work)
    assert _verbose(plain.stderr) == [] and "warning: skipping" in plain.stderr


def test_verbose_install_without_arguments_names_the_pin(
    run_pyv: Any, mirror_env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    (work / ".python-version").write_text("3.12\n")
    result = run_pyv("-v", "install", env=mirror_env, cwd=work)
    assert result.returncode == 0, result.stderr
    assert f"verbose: selection: '3.12' (set by {work / '.python-version'})" in result.stderr


def test_an_in_process_run_leaves_no_reporter_behind(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A later lock wait in the same process must not go to a finished run's stream (or its
    -q): the CLI puts back the reporter it found."""
    import sys

    from pyv.cli.main import main

    monkeypatch.setattr(report_module, "_process", [])
    assert main(["-q", "dir"]) == 0
    assert report_module._process == []
    assert process_reporter().stream is sys.stderr and not process_reporter().quiet
    mine = Reporter(io.StringIO())
    use_for_process(mine)
    assert main(["dir"]) == 0
    assert process_reporter() is mine
