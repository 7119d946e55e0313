"""`pyv update` against a loopback fake of python-build-standalone's release endpoints."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from fixtures_http import LoopbackServer, closed_port
from pyv.acquire.catalog import BUNDLED_CATALOG, REFRESHED_NAME, load_catalog, read_catalog_header
from pyv.acquire.update import catalog_status, read_state, refresh_catalog
from pyv.core.errors import ConfigError, ExitCode, NetworkError
from pyv.core.settings import Settings, load_settings

BUNDLED_NEWEST = read_catalog_header(BUNDLED_CATALOG)["newest_build"]
TAG_A = "29990101"
TAG_B = "29990202"
TRIPLE = "x86_64-unknown-linux-gnu"


def _sums(tag: str, versions: tuple[str, ...]) -> bytes:
    lines = []
    for version in versions:
        for flavour in ("install_only_stripped.tar.gz", "install_only.tar.gz",
                        "pgo+lto-full.tar.zst"):
            name = f"cpython-{version}+{tag}-{TRIPLE}-{flavour}"
            lines.append(f"{hashlib.sha256(name.encode()).hexdigest()}  {name}")
    return ("\n".join(lines) + "\n").encode()


def _publish(server: LoopbackServer, tag: str, versions: tuple[str, ...] = ("3.99.1",),
             sums: bytes | None = None) -> None:
    server.add_file("latest-release.json", json.dumps({
        "version": 1, "tag": tag, "release_url": f"https://example.invalid/{tag}",
        "asset_url_prefix": f"{server.url}/{tag}",
    }).encode())
    server.add_file(f"{tag}/SHA256SUMS", _sums(tag, versions) if sums is None else sums)
    # A fresh mtime so the ETag changes even within the same second.
    target = server.root / "latest-release.json"
    when = time.time() + len(tag) + int(tag[-4:])
    os.utime(target, (when, when))


@pytest.fixture
def upstream(http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    monkeypatch.setenv("PYV_LATEST_RELEASE_URL", http_server.url_for("latest-release.json"))
    monkeypatch.setenv("PYV_RELEASE_DOWNLOAD_URL", http_server.url)
    monkeypatch.setenv("PYV_RETRIES", "0")
    return http_server


def _settings() -> Settings:
    return load_settings(dict(os.environ))


def _key(version: str) -> str:
    return f"cpython-{version}-linux-x86_64-gnu"


def test_new_tag_adds_downloads_to_the_catalog(upstream: LoopbackServer, run_pyv: Any) -> None:
    assert load_catalog(_settings()).find(_key("3.99.1")) is None
    _publish(upstream, TAG_A)
    result = run_pyv("update", check=True)
    assert f"catalog updated to build {TAG_A}" in result.stdout
    catalog = load_catalog(_settings())
    found = catalog.find(_key("3.99.1"))
    assert found is not None and found.build == TAG_A
    assert found.url.startswith(f"{upstream.url}/{TAG_A}/cpython-3.99.1")
    assert found.url.endswith("install_only_stripped.tar.gz")
    assert found.sha256 is not None
    # The bundled downloads are still there (merged, not replaced).
    assert len(catalog.downloads) > 1000
    assert catalog.newest_build == TAG_A
    status = catalog_status(_settings())
    assert status.newest_build == TAG_A and status.source.startswith("refreshed from")
    assert status.age_days is not None and status.age_days < 1
    shown = run_pyv("update", "--status", check=True).stdout
    assert "refreshed from" in shown and TAG_A in shown


def test_unchanged_upstream_answers_304_and_changes_nothing(
    upstream: LoopbackServer, run_pyv: Any, pyv_home: Path
) -> None:
    _publish(upstream, TAG_A)
    run_pyv("update", check=True)
    catalog_file = pyv_home / "catalog" / REFRESHED_NAME
    before = catalog_file.stat().st_mtime_ns
    result = run_pyv("update", check=True)
    assert "up to date" in result.stdout
    last = upstream.requests_for("/latest-release.json")[-1]
    assert last.header("if-none-match") and last.status == 304
    assert upstream.count(f"/{TAG_A}/SHA256SUMS") == 1
    assert catalog_file.stat().st_mtime_ns == before


def test_upstream_not_newer_than_the_bundled_catalog(upstream: LoopbackServer) -> None:
    _publish(upstream, BUNDLED_NEWEST)
    result = refresh_catalog(_settings())
    assert not result.updated and "up to date" in result.message
    assert upstream.count(f"/{BUNDLED_NEWEST}/SHA256SUMS") == 0
    assert read_state(_settings()).validators_for(upstream.url_for("latest-release.json"))


def test_a_newer_tag_after_an_earlier_refresh(upstream: LoopbackServer) -> None:
    _publish(upstream, TAG_A, ("3.99.1",))
    refresh_catalog(_settings())
    _publish(upstream, TAG_B, ("3.99.1", "3.99.2"))
    result = refresh_catalog(_settings())
    assert result.updated and result.added == (_key("3.99.2"),)
    catalog = load_catalog(_settings())
    newest = catalog.find(_key("3.99.1"))
    assert newest is not None and newest.build == TAG_B
    assert catalog.find(_key("3.99.2")) is not None


@pytest.mark.parametrize("broken", [b"this is not a checksum file\n", b"\xff\xfe\x00garbage"])
def test_broken_sha256sums_keeps_the_previous_catalog(
    upstream: LoopbackServer, run_pyv: Any, pyv_home: Path, broken: bytes
) -> None:
    _publish(upstream, TAG_A)
    run_pyv("update", check=True)
    catalog_file = pyv_home / "catalog" / REFRESHED_NAME
    before = catalog_file.read_bytes()
    _publish(upstream, TAG_B, sums=broken)
    result = run_pyv("update")
    assert result.returncode == ExitCode.NETWORK
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SHA256SUMS" in lines[0] and "kept the previous catalog" in lines[0]
    assert catalog_file.read_bytes() == before
    assert load_catalog(_settings()).newest_build == TAG_A
    # The failed attempt did not remember upstream's new validators: next run retries.
    _publish(upstream, TAG_B)
    assert refresh_catalog(_settings()).updated


def test_server_down_keeps_the_previous_catalog(
    upstream: LoopbackServer, run_pyv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _publish(upstream, TAG_A)
    run_pyv("update", check=True)
    down = f"http://127.0.0.1:{closed_port()}/latest-release.json"
    result = run_pyv("update", env={"PYV_LATEST_RELEASE_URL": down})
    assert result.returncode == ExitCode.NETWORK
    assert len(result.stderr.strip().splitlines()) == 1
    assert "catalog refresh failed" in result.stderr
    assert "kept the previous catalog" in result.stderr
    assert load_catalog(_settings()).newest_build == TAG_A


def test_http_error_and_bad_metadata(upstream: LoopbackServer) -> None:
    _publish(upstream, TAG_A)
    upstream.add_fault("/latest-release.json", "status", status=404)
    with pytest.raises(NetworkError, match="kept the previous catalog"):
        refresh_catalog(_settings())
    upstream.add_file("latest-release.json", b'{"version": 1, "tag": "latest"}')
    with pytest.raises(NetworkError, match="unexpected release tag"):
        refresh_catalog(_settings())
    upstream.add_file("latest-release.json", b"<html>")
    with pytest.raises(NetworkError, match=r"not a valid latest-release\.json"):
        refresh_catalog(_settings())
    assert not (_settings().catalog_dir / REFRESHED_NAME).exists()
    assert load_catalog(_settings()).source == "bundled"


def test_offline_mode_refuses(upstream: LoopbackServer, run_pyv: Any) -> None:
    _publish(upstream, TAG_A)
    result = run_pyv("update", env={"PYV_OFFLINE": "1"})
    assert result.returncode == ExitCode.NETWORK and "offline" in result.stderr
    assert upstream.count("/latest-release.json") == 0


def _uv_entry(version: str, url: str) -> dict[str, Any]:
    major, minor, patch = (int(p) for p in version.split("."))
    return {"name": "cpython", "arch": {"family": "x86_64", "variant": None}, "os": "linux",
            "libc": "gnu", "major": major, "minor": minor, "patch": patch, "prerelease": "",
            "url": url, "sha256": "0" * 64, "variant": None, "build": TAG_A}


def test_refresh_from_a_downloads_json_url(upstream: LoopbackServer, run_pyv: Any) -> None:
    url = f"{upstream.url}/{TAG_A}/cpython-3.99.5%2B{TAG_A}-{TRIPLE}-install_only.tar.gz"
    entries = {_key("3.99.5"): _uv_entry("3.99.5", url)}
    upstream.add_file("downloads.json", json.dumps(entries).encode())
    location = upstream.url_for("downloads.json")
    result = run_pyv("update", "--json", env={"PYV_DOWNLOADS_JSON": location}, check=True)
    data = json.loads(result.stdout)
    assert data["updated"] and data["added"] == [_key("3.99.5")]
    again = run_pyv("update", env={"PYV_DOWNLOADS_JSON": location}, check=True)
    assert "up to date" in again.stdout
    assert upstream.requests_for("/downloads.json")[-1].status == 304
    state = read_state(_settings())
    assert state.source == location
    status = catalog_status(_settings().replace(downloads_json=location))
    assert status.source == f"PYV_DOWNLOADS_JSON {location}" and status.age_days is not None


def test_local_downloads_json_has_nothing_to_refresh(tmp_path: Path) -> None:
    local = tmp_path / "d.json"
    local.write_text("{}")
    with pytest.raises(ConfigError, match="read directly on every run"):
        refresh_catalog(_settings().replace(downloads_json=str(local)))
    status = catalog_status(_settings().replace(downloads_json=str(local)))
    assert status.fetched_at is not None and status.newest_build is None


def test_catalog_status_of_the_bundled_catalog_ages() -> None:
    status = catalog_status(_settings())
    assert status.source == "bundled with pyv" and status.newest_build == BUNDLED_NEWEST
    later = catalog_status(_settings(), now=time.time() + 200 * 86400)
    assert later.age_days is not None and later.age_days > 190
    assert "days old" in later.describe()
    assert later.to_json()["newest_build"] == BUNDLED_NEWEST


def test_a_damaged_refreshed_catalog_is_not_reported_as_used(pyv_home: Path) -> None:
    (pyv_home / "catalog").mkdir(parents=True)
    (pyv_home / "catalog" / REFRESHED_NAME).write_text("garbage")
    assert catalog_status(_settings()).source == "bundled with pyv"
