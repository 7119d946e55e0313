"""HTTPS with a private CA (the corporate-proxy case): refused clearly, then trusted."""

from __future__ import annotations

from pathlib import Path

from archives import build_synthetic_archive, mirror_layout, write_catalog
from pyv.errors import ExitCode


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
