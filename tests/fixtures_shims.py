"""Fake installations and environments for selection and shim tests.

A fake installation is a store directory with a ``.pyv-install.json`` record and a
``bin/`` of tiny ``sh`` scripts that print who they are, so a test can see which
interpreter a shim ran without installing anything real.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

#: What every fake executable prints: its marker, its own name, then its arguments.
FAKE_SCRIPT = '#!/bin/sh\necho "{marker} ${{0##*/}} $*"\n'


def write_fake_exe(path: Path, marker: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE_SCRIPT.format(marker=marker))
    path.chmod(0o755)
    return path


def make_fake_install(
    store: Path,
    version: str,
    *,
    implementation: str = "cpython",
    variant: str | None = None,
    names: Sequence[str] | None = None,
    extra: Sequence[str] = (),
) -> Path:
    """Create ``store/<key>`` whose executables print ``<key> <name> <args>``."""
    parts = version.split(".")
    minor = ".".join(parts[:2])
    suffix = f"+{variant}" if variant else ""
    key = f"{implementation}-{version}{suffix}-linux-x86_64-gnu"
    root = store / key
    t = "t" if variant and "freethreaded" in variant else ""
    if implementation == "pypy":
        main = f"pypy{minor}"
        default_names = [main, "pypy3", "pypy", "python", "python3", f"python{minor}"]
    else:
        main = f"python{minor}{t}"
        default_names = [main, "python3", f"pip{minor}", "pip3", "pydoc3"]
    (root / "bin").mkdir(parents=True, exist_ok=True)
    for name in list(names if names is not None else default_names) + list(extra):
        write_fake_exe(root / "bin" / name, key)
    record = {
        "key": key, "implementation": implementation, "version": version, "variant": variant,
        "os": "linux", "arch": "x86_64", "arch_variant": None, "libc": "gnu", "build": "20250101",
        "sha256": None, "url": "https://example.invalid/x.tar.gz",
        "installed_at": "2025-01-01T00:00:00+00:00", "executable": f"bin/{main}",
    }
    (root / ".pyv-install.json").write_text(json.dumps(record))
    return root


def make_fake_env(envs_dir: Path, name: str, names: Sequence[str] = ("python", "python3")) -> Path:
    env = envs_dir / name
    for exe in names:
        write_fake_exe(env / "bin" / exe, f"env:{name}")
    (env / "pyvenv.cfg").write_text("home = /nowhere\n")
    return env


@pytest.fixture
def fake_python(pyv_home: Path) -> Callable[..., Path]:
    """``fake_python("3.12.4", variant=..., implementation=...)`` in the user's store."""

    def make(version: str, **kwargs: object) -> Path:
        return make_fake_install(pyv_home / "pythons", version, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def fake_env(pyv_home: Path) -> Callable[..., Path]:
    def make(name: str, names: Sequence[str] = ("python", "python3")) -> Path:
        return make_fake_env(pyv_home / "envs", name, names)

    return make


@pytest.fixture
def system_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on PATH (after the shims) with a fake system ``python3``/``python``."""
    bin_dir = tmp_path / "system-bin"
    for name in ("python", "python3", "python3.9"):
        write_fake_exe(bin_dir / name, "system")
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]))
    return bin_dir
