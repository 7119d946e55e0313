"""HTTPS with a private CA (the corporate-proxy case): refused clearly, then trusted."""

from __future__ import annotations

from pathlib import Path

from archives import build_synthetic_archive, mirror_layout, write_catalog
from pyv.core.errors import ExitCode


def test_untrusted_certificate_then_ssl_cert_file(run_pyv, https_server, test_ca: Path,
                                                  tmp_path: Path, pyv_home: Path) -> None:
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713")
    mirror_layout(https_server.root, archive)
    env = {"PYV_PYTHON_INSTALL_MIRROR": https_server.url,
           "PYV_DOWNLOADS_JSON": str(write_catalog(tmp_path / "catalog.json", [archive])),
           "PYV_RETRIES": "1"}
    refused = run_pyv("install", "3.12", env=env)
    assert refused.returncode == ExitCode.NETWORK, refused.stderr
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: ")
    assert "SSL_CERT_FILE" in refused.stderr
    assert not (pyv_home / "pythons" / archive.key).exists()

    trusted = run_pyv("install", "3.12", env={**env, "SSL_CERT_FILE": str(test_ca / "cert.pem")})
    assert trusted.returncode == 0, trusted.stderr
    assert (pyv_home / "pythons" / archive.key / ".pyv-install.json").is_file()


def test_ssl_cert_dir_is_honoured(run_pyv, https_server, test_ca: Path, tmp_path: Path) -> None:
    import subprocess

    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "test-ca.pem").write_bytes((test_ca / "cert.pem").read_bytes())
    subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True)
    archive = build_synthetic_archive(tmp_path / "a", (3, 11, 9), build="20240713")
    mirror_layout(https_server.root, archive)
    env = {"PYV_PYTHON_INSTALL_MIRROR": https_server.url,
           "PYV_DOWNLOADS_JSON": str(write_catalog(tmp_path / "catalog.json", [archive])),
           "SSL_CERT_DIR": str(certs)}
    result = run_pyv("install", "3.11", env=env)
    assert result.returncode == 0, result.stderr


def test_credentials_never_follow_a_downgrade_to_http(https_server, http_server, test_ca: Path,
                                                      tmp_path: Path) -> None:
    """An https mirror answering 302 to http:// on the same host: no password in clear."""
    import base64

    from pyv.acquire.download import get
    from pyv.core.settings import Settings

    http_server.add_file("catalog.json", b"{}")
    https_server.add_fault("/catalog.json", "redirect", to=http_server.url)
    https_server.add_fault("/catalog.json", "redirect", to=http_server.url)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password hunter2\n")
    settings = Settings(home=tmp_path / "h", retries=0, progress=False,
                        environ={"NETRC": str(netrc), "SSL_CERT_FILE": str(test_ca / "cert.pem")})
    assert get(f"{https_server.url}/catalog.json", settings).content == b"{}"
    url = f"https://u:secret@127.0.0.1:{https_server.port}/catalog.json"
    assert get(url, settings).content == b"{}"
    sent = [r.header("authorization") for r in https_server.requests_for("/catalog.json")]
    assert sent == ["Basic " + base64.b64encode(b"bob:hunter2").decode(),
                    "Basic " + base64.b64encode(b"u:secret").decode()]
    assert [r.header("authorization") for r in http_server.requests_for("/catalog.json")] == [
        None, None]
