from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from pyv.core.errors import ExitCode, FilesystemError, IntegrityError
from pyv.core.hashing import HashingReader, normalize_digest, sha256_file, verify

DATA = bytes(range(256)) * 1000


def test_hashing_reader_read_hashes_every_byte() -> None:
    reader = HashingReader(io.BytesIO(DATA))
    pieces = []
    while True:
        chunk = reader.read(4097)
        if not chunk:
            break
        pieces.append(chunk)
    assert b"".join(pieces) == DATA
    assert reader.bytes_read == len(DATA)
    assert reader.sha256 == hashlib.sha256(DATA).hexdigest()


def test_hashing_reader_readinto_and_readall() -> None:
    reader = HashingReader(io.BytesIO(DATA))
    buf = bytearray(1000)
    assert reader.readinto(buf) == 1000
    assert bytes(buf) == DATA[:1000]
    rest = reader.read()
    assert rest == DATA[1000:]
    assert reader.sha256 == hashlib.sha256(DATA).hexdigest()
    assert reader.read(10) == b""


def test_hashing_reader_partial_digest_and_no_close_of_wrapped() -> None:
    raw = io.BytesIO(DATA)
    with HashingReader(raw) as reader:
        reader.read(10)
        assert reader.sha256 == hashlib.sha256(DATA[:10]).hexdigest()
    assert not raw.closed


def test_hashing_reader_works_with_tarfile_style_buffering() -> None:
    reader = io.BufferedReader(HashingReader(io.BytesIO(DATA)))
    assert reader.read() == DATA


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA * 5)
    assert sha256_file(path) == hashlib.sha256(DATA * 5).hexdigest()


def test_sha256_file_missing_is_a_filesystem_error(tmp_path: Path) -> None:
    with pytest.raises(FilesystemError) as info:
        sha256_file(tmp_path / "missing")
    assert "missing" in info.value.render()


def test_verify_mismatch_names_both_digests() -> None:
    good = hashlib.sha256(b"a").hexdigest()
    bad = hashlib.sha256(b"b").hexdigest()
    with pytest.raises(IntegrityError) as info:
        verify(good, bad, "cpython-3.12.4.tar.gz")
    line = info.value.render()
    assert good in line and bad in line and "cpython-3.12.4.tar.gz" in line
    assert "\n" not in line
    assert info.value.exit_code == ExitCode.INTEGRITY


def test_verify_accepts_match_in_any_case_and_prefix() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    verify(digest.upper(), digest, "x")
    verify(f"sha256:{digest}", digest, "x")
    verify(None, digest, "x")  # nothing to check against
    assert normalize_digest(f"SHA256={digest.upper()}") == digest
