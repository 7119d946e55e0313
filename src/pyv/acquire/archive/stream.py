"""The archive as a forward-only stream of byte chunks.

Extraction reads the archive once, in order (it may be a download still in
progress), so everything downstream sees chunks and a reader that can only go
forward (and back within the current chunk).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import BinaryIO

IN_CHUNK = 1 << 20  # compressed bytes read from the stream at a time
COPY_CHUNK = 1 << 20


class Corrupt(Exception):
    """The archive data itself is damaged (internal; turned into ArchiveError)."""


def raw_chunks(stream: BinaryIO) -> Iterator[bytes]:
    read = stream.read
    while True:
        data = read(IN_CHUNK)
        if not data:
            return
        yield data


class SequentialReader:
    """A forward-only file object over decoded chunks, for ``tarfile.TarFile``.

    ``seek`` moves forward by discarding data and backward only within the
    current chunk (all tarfile needs when members are read in order).
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._off = 0  # read position inside _buf
        self._pos = 0  # absolute position of _buf[_off]
        self.last = b""  # the most recent read's result, to recognise the end-of-archive block

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        avail = len(self._buf) - self._off
        if 0 <= n <= avail:
            out = self._buf[self._off : self._off + n]
            self._off += n
        else:
            parts = [self._buf[self._off :]]
            need = n - avail
            self._buf, self._off = b"", 0
            for chunk in self._chunks:
                if n >= 0 and len(chunk) > need:
                    parts.append(chunk[:need])
                    self._buf, self._off = chunk, need
                    break
                parts.append(chunk)
                need -= len(chunk)
                if n >= 0 and need == 0:
                    break
            out = b"".join(parts)
        self._pos += len(out)
        self.last = out
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence != 0:
            raise OSError(errno.ESPIPE, "cannot seek to the end of a stream")
        if pos < self._pos:
            back = self._pos - pos
            if back > self._off:
                raise OSError(errno.ESPIPE, "cannot seek backward in a stream")
            self._off -= back
            self._pos = pos
            return pos
        skip = pos - self._pos
        while skip:
            data = self.read(min(skip, COPY_CHUNK))
            if not data:
                break
            skip -= len(data)
        return self._pos

    def read_view(self, n: int) -> memoryview:
        """Up to ``n`` bytes from the current chunk, uncopied; empty only at the end.

        For data that is written out at once: a slice or join of the chunk
        would copy every byte of the archive once more.
        """
        while self._off >= len(self._buf):
            chunk = next(self._chunks, None)
            if chunk is None:
                return memoryview(b"")
            self._buf, self._off = chunk, 0
        out = memoryview(self._buf)[self._off : self._off + n]
        self._off += len(out)
        self._pos += len(out)
        return out

    def skip(self, n: int) -> int:
        """Discard up to ``n`` bytes without copying them; return how many were there."""
        done = 0
        while True:
            step = min(n - done, len(self._buf) - self._off)
            self._off += step
            self._pos += step
            done += step
            if done == n:
                return done
            chunk = next(self._chunks, None)
            if chunk is None:
                return done
            self._buf, self._off = chunk, 0

    def unread(self, data: bytes) -> None:
        """Put ``data`` (just read) back in front of the stream."""
        self._buf = data + self._buf[self._off :]
        self._off = 0
        self._pos -= len(data)

    def drain(self) -> None:
        while self.read(COPY_CHUNK):
            pass
