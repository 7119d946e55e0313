"""pyv.acquire.checks: the smoke test and bytecode compilation on a fresh interpreter."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyv.acquire.checks import SmokeTest, compile_bytecode
from pyv.core.errors import PyvError


def _standin(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _hanging(path: Path, pid_file: Path) -> Path:
    """A stand-in interpreter whose grandchild keeps the output pipe open."""
    return _standin(path, f"sleep 30 &\necho $! > '{pid_file}'\nexec sleep 30\n")


def _gone(pid: int) -> bool:
    for _ in range(50):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split()[2] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_smoke_test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    exe = _hanging(tmp_path / "bin/python3.12", tmp_path / "pid")
    start = time.monotonic()
    with pytest.raises(PyvError, match=r"did not finish within 0\.2 s"):
        SmokeTest(exe, timeout=0.2).result()
    assert time.monotonic() - start < 2.5  # not the grandchild's 30 s
    assert _gone(int((tmp_path / "pid").read_text()))


def _stdlib_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "inst"
    stdlib = tree / "lib" / "python3.12"
    (stdlib / "json").mkdir(parents=True)
    (stdlib / "mod.py").write_text("X = 1\n")
    (stdlib / "json/__init__.py").write_text("Y = 2\n")
    return tree


def test_compile_timeout_kills_the_process_group(tmp_path: Path) -> None:
    tree = _stdlib_tree(tmp_path)
    exe = _hanging(tmp_path / "bin/python3.12", tmp_path / "pid")
    start = time.monotonic()
    with pytest.raises(PyvError, match="timed out"):
        compile_bytecode(tree, exe, timeout=0.2)
    assert time.monotonic() - start < 2.5
    assert _gone(int((tmp_path / "pid").read_text()))


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize(("group", "dir_mode", "file_mode"),
                         [(False, 0o755, 0o644), (True, 0o2775, 0o664)])
def test_bytecode_modes_ignore_the_umask(tmp_path: Path, group: bool, dir_mode: int,
                                         file_mode: int) -> None:
    tree = _stdlib_tree(tmp_path)
    for path in (tree / "lib/python3.12/mod.py", tree / "lib/python3.12/json/__init__.py"):
        path.chmod(0o666)  # as an archive extracted under umask 0 may leave them
    compile_bytecode(tree, Path(sys.executable), group=group)
    caches = list(tree.rglob("__pycache__"))
    assert len(caches) == 2
    for cache in caches:
        assert stat.S_IMODE(cache.stat().st_mode) == dir_mode, cache
        files = list(cache.iterdir())
        assert files
        for pyc in files:
            assert stat.S_IMODE(pyc.stat().st_mode) == file_mode, pyc


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize(("setgid", "dir_mode"), [(False, 0o755), (True, 0o775)])
def test_smoke_test_leaves_nothing_world_writable(tmp_path: Path, setgid: bool,
                                                  dir_mode: int) -> None:
    """What the smoke test's interpreter writes (its bytecode) is not open to everyone."""
    tree = tmp_path / "tree"
    exe = _standin(tree / "bin/python3.12", 'mkdir "$(dirname "$0")/../__pycache__"\n')
    if setgid:
        tree.chmod(0o2775)
    SmokeTest(exe).result()
    assert stat.S_IMODE((tree / "__pycache__").stat().st_mode) & 0o777 == dir_mode


def test_smoke_test_runs_pip_launcher(tmp_path: Path) -> None:
    exe = _standin(tmp_path / "bin/python3.12", "exit 0\n")
    pip = _standin(
        tmp_path / "bin/pip3", "echo 'bad interpreter: /install/bin/python3' >&2\nexit 127\n"
    )
    with pytest.raises(PyvError) as info:
        SmokeTest(exe).result()
    assert info.value.message == (
        f"the smoke test's {pip} --version failed (exit 127): bad interpreter: /install/bin/python3"
    )
    assert "\n" not in info.value.render()
    _standin(pip, "echo 'pip 24.0 from somewhere'\n")
    SmokeTest(exe).result()


def test_smoke_test_ignores_python_and_pip_settings(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    exe = _standin(tmp_path / "bin/python3.12", "exit 0\n")
    _standin(tmp_path / "bin/pip3", '[ -z "$PYTHONPATH$PIP_CONFIG_FILE" ] || exit 9\n'
             '[ "$PYTHONDONTWRITEBYTECODE" = 1 ] || exit 8\n')
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/nonexistent/pip.conf")
    SmokeTest(exe).result()


def test_smoke_test_without_pip(tmp_path: Path) -> None:
    SmokeTest(_standin(tmp_path / "bin/python3.12", "exit 0\n")).result()
