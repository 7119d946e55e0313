"""scripts/install.sh: pyv onto a host without a usable Python, end to end and offline.

The script runs under real shells with a ``PATH`` of only the tools it documents
(no ``python3``), fetches the running interpreter packed as a python-build-standalone
archive from a loopback mirror, and installs a pyv wheel built here. The build
backend is not installed in the test environment and the build must not touch the
network, so the wheels (pyv's and its dependencies') are packed from the source
tree and the installed distributions as the wheel format lays them out.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from packaging.requirements import Requirement

from archives import BuiltArchive
from fixtures_http import LoopbackServer, copy_into
from pyv.acquire.catalog import read_catalog_file
from pyv.core.settings import PBS_DOWNLOAD_PREFIX

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install.sh"
#: Everything install.sh may run; a PATH of these has no python3 on it.
TOOLS = ("uname", "sed", "mkdir", "rm", "mv", "cp", "chmod", "tar", "gzip", "curl", "sha256sum")
SHELLS = [s for s in ("dash", "bash") if shutil.which(s)]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the loopback build is Linux's")


def _shell_argv(shell: str) -> list[str]:
    path = shutil.which(shell)
    assert path is not None
    return [path, "--posix"] if shell == "bash" else [path]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _write_wheel(directory: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A pure-Python wheel holding ``files`` (``<dist-info>/METADATA`` among them)."""
    dist_info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: test_bootstrap\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{arc},{_record_hash(data)},{len(data)}" for arc, data in sorted(files.items())]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data in files.items():
            zf.writestr(arc, data)
    return path


def _normal(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _repack(dist: importlib.metadata.Distribution, directory: Path) -> Path:
    """An installed distribution as a wheel again (pure-Python dependencies only)."""
    name, version = _normal(dist.metadata["Name"]), dist.version
    files: dict[str, bytes] = {}
    for entry in dist.files or ():
        arc = str(entry)
        if arc.startswith("..") or "__pycache__" in arc or arc.endswith(
            (".dist-info/RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
        ):
            continue
        files[arc] = Path(str(entry.locate())).read_bytes()
    dist_infos = {arc.split("/")[0] for arc in files if ".dist-info/" in arc}
    renamed = {}
    for arc, data in files.items():
        top = arc.split("/")[0]
        new = arc.replace(top, f"{name}-{version}.dist-info", 1) if top in dist_infos else arc
        renamed[new] = data
    return _write_wheel(directory, name, version, renamed)


def _runtime_closure(root: str) -> list[importlib.metadata.Distribution]:
    """``root`` and the installed distributions it needs at run time (no extras)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = _normal(todo.pop())
        if name in seen:
            continue
        dist = importlib.metadata.distribution(name)
        seen[name] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(pyv's wheel, a directory of its dependencies' wheels)."""
    house = tmp_path_factory.mktemp("wheelhouse")
    deps = [d for d in _runtime_closure("pyv") if _normal(d.metadata["Name"]) != "pyv"]
    for dist in deps:
        _repack(dist, house)
    pyv = importlib.metadata.distribution("pyv")
    dist_info = f"pyv-{pyv.version}.dist-info"
    files = {
        str(p.relative_to(ROOT / "src")): p.read_bytes()
        for p in sorted((ROOT / "src" / "pyv").rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    files[f"{dist_info}/METADATA"] = (pyv.read_text("METADATA") or "").encode()
    files[f"{dist_info}/entry_points.txt"] = (pyv.read_text("entry_points.txt") or "").encode()
    out = tmp_path_factory.mktemp("pyv-wheel")
    return _write_wheel(out, "pyv", pyv.version, files), house


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A directory of symlinks to the tools install.sh needs, and nothing else."""
    bin_dir = tmp_path / "tools"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed")
        (bin_dir / tool).symlink_to(found)
    return bin_dir


@pytest.fixture
def served(
    http_server: LoopbackServer, real_archive: BuiltArchive, tmp_path: Path
) -> Iterator[Path]:
    """The real archive on the loopback mirror; yields a build table naming it."""
    name = real_archive.path.name
    copy_into(http_server, real_archive.path, f"{real_archive.build}/{name}")
    url = f"{PBS_DOWNLOAD_PREFIX}/{real_archive.build}/{quote(name)}"
    machine = os.uname().machine
    table = tmp_path / "builds.txt"
    libc = "musl" if list(Path("/lib").glob("ld-musl-*.so.1")) else "gnu"
    table.write_text(f"linux {machine} {libc} {url} {real_archive.sha256}\n")
    yield table


def _run(argv: list[str], tools: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        "PATH": str(tools), "HOME": os.environ["HOME"],
        # Offline, and blind to this machine's pip configuration.
        "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull, **env,
    }
    return subprocess.run(argv, env=full, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_install_without_python_then_pyv_runs(
    tmp_path: Path, tools: Path, served: Path, http_server: LoopbackServer,
    wheelhouse: tuple[Path, Path],
) -> None:
    wheel, house = wheelhouse
    prefix, bin_dir = tmp_path / "opt" / "pyv", tmp_path / "bin"
    assert shutil.which("python3", path=str(tools)) is None
    result = _run(
        [*_shell_argv("dash" if "dash" in SHELLS else "bash"), str(SCRIPT),
         "--prefix", str(prefix), "--bin-dir", str(bin_dir), "--wheel", str(wheel),
         "--builds", str(served)],
        tools, PYV_PYTHON_INSTALL_MIRROR=http_server.url, PIP_FIND_LINKS=str(house),
    )
    assert result.returncode == 0, result.stderr
    assert f"launcher {bin_dir}/pyv" in result.stdout
    # Only the installation is left: no staging directory beside it.
    assert sorted(p.name for p in prefix.parent.iterdir()) == ["pyv"]
    version = _run([str(bin_dir / "pyv"), "--version"], tools)
    assert version.returncode == 0, version.stderr
    assert importlib.metadata.version("pyv") in version.stdout
    # The launcher hands every word over as it is (spaces, quotes) and pyv names itself.
    odd = _run([str(bin_dir / "pyv"), "find", "/no such/py'thon"], tools)
    assert odd.returncode == 3 and "/no such/py'thon" in odd.stderr, odd.stderr
    assert _run([str(bin_dir / "pyv"), "--help"], tools).stdout.startswith("usage: pyv ")
    # pyv runs on the interpreter the script installed, not on this test's.
    where = _run([str(prefix / "python" / "bin" / "python3"), "-c",
                  "import pyv, sys; print(pyv.__file__); print(sys.prefix)"], tools)
    assert where.stdout.splitlines() == [
        str(next((prefix / "python" / "lib").glob("python3.*/site-packages/pyv/__init__.py"))),
        str(prefix / "python"),
    ]


@pytest.mark.parametrize("shell", SHELLS)
def test_checksum_mismatch_leaves_nothing(
    shell: str, tmp_path: Path, tools: Path, served: Path, http_server: LoopbackServer,
) -> None:
    good = served.read_text().split()
    served.write_text(" ".join([*good[:4], "0" * 64]) + "\n")
    prefix, bin_dir = tmp_path / "opt" / "pyv", tmp_path / "bin"
    result = _run(
        [*_shell_argv(shell), str(SCRIPT), "--prefix", str(prefix), "--bin-dir", str(bin_dir),
         "--builds", str(served), "--python-mirror", http_server.url],
        tools,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "checksum mismatch" in lines[0], result.stderr
    assert "0" * 64 in lines[0]
    assert list(prefix.parent.iterdir()) == []
    assert list(bin_dir.iterdir()) == []


@pytest.mark.parametrize("shell", SHELLS)
def test_unknown_flag_is_a_usage_error(shell: str, tools: Path) -> None:
    result = _run([*_shell_argv(shell), str(SCRIPT), "--frobnicate"], tools)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "install.sh: error: unknown argument '--frobnicate' (see --help)"
    ]


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_missing_mirror_file_is_one_line(
    scheme: str, tmp_path: Path, tools: Path, served: Path
) -> None:
    """A directory mirror without the build: one line naming the file, nothing left."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    prefix = tmp_path / "opt" / "pyv"
    result = _run(
        [*_shell_argv(SHELLS[0]), str(SCRIPT), "--prefix", str(prefix), "--bin-dir",
         str(tmp_path / "bin"), "--builds", str(served), "--python-mirror", f"{scheme}{mirror}"],
        tools,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    # A directory names the file as it is on disk: '+', not the URL's '%2B'.
    assert f"{mirror}/" in line and "is not in the mirror" in line
    assert "+" in line and "%2B" not in line
    assert list(prefix.parent.iterdir()) == []


def test_embedded_table_is_generated_from_the_bundled_catalog() -> None:
    """The script's build table is what the catalog generator writes, not hand-kept."""
    spec = importlib.util.spec_from_file_location(
        "generate_catalog", ROOT / "scripts" / "generate_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    catalog = read_catalog_file(ROOT / "src" / "pyv" / "data" / "catalog.json")
    table = generator.bootstrap_table(list(catalog.downloads))
    text = SCRIPT.read_text()
    assert "# BEGIN BOOTSTRAP BUILDS\n" + table + "# END BOOTSTRAP BUILDS\n" in text
    rows = [line.split() for line in table.splitlines()[1:-1]]
    hosts = {(r[0], r[1], r[2]) for r in rows}
    expected = {("linux", "x86_64", "gnu"), ("linux", "aarch64", "musl"),
                ("darwin", "aarch64", "none")}
    assert expected <= hosts
    assert all("-install_only" in r[3] and len(r[4]) == 64 for r in rows)


def test_print_build_picks_this_host(tools: Path) -> None:
    """Piped into sh, as `curl … | sh -s -- --print-build` runs it."""
    result = subprocess.run(
        [*_shell_argv(SHELLS[0]), "-s", "--", "--print-build"], input=SCRIPT.read_text(),
        env={"PATH": str(tools), "HOME": os.environ["HOME"]}, capture_output=True, text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    url, sha = result.stdout.split()
    machine = {"arm64": "aarch64"}.get(os.uname().machine, os.uname().machine)
    assert f"-{machine}-unknown-linux-" in url and url.startswith(PBS_DOWNLOAD_PREFIX + "/")
    assert sha in SCRIPT.read_text()


@pytest.mark.slow
def test_install_from_a_pyv_mirror_bundle(
    tmp_path: Path, tools: Path, served: Path, real_archive: BuiltArchive,
    pbs_mirror: Callable[..., dict[str, str]], run_pyv: Callable[..., Any],
    wheelhouse: tuple[Path, Path],
) -> None:
    """An offline node: the interpreter from a `pyv mirror --pack` bundle, pyv from a wheel."""
    env = pbs_mirror([real_archive])
    bundle = tmp_path / "bundle.tar"
    version = ".".join(map(str, real_archive.version))
    platform = "linux-{}-{}".format(*served.read_text().split()[1:3])
    packed = run_pyv("mirror", "--pack", str(bundle), version, "--platform", platform, env=env)
    assert packed.returncode == 0, packed.stderr
    wheel, house = wheelhouse
    prefix, bin_dir = tmp_path / "opt" / "pyv", tmp_path / "bin"
    result = _run(
        [*_shell_argv(SHELLS[0]), str(SCRIPT), "--prefix", str(prefix), "--bin-dir",
         str(bin_dir), "--wheel", str(wheel), "--bundle", str(bundle), "--builds", str(served)],
        tools, PIP_FIND_LINKS=str(house),
    )
    assert result.returncode == 0, result.stderr
    version_out = _run([str(bin_dir / "pyv"), "--version"], tools)
    assert importlib.metadata.version("pyv") in version_out.stdout
    assert sorted(p.name for p in prefix.parent.iterdir()) == ["pyv"]


def test_failed_reinstall_keeps_the_previous_installation(
    tmp_path: Path, tools: Path, served: Path, http_server: LoopbackServer,
) -> None:
    good = served.read_text().split()
    served.write_text(" ".join([*good[:4], "f" * 64]) + "\n")
    prefix, bin_dir = tmp_path / "opt" / "pyv", tmp_path / "bin"
    (prefix / "python").mkdir(parents=True)
    (prefix / "python" / "marker").write_text("old")
    bin_dir.mkdir()
    (bin_dir / "pyv").write_text("old launcher")
    result = _run(
        [*_shell_argv(SHELLS[0]), str(SCRIPT), "--prefix", str(prefix), "--bin-dir",
         str(bin_dir), "--builds", str(served), "--python-mirror", http_server.url],
        tools,
    )
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert (prefix / "python" / "marker").read_text() == "old"
    assert (bin_dir / "pyv").read_text() == "old launcher"
    assert sorted(p.name for p in prefix.parent.iterdir()) == ["pyv"]
    assert sorted(p.name for p in bin_dir.iterdir()) == ["pyv"]


def test_generator_rewrites_a_stale_table(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "generate_catalog", ROOT / "scripts" / "generate_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    script = tmp_path / "install.sh"
    text = SCRIPT.read_text()
    head, _, rest = text.partition("# BEGIN BOOTSTRAP BUILDS\n")
    _, _, tail = rest.partition("# END BOOTSTRAP BUILDS\n")
    script.write_text(head + "# BEGIN BOOTSTRAP BUILDS\nBUILDS='\nstale\n'\n"
                      "# END BOOTSTRAP BUILDS\n" + tail)
    downloads = list(read_catalog_file(ROOT / "src" / "pyv" / "data" / "catalog.json").downloads)
    assert generator.write_bootstrap_table(script, downloads) is True
    assert script.read_text() == text
    assert generator.write_bootstrap_table(script, downloads) is False


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_wget_when_there_is_no_curl(
    tmp_path: Path, tools: Path, served: Path, http_server: LoopbackServer,
) -> None:
    """Without curl the script downloads with wget (the checksum then fails on purpose)."""
    (tools / "curl").unlink()
    wget = shutil.which("wget")
    assert wget is not None
    (tools / "wget").symlink_to(wget)
    good = served.read_text().split()
    served.write_text(" ".join([*good[:4], "e" * 64]) + "\n")
    prefix = tmp_path / "opt" / "pyv"
    result = _run(
        [*_shell_argv(SHELLS[0]), str(SCRIPT), "--prefix", str(prefix), "--bin-dir",
         str(tmp_path / "bin"), "--builds", str(served), "--python-mirror", http_server.url],
        tools,
    )
    (line,) = result.stderr.splitlines()
    # The archive arrived whole: the line reports its real checksum.
    assert result.returncode == 1 and f"got {good[4]};" in line
    assert http_server.requests[-1].path.endswith(unquote(good[3].rsplit("/", 1)[1]))
    assert list(prefix.parent.iterdir()) == []
