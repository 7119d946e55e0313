"""`pyv mirror`: build a mirror from a loopback release server, use it offline, pack it."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archives import PBS_PREFIX, BuiltArchive, build_synthetic_archive
from fixtures_http import LoopbackServer
from pyv.acquire.catalog import Download
from pyv.acquire.mirror import METADATA, mirror_env, mirror_relpath, parse_platform, unpack_bundle
from pyv.core.errors import ArchiveError, ConfigError
from pyv.core.settings import GRAALPY_DOWNLOAD_PREFIX, PYPY_DOWNLOAD_PREFIX

HOST_PLATFORM = "linux-x86_64-gnu"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> list[BuiltArchive]:
    where = tmp_path_factory.mktemp("synthetic-archives")
    return [build_synthetic_archive(where, (3, 12, 4), build="20250101"),
            build_synthetic_archive(where, (3, 13, 1), build="20250101")]


@pytest.fixture
def upstream_env(pbs_mirror: Callable[..., dict[str, str]],
                 synthetic: list[BuiltArchive]) -> dict[str, str]:
    return {**pbs_mirror(synthetic), "PYV_RETRIES": "0"}


def _path(archive: BuiltArchive) -> str:
    return f"/{archive.build}/{archive.path.name}"


def test_mirror_downloads_verified_archives_in_the_release_layout(
    run_pyv: Any, tmp_path: Path, upstream_env: dict[str, str], http_server: LoopbackServer,
    synthetic: list[BuiltArchive],
) -> None:
    mirror = tmp_path / "mirror"
    result = run_pyv("mirror", str(mirror), "3.12", "--platform", HOST_PLATFORM,
                     env=upstream_env, check=True)
    assert "1 downloaded, 0 already present" in result.stdout
    assert "PYV_PYTHON_INSTALL_MIRROR=file://" in result.stdout
    py312 = synthetic[0]
    placed = mirror / py312.build / py312.path.name
    assert placed.read_bytes() == py312.path.read_bytes()
    data = json.loads((mirror / METADATA).read_text())
    assert list(data) == [py312.key]
    # The original upstream URL, so the install mirror setting maps it onto the mirror.
    assert data[py312.key]["url"] == py312.url and py312.url.startswith(PBS_PREFIX)
    assert data[py312.key]["sha256"] == py312.sha256
    assert http_server.count(_path(py312)) == 1

    again = run_pyv("mirror", str(mirror), "3.12", env=upstream_env, check=True)
    assert "0 downloaded, 1 already present" in again.stdout
    assert http_server.count(_path(py312)) == 1

    more = run_pyv("mirror", str(mirror), "3.13", "--json", env=upstream_env, check=True)
    report = json.loads(more.stdout)
    assert [e["action"] for e in report["entries"]] == ["downloaded"] and report["total"] == 2
    assert set(json.loads((mirror / METADATA).read_text())) == {a.key for a in synthetic}


def test_a_second_home_installs_from_the_mirror_offline(
    run_pyv: Any, tmp_path: Path, upstream_env: dict[str, str], http_server: LoopbackServer,
    synthetic: list[BuiltArchive],
) -> None:
    mirror = tmp_path / "mirror"
    run_pyv("mirror", str(mirror), "3.12", "3.13", env=upstream_env, check=True)
    requests_before = len(http_server.requests)
    second = tmp_path / "second-home"
    env = {"PYV_HOME": str(second), "PYV_OFFLINE": "1", **mirror_env(mirror)}
    result = run_pyv("install", "3.12", env=env)
    assert result.returncode == 0, result.stderr
    assert (second / "pythons" / synthetic[0].key / ".pyv-install.json").is_file()
    assert len(http_server.requests) == requests_before  # nothing came from upstream
    missing = run_pyv("install", "3.11", env=env)
    assert missing.returncode != 0


def test_pack_and_install_from_the_bundle(
    run_pyv: Any, tmp_path: Path, upstream_env: dict[str, str], synthetic: list[BuiltArchive],
) -> None:
    bundle = tmp_path / "pythons.tar"
    result = run_pyv("mirror", "--pack", str(bundle), "3.12", "--platform", HOST_PLATFORM,
                     env=upstream_env, check=True)
    assert f"wrote {bundle}" in result.stdout
    with tarfile.open(bundle) as tar:
        names = sorted(tar.getnames())
    assert names == sorted([METADATA, f"{synthetic[0].build}/{synthetic[0].path.name}"])
    assert not list(tmp_path.glob(".pyv-mirror-*"))  # the temporary mirror is gone
    third = tmp_path / "third-home"
    installed = run_pyv("install", "--from-bundle", str(bundle), "3.12",
                        env={"PYV_HOME": str(third)})
    assert installed.returncode == 0, installed.stderr
    assert (third / "pythons" / synthetic[0].key / ".pyv-install.json").is_file()
    assert not list((third / "cache").glob(".bundle-*"))


def test_pack_an_existing_mirror_directory(
    run_pyv: Any, tmp_path: Path, upstream_env: dict[str, str], http_server: LoopbackServer,
    synthetic: list[BuiltArchive],
) -> None:
    mirror = tmp_path / "mirror"
    run_pyv("mirror", str(mirror), "3.12", env=upstream_env, check=True)
    bundle = tmp_path / "b.tar"
    run_pyv("mirror", "--pack", str(bundle), "--dir", str(mirror), env=upstream_env, check=True)
    assert http_server.count(_path(synthetic[0])) == 1
    with tarfile.open(bundle) as tar:
        assert METADATA in tar.getnames() and len(tar.getnames()) == 2


def test_mirror_refuses_archives_without_checksums(
    run_pyv: Any, tmp_path: Path, pbs_mirror: Callable[..., dict[str, str]],
    synthetic: list[BuiltArchive],
) -> None:
    env = pbs_mirror(synthetic, sha256=False)
    result = run_pyv("mirror", str(tmp_path / "m"), "3.12", env=env)
    assert result.returncode == 5 and "no checksum" in result.stderr


def test_usage_errors(run_pyv: Any, tmp_path: Path) -> None:
    assert run_pyv("mirror", str(tmp_path)).returncode == 2
    bad = run_pyv("mirror", str(tmp_path), "3.12", "--platform", "linux-x86_64")
    assert bad.returncode == 10 and "invalid platform" in bad.stderr


def _tar_with(tmp_path: Path, name: str, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    path = tmp_path / name
    with tarfile.open(path, "w") as tar:
        meta = tarfile.TarInfo(METADATA)
        meta.size = 2
        tar.addfile(meta, io.BytesIO(b"{}"))
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink"])
def test_unpack_rejects_hostile_bundles(tmp_path: Path, kind: str) -> None:
    if kind == "dotdot":
        member = tarfile.TarInfo("20250101/../../evil")
    elif kind == "absolute":
        member = tarfile.TarInfo("/tmp/evil")
    else:
        member = tarfile.TarInfo("20250101/link")
        member.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
        member.linkname = "/etc/passwd"
    bundle = _tar_with(tmp_path, f"{kind}.tar", member, b"x")
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ArchiveError):
        unpack_bundle(bundle, dest)
    assert not (tmp_path / "evil").exists()


def test_unpack_needs_the_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("x.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ArchiveError, match="not a pyv bundle"):
        unpack_bundle(path, tmp_path / "out")
    (tmp_path / "junk.tar").write_bytes(b"junk" * 100)
    with pytest.raises(ArchiveError, match="not a readable tar"):
        unpack_bundle(tmp_path / "junk.tar", tmp_path / "out2")


def test_parse_platform() -> None:
    host, variant = parse_platform("linux-x86_64-gnu")
    assert (host.os, host.arch, host.libc, host.glibc, host.x86_64_level) == (
        "linux", "x86_64", "gnu", None, 1) and variant == ""
    host, variant = parse_platform("linux-x86_64_v3-gnu")
    assert host.x86_64_level == 3 and variant == "v3"
    host, _ = parse_platform("darwin-arm64-none")
    assert (host.os, host.arch, host.x86_64_level) == ("darwin", "aarch64", None)
    for bad in ("linux-x86_64", "plan9-x86_64-gnu", "linux-x86_64-glibc", "linux-x86_64_v7-gnu"):
        with pytest.raises(ConfigError):
            parse_platform(bad)


def _download(url: str, implementation: str = "cpython") -> Download:
    return Download(implementation=implementation, major=3, minor=10, patch=14, prerelease="",
                    variant=None, os="linux", arch="x86_64", arch_variant=None, libc="gnu",
                    build="7.3.17", url=url, sha256="0" * 64)


def test_mirror_layout_follows_the_upstream_urls() -> None:
    pbs = _download(f"{PBS_PREFIX}/20250101/cpython-3.12.4%2B20250101-x.tar.gz")
    assert mirror_relpath(pbs) == "20250101/cpython-3.12.4+20250101-x.tar.gz"
    pypy = _download(f"{PYPY_DOWNLOAD_PREFIX}/pypy3.10-v7.3.17-linux64.tar.bz2", "pypy")
    assert mirror_relpath(pypy) == "pypy/pypy3.10-v7.3.17-linux64.tar.bz2"
    graal = _download(f"{GRAALPY_DOWNLOAD_PREFIX}/graal-24.1.1/graalpy-24.1.1-linux-amd64.tar.gz",
                      "graalpy")
    assert mirror_relpath(graal) == "graalpy/graal-24.1.1/graalpy-24.1.1-linux-amd64.tar.gz"
    for url in ("https://example.com/x.tar.gz", f"{PBS_PREFIX}/../../etc/passwd"):
        with pytest.raises(ConfigError):
            mirror_relpath(_download(url))


def test_mirror_env_for_http_and_file(tmp_path: Path) -> None:
    local = mirror_env(tmp_path)
    assert local["PYV_PYTHON_INSTALL_MIRROR"] == tmp_path.as_uri()
    assert local["PYV_DOWNLOADS_JSON"] == str(tmp_path / METADATA)
    assert local["UV_PYTHON_DOWNLOADS_JSON_URL"] == f"{tmp_path.as_uri()}/{METADATA}"
    served = mirror_env("http://mirror.example/pythons/")
    assert served["PYV_PYPY_INSTALL_MIRROR"] == "http://mirror.example/pythons/pypy"
    assert served["PYV_DOWNLOADS_JSON"] == f"http://mirror.example/pythons/{METADATA}"
