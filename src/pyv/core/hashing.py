"""SHA-256 while reading, and the one place a checksum mismatch becomes an error.

Stdlib only, so verifying a cached archive never loads the HTTP stack.
"""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING, BinaryIO

from pyv.core.errors import IntegrityError, from_os_error

if TYPE_CHECKING:
    from pathlib import Path

    from _typeshed import WriteableBuffer

_FILE_CHUNK = 1 << 20


class HashingReader(io.RawIOBase):
    """Wrap a binary file object; every byte read through it is hashed.

    Closing the reader does not close the wrapped object: whoever opened it
    closes it.
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._hash = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        if data:
            self._hash.update(data)
            self.bytes_read += len(data)
        return data or b""

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        readinto = getattr(self._raw, "readinto", None)
        if readinto is not None:
            count = readinto(view) or 0
        else:
            data = self._raw.read(len(view))
            count = len(data)
            view[:count] = data
        if count:
            self._hash.update(view[:count])
            self.bytes_read += count
        return count

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes read so far."""
        return self._hash.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(_FILE_CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
    except OSError as exc:
        raise from_os_error(exc, f"reading {path}") from None
    return digest.hexdigest()


def normalize_digest(digest: str) -> str:
    """Lower-case hex, without an optional ``sha256:`` / ``sha256=`` prefix."""
    text = digest.strip().lower()
    for prefix in ("sha256:", "sha256="):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text


def verify(expected: str | None, actual: str, what: str) -> None:
    """Raise :class:`IntegrityError` naming both digests if they differ.

    ``expected=None`` means there is nothing to check against; deciding whether
    that is acceptable is the caller's job.
    """
    if expected is None:
        return
    want, got = normalize_digest(expected), normalize_digest(actual)
    if want != got:
        raise IntegrityError(
            f"checksum mismatch for {what}: expected sha256 {want}, got {got}",
            "the download was discarded; run the command again or check your mirror",
        )
