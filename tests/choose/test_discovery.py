"""Interpreters on PATH: skipping the shims, versions from names, one probe per interpreter."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from packaging.version import Version

from pyv.choose import discovery
from pyv.core.requests import parse_request
from pyv.core.settings import load_settings


def exe(path: Path, body: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(0o755)
    return path


def test_next_on_path_skips_shims_and_empty_entries(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    exe(shims / "python3")
    real = exe(tmp_path / "usr" / "python3")
    exe(tmp_path / "plainfile" / "python3").chmod(0o644)
    path_env = os.pathsep.join(["", str(shims), str(tmp_path / "plainfile"), str(tmp_path / "usr")])
    assert discovery.next_on_path("python3", path_env, [shims]) == real
    assert discovery.next_on_path("python3", path_env) == shims / "python3"
    assert discovery.next_on_path("nope", path_env, [shims]) is None


def test_skip_dirs_compare_real_paths(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    exe(shims / "python")
    alias = tmp_path / "alias"
    alias.symlink_to(shims)
    assert discovery.next_on_path("python", str(alias), [shims]) is None


def test_version_from_name() -> None:
    assert discovery.version_from_name("python3.12") == Version("3.12")
    assert discovery.version_from_name("pypy3.10") == Version("3.10")
    assert discovery.version_from_name("python3") == Version("3")
    assert discovery.version_from_name("python") is None
    assert discovery.version_from_name("python3-config") is None


def test_describe_uses_the_name_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    found = discovery.describe(exe(tmp_path / "python3.12", f"#!/bin/sh\ntouch {marker}\n"))
    assert found is not None and found.version == Version("3.12")
    assert not marker.exists()


def test_probe_runs_once_and_is_cached(tmp_path: Path) -> None:
    count = tmp_path / "count"
    fake = exe(tmp_path / "python3", f"#!/bin/sh\necho x >> {count}\necho cpython 3.11.4 0\n")
    first = discovery.describe(fake, exact=True)
    second = discovery.describe(fake, exact=True)
    assert first == second and first is not None
    assert first.version == Version("3.11.4") and first.implementation == "cpython"
    assert count.read_text().count("x") == 1


def test_probe_of_a_broken_interpreter_is_none(tmp_path: Path) -> None:
    assert discovery.describe(exe(tmp_path / "python3", "#!/bin/sh\nexit 1\n"), exact=True) is None


def test_interpreters_on_path_and_find_on_path(tmp_path: Path) -> None:
    real = Path(sys.executable).resolve()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(real)
    (bin_dir / f"python{sys.version_info[0]}.{sys.version_info[1]}").symlink_to(real)
    exe(bin_dir / "python3-config")
    shims = tmp_path / "shims"
    exe(shims / "python3")
    path_env = os.pathsep.join([str(shims), str(bin_dir)])
    found = discovery.interpreters_on_path(path_env, [shims], exact=True)
    assert len(found) == 1  # two names, one real file
    assert found[0].version == Version(".".join(map(str, sys.version_info[:3])))
    settings = load_settings({"PYV_HOME": str(tmp_path)})
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    hit = discovery.find_on_path(settings, parse_request(minor), {"PATH": str(bin_dir)})
    assert hit is not None and hit.path.parent == bin_dir
    assert discovery.find_on_path(settings, parse_request("3.1"), {"PATH": str(bin_dir)}) is None
    system = discovery.find_on_path(settings, parse_request("system"), {"PATH": path_env})
    assert system is not None and system.path == bin_dir / "python3"
