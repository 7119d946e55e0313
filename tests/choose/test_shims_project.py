"""A project's environment named by its version file (`pyv pin --venv`) through the shims:
the no-process fast path, the marks it reads, the shims for the environment's commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from fixtures_shims import make_fake_env, write_fake_exe
from pyv.choose import shims
from pyv.choose.pins import distrust_file, read_version_file, trust_file
from pyv.choose.shims import STAMP, rehash
from pyv.choose.trust import PROJECTS, project_mark
from pyv.core.settings import load_settings

#: The slow path, replaced: a shim that hands over to pyv prints this and exits 99.
SLOW = "slow path"


def _settings():
    return load_settings(dict(os.environ))


def _run(pyv_home: Path, name: str, *args: str, cwd: Path,
         env: dict[str, str] | None = None, sh: str | None = None,
         ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    full.update({"PATH": f"{pyv_home}/shims:/usr/bin:/bin", "PWD": str(cwd), **(env or {})})
    shim = str(pyv_home / "shims" / name)
    return subprocess.run([sh, shim, *args] if sh else [shim, *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=60)


def _who(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout.split()[0]


@pytest.fixture
def no_slow_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shims rendered from here on hand over to a script that only says it was reached."""
    fake = write_fake_exe(tmp_path / "fake-pyv" / "pyv", "unused")
    fake.write_text(f'#!/bin/sh\necho "{SLOW}"\nexit 99\n')
    monkeypatch.setattr(shims, "pyv_command", lambda: [str(fake)])


@pytest.fixture
def project(fake_python, tmp_path: Path) -> Path:
    """3.12.4 and 3.11.9 installed; a project whose `.venv` has python, pip and `tool`, and
    whose version file is `.venv` then 3.11, trusted as `pyv pin --venv` leaves it."""
    fake_python("3.12.4")
    fake_python("3.11.9")
    root = tmp_path / "my project"
    make_fake_env(root, ".venv", ("python", "python3", "pip", "tool"))
    (root / ".python-version").write_text(".venv\n3.11\n")
    trust_file(_settings(), read_version_file(root / ".python-version"))
    return root


@pytest.mark.parametrize("sh", ["dash", "bash", "zsh"])
def test_the_environment_runs_without_pyv(no_slow_path, project: Path, pyv_home: Path,
                                          sh: str) -> None:
    rehash(_settings())
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    for name in ("python", "python3", "pip", "tool"):
        assert _who(_run(pyv_home, name, cwd=deep, sh=shutil.which(sh))) == "env:.venv", name
    # Not in .venv: the next entry, as pyv decides (pyv.choose.selection.resolve_entry).
    assert _who(_run(pyv_home, "python3.11", cwd=deep)) == "cpython-3.11.9-linux-x86_64-gnu"


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_the_environment_is_one_exec(project: Path, pyv_home: Path, tmp_path: Path) -> None:
    log = tmp_path / "strace.log"
    env = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    env.update({"PATH": f"{pyv_home}/shims:/usr/bin:/bin", "PWD": str(project)})
    traced = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=execve,clone,clone3,fork,vfork", "-o", str(log),
         str(pyv_home / "shims" / "python")], cwd=project, env=env, capture_output=True,
        text=True, timeout=60)
    if traced.returncode != 0 and "ptrace" in traced.stderr:
        pytest.skip(f"strace cannot trace here: {traced.stderr.strip()}")
    calls = [line for line in log.read_text().splitlines() if "(" in line]
    execs = [c for c in calls if "execve(" in c]
    assert len(execs) == 2, calls  # the shim, then .venv's python
    assert str(project / ".venv" / "bin" / "python") in execs[1]
    assert not [c for c in calls if "clone" in c or "fork" in c], calls


def test_a_changed_file_goes_to_pyv(no_slow_path, project: Path, pyv_home: Path) -> None:
    """The mark holds the file's date: any change since (even the same words) is pyv's."""
    version_file = project / ".python-version"
    version_file.write_text(".venv\n3.12\n")
    assert _run(pyv_home, "python", cwd=project).stdout.strip() == SLOW
    # Trusted again (what `pyv trust` does): fast again.
    trust_file(_settings(), read_version_file(version_file))
    assert _who(_run(pyv_home, "python", cwd=project)) == "env:.venv"


def test_a_mark_runs_only_the_environments_it_lists(no_slow_path, project: Path,
                                                    pyv_home: Path) -> None:
    """A file replaced under the same date (`tar`, `cp -p`) cannot name another directory."""
    make_fake_env(project, ".evil", ("python",))
    version_file = project / ".python-version"
    stat = version_file.stat()
    version_file.write_text(".evil\n")
    os.utime(version_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _run(pyv_home, "python", cwd=project).stdout.strip() == SLOW


def test_a_linked_or_missing_environment_goes_to_pyv(no_slow_path, project: Path,
                                                     pyv_home: Path) -> None:
    """pyv checks where a link leads, and words the error for a missing environment."""
    env = project / ".venv"
    env.rename(project / "elsewhere")
    assert _run(pyv_home, "python", cwd=project).stdout.strip() == SLOW
    env.symlink_to("elsewhere")
    assert _run(pyv_home, "python", cwd=project).stdout.strip() == SLOW


def test_the_global_file_and_pyv_version_never_name_a_project(no_slow_path, project: Path,
                                                              pyv_home: Path) -> None:
    (pyv_home / "version").write_text(".venv\n")
    away = project.parent / "away"
    away.mkdir()
    assert _run(pyv_home, "python", cwd=away).stdout.strip() == SLOW
    assert _run(pyv_home, "python", cwd=project,
                env={"PYV_VERSION": ".venv"}).stdout.strip() == SLOW


def test_marks_follow_trust(project: Path, pyv_home: Path) -> None:
    settings = _settings()
    version_file = project / ".python-version"
    mark = project_mark(settings, version_file)
    assert mark.read_text() == f"{project / '.venv'}\n"
    assert mark.stat().st_mtime_ns == version_file.stat().st_mtime_ns
    assert (pyv_home / "shims" / "tool").is_file()  # the environment's own command
    distrust_file(settings, version_file)
    assert not mark.exists()
    assert not (pyv_home / "shims" / "tool").exists()
    assert (pyv_home / "shims" / "python3.11").is_file()


def test_rehash_drops_marks_of_files_gone_or_changed(project: Path, pyv_home: Path,
                                                     tmp_path: Path) -> None:
    settings = _settings()
    other = tmp_path / "other"
    make_fake_env(other, ".venv", ("python", "othertool"))
    (other / ".python-version").write_text(".venv\n")
    trust_file(settings, read_version_file(other / ".python-version"))
    assert (pyv_home / "shims" / "othertool").is_file()
    shutil.rmtree(other)
    (project / ".python-version").write_text(".venv\n3.12\n")  # not trusted as it is now
    rehash(settings)
    assert not (pyv_home / "shims" / "othertool").exists()
    assert not (pyv_home / "shims" / "tool").exists()
    assert [p for p in (pyv_home / "index" / PROJECTS).rglob("*") if p.is_file()] == []


def test_pip_through_the_shim_gives_new_scripts_shims(project: Path, pyv_home: Path) -> None:
    pip = project / ".venv" / "bin" / "pip"
    # A fake pip that "installs" a console script next to itself.
    pip.write_text('#!/bin/sh\nprintf "#!/bin/sh\\necho newtool \\$0\\n" > "${0%/*}/newtool"\n'
                   'chmod +x "${0%/*}/newtool"\nexit 3\n')
    stamp = pyv_home / "index" / STAMP
    old = time.time() - 100
    os.utime(stamp, (old, old))
    assert _run(pyv_home, "pip", "install", "x", cwd=project).returncode == 3
    assert (pyv_home / "shims" / "newtool").is_file()
    ran = _run(pyv_home, "newtool", cwd=project)
    assert ran.stdout == f"newtool {project / '.venv' / 'bin' / 'newtool'}\n"
