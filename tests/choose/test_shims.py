"""Shims and their index: generation, rehash, and running them from sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pyv.choose.shims import STAMP, rehash, render_shim, spellings, templates_dir
from pyv.core.settings import load_settings

FAKE_SYSTEM_PATH = "/usr/bin:/bin"


def _settings():
    return load_settings(dict(os.environ))


def run_shim(
    pyv_home: Path, name: str, *args: str, cwd: Path, env: dict[str, str] | None = None,
    sh: str | None = None, path_extra: str = FAKE_SYSTEM_PATH,
) -> subprocess.CompletedProcess[str]:
    shims = pyv_home / "shims"
    full = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    full["PATH"] = f"{shims}:{path_extra}"
    full["PWD"] = str(cwd)
    full.update(env or {})
    cmd = [str(shims / name), *args] if sh is None else [sh, str(shims / name), *args]
    return subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=60)


def root_of(pyv_home: Path, spelling: str) -> Path:
    """The directory an index entry runs from, read as the shim reads it."""
    return pyv_home / (pyv_home / "index" / spelling).read_text().splitlines()[0]


@pytest.fixture
def three(fake_python, fake_env):
    """3.12.4, 3.12.1, 3.11.9, 3.13.1t, pypy3.10 and env ``astro-env`` (python, black)."""
    made = {
        "3.12": fake_python("3.12.4"),
        "old312": fake_python("3.12.1"),
        "3.11": fake_python("3.11.9"),
        "3.13t": fake_python("3.13.1", variant="freethreaded"),
        "pypy": fake_python("3.10.14", implementation="pypy"),
        "env": fake_env("astro-env", ("python", "python3", "black")),
    }
    rehash(_settings())
    return made


def test_templates_dir_is_the_repo_shims_in_editable_installs() -> None:
    assert (templates_dir() / "shim.sh").is_file()
    assert (templates_dir() / "init.sh").is_file()


def test_rehash_writes_a_shim_per_executable(three, pyv_home: Path) -> None:
    names = sorted(p.name for p in (pyv_home / "shims").iterdir() if not p.name.startswith("."))
    for expected in ("python", "python3", "python3.12", "python3.11", "python3.13t", "pip3",
                     "pip3.12", "pip", "pypy3.10", "black", "pydoc", "pydoc3"):
        assert expected in names
    assert "pyv" not in names
    shim = pyv_home / "shims" / "python3.12"
    assert os.access(shim, os.X_OK)
    assert shim.read_text().startswith("#!/bin/sh\n# pyv shim for python3.12")


def test_index_maps_spellings_to_the_best_installation(three, pyv_home: Path) -> None:
    index = pyv_home / "index"

    def target(name: str) -> Path:
        return root_of(pyv_home, name).resolve()

    for name in ("3.12", "3", "cpython@3.12", "cpython3.12", "cp312", "python3.12", "any"):
        assert target(name) == three["3.12"], name
    assert target("3.12.1") == three["old312"]
    assert target("3.11") == three["3.11"]
    for name in ("3.13t", "3.13+freethreaded", "cpython-3.13+freethreaded-linux-x86_64-gnu"):
        assert target(name) == three["3.13t"], name
    assert not (index / "3.13").exists()  # a plain 3.13 request does not select free-threaded
    for name in ("pypy3.10", "pypy@3.10", "3.10"):
        assert target(name) == three["pypy"], name
    assert target("astro-env") == three["env"]
    # Relative to PYV_HOME (so the shim joins it with the home it was made for); a minor
    # request runs from the minor link (which rehash repairs), so `pyv upgrade` moves it.
    assert (index / "3.12").read_text().splitlines()[0] == \
        "pythons/cpython-3.12-linux-x86_64-gnu"
    assert (index / "3.12.4").read_text().splitlines()[0] == \
        "pythons/cpython-3.12.4-linux-x86_64-gnu"


def test_index_agrees_with_find_installed(three, pyv_home: Path) -> None:
    from pyv.acquire.store import find_installed
    from pyv.core.requests import parse_request

    s = _settings()
    for entry in (pyv_home / "index").iterdir():
        if entry.name.startswith(".") or entry.name == "astro-env":
            continue
        best = find_installed(s, parse_request(entry.name))[0]
        assert root_of(pyv_home, entry.name).resolve() == best.path, entry.name


def test_spellings_of_a_pypy_install(three) -> None:
    from pyv.acquire.store import all_installations

    pypy = next(i for i in all_installations(_settings()) if i.implementation == "pypy")
    names = spellings(pypy)
    assert {"pypy3.10", "pypy@3.10", "pypy3.10.14", pypy.key, pypy.minor_key} <= set(names)


def test_rehash_is_idempotent_and_removes_stale_entries(three, pyv_home: Path) -> None:
    s = _settings()
    again = rehash(s)
    assert not again.changed
    mtime = (pyv_home / "shims" / "python").stat().st_mtime_ns
    (pyv_home / "shims" / "my-own-tool").write_text("#!/bin/sh\n")
    shutil.rmtree(three["3.11"])
    result = rehash(s)
    assert "python3.11" in result.removed and "pip3.11" in result.removed
    assert not (pyv_home / "shims" / "python3.11").exists()
    assert not (pyv_home / "index" / "3.11").exists()
    assert (pyv_home / "shims" / "my-own-tool").exists()  # not ours: left alone
    assert (pyv_home / "shims" / "python").stat().st_mtime_ns == mtime
    assert not [p for p in (pyv_home / "shims").iterdir() if p.name.endswith(".tmp")]


def test_concurrent_rehashes_never_leave_a_missing_shim(three, pyv_home: Path) -> None:
    s = _settings()
    shim = pyv_home / "shims" / "python"
    index = pyv_home / "index" / "3.12"
    stop = threading.Event()
    missing: list[str] = []

    def watch() -> None:
        while not stop.is_set():
            if not shim.is_file() or not index.exists():
                missing.append("gone")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        procs = [subprocess.Popen([str(Path(os.sys.executable).parent / "pyv"), "-q", "rehash"])
                 for _ in range(4)]
        for i in range(3):
            (pyv_home / "shims" / "python").write_text(f"stale {i}")  # force rewrites
            rehash(s)
        assert all(p.wait(60) == 0 for p in procs)
    finally:
        stop.set()
        watcher.join()
    assert missing == []
    assert shim.read_bytes() == render_shim(s, "python").encode()


def test_extra_read_only_store_is_indexed_by_absolute_path(
    tmp_path: Path, pyv_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixtures_shims import make_fake_install

    shared = tmp_path / "shared-store"
    inst = make_fake_install(shared, "3.9.20")
    monkeypatch.setenv("PYV_STORES", str(shared))
    rehash(_settings())
    assert (pyv_home / "index" / "3.9").read_text().splitlines()[0] == str(inst)
    result = run_shim(pyv_home, "python3.9", cwd=tmp_path / "work", env={"PYV_VERSION": "3.9"})
    assert result.stdout.split()[0] == inst.name


# ----- running shims --------------------------------------------------------------------
def who(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[0]


@pytest.mark.parametrize("sh", ["/bin/sh", "dash", "bash"])
def test_shim_from_nested_dirs_with_spaces_and_non_ascii(three, pyv_home, tmp_path, sh) -> None:
    if shutil.which(sh) is None:
        pytest.skip(f"{sh} is not installed")
    project = tmp_path / "work" / "my project"
    deep = project / "src dir" / "ünïcødé" / "x"
    deep.mkdir(parents=True)
    (project / ".python-version").write_text("3.11\n")
    result = run_shim(pyv_home, "python", "-c", "arg with space", cwd=deep, sh=sh)
    assert who(result) == "cpython-3.11.9-linux-x86_64-gnu"
    assert result.stdout.split()[1:] == ["python3", "-c", "arg", "with", "space"]


def test_shim_file_format_in_sh(three, pyv_home, tmp_path) -> None:
    work = tmp_path / "work"
    (work / ".python-version").write_bytes("\ufeff # pinned\r\n\r\n  3.13t  extra\r\n3.11".encode())
    ft = "cpython-3.13.1+freethreaded-linux-x86_64-gnu"
    assert who(run_shim(pyv_home, "python", cwd=work)) == ft
    assert who(run_shim(pyv_home, "python3.11", cwd=work)) == "cpython-3.11.9-linux-x86_64-gnu"
    assert who(run_shim(pyv_home, "pip3.11", cwd=work)) == "cpython-3.11.9-linux-x86_64-gnu"


def test_shim_selection_order(three, pyv_home, tmp_path, system_bin) -> None:
    work = tmp_path / "work"
    path = f"{system_bin}:{FAKE_SYSTEM_PATH}"
    assert who(run_shim(pyv_home, "python3", cwd=work, path_extra=path)) == "system"
    (pyv_home / "version").write_text("3.11\n")
    assert who(run_shim(pyv_home, "python3", cwd=work, path_extra=path)) == \
        "cpython-3.11.9-linux-x86_64-gnu"
    (work / ".python-version").write_text("astro-env\n")
    assert who(run_shim(pyv_home, "python3", cwd=work)) == "env:astro-env"
    assert who(run_shim(pyv_home, "black", cwd=work)) == "env:astro-env"
    result = run_shim(pyv_home, "python3", cwd=work, env={"PYV_VERSION": "pypy3.10"})
    assert who(result) == "pypy-3.10.14-linux-x86_64-gnu"
    result = run_shim(pyv_home, "python3", cwd=work, env={"PYV_VERSION": "system"},
                      path_extra=path)
    assert who(result) == "system"


def test_shim_pyproject_goes_through_pyv(three, pyv_home, tmp_path) -> None:
    work = tmp_path / "work"
    (work / "pyproject.toml").write_text('[project]\nrequires-python = "<3.12"\n')
    assert who(run_shim(pyv_home, "python", cwd=work)) == "cpython-3.11.9-linux-x86_64-gnu"


def test_shim_complex_request_goes_through_pyv(three, pyv_home, tmp_path) -> None:
    work = tmp_path / "work"
    (work / ".python-version").write_text(">=3.11,<3.12\n")
    assert who(run_shim(pyv_home, "python", "-c", "--", cwd=work)) == \
        "cpython-3.11.9-linux-x86_64-gnu"
    result = run_shim(pyv_home, "python", "--", "-x", cwd=work)
    assert result.stdout.split()[1:] == ["python3", "--", "-x"]


def test_shim_missing_version_exits_127_with_one_line(three, pyv_home, tmp_path) -> None:
    work = tmp_path / "work"
    (work / ".python-version").write_text("3.8\n")
    result = run_shim(pyv_home, "python", cwd=work)
    assert result.returncode == 127
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "3.8" in lines[0] and str(work / ".python-version") in lines[0]
    assert "`pyv install 3.8`" in lines[0]


def test_shim_empty_file_and_escapes_are_reported(three, pyv_home, tmp_path) -> None:
    work = tmp_path / "work"
    (work / ".python-version").write_text("# nothing\n")
    result = run_shim(pyv_home, "python", cwd=work)
    assert result.returncode != 0 and "names no version" in result.stderr
    (work / ".python-version").write_text("../../evil\n3.11\n")
    result = run_shim(pyv_home, "python", cwd=work)
    assert who(result) == "cpython-3.11.9-linux-x86_64-gnu"
    assert "ignoring '../../evil'" in result.stderr


def test_shim_fallback_error_setting(three, pyv_home, tmp_path) -> None:
    result = run_shim(pyv_home, "python", cwd=tmp_path / "work", env={"PYV_FALLBACK": "error"})
    assert result.returncode == 127 and "no Python version is selected" in result.stderr


def test_shim_in_deleted_directory(three, pyv_home, tmp_path) -> None:
    project = tmp_path / "work" / "proj"
    gone = project / "gone"
    gone.mkdir(parents=True)
    (project / ".python-version").write_text("3.11\n")
    script = f'cd "{gone}" && rmdir "{gone}" && exec "{pyv_home}/shims/python"'
    env = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    env["PATH"] = f"{pyv_home}/shims:{FAKE_SYSTEM_PATH}"
    result = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True,
                            timeout=60)
    assert who(result) == "cpython-3.11.9-linux-x86_64-gnu"


def test_fast_path_needs_no_other_program(three, pyv_home, tmp_path) -> None:
    """With a PATH holding no programs at all, every common case still works."""
    work = tmp_path / "work" / "deep" / "er"
    work.mkdir(parents=True)
    (tmp_path / "work" / ".python-version").write_text("3.12\n")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    for env in ({}, {"PYV_VERSION": "pypy3.10"}, {"PYV_VERSION": "astro-env"}):
        result = run_shim(pyv_home, "python", cwd=work, env=env, path_extra=str(empty))
        assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_fast_path_execs_only_the_target(three, pyv_home, tmp_path) -> None:
    work = tmp_path / "work" / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "work" / ".python-version").write_text("3.12\n3.11\n")
    log = tmp_path / "strace.log"
    for name in ("python", "python3.11"):
        result = run_shim(pyv_home, name, cwd=work)
        assert result.returncode == 0
        env = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
        env["PATH"] = f"{pyv_home}/shims:{FAKE_SYSTEM_PATH}"
        traced = subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=execve,clone,clone3,fork,vfork", "-o", str(log),
             str(pyv_home / "shims" / name)], cwd=work, env=env, capture_output=True, text=True,
            timeout=60,
        )
        if traced.returncode != 0 and "ptrace" in traced.stderr:
            pytest.skip(f"strace cannot trace here: {traced.stderr.strip()}")
        calls = [line for line in log.read_text().splitlines() if "(" in line]
        execs = [c for c in calls if "execve(" in c]
        assert len(execs) == 2, calls  # the shim itself, then the target
        assert str(pyv_home / "shims" / name) in execs[0]
        assert f"{pyv_home}/pythons/cpython-" in execs[1]
        assert not [c for c in calls if "clone" in c or "fork" in c], calls


def test_new_console_scripts_are_noticed(three, pyv_home, tmp_path) -> None:
    from fixtures_shims import write_fake_exe

    work = tmp_path / "work"
    (work / ".python-version").write_text("3.12\n")
    # As if `pip install httpie` ran outside the shims: the bin/ dir is now newer than the stamp.
    stamp = pyv_home / "index" / STAMP
    old = time.time() - 100
    os.utime(stamp, (old, old))
    write_fake_exe(three["3.12"] / "bin" / "http", "tool")
    assert who(run_shim(pyv_home, "python", cwd=work)) == "cpython-3.12.4-linux-x86_64-gnu"
    deadline = time.time() + 30
    while not (pyv_home / "shims" / "http").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (pyv_home / "shims" / "http").exists()


def test_pip_through_a_shim_rehashes_when_it_adds_scripts(three, pyv_home, tmp_path) -> None:
    work = tmp_path / "work"
    (work / ".python-version").write_text("3.12\n")
    pip = three["3.12"] / "bin" / "pip3"
    # A fake pip that "installs" a console script next to itself.
    pip.write_text('#!/bin/sh\nprintf "#!/bin/sh\\necho tool\\n" > "${0%/*}/newtool"\n'
                   'chmod +x "${0%/*}/newtool"\nexit 3\n')
    stamp = pyv_home / "index" / STAMP
    old = time.time() - 100
    os.utime(stamp, (old, old))
    result = run_shim(pyv_home, "pip3", "install", "x", cwd=work)
    assert result.returncode == 3
    assert (pyv_home / "shims" / "newtool").exists()


# ----- what an interpreter started through a shim reports ------------------------------
def test_a_venv_made_through_the_shim_keeps_its_minor(managed_python, fake_python, pyv_home,
                                                      tmp_path) -> None:
    """`python -m venv` through the shim must not record a path through the index: with
    `.python-version` = 3, installing a newer minor must not turn the venv into it."""
    from fixtures_venv import REAL_MINOR

    rehash(_settings())
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / ".python-version").write_text("3\n")
    made = run_shim(pyv_home, "python3", "-c", "import sys; print(sys.prefix)", cwd=work)
    assert made.returncode == 0, made.stderr
    assert "/index/" not in made.stdout
    made = run_shim(pyv_home, "python3", "-m", "venv", "--without-pip", "venv", cwd=work)
    assert made.returncode == 0, made.stderr
    assert "/index/" not in (work / "venv" / "pyvenv.cfg").read_text()
    fake_python("3.99.0")  # a newer minor: `3` now selects it
    rehash(_settings())
    assert who(run_shim(pyv_home, "python3", cwd=work)) == "cpython-3.99.0-linux-x86_64-gnu"
    ran = subprocess.run([str(work / "venv" / "bin" / "python"), "-c",
                          "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == REAL_MINOR, ran.stderr


# ----- system beside another version manager's shims -----------------------------------
def _other_manager(tmp_path: Path, pyv_home: Path) -> Path:
    """Shims of another version manager on `system`: they exec the next python3 on PATH
    after their own directory, which is pyv's shim (as pyenv's do)."""
    other = tmp_path / "other-shims"
    other.mkdir()
    shim = other / "python3"
    shim.write_text(f'#!/bin/sh\nexec "{pyv_home}/shims/python3" "$@"\n')
    shim.chmod(0o755)
    return other


def _run_bounded(pyv_home: Path, cwd: Path, path: str,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    full.update({"PATH": f"{pyv_home}/shims:{path}", "PWD": str(cwd), **(env or {})})
    try:
        return subprocess.run([str(pyv_home / "shims" / "python3"), "-c", "x"], cwd=cwd,
                              env=full, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("the shims exec each other forever")


def test_system_never_loops_through_another_managers_shims(three, pyv_home, tmp_path,
                                                           system_bin) -> None:
    work = tmp_path / "work"
    other = _other_manager(tmp_path, pyv_home)
    result = _run_bounded(pyv_home, work, f"{other}:{system_bin}:{FAKE_SYSTEM_PATH}")
    assert who(result) == "system", result.stderr
    # The fallback reached through pyv's full rules (pyproject.toml sends the shim there).
    (work / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.50"\n')
    result = _run_bounded(pyv_home, work, f"{other}:{system_bin}:{FAKE_SYSTEM_PATH}")
    assert who(result) == "system", result.stderr
    # A child of that interpreter starts afresh: the guard is for one exec chain only.
    chained = system_bin / "python3"
    chained.write_text('#!/bin/sh\necho "system $*"\n'
                       'if [ -z "${IN_CHILD-}" ]; then\n'
                       f'  IN_CHILD=1 "{pyv_home}/shims/python3" -c child\nfi\n')
    result = _run_bounded(pyv_home, work, f"{other}:{system_bin}:{FAKE_SYSTEM_PATH}")
    assert result.stdout.splitlines() == ["system -c x", "system -c child"], result.stderr


def test_system_through_a_loop_with_nothing_after_it_is_one_line(three, pyv_home,
                                                                 tmp_path) -> None:
    work = tmp_path / "work"
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    other = _other_manager(tmp_path, pyv_home)
    for extra in ({}, {"PYV_FALLBACK": "system"}):
        result = _run_bounded(pyv_home, work, f"{other}:{empty}", extra)
        assert result.returncode == 127, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "led back to pyv's shims" in lines[0], result.stderr


# ----- bad input: bounded, one line, shim and CLI agree --------------------------------
#: case -> (file content, the exit code shim and CLI must both give)
BAD_FILES = {
    "50,000 lines": (b"3.99\n" * 50_000, 127),
    "a million blank lines": (b"\n" * 1_000_000, 10),
    "NUL bytes": (b"3.1\x002\n", 0),  # dropped by sh, so by pyv too
    "a 1 MiB line": (b"3" * (1 << 20) + b"\n", 10),
    "a 300-character name": (b"a" * 300 + b"\n", 10),
    "3. and 5000 digits": (b"3." + b"1" * 5000 + b"\n", 10),
    "the line bound": (b"# pad\n" * 100 + b"3.11\n", 10),
    "the byte bound": (b"#" * 65535 + b"\n3.11\n", 10),
    "just inside the bounds": (b"#" * 65529 + b"\n3.11\n", 0),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_version_files_are_bounded_and_shim_and_cli_agree(case, three, pyv_home, tmp_path,
                                                              run_pyv) -> None:
    work = tmp_path / "work"
    content, code = BAD_FILES[case]
    (work / ".python-version").write_bytes(content)
    started = time.monotonic()
    cli = run_pyv("which", "python", cwd=work, timeout=60)
    assert time.monotonic() - started < 10  # 21 s for 50,000 lines before the bound
    started = time.monotonic()
    shim = run_shim(pyv_home, "python", cwd=work)
    if len(content) < (1 << 20):  # sh reads a line byte by byte: a 1 MiB one takes a while
        assert time.monotonic() - started < 10  # 8 s for a million blank lines before
    assert (shim.returncode, cli.returncode) == (code, code), (shim.stderr, cli.stderr)
    if code == 0:
        # `which` names the minor link, the fake interpreter its own tree: the same one.
        assert Path(cli.stdout.strip()).resolve().parts[-3] == who(shim)
        return
    assert cli.returncode in (10, 127), cli.stderr
    for result in (shim, cli):
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and len(lines[0]) < 1000, result.stderr[:300]


def test_an_overlong_pyv_version_is_one_line(three, pyv_home, tmp_path) -> None:
    result = run_shim(pyv_home, "python", cwd=tmp_path / "work",
                      env={"PYV_VERSION": "3." + "1" * 5000})
    assert result.returncode == 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 1000, result.stderr[:300]


def test_a_directory_in_envs_without_pyvenv_cfg_is_no_environment(fake_env, pyv_home):
    """The shims use the one rule `pyv envs` uses: an environment has a pyvenv.cfg."""
    from pyv.choose.shims import named_envs
    from pyv.venv.registry import named_environments

    real = fake_env("real", ("python", "realtool"))
    stray = fake_env("stray", ("python", "straytool"))
    (stray / "pyvenv.cfg").unlink()
    settings = _settings()
    rehash(settings)
    assert named_envs(settings) == named_environments(settings) == [real]
    assert (pyv_home / "shims" / "realtool").exists()
    assert not (pyv_home / "shims" / "straytool").exists()
