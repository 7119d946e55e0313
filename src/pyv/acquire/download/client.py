"""Client set-up: TLS trust, proxies, credentials and redirects, all through httpx.

httpx does the work: proxies and ``NO_PROXY`` come from the environment
(``trust_env``), redirects are followed by httpx, which drops ``Authorization``
whenever the origin (scheme, host, port) changes, and ``.netrc`` is read by
:class:`httpx.NetRCAuth`. pyv only decides which credentials the first
request carries and which CA bundle to trust.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from pyv import __version__
from pyv.core.errors import NetworkError

if TYPE_CHECKING:
    from pyv.core.settings import Settings

MAX_REDIRECTS = 10
#: A proxy cannot reach this machine's own loopback addresses.
_LOOPBACK_PATTERNS = ("all://127.0.0.1", "all://localhost", "all://[::1]")


def host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or url


def reason(exc: BaseException) -> str:
    """The first line of an exception's text, without an ``[Errno N]`` prefix."""
    import re

    text = str(exc).strip() or type(exc).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text.splitlines()[0] if text else type(exc).__name__


class _DeferredTrust(ssl.SSLContext):
    """A client TLS context that loads its CA certificates at its first handshake.

    Reading a CA bundle costs ~30 ms; a download from a plain-http mirror (an offline
    cluster's) never needs it. Every TLS connection goes through ``wrap_socket`` or
    ``wrap_bio`` (httpcore uses both), so the certificates are there before any
    handshake; if loading fails the context trusts nothing (verification fails closed)
    and the error says why.
    """

    _pyv_load: Callable[[ssl.SSLContext], None] | None
    _pyv_lock: threading.Lock

    def _pyv_ready(self) -> None:
        with self._pyv_lock:
            if self._pyv_load is not None:
                self._pyv_load(self)
                self._pyv_load = None  # only once it worked: a failure repeats its error

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._pyv_ready()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._pyv_ready()
        return super().wrap_bio(*args, **kwargs)


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context: SSL_CERT_FILE / SSL_CERT_DIR from ``environ`` if set, else certifi
    (httpx's own default). Set up as :func:`ssl.create_default_context` sets it up; the
    certificates themselves are read at the first handshake."""
    cafile = environ.get("SSL_CERT_FILE", "").strip() or None
    capath = environ.get("SSL_CERT_DIR", "").strip() or None
    what = f"SSL_CERT_FILE={cafile}" if cafile else f"SSL_CERT_DIR={capath}"
    hint = "point SSL_CERT_FILE at a PEM bundle (or SSL_CERT_DIR at a directory), or unset it"
    # What can be told without reading the bundle is told now, before any download.
    if capath and not os.path.isdir(capath):
        raise NetworkError(f"cannot load CA certificates from SSL_CERT_DIR={capath}: "
                           "not a directory", hint)
    if cafile and not os.path.isfile(cafile):
        problem = "not a file" if os.path.exists(cafile) else "no such file"
        raise NetworkError(f"cannot load CA certificates from {what}: {problem}", hint)

    def load(context: ssl.SSLContext) -> None:
        if not cafile and not capath:
            import certifi  # httpx's dependency and its default trust

            context.load_verify_locations(cafile=certifi.where())
            return
        try:
            context.load_verify_locations(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError) as exc:
            raise NetworkError(f"cannot load CA certificates from {what}: {reason(exc)}",
                               hint) from None

    if sys.version_info >= (3, 10):
        context = _DeferredTrust(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode, check_hostname on
    else:  # what 3.9's create_default_context() starts from
        context = _DeferredTrust(ssl.PROTOCOL_TLS)
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
    context._pyv_lock = threading.Lock()
    context._pyv_load = load
    # The rest of what create_default_context() does (tests compare the two).
    if sys.version_info >= (3, 13):
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    keylog = environ.get("SSLKEYLOGFILE")
    if keylog and hasattr(context, "keylog_filename") and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    return context


def make_client(settings: Settings) -> httpx.Client:
    """An httpx client with pyv's timeouts and CA; proxies come from the environment.

    Redirects are followed by httpx (up to :data:`MAX_REDIRECTS`), which keeps
    ``Authorization`` only while the origin stays the same.
    """
    context = ssl_context(settings.environ)
    connect = settings.connect_timeout or None  # 0 means "no timeout"
    read = settings.read_timeout or None
    timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
    try:
        return httpx.Client(
            verify=context,
            timeout=timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            trust_env=True,
            mounts=dict.fromkeys(_LOOPBACK_PATTERNS),
            headers={"User-Agent": f"pyv/{__version__}"},
        )
    except (ImportError, ValueError) as exc:  # a socks:// proxy without socksio, a bad URL
        raise NetworkError(
            f"cannot use the proxy from the environment: {reason(exc)}",
            "set HTTPS_PROXY/HTTP_PROXY to an http:// or https:// proxy URL",
        ) from None


class _HostNetRC(httpx.NetRCAuth):
    """httpx's netrc auth without the ``default`` entry: a password goes only to the
    machine it was written for."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self._netrc_info.hosts.pop("default", None)


def _netrc_auth(environ: Mapping[str, str]) -> httpx.Auth | None:
    """``$NETRC`` or ``~/.netrc`` (from ``environ``); an unreadable file is no file."""
    import netrc

    path = environ.get("NETRC", "").strip()
    if not path:
        home = environ.get("HOME", "").strip()
        if not home:
            return None
        path = os.path.join(home, ".netrc")
    if not os.path.isfile(path):
        return None
    try:
        return _HostNetRC(path)
    except (netrc.NetrcParseError, OSError):
        return None


def request_auth(url: str, headers: Mapping[str, str], environ: Mapping[str, str]
                 ) -> tuple[str, httpx.Auth | None]:
    """The URL to request and the credentials for its first hop, strongest first:
    an explicit ``Authorization`` header, then ``user:password@`` in the URL, then netrc."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=hostport)) if at else url
    if any(name.lower() == "authorization" for name in headers):
        return clean, httpx.Auth()  # the header as given: no other credentials
    if at:
        user, _, password = userinfo.partition(":")
        return clean, httpx.BasicAuth(urllib.parse.unquote(user), urllib.parse.unquote(password))
    return clean, _netrc_auth(environ)


class Session:
    """One lazily made client, reused across the attempts of one download."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def open(self, url: str, headers: Mapping[str, str]) -> httpx.Response:
        """GET ``url`` as a stream; httpx follows redirects and guards the credentials."""
        clean, auth = request_auth(url, headers, self.settings.environ)
        request = self.client.build_request("GET", clean, headers=dict(headers))
        if auth is None:
            return self.client.send(request, stream=True)
        return self.client.send(request, stream=True, auth=auth)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
