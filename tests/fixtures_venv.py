"""Fixtures for environment tests: a managed store holding the real interpreter.

The real interpreter archive (``real_archive``) is unpacked once per session;
each test then gets installation directories in its own store whose ``bin``,
``lib``, ``include`` link to that tree, so making one costs a few syscalls.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from archives import REAL_MINOR, BuiltArchive

HOST_PLATFORM = "linux-x86_64-gnu"


@dataclass(frozen=True)
class ManagedPython:
    """One installation in the test's store."""

    store: Path
    key: str
    version: str

    @property
    def path(self) -> Path:
        return self.store / self.key

    @property
    def minor_key(self) -> str:
        return f"cpython-{REAL_MINOR}-{HOST_PLATFORM}"

    @property
    def minor_link(self) -> Path:
        return self.store / self.minor_key


@pytest.fixture(scope="session")
def unpacked_real_python(
    real_archive: BuiltArchive, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The real interpreter archive unpacked once (``<dir>/python``)."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "pyv-venv-real-python"
    shared.mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared / ".lock")):
        done = shared / "done"
        if not done.exists():
            with tarfile.open(real_archive.path) as tar:
                if hasattr(tarfile, "tar_filter"):
                    tar.extractall(shared, filter="tar")
                else:  # pragma: no cover - Pythons without extraction filters
                    tar.extractall(shared)
            done.touch()
    return shared / "python"


def add_installation(
    store: Path, tree: Path, version: str, *, link_minor: bool = True
) -> ManagedPython:
    """Publish ``tree`` (linked, not copied) as installation ``version`` in ``store``."""
    key = f"cpython-{version}-{HOST_PLATFORM}"
    inst = store / key
    inst.mkdir(parents=True)
    for sub in ("bin", "lib", "include", "share"):
        if (tree / sub).exists():
            os.symlink(tree / sub, inst / sub)
    record = {
        "key": key, "implementation": "cpython", "version": version, "variant": None,
        "os": "linux", "arch": "x86_64", "arch_variant": None, "libc": "gnu",
        "build": "20991231", "sha256": None, "url": "file:///test",
        "installed_at": "2026-01-01T00:00:00+00:00", "executable": f"bin/python{REAL_MINOR}",
    }
    (inst / ".pyv-install.json").write_text(json.dumps(record))
    managed = ManagedPython(store=store, key=key, version=version)
    if link_minor:
        point_minor_link(managed)
    return managed


def point_minor_link(managed: ManagedPython) -> None:
    tmp = managed.store / f".{managed.minor_key}.tmp"
    os.symlink(managed.key, tmp)
    os.replace(tmp, managed.minor_link)


@pytest.fixture
def managed_python(pyv_home: Path, unpacked_real_python: Path) -> ManagedPython:
    """The running Python's version installed in the test's own store, with its minor link."""
    version = ".".join(map(str, sys.version_info[:3]))
    return add_installation(pyv_home / "pythons", unpacked_real_python, version)


def system_python() -> Path:
    """The base interpreter of the running Python (not a pyv-managed one)."""
    return Path(sys.base_prefix) / "bin" / f"python{REAL_MINOR}"


def build_wheel(directory: Path, name: str = "pyvdemo", version: str = "1.0") -> Path:
    """A tiny pure-Python wheel written by hand: one module and one console script."""
    import base64
    import hashlib

    files = {
        f"{name}/__init__.py": b"def hello():\n    print('hello from " + name.encode() + b"')\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: pyv-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{name}-{version}.dist-info/entry_points.txt": (
            f"[console_scripts]\n{name}-hello = {name}:hello\n".encode()
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel
