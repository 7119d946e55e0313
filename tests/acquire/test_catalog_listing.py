"""`pyv list` reads the catalog's rows: same answers as build choice, no object per build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyv.acquire.catalog import Catalog, Download, load_catalog, matching_downloads, save_catalog
from pyv.acquire.catalog.listing import offers
from pyv.core.platform import Host
from pyv.core.requests import parse_request
from pyv.core.settings import Settings

HOSTS = [
    Host(os="linux", arch="x86_64", libc="gnu", glibc=(2, 35), x86_64_level=3),
    Host(os="linux", arch="aarch64", libc="musl", glibc=None, x86_64_level=None),
    Host(os="darwin", arch="aarch64", libc="none", glibc=None, x86_64_level=None),
]


def _expected(
    catalog: Catalog, text: str | None, host: Host, arch_variant: str, *,
    all_versions: bool, all_platforms: bool,
) -> list[str]:
    """The listing as pyv computed it before the row form: through Download objects."""
    request = parse_request(text) if text else parse_request("any")
    downloads = matching_downloads(catalog, request, host, arch_variant=arch_variant,
                                   all_platforms=all_platforms)
    if request.kind == "any":
        stable = {(d.implementation, d.major, d.minor) for d in downloads if not d.prerelease}
        downloads = [d for d in downloads
                     if not d.prerelease or (d.implementation, d.major, d.minor) not in stable]
    seen: set[str] = set()
    keys: list[Download] = []
    for d in downloads:
        if not all_versions:
            if d.minor_key in seen:
                continue
            seen.add(d.minor_key)
        keys.append(d)
    order = {"cpython": 0, "pypy": 1, "graalpy": 2}
    keys.sort(key=lambda d: (order[d.implementation], -d.major, -d.minor, -d.patch,
                             d.prerelease == "", d.key))
    return [d.key for d in keys]


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: f"{h.os}-{h.arch}")
@pytest.mark.parametrize(
    "text", [None, "3.12", "3", "pypy", "graalpy", "3.13t", "3.15", ">=3.10,<3.12", "3.14d",
             "cpython-3.12-linux-x86_64_v3-gnu", "3.13.0rc2", "3.8.99"],
)
@pytest.mark.parametrize(("all_versions", "all_platforms", "arch_variant"),
                         [(False, False, ""), (True, False, "auto"), (True, True, ""),
                          (False, True, "v2")])
def test_offers_agree_with_build_choice(
    tmp_path: Path, host: Host, text: str | None, all_versions: bool, all_platforms: bool,
    arch_variant: str,
) -> None:
    settings = Settings(home=tmp_path, arch_variant=arch_variant)
    catalog = load_catalog(settings)
    request = parse_request(text) if text else parse_request("any")
    found, _ = offers(settings, request, host, all_versions=all_versions,
                      all_platforms=all_platforms)
    assert [o.key for o in found] == _expected(
        catalog, text, host, arch_variant, all_versions=all_versions, all_platforms=all_platforms
    )


def test_offers_carry_what_json_shows(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    catalog = load_catalog(settings)
    found, rows = offers(settings, parse_request("any"), HOSTS[0], all_versions=True,
                         all_platforms=True)
    assert rows.source == "bundled" and len(found) > 1500
    for offer in found[::97]:
        d = catalog.find(offer.key)
        assert d is not None
        assert (offer.version, offer.implementation, offer.url, offer.sha256, offer.build) == (
            d.version_str, d.implementation, d.url, d.sha256, d.build)


def test_offers_from_a_refreshed_catalog_and_downloads_json(tmp_path: Path) -> None:
    bundled = load_catalog(Settings(home=tmp_path / "none"))
    few = Catalog(downloads=bundled.downloads[:40], source="x", generated="2999-01-01T00:00:00",
                  origin="test")
    settings = Settings(home=tmp_path / "home")
    save_catalog(few, settings.catalog_dir / "catalog.json")
    found, rows = offers(settings, parse_request("any"), HOSTS[0], all_versions=True,
                         all_platforms=True)
    assert rows.source == str(settings.catalog_dir / "catalog.json")
    assert {o.key for o in found} <= {d.key for d in few.downloads}
    from pyv.acquire.catalog import to_uv_json

    path = tmp_path / "dl.json"
    path.write_text(json.dumps(to_uv_json(few.downloads)))
    found_json, _ = offers(Settings(home=tmp_path, downloads_json=str(path)),
                           parse_request("any"), HOSTS[0], all_versions=True, all_platforms=True)
    assert [o.key for o in found_json] == [o.key for o in found]


PROBE = """
import gc, io, contextlib, sys, json
from pyv.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
from pyv.acquire.catalog.model import Download
made = sum(1 for o in gc.get_objects() if isinstance(o, Download))
print(json.dumps({"code": code, "lines": len(out.getvalue().splitlines()), "downloads": made,
                  "modules": sorted(m for m in sys.modules if m.startswith(
                      ("pyv.acquire.catalog", "httpx", "tqdm", "packaging.specifiers", "gzip")))}))
"""


def test_listing_the_whole_catalog_builds_no_download_objects(tmp_path: Path) -> None:
    env = {"PYV_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "list", "--all-platforms", "--all-versions"],
        capture_output=True, text=True, check=True, env=env,
    )
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["code"] == 0 and data["lines"] > 1500
    assert data["downloads"] == 0
    # Parsing release files and uv JSON is for `pyv update`, not for listing.
    assert "pyv.acquire.catalog.sha256sums" not in data["modules"]
    assert "pyv.acquire.catalog.uv_json" not in data["modules"]
    for heavy in ("httpx", "tqdm", "packaging.specifiers", "gzip"):
        assert heavy not in data["modules"]
