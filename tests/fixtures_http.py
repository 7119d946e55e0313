"""A loopback HTTP server for download tests, with per-path fault injection.

``http_server`` serves a temporary directory on 127.0.0.1 from a thread. It
honours ``Range: bytes=N-`` (206/416), ``If-Range``, ``ETag``/``If-None-Match``
and ``Last-Modified``/``If-Modified-Since`` (304), records every request, and
injects faults queued per path, consumed one per request in order::

    server.add_fault("/20250101/x.tar.gz", "truncate", after=1000)
    server.add_fault("/x", "status", status=503, retry_after=1, times=2)

Fault kinds:

``truncate``      declare the full Content-Length, send ``after`` body bytes, close
``reset``         send ``after`` body bytes, then reset the connection (RST)
``status``        answer ``status`` (e.g. 500/503/429/404), optional ``retry_after``
``ignore_range``  answer 200 with the whole body even when a Range was asked
``slow``          sleep ``delay`` seconds before each ``chunk``-byte write
``redirect``      answer ``status`` (302) with Location ``to`` + the request path
                  (or ``location``, a full URL)

``pbs_mirror(archives)`` lays python-build-standalone archives out on the server
and writes a catalog, returning the environment that points pyv at them.
"""

from __future__ import annotations

import email.utils
import shutil
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from archives import BuiltArchive, mirror_layout, write_catalog

FAULT_KINDS = frozenset({"truncate", "reset", "status", "ignore_range", "slow", "redirect"})
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]
    #: The status the server answered (0 if the connection was cut first).
    status: int = 0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Fault:
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-body (killed installs, fault tests) are expected here."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """A threaded HTTP server over ``root`` on 127.0.0.1."""

    def __init__(self, root: Path, tls: Any = None) -> None:
        """``tls``: an ``ssl.SSLContext`` to serve HTTPS with (a test CA's certificate)."""
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port: int = self._httpd.server_address[1]
        self.url = f"{'https' if tls is not None else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # ----- configuration -------------------------------------------------
    def add_fault(self, path: str, kind: str, *, times: int = 1, **params: Any) -> None:
        """Queue ``times`` faults of ``kind`` for the next requests to ``path``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            queue = self._faults.setdefault(_norm(path), [])
            queue.extend(Fault(kind, dict(params)) for _ in range(times))

    def pending_faults(self, path: str) -> int:
        with self._lock:
            return len(self._faults.get(_norm(path), []))

    def add_file(self, relpath: str, data: bytes) -> Path:
        target = self.root / relpath.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def url_for(self, relpath: str) -> str:
        return f"{self.url}/{urllib.parse.quote(relpath.lstrip('/'))}"

    # ----- inspection ----------------------------------------------------
    def requests_for(self, path: str, method: str | None = "GET") -> list[RecordedRequest]:
        want = _norm(path)
        with self._lock:
            return [r for r in self.requests
                    if r.path == want and (method is None or r.method == method)]

    def count(self, path: str, method: str | None = "GET") -> int:
        return len(self.requests_for(path, method))

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # ----- used by the handler -------------------------------------------
    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.pop(0) if queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _norm(path: str) -> str:
    path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    return "/" + path.lstrip("/")


class _Handler(BaseHTTPRequestHandler):
    owner: LoopbackServer
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections end on their own, so no thread outlives a test for long.
    timeout = 5

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr log."""

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    # ----- helpers -------------------------------------------------------
    def _record(self, status: int) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.owner._record(RecordedRequest(self.command, _norm(self.path), headers, status))

    def _simple(self, status: int, body: bytes = b"", headers: Mapping[str, str] = ()) -> None:
        self._record(status)
        self.send_response(status)
        for name, value in dict(headers).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, *, body: bool) -> None:
        path = _norm(self.path)
        fault = self.owner._next_fault(path)
        if fault and fault.kind == "status":
            extra = {}
            if fault.params.get("retry_after") is not None:
                extra["Retry-After"] = str(fault.params["retry_after"])
            status = int(fault.params.get("status", 503))
            self._simple(status, f"injected {status}\n".encode(), extra)
            return
        if fault and fault.kind == "redirect":
            location = fault.params.get("location") or (
                str(fault.params["to"]).rstrip("/") + self.path
            )
            self._simple(int(fault.params.get("status", 302)), b"", {"Location": location})
            return

        file = self.owner.root / path.lstrip("/")
        try:
            resolved = file.resolve()
            resolved.relative_to(self.owner.root.resolve())
            stat = resolved.stat()
        except (OSError, ValueError):
            self._simple(404, b"not found\n")
            return
        if not resolved.is_file():
            self._simple(404, b"not found\n")
            return

        size = stat.st_size
        etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified, "Accept-Ranges": "bytes"}

        if self._not_modified(etag, stat.st_mtime):
            self._simple(304, b"", {"ETag": etag, "Last-Modified": last_modified})
            return

        start, status = 0, 200
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if range_header and not (fault and fault.kind == "ignore_range") and (
            if_range is None or if_range in (etag, last_modified)
        ):
            parsed = _parse_range(range_header)
            if parsed is not None:
                if parsed >= size:
                    self._simple(416, b"", {"Content-Range": f"bytes */{size}", **validators})
                    return
                start, status = parsed, 206

        self._record(status)
        self.send_response(status)
        for name, value in validators.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.end_headers()
        if not body:
            return
        self._send_body(resolved, start, size, fault)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                when = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(mtime) <= when
        return False

    def _send_body(self, file: Path, start: int, size: int, fault: Fault | None) -> None:
        limit = size - start
        cut = None
        if fault and fault.kind in ("truncate", "reset"):
            cut = min(int(fault.params.get("after", 0)), limit)
        chunk = _CHUNK
        delay = 0.0
        if fault and fault.kind == "slow":
            chunk = int(fault.params.get("chunk", 16 * 1024))
            delay = float(fault.params.get("delay", 0.01))
        sent = 0
        to_send = limit if cut is None else cut
        try:
            with open(file, "rb") as fh:
                fh.seek(start)
                while sent < to_send:
                    data = fh.read(min(chunk, to_send - sent))
                    if not data:
                        break
                    if delay:
                        time.sleep(delay)
                    self.wfile.write(data)
                    sent += len(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if cut is not None:
            self.close_connection = True
            if fault is not None and fault.kind == "reset":
                # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()


def _parse_range(value: str) -> int | None:
    """The start of a ``bytes=N-`` or ``bytes=N-M`` range (ends are ignored)."""
    unit, _, spec = value.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, _ = spec.partition("-")
    try:
        return int(first)
    except ValueError:
        return None


# ----- fixtures ------------------------------------------------------------
@pytest.fixture
def http_server_factory(tmp_path: Path) -> Iterator[Callable[[], LoopbackServer]]:
    """Start as many loopback servers as a test needs; all stop at teardown."""
    servers: list[LoopbackServer] = []

    def start() -> LoopbackServer:
        server = LoopbackServer(tmp_path / f"http-root-{len(servers)}")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def http_server(http_server_factory: Callable[[], LoopbackServer]) -> LoopbackServer:
    """A loopback server over an empty directory (``server.root``)."""
    return http_server_factory()


@pytest.fixture
def pbs_mirror(
    http_server: LoopbackServer, tmp_path: Path
) -> Callable[..., dict[str, str]]:
    """``pbs_mirror(archives, sha256=True)`` serves archives as a release mirror.

    Places each archive at ``<server.url>/<build>/<filename>``, writes a
    catalog describing them, and returns the env that points pyv at both.
    """

    def make(archives: Iterable[BuiltArchive], *, sha256: bool = True) -> dict[str, str]:
        items = list(archives)
        for archive in items:
            mirror_layout(http_server.root, archive)
        catalog = write_catalog(tmp_path / "pbs-mirror-catalog.json", items, sha256=sha256)
        return {"PYV_PYTHON_INSTALL_MIRROR": http_server.url, "PYV_DOWNLOADS_JSON": str(catalog)}

    return make


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem): a 'corporate CA'."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("test-ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        check=True, capture_output=True,
    )
    return directory


@pytest.fixture
def https_server(tmp_path: Path, test_ca: Path) -> Iterator[LoopbackServer]:
    """A loopback HTTPS server whose certificate only ``test_ca/cert.pem`` trusts."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(test_ca / "cert.pem", test_ca / "key.pem")
    server = LoopbackServer(tmp_path / "https-root", tls=context)
    yield server
    server.close()


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def copy_into(server: LoopbackServer, source: Path, relpath: str) -> Path:
    target = server.root / relpath.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
