"""scripts/generate_catalog.py on small synthetic inputs (no /work/shared needed)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.version import Version

from pyv.acquire.catalog import downloads_from_sha256sums, read_catalog_file, to_uv_json

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "generate_catalog.py"
PBS = "https://github.com/astral-sh/python-build-standalone/releases/download"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _own_install_sh(generator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The generator also rewrites scripts/install.sh's build table: give it a copy, so a
    test run never rewrites the repository's script from a synthetic catalog."""
    copy = tmp_path / "install.sh"
    copy.write_bytes(generator.INSTALL_SH.read_bytes())
    monkeypatch.setattr(generator, "INSTALL_SH", copy)
    return copy


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(version: str, build: str, triple_part: str, flavour: str, *, os: str = "linux",
           arch: str = "x86_64", level: str | None = None, libc: str = "gnu",
           variant: str | None = None) -> tuple[str, dict[str, Any]]:
    parsed = Version(version)
    major, minor, patch = parsed.release
    pre = f"{parsed.pre[0]}{parsed.pre[1]}" if parsed.pre else ""
    name = f"cpython-{version}+{build}-{triple_part}-{flavour}"
    var = f"+{variant}" if variant else ""
    arch_text = arch + (f"_{level}" if level else "")
    key = f"cpython-{version}{var}-{os}-{arch_text}-{libc}"
    return key, {
        "name": "cpython", "arch": {"family": arch, "variant": level}, "os": os, "libc": libc,
        "major": major, "minor": minor, "patch": patch, "prerelease": pre,
        "url": f"{PBS}/{build}/{name.replace('+', '%2B')}", "sha256": _sha(name),
        "variant": variant, "build": build,
    }


def _synthetic_uv_json() -> dict[str, Any]:
    entries = dict([
        _entry("3.12.4", "20240713", "x86_64-unknown-linux-gnu", "install_only_stripped.tar.gz"),
        _entry("3.12.4", "20240713", "x86_64_v3-unknown-linux-gnu", "install_only_stripped.tar.gz",
               level="v3"),
        _entry("3.12.4", "20240713", "x86_64-unknown-linux-gnu", "debug-full.tar.zst",
               variant="debug"),
        _entry("3.13.0", "20241016", "aarch64-apple-darwin",
               "freethreaded+pgo+lto-full.tar.zst", os="darwin", arch="aarch64", libc="none",
               variant="freethreaded"),
        _entry("3.14.0rc1", "20240713", "x86_64-unknown-linux-gnu",
               "install_only_stripped.tar.gz"),
    ])
    entries["pypy-3.10.16-linux-x86_64-gnu"] = {
        "name": "pypy", "arch": {"family": "x86_64", "variant": None}, "os": "linux",
        "libc": "gnu", "major": 3, "minor": 10, "patch": 16, "prerelease": "",
        "url": "https://downloads.python.org/pypy/pypy3.10-v7.3.19-linux64.tar.gz",
        "sha256": _sha("pypy"), "variant": None, "build": "7.3.19",
    }
    entries["cpython-3.12.1-emscripten-wasm32-musl"] = {
        "name": "cpython", "arch": {"family": "wasm32", "variant": None}, "os": "emscripten",
        "libc": "musl", "major": 3, "minor": 12, "patch": 1, "prerelease": "",
        "url": "https://github.com/pyodide/pyodide/releases/download/0.26.4/xbuildenv-0.26.4.tar.gz",
        "sha256": None, "variant": None, "build": "0.26.4",
    }
    return entries


def test_round_trip_from_uv_json(generator: ModuleType, tmp_path: Path) -> None:
    data = _synthetic_uv_json()
    source = tmp_path / "downloads.json"
    source.write_text(json.dumps(data))
    output = tmp_path / "out" / "catalog.json.gz"
    assert generator.main(["--uv-json", str(source), "--output", str(output),
                           "--generated", "2026-01-02T03:04:05+00:00"]) == 0
    catalog = read_catalog_file(output)
    installable = {k: v for k, v in data.items() if v["os"] != "emscripten"}
    assert to_uv_json(catalog.downloads) == installable
    assert catalog.generated == "2026-01-02T03:04:05+00:00"
    assert catalog.newest_build == "20241016"
    assert catalog.origin == "downloads.json"


def test_sha256sums_input_merges_newer_builds(generator: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "downloads.json"
    source.write_text(json.dumps(_synthetic_uv_json()))
    names = [
        "cpython-3.12.5+20240726-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz",
        "cpython-3.12.5+20240726-x86_64-unknown-linux-gnu-install_only.tar.gz",
        # The same key as in the uv JSON, from a newer release: the newer build wins.
        "cpython-3.14.0rc1+20240726-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz",
    ]
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("".join(f"{_sha(n)}  {n}\n" for n in names))
    output = tmp_path / "catalog.json"
    assert generator.main(["--uv-json", str(source), "--sha256sums", str(sums),
                           "--tag", "20240726", "--output", str(output)]) == 0
    catalog = read_catalog_file(output)
    by_key = {d.key: d for d in catalog.downloads}
    assert by_key["cpython-3.12.5-linux-x86_64-gnu"].filename == names[0]
    assert by_key["cpython-3.14.0rc1-linux-x86_64-gnu"].build == "20240726"
    assert by_key["cpython-3.12.4-linux-x86_64-gnu"].build == "20240713"
    assert catalog.newest_build == "20241016"  # from the uv JSON
    assert catalog.origin.endswith("/20240726/SHA256SUMS")


def test_fixture_written_agrees(generator: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "downloads.json"
    data = _synthetic_uv_json()
    # The fixture covers the newest tag's builds for the platforms it lists.
    data.update(dict([
        _entry("3.13.0", "20241016", "x86_64_v3-unknown-linux-gnu", "install_only_stripped.tar.gz",
               level="v3"),
        _entry("3.13.0", "20241016", "x86_64-pc-windows-msvc", "pgo+lto-full.tar.zst",
               os="windows", libc="none"),
    ]))
    source.write_text(json.dumps(data))
    fixtures = tmp_path / "fixtures"
    assert generator.main(["--uv-json", str(source), "--output", str(tmp_path / "c.json"),
                           "--fixture-dir", str(fixtures)]) == 0
    sums = (fixtures / "pbs-20241016.sha256sums").read_text()
    expected = json.loads((fixtures / "pbs-20241016.expected.json").read_text())
    assert set(expected) == {
        "cpython-3.13.0+freethreaded-darwin-aarch64-none",
        "cpython-3.13.0-linux-x86_64_v3-gnu",
        "cpython-3.13.0-windows-x86_64-none",
    }
    assert to_uv_json(downloads_from_sha256sums(sums, "20241016")) == expected
    assert len(sums.splitlines()) > len(expected)  # with less preferred flavours to skip


def test_bad_arguments(generator: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        generator.main(["--sha256sums", str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        generator.main([])
