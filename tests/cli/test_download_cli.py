"""Downloads as a user meets them through ``pyv install``: one line each, nothing lost."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from archives import BuiltArchive, build_synthetic_archive
from conftest import PYV_EXE
from fixtures_http import LoopbackServer
from pyv.core.errors import ExitCode


@pytest.fixture
def archive(tmp_path: Path) -> BuiltArchive:
    return build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713")


def served(archive: BuiltArchive) -> str:
    return f"/{archive.build}/{archive.path.name}"


def test_resumed_part_that_does_not_verify_is_fetched_again_from_zero(
    run_pyv, pbs_mirror: Callable[..., dict[str, str]], http_server: LoopbackServer,
    archive: BuiltArchive, pyv_home: Path,
) -> None:
    env = pbs_mirror([archive])
    cache = pyv_home / "cache" / "downloads"
    cache.mkdir(parents=True)
    # A .part left by an earlier run, whose bytes belong to another file.
    held = archive.path.stat().st_size // 2
    (cache / (archive.path.name + ".part")).write_bytes(os.urandom(held))
    result = run_pyv("install", "3.12", env=env)
    assert result.returncode == 0, result.stderr
    assert "did not verify" in result.stderr
    assert [r.header("range") for r in http_server.requests_for(served(archive))] == [
        f"bytes={held}-", None]
    assert (cache / archive.path.name).read_bytes() == archive.path.read_bytes()
    assert (pyv_home / "pythons" / archive.key / ".pyv-install.json").is_file()


def test_stalled_download_fails_in_one_line_and_resumes_later(
    run_pyv, pbs_mirror: Callable[..., dict[str, str]], http_server: LoopbackServer,
    archive: BuiltArchive, pyv_home: Path,
) -> None:
    env = {**pbs_mirror([archive]), "PYV_STALL_TIMEOUT": "0.3"}
    http_server.add_fault(served(archive), "slow", chunk=16, delay=0.05)
    stalled = run_pyv("install", "3.12", env=env)
    assert stalled.returncode == ExitCode.NETWORK, stalled.stderr
    last = stalled.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the download of ") and "stalled" in last
    assert "Traceback" not in stalled.stderr
    part = pyv_home / "cache" / "downloads" / (archive.path.name + ".part")
    held = part.stat().st_size
    assert held > 0
    resumed = run_pyv("install", "3.12", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert http_server.requests_for(served(archive))[-1].header("range") == f"bytes={held}-"


def test_pipes_get_the_status_line_only(
    run_pyv, pbs_mirror: Callable[..., dict[str, str]], http_server: LoopbackServer,
    archive: BuiltArchive,
) -> None:
    result = run_pyv("install", "3.12", env={**pbs_mirror([archive]), "PYV_PROGRESS": "1"})
    assert result.returncode == 0, result.stderr
    assert f"Downloading {archive.key} from 127.0.0.1:{http_server.port}\n" in result.stderr
    assert "\r" not in result.stderr and "%|" not in result.stderr


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run pyv with a pty as stdout/stderr (120 columns); what the terminal received."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([str(PYV_EXE), *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env={**os.environ, **env})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_terminal_shows_one_clean_line_per_download(
    pbs_mirror: Callable[..., dict[str, str]], http_server: LoopbackServer,
    archive: BuiltArchive,
) -> None:
    if not PYV_EXE.exists():
        pytest.skip("needs the pyv console script")
    other = build_synthetic_archive(archive.path.parent.parent / "b", (3, 11, 9),
                                    build="20240713")
    env = {**pbs_mirror([archive, other]), "PYV_PROGRESS": "1", "CI": ""}
    screen = _run_on_a_terminal(["install", "3.12", "3.11"], env)
    # What stays on each line is what follows its last carriage return.
    shown = [line.rpartition("\r")[2] for line in screen.replace("\r\n", "\n").split("\n")]
    for key in (archive.key, other.key):
        lines = [line for line in shown if f"Downloading {key} from" in line]
        assert len(lines) == 1, screen
        assert "100%" in lines[0], screen  # the finished bar stays, on its own line
    assert not any("0%|" in line and "100%" not in line for line in shown), screen
    assert all(line.count("Downloading") <= 1 for line in shown), screen
