from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from fixtures_http import LoopbackServer, closed_port
from pyv.acquire.download import (
    DownloadStream,
    HttpStatusError,
    fetch,
    get,
    make_client,
    open_download,
    retry,
)
from pyv.core.errors import ExitCode, FilesystemError, IntegrityError, NetworkError
from pyv.core.report import Reporter
from pyv.core.settings import Settings

SIZE = 600_000
DATA = os.urandom(SIZE)
SHA = hashlib.sha256(DATA).hexdigest()
REL = "20250101/cpython-3.12.4+20250101-x86_64-unknown-linux-gnu-install_only.tar.gz"
PATH = "/" + REL


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record backoff waits instead of sleeping."""
    waits: list[float] = []
    monkeypatch.setattr(retry, "_sleep", waits.append)
    return waits


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "pyv-home", retries=3, progress=False, lock_timeout=5,
                    environ={"HOME": str(tmp_path / "home")})


@pytest.fixture
def server(http_server: LoopbackServer) -> LoopbackServer:
    http_server.add_file(REL, DATA)
    return http_server


def url_of(server: LoopbackServer) -> str:
    return server.url_for(REL)


def drain(stream: DownloadStream, size: int = 10_000) -> bytes:
    pieces = []
    while True:
        chunk = stream.read(size)
        if not chunk:
            return b"".join(pieces)
        pieces.append(chunk)


def download_all(url: str, part: Path, settings: Settings, **kwargs: object) -> bytes:
    with open_download(url, part, settings, **kwargs) as stream:  # type: ignore[arg-type]
        data = drain(stream)
        assert stream.sha256 == hashlib.sha256(data).hexdigest()
        assert stream.size == len(data)
    return data


def ranges(server: LoopbackServer) -> list[str | None]:
    return [r.header("range") for r in server.requests_for(PATH)]


# ----- the happy path ----------------------------------------------------------
def test_streams_bytes_hashes_and_keeps_part(server: LoopbackServer, settings: Settings,
                                             tmp_path: Path) -> None:
    part = tmp_path / "cache" / "a.tar.gz.part"
    assert download_all(url_of(server), part, settings) == DATA
    assert part.read_bytes() == DATA
    assert ranges(server) == [None]
    assert server.requests_for(PATH)[0].header("accept-encoding") == "identity"


def test_commit_verifies_and_renames(server: LoopbackServer, settings: Settings,
                                     tmp_path: Path) -> None:
    part = tmp_path / "x.part"
    dest = tmp_path / "x.tar.gz"
    with open_download(url_of(server), part, settings, expected_sha256=SHA) as stream:
        stream.read(1000)  # an extractor may stop early; commit drains the rest
        result = stream.commit(dest)
    assert result.path == dest and result.sha256 == SHA and result.size == SIZE
    assert dest.read_bytes() == DATA
    assert not part.exists()


def test_readinto_and_buffered_wrapping(server: LoopbackServer, settings: Settings) -> None:
    with open_download(url_of(server), None, settings) as stream:
        assert io.BufferedReader(stream, 32768).read() == DATA


# ----- faults mid-body ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["truncate", "reset"])
def test_broken_body_is_resumed_with_range(kind: str, server: LoopbackServer,
                                           settings: Settings, tmp_path: Path) -> None:
    server.add_fault(PATH, kind, after=200_000)
    assert download_all(url_of(server), tmp_path / "p.part", settings) == DATA
    first, second = ranges(server)
    assert first is None
    if kind == "truncate":
        assert second == "bytes=200000-"
    else:  # a reset may discard bytes still in flight: resumed from what arrived
        assert second is None or 0 < int(second[6:-1]) <= 200_000


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_retryable_status_then_success(status: int, server: LoopbackServer,
                                       settings: Settings, tmp_path: Path,
                                       sleeps: list[float]) -> None:
    server.add_fault(PATH, "status", status=status)
    assert download_all(url_of(server), tmp_path / "p.part", settings) == DATA
    assert server.count(PATH) == 2
    assert len(sleeps) == 1 and 0 < sleeps[0] <= retry.BACKOFF_BASE


def test_retry_after_is_honoured_but_capped(server: LoopbackServer, settings: Settings,
                                            tmp_path: Path, sleeps: list[float],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "RETRY_AFTER_CAP", 7.0)
    server.add_fault(PATH, "status", status=429, retry_after=3)
    server.add_fault(PATH, "status", status=503, retry_after=3600)
    assert download_all(url_of(server), tmp_path / "p.part", settings) == DATA
    assert sleeps == [3.0, 7.0]


def test_404_fails_at_once(server: LoopbackServer, settings: Settings, tmp_path: Path,
                           sleeps: list[float]) -> None:
    url = server.url_for("20250101/missing.tar.gz")
    with pytest.raises(HttpStatusError) as info:
        open_download(url, tmp_path / "m.part", settings)
    line = info.value.render()
    assert "not found on the mirror (HTTP 404)" in line and url in line
    assert "PYV_PYTHON_INSTALL_MIRROR" in line
    assert info.value.status == 404 and info.value.exit_code == ExitCode.NETWORK
    assert server.count("/20250101/missing.tar.gz") == 1 and sleeps == []


def test_exhausted_retries_keep_part_and_next_run_resumes(
    server: LoopbackServer, settings: Settings, tmp_path: Path
) -> None:
    part = tmp_path / "p.part"
    settings = settings.replace(retries=2)
    server.add_fault(PATH, "truncate", after=150_000)
    server.add_fault(PATH, "status", status=503, times=2)
    with open_download(url_of(server), part, settings) as stream:
        with pytest.raises(NetworkError) as info:
            drain(stream)
        assert stream.size == 150_000
    line = info.value.render()
    assert "HTTP 503" in line and "gave up after 3 attempts" in line
    assert "run the command again to resume" in line and "\n" not in line
    assert part.read_bytes() == DATA[:150_000]
    assert server.count(PATH) == 3  # the break, then two 503s: retries=2 used up

    assert download_all(url_of(server), part, settings) == DATA
    assert ranges(server)[-1] == "bytes=150000-"
    assert part.read_bytes() == DATA


def test_part_from_earlier_run_is_replayed_then_continued(
    server: LoopbackServer, settings: Settings, tmp_path: Path
) -> None:
    part = tmp_path / "p.part"
    part.write_bytes(DATA[:123_456])
    with open_download(url_of(server), part, settings, expected_sha256=SHA) as stream:
        assert drain(stream, 7777) == DATA
        assert stream.sha256 == SHA
    assert ranges(server) == ["bytes=123456-"]
    assert part.read_bytes() == DATA


def test_server_ignoring_range_on_resume_restarts_cleanly(
    server: LoopbackServer, settings: Settings, tmp_path: Path
) -> None:
    part = tmp_path / "p.part"
    part.write_bytes(b"stale bytes from another file")
    server.add_fault(PATH, "ignore_range")
    assert download_all(url_of(server), part, settings) == DATA
    assert server.count(PATH) == 1
    assert part.read_bytes() == DATA


def test_server_ignoring_range_mid_body_skips_what_was_read(
    server: LoopbackServer, settings: Settings, tmp_path: Path
) -> None:
    server.add_fault(PATH, "truncate", after=250_000)
    server.add_fault(PATH, "ignore_range")
    part = tmp_path / "p.part"
    assert download_all(url_of(server), part, settings) == DATA
    assert [r.status for r in server.requests_for(PATH)] == [200, 200]
    assert part.read_bytes() == DATA


def test_416_with_complete_part_needs_no_body(server: LoopbackServer, settings: Settings,
                                              tmp_path: Path) -> None:
    part = tmp_path / "p.part"
    part.write_bytes(DATA)
    assert download_all(url_of(server), part, settings, expected_sha256=SHA) == DATA
    assert [r.status for r in server.requests_for(PATH)] == [416]


def test_416_with_oversized_part_restarts_from_zero(server: LoopbackServer,
                                                    settings: Settings, tmp_path: Path) -> None:
    part = tmp_path / "p.part"
    part.write_bytes(DATA + b"garbage")
    assert download_all(url_of(server), part, settings) == DATA
    assert [r.status for r in server.requests_for(PATH)] == [416, 200]
    assert part.read_bytes() == DATA


def test_file_changing_mid_download_is_detected(server: LoopbackServer, settings: Settings,
                                                tmp_path: Path) -> None:
    server.add_fault(PATH, "truncate", after=100_000)
    part = tmp_path / "p.part"
    with open_download(url_of(server), part, settings) as stream:
        assert stream.read(50_000) == DATA[:50_000]
        changed = os.urandom(SIZE)
        server.add_file(REL, changed)
        os.utime(server.root / REL, (1, 1))  # a different ETag even within one mtime tick
        with pytest.raises(NetworkError) as info:
            drain(stream)
    assert "changed on the server" in info.value.render()
    assert ranges(server)[-1] == "bytes=100000-"
    assert server.requests_for(PATH)[-1].header("if-range")
    assert part.stat().st_size == 0


def test_slow_body_past_read_timeout_is_retried(server: LoopbackServer, settings: Settings,
                                                tmp_path: Path) -> None:
    server.add_fault(PATH, "slow", delay=0.5, chunk=65536)
    fast = settings.replace(read_timeout=0.1)
    assert download_all(url_of(server), tmp_path / "p.part", fast) == DATA
    assert server.count(PATH) == 2


def test_slow_body_within_timeout_is_fine(server: LoopbackServer, settings: Settings) -> None:
    server.add_fault(PATH, "slow", delay=0.001, chunk=65536)
    with open_download(url_of(server), None, settings) as stream:
        assert drain(stream) == DATA


# ----- fetch ---------------------------------------------------------------------
def test_fetch_checksum_mismatch_leaves_nothing(server: LoopbackServer, settings: Settings,
                                                tmp_path: Path) -> None:
    dest = tmp_path / "out" / "a.tar.gz"
    wrong = "0" * 64
    with pytest.raises(IntegrityError) as info:
        fetch(url_of(server), dest, settings, expected_sha256=wrong)
    line = info.value.render()
    assert wrong in line and SHA in line and "a.tar.gz" in line
    assert not dest.exists()
    assert not dest.with_name("a.tar.gz.part").exists()


def test_fetch_then_cache_hit_makes_no_request(server: LoopbackServer, settings: Settings,
                                               tmp_path: Path) -> None:
    dest = tmp_path / "a.tar.gz"
    first = fetch(url_of(server), dest, settings, expected_sha256=SHA)
    assert (first.sha256, first.size, first.from_cache) == (SHA, SIZE, False)
    assert dest.read_bytes() == DATA
    again = fetch(url_of(server), dest, settings.replace(offline=True), expected_sha256=SHA)
    assert again.from_cache and again.sha256 == SHA
    assert server.count(PATH) == 1


def test_fetch_replaces_a_corrupt_cached_file(server: LoopbackServer, settings: Settings,
                                              tmp_path: Path) -> None:
    dest = tmp_path / "a.tar.gz"
    dest.write_bytes(b"corrupt")
    result = fetch(url_of(server), dest, settings, expected_sha256=SHA)
    assert not result.from_cache and dest.read_bytes() == DATA


# ----- offline, local files ----------------------------------------------------------
def test_offline_refuses_http(server: LoopbackServer, settings: Settings,
                              tmp_path: Path) -> None:
    offline = settings.replace(offline=True)
    for call in (lambda: open_download(url_of(server), tmp_path / "p.part", offline),
                 lambda: get(url_of(server), offline)):
        with pytest.raises(NetworkError) as info:
            call()
        line = info.value.render()
        assert "offline" in line and "PYV_OFFLINE" in line and "file://" in line
    assert server.requests == []


@pytest.mark.parametrize("form", ["file-url", "path"])
def test_local_files_need_no_network(form: str, settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "mirror dir" / "a+b.tar.gz"
    source.parent.mkdir()
    source.write_bytes(DATA)
    url = source.as_uri() if form == "file-url" else str(source)
    offline = settings.replace(offline=True)
    assert download_all(url, tmp_path / "p.part", offline) == DATA
    dest = tmp_path / "copy.tar.gz"
    result = fetch(url, dest, offline, expected_sha256=SHA)
    assert result.sha256 == SHA and dest.read_bytes() == DATA
    response = get(url, offline)
    assert response.status == 200 and response.content == DATA


def test_missing_local_file(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(NetworkError) as info:
        open_download((tmp_path / "nope.tar.gz").as_uri(), None, settings)
    assert "nope.tar.gz not found" in info.value.render()


# ----- connection failures -----------------------------------------------------------
def test_connection_refused_fails_at_once(settings: Settings, tmp_path: Path,
                                          sleeps: list[float]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/x.tar.gz"
    with pytest.raises(NetworkError) as info:
        open_download(url, tmp_path / "p.part", settings.replace(retries=2))
    line = info.value.render()
    assert line.startswith("error: cannot reach 127.0.0.1")
    assert "HTTPS_PROXY" in line and "PYV_PYTHON_INSTALL_MIRROR" in line
    assert "PYV_DOWNLOADS_JSON" in line and "\n" not in line
    assert sleeps == []


def test_unresolvable_name_fails_at_once(settings: Settings, tmp_path: Path,
                                         sleeps: list[float],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    looked_up: list[object] = []

    def no_such_host(host: object, *args: object, **kwargs: object) -> object:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    for call in (lambda: open_download("https://mirror.invalid/x.tar.gz", tmp_path / "p.part",
                                       settings),
                 lambda: get("https://mirror.invalid/c.json", settings)):
        with pytest.raises(NetworkError) as info:
            call()
        line = info.value.render()
        assert "mirror.invalid" in line and "resolve" in line and "\n" not in line
        assert "PYV_PYTHON_INSTALL_MIRROR" in line and "PYV_DOWNLOADS_JSON" in line
    assert looked_up == ["mirror.invalid", "mirror.invalid"] and sleeps == []


def test_tls_verification_failure_is_not_retried() -> None:
    exc = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    error, again = retry.classify(exc, "https://mirror.example/x")
    assert not again
    assert "SSL_CERT_FILE" in error.render() and "mirror.example" in error.render()


def test_disk_full_is_a_filesystem_error(server: LoopbackServer, settings: Settings,
                                         tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    part = tmp_path / "p.part"
    part.symlink_to("/dev/full")
    with pytest.raises(FilesystemError) as info:
        with open_download(url_of(server), part, settings) as stream:
            drain(stream)
    assert "no space left on device" in info.value.render()


# ----- credentials and redirects --------------------------------------------------------
def test_credentials_go_to_their_host_only(
    http_server_factory: Callable[[], LoopbackServer], settings: Settings, tmp_path: Path
) -> None:
    origin, other = http_server_factory(), http_server_factory()
    other.add_file(REL, DATA)
    origin.add_fault(PATH, "redirect", to=f"http://localhost:{other.port}")
    url = f"http://user:s%40cret@127.0.0.1:{origin.port}/{REL}"
    dest = tmp_path / "a.tar.gz"
    assert fetch(url, dest, settings, expected_sha256=SHA).sha256 == SHA
    sent = origin.requests_for(PATH)[0].header("authorization")
    assert sent == "Basic " + base64.b64encode(b"user:s@cret").decode()
    assert other.requests_for(PATH)[0].header("authorization") is None


def test_netrc_entry_is_sent_only_to_its_host(
    http_server_factory: Callable[[], LoopbackServer], settings: Settings, tmp_path: Path
) -> None:
    origin, other = http_server_factory(), http_server_factory()
    other.add_file("catalog.json", b"{}")
    origin.add_file("catalog.json", b"{}")
    origin.add_fault("/catalog.json", "redirect", to=f"http://localhost:{other.port}")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password hunter2\n")
    netrc.chmod(0o600)
    env = settings.replace(environ={"NETRC": str(netrc)})
    response = get(f"{origin.url}/catalog.json", env,
                   headers={"Authorization": "Bearer token-for-origin"})
    assert response.status == 200 and response.content == b"{}"
    assert origin.requests_for("/catalog.json")[0].header("authorization") == (
        "Bearer token-for-origin")
    assert other.requests_for("/catalog.json")[0].header("authorization") is None

    assert get(f"{origin.url}/catalog.json", env).status == 200  # no redirect this time
    assert origin.requests_for("/catalog.json")[1].header("authorization") == (
        "Basic " + base64.b64encode(b"bob:hunter2").decode())


def test_passwords_never_appear_in_errors(server: LoopbackServer, settings: Settings) -> None:
    url = f"http://user:topsecret@127.0.0.1:{server.port}/missing.tar.gz"
    with pytest.raises(NetworkError) as info:
        open_download(url, None, settings)
    assert "topsecret" not in info.value.render()
    assert f"127.0.0.1:{server.port}/missing.tar.gz" in info.value.render()


# ----- get -------------------------------------------------------------------------
def test_get_conditional_requests_pass_304_back(server: LoopbackServer,
                                                settings: Settings) -> None:
    server.add_file("latest-release.json", b'{"tag": "20250101"}')
    url = f"{server.url}/latest-release.json"
    first = get(url, settings)
    assert first.status == 200 and first.content == b'{"tag": "20250101"}'
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert get(url, settings, headers={"If-None-Match": etag}).status == 304
    assert get(url, settings, headers={"If-Modified-Since": modified}).status == 304


def test_get_retries_then_raises_on_4xx(server: LoopbackServer, settings: Settings,
                                        sleeps: list[float]) -> None:
    server.add_file("c.json", b"[]")
    server.add_fault("/c.json", "status", status=503, retry_after=2)
    server.add_fault("/c.json", "reset", after=0)
    assert get(f"{server.url}/c.json", settings).content == b"[]"
    assert server.count("/c.json") == 3 and sleeps[0] == 2.0
    server.add_fault("/c.json", "status", status=403)
    with pytest.raises(HttpStatusError) as info:
        get(f"{server.url}/c.json", settings)
    assert info.value.status == 403 and "HTTP 403" in info.value.render()
    assert server.count("/c.json") == 4


# ----- client construction from settings.environ ---------------------------------------
def test_proxy_from_the_environment(server: LoopbackServer, settings: Settings,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    server.add_file("via-proxy.json", b"proxied")
    monkeypatch.setenv("HTTP_PROXY", server.url)
    # The host does not exist; only a proxy can answer for it.
    response = get("http://pyv-test.invalid/via-proxy.json", settings)
    assert response.content == b"proxied"
    assert server.requests_for("/via-proxy.json")[0].header("host") == "pyv-test.invalid"
    # Loopback never goes through a proxy: the proxy below would refuse.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    assert get(url_of(server), settings).content == DATA
    import socket

    def no_such_host(host: object, *args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such host")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    monkeypatch.setenv("NO_PROXY", "pyv-test.invalid")
    with pytest.raises(NetworkError) as info:  # asked directly now, not through the proxy
        get("http://pyv-test.invalid/via-proxy.json", settings)
    assert "cannot resolve the host name pyv-test.invalid" in info.value.render()


def test_missing_ssl_cert_file_is_a_clear_error_at_once(settings: Settings,
                                                       tmp_path: Path) -> None:
    for name, value in (("SSL_CERT_FILE", str(tmp_path / "missing.pem")),
                        ("SSL_CERT_FILE", str(tmp_path)),
                        ("SSL_CERT_DIR", str(tmp_path / "missing"))):
        with pytest.raises(NetworkError) as info:
            make_client(settings.replace(environ={name: value}))
        line = info.value.render()
        assert f"{name}={value}" in line and "\n" not in line


def test_bogus_ssl_cert_file_is_a_clear_error_at_the_first_handshake(
    settings: Settings, tmp_path: Path, https_server: LoopbackServer, server: LoopbackServer
) -> None:
    """The bundle is read when TLS needs it: a plain-http download never does."""
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    bogus_settings = settings.replace(environ={"SSL_CERT_FILE": str(bogus)})
    assert get(url_of(server), bogus_settings).content == DATA  # http: the file is not read
    https_server.add_file("x.json", b"{}")
    with pytest.raises(NetworkError) as info:
        get(https_server.url_for("x.json"), bogus_settings)
    line = info.value.render()
    assert f"SSL_CERT_FILE={bogus}" in line and "\n" not in line


def test_the_ca_bundle_is_read_at_the_first_handshake_only() -> None:
    import ssl

    from pyv.acquire.download import ssl_context

    context = ssl_context({})
    assert context.cert_store_stats()["x509_ca"] == 0
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
    loaded = context.cert_store_stats()["x509_ca"]
    assert loaded > 50  # certifi's bundle
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
    assert context.cert_store_stats()["x509_ca"] == loaded  # once


def test_the_deferred_context_is_set_up_as_create_default_context() -> None:
    """Everything but the certificates, as the standard library sets it up (whatever the
    Python version: the suite runs on several)."""
    import ssl

    from pyv.acquire.download import ssl_context

    ours, stdlib = ssl_context({}), ssl.create_default_context()
    for attr in ("protocol", "verify_mode", "check_hostname", "options", "verify_flags",
                 "minimum_version", "maximum_version", "post_handshake_auth",
                 "hostname_checks_common_name", "security_level"):
        if hasattr(stdlib, attr):
            assert getattr(ours, attr) == getattr(stdlib, attr), attr
    assert [c["name"] for c in ours.get_ciphers()] == [c["name"] for c in stdlib.get_ciphers()]


def test_client_uses_settings_timeouts_and_ca(settings: Settings) -> None:
    import certifi

    ca_settings = settings.replace(connect_timeout=3.0, read_timeout=9.0,
                                   environ={"SSL_CERT_FILE": certifi.where()})
    with make_client(ca_settings) as client:
        assert client.timeout.connect == 3.0 and client.timeout.read == 9.0
        assert client.follow_redirects and client.max_redirects == 10


# ----- progress ---------------------------------------------------------------------
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("progress", "stream_cls", "shown"), [
    (True, io.StringIO, False), (False, _Tty, False), (True, _Tty, True),
])
def test_progress_bar_only_on_a_tty(progress: bool, stream_cls: type[io.StringIO], shown: bool,
                                    server: LoopbackServer, settings: Settings) -> None:
    err = stream_cls()
    with open_download(url_of(server), None, settings.replace(progress=progress),
                       report=Reporter(err), label="cpython-3.12.4") as stream:
        drain(stream)
    assert bool(err.getvalue()) is shown
    if shown:
        assert "cpython-3.12.4" in err.getvalue()


def _netrc_for(tmp_path: Path, host: str) -> Path:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host} login bob password hunter2\n")
    netrc.chmod(0o600)
    return netrc


def test_netrc_is_not_sent_to_another_port_of_the_same_host(
    http_server_factory: Callable[[], LoopbackServer], settings: Settings, tmp_path: Path
) -> None:
    origin, other = http_server_factory(), http_server_factory()
    other.add_file(REL, DATA)
    origin.add_fault(PATH, "redirect", to=other.url)  # 127.0.0.1, another port
    netrc = _netrc_for(tmp_path, "127.0.0.1")
    with_netrc = settings.replace(environ={"NETRC": str(netrc)})
    assert fetch(origin.url_for(REL), tmp_path / "a.tar.gz", with_netrc,
                 expected_sha256=SHA).sha256 == SHA
    assert origin.requests_for(PATH)[0].header("authorization") == (
        "Basic " + base64.b64encode(b"bob:hunter2").decode())
    assert other.requests_for(PATH)[0].header("authorization") is None


def test_userinfo_and_header_stay_on_their_port(
    http_server_factory: Callable[[], LoopbackServer], settings: Settings, tmp_path: Path
) -> None:
    origin, other = http_server_factory(), http_server_factory()
    other.add_file("c.json", b"{}")
    origin.add_fault("/c.json", "redirect", to=other.url)
    origin.add_fault("/c.json", "redirect", to=other.url)
    url = f"http://user:pw@127.0.0.1:{origin.port}/c.json"
    assert get(url, settings).content == b"{}"
    assert get(origin.url + "/c.json", settings,
               headers={"Authorization": "Bearer t"}).content == b"{}"
    assert [r.header("authorization") for r in origin.requests_for("/c.json")] == [
        "Basic " + base64.b64encode(b"user:pw").decode(), "Bearer t"]
    assert [r.header("authorization") for r in other.requests_for("/c.json")] == [None, None]


def test_netrc_entry_for_one_host_is_not_used_for_another(
    server: LoopbackServer, settings: Settings, tmp_path: Path
) -> None:
    netrc = _netrc_for(tmp_path, "localhost")
    netrc.write_text(netrc.read_text() + "default login anon password guest\n")
    with_netrc = settings.replace(environ={"NETRC": str(netrc)})
    assert get(url_of(server), with_netrc).content == DATA  # asked 127.0.0.1
    assert server.requests_for(PATH)[0].header("authorization") is None
    assert get(f"http://localhost:{server.port}/{REL}", with_netrc).content == DATA
    assert server.requests_for(PATH)[1].header("authorization") == (
        "Basic " + base64.b64encode(b"bob:hunter2").decode())


# ----- the stall rule -----------------------------------------------------------------
def test_trickling_server_fails_with_one_line_and_a_resumable_part(
    server: LoopbackServer, settings: Settings, tmp_path: Path, sleeps: list[float]
) -> None:
    server.add_fault(PATH, "slow", chunk=16, delay=0.05)  # ~320 bytes/s
    part = tmp_path / "p.part"
    with open_download(url_of(server), part, settings.replace(stall_timeout=0.3)) as stream:
        with pytest.raises(NetworkError) as info:
            drain(stream)
    line = info.value.render()
    assert "stalled" in line and "PYV_STALL_TIMEOUT" in line and "\n" not in line
    assert "run the command again to resume" in line
    assert server.count(PATH) == 1 and sleeps == []  # not retried
    held = part.stat().st_size
    assert 0 < held < 1024 and part.read_bytes() == DATA[:held]
    assert download_all(url_of(server), part, settings) == DATA
    assert ranges(server)[-1] == f"bytes={held}-"


def test_time_spent_replaying_the_part_is_not_a_stall(
    server: LoopbackServer, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyv.acquire.download import stream as stream_module

    now = [1000.0]
    monkeypatch.setattr(stream_module, "_clock", lambda: now[0])
    part = tmp_path / "p.part"
    part.write_bytes(DATA[:300_000])
    with open_download(url_of(server), part, settings.replace(stall_timeout=5)) as stream:
        assert stream.read(300_000) == DATA[:300_000]  # the bytes on disk, slowly extracted
        now[0] += 100
        assert drain(stream) == DATA[300_000:]


def test_small_requests_follow_the_stall_rule_too(server: LoopbackServer, settings: Settings,
                                                  sleeps: list[float]) -> None:
    server.add_file("c.json", b"[" + b" " * 4000 + b"]")
    server.add_fault("/c.json", "slow", chunk=16, delay=0.05)
    with pytest.raises(NetworkError) as info:
        get(f"{server.url}/c.json", settings.replace(stall_timeout=0.3))
    assert "c.json" in info.value.render() and "stalled" in info.value.render()
    assert server.count("/c.json") == 1 and sleeps == []


def test_stall_rule_can_be_turned_off(server: LoopbackServer, settings: Settings) -> None:
    server.add_fault(PATH, "slow", chunk=150_000, delay=0.15)
    with open_download(url_of(server), None, settings.replace(stall_timeout=0)) as stream:
        assert drain(stream) == DATA


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "soon"])
def test_stall_timeout_is_validated(value: str, tmp_path: Path) -> None:
    from pyv.core.errors import ConfigError
    from pyv.core.settings import load_settings

    with pytest.raises(ConfigError) as info:
        load_settings({"PYV_HOME": str(tmp_path), "PYV_STALL_TIMEOUT": value})
    assert "PYV_STALL_TIMEOUT" in info.value.render()
    assert load_settings({"PYV_HOME": str(tmp_path)}).stall_timeout == 30.0


# ----- a .part that does not verify -----------------------------------------------------
def test_resumed_part_that_fails_verification_restarts_once(
    server: LoopbackServer, settings: Settings, tmp_path: Path
) -> None:
    dest = tmp_path / "a.tar.gz"
    part = dest.with_name("a.tar.gz.part")
    part.write_bytes(b"bytes of some other file" * 100)
    err = io.StringIO()
    result = fetch(url_of(server), dest, settings, expected_sha256=SHA, report=Reporter(err))
    assert result.sha256 == SHA and dest.read_bytes() == DATA and not part.exists()
    assert ranges(server) == ["bytes=2400-", None]
    assert "did not verify" in err.getvalue()


def test_fresh_download_that_fails_verification_is_not_repeated(
    server: LoopbackServer, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(IntegrityError):
        fetch(url_of(server), tmp_path / "a.tar.gz", settings, expected_sha256="0" * 64)
    assert server.count(PATH) == 1


def _screen(written: str) -> list[str]:
    """The lines a terminal shows after ``written`` (text, \\r, \\n and cursor-up only)."""
    import re

    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[A|\r|\n|[^\r\n\x1b]+", written):
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif token == "\x1b[A":
            row = max(0, row - 1)
        else:
            line = lines[row]
            lines[row] = line[:col] + token + line[col + len(token):]
            col += len(token)
    return [line.rstrip() for line in lines]


def test_parallel_downloads_each_keep_their_own_line(server: LoopbackServer,
                                                     settings: Settings) -> None:
    server.add_file("other.tar.gz", DATA[:300_000])
    err = _Tty()
    shown, report = settings.replace(progress=True), Reporter(err)
    with open_download(url_of(server), None, shown, report=report, status="Downloading A") as a, \
            open_download(server.url_for("other.tar.gz"), None, shown, report=report,
                          status="Downloading B") as b:
        while a.read(50_000) + b.read(50_000):
            pass
    screen = _screen(err.getvalue())
    assert err.getvalue().endswith("\n") and screen[-1] == ""
    # Each on its own line, whichever finished first.
    assert sorted(line.partition(":")[0] for line in screen[:-1]) == [
        "Downloading A", "Downloading B"]
    assert all("100%" in line for line in screen[:-1]), screen


def test_redirect_loop_is_one_line_and_not_retried(server: LoopbackServer, settings: Settings,
                                                   sleeps: list[float]) -> None:
    server.add_fault("/loop.json", "redirect", location=f"{server.url}/loop.json", times=30)
    with pytest.raises(NetworkError) as info:
        get(f"{server.url}/loop.json", settings)
    line = info.value.render()
    assert "too many redirects" in line and "\n" not in line
    assert server.count("/loop.json") == 11 and sleeps == []  # the request and 10 redirects
