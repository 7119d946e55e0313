"""Requests against uv: the build pyv chooses on the bundled catalog is the one uv installs.

The table holds, for each request, the key pyv chooses for linux-x86_64-gnu. Each row is
checked twice at test time: against pyv's own choice, and against what the real uv (a
test dependency) tries to download from the same catalog. uv is pointed at the catalog
through ``UV_PYTHON_DOWNLOADS_JSON_URL`` (written in uv's schema by pyv itself) and at a
loopback mirror that answers 404 to everything: the one path uv asks for names the archive
it chose, which names its key. A row whose third column is given is a deliberate
difference; each is listed in docs/requests.md ("Where pyv differs from uv").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from fixtures_http import LoopbackServer
from pyv.acquire.catalog.choice import best_download
from pyv.acquire.catalog.loading import bundled_catalog
from pyv.acquire.catalog.mirrors import download_url
from pyv.acquire.catalog.uv_json import to_uv_json
from pyv.core.errors import InvalidRequest, NotFound, PlatformError
from pyv.core.platform import Host, current_host
from pyv.core.requests import parse_request
from pyv.core.settings import Settings

UV = Path(sys.executable).parent / "uv"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "requests.md"
#: The host both tools choose for. uv reads the real machine, so the test runs only on
#: such a host; pyv's CPU level and glibc are pinned so the answers do not depend on it.
HOST = Host(os="linux", arch="x86_64", libc="gnu", glibc=(2, 39), x86_64_level=3)
TAIL = "-linux-x86_64-gnu"

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or current_host().key != HOST.key,
    reason="uv chooses for the machine it runs on; the table is for linux-x86_64-gnu",
)

#: Outcomes other than a key: the request does not parse, nothing in the catalog matches,
#: or (pyv only) the matching builds cannot run on this host.
INVALID, NONE, PLATFORM = "invalid", "none", "platform"

#: (request, pyv's choice[, uv's choice where it differs]). A short key
#: (``cpython-3.12.14``) stands for that build on linux-x86_64-gnu.
ROWS: list[tuple[str, ...]] = [
    # versions and series
    ("3", "cpython-3.14.7"),
    ("3.8", "cpython-3.8.20"),
    ("3.9", "cpython-3.9.25"),
    ("3.10", "cpython-3.10.21"),
    ("3.11", "cpython-3.11.16"),
    ("3.12", "cpython-3.12.14"),
    ("3.13", "cpython-3.13.15"),
    ("3.14", "cpython-3.14.7"),
    ("3.15", "cpython-3.15.0rc1"),
    ("3.12.4", "cpython-3.12.4"),
    ("3.12.0", "cpython-3.12.0"),
    ("3.13.0", "cpython-3.13.0"),
    ("3.14.0", "cpython-3.14.0"),
    ("3.8.2", "cpython-3.8.2"),
    ("312", "cpython-3.12.14"),
    ("38", "cpython-3.8.20"),
    ("310", "cpython-3.10.21"),
    ("3124", INVALID, NONE),
    # pre-releases
    ("3.13.0rc2", "cpython-3.13.0rc2"),
    ("3.13rc2", "cpython-3.13.0rc2"),
    ("3.14.0b1", "cpython-3.14.0b1"),
    ("3.14b1", "cpython-3.14.0b1"),
    ("3.14.0a3", "cpython-3.14.0a3"),
    ("3.14.5rc1", "cpython-3.14.5rc1"),
    ("3.15.0a1", "cpython-3.15.0a1"),
    ("3.15a1", "cpython-3.15.0a1"),
    ("3.15.0rc1", "cpython-3.15.0rc1"),
    # variants
    ("313t", "cpython-3.13.15+freethreaded"),
    ("314t", "cpython-3.14.7+freethreaded"),
    ("3.13t", "cpython-3.13.15+freethreaded"),
    ("3.14t", "cpython-3.14.7+freethreaded"),
    ("3.15t", "cpython-3.15.0rc1+freethreaded"),
    ("3.12d", "cpython-3.12.14+debug"),
    ("3.13d", "cpython-3.13.15+debug"),
    ("3.13td", "cpython-3.13.15+freethreaded+debug"),
    ("3.14td", "cpython-3.14.7+freethreaded+debug"),
    ("3.13+freethreaded", "cpython-3.13.15+freethreaded"),
    ("3.12+debug", "cpython-3.12.14+debug"),
    ("3.13+freethreaded+debug", "cpython-3.13.15+freethreaded+debug"),
    ("3.13+debug+freethreaded", "cpython-3.13.15+freethreaded+debug", INVALID),
    ("3.12t", NONE),
    ("3.12.4t", NONE),
    # implementations
    ("cpython", "cpython-3.14.7"),
    ("cpython@3.12", "cpython-3.12.14"),
    ("cpython3.12", "cpython-3.12.14"),
    ("CPython@3.11", "cpython-3.11.16"),
    ("cp", "cpython-3.14.7"),
    ("cp3", "cpython-3.14.7"),
    ("cp312", "cpython-3.12.14"),
    ("cp3.12", "cpython-3.12.14"),
    ("cp3.12.4", "cpython-3.12.4"),
    ("cp313t", "cpython-3.13.15+freethreaded"),
    ("cp3.13t", "cpython-3.13.15+freethreaded"),
    ("pp", "pypy-3.11.15"),
    ("pypy", "pypy-3.11.15"),
    ("pypy@3.10", "pypy-3.10.16"),
    ("pypy3.10", "pypy-3.10.16"),
    ("pypy3.11", "pypy-3.11.15"),
    ("pypy@3.9", "pypy-3.9.19"),
    ("pp310", "pypy-3.10.16"),
    ("pp39", "pypy-3.9.19"),
    ("pp3.10", "pypy-3.10.16"),
    ("pypy@3.12", NONE),
    ("gp", "graalpy-3.12.0"),
    ("graalpy", "graalpy-3.12.0"),
    ("graalpy@3.11", "graalpy-3.11.0"),
    ("graalpy3.10", "graalpy-3.10.0"),
    ("gp311", "graalpy-3.11.0"),
    ("gp3.11", "graalpy-3.11.0"),
    ("graalpy@3.13", NONE),
    ("python3.12", "cpython-3.12.14"),
    ("python", "cpython-3.14.7", INVALID),
    ("py312", "cpython-3.12.14", INVALID),
    ("py3.12", INVALID),
    # newest
    ("any", "cpython-3.14.7", "cpython-3.15.0rc1"),
    ("default", "cpython-3.14.7"),
    ("latest", "cpython-3.14.7", INVALID),
    # specifier sets
    (">=3.11,<3.13", "cpython-3.12.14"),
    (">=3.11, <3.13", "cpython-3.12.14"),
    (">3.10, <3.13", "cpython-3.12.14"),
    ("==3.12.*", "cpython-3.12.14"),
    ("==3.12", "cpython-3.12.14"),
    ("==3.12.4", "cpython-3.12.4"),
    ("===3.12.4", "cpython-3.12.4"),
    ("~=3.11", "cpython-3.14.7"),
    ("~=3.12.3", "cpython-3.12.14"),
    (">=3.12", "cpython-3.14.7"),
    (">3.12", "cpython-3.14.7"),
    ("<3.12", "cpython-3.11.16"),
    ("<=3.11", "cpython-3.10.21"),
    ("<3.8.5", "cpython-3.8.3"),
    ("!=3.14.*", "cpython-3.13.15"),
    (">=3.11,!=3.14.*,<3.15", "cpython-3.13.15"),
    ("cpython@>=3.12", "cpython-3.14.7"),
    ("pypy@>=3.10", "pypy-3.11.15"),
    (">=3.13+freethreaded", "cpython-3.14.7+freethreaded"),
    (">=3.13t", "cpython-3.14.7+freethreaded"),
    (">=3.12,<3.14t", "cpython-3.13.15+freethreaded"),
    (">=3.14.0b1", "cpython-3.15.0rc1"),
    (">=3.15.0a1", "cpython-3.15.0rc1"),
    ("==3.15.*", "cpython-3.15.0rc1"),
    (">=3.13.0rc2,<3.13.1", "cpython-3.13.0"),
    ("==3.14.0rc3", "cpython-3.14.0rc3"),
    # keys
    ("cpython-3.12.4-linux-x86_64-gnu", "cpython-3.12.4"),
    ("cpython-3.12-linux-x86_64-gnu", "cpython-3.12.14"),
    ("cpython-3.12-linux-x86_64_v2-gnu", "cpython-3.12.14-linux-x86_64_v2-gnu"),
    ("cpython-3.12-linux-x86_64_v3-gnu", "cpython-3.12.14-linux-x86_64_v3-gnu"),
    ("cpython-3.12-linux-x86_64_v4-gnu", PLATFORM, "cpython-3.12.14-linux-x86_64_v4-gnu"),
    ("cpython-3.13.1+freethreaded-linux-x86_64-gnu", "cpython-3.13.1+freethreaded"),
    ("cpython-3.13+freethreaded-linux-x86_64-gnu", "cpython-3.13.15+freethreaded"),
    ("cpython-3.13+debug-linux-x86_64-gnu", "cpython-3.13.15+debug"),
    ("cpython-3.12.4+freethreaded-linux-x86_64-gnu", NONE),
    ("cpython-3.12-linux", "cpython-3.12.14"),
    ("cpython-3.12-linux-x86_64", "cpython-3.12.14"),
    ("cpython-3.12", "cpython-3.12.14"),
    ("cpython-linux", "cpython-3.14.7"),
    ("cpython-linux-x86_64-gnu", "cpython-3.14.7"),
    ("cp-3.12", "cpython-3.12.14"),
    ("any-3.13.2", "cpython-3.13.2"),
    ("any-3.11-any-x86_64-any", "cpython-3.11.16"),
    ("ANY-3.12", "cpython-3.12.14"),
    ("Any-3.12-Linux", "cpython-3.12.14", INVALID),
    ("any-any-any-any-any", "cpython-3.14.7"),
    ("pypy-linux", "pypy-3.11.15"),
    ("pypy-3.10", "pypy-3.10.16"),
    ("pypy-3.10-linux-x86_64-gnu", "pypy-3.10.16"),
    ("pp-3.10", "pypy-3.10.16"),
    ("graalpy-3.11-linux", "graalpy-3.11.0"),
    ("graalpy-linux-x86_64-gnu", "graalpy-3.12.0"),
    ("3.12-x86_64", "cpython-3.12.14"),
    ("3.13-x86_64", "cpython-3.13.15"),
    ("3.12-linux", "cpython-3.12.14"),
    ("3.12-linux-x86_64-gnu", "cpython-3.12.14"),
    ("3.12-amd64", "cpython-3.12.14", INVALID),
    ("cpython-3.12-linux-amd64-gnu", "cpython-3.12.14", INVALID),
    # other platforms
    ("cpython-3.12-macos-aarch64-none", PLATFORM, "cpython-3.12.14-darwin-aarch64-none"),
    ("cpython-macos-aarch64-none", PLATFORM, "cpython-3.14.7-darwin-aarch64-none"),
    ("cpython-3.12-windows-x86_64-none", PLATFORM, "cpython-3.12.14-windows-x86_64-none"),
    ("cpython-3.12-linux-aarch64-gnu", PLATFORM, "cpython-3.12.14-linux-aarch64-gnu"),
    ("cpython-3.12-linux-x86_64-musl", PLATFORM, "cpython-3.12.14-linux-x86_64-musl"),
    # nothing to install
    ("3.7", NONE),
    ("2.7", NONE),
    ("4", NONE),
    ("3.8.99", NONE),
    ("3.16", NONE),
    # not requests
    ("3.x", INVALID),
    (">=", INVALID),
    (">=3.11,", INVALID),
    ("cpython@", INVALID),
    ("pypy@", INVALID),
    ("3rc1", INVALID),
    ("3.12.4.5.6", INVALID),
    ("3.12tt", INVALID),
    ("cp3.x", INVALID),
    ("foo", INVALID),
    ("cpython-foo", INVALID),
]


def full(answer: str) -> str:
    """The table's short key spelled out (outcome words stay as they are)."""
    if answer in (INVALID, NONE, PLATFORM) or answer.count("-") >= 3:
        return answer
    return answer + TAIL


def pyv_choice(text: str) -> str:
    """What ``pyv install TEXT`` would download on ``HOST``, or why nothing."""
    try:
        request = parse_request(text)
    except InvalidRequest:
        return INVALID
    try:
        return best_download(bundled_catalog(), request, HOST).key
    except PlatformError:
        return PLATFORM
    except NotFound:
        return NONE


def test_the_table_is_large_and_has_no_repeats() -> None:
    requests = [row[0] for row in ROWS]
    assert len(requests) >= 100
    assert len(set(requests)) == len(requests)


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_pyv_chooses_the_tabled_build(row: tuple[str, ...]) -> None:
    assert pyv_choice(row[0]) == full(row[1])


def test_every_difference_from_uv_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.partition("## Where pyv differs from uv")[2].partition("\n## ")[0]
    assert section, "docs/requests.md lacks its list of differences from uv"
    missing = [row[0] for row in ROWS if len(row) > 2 and f"`{row[0]}`" not in section]
    assert not missing, f"differences from uv not listed in docs/requests.md: {missing}"


# ----- asking uv ---------------------------------------------------------------------


def _uv_env(tmp: Path, mirror: str, downloads_json: Path) -> dict[str, str]:
    """uv, isolated: its own dirs, no config, the catalog, the mirror, no other network."""
    return {
        "PATH": os.defpath,
        "HOME": str(tmp / "home"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
        "UV_PYTHON_INSTALL_DIR": str(tmp / "pythons"),
        "UV_PYTHON_BIN_DIR": str(tmp / "bin"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_PREFERENCE": "only-managed",
        "UV_NO_PROGRESS": "1",
        "UV_HTTP_RETRIES": "0",
        "UV_PYTHON_DOWNLOADS_JSON_URL": str(downloads_json),
        "UV_PYTHON_INSTALL_MIRROR": f"{mirror}/pbs",
        "UV_PYPY_INSTALL_MIRROR": f"{mirror}/pypy",
        "UV_GRAALPY_INSTALL_MIRROR": f"{mirror}/graalpy",
        # UV_OFFLINE would stop the loopback mirror too; a dead proxy stops the rest.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
    }


def _mirrored_paths() -> Mapping[str, str]:
    """Every catalog build's path under a mirror -> its key (pyv's own mirror rule)."""
    settings = Settings(
        home=Path("/nonexistent-pyv-home"),
        python_install_mirror="http://mirror/pbs",
        pypy_install_mirror="http://mirror/pypy",
        graalpy_install_mirror="http://mirror/graalpy",
    )
    return {
        unquote(urlsplit(download_url(d, settings)).path): d.key
        for d in bundled_catalog().downloads
    }


def _ask_uv(
    index: int, text: str, tmp: Path, server: LoopbackServer, catalog: Path,
    keys: Mapping[str, str],
) -> str:
    """The key of the build ``uv python install TEXT`` fetches, or why it fetches nothing.

    Each request has its own mirror, ``/INDEX/``, so parallel runs are told apart.
    """
    mirror = f"{server.url}/{index}"
    home = tmp / str(index)
    result = subprocess.run(
        [str(UV), "python", "install", "--no-bin", text],
        env=_uv_env(home, mirror, catalog), cwd=tmp, capture_output=True, text=True,
        timeout=120,
    )
    prefix = f"/{index}"
    asked = sorted({
        r.path[len(prefix):] for r in list(server.requests) if r.path.startswith(prefix + "/")
    })
    if asked:
        assert len(asked) == 1 and asked[0] in keys, (text, asked, result.stderr)
        return keys[asked[0]]
    if "is not a valid Python download request" in result.stderr:
        return INVALID
    if "No download found" in result.stderr:
        return NONE
    raise AssertionError(f"uv python install {text!r}: {result.stderr.strip()}")


def test_uv_installs_the_same_build(tmp_path: Path, http_server: LoopbackServer) -> None:
    assert UV.exists(), f"uv is a test dependency: install the test extras ({UV} is missing)"
    catalog = tmp_path / "downloads.json"
    catalog.write_text(json.dumps(to_uv_json(bundled_catalog().downloads)), encoding="utf-8")
    keys = _mirrored_paths()
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(
            lambda item: _ask_uv(item[0], item[1][0], tmp_path, http_server, catalog, keys),
            enumerate(ROWS),
        ))
    wrong = [
        f"{row[0]!r}: uv {answer}, table {full(row[-1])}"
        for row, answer in zip(ROWS, answers)
        if answer != full(row[2] if len(row) > 2 else row[1])
    ]
    assert not wrong, "uv disagrees with the table:\n" + "\n".join(wrong)
