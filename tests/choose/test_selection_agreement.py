"""One table of selection cases, run through pyv's rules (select/resolve), ``pyv venv``'s
fast path (or its full path where the fast one hands over) and ``shims/shim.sh``: all
three must give the same answer (the bin directory run from, or "missing")."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fixtures_shims import make_fake_env, make_fake_install
from fixtures_venv import system_python
from pyv.choose.pins import SelectionError, read_version_file, trust_file
from pyv.choose.selection import resolve
from pyv.choose.shims import rehash
from pyv.core.errors import NotFound
from pyv.core.settings import load_settings
from pyv.venv import quick
from pyv.venv.interpreter import resolve_interpreter

PRINT_SELF = '#!/bin/sh\necho "$0"\n'

#: case -> (.python-version in the project, in its parent, global file, PYV_VERSION,
#:          expected answer: a store entry, "system", or "missing"). A minor request runs
#:          from the minor link, an exact one from the installation's own directory.
CASES = {
    "minor in the file": ("3.12\n", None, None, None, "cpython-3.12-linux-x86_64-gnu"),
    "exact patch": ("3.12.1\n", None, None, None, "cpython-3.12.1-linux-x86_64-gnu"),
    "spelling with a prefix": ("cpython@3.11\n", None, None, None,
                               "cpython-3.11-linux-x86_64-gnu"),
    "file in a parent": (None, "3.11\n", None, None, "cpython-3.11-linux-x86_64-gnu"),
    "BOM, comments and CRLF": ("\ufeff# pin\r\n  3.11  # why\r\n", None, None, None,
                               "cpython-3.11-linux-x86_64-gnu"),
    "PYV_VERSION first": ("3.12\n", None, None, "3.11", "cpython-3.11-linux-x86_64-gnu"),
    "PYV_VERSION multi": (None, None, None, "3.12.1:3.11", "cpython-3.12.1-linux-x86_64-gnu"),
    "global file": (None, None, "3.11\n", None, "cpython-3.11-linux-x86_64-gnu"),
    "file beats global": ("3.12.1\n", None, "3.11\n", None, "cpython-3.12.1-linux-x86_64-gnu"),
    "multi-entry file": ("3.11\n3.12\n", None, None, None, "cpython-3.11-linux-x86_64-gnu"),
    "system": ("system\n", None, None, None, "system"),
    "system after an entry": ("system\n3.11\n", None, None, None, "system"),
    "missing": ("3.99\n", None, None, None, "missing"),
    "missing first of several": ("3.99\n3.11\n", None, None, None,
                                 "cpython-3.11-linux-x86_64-gnu"),
    "missing first in PYV_VERSION": (None, None, None, "3.99:3.12.1",
                                     "cpython-3.12.1-linux-x86_64-gnu"),
    "missing first of a uv range file": ("3.13rc1\n>=3.11, <3.12\n", None, None, None,
                                         "cpython-3.11-linux-x86_64-gnu"),
    "all missing": ("3.99\n3.98\n", None, None, None, "missing"),
    "missing in PYV_VERSION": (None, None, None, "3.99", "missing"),
    # Files uv and pyenv write.
    "uv range with spaces": (">=3.11, <3.13\n", None, None, None,
                             "cpython-3.12-linux-x86_64-gnu"),
    "uv range, strict": (">3.10, <3.12  # uv\n", None, None, None,
                         "cpython-3.11-linux-x86_64-gnu"),
    "series specifier": ("==3.12.*\n", None, None, None, "cpython-3.12-linux-x86_64-gnu"),
    "uv pre-release spelling": ("3.13rc1\n", None, None, None, "missing"),
    "pyenv prefix, minor": ("python-3.11\n", None, None, None, "cpython-3.11-linux-x86_64-gnu"),
    "pyenv prefix, patch": ("python-3.12.1\n", None, None, None,
                            "cpython-3.12.1-linux-x86_64-gnu"),
}


@pytest.fixture
def world(pyv_home: Path, tmp_path: Path) -> dict[str, Path]:
    store = pyv_home / "pythons"
    made = {v: make_fake_install(store, v) for v in ("3.12.4", "3.12.1", "3.11.9")}
    (store / "cpython-3.12-linux-x86_64-gnu").symlink_to(made["3.12.4"].name)
    for root in made.values():  # every python3 says which path it was started as
        (root / "bin" / "python3").write_text(PRINT_SELF)
    make_fake_env(pyv_home / "envs", "tools")
    system_bin = tmp_path / "system-bin"
    system_bin.mkdir()
    (system_bin / "python3").symlink_to(system_python())
    rehash(load_settings(dict(os.environ)))
    return {"store": store, "system": system_bin}


def _answer_of(path: Path, world: dict[str, Path]) -> str:
    bin_dir = Path(os.path.normpath(path)).parent
    if bin_dir == world["system"]:
        return "system"
    assert bin_dir.parent.parent == world["store"], path
    return bin_dir.parent.name


def _via_pyv(settings, cwd: Path, environ: dict[str, str], world) -> str:
    try:
        return _answer_of(resolve(settings, cwd, "python3", environ, auto_install=False).path,
                          world)
    except NotFound:
        return "missing"


def _via_venv(settings, cwd: Path, environ: dict[str, str], world, home: Path) -> str:
    base = quick.resolve(None, environ, str(home), str(cwd))
    if base is not None:
        return _answer_of(Path(base.executable), world)
    try:  # handed over: the full path's rules
        return _answer_of(resolve_interpreter(settings, cwd, None).executable, world)
    except NotFound:
        return "missing"


def _via_shim(home: Path, cwd: Path, environ: dict[str, str], world) -> str:
    result = subprocess.run([str(home / "shims" / "python3"), "-c",
                             "import sys; print(sys.executable)"],
                            cwd=cwd, env={**environ, "PWD": str(cwd)}, capture_output=True,
                            text=True, timeout=60)
    if result.returncode == 127:
        return "missing"
    assert result.returncode == 0, result.stderr
    return _answer_of(Path(result.stdout.strip()), world)


@pytest.mark.parametrize("case", list(CASES))
def test_select_venv_and_shim_agree(case: str, world, pyv_home: Path, tmp_path: Path) -> None:
    local, parent, global_, env_value, expected = CASES[case]
    project = tmp_path / "area" / "project"
    project.mkdir(parents=True)
    if local is not None:
        (project / ".python-version").write_bytes(local.encode())
    if parent is not None:
        (project.parent / ".python-version").write_bytes(parent.encode())
    if global_ is not None:
        (pyv_home / "version").write_bytes(global_.encode())
    environ = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    environ["PATH"] = f"{pyv_home / 'shims'}:{world['system']}:/usr/bin:/bin"
    if env_value is not None:
        environ["PYV_VERSION"] = env_value
    settings = load_settings(environ)
    answers = {
        "pyv": _via_pyv(settings, project, environ, world),
        "venv": _via_venv(settings, project, environ, world, pyv_home),
        "shim": _via_shim(pyv_home, project, environ, world),
    }
    assert answers == dict.fromkeys(answers, expected)


@pytest.mark.parametrize(("request_text", "expected"), [
    ("3.12", "cpython-3.12-linux-x86_64-gnu"),        # minor: through the minor link
    ("3", "cpython-3.12-linux-x86_64-gnu"),
    ("3.12.1", "cpython-3.12.1-linux-x86_64-gnu"),    # exact: its own directory
    ("3.12.4", "cpython-3.12.4-linux-x86_64-gnu"),    # exact, the one the link names
])
def test_find_which_and_shim_agree(request_text: str, expected: str, world, pyv_home: Path,
                                   tmp_path: Path, run_pyv) -> None:
    """`pyv find` reports what would run: the directory `pyv which` and the shim run from."""
    project = tmp_path / "project"
    project.mkdir()
    (project / ".python-version").write_text(request_text + "\n")
    environ = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    environ["PATH"] = f"{pyv_home / 'shims'}:{world['system']}:/usr/bin:/bin"

    def pyv(*args: str) -> Path:
        return Path(run_pyv(*args, env=environ, cwd=project, check=True).stdout.strip())

    answers = {
        "find": _answer_of(pyv("find", request_text), world),
        "find here": _answer_of(pyv("find"), world),
        "which": _answer_of(pyv("which", "python3"), world),
        "shim": _via_shim(pyv_home, project, environ, world),
    }
    assert answers == dict.fromkeys(answers, expected)


# ----- a project's environment named by its version file (`pyv pin --venv`) ------------
#: case -> (the project's .python-version, how its .venv is there: "dir", "link" (a link to
#:          a directory inside the project), "dangling" (its python links to nothing), or
#:          None; whether the file is trusted, as `pyv pin --venv` leaves it; PYV_VERSION;
#:          what python3 runs through the shim and for pyv; what `pyv venv` makes .venv
#:          from). "untrusted" is the one-line refusal (exit 10), "missing" the shims' 127.
PROJECT_CASES = {
    "pinned .venv": (".venv\n3.11\n", "dir", True, None, ".venv",
                     "cpython-3.11-linux-x86_64-gnu"),
    "pinned .venv, a comment after it": (".venv  # pyv pin --venv\n3.11\n", "dir", True, None,
                                         ".venv", "cpython-3.11-linux-x86_64-gnu"),
    "pinned .venv that is a link inside the project": (".venv\n3.11\n", "link", True, None,
                                                       ".venv", "cpython-3.11-linux-x86_64-gnu"),
    "pinned .venv, nothing after it": (".venv\n", "dir", True, None, ".venv",
                                       "cpython-3.12-linux-x86_64-gnu"),
    "pinned .venv removed": (".venv\n3.11\n", None, True, None, "missing",
                             "cpython-3.11-linux-x86_64-gnu"),
    "pinned .venv whose interpreter is gone": (".venv\n3.11\n", "dangling", True, None,
                                               "missing", "cpython-3.11-linux-x86_64-gnu"),
    "PYV_VERSION beats the pinned .venv": (".venv\n3.11\n", "dir", True, "3.12.1",
                                           "cpython-3.12.1-linux-x86_64-gnu",
                                           "cpython-3.12.1-linux-x86_64-gnu"),
    "a .venv entry nobody trusted": (".venv\n3.11\n", "dir", False, None, "untrusted",
                                     "untrusted"),
    "a version after it, not in .venv": ("3.12.1\n.venv\n", "dir", True, None,
                                         "cpython-3.12.1-linux-x86_64-gnu",
                                         "cpython-3.12.1-linux-x86_64-gnu"),
}


def _project_answer(run, project: Path, world) -> str:
    try:
        path = run()
    except SelectionError:
        return "untrusted"
    except NotFound:
        return "missing"
    if Path(os.path.normpath(path)).parent.parent == project / ".venv":
        return ".venv"
    return _answer_of(path, world)


@pytest.mark.parametrize("case", list(PROJECT_CASES))
def test_a_pinned_project_environment_is_one_decision(case: str, world, pyv_home: Path,
                                                      tmp_path: Path) -> None:
    text, venv, trusted, env_value, expected, made_from = PROJECT_CASES[case]
    project = tmp_path / "area" / "project"
    project.mkdir(parents=True)
    if venv == "dir":
        make_fake_env(project, ".venv", ("python", "python3"))
    elif venv == "link":
        make_fake_env(project / "envs", "dev", ("python", "python3"))
        (project / ".venv").symlink_to("envs/dev")
    elif venv == "dangling":  # made from an interpreter since removed
        (project / ".venv" / "bin").mkdir(parents=True)
        for name in ("python", "python3"):
            (project / ".venv" / "bin" / name).symlink_to(tmp_path / "removed" / "python3")
    for python3 in project.glob("**/bin/python3"):
        if python3.exists():
            python3.write_text(PRINT_SELF)
    version_file = project / ".python-version"
    version_file.write_text(text)
    environ = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    environ["PATH"] = f"{pyv_home / 'shims'}:{world['system']}:/usr/bin:/bin"
    if env_value is not None:
        environ["PYV_VERSION"] = env_value
    settings = load_settings(environ)
    if trusted:  # what `pyv pin --venv` does after writing the file
        trust_file(settings, read_version_file(version_file))

    def shim() -> str:
        result = subprocess.run([str(pyv_home / "shims" / "python3"), "-c", "pass"],
                                cwd=project, env={**environ, "PWD": str(project)},
                                capture_output=True, text=True, timeout=60)
        if result.returncode == 10:
            raise SelectionError("untrusted")
        if result.returncode == 127:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            raise NotFound("missing")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    answers = {
        "shim": _project_answer(shim, project, world),
        "pyv": _project_answer(
            lambda: resolve(settings, project, "python3", environ, auto_install=False).path,
            project, world),
    }
    assert answers == dict.fromkeys(answers, expected)
    made = _project_answer(lambda: resolve_interpreter(
        settings, project, None, target=project / ".venv").executable, project, world)
    assert made == made_from


def test_pyv_venv_reads_a_path_entry_from_where_its_file_is(world, pyv_home: Path,
                                                             tmp_path: Path) -> None:
    """A path entry is relative to its version file (as for the shim), also for `pyv venv`
    run in a subdirectory."""
    project = tmp_path / "area" / "project"
    wrapper = project / "tools" / "python3"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(f'#!/bin/sh\nexec {system_python()} "$@"\n')
    wrapper.chmod(0o755)
    version_file = project / ".python-version"
    version_file.write_text("./tools/python3\n")
    settings = load_settings(dict(os.environ))
    trust_file(settings, read_version_file(version_file))
    sub = project / "analysis"
    sub.mkdir()
    base = resolve_interpreter(settings, sub, None, target=sub / ".venv")
    assert Path(base.executable).name.startswith("python3")
    assert resolve(settings, sub, "python3", auto_install=False).path == wrapper
