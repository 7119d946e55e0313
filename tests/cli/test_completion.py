"""Completion: the real bash, zsh and fish run the scripts `pyv completion SHELL` prints."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from test_lazy_imports import DOWNLOAD_STACK, _loaded, run_probe

BIN = str(Path(sys.executable).parent)


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}


def _script(run_pyv: Any, shell: str, tmp_path: Path) -> Path:
    result = run_pyv("completion", shell, check=True)
    path = tmp_path / f"pyv.{shell}"
    path.write_text(result.stdout)
    return path


def bash_candidates(script: Path, line: str) -> list[str]:
    words = line.split(" ")
    program = (
        f'source "{script}"; COMP_WORDS=({" ".join(repr(w) for w in words)}); '
        f"COMP_CWORD={len(words) - 1}; _pyv; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    out = subprocess.run(["bash", "--norc", "-c", program], env=_env(), capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return [w for w in out.splitlines() if w]


def zsh_candidates(script: Path, line: str) -> list[str]:
    words = line.split(" ")
    # compadd and _files only work inside a completion widget: stand-ins record what the
    # real function offers.
    program = (
        "compadd() { shift; print -l -- \"$@\" }; _files() { print -- __FILES__ }; "
        f'source "{script}"; words=({" ".join(repr(w) for w in words)}); '
        f"CURRENT={len(words)}; _pyv"
    )
    out = subprocess.run(["zsh", "-f", "-c", program], env=_env(), capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return [w for w in out.splitlines() if w]


def fish_candidates(script: Path, line: str) -> list[str]:
    program = f'source "{script}"; complete -C"{line}"'
    out = subprocess.run(["fish", "--no-config", "-c", program], env=_env(),
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [w.split("\t")[0] for w in out.splitlines() if w]


CANDIDATES = {"bash": bash_candidates, "zsh": zsh_candidates, "fish": fish_candidates}
SHELLS = [pytest.param(s, marks=pytest.mark.skipif(not shutil.which(s), reason=f"no {s}"))
          for s in CANDIDATES]


@pytest.mark.parametrize("shell", SHELLS)
def test_install_offers_available_versions(shell: str, run_pyv: Any, tmp_path: Path) -> None:
    script = _script(run_pyv, shell, tmp_path)
    found = CANDIDATES[shell](script, "pyv install 3.1")
    # Nothing is installed: these come from the bundled catalog.
    assert "3.12" in found and "3.13" in found
    assert all(c.startswith("3.1") for c in found if c != "__FILES__")


@pytest.mark.parametrize("shell", SHELLS)
def test_envs_and_activate_offer_named_environments(
    shell: str, run_pyv: Any, tmp_path: Path
) -> None:
    run_pyv("venv", "--name", "astro", "--python", "system", check=True)
    script = _script(run_pyv, shell, tmp_path)
    assert CANDIDATES[shell](script, "pyv envs rm a") == ["astro"]
    assert "astro" in CANDIDATES[shell](script, "pyv activate ")


@pytest.mark.parametrize("shell", SHELLS)
def test_flags_come_from_the_parser(shell: str, run_pyv: Any, tmp_path: Path) -> None:
    script = _script(run_pyv, shell, tmp_path)
    found = CANDIDATES[shell](script, "pyv venv --s")
    assert set(found) == {"--seed", "--system-site-packages"}
    assert "--quiet" in CANDIDATES[shell](script, "pyv envs rm --q")


@pytest.mark.parametrize("shell", SHELLS)
def test_venv_path_still_completes_paths(shell: str, run_pyv: Any, tmp_path: Path) -> None:
    script = _script(run_pyv, shell, tmp_path)
    (Path.cwd() / "projdir").mkdir()
    found = CANDIDATES[shell](script, "pyv venv proj")
    assert found in (["projdir/"], ["projdir"], ["__FILES__"])
    if shell == "fish":
        assert found == ["projdir/"]  # not blocked by `complete -f`


def test_completion_never_imports_the_download_stack() -> None:
    data = run_probe("_complete", "--", "install", "3.1")
    assert data["code"] == 0
    assert _loaded(data, DOWNLOAD_STACK) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_init_loads_the_same_completion(shell: str, run_pyv: Any, tmp_path: Path) -> None:
    script = tmp_path / f"init.{shell}"
    script.write_text(run_pyv("init", shell, check=True).stdout)
    assert "3.12" in CANDIDATES[shell](script, "pyv install 3.1")
    assert "system" in CANDIDATES[shell](script, "pyv pin s")
