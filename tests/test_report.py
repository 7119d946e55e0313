"""The reporter: its levels, and what ``pyv -v`` says (and ``-q`` silences) end to end."""

from __future__ import annotations

import io

import pytest

from pyv import report as report_module
from pyv.report import SILENT, Reporter, process_reporter, redact, use_for_process


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
