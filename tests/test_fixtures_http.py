"""The loopback server and pbs_mirror fixtures behave as the other tests assume."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from archives import build_synthetic_archive, sha256_of
from fixtures_http import LoopbackServer


def test_range_etag_and_head(http_server: LoopbackServer) -> None:
    http_server.add_file("a/b.bin", b"0123456789")
    url = http_server.url_for("a/b.bin")
    with httpx.Client(trust_env=False) as client:
        full = client.get(url)
        assert full.status_code == 200 and full.content == b"0123456789"
        part = client.get(url, headers={"Range": "bytes=4-"})
        assert part.status_code == 206 and part.content == b"456789"
        assert part.headers["content-range"] == "bytes 4-9/10"
        assert client.get(url, headers={"Range": "bytes=10-"}).status_code == 416
        etag = full.headers["etag"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        stale = client.get(url, headers={"Range": "bytes=4-", "If-Range": '"other"'})
        assert stale.status_code == 200
        head = client.head(url)
        assert head.status_code == 200 and head.headers["content-length"] == "10"
        assert client.get(http_server.url_for("nope")).status_code == 404
    assert http_server.count("/a/b.bin") == 5
    assert http_server.count("/a/b.bin", method="HEAD") == 1


def test_faults_are_consumed_in_order(http_server: LoopbackServer) -> None:
    http_server.add_file("x", b"payload")
    http_server.add_fault("x", "status", status=503, retry_after=2)
    http_server.add_fault("/x", "redirect", location="http://127.0.0.1:1/elsewhere")
    with httpx.Client(trust_env=False) as client:
        first = client.get(http_server.url_for("x"))
        assert first.status_code == 503 and first.headers["retry-after"] == "2"
        second = client.get(http_server.url_for("x"))
        assert second.status_code == 302
        assert second.headers["location"] == "http://127.0.0.1:1/elsewhere"
        assert client.get(http_server.url_for("x")).content == b"payload"
    assert http_server.pending_faults("x") == 0
    assert [r.status for r in http_server.requests_for("/x")] == [503, 302, 200]
    with pytest.raises(ValueError):
        http_server.add_fault("x", "explode")


def test_pbs_mirror_serves_archives_at_release_urls(
    pbs_mirror: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    archive = build_synthetic_archive(tmp_path / "built", (3, 12, 4), build="20250101")
    env = pbs_mirror([archive])
    mirror = env["PYV_PYTHON_INSTALL_MIRROR"]
    catalog = json.loads(Path(env["PYV_DOWNLOADS_JSON"]).read_text())
    entry = catalog[archive.key]
    assert entry["sha256"] == archive.sha256
    prefix = "https://github.com/astral-sh/python-build-standalone/releases/download"
    mirrored = entry["url"].replace(prefix, mirror)
    response = httpx.get(mirrored, trust_env=False)
    assert response.status_code == 200
    fetched = tmp_path / "fetched.tar.gz"
    fetched.write_bytes(response.content)
    assert sha256_of(fetched) == archive.sha256
