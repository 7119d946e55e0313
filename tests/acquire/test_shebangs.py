"""pyv.acquire.shebangs: every era's script launcher becomes one relocatable form."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyv.acquire.shebangs import launcher_lines, relocate_scripts, script_kind

# A stand-in interpreter: says which file it is and what it was asked to run.
INTERPRETER = '#!/bin/sh\necho "interpreter=$0"\necho "script=$1"\n'
BODY = b"import sys\nprint('body')\n"

ABSOLUTE = b"#!/install/bin/python3.9\n" + BODY
ABSOLUTE_BUILD = b"#!/build/out/python/install/bin/python3\n" + BODY
TRAMPOLINE = b'#!/bin/sh\n"exec" "$(dirname $0)/python3.9" "$0" "$@"\n' + BODY
CURRENT = b"#!/bin/sh\n" + launcher_lines("python3.9") + BODY


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (ABSOLUTE, "absolute"),
        (ABSOLUTE_BUILD, "absolute"),
        (b"#! /usr/local/bin/python3.9 -E\n", "absolute"),
        (TRAMPOLINE, "trampoline"),
        (CURRENT, None),
        (b"#!/usr/bin/env python3\n", None),
        (b"#!/bin/sh\nexec echo hi\n", None),
        (b"#!/bin/bash\n", None),
        (b"\x7fELF\x02\x01", None),
        (b"#!\n", None),
        (b"#!/opt/store/cpython-3.9/bin/python3.9\n", None),  # inside the installation
    ],
)
def test_script_kind(head: bytes, kind: str | None) -> None:
    assert script_kind(head, ("/opt/store/cpython-3.9",)) == kind


def _tree(root: Path) -> Path:
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    exe = bin_dir / "python3.9"
    exe.write_text(INTERPRETER)
    exe.chmod(0o755)
    for name, data in (("pip3", ABSOLUTE), ("pydoc3", ABSOLUTE_BUILD), ("idle3", TRAMPOLINE),
                       ("2to3", CURRENT), ("python3.9-config", b"#!/bin/sh\necho config\n")):
        (bin_dir / name).write_bytes(data)
        (bin_dir / name).chmod(0o755)
    os.symlink("pip3", bin_dir / "pip")
    config = root / "lib/python3.9/config-3.9-x86_64-linux-gnu"
    config.mkdir(parents=True)
    (config / "python-config.py").write_bytes(TRAMPOLINE)
    (config / "current-config.py").write_bytes(CURRENT)  # looks for config-*/python3.9
    return root


def _run(script: Path) -> dict[str, str]:
    argv = [str(script)] if os.access(script, os.X_OK) else ["sh", str(script)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_relocated_scripts_survive_spaces_and_moves(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "a store" / "cpython 3.9")
    scripts = sorted((tree / "bin").iterdir())
    config = tree / "lib/python3.9/config-3.9-x86_64-linux-gnu"
    scripts += [config / "python-config.py", config / "current-config.py"]
    changed = relocate_scripts(tree, Path("bin/python3.9"), scripts, (str(tree),))
    assert {p.relative_to(tree).as_posix() for p in changed} == {
        "bin/pip3", "bin/pydoc3", "bin/idle3",
        "lib/python3.9/config-3.9-x86_64-linux-gnu/python-config.py",
        "lib/python3.9/config-3.9-x86_64-linux-gnu/current-config.py",
    }
    assert (tree / "bin/2to3").read_bytes() == CURRENT
    assert (tree / "bin/python3.9-config").read_bytes() == b"#!/bin/sh\necho config\n"
    assert os.readlink(tree / "bin/pip") == "pip3"
    for name in ("pip3", "pydoc3", "idle3"):
        data = (tree / "bin" / name).read_bytes()
        assert data == b"#!/bin/sh\n" + launcher_lines("python3.9") + BODY
        assert os.access(tree / "bin" / name, os.X_OK)
    for name in ("python-config.py", "current-config.py"):
        data = (config / name).read_bytes()
        assert data == b"#!/bin/sh\n" + launcher_lines("../../../bin/python3.9") + BODY

    moved = tmp_path / "moved store" / "elsewhere 3.9"
    moved.parent.mkdir()
    tree.rename(moved)
    for script in ("bin/pip3", "bin/pip", "bin/pydoc3", "bin/idle3",
                   "lib/python3.9/config-3.9-x86_64-linux-gnu/python-config.py",
                   "lib/python3.9/config-3.9-x86_64-linux-gnu/current-config.py"):
        seen = _run(moved / script)
        assert Path(seen["interpreter"]).resolve() == (moved / "bin/python3.9").resolve(), script
        assert Path(seen["script"]).name == Path(script).name

    # Once relocatable, nothing is rewritten again.
    assert relocate_scripts(moved, Path("bin/python3.9"), sorted((moved / "bin").iterdir())) == []


def test_relocated_script_runs_as_python(tmp_path: Path) -> None:
    """To Python the launcher lines are one string expression: the body runs unchanged."""
    script = tmp_path / "tool"
    body = b"from __future__ import annotations\nprint(__doc__ is not None)\n"
    script.write_bytes(b"#!/bin/sh\n" + launcher_lines("python3") + body)
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True)
    assert out.stdout == "True\n"
