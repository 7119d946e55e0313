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
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING

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


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context: SSL_CERT_FILE / SSL_CERT_DIR from ``environ`` if set, else certifi."""
    cafile = environ.get("SSL_CERT_FILE", "").strip() or None
    capath = environ.get("SSL_CERT_DIR", "").strip() or None
    if not cafile and not capath:
        return httpx.create_ssl_context(trust_env=False)
    what = f"SSL_CERT_FILE={cafile}" if cafile else f"SSL_CERT_DIR={capath}"
    hint = "point SSL_CERT_FILE at a PEM bundle (or SSL_CERT_DIR at a directory), or unset it"
    if capath and not os.path.isdir(capath):
        raise NetworkError(f"cannot load CA certificates from {what}: not a directory", hint)
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except FileNotFoundError:
        raise NetworkError(f"cannot load CA certificates from {what}: no such file", hint) from None
    except (OSError, ssl.SSLError) as exc:
        raise NetworkError(f"cannot load CA certificates from {what}: {reason(exc)}",
                           hint) from None


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
