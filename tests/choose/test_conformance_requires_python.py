"""uv's rule for pins and a project's requires-python, through every way pyv selects.

Inside a project (the nearest pyproject.toml stating requires-python), a version file
from above the project's root, or the global pin, whose first entry contradicts
requires-python is skipped, as uv skips it: requires-python decides. A file in the
project's own tree is used as written. The shim (fast path and ``pyv _shim``), pyv's
rules (``resolve``), ``pyv which``, ``pyv version``, ``pyv run`` and ``pyv venv``'s
interpreter choice must all give the same answer.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fixtures_shims import make_fake_install
from fixtures_venv import system_python
from pyv.choose.selection import resolve, select
from pyv.choose.shims import rehash
from pyv.core.errors import NotFound
from pyv.core.settings import load_settings
from pyv.venv import quick
from pyv.venv.interpreter import resolve_interpreter

PRINT_SELF = '#!/bin/sh\necho "$0"\n'

#: case -> (requires-python or None, file in the project, file above it, global pin,
#:          expected: the store entry run, or "system"). 3.12.4 and 3.11.9 are installed.
CASES: dict[str, tuple[str | None, str | None, str | None, str | None, str]] = {
    "global pin that fits": (">=3.11", None, None, "3.12\n", "cpython-3.12-linux-x86_64-gnu"),
    "global pin that contradicts": (">=3.10,<3.12", None, None, "3.12\n",
                                    "cpython-3.11-linux-x86_64-gnu"),
    "global exact pin that contradicts": ("<3.12", None, None, "3.12.4\n",
                                          "cpython-3.11-linux-x86_64-gnu"),
    "file above the root that fits": (">=3.12", None, "3.12\n", None,
                                      "cpython-3.12-linux-x86_64-gnu"),
    "file above the root that contradicts": ("==3.11.*", None, "3.12\n", None,
                                             "cpython-3.11-linux-x86_64-gnu"),
    "above the root, first entry contradicts": ("<3.12", None, "3.12\n3.11\n", None,
                                                "cpython-3.11-linux-x86_64-gnu"),
    "file above the root beats a fitting global": (">=3.12", None, "3.12.4\n", "3.11\n",
                                                   "cpython-3.12.4-linux-x86_64-gnu"),
    "contradicting file above, global ignored too": ("<3.12", None, "3.12\n", "3.12\n",
                                                     "cpython-3.11-linux-x86_64-gnu"),
    "file in the project is used as written": (">=3.12", "3.11\n", "3.12\n", None,
                                               "cpython-3.11-linux-x86_64-gnu"),
    "no requires-python: pins apply": (None, None, "3.12\n", None,
                                       "cpython-3.12-linux-x86_64-gnu"),
    "system is not judged": (">=3.12", None, None, "system\n", "system"),
    "nothing installed fits: system, with a word": (">=3.10,<3.11", None, None, "3.12\n",
                                                    "system"),
}

#: An environment for the project must satisfy requires-python: ``pyv venv`` refuses
#: where the shims fall back to the system interpreter (with a warning).
VENV_REFUSES = {"nothing installed fits: system, with a word"}


@pytest.fixture
def world(pyv_home: Path, tmp_path: Path) -> dict[str, Path]:
    store = pyv_home / "pythons"
    made = {v: make_fake_install(store, v) for v in ("3.12.4", "3.11.9")}
    (store / "cpython-3.12-linux-x86_64-gnu").symlink_to(made["3.12.4"].name)
    (store / "cpython-3.11-linux-x86_64-gnu").symlink_to(made["3.11.9"].name)
    for root in made.values():  # every python3 says which path it was started as
        (root / "bin" / "python3").write_text(PRINT_SELF)
    system_bin = tmp_path / "system-bin"
    system_bin.mkdir()
    for name in ("python", "python3"):
        (system_bin / name).symlink_to(system_python())
    rehash(load_settings(dict(os.environ)))
    return {"store": store, "system": system_bin}


def _answer_of(path: str | Path, world: dict[str, Path]) -> str:
    bin_dir = Path(os.path.normpath(path)).parent
    if bin_dir == world["system"]:
        return "system"
    assert bin_dir.parent.parent == world["store"], path
    return bin_dir.parent.name


def _layout(case: str, tmp_path: Path, pyv_home: Path) -> Path:
    spec, inside, above, global_, _ = CASES[case]
    outer = tmp_path / "code"
    project = outer / "project"
    work = project / "src"
    work.mkdir(parents=True)
    toml = '[project]\nname = "p"\nversion = "1"\n'
    if spec is not None:
        toml += f'requires-python = "{spec}"\n'
    (project / "pyproject.toml").write_text(toml)
    if inside is not None:
        (project / ".python-version").write_text(inside)
    if above is not None:
        (outer / ".python-version").write_text(above)
    if global_ is not None:
        (pyv_home / "version").write_text(global_)
    return work


def _run(argv: list[str], cwd: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env={**environ, "PWD": str(cwd)},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", list(CASES))
def test_every_way_of_selecting_agrees(
    case: str, world: dict[str, Path], pyv_home: Path, tmp_path: Path, run_pyv: Any
) -> None:
    work = _layout(case, tmp_path, pyv_home)
    expected = CASES[case][-1]
    environ = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    environ["PATH"] = f"{pyv_home / 'shims'}:{world['system']}:/usr/bin:/bin"
    settings = load_settings(environ)
    shim = _run([str(pyv_home / "shims" / "python3"), "-c", "import sys; print(sys.executable)"],
                work, environ)
    assert shim.returncode == 0, shim.stderr
    base = quick.resolve(None, environ, str(pyv_home), str(work))
    try:
        venv = base.executable if base is not None else resolve_interpreter(
            settings, work, None).executable
    except NotFound:
        venv = "missing"
    which = run_pyv("which", "python3", env=environ, cwd=work)
    run = run_pyv("run", "--no-install", "python3", "-c", "import sys; print(sys.executable)",
                  env=environ, cwd=work)
    assert run.returncode == 0, run.stderr
    answers = {
        "shim": _answer_of(shim.stdout.strip(), world),
        "pyv": _answer_of(resolve(settings, work, "python3", environ,
                                  auto_install=False).path, world),
        "venv": venv if venv == "missing" else _answer_of(venv, world),
        "which": _answer_of(which.stdout.strip(), world),
        "run": _answer_of(run.stdout.strip(), world),
    }
    wanted = dict.fromkeys(answers, expected)
    if case in VENV_REFUSES:
        wanted["venv"] = "missing"
    assert answers == wanted, (shim.stderr, which.stderr, run.stderr)
    version = json.loads(run_pyv("version", "--json", env=environ, cwd=work).stdout)
    used = next(row for row in version["entries"] if row["status"] == "ok")
    if expected == "system":
        assert used["request"] == "system"
    else:
        assert used["key"] == (world["store"] / expected).resolve().name
    skipped = select(settings, work, environ).skipped
    assert bool(skipped) == (version["origin"]["kind"] == "pyproject"
                             and (CASES[case][2] or CASES[case][3]) is not None)


def test_the_shim_says_why_the_system_interpreter_runs(
    world: dict[str, Path], pyv_home: Path, tmp_path: Path
) -> None:
    work = _layout("nothing installed fits: system, with a word", tmp_path, pyv_home)
    environ = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    environ["PATH"] = f"{pyv_home / 'shims'}:{world['system']}:/usr/bin:/bin"
    shim = _run([str(pyv_home / "shims" / "python3"), "-c", "print('ran')"], work, environ)
    assert shim.returncode == 0 and shim.stdout == "ran\n"
    lines = shim.stderr.splitlines()
    assert len(lines) == 1, lines
    assert str(pyv_home / "version") in lines[0] and "'>=3.10,<3.11'" in lines[0]
    assert "system interpreter runs instead" in lines[0]
    assert "pyv install '>=3.10,<3.11'" in lines[0]


def test_version_names_the_pin_it_passes_over(
    world: dict[str, Path], pyv_home: Path, tmp_path: Path, run_pyv: Any
) -> None:
    work = _layout("file above the root that contradicts", tmp_path, pyv_home)
    result = run_pyv("version", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "3.11.9" in result.stdout and "requires-python" in result.stdout
    above = tmp_path / "code" / ".python-version"
    assert f"note: ignoring {above}:1 selects 3.12 (Python 3.12.4)" in result.stderr
