"""The catalog: the shipped data, loading rules, uv JSON / SHA256SUMS parsing, choosing, mirrors."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from pyv.acquire.catalog import (
    BUNDLED_CATALOG,
    REFRESHED_NAME,
    Catalog,
    Download,
    best_download,
    download_url,
    downloads_from_sha256sums,
    load_catalog,
    matching_downloads,
    merge_downloads,
    newer_patch,
    parse_uv_json,
    read_catalog_file,
    read_catalog_header,
    save_catalog,
    to_uv_json,
)
from pyv.core.errors import ConfigError, ExitCode, NotFound, PlatformError
from pyv.core.platform import Host
from pyv.core.records import replace
from pyv.core.requests import parse_request
from pyv.core.settings import (
    GRAALPY_DOWNLOAD_PREFIX,
    PBS_DOWNLOAD_PREFIX,
    PYPY_DOWNLOAD_PREFIX,
    Settings,
    load_settings,
)

DATA = Path(__file__).parent.parent / "data"
LINUX_V3 = Host("linux", "x86_64", "gnu", glibc=(2, 36), x86_64_level=3)
LINUX_V1 = Host("linux", "x86_64", "gnu", glibc=(2, 36), x86_64_level=1)
MUSL = Host("linux", "x86_64", "musl", glibc=None, x86_64_level=2)
MAC_ARM = Host("darwin", "aarch64", "none")
OLD_RISCV = Host("linux", "riscv64", "gnu", glibc=(2, 27))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The shipped catalog, loaded the way pyv loads it (no refreshed one, no override)."""
    return load_catalog(Settings(home=Path("/nonexistent-pyv-home")))


def newest(catalog: Catalog, minor_key: str, *, pre: bool = False) -> Version:
    versions = [
        d.version for d in catalog.downloads
        if d.minor_key == minor_key and (pre or not d.prerelease)
    ]
    assert versions, f"the shipped catalog has no {minor_key}"
    return max(versions)


def pbs(
    version: str = "3.12.4",
    build: str = "20240713",
    *,
    triple: str = "x86_64-unknown-linux-gnu",
    flavour: str = "install_only_stripped.tar.gz",
    **fields: Any,
) -> Download:
    """A PBS download described from its file name (as SHA256SUMS gives it)."""
    name = f"cpython-{version}+{build}-{triple}-{flavour}"
    parsed = downloads_from_sha256sums(f"{'a' * 64}  {name}\n", build)
    assert len(parsed) == 1, name
    return replace(parsed[0], **fields)


# ----- Download ----------------------------------------------------------------


def test_download_properties() -> None:
    d = pbs("3.13.1", "20241205", triple="x86_64_v3-unknown-linux-gnu",
            flavour="freethreaded+pgo+lto-full.tar.zst")
    assert d.key == "cpython-3.13.1+freethreaded-linux-x86_64_v3-gnu"
    assert d.minor_key == "cpython-3.13+freethreaded-linux-x86_64_v3-gnu"
    assert d.version == Version("3.13.1") and d.version_str == "3.13.1"
    assert d.filename == (
        "cpython-3.13.1+20241205-x86_64_v3-unknown-linux-gnu-freethreaded+pgo+lto-full.tar.zst"
    )
    assert d.url == f"{PBS_DOWNLOAD_PREFIX}/20241205/{d.filename.replace('+', '%2B')}"
    assert d.archive_format == "tar.zst"
    assert d.archive_root == "python/install"
    assert d.freethreaded and not d.debug
    assert (d.arch, d.arch_variant, d.libc, d.build) == ("x86_64", "v3", "gnu", "20241205")

    rc = pbs("3.15.0rc1", "20260814", triple="aarch64-apple-darwin")
    assert rc.version_str == "3.15.0rc1" and rc.version.is_prerelease
    assert (rc.os, rc.arch, rc.libc, rc.prerelease) == ("darwin", "aarch64", "none", "rc1")
    assert rc.archive_root == "python" and rc.archive_format == "tar.gz"

    pypy = Download("pypy", 3, 10, 16, "", None, "windows", "x86_64", None, "none", "7.3.19",
                    f"{PYPY_DOWNLOAD_PREFIX}/pypy3.10-v7.3.19-win64.zip", None)
    assert pypy.archive_format == "zip" and pypy.archive_root is None
    assert pypy.key == "pypy-3.10.16-windows-x86_64-none"


# ----- the shipped catalog ---------------------------------------------------------


def test_shipped_catalog_is_complete(catalog: Catalog) -> None:
    # How fast it loads is measured by bench/, not asserted here: a timed test fails
    # on a loaded machine without saying anything about the code.
    fresh = read_catalog_file(BUNDLED_CATALOG, source="bundled")
    assert fresh.downloads == catalog.downloads
    assert len(catalog.downloads) > 5000
    assert catalog.source == "bundled"
    assert len(catalog.newest_build) == 8 and catalog.newest_build.isdigit()
    assert catalog.generated[:4].isdigit() and "T" in catalog.generated
    keys = [d.key for d in catalog.downloads]
    assert len(set(keys)) == len(keys)
    assert {d.implementation for d in catalog.downloads} == {"cpython", "pypy", "graalpy"}
    assert {d.os for d in catalog.downloads} == {"linux", "darwin", "windows"}
    # Everything shipped is installable and verifiable (pyodide's xbuildenv is left out).
    assert all(d.sha256 and len(d.sha256) == 64 for d in catalog.downloads)
    assert not any("xbuildenv" in d.url for d in catalog.downloads)
    for d in catalog.downloads:
        assert d.archive_format in ("tar.gz", "tar.zst", "zip", "tar.bz2")
        if d.implementation == "cpython":
            assert d.url.startswith(PBS_DOWNLOAD_PREFIX + "/")
            assert d.archive_root in ("python", "python/install")


def test_shipped_catalog_debug_builds_are_full_archives(catalog: Catalog) -> None:
    debug = [d for d in catalog.downloads if d.debug]
    assert debug
    assert all(d.archive_root == "python/install" for d in debug)


def test_shipped_catalog_is_compact() -> None:
    # About 200 bytes per download, most of it the URL and the sha256.
    header = read_catalog_header(BUNDLED_CATALOG)
    assert header["format"] == "pyv-catalog" and header["count"] > 5000
    assert BUNDLED_CATALOG.stat().st_size < 250 * header["count"]


# ----- choosing from the real catalog ------------------------------------------------


def test_minor_request_picks_newest_baseline_patch(catalog: Catalog) -> None:
    best = best_download(catalog, parse_request("3.12"), LINUX_V3)
    assert best.version == newest(catalog, "cpython-3.12-linux-x86_64-gnu")
    assert (best.implementation, best.arch_variant, best.libc, best.variant) == (
        "cpython", None, "gnu", None
    )
    assert not best.prerelease


@pytest.mark.parametrize("arch_variant", ["v3", "auto"])
def test_x86_64_level_only_when_asked(catalog: Catalog, arch_variant: str) -> None:
    best = best_download(catalog, parse_request("3.12"), LINUX_V3, arch_variant=arch_variant)
    assert best.arch_variant == "v3"
    assert best.version == newest(catalog, "cpython-3.12-linux-x86_64_v3-gnu")


def test_auto_never_exceeds_the_host_level(catalog: Catalog) -> None:
    found = matching_downloads(catalog, parse_request("3.12"), LINUX_V3, arch_variant="auto")
    assert {d.arch_variant for d in found} <= {None, "v2", "v3"}
    baseline = best_download(catalog, parse_request("3.12"), LINUX_V1, arch_variant="auto")
    assert baseline.arch_variant is None


def test_level_above_the_cpu_is_a_platform_error(catalog: Catalog) -> None:
    with pytest.raises(PlatformError, match="x86-64-v4") as info:
        best_download(catalog, parse_request("3.12"), LINUX_V3, arch_variant="v4")
    assert info.value.exit_code == ExitCode.PLATFORM
    with pytest.raises(PlatformError, match="x86-64-v3"):
        best_download(catalog, parse_request("cpython-3.12-linux-x86_64_v3-gnu"), LINUX_V1)


def test_key_with_level(catalog: Catalog) -> None:
    best = best_download(catalog, parse_request("cpython-3.12-linux-x86_64_v3-gnu"), LINUX_V3)
    assert best.minor_key == "cpython-3.12-linux-x86_64_v3-gnu"
    exact = f"cpython-{best.version_str}-linux-x86_64-gnu"
    assert best_download(catalog, parse_request(exact), LINUX_V3, arch_variant="v3").key == exact


def test_freethreaded_request(catalog: Catalog) -> None:
    best = best_download(catalog, parse_request("3.13t"), LINUX_V3)
    assert best.variant == "freethreaded" and best.freethreaded
    assert best.version == newest(catalog, "cpython-3.13+freethreaded-linux-x86_64-gnu")
    plain = matching_downloads(catalog, parse_request("3.13"), LINUX_V3)
    assert plain and all(d.variant is None for d in plain)
    debug = best_download(catalog, parse_request("3.13td"), LINUX_V3)
    assert debug.variant == "freethreaded+debug" and debug.archive_root == "python/install"


def test_only_prereleases_exist(catalog: Catalog) -> None:
    series = [d for d in catalog.downloads if d.minor_key == "cpython-3.15-linux-x86_64-gnu"]
    assert series and all(d.prerelease for d in series), "test expects 3.15 to be pre-release only"
    best = best_download(catalog, parse_request("3.15"), LINUX_V3)
    assert best.version == newest(catalog, "cpython-3.15-linux-x86_64-gnu", pre=True)


def test_stable_preferred_over_prerelease(catalog: Catalog) -> None:
    best = best_download(catalog, parse_request("3"), LINUX_V3)
    stable = [d.version for d in catalog.downloads
              if d.minor_key.startswith("cpython-3.") and d.minor_key.endswith("-linux-x86_64-gnu")
              and "+" not in d.minor_key and not d.prerelease]
    assert best.version == max(stable)
    assert not best.prerelease
    newest_any = max(d.version for d in catalog.downloads if d.implementation == "cpython")
    assert newest_any.is_prerelease  # so the preference is really exercised
    found = [d for d in matching_downloads(catalog, parse_request("3"), LINUX_V3)
             if d.implementation == "cpython"]
    assert found[-1].prerelease and not found[0].prerelease


def test_newer_patch_of_an_installed_minor() -> None:
    catalog = Catalog((pbs("3.12.4"), pbs("3.12.6"), pbs("3.12.7rc1"), pbs("3.13.0"),
                       pbs("3.14.0rc1"), pbs("3.14.0rc2"),
                       pbs("3.12.9", triple="aarch64-unknown-linux-gnu")), "test", "")
    minor = "cpython-3.12-linux-x86_64-gnu"
    offered = newer_patch(catalog, minor, Version("3.12.4"), LINUX_V1)
    assert offered is not None and offered.version == Version("3.12.6")  # same platform only
    assert newer_patch(catalog, minor, Version("3.12.6"), LINUX_V1) is None  # rc not offered
    # The build installed for another platform is still upgraded (a shared store).
    other = newer_patch(catalog, "cpython-3.12-linux-aarch64-gnu", Version("3.12.4"), LINUX_V1)
    assert other is not None and other.version == Version("3.12.9")
    pre = newer_patch(catalog, "cpython-3.14-linux-x86_64-gnu", Version("3.14.0rc1"), LINUX_V1)
    assert pre is not None and pre.version == Version("3.14.0rc2")


def test_specifier_set(catalog: Catalog) -> None:
    best = best_download(catalog, parse_request(">=3.11,<3.13"), LINUX_V3)
    assert best.version == newest(catalog, "cpython-3.12-linux-x86_64-gnu")
    found = matching_downloads(catalog, parse_request(">=3.11,<3.13"), LINUX_V3)
    assert {(d.major, d.minor) for d in found} == {(3, 11), (3, 12)}
    cpython = [d for d in found if d.implementation == "cpython"]
    assert found[: len(cpython)] == cpython  # other implementations come last
    stable = [d.version for d in cpython if not d.prerelease]
    assert stable == sorted(stable, reverse=True)
    # Pre-releases in the range (e.g. 3.12.0rc1) come after every final release.
    assert all(d.prerelease for d in cpython[len(stable):])


def test_pypy_and_graalpy(catalog: Catalog) -> None:
    best = best_download(catalog, parse_request("pypy@3.10"), LINUX_V3)
    assert best.implementation == "pypy" and (best.major, best.minor) == (3, 10)
    assert best.archive_root is None
    graal = best_download(catalog, parse_request("graalpy@3.11"), LINUX_V3)
    assert graal.implementation == "graalpy"
    # An unnamed implementation means CPython first.
    found = matching_downloads(catalog, parse_request("3.10"), LINUX_V3)
    impls = [d.implementation for d in found]
    assert impls[0] == "cpython" and "pypy" in impls
    assert impls.index("pypy") > max(i for i, x in enumerate(impls) if x == "cpython")


def test_musl_host_gets_musl(catalog: Catalog) -> None:
    found = matching_downloads(catalog, parse_request("3.12"), MUSL)
    assert found and all(d.libc == "musl" for d in found)
    assert best_download(catalog, parse_request("3.12"), MUSL).libc == "musl"
    with pytest.raises(PlatformError, match="musl"):
        best_download(catalog, parse_request("cpython-3.12-linux-x86_64-gnu"), MUSL)


def test_old_glibc_riscv_gets_nothing(catalog: Catalog) -> None:
    assert matching_downloads(catalog, parse_request("3.12"), OLD_RISCV) == []
    with pytest.raises(PlatformError, match=r"glibc 2\.28") as info:
        best_download(catalog, parse_request("3.12"), OLD_RISCV)
    assert "2.27" in info.value.render() and "\n" not in info.value.render()
    newer = replace(OLD_RISCV, glibc=(2, 31))
    assert best_download(catalog, parse_request("3.12"), newer).arch == "riscv64"


def test_aarch64_darwin(catalog: Catalog) -> None:
    best = best_download(catalog, parse_request("3.12"), MAC_ARM)
    assert (best.os, best.arch, best.libc) == ("darwin", "aarch64", "none")
    assert best.version == newest(catalog, "cpython-3.12-darwin-aarch64-none")
    found = matching_downloads(catalog, parse_request("any"), MAC_ARM)
    assert found and all(d.os == "darwin" and d.arch == "aarch64" for d in found)


def test_nearest_versions_in_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFound) as info:
        best_download(catalog, parse_request("3.8.99"), LINUX_V3)
    line = info.value.render()
    below = newest(catalog, "cpython-3.8-linux-x86_64-gnu")
    above = newest(catalog, "cpython-3.9-linux-x86_64-gnu")
    assert f"no build matches 3.8.99 for linux-x86_64-gnu; nearest: {below}, {above}" in line
    assert info.value.exit_code == ExitCode.NOT_FOUND


@pytest.mark.parametrize(("text", "written"), [
    ("3.8t", r"3\.13\.\d+t"),           # free-threaded builds start at 3.13
    ("pypy@3.5", r"pypy@3\.\d+\.\d+"),
    ("3.6d", r"3\.\d+\.\d+d"),
])
def test_nearest_builds_are_written_as_requests_for_them(catalog: Catalog, text: str,
                                                          written: str) -> None:
    """Pasted into `pyv install`, the nearest names ask for the same variant (issue 13)."""
    with pytest.raises(NotFound) as info:
        best_download(catalog, parse_request(text), LINUX_V3)
    shown = info.value.render().split("nearest: ", 1)[1].split(";", 1)[0].split(", ")
    assert shown and all(re.fullmatch(written, s) for s in shown), shown
    for s in shown:
        assert best_download(catalog, parse_request(s), LINUX_V3).variant == \
            parse_request(text).variant


def test_not_a_download_request(catalog: Catalog) -> None:
    assert matching_downloads(catalog, parse_request("system"), LINUX_V3) == []
    with pytest.raises(NotFound, match="not a version"):
        best_download(catalog, parse_request("./bin/python"), LINUX_V3)


def test_other_platform_key_is_a_platform_error(catalog: Catalog) -> None:
    with pytest.raises(PlatformError, match="linux-aarch64"):
        best_download(catalog, parse_request("cpython-3.12-linux-aarch64-gnu"), LINUX_V3)


def test_all_platforms(catalog: Catalog) -> None:
    found = matching_downloads(catalog, parse_request("3.12"), OLD_RISCV, all_platforms=True)
    assert {d.os for d in found} == {"linux", "darwin", "windows"}
    assert {"v2", "v3", "v4"} <= {d.arch_variant for d in found}
    assert all(d.variant is None and (d.major, d.minor) == (3, 12) for d in found)
    keyed = matching_downloads(catalog, parse_request("cpython-3.12-linux-aarch64-gnu"),
                               LINUX_V3, all_platforms=True)
    assert keyed and all(d.minor_key == "cpython-3.12-linux-aarch64-gnu" for d in keyed)


def test_listing_everything_finds_every_platform(catalog: Catalog) -> None:
    # Its speed is bench/'s to measure (bench_startup.py lists the whole catalog).
    found = matching_downloads(catalog, parse_request("any"), LINUX_V3, all_platforms=True)
    assert len(found) > 1000
    assert {d.os for d in found} >= {"linux", "darwin"}


# ----- loading rules ---------------------------------------------------------------


def test_load_default_is_bundled(tmp_path: Path) -> None:
    settings = load_settings({"PYV_HOME": str(tmp_path / "home")})
    loaded = load_catalog(settings)
    assert loaded.source == "bundled" and loaded.warning is None


def test_refreshed_catalog_used_when_newer(tmp_path: Path, catalog: Catalog) -> None:
    settings = Settings(home=tmp_path / "home")
    extra = pbs("3.99.0", "29990101")
    refreshed = Catalog(downloads=(*catalog.downloads, extra), source="x",
                        generated="2999-01-01T00:00:00+00:00", origin="https://example/SHA256SUMS")
    target = settings.catalog_dir / REFRESHED_NAME
    save_catalog(refreshed, target)
    assert not list(target.parent.glob("*.tmp"))  # written atomically, nothing left behind
    loaded = load_catalog(settings)
    assert loaded.source == str(target)
    assert loaded.origin == "https://example/SHA256SUMS"
    assert loaded.newest_build == "29990101"
    assert best_download(loaded, parse_request("3.99"), LINUX_V3) == extra


def test_refreshed_catalog_ignored_when_older(tmp_path: Path, catalog: Catalog) -> None:
    settings = Settings(home=tmp_path / "home")
    old = Catalog(downloads=(pbs("3.12.4", "20240713"),), source="x",
                  generated="2024-07-14T00:00:00+00:00")
    save_catalog(old, settings.catalog_dir / REFRESHED_NAME)
    loaded = load_catalog(settings)
    assert loaded.source == "bundled" and len(loaded.downloads) == len(catalog.downloads)


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage", b'{"format": "pyv-catalog", "format_version": 1, "count": 3}\n{"rows": 1}\n',
     b'{"format": "pyv-catalog", "format_version": 99}\n{}\n', b"\x1f\x8b broken gzip",
     b'{"format": "pyv-catalog", "format_version": 1, "count": 1, "generated": "2999",'
     b' "newest_build": "29990101"}\n{"tables": {"implementation": ["cpython"], "variant": [null],'
     b' "arch_variant": [null], "os": ["linux"], "arch": ["x86_64"], "libc": ["gnu"],'
     b' "prefix": [""]}, "rows": [[0, "3", 12, 0, "", 0, 0, 0, 0, 0, "29990101", 0, "u",'
     b' null]]}\n'],
)
def test_corrupt_refreshed_catalog_falls_back(tmp_path: Path, content: bytes) -> None:
    settings = Settings(home=tmp_path / "home")
    target = settings.catalog_dir / REFRESHED_NAME
    target.parent.mkdir(parents=True)
    target.write_bytes(content)
    loaded = load_catalog(settings)
    assert loaded.source == "bundled"
    assert loaded.warning is not None and "pyv update" in loaded.warning
    assert "\n" not in loaded.warning


def test_find_by_key(catalog: Catalog) -> None:
    some = catalog.downloads[len(catalog.downloads) // 2]
    assert catalog.find(some.key) == some
    assert catalog.find("cpython-9.9.9-linux-x86_64-gnu") is None


def test_save_and_read_round_trip(tmp_path: Path) -> None:
    downloads = (
        pbs("3.12.4", "20240713"),
        pbs("3.13.0rc2", "20240909", triple="x86_64_v2-unknown-linux-musl",
            flavour="freethreaded+debug-full.tar.zst"),
        Download("graalpy", 3, 11, 0, "", None, "linux", "aarch64", None, "gnu", "24.2.2",
                 f"{GRAALPY_DOWNLOAD_PREFIX}/graal-24.2.2/graalpy-24.2.2-linux-aarch64.tar.gz",
                 None),
        Download("cpython", 3, 12, 0, "", None, "linux", "x86_64", None, "gnu", "20990101",
                 "https://mirror.example/x/cpython-3.12.0.tar.gz", "b" * 64),
    )
    original = Catalog(downloads=downloads, source="bundled", generated="2026-01-01T00:00:00+00:00",
                       origin="test")
    for name in ("catalog.json", "catalog.json.gz"):
        path = tmp_path / name
        save_catalog(original, path)
        back = read_catalog_file(path)
        assert back.downloads == downloads
        assert (back.generated, back.origin, back.source) == (original.generated, "test", str(path))
        assert back.newest_build == "20990101"


def _write_uv_json(path: Path, downloads: list[Download]) -> Path:
    path.write_text(json.dumps(to_uv_json(downloads)))
    return path


def test_downloads_json_path_and_file_url(tmp_path: Path) -> None:
    downloads = [pbs("3.12.4", "20240713"), pbs("3.11.9", "20240713")]
    path = _write_uv_json(tmp_path / "dl.json", downloads)
    for location in (str(path), path.as_uri()):
        loaded = load_catalog(Settings(home=tmp_path, downloads_json=location))
        assert set(loaded.downloads) == set(downloads)
        assert loaded.source == location


def test_downloads_json_over_http(tmp_path: Path, http_server: Any) -> None:
    downloads = [pbs("3.12.4", "20240713")]
    http_server.add_file("meta/dl.json", json.dumps(to_uv_json(downloads)).encode())
    url = http_server.url_for("meta/dl.json")
    loaded = load_catalog(Settings(home=tmp_path, downloads_json=url))
    assert list(loaded.downloads) == downloads and loaded.source == url


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"k": {"name": "cpython"}}', "missing field"),
        ('{"k": 3}', "not an object"),
    ],
)
def test_corrupt_downloads_json_is_a_config_error(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "dl.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_catalog(Settings(home=tmp_path, downloads_json=str(path)))
    line = info.value.render()
    assert "PYV_DOWNLOADS_JSON" in line and needle in line and "\n" not in line


def test_missing_downloads_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read PYV_DOWNLOADS_JSON"):
        load_catalog(Settings(home=tmp_path, downloads_json=str(tmp_path / "nope.json")))


def test_parse_uv_json_filters_and_round_trips() -> None:
    kept = pbs("3.12.4", "20240713")
    no_sha = replace(pbs("3.11.9", "20240713"), sha256=None)
    data = to_uv_json([kept, no_sha])
    data["cpython-3.12.1-emscripten-wasm32-musl"] = {
        "name": "cpython", "arch": {"family": "wasm32", "variant": None}, "os": "emscripten",
        "libc": "musl", "major": 3, "minor": 12, "patch": 1, "prerelease": "",
        "url": "https://github.com/pyodide/pyodide/releases/download/0.26.4/xbuildenv-0.26.4.tar.gz",
        "sha256": None, "variant": None, "build": "0.26.4",
    }
    parsed = parse_uv_json(json.dumps(data), "test")
    # The xbuildenv entry cannot be installed and is left out; a missing sha256 is kept
    # (the installer refuses it unless told otherwise).
    assert sorted(d.key for d in parsed.downloads) == sorted([kept.key, no_sha.key])
    assert to_uv_json(parsed.downloads) == to_uv_json([kept, no_sha])


def test_to_uv_json_keys_and_newest_build_wins() -> None:
    older = pbs("3.12.4", "20240713")
    newer = pbs("3.12.4", "20240726")
    data = to_uv_json([newer, older])
    assert list(data) == [older.key]
    assert data[older.key]["build"] == "20240726"
    assert merge_downloads([older], [newer]) == [newer]


# ----- SHA256SUMS ------------------------------------------------------------------


def test_sha256sums_fixture_agrees_with_uv() -> None:
    """The parser picks, per key, the very archive uv's published JSON lists."""
    sums = next(DATA.glob("pbs-*.sha256sums"))
    tag = sums.name.split("-")[1].split(".")[0]
    expected = json.loads((DATA / f"pbs-{tag}.expected.json").read_text())
    parsed = downloads_from_sha256sums(sums.read_text(), tag)
    assert to_uv_json(parsed) == expected
    # The fixture really offers alternatives to skip, for every kind of choice.
    names = [line.split()[1] for line in sums.read_text().splitlines()]
    assert len(names) > len(expected)
    assert any(n.endswith("-install_only.tar.gz") for n in names)
    assert any(n.endswith("-pgo+lto-full.tar.zst") for n in names)
    assert {d["variant"] for d in expected.values()} == {
        None, "freethreaded", "debug", "freethreaded+debug"
    }


@pytest.mark.parametrize(
    ("flavours", "winner"),
    [
        (["noopt-full.tar.zst", "install_only.tar.gz", "install_only_stripped.tar.gz"],
         "install_only_stripped.tar.gz"),
        (["pgo+lto-full.tar.zst", "install_only.tar.gz"], "install_only.tar.gz"),
        (["lto-full.tar.zst", "pgo-full.tar.zst", "pgo+lto-full.tar.zst"], "pgo+lto-full.tar.zst"),
        (["lto-full.tar.zst", "pgo-full.tar.zst"], "pgo-full.tar.zst"),
        (["noopt-full.tar.zst", "lto-full.tar.zst"], "lto-full.tar.zst"),
        (["noopt-full.tar.zst"], "noopt-full.tar.zst"),
        (["freethreaded+lto-full.tar.zst", "freethreaded-install_only_stripped.tar.gz"],
         "freethreaded-install_only_stripped.tar.gz"),
        (["freethreaded+pgo+lto-full.tar.zst", "freethreaded+lto-full.tar.zst"],
         "freethreaded+pgo+lto-full.tar.zst"),
    ],
)
def test_sha256sums_flavour_preference(flavours: list[str], winner: str) -> None:
    stem = "cpython-3.13.1+20241205-x86_64-unknown-linux-gnu-"
    text = "".join(f"{hashlib.sha256(f.encode()).hexdigest()}  {stem}{f}\n" for f in flavours)
    parsed = downloads_from_sha256sums(text, "20241205")
    assert len(parsed) == 1
    assert parsed[0].filename == stem + winner
    assert parsed[0].sha256 == hashlib.sha256(winner.encode()).hexdigest()


def test_sha256sums_platforms_and_variants() -> None:
    lines = [
        "cpython-3.13.1+20241205-x86_64-unknown-linux-gnu-debug-full.tar.zst",
        "cpython-3.13.1+20241205-x86_64-unknown-linux-gnu-freethreaded+debug-full.tar.zst",
        "cpython-3.13.1+20241205-aarch64-apple-darwin-install_only.tar.gz",
        "cpython-3.13.1+20241205-x86_64-pc-windows-msvc-install_only.tar.gz",
        "cpython-3.13.1+20241205-x86_64-pc-windows-msvc-shared-install_only.tar.gz",
        "cpython-3.13.1+20241205-armv7-unknown-linux-gnueabihf-install_only.tar.gz",
        "cpython-3.13.1+20241205-x86_64-unknown-linux-musl-install_only.tar.gz",
        "cpython-3.13.1+20241205-ppc64le-unknown-linux-gnu-install_only.tar.gz",
        "cpython-3.12.4+20241205-x86_64_v4-unknown-linux-gnu-install_only_stripped.tar.gz",
        # Not archives pyv installs: skipped.
        "cpython-3.13.1+20241205-x86_64-unknown-linux-gnu-debug-install_only.tar.gz",
        "cpython-3.13.1+20241205-x86_64-unknown-linux-gnu-debug+pgo-full.tar.zst",
        "cpython-3.13.1+20241205-wasm32-wasi-install_only.tar.gz",
        "cpython-3.13.1+20241205-x86_64-unknown-linux-gnu-install_only.tar.gz.sha256",
        "SHA256SUMS",
    ]
    text = "".join(f"{'c' * 64}  {name}\n" for name in lines) + "not a line\n"
    parsed = {d.key: d for d in downloads_from_sha256sums(text, "20241205", "https://m.example/r/")}
    assert set(parsed) == {
        "cpython-3.13.1+debug-linux-x86_64-gnu",
        "cpython-3.13.1+freethreaded+debug-linux-x86_64-gnu",
        "cpython-3.13.1-darwin-aarch64-none",
        "cpython-3.13.1-windows-x86_64-none",
        "cpython-3.13.1-linux-armv7-gnueabihf",
        "cpython-3.13.1-linux-x86_64-musl",
        "cpython-3.13.1-linux-powerpc64le-gnu",
        "cpython-3.12.4-linux-x86_64_v4-gnu",
    }
    windows = parsed["cpython-3.13.1-windows-x86_64-none"]
    assert windows.filename == "cpython-3.13.1+20241205-x86_64-pc-windows-msvc-install_only.tar.gz"
    assert windows.url.startswith("https://m.example/r/20241205/cpython-3.13.1%2B20241205-")
    assert parsed["cpython-3.12.4-linux-x86_64_v4-gnu"].arch_variant == "v4"


# ----- mirrors -----------------------------------------------------------------------


def test_download_url_mirrors(tmp_path: Path) -> None:
    cpython = pbs("3.12.4", "20240713")
    pypy = Download("pypy", 3, 10, 16, "", None, "linux", "x86_64", None, "gnu", "7.3.19",
                    f"{PYPY_DOWNLOAD_PREFIX}/pypy3.10-v7.3.19-linux64.tar.gz", "d" * 64)
    graal = Download("graalpy", 3, 11, 0, "", None, "linux", "x86_64", None, "gnu", "24.2.2",
                     f"{GRAALPY_DOWNLOAD_PREFIX}/graal-24.2.2/graalpy-24.2.2-linux-amd64.tar.gz",
                     "e" * 64)
    plain = Settings(home=tmp_path)
    assert [download_url(d, plain) for d in (cpython, pypy, graal)] == [
        cpython.url, pypy.url, graal.url
    ]
    mirrored = Settings(
        home=tmp_path,
        python_install_mirror="https://pbs.example/mirror/",
        pypy_install_mirror="http://pypy.example",
        graalpy_install_mirror=(tmp_path / "graal").as_uri(),
    )
    assert download_url(cpython, mirrored) == (
        "https://pbs.example/mirror/20240713/cpython-3.12.4%2B20240713-"
        "x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
    )
    assert download_url(pypy, mirrored) == "http://pypy.example/pypy3.10-v7.3.19-linux64.tar.gz"
    assert download_url(graal, mirrored) == (
        f"{(tmp_path / 'graal').as_uri()}/graal-24.2.2/graalpy-24.2.2-linux-amd64.tar.gz"
    )
    file_mirror = Settings(home=tmp_path, python_install_mirror="file:///srv/pbs")
    assert download_url(cpython, file_mirror).startswith("file:///srv/pbs/20240713/cpython-3.12.4")
    # A mirror for one implementation never rewrites another's URL.
    only_pbs = Settings(home=tmp_path, python_install_mirror="https://pbs.example")
    assert download_url(pypy, only_pbs) == pypy.url


def test_plain_directory_mirror_names_files_as_on_disk(tmp_path: Path) -> None:
    cpython = pbs("3.12.4", "20240713")
    local = Settings(home=tmp_path, python_install_mirror="/srv/pbs/")
    assert download_url(cpython, local) == (
        "/srv/pbs/20240713/cpython-3.12.4+20240713-"
        "x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
    )


def test_install_from_plain_directory_mirror(run_pyv: Any, tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent))
    from archives import build_synthetic_archive, mirror_layout, write_catalog

    archive = build_synthetic_archive(tmp_path / "archives", (3, 12, 4), build="20240713")
    assert "+" in archive.path.name
    mirror = tmp_path / "mirror"
    mirror_layout(mirror, archive)
    env = {
        "PYV_DOWNLOADS_JSON": str(write_catalog(tmp_path / "catalog.json", [archive])),
        "PYV_PYTHON_INSTALL_MIRROR": str(mirror),
        "PYV_OFFLINE": "1",
    }
    result = run_pyv("install", "3.12", env=env)
    assert result.returncode == 0, result.stderr
