"""The one find-or-install entry point: what it finds, and that it alone installs."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import pyv
from pyv.choose.resolve import NotInstalled, find_or_install
from pyv.core.requests import parse_request
from pyv.core.settings import load_settings

SRC = Path(pyv.__file__).parent
#: Modules that choose an interpreter: they reach the installer only through pyv.choose.resolve.
CHOOSERS = ["choose/selection.py", "choose/pins.py", "choose/shims.py", "choose/discovery.py",
            "venv",
            "cli/commands/selection.py", "cli/commands/pinning.py",
            "cli/commands/listing.py", "cli/commands/venv.py"]


def _imports_installer(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module in ("pyv.acquire.installer",):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "pyv.acquire" \
                and any(a.name == "installer" for a in node.names):
            return True
        if isinstance(node, ast.Import) and any(a.name == "pyv.acquire.installer"
                                                for a in node.names):
            return True
    return False


def test_only_the_resolver_imports_the_installer_among_choosers() -> None:
    files = []
    for name in CHOOSERS:
        path = SRC / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    assert [str(f.relative_to(SRC)) for f in files if _imports_installer(f)] == []
    assert _imports_installer(SRC / "choose" / "resolve.py")


def _settings():
    return load_settings(dict(os.environ))


def test_installs_only_when_the_caller_allows(fake_python, monkeypatch, pyv_home) -> None:
    import pyv.acquire.installer

    calls: list[list[str]] = []

    def fake_install(settings, texts, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        fake_python("3.13.2")
        return []

    monkeypatch.setattr(pyv.acquire.installer, "install", fake_install)
    request = parse_request("3.13")
    with pytest.raises(NotInstalled, match=r"Python 3.13 is not installed \(set by here\)"):
        find_or_install(_settings(), request, text="3.13", where="here")
    assert calls == []
    found = find_or_install(_settings(), request, text="3.13", where="here", install=True)
    assert calls == [["3.13"]]
    assert found.installation is not None and found.version == "3.13.2"
    assert (found.source, found.where) == ("managed", "here")


def test_what_each_kind_of_request_finds(fake_python, fake_env, pyv_home, tmp_path) -> None:
    inst = fake_python("3.12.4")
    minor = pyv_home / "pythons" / "cpython-3.12-linux-x86_64-gnu"
    minor.symlink_to(inst.name)
    s = _settings()
    found = find_or_install(s, parse_request("3.12"), text="3.12", where="x")
    assert found.executable == minor / "bin" / "python3.12" and found.follows_minor
    exact = find_or_install(s, parse_request("3.12.4"), text="3.12.4", where="x")
    assert exact.executable == inst / "bin" / "python3.12" and not exact.follows_minor
    env = fake_env("tools")
    named = find_or_install(s, parse_request("tools", allow_names=True), text="tools", where="x")
    assert (named.source, named.env_dir, named.executable) == (
        "environment", env, env / "bin" / "python")
    with pytest.raises(NotInstalled, match="environment 'nope'"):
        find_or_install(s, parse_request("nope", allow_names=True), text="nope", where="x")
