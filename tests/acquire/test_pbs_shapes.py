"""Every python-build-standalone era's archive shape installs and passes the post-install checks.

Small archives with a stand-in interpreter (tests/pbs_shapes.py) cover what the shape
decides: launchers, links, prefixes, layouts. All installs go to a store whose path has a
space in it, as the platform's default data directory does on macOS.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archives import BuiltArchive
from pbs_shapes import BUILD_PREFIX, ERAS, Era, Layout, build_pbs_archive

needs_zstd = pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd command")

#: /install as a path of its own (not inside another word or path).
LEFTOVER = re.compile(r"(?<![\w.~/-])" + re.escape(BUILD_PREFIX) + r"(?![\w.-])")


@pytest.fixture
def spaced_home(tmp_path: Path) -> Path:
    home = tmp_path / "pyv home"
    home.mkdir()
    return home


@pytest.mark.parametrize(("era", "full"), [(ERAS["absolute"], True), (ERAS["realpath"], False)])
def test_archives_are_normalized_like_pbs(tmp_path: Path, era: Era, full: bool) -> None:
    if full and shutil.which("zstd") is None:
        pytest.skip("needs the zstd command")
    built = build_pbs_archive(tmp_path, era, full=full)
    if full:
        raw = subprocess.run(["zstd", "-dc", str(built.path)], capture_output=True,
                             check=True).stdout
        tar_path = tmp_path / "raw.tar"
        tar_path.write_bytes(raw)
    else:
        tar_path = built.path
    with tarfile.open(tar_path) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert all(name.startswith("python/") for name in names)
    assert not any(m.isdir() for m in members)
    if full:
        assert names[0] == "python/PYTHON.json"
        assert {n.split("/")[1] for n in names} == {"PYTHON.json", "install", "build", "licenses"}
        names = names[1:]
    assert names == sorted(names)
    assert {m.mtime for m in members} == {era.mtime}
    assert {(m.uid, m.gid, m.uname) for m in members} == {(0, 0, "root")}
    assert {m.mode for m in members if m.isfile()} == {0o664, 0o775}


def _install(run_pyv: Callable[..., subprocess.CompletedProcess[str]],
             pbs_mirror: Callable[..., dict[str, str]], home: Path, archive: BuiltArchive,
             request: str) -> Path:
    env = pbs_mirror([archive]) | {"PYV_HOME": str(home)}
    result = run_pyv("install", request, env=env)
    assert result.returncode == 0, result.stderr
    install = home / "pythons" / archive.key
    assert install.is_dir(), archive.key
    return install


def _run(*argv: str | Path, env: dict[str, str] | None = None) -> str:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=True,
                          env=None if env is None else os.environ | env).stdout


def check_installation(install: Path, layout: Layout) -> None:
    """The post-install checks that hold for any installation, stand-in interpreter or not."""
    exe = install / "bin" / layout.exe
    real_exe = exe.resolve()
    # Each script's launcher runs the installation's own interpreter.
    scripts = ["pip", "pip3", f"pip{layout.mm}", "pydoc3"] + (
        ["2to3"] if layout.minor < 13 else [])
    for name in scripts:
        seen = dict(line.split("=", 1) for line in _run(install / "bin" / name).splitlines())
        assert Path(seen["interpreter"]).resolve() == real_exe, name
    config_py = next(install.glob(f"{layout.stdlib}/config-*/python-config.py"))
    seen = dict(line.split("=", 1) for line in _run("sh", config_py).splitlines())
    assert Path(seen["interpreter"]).resolve() == real_exe
    # python3.X-config, pkg-config and sysconfig name the installation.
    config = install / "bin" / f"python{layout.mm}{layout.suffix}-config"
    assert Path(_run(config, "--prefix").strip()) == install.resolve()
    assert f"-L{install.resolve()}/lib " in _run(config, "--ldflags", "--embed")
    if shutil.which("pkg-config"):
        pc_env = {"PKG_CONFIG_PATH": str(install / "lib/pkgconfig")}
        for pc in (f"python-{layout.mm}{layout.suffix}", "python3-embed"):
            prefix = _run("pkg-config", "--variable=prefix", pc, env=pc_env).strip()
            # pkg-config escapes the spaces of ${pcfiledir} (relocatable .pc files) for sh.
            prefix = prefix.replace("\\ ", " ")
            assert Path(prefix).resolve() == install.resolve(), pc
    data_file = install / layout.stdlib / f"{layout.sysconfigdata}.py"
    tree = ast.parse(data_file.read_text())
    assign = next(s for s in tree.body if isinstance(s, ast.Assign))
    data = ast.literal_eval(assign.value)
    assert data["prefix"] == str(install)
    assert Path(data["LIBDIR"]) == install / "lib"
    assert data["PYTHON_BUILD_STANDALONE"] == 1
    # No /install left in any text file pyv patches.
    patched = [data_file, *install.glob(f"{layout.stdlib}/config-*/Makefile"),
               *install.glob("lib/pkgconfig/*.pc"), config,
               *install.glob(f"{layout.stdlib}/_sysconfig_vars_*.json"),
               *install.glob(f"{layout.stdlib}/build-details.json"),
               *(p for p in (install / "bin").iterdir() if p.is_file() and p != exe)]
    for path in patched:
        text = path.read_text(encoding="latin-1")
        assert not LEFTOVER.search(text), f"{path}: {LEFTOVER.search(text)}"


ERA_CASES = [
    pytest.param(ERAS["absolute"], (3, 9, 4), None, True, "3.9", marks=needs_zstd,
                 id="absolute-shebangs-full"),
    pytest.param(ERAS["bin-trampoline"], (3, 10, 4), None, False, "3.10",
                 id="bin-trampoline"),
    pytest.param(ERAS["tree-trampoline"], (3, 11, 1), None, False, "3.11",
                 id="tree-trampoline"),
    pytest.param(ERAS["python-link"], (3, 12, 2), None, False, "3.12", id="python-link"),
    pytest.param(ERAS["realpath"], (3, 13, 1), None, False, "3.13", id="realpath"),
    pytest.param(ERAS["realpath"], (3, 13, 1), "freethreaded", False, "3.13t",
                 id="freethreaded"),
    pytest.param(ERAS["realpath"], (3, 13, 1), "freethreaded+debug", True, "3.13td",
                 marks=needs_zstd, id="freethreaded-debug-full"),
    pytest.param(ERAS["relocatable-pc"], (3, 13, 2), None, False, "3.13",
                 id="relocatable-pc"),
    pytest.param(ERAS["realpath"], (3, 14, 0), None, False, "3.14", id="3.14-absolute-details"),
    pytest.param(ERAS["relative-details"], (3, 14, 0), None, False, "3.14",
                 id="3.14-relative-details"),
]


@pytest.mark.parametrize(("era", "version", "variant", "full", "request_text"), ERA_CASES)
def test_every_era_installs_and_passes_checks(
    run_pyv: Callable[..., subprocess.CompletedProcess[str]],
    pbs_mirror: Callable[..., dict[str, str]], spaced_home: Path, tmp_path: Path, era: Era,
    version: tuple[int, int, int], variant: str | None, full: bool, request_text: str,
) -> None:
    built = build_pbs_archive(tmp_path / "archives", era, version, variant=variant, full=full)
    install = _install(run_pyv, pbs_mirror, spaced_home, built, request_text)
    layout = Layout(version[0], version[1], freethreaded="freethreaded" in (variant or ""),
                    debug="debug" in (variant or ""))
    check_installation(install, layout)
    record = json.loads((install / ".pyv-install.json").read_text())
    assert record["executable"] == f"bin/{layout.exe}"
    if (version[0], version[1]) >= (3, 14):
        details = json.loads((install / layout.stdlib / "build-details.json").read_text())
        base = details["base_prefix"]
        assert (install / layout.stdlib / base).resolve() == install.resolve() or \
            Path(base) == install
