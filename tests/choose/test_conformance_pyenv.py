"""pyenv's selection behaviour, as its own test suite states it, against the real ``pyv``.

Each row transcribes a case of pyenv's tests of version files, ``version-name``,
``version``, ``local``, ``global``, ``which`` and ``exec`` that concerns behaviour pyv
claims: a world (version files, ``PYENV_VERSION``/``PYV_VERSION``), a command, and what
pyenv answers, reduced to what both tools can be compared on (which version, from
where, which versions are named missing, the exit status). The table runs against
``pyv`` always, and against pyenv in an isolated ``PYENV_ROOT`` where pyenv is
installed, so the table itself is checked. Where pyv answers otherwise on purpose, the
row says how, and docs/selection.md ("Where pyv differs from pyenv") says why.

Both worlds hold the same interpreters: 3.12.4 and 3.11.9 installed (``black`` only in
3.11.9), and a "system" directory on PATH with ``python``, ``python3`` and ``sysonly``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures_shims import make_fake_install, write_fake_exe
from pyv.choose.shims import rehash
from pyv.core.settings import load_settings

#: pyenv, where installed (found before the tests isolate HOME and PATH).
PYENV = shutil.which("pyenv") or str(Path.home() / ".pyenv" / "bin" / "pyenv")
HAVE_PYENV = os.access(PYENV, os.X_OK)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "selection.md"

VERSIONS = {"3.12.4": ("python", "python3", "python3.12"),
            "3.11.9": ("python", "python3", "python3.11", "black")}
SYSTEM = ("python", "python3", "sysonly")
#: A fake executable that reports who it is, its arguments, and PATH.
REPORTER = '#!/bin/sh\necho "{marker} ${{0##*/}} $*"\necho "PATH $PATH"\n'


@dataclass(frozen=True)
class World:
    """Version files and the environment a case runs in."""

    local: str | None = None  # ./.python-version (cwd is <tmp>/proj/sub)
    parent: str | None = None  # <tmp>/proj/.python-version
    global_: str | None = None  # the global version file
    env: str | None = None  # PYENV_VERSION / PYV_VERSION


@dataclass(frozen=True)
class Answer:
    """What a command said, reduced to what both tools can be compared on."""

    #: 0, or the status a failure exits with (None: any non-zero status).
    status: int | None
    #: Normalised stdout lines (see ``_normalise``).
    out: tuple[str, ...] = ()
    #: Versions stderr says are not installed.
    missing: tuple[str, ...] = ()
    #: Versions stderr says have the command that was not found.
    elsewhere: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    name: str
    world: World
    #: pyenv's spelling: version, which, exec, local, global (pyv: version, which, exec,
    #: pin, pin --global).
    argv: tuple[str, ...]
    pyenv: Answer
    #: pyv's answer where it differs on purpose (listed in docs/selection.md).
    pyv: Answer | None = None


OK = 0
FAIL = None

CASES = [
    # ----- version files (version-file-read.bats, version-file.bats) -----
    Case("simple file", World(local="3.12.4\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("leading spaces", World(local="  3.12.4\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("only the first word of a line", World(local="3.12.4 3.11.9 hi\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("every line counts", World(local="3.11.9 one\n3.12.4 two\n"), ("version",),
         Answer(OK, ("3.11.9 local", "3.12.4 local"))),
    Case("leading blank lines", World(local="\n3.12.4\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("no trailing newline", World(local="3.12.4"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("carriage returns", World(local="3.12.4\r\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("comment lines", World(local="3.12.4\n  # 3.4.0\n#3.3.7\n3.11.9\n"), ("version",),
         Answer(OK, ("3.12.4 local", "3.11.9 local"))),
    Case("'..' is ignored", World(local="..\n"), ("version",), Answer(OK, ("system local",)),
         pyv=Answer(10)),
    Case("a glob is ignored, the next line used", World(local="../*\n3.12.4\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("file in a parent directory", World(parent="3.11.9\n"), ("version",),
         Answer(OK, ("3.11.9 parent",))),
    Case("nearest file wins", World(local="3.12.4\n", parent="3.11.9\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("global file", World(global_="3.11.9\n"), ("version",),
         Answer(OK, ("3.11.9 global",))),
    # ----- version-name.bats, version.bats -----
    Case("nothing selected is system", World(), ("version",), Answer(OK, ("system global",)),
         pyv=Answer(OK, ("system fallback",))),
    Case("system is not checked for existence", World(env="system"), ("version",),
         Answer(OK, ("system env",))),
    Case("glob characters in the environment", World(env="[1-9].?*"), ("version",),
         Answer(FAIL, (), ("[1-9].?*",)), pyv=Answer(10)),
    Case("environment beats the local file", World(local="3.11.9\n", env="3.12.4"),
         ("version",), Answer(OK, ("3.12.4 env",))),
    Case("local file beats the global one", World(local="3.12.4\n", global_="3.11.9\n"),
         ("version",), Answer(OK, ("3.12.4 local",))),
    Case("missing version", World(env="1.2"), ("version",), Answer(FAIL, (), ("1.2",)),
         pyv=Answer(3, (), ("1.2",))),
    Case("second entry missing", World(env="3.12.4:1.2"), ("version",),
         Answer(1, ("3.12.4 env",), ("1.2",))),
    Case("first entry missing", World(env="1.2:3.12.4"), ("version",),
         Answer(1, ("3.12.4 env",), ("1.2",))),
    Case("two entries missing", World(env="3.4.2:3.12.4:1.2"), ("version",),
         Answer(1, ("3.12.4 env",), ("1.2", "3.4.2"))),
    Case("missing entry in a file", World(local="1.2\n3.11.9\n"), ("version",),
         Answer(1, ("3.11.9 local",), ("1.2",))),
    Case("python- prefix", World(local="python-3.12.4\n"), ("version",),
         Answer(OK, ("3.12.4 local",))),
    Case("a prefix selects the latest installed", World(env="3.12"), ("version",),
         Answer(OK, ("3.12.4 env",))),
    Case("python- prefix and a prefix", World(env="python-3.12"), ("version",),
         Answer(OK, ("3.12.4 env",))),
    # ----- local.bats -----
    Case("local without a version", World(), ("local",), Answer(FAIL)),
    Case("local prints the file", World(local="3.12.4\n"), ("local",),
         Answer(OK, ("3.12.4",))),
    Case("local finds the file in a parent", World(parent="3.11.9\n"), ("local",),
         Answer(OK, ("3.11.9",))),
    Case("local sets the version", World(), ("local", "3.11.9"),
         Answer(OK, ("file 3.11.9",))),
    Case("local changes the version", World(local="3.12.4\n"), ("local", "3.11.9"),
         Answer(OK, ("file 3.11.9",))),
    Case("local refuses a version not installed", World(), ("local", "1.2.3"),
         Answer(FAIL, ("file absent",)), pyv=Answer(OK, ("file 1.2.3",), ("1.2.3",))),
    Case("local --unset", World(local="3.12.4\n"), ("local", "--unset"),
         Answer(OK, ("file absent",))),
    # ----- global.bats -----
    Case("global by default", World(), ("global",), Answer(OK, ("system",))),
    Case("global reads the file", World(global_="3.11.9\n"), ("global",),
         Answer(OK, ("3.11.9",))),
    Case("global sets the version", World(), ("global", "3.12.4"),
         Answer(OK, ("global 3.12.4",))),
    Case("global refuses a version not installed", World(), ("global", "1.2.3"),
         Answer(FAIL, ("global absent",)), pyv=Answer(OK, ("global 1.2.3",), ("1.2.3",))),
    # ----- which.bats -----
    Case("which python", World(env="3.12.4"), ("which", "python"),
         Answer(OK, ("3.12.4 python",))),
    Case("which a command of the first entry", World(env="3.11.9:3.12.4"), ("which", "black"),
         Answer(OK, ("3.11.9 black",))),
    Case("which a command of a later entry", World(env="3.12.4:3.11.9"), ("which", "black"),
         Answer(OK, ("3.11.9 black",))),
    Case("which searches PATH for system", World(env="system"), ("which", "sysonly"),
         Answer(OK, ("system sysonly",))),
    Case("which: version not installed", World(env="3.3"), ("which", "black"),
         Answer(127, (), ("3.3",), ("3.11.9",))),
    Case("which: versions not installed", World(env="2.7:3.3"), ("which", "black"),
         Answer(127, (), ("2.7", "3.3"), ("3.11.9",))),
    Case("which: no such command", World(env="3.12.4"), ("which", "fab"), Answer(127)),
    Case("which: no such command on PATH for system", World(env="system"), ("which", "rake"),
         Answer(127)),
    Case("which: the command is in another version", World(env="3.12.4"), ("which", "black"),
         Answer(127, (), (), ("3.11.9",))),
    Case("which from the global file", World(global_="3.11.9\n"), ("which", "python"),
         Answer(OK, ("3.11.9 python",))),
    Case("which skips a missing entry of the global file", World(global_="2.7\n3.12.4\n"),
         ("which", "python"), Answer(OK, ("3.12.4 python",)),
         pyv=Answer(OK, ("3.12.4 python",), ("2.7",))),
    Case("which resolves a prefix", World(env="3.12"), ("which", "python"),
         Answer(OK, ("3.12.4 python",))),
    # ----- exec.bats -----
    Case("exec with a version not installed", World(env="3.4"), ("exec", "nonexistent"),
         Answer(127, (), ("3.4",))),
    Case("exec with a file's version not installed", World(local="2.7\n"),
         ("exec", "nonexistent"), Answer(127, (), ("2.7",))),
    Case("exec forwards every argument", World(env="3.11.9"),
         ("exec", "python", "-w", "/path to/python script.rb", "--", "extra", "args"),
         Answer(OK, ("3.11.9 python -w /path to/python script.rb -- extra args",
                     "PATH0 3.11.9"))),
    Case("exec puts the version first on PATH", World(env="3.12.4"), ("exec", "python3"),
         Answer(OK, ("3.12.4 python3", "PATH0 3.12.4"))),
    Case("exec leaves PATH alone for system", World(env="system"), ("exec", "python3"),
         Answer(OK, ("system python3", "PATH0 system"))),
    Case("exec: version then system", World(env="3.12.4:system"), ("exec", "python3"),
         Answer(OK, ("3.12.4 python3", "PATH0 3.12.4"))),
    Case("exec: system then version", World(env="system:3.12.4"), ("exec", "python3"),
         Answer(OK, ("system python3", "PATH0 system"))),
]


# ----- the two worlds ---------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """Where one tool's world lives."""

    cwd: Path
    parent: Path
    global_file: Path
    env: dict[str, str]
    #: directory -> the version name its executables belong to
    owners: dict[Path, str]


def _system_dir(tmp: Path) -> Path:
    bin_dir = tmp / "system-bin"
    for name in SYSTEM:
        path = bin_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(REPORTER.format(marker="system"))
        path.chmod(0o755)
    return bin_dir


def _dirs(tmp: Path) -> tuple[Path, Path]:
    parent = tmp / "proj"
    cwd = parent / "sub"
    cwd.mkdir(parents=True)
    return cwd, parent


def _pyv_place(tmp: Path, pyv_home: Path) -> Place:
    store = pyv_home / "pythons"
    owners = {}
    for version, names in VERSIONS.items():
        root = make_fake_install(store, version, names=names)
        for name in names:
            (root / "bin" / name).write_text(REPORTER.format(marker=version))
        minor = ".".join(version.split(".")[:2])
        (store / f"cpython-{minor}-linux-x86_64-gnu").symlink_to(root.name)
        owners[root.resolve() / "bin"] = version
    system = _system_dir(tmp)
    owners[system] = "system"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYV_VERSION")}
    env["PATH"] = f"{pyv_home / 'shims'}:{system}:/usr/bin:/bin"
    rehash(load_settings(env))
    cwd, parent = _dirs(tmp)
    return Place(cwd, parent, pyv_home / "version", env, owners)


def _pyenv_place(tmp: Path) -> Place:
    root = tmp / "pyenv-root"
    owners = {}
    for version, names in VERSIONS.items():
        for name in names:
            exe = write_fake_exe(root / "versions" / version / "bin" / name, version)
            exe.write_text(REPORTER.format(marker=version))
        owners[(root / "versions" / version / "bin").resolve()] = version
    system = _system_dir(tmp)
    owners[system] = "system"
    env = {"HOME": str(tmp / "home"), "PYENV_ROOT": str(root), "LC_ALL": "C",
           "PATH": f"{system}:/usr/bin:/bin"}
    cwd, parent = _dirs(tmp)
    return Place(cwd, parent, root / "version", env, owners)


def _prepare(place: Place, world: World, variable: str) -> dict[str, str]:
    for path, text in ((place.cwd / ".python-version", world.local),
                       (place.parent / ".python-version", world.parent),
                       (place.global_file, world.global_)):
        if text is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode())
    env = dict(place.env)
    if world.env is not None:
        env[variable] = world.env
    env["PWD"] = str(place.cwd)
    return env


# ----- reducing answers ---------------------------------------------------------------
_PYENV_MISSING = re.compile(r"version `([^']*)' is not installed")
_PYV_MISSING = re.compile(r"(?:\bPython |^)(\S+?):? (?:is )?not installed", re.M)


def _origin(text: str, place: Place) -> str:
    if "PYENV_VERSION" in text or "PYV_VERSION" in text:
        return "env"
    if str(place.global_file) in text:
        return "global"
    if str(place.cwd / ".python-version") in text:
        return "local"
    if str(place.parent / ".python-version") in text:
        return "parent"
    if "fallback" in text:
        return "fallback"
    return "?"


def _owner(text: str, place: Place) -> str:
    path = Path(text.strip())
    if not path.is_absolute():
        return text.strip()
    owner = place.owners.get(path.resolve().parent) or place.owners.get(path.parent)
    return f"{owner or path.parent} {path.name}"


def _file_state(path: Path, label: str) -> str:
    if not path.exists():
        return f"{label} absent"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return f"{label} {' '.join(lines)}"


def _normalise(argv: Sequence[str], result: subprocess.CompletedProcess[str], place: Place,
               missing_pattern: re.Pattern[str], own: Callable[[Path], bool]) -> Answer:
    """``own``: whether a directory on PATH is the tool's own (its shims, its libexec)."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    command = argv[0]
    if command == "version":
        out = []
        for line in lines:
            name, _, rest = line.partition(" ")
            out.append(f"{name} {_origin(rest, place)}")
    elif command == "which":
        out = [_owner(line, place) for line in lines]
    elif command == "exec":
        out = []
        for line in lines:
            if line.startswith("PATH "):  # its first entry that is not the tool's own
                first = next(Path(p) for p in line[len("PATH "):].split(":")
                             if not own(Path(p).resolve()))
                line = f"PATH0 {place.owners.get(first.resolve(), str(first))}"
            out.append(line.rstrip())
    elif len(argv) > 1:  # local/global with an argument: what the file holds now
        path = place.cwd / ".python-version" if command == "local" else place.global_file
        out = [_file_state(path, "file" if command == "local" else "global")]
    else:
        out = [line.strip() for line in lines]
    missing = tuple(sorted(set(missing_pattern.findall(result.stderr))))
    return Answer(result.returncode, tuple(out), missing, _elsewhere(result.stderr))


def _elsewhere(stderr: str) -> tuple[str, ...]:
    """The versions a "command not found" names as having the command."""
    listed = re.search(r"exists in these Python versions:\n((?:  \S+\n)+)", stderr)  # pyenv
    if listed:
        return tuple(sorted(listed.group(1).split()))
    listed = re.search(r"exists in ([^;\n]+)", stderr)  # pyv: installation keys
    if listed:
        return tuple(sorted(k.split("-")[1] for k in listed.group(1).split(", ")))
    return ()


def _matches(answer: Answer, expected: Answer) -> bool:
    status_ok = (answer.status != 0 if expected.status is None
                 else answer.status == expected.status)
    return status_ok and (answer.out, answer.missing, answer.elsewhere) == (
        expected.out, expected.missing, expected.elsewhere)


def _pyv_argv(argv: tuple[str, ...]) -> list[str]:
    if argv[0] == "local":
        return ["pin", *("--rm" if a == "--unset" else a for a in argv[1:])]
    if argv[0] == "global":
        return ["pin", "--global", *argv[1:]]
    return list(argv)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pyv(case: Case, tmp_path: Path, pyv_home: Path, run_pyv: Any) -> None:
    place = _pyv_place(tmp_path, pyv_home)
    env = _prepare(place, case.world, "PYV_VERSION")
    result = run_pyv(*_pyv_argv(case.argv), env=env, cwd=place.cwd, timeout=120)
    shims = (pyv_home / "shims").resolve()
    answer = _normalise(case.argv, result, place, _PYV_MISSING, lambda p: p == shims)
    expected = case.pyv or case.pyenv
    assert _matches(answer, expected), (answer, result.stdout, result.stderr)


@pytest.mark.skipif(not HAVE_PYENV, reason="pyenv is not installed here")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pyenv(case: Case, tmp_path: Path) -> None:
    place = _pyenv_place(tmp_path)
    env = _prepare(place, case.world, "PYENV_VERSION")
    result = subprocess.run([PYENV, *case.argv], env=env, cwd=place.cwd, capture_output=True,
                            text=True, timeout=120)
    tree = Path(PYENV).resolve().parents[1]
    answer = _normalise(case.argv, result, place, _PYENV_MISSING,
                        lambda p: tree == p or tree in p.parents)
    assert _matches(answer, case.pyenv), (answer, result.stdout, result.stderr)


def test_every_difference_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8").partition("## Where pyv differs from pyenv")[2]
    section = " ".join(text.partition("\n## ")[0].split())
    assert section, "docs/selection.md lacks its list of differences from pyenv"
    missing = [c.name for c in CASES if c.pyv is not None and c.name not in section]
    assert not missing, f"differences from pyenv not explained in docs/selection.md: {missing}"
