"""Kill -9 at every mutating system call of a reinstall and of ``venv --name --clear``.

``strace -e inject=SYSCALL:signal=KILL:when=N`` kills pyv when it makes its N-th
call of SYSCALL (counted per process). One untouched run under strace lists the
calls; then pyv is killed at each of them in turn. After every kill the old or
the new tree must be in place and working, and the next ordinary command must
succeed and leave no leftovers. Calls that failed (``mkdir`` of an existing
directory) change nothing, so a kill there equals a kill at the call before;
they are skipped to keep the sweep short.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from archives import build_synthetic_archive
from conftest import PYV_EXE
from fixtures_venv import system_python

MUTATING = ("rename", "renameat", "renameat2", "unlink", "unlinkat", "symlink", "symlinkat",
            "mkdir", "mkdirat", "rmdir")
_CALL = re.compile(r"^(\d+)\s+(\w+)\((.*?)(?:\) += (-?\d+).*|<unfinished \.\.\.>)$")


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-qq", "-o", os.devnull, "true"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _strace_works(),
                                reason="strace is missing or may not trace here")


def _strace(args: list[str], env: Mapping[str, str], *, inject: tuple[str, int] | None = None,
            log: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = ["strace", "-f", "-qq", "-o", str(log) if log else os.devnull,
           "-e", f"trace={','.join(MUTATING)}"]
    if inject is not None:
        name, n = inject
        cmd += ["-e", f"inject={name}:signal=KILL:when={n}"]
    return subprocess.run([*cmd, str(PYV_EXE), *args], env=dict(env), capture_output=True,
                          text=True, timeout=60)


def kill_points(log: Path) -> list[tuple[str, int]]:
    """(syscall, N) for every N-th call, per process, that changed something."""
    changed: dict[str, set[int]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for line in log.read_text().splitlines():
        match = _CALL.match(line)
        if match is None:
            continue  # a signal, an exit, or a "resumed" tail
        pid, name, _, result = match.groups()
        counts[pid, name] += 1
        if result is None or int(result) >= 0:
            changed[name].add(counts[pid, name])
    return sorted((name, n) for name, ns in changed.items() for n in ns)


def sweep(args: list[str], env: Mapping[str, str], tmp: Path,
          after_kill: Callable[[str], None], repair: Callable[[str], None]) -> list[str]:
    """Kill ``pyv ARGS`` at each point; check, repair and check again after each."""
    log = tmp / "trace.log"
    clean = _strace(args, env, log=log)
    assert clean.returncode == 0, clean.stderr
    points = kill_points(log)
    assert points
    killed = []
    for name, n in points:
        what = f"killed at {name} #{n}"
        result = _strace(args, env, inject=(name, n))
        assert result.returncode in (-9, 0) and "Traceback" not in result.stderr, \
            (what, result.returncode, result.stderr)
        if result.returncode == -9:
            killed.append(f"{name}#{n}")
        after_kill(what)
        repair(what)
    return killed


def _no_leftovers(env: Mapping[str, str], what: str) -> None:
    from pyv.core.settings import load_settings
    from pyv.upkeep.doctor import find_leftovers

    assert find_leftovers(load_settings(dict(env))) == [], what


def test_reinstall_killed_anywhere_loses_nothing(
    tmp_path: Path, pbs_mirror: Callable[..., dict[str, str]], pyv_home: Path
) -> None:
    archive = build_synthetic_archive(tmp_path / "archives", (3, 12, 4), build="20240713")
    env = {**os.environ, **pbs_mirror([archive]), "PYTHONDONTWRITEBYTECODE": "1"}
    first = subprocess.run([str(PYV_EXE), "install", "3.12"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    pythons = pyv_home / "pythons"
    installed = pythons / archive.key

    def working(what: str) -> None:
        record = json.loads((installed / ".pyv-install.json").read_text())
        assert record["key"] == archive.key, what
        run = subprocess.run([str(installed / record["executable"]), "--version"],
                             capture_output=True, text=True, timeout=30)
        assert run.stdout.strip() == "Python 3.12.4", what

    def repair(what: str) -> None:
        again = subprocess.run([str(PYV_EXE), "install", "3.12"], env=env, capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0 and "already installed" in again.stderr, (what, again)
        assert os.readlink(pythons / "cpython-3.12-linux-x86_64-gnu") == archive.key, what
        entry = (pyv_home / "index" / archive.key).read_text().splitlines()[0]
        assert entry == f"pythons/{archive.key}", what
        assert (pyv_home / "shims" / "python3.12").is_file(), what
        assert list((pythons / ".staging").iterdir()) == [], what
        _no_leftovers(env, what)

    killed = sweep(["install", "--reinstall", "3.12"], env, tmp_path, working, repair)
    assert "renameat2#1" in killed or "rename#1" in killed  # the publishing step was hit
    assert len(killed) >= 10


def test_venv_clear_killed_anywhere_loses_nothing(tmp_path: Path, pyv_home: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    base = str(system_python())
    args = ["venv", "--name", "web", "--clear", "--python", base]
    first = subprocess.run([str(PYV_EXE), *args], env=env, capture_output=True, text=True,
                           timeout=60)
    assert first.returncode == 0, first.stderr
    envs = pyv_home / "envs"
    web = envs / "web"

    def working(what: str) -> None:
        assert "home = " in (web / "pyvenv.cfg").read_text(), what
        assert (web / "bin" / "activate").is_file(), what
        run = subprocess.run([str(web / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
                             capture_output=True, text=True, timeout=30)
        assert run.stdout.strip() == str(web), what

    def repair(what: str) -> None:
        again = subprocess.run([str(PYV_EXE), *args], env=env, capture_output=True, text=True,
                               timeout=60)
        assert again.returncode == 0, (what, again.stderr)
        assert sorted(p.name for p in envs.iterdir() if p.name.startswith(".web")) == [], what
        _no_leftovers(env, what)

    killed = sweep(args, env, tmp_path, working, repair)
    assert "renameat2#1" in killed or "rename#1" in killed
    assert len(killed) >= 10
