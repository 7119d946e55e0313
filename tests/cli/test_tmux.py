"""What a person sees in a real terminal: tmux panes captured as rendered.

A pty test reads the bytes pyv writes; these read the screen a terminal shows after
drawing them (carriage returns, cursor moves and line wraps applied), as a person
would see it. Each test runs its own tmux server on a private socket. Skipped only
when tmux is not installed (CI installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archives import BuiltArchive, build_synthetic_archive
from fixtures_http import LoopbackServer

PYV = Path(sys.executable).parent / "pyv"


class Pane:
    """One tmux session (120x40) running bash without startup files."""

    def __init__(self, socket: Path, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env
        self.tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40",
                  "bash --norc --noprofile")
        self.tmux("set-option", "-t", "t", "status", "off")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
                              env=self.env, capture_output=True, text=True, check=True,
                              timeout=30).stdout

    def type(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t", "-S", "-", "-J")

    def run(self, command: str, timeout: float = 120) -> str:
        """Type ``command``, wait until it printed its end mark, and return the screen."""
        self.type(f"{command}; echo END-$?-MARK", "Enter")
        # The typed line holds the mark's command, not a line starting with it.
        return self.wait_for(lambda s: any(line.startswith("END-") for line in s.splitlines()),
                             timeout)

    def wait_for(self, shown: Callable[[str], bool], timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if shown(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed what was awaited:\n{screen}")
            time.sleep(0.1)  # polling the screen; nothing here waits for a race


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Pane]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    if not PYV.exists():
        pytest.skip("needs the pyv console script")
    bin_dir = tmp_path / "pyv-bin"
    bin_dir.mkdir()
    (bin_dir / "pyv").symlink_to(PYV)
    socket = tmp_path / "tmux.sock"
    started: list[Pane] = []

    def start(extra: dict[str, str]) -> Pane:
        env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "TERM": "xterm-256color",
               "PS1": "$ ", "CI": "", **extra}
        env.pop("TMUX", None)
        made = Pane(socket, env)
        started.append(made)
        return made

    yield start
    if started:
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True,
                       check=False, timeout=30)


def test_downloads_leave_one_clean_line_each(
    pane: Callable[[dict[str, str]], Pane], pbs_mirror: Callable[..., dict[str, str]],
    http_server: LoopbackServer, tmp_path: Path,
) -> None:
    archives: list[BuiltArchive] = [
        build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713"),
        build_synthetic_archive(tmp_path / "b", (3, 11, 9), build="20240713"),
    ]
    terminal = pane({**pbs_mirror(archives), "PYV_PROGRESS": "1"})
    screen = terminal.run("pyv install 3.12 3.11")
    lines = screen.splitlines()
    assert "END-0-MARK" in lines, screen
    host = f"127.0.0.1:{http_server.port}"
    for archive in archives:
        shown = [line for line in lines if f"Downloading {archive.key} from {host}" in line]
        assert len(shown) == 1, screen  # one line per download, the status its description
        assert shown[0].startswith(f"Downloading {archive.key} from {host}"), screen
        assert "100%" in shown[0], screen  # the finished bar stays
        assert f"Installed Python {'.'.join(map(str, archive.version))}" in screen
    # No stale bar: every bar on the screen is finished, and each ended its line.
    assert not [line for line in lines if "%|" in line and "100%" not in line], screen
    assert all(line.count("Downloading") <= 1 for line in lines), screen
    assert not any(line.rstrip().endswith("%|") for line in lines), screen


def test_bash_completion_offers_the_catalogs_versions(
    pane: Callable[[dict[str, str]], Pane],
) -> None:
    terminal = pane({})
    expected = subprocess.run([str(PYV), "_complete", "--", "install", "3.1"],
                              capture_output=True, text=True, check=True,
                              env=terminal.env).stdout.split()
    expected = [word for word in expected if word != "__files__"]  # paths complete too
    assert "3.12" in expected and "3.11" in expected  # from the bundled catalog
    terminal.run('eval "$(pyv init bash)"')
    terminal.type("pyv install 3.1", "Tab", "Tab")
    def offered(screen: str) -> set[str]:
        below = screen.split("pyv install 3.1", 1)[-1]  # what bash listed under the prompt
        return {word for line in below.splitlines() for word in line.split()}

    screen = terminal.wait_for(lambda s: set(expected) <= offered(s), timeout=30)
    assert "python3" not in offered(screen)  # catalog versions, not installed commands
    terminal.type("C-c")
